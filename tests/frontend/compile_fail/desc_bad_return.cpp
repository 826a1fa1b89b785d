// Must not compile: desc returns something other than a qdp::TensorDesc or a tuple of them.
#include <qdp/plugin.hpp>

QDP_PLUGIN(desc_bad_return, "compile_fail::desc_bad_return")
    .desc([](qdp::TensorDesc const& x) { return x.rank(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});
