// Must not compile: an attribute struct with a field type attributes cannot have (long double).
#include <qdp/plugin.hpp>

struct BadAttrs {
  int32_t ok = 1;
  long double precise = 0.5L;
};
QDP_ATTRS(BadAttrs, ok, precise);

QDP_PLUGIN(bad_attr_type, "compile_fail::bad_attr_type")
    .desc([](qdp::TensorDesc const& x, BadAttrs const&) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});
