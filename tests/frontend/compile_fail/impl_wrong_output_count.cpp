// Must not compile: desc returns one output, the impl takes two qdp::Out<> outputs.
#include <qdp/plugin.hpp>

QDP_PLUGIN(wrong_output_count, "compile_fail::impl_wrong_output_count")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>, qdp::Out<float>) {});
