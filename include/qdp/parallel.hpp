#pragma once
// A parallel-for for CPU impls, as ONNX Runtime offers its kernels: it runs on the thread pool
// that qdp's standard operators and oneDNN use (the OpenMP pool of the process), so a plugin
// shares the cores with them instead of oversubscribing. It is compiled into the qdp runtime:
// a plugin that calls it needs no -fopenmp.
//
// The thread count is OpenMP's: OMP_NUM_THREADS when set (the one setting for qdp's operators,
// oneDNN and these loops), else one thread per core. num_threads() says what a call gets.
//
//   qdp::parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
//     for (int64_t i = begin; i < end; ++i) y[i] = x[i] + 1;
//   });
//   qdp::parallel_for(rows, 1, [&](int64_t row) { ... });   // one index at a time
//
// [0, n) is cut into at most num_threads() contiguous ranges of at least `grain` indices each
// (grain < 1 counts as 1), of equal sizes give or take one; each range is one call of
// fn(begin, end), or of fn(i) for each of its indices. With n < 2 * grain, one thread, or a call
// from inside another parallel_for or OpenMP region, fn(0, n) runs on the calling thread alone
// (so nested calls never wait on the pool). An
// exception thrown by fn stops the ranges not yet started and is rethrown on the caller's
// thread once every running range has returned; when several throw, the first one caught wins.
#include <concepts>
#include <cstdint>
#include <memory>
#include <qdp/api.hpp>
#include <type_traits>

namespace qdp {

// The number of threads a parallel_for called here would use at most.
QDP_API int num_threads();

namespace detail {
using ParallelBody = void (*)(void* fn, int64_t begin, int64_t end);
QDP_API void parallel_for(int64_t n, int64_t grain, ParallelBody body, void* fn);
}  // namespace detail

template <class F>
requires std::invocable<F&, int64_t, int64_t> || std::invocable<F&, int64_t>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  detail::parallel_for(
      n, grain,
      [](void* f, int64_t begin, int64_t end) {
        Fn& body = *static_cast<Fn*>(f);
        if constexpr (std::invocable<Fn&, int64_t, int64_t>) {
          body(begin, end);
        } else {
          for (int64_t i = begin; i < end; ++i) body(i);
        }
      },
      const_cast<void*>(static_cast<void const*>(std::addressof(fn))));
}

}  // namespace qdp
