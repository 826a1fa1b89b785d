#pragma once
// The CUDA runtime as qdpexec uses it: checked calls and owning handles. Only where qdp is built
// with CUDA (QDP_WITH_CUDA, a compile definition of the qdp target).
#ifdef QDP_WITH_CUDA
#include <cuda_runtime.h>

#include <memory>
#include <qdp/error.hpp>
#include <type_traits>

namespace qdp::tools::cuda {

inline void check(cudaError_t status, char const* what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error
  fail("CUDA error in {}: {}", what, cudaGetErrorString(status));
}

struct PinnedFree {
  void operator()(void* p) const noexcept { (void)cudaFreeHost(p); }
};
using PinnedBuffer = std::unique_ptr<void, PinnedFree>;
inline PinnedBuffer pinned(size_t bytes) {
  void* p = nullptr;
  check(cudaMallocHost(&p, bytes > 0 ? bytes : 1), "cudaMallocHost");
  return PinnedBuffer(p);
}

struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { (void)cudaStreamDestroy(s); }
};
using UniqueStream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;
inline UniqueStream stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return UniqueStream(s);
}

struct EventDestroy {
  void operator()(cudaEvent_t e) const noexcept { (void)cudaEventDestroy(e); }
};
using UniqueEvent = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroy>;
inline UniqueEvent event() {
  cudaEvent_t e = nullptr;
  check(cudaEventCreate(&e), "cudaEventCreate");
  return UniqueEvent(e);
}

// Milliseconds from `origin` to `e`, both recorded; waits for `e`.
inline double elapsed_ms(cudaEvent_t origin, cudaEvent_t e) {
  check(cudaEventSynchronize(e), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, origin, e), "cudaEventElapsedTime");
  return ms;
}

}  // namespace qdp::tools::cuda
#endif
