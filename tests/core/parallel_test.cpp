// qdp::parallel_for (include/qdp/parallel.hpp): every index once, on the shared pool, with
// exceptions rethrown on the caller's thread and nested calls that never wait on the pool.
// Compiled without -fopenmp: the runtime brings the pool.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <qdp/error.hpp>
#include <qdp/parallel.hpp>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using ::testing::HasSubstr;

namespace {

TEST(ParallelFor, CoversEveryIndexOnce) {
  for (int64_t n : {0, 1, 2, 3, 7, 1000, 100003}) {
    for (int64_t grain : {-5, 0, 1, 16, 1000, 1 << 20}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int64_t> calls{0};
      qdp::parallel_for(n, grain, [&](int64_t begin, int64_t end) {
        ASSERT_LE(0, begin);
        ASSERT_LT(begin, end);
        ASSERT_LE(end, n);
        calls.fetch_add(1);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n " << n << " grain " << grain;
      // At most one range per thread, and each of at least `grain` indices.
      EXPECT_LE(calls.load(), qdp::num_threads());
      if (n > 0 && grain > 1) {
        EXPECT_LE(calls.load(), std::max<int64_t>(n / grain, 1));
      }
      if (n == 0) {
        EXPECT_EQ(calls.load(), 0);
      }
    }
  }
}

TEST(ParallelFor, TakesAPerIndexBody) {
  std::vector<double> y(10000);
  qdp::parallel_for(static_cast<int64_t>(y.size()), 64,
                    [&](int64_t i) { y[static_cast<size_t>(i)] = 2.0 * static_cast<double>(i); });
  for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], 2.0 * static_cast<double>(i));
  // A const callable and one passed as an lvalue.
  auto const body = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[static_cast<size_t>(i)] += 1;
  };
  qdp::parallel_for(static_cast<int64_t>(y.size()), 1, body);
  EXPECT_EQ(y[17], 35.0);
}

TEST(ParallelFor, SumsLikeASerialLoop) {
  int64_t const n = 1 << 20;
  std::vector<int64_t> partial(static_cast<size_t>(qdp::num_threads()) + 1, 0);
  std::atomic<int> slot{0};
  qdp::parallel_for(n, 1024, [&](int64_t begin, int64_t end) {
    int64_t s = 0;
    for (int64_t i = begin; i < end; ++i) s += i;
    partial[static_cast<size_t>(slot.fetch_add(1))] = s;
  });
  EXPECT_EQ(std::accumulate(partial.begin(), partial.end(), int64_t{0}), n * (n - 1) / 2);
}

TEST(ParallelFor, UsesThePoolThreads) {
  if (qdp::num_threads() < 2) GTEST_SKIP() << "one thread here (OMP_NUM_THREADS or one core)";
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> arrived{0};
  qdp::parallel_for(qdp::num_threads(), 1, [&](int64_t, int64_t) {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    // Every range waits until two have started: they run at the same time.
    // (A bounded wait: a team smaller than asked would run the ranges one after the other.)
    arrived.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived.load() < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
  });
  EXPECT_GE(threads.size(), 2u);
}

TEST(ParallelFor, FollowsOmpNumThreads) {
  char const* set = std::getenv("OMP_NUM_THREADS");
  if (!set) GTEST_SKIP() << "OMP_NUM_THREADS is not set (ctest runs this with it set to 3)";
  EXPECT_EQ(qdp::num_threads(), std::atoi(set));
  std::atomic<int> calls{0};
  qdp::parallel_for(300, 1, [&](int64_t, int64_t) { calls.fetch_add(1); });
  EXPECT_EQ(calls.load(), std::atoi(set));
}

TEST(ParallelFor, RethrowsTheExceptionOnTheCaller) {
  for (int64_t grain : {1, 1 << 30}) {  // on the pool, and on the caller alone
    try {
      qdp::parallel_for(1000, grain, [](int64_t i) {
        if (i == 777) qdp::fail("index {} is bad", i);
      });
      ADD_FAILURE() << "nothing thrown";
    } catch (qdp::Error const& e) {
      EXPECT_THAT(e.what(), HasSubstr("index 777 is bad"));
    }
  }
  EXPECT_THROW(qdp::parallel_for(100, 1, [](int64_t) { throw std::runtime_error("every"); }),
               std::runtime_error);
  // Every range throws: one exception comes back, and the pool works afterwards.
  try {
    qdp::parallel_for(100, 1,
                      [](int64_t b, int64_t) { throw std::out_of_range(std::to_string(b)); });
    ADD_FAILURE() << "nothing thrown";
  } catch (std::out_of_range const& e) {
    int begin = std::atoi(e.what());
    EXPECT_GE(begin, 0);
    EXPECT_LT(begin, 100);
  }
  std::atomic<int64_t> sum{0};
  qdp::parallel_for(100, 1, [&](int64_t i) { sum.fetch_add(i); });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ParallelFor, NestedCallsRunOnTheirThreadAndNeverWait) {
  std::atomic<int64_t> total{0};
  std::atomic<int> inner_threads{0};
  qdp::parallel_for(8, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      EXPECT_EQ(qdp::num_threads(), 1);  // inside a range, the pool is taken
      auto caller = std::this_thread::get_id();
      qdp::parallel_for(1000, 1, [&](int64_t b, int64_t e) {
        if (std::this_thread::get_id() != caller) inner_threads.fetch_add(1);
        total.fetch_add(e - b);
        // A third level, and an exception that stays inside the range that catches it.
        try {
          qdp::parallel_for(10, 1, [](int64_t) { throw std::logic_error("inner"); });
        } catch (std::logic_error const&) {
        }
      });
    }
  });
  EXPECT_EQ(total.load(), 8000);
  EXPECT_EQ(inner_threads.load(), 0);
}

TEST(ParallelFor, CallsFromSeveralThreadsAtOnce) {
  std::vector<std::thread> threads;
  std::vector<int64_t> sums(4, 0);
  for (size_t t = 0; t < sums.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        std::atomic<int64_t> s{0};
        qdp::parallel_for(10000, 100, [&](int64_t b, int64_t e) {
          int64_t local = 0;
          for (int64_t i = b; i < e; ++i) local += i;
          s.fetch_add(local);
        });
        sums[t] += s.load();
      }
    });
  for (auto& t : threads) t.join();
  for (int64_t s : sums) EXPECT_EQ(s, 20 * (int64_t{10000} * 9999 / 2));
}

}  // namespace
