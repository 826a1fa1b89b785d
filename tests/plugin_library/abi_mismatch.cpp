// A plugin library built for another qdp ABI: its entry point says so, and the loader must stop
// before running any of its definitions.
#include <qdp/plugin_library.hpp>
#include <stdexcept>

extern "C" QDP_API qdp_plugin_library_info const* qdp_plugin_library() {
  static qdp_plugin_library_info const info{QDP_ABI_VERSION + 1, "99.0.0",
                                            +[] { throw std::logic_error("must never run"); }};
  return &info;
}
