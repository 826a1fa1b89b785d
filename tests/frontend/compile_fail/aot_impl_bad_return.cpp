// Must not compile: aot_impl returns something other than a qdp::AotKernel.
#include <qdp/plugin.hpp>

QDP_PLUGIN(aot_impl_bad_return, "compile_fail::aot_impl_bad_return")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .aot_impl([](qdp::TensorDesc const&) { return 1; });
