// example::scale_plugin(x, factor, bias): y = factor * x + bias, on the CPU, for FP32 and FP16.
#include <qdp/plugin.hpp>
#include <qdp/plugin_library.hpp>

struct ScaleAttrs {
  float factor = 1.0f;
  float bias = 0.0f;
};
QDP_ATTRS(ScaleAttrs, factor, bias);

QDP_PLUGIN(scale, "example::scale_plugin")
    .desc([](qdp::TensorDesc const& x, ScaleAttrs const&) { return x.like(); })
    .impl<qdp::cpu, float, qdp::half>([]<class T>(qdp::In<T> x, qdp::Out<T> y,
                                                  ScaleAttrs const& a) {
      for (int64_t i = 0; i < x.numel(); ++i)
        y.data()[i] = T(a.factor * float(x.data()[i]) + a.bias);
    });

QDP_PLUGIN_LIBRARY();
