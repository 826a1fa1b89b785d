// Must compile warning-free: QDP_ATTRS takes any number of fields (here 20).
#include <qdp/plugin.hpp>

struct Many {
  int32_t a0 = 0, a1 = 1, a2 = 2, a3 = 3, a4 = 4, a5 = 5, a6 = 6, a7 = 7, a8 = 8, a9 = 9;
  float b0 = 0, b1 = 1, b2 = 2, b3 = 3, b4 = 4, b5 = 5, b6 = 6, b7 = 7, b8 = 8, b9 = 9;
};
QDP_ATTRS(Many, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9);

QDP_PLUGIN(many_attrs, "compile_ok::many_attrs")
    .desc([](qdp::TensorDesc const& x, Many const&) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>, Many const& m) { (void)m.b9; });
static_assert(std::tuple_size_v<decltype(qdp_attr_fields(static_cast<Many const*>(nullptr)))> ==
              20);
