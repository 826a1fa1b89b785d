// Must warn: a definition that is built but never committed (no QDP_PLUGIN, no .commit()) would
// never be registered; [[nodiscard]] says so where it happens.
#include <qdp/plugin.hpp>

void define_but_forget() {
  qdp::define("compile_fail::discarded")
      .desc([](qdp::TensorDesc const& x) { return x.like(); })
      .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});
}
