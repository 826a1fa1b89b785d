// A plugin library that defines one ID twice: loading it must register neither.
#include <qdp/plugin.hpp>
#include <qdp/plugin_library.hpp>

QDP_PLUGIN(first, "test_lib::twice")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});
QDP_PLUGIN(unique, "test_lib::innocent")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});

QDP_PLUGIN_LIBRARY([] {
  (void)qdp::define("test_lib::twice")
      .desc([](qdp::TensorDesc const& x) { return x.like(); })
      .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {})
      .commit();
});
