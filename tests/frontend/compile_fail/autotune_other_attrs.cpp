// Must not compile: autotune takes another attribute struct than desc. qdp's static_assert must
// be the first and only error (no hard error from inside qdp's headers before it).
#include <qdp/plugin.hpp>

struct Tuned {
  int32_t block = 256;
};
QDP_ATTRS(Tuned, block);
struct Other {
  int32_t block = 256;
};
QDP_ATTRS(Other, block);

QDP_PLUGIN(autotune_other_attrs, "compile_fail::autotune_other_attrs")
    .desc([](qdp::TensorDesc const& x, Tuned const&) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {})
    .autotune([](qdp::TensorDesc const&, Other const&) {
      return std::vector<qdp::AutoTuneCombination>{};
    });
