// A well-formed plugin library: one QDP_PLUGIN definition and the entry point.
#include <qdp/plugin.hpp>
#include <qdp/plugin_library.hpp>

QDP_PLUGIN(good_negate, "test_lib::negate")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y) {
      for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = -x.data()[i];
    });

QDP_PLUGIN_LIBRARY();
