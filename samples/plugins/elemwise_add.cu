// sample::elemwise_add_plugin(x, block_size = 256): y = x + 1, out of place.
#include <qdp/parallel.hpp>
#include <qdp/plugin.hpp>

#include "plugins/sample_plugins.hpp"

#ifdef __CUDACC__
#include <qdp/cuda.hpp>

#include "plugins/cuda_elementwise.cuh"
#endif

namespace qdp::samples {
namespace {

struct AddAttrs {
  int32_t block_size = 256;
};
QDP_ATTRS(AddAttrs, block_size);

template <class T>
void add_one_cpu(T const* x, T* y, int64_t n) {
  // On the thread pool qdp's operators use. A thread pays off only for 2^16 elements or more.
  parallel_for(n, int64_t{1} << 16, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = static_cast<T>(static_cast<float>(x[i]) + 1.0f);
  });
}

#ifdef __CUDACC__
struct AddOne {
  float delta = 1.0f;
  template <class T>
  __device__ T operator()(T v) const {
    return from_float<T>(to_float(v) + delta);
  }
};
#endif

// The AOT kernel: compiled with NVRTC when the engine is built and baked into it, so the engine
// runs without this file. Parameters: input pointer, the element count, output pointer.
constexpr char kAddOneSource[] = R"(
#include <cuda_fp16.h>
extern "C" __global__ void add_one_f32(float const* x, int n, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = x[i] + 1.0f;
}
extern "C" __global__ void add_one_f16(__half const* x, int n, __half* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __float2half(__half2float(x[i]) + 1.0f);
}
)";

AotKernel add_one_aot(TensorDesc const& x, AddAttrs const& a) {
  if (x.dtype != DataType::FP32 && x.dtype != DataType::FP16)
    fail("the AOT add kernel takes FP32 or FP16, not {}", name(x.dtype));
  AotKernel k;
  k.name = x.dtype == DataType::FP32 ? "add_one_f32" : "add_one_f16";
  k.code = kAddOneSource;
  k.grid = {cdiv(x.numel(), ShapeExpr(a.block_size)), 1, 1};
  k.block = {a.block_size, 1, 1};
  k.extra_args = {x.numel()};
  return k;
}

}  // namespace

void define_elemwise_add(bool with_autotune, bool with_aot) {
  auto plugin =
      qdp::define("sample::elemwise_add_plugin")
          .desc([](TensorDesc const& x, AddAttrs const&) { return x.like(); })
          .impl<qdp::cpu, float, half, bfloat16>(
              []<class T>(In<T> x, Out<T> y) { add_one_cpu(x.data(), y.data(), x.numel()); })
#ifdef __CUDACC__
          .impl<qdp::cuda, float, __half, __nv_bfloat16>([]<class T>(In<T> x, Out<T> y,
                                                                     AddAttrs const& a, Stream s) {
            launch_elementwise(x.data(), y.data(), x.numel(), AddOne{}, a.block_size, native(s));
          })
#endif
      ;
  auto commit = [&](auto definition) {
    if (with_autotune)
      (void)std::move(definition)
          .autotune([](TensorDesc const&, AddAttrs const&) {
            return std::vector{AutoTuneCombination("FP32|FP16, FP32|FP16")};
          })
          .commit();
    else
      (void)std::move(definition).commit();
  };
  if (with_aot)
    commit(std::move(plugin).aot_impl(
        [](TensorDesc const& x, AddAttrs const& a, Outputs) { return add_one_aot(x, a); }));
  else
    commit(std::move(plugin));
}

}  // namespace qdp::samples
