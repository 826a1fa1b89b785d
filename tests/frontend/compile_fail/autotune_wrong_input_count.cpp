// Must not compile: desc takes one input, autotune takes two qdp::TensorDesc inputs.
#include <qdp/plugin.hpp>

QDP_PLUGIN(autotune_wrong_input_count, "compile_fail::autotune_wrong_input_count")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {})
    .autotune([](qdp::TensorDesc const&, qdp::TensorDesc const&) {
      return std::vector<qdp::AutoTuneCombination>{};
    });
