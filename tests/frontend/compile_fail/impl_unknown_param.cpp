// Must not compile: the impl takes an int, which is not a kind of impl parameter.
#include <qdp/plugin.hpp>

QDP_PLUGIN(unknown_param, "compile_fail::impl_unknown_param")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>, int) {});
