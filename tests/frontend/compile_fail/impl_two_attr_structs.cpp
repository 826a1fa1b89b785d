// Must not compile: the impl takes its attributes as two structs instead of one.
#include <qdp/plugin.hpp>

struct A {
  int32_t a = 1;
};
QDP_ATTRS(A, a);
struct B {
  int32_t b = 2;
};
QDP_ATTRS(B, b);
struct AB {
  int32_t a = 1;
  int32_t b = 2;
};
QDP_ATTRS(AB, a, b);

QDP_PLUGIN(two_attr_structs, "compile_fail::impl_two_attr_structs")
    .desc([](qdp::TensorDesc const& x, AB const&) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>, A const&, B const&) {});
