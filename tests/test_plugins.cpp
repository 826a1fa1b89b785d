// Plugins the builder and runtime tests use. Registered once per test binary.
#include "test_plugins.hpp"

#include <qdp/plugin.hpp>

namespace test_plugins {
namespace {

struct ScaleAttrs {
  float factor = 2.0f;
  int32_t unused_by_impl = 7;
};
QDP_ATTRS(ScaleAttrs, factor, unused_by_impl);
struct FactorOnly {
  float factor = 0;
};
QDP_ATTRS(FactorOnly, factor);

template <class T>
void scale(qdp::In<T> x, qdp::Out<T> y, float f) {
  for (int64_t i = 0; i < x.numel(); ++i)
    y.data()[i] = static_cast<T>(static_cast<float>(x.data()[i]) * f);
}

// y = x * factor; FP32 or FP16 (autotuned), impl sees only `factor`.
QDP_PLUGIN(scale_plugin, "test::scale")
    .desc([](qdp::TensorDesc const& x, ScaleAttrs const&) { return x.like(); })
    .impl<qdp::cpu, float, qdp::half>([]<class T>(qdp::In<T> x, qdp::Out<T> y,
                                                  FactorOnly const& a) { scale(x, y, a.factor); })
    .autotune([](qdp::TensorDesc const&, ScaleAttrs const&) {
      return std::vector{qdp::AutoTuneCombination("FP32|FP16, FP32|FP16")};
    });

// y = x + 1, only in FP16: an FP32 network needs reformats around it.
QDP_PLUGIN(fp16_only, "test::fp16_only")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<qdp::half> x, qdp::Out<qdp::half> y) {
      for (int64_t i = 0; i < x.numel(); ++i)
        y.data()[i] = qdp::half(static_cast<float>(x.data()[i]) + 1.0f);
    })
    .autotune([](qdp::TensorDesc const&) {
      return std::vector{qdp::AutoTuneCombination("FP16, FP16")};
    });

// In place: x += delta, the output aliased to the input; LINEAR or HWC.
struct DeltaAttrs {
  float delta = 1.0f;
};
QDP_ATTRS(DeltaAttrs, delta);
QDP_PLUGIN(add_inplace, "test::add_inplace")
    .desc([](qdp::TensorDesc const& x, DeltaAttrs const&) { return x.aliased(); })
    .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y, DeltaAttrs const& a) {
      if (x.data() != y.data()) qdp::fail("test::add_inplace: output is not aliased to the input");
      for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] += a.delta;
    });

// Element-wise sum of two inputs.
QDP_PLUGIN(sum2, "test::sum2")
    .desc([](qdp::TensorDesc const& a, qdp::TensorDesc const&) { return a.like(); })
    .impl<qdp::cpu>([](qdp::In<float> a, qdp::In<float> b, qdp::Out<float> y) {
      for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = a.data()[i] + b.data()[i];
    });

// Data-dependent: the entries of a 1-D input greater than `threshold`, and their count.
// `lie` makes it report a count above its upper bound (a buggy plugin).
struct FilterAttrs {
  float threshold = 0;
  bool lie = false;
};
QDP_ATTRS(FilterAttrs, threshold, lie);
QDP_PLUGIN(filter, "test::filter")
    .desc([](qdp::TensorDesc const& x, FilterAttrs const&) {
      auto n = qdp::size_tensor(x.shape_expr[0] / 2, x.shape_expr[0]);
      return std::tuple{qdp::from_shape_expr({n.expr()}, x.dtype), n};
    })
    .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y, qdp::Out<int64_t> count,
                       FilterAttrs const& a) {
      int64_t k = 0;
      for (int64_t i = 0; i < x.numel(); ++i)
        if (x.data()[i] > a.threshold) y.data()[k++] = x.data()[i];
      *count.data() = a.lie ? x.numel() + 1 : k;
    });

// Records the format it was given, for format tests: y = x, any layout of a rank-4 tensor.
QDP_PLUGIN(copy_any_format, "test::copy_any_format")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y) {
      if (x.format() != y.format()) qdp::fail("formats differ");
      std::copy(x.data(), x.data() + x.numel(), y.data());
    })
    .autotune([](qdp::TensorDesc const&) {
      return std::vector{qdp::AutoTuneCombination("FP32, FP32", "HWC")};
    });

// Has no CPU impl.
QDP_PLUGIN(cuda_only, "test::cuda_only")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cuda>([](qdp::In<float>, qdp::Out<float>) {});

// Has both implementations: the network must say which.
QDP_PLUGIN(both_impls, "test::both_impls")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {})
    .aot_impl([](qdp::TensorDesc const&, qdp::Outputs) {
      qdp::AotKernel k;
      k.name = std::string("both_impls_kernel");
      return k;
    });

// A desc that rejects its input.
QDP_PLUGIN(picky, "test::picky")
    .desc([](qdp::TensorDesc const& x) {
      if (x.rank() != 2) qdp::fail("picky wants a rank-2 input, got rank {}", x.rank());
      return x.like();
    })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});

}  // namespace
}  // namespace test_plugins
