#pragma once
// The plugin-library contract. A shared library of plugin definitions (what qdpexec --plugins and
// qdp::load_plugin_library load) says, in exactly one of its sources:
//
//   QDP_PLUGIN_LIBRARY();                              // its QDP_PLUGIN definitions
//   QDP_PLUGIN_LIBRARY([] { define_more_plugins(); }); // ... and those this function makes
//
// That exports one extern "C" entry point, qdp_plugin_library, which carries the qdp ABI version
// the library was built for. The loader checks the version before it runs any of the library's
// definitions, and registers them all (or none, with an error naming the library and the
// definition) once the library is loaded: nothing a library does can terminate the process
// inside dlopen. In a program (not a library), QDP_PLUGIN definitions register at start-up.
#include <cstdint>
#include <qdp/api.hpp>
#include <qdp/version.hpp>

extern "C" {
// What the entry point returns. Plain C, so that the loader can read it from a library built
// for any qdp version.
struct qdp_plugin_library_info {
  uint32_t abi_version;     // QDP_ABI_VERSION of the qdp the library was built against
  char const* qdp_version;  // QDP_VERSION_STRING of that qdp, for messages
  void (*define)();         // runs the library's own definitions (may be null); may throw
};
}

#define QDP_PLUGIN_LIBRARY(...)                                                      \
  extern "C" QDP_API qdp_plugin_library_info const* qdp_plugin_library() {           \
    static qdp_plugin_library_info const info{QDP_ABI_VERSION, QDP_VERSION_STRING,   \
                                              +[] { __VA_OPT__((__VA_ARGS__)();) }}; \
    return &info;                                                                    \
  }                                                                                  \
  static_assert(true, "QDP_PLUGIN_LIBRARY() ends with a semicolon")
