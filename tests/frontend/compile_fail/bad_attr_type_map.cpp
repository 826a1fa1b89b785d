// Must not compile: an attribute struct with a field type attributes cannot have (std::map).
#include <map>
#include <qdp/plugin.hpp>

struct MapAttrs {
  std::map<int, int> table;
};
QDP_ATTRS(MapAttrs, table);

QDP_PLUGIN(bad_attr_type_map, "compile_fail::bad_attr_type_map")
    .desc([](qdp::TensorDesc const& x, MapAttrs const&) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::Out<float>) {});
