// Must not compile: a generic impl (template <class T>) without the list of element types.
#include <qdp/plugin.hpp>

QDP_PLUGIN(generic_without_types, "compile_fail::generic_impl_without_types")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([]<class T>(qdp::In<T>, qdp::Out<T>) {});
