// sample::elemwise_add_plugin(x, block_size = 256): y = x + 1, out of place.
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
  // Both cores pay off only once the array is larger than the caches' worth of a thread start.
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 17))
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(static_cast<float>(x[i]) + 1.0f);
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

}  // namespace

void define_elemwise_add(bool with_autotune) {
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
  if (with_autotune) {
    std::move(plugin)
        .autotune([](TensorDesc const&, AddAttrs const&) {
          return std::vector{AutoTuneCombination("FP32|FP16, FP32|FP16")};
        })
        .commit();
  } else {
    std::move(plugin).commit();
  }
}

}  // namespace qdp::samples
