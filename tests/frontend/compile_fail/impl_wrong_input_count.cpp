// Must not compile: desc takes one input, the impl takes two qdp::In<> inputs.
#include <qdp/plugin.hpp>

QDP_PLUGIN(wrong_input_count, "compile_fail::impl_wrong_input_count")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::In<float>, qdp::Out<float>) {});
