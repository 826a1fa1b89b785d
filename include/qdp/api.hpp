#pragma once
// What every public qdp header needs first: the language check and the export macro.
#if !defined(__cplusplus) || __cplusplus < 202002L
// A missing header stops the compiler at once, so this one line is the only error a reader sees.
#include <qdp needs C++20 - compile with -std=c++20 (CMake - target_compile_features(TARGET PRIVATE cxx_std_20))>
#endif

// Symbols of qdp's libraries are hidden unless marked: only the public API is exported.
#define QDP_API __attribute__((visibility("default")))
