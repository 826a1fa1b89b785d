#pragma once
// QDP_CPU_KERNEL marks a CPU loop of the standard operators that the compiler builds twice: for
// x86-64-v3 (AVX2 and FMA: 8 floats a vector) and for the baseline x86-64 (SSE2: 4), the loader
// picking one by the CPU it runs on (GCC's target_clones, an ifunc). Binaries stay portable to
// any x86-64 while the loops run at the width of the CPU they meet: GELU's erf over 128 x 1024
// floats took 0.70 ms in SSE2 and 0.17-0.20 ms in AVX2 on the 2-core AMD EPYC machine
// (2026-12-07). OpenMP's outlined loop bodies are cloned with the function. Other compilers
// (the clang of the sanitizer builds) and other CPUs get one baseline build, and so do GCC's
// sanitizer builds (scripts/tsan.sh), as a precaution: ifunc resolvers run while the loader
// relocates, before a sanitizer's runtime has started.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define QDP_CPU_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define QDP_CPU_KERNEL
#endif
