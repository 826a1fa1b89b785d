// qdp::parallel_for (include/qdp/parallel.hpp): OpenMP's pool, compiled here so that plugins
// need no -fopenmp. Exceptions never cross the parallel region (OpenMP forbids it): each range
// catches its own, the first is kept, and it is rethrown on the caller's thread after the region.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <qdp/parallel.hpp>

namespace qdp {

int num_threads() {
  return omp_in_parallel() ? 1 : std::max(1, omp_get_max_threads());
}

namespace detail {

void parallel_for(int64_t n, int64_t grain, ParallelBody body, void* fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t const most = std::max<int64_t>(n / grain, 1);  // ranges of at least `grain` indices
  int64_t const ranges = std::min<int64_t>(num_threads(), most);
  if (ranges <= 1) {  // alone, or nested: the calling thread does it all, exceptions as they come
    body(fn, 0, n);
    return;
  }
  std::atomic<bool> failed{false};
  std::exception_ptr first;
  std::mutex mutex;
#pragma omp parallel num_threads(static_cast <int>(ranges))
  {
    // The team may be smaller than asked (OMP_DYNAMIC, thread limits): a thread then takes
    // several ranges.
    int64_t const team = omp_get_num_threads();
    for (int64_t r = omp_get_thread_num(); r < ranges; r += team) {
      if (failed.load(std::memory_order_relaxed)) break;
      // Even split: the first n % ranges ranges take one index more.
      int64_t const base = n / ranges, extra = n % ranges;
      int64_t const begin = r * base + std::min(r, extra);
      int64_t const end = begin + base + (r < extra ? 1 : 0);
      try {
        body(fn, begin, end);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!first) first = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace detail
}  // namespace qdp
