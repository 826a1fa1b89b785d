// A plugin library whose static definition is malformed: in a program this would throw from a
// static initializer (std::terminate inside dlopen); in a library it is an error at load.
#include <qdp/plugin.hpp>
#include <qdp/plugin_library.hpp>

QDP_PLUGIN(bad_id, "not an id")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});

QDP_PLUGIN_LIBRARY();
