// Must not compile: QDP_ATTRS names no field.
#include <qdp/plugin.hpp>

struct Empty {
  int32_t forgotten = 1;
};
QDP_ATTRS(Empty);
