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

// Median device time of `fn` in ms, timed as triton.testing.do_bench times the peers
// (bench/gpu/peers.py): the L2 cache flushed before each run (a 256 MB memset), events around
// each run, and no synchronisation between runs, so the host enqueues ahead and the time is the
// GPU's work alone. An `fn` that synchronises inside (a data-dependent shape's read-back) pays
// its host round trip here too, as torch.nonzero does in do_bench.
template <class F>
double median_ms(cudaStream_t stream, F&& fn, int warmup = 5, int reps = 31) {
  constexpr size_t kFlushBytes = size_t{256} << 20;
  struct Flush {
    void* p = nullptr;
    explicit Flush(size_t bytes) { QDP_CUDA_CHECK(cudaMalloc(&p, bytes)); }
    ~Flush() { cudaFree(p); }
  } flush(kFlushBytes);
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<Event> starts(static_cast<size_t>(reps)), stops(static_cast<size_t>(reps));
  for (size_t i = 0; i < starts.size(); ++i) {
    QDP_CUDA_CHECK(cudaMemsetAsync(flush.p, 0, kFlushBytes, stream));
    QDP_CUDA_CHECK(cudaEventRecord(starts[i].e, stream));
    fn();
    QDP_CUDA_CHECK(cudaEventRecord(stops[i].e, stream));
  }
  QDP_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> t;
  for (size_t i = 0; i < starts.size(); ++i) {
    float ms = 0;
    QDP_CUDA_CHECK(cudaEventElapsedTime(&ms, starts[i].e, stops[i].e));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Median latency of one `fn` from an idle GPU in ms: events around each run and a synchronise
// after it, so the time includes the host's enqueue of the work (what a graph replay saves).
template <class F>
double median_latency_ms(cudaStream_t stream, F&& fn, int warmup = 5, int reps = 31) {
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
