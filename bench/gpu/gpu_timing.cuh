#pragma once
// What every GPU benchmark shares: RAII events and streams, and the median event time of a run.
#include <algorithm>
#include <qdp/cuda.hpp>
#include <vector>

namespace qdp::bench {

struct Event {
  cudaEvent_t e{};
  Event() { QDP_CUDA_CHECK(cudaEventCreate(&e)); }
  ~Event() { cudaEventDestroy(e); }
  Event(Event const&) = delete;
  Event& operator=(Event const&) = delete;
};

struct StreamHolder {
  cudaStream_t s{};
  StreamHolder() { QDP_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~StreamHolder() { cudaStreamDestroy(s); }
  StreamHolder(StreamHolder const&) = delete;
  StreamHolder& operator=(StreamHolder const&) = delete;
};

// Median device time of `fn` in ms (events around each run), after warm-up runs.
template <class F>
double median_ms(cudaStream_t stream, F&& fn, int warmup = 5, int reps = 31) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  Event a, b;
  for (int i = 0; i < reps; ++i) {
    QDP_CUDA_CHECK(cudaEventRecord(a.e, stream));
    fn();
    QDP_CUDA_CHECK(cudaEventRecord(b.e, stream));
    QDP_CUDA_CHECK(cudaEventSynchronize(b.e));
    float ms = 0;
    QDP_CUDA_CHECK(cudaEventElapsedTime(&ms, a.e, b.e));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace qdp::bench
