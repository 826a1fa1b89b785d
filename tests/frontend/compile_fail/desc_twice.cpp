// Must not compile: desc is attached twice.
#include <qdp/plugin.hpp>

QDP_PLUGIN(desc_twice, "compile_fail::desc_twice")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});
