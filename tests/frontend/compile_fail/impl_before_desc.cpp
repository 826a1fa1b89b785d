// Must not compile: impl is attached before desc says what the inputs and outputs are.
#include <qdp/plugin.hpp>

QDP_PLUGIN(impl_before_desc, "compile_fail::impl_before_desc")
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {})
    .desc([](qdp::TensorDesc const& x) { return x.like(); });
