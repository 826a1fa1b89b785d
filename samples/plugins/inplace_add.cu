// sample::elemwise_add_plugin_(x, delta): x += delta in place; the output is aliased to x.
#include <qdp/plugin.hpp>

#include "plugins/sample_plugins.hpp"

#ifdef __CUDACC__
#include <qdp/cuda.hpp>

#include "plugins/cuda_elementwise.cuh"
#endif

namespace qdp::samples {
namespace {

struct DeltaAttrs {
  int32_t delta = 1;
};
QDP_ATTRS(DeltaAttrs, delta);

// Element-wise, so any layout (LINEAR or HWC) is handled by the same loop.
template <class T>
void add_delta_cpu(T* y, int64_t n, float delta) {
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 17))
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(static_cast<float>(y[i]) + delta);
}

#ifdef __CUDACC__
struct AddDelta {
  float delta;
  template <class T>
  __device__ T operator()(T v) const {
    return from_float<T>(to_float(v) + delta);
  }
};
#endif

}  // namespace

void define_inplace_add() {
  qdp::define("sample::elemwise_add_plugin_")
      .desc([](TensorDesc const& x, DeltaAttrs const&) { return x.aliased(); })
      .impl<qdp::cpu, float, half>([]<class T>(In<T>, Out<T> y, DeltaAttrs const& a) {
        add_delta_cpu(y.data(), y.numel(), static_cast<float>(a.delta));
      })
#ifdef __CUDACC__
      .impl<qdp::cuda, float, __half>([]<class T>(In<T>, Out<T> y, DeltaAttrs const& a, Stream s) {
        launch_elementwise(y.data(), y.data(), y.numel(), AddDelta{static_cast<float>(a.delta)},
                           256, native(s));
      })
#endif
      .autotune([](TensorDesc const&, DeltaAttrs const&) {
        return std::vector{AutoTuneCombination("FP32, FP32", "LINEAR*HWC"),
                           AutoTuneCombination("FP32|FP16, FP32|FP16", "LINEAR")};
      })
      .commit();
}

}  // namespace qdp::samples
