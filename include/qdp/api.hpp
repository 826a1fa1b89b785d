#pragma once
// What every public qdp header needs first: the language check and the export macro.
#if !defined(__cplusplus) || __cplusplus < 202002L
#error "qdp needs C++20: compile with -std=c++20 (CMake: target_compile_features(<target> PRIVATE cxx_std_20))"
// Stop here: the rest of qdp's headers would only add errors that hide the one above.
#include <qdp/stop-compiling-qdp-needs-cxx20>
#endif

// Symbols of qdp's libraries are hidden unless marked: only the public API is exported.
#define QDP_API __attribute__((visibility("default")))
