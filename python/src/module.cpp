// qdp._core: the core's types and the Python plugin front end, for the package qdp.
#include <cstdlib>

#include "common.hpp"

NB_MODULE(_core, m) {
  m.doc() = "qdp's core, bound for Python (use the package qdp, not this module)";
  // An engine keeps its Python impls alive from C++, and through their globals often the script
  // that holds the engine: a cycle the garbage collector cannot see, broken only when the script's
  // module is torn down, after this one. nanobind's shutdown check would report those objects as
  // leaks; it stays available for debugging reference counts (QDP_PY_LEAK_WARNINGS=1).
  char const* leaks = std::getenv("QDP_PY_LEAK_WARNINGS");
  nanobind::set_leak_warnings(leaks && *leaks == '1');
  qdp::py::bind_errors(m);
  qdp::py::bind_attrs(m);
  qdp::py::bind_shapes(m);
  qdp::py::bind_tensor(m);
  qdp::py::bind_plugin(m);
  qdp::py::bind_engine(m);
}
