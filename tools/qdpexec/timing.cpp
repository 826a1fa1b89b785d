#include "qdpexec/timing.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <numeric>
#include <qdp/execution_context.hpp>
#include <thread>

#include "qdpexec/cuda_util.hpp"
#include "qdpexec/session.hpp"

namespace qdp::tools {
namespace {

using Clock = std::chrono::steady_clock;
using Sessions = std::vector<std::unique_ptr<Session>>;
// Whether to start iteration `i` (counted from 0) `elapsed_ms` after the start.
using More = std::function<bool(int64_t i, double elapsed_ms)>;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU: each session is a thread of its own (a single one runs on this thread); the enqueue runs
// the engine, so it is the compute, and there is nothing to transfer.
void run_cpu(Sessions& sessions, More const& more, Clock::time_point origin,
             std::vector<IterationTimes>* out) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::vector<IterationTimes>> per_stream(sessions.size());
  std::vector<std::exception_ptr> errors(sessions.size());
  auto worker = [&](size_t s) {
    try {
      while (!failed && more(next.fetch_add(1), ms_since(origin))) {
        IterationTimes t;
        t.stream = static_cast<int>(s);
        t.start_enqueue = ms_since(origin);
        sessions[s]->enqueue_compute(false);
        t.end_enqueue = ms_since(origin);
        t.start_h2d = t.end_h2d = t.start_compute = t.start_enqueue;
        t.end_compute = t.start_d2h = t.end_d2h = t.end_enqueue;
        if (out) per_stream[s].push_back(t);
      }
    } catch (...) {
      errors[s] = std::current_exception();
      failed = true;  // the other streams stop after their current iteration
    }
  };
  if (sessions.size() == 1) {
    worker(0);
  } else {
    std::vector<std::jthread> threads;
    for (size_t s = 0; s < sessions.size(); ++s) threads.emplace_back(worker, s);
  }
  for (auto const& e : errors)
    if (e) std::rethrow_exception(e);
  if (!out) return;
  for (auto const& v : per_stream) out->insert(out->end(), v.begin(), v.end());
  std::sort(out->begin(), out->end(),
            [](auto const& a, auto const& b) { return a.start_enqueue < b.start_enqueue; });
}

#ifdef QDP_WITH_CUDA
// CUDA: iterations go round the streams, each stream keeping kDepth in flight: the host waits
// for an iteration only when its slot comes round again, so runs overlap the host's enqueues.
constexpr size_t kDepth = 2;
struct Slot {
  cuda::UniqueEvent start_h2d = cuda::event(), end_h2d = cuda::event(), end_compute = cuda::event(),
                    end_d2h = cuda::event();
  int64_t iteration = -1;
  IterationTimes host;  // the enqueue's times
};

void run_cuda(Sessions& sessions, TimingOptions const& o, More const& more,
              Clock::time_point origin, cudaEvent_t origin_event,
              std::vector<IterationTimes>* out) {
  std::vector<std::array<Slot, kDepth>> slots(sessions.size());
  auto collect = [&](Slot& slot) {
    if (out) {
      IterationTimes t = slot.host;
      t.start_h2d = cuda::elapsed_ms(origin_event, slot.start_h2d.get());
      t.end_h2d = t.start_compute = cuda::elapsed_ms(origin_event, slot.end_h2d.get());
      t.end_compute = t.start_d2h = cuda::elapsed_ms(origin_event, slot.end_compute.get());
      t.end_d2h = cuda::elapsed_ms(origin_event, slot.end_d2h.get());
      if (out->size() <= static_cast<size_t>(slot.iteration))
        out->resize(static_cast<size_t>(slot.iteration) + 1);
      (*out)[static_cast<size_t>(slot.iteration)] = t;
    } else {
      cuda::check(cudaEventSynchronize(slot.end_d2h.get()), "cudaEventSynchronize");
    }
    slot.iteration = -1;
  };
  size_t n = sessions.size();
  for (int64_t i = 0; more(i, ms_since(origin)); ++i) {
    size_t s = static_cast<size_t>(i) % n;
    Slot& slot = slots[s][(static_cast<size_t>(i) / n) % kDepth];
    if (slot.iteration >= 0) collect(slot);
    Session& session = *sessions[s];
    cudaStream_t stream = session.stream();
    cuda::check(cudaEventRecord(slot.start_h2d.get(), stream), "cudaEventRecord");
    if (o.data_transfers) session.enqueue_h2d();
    cuda::check(cudaEventRecord(slot.end_h2d.get(), stream), "cudaEventRecord");
    slot.host.stream = static_cast<int>(s);
    slot.host.start_enqueue = ms_since(origin);
    session.enqueue_compute(o.use_cuda_graph);
    slot.host.end_enqueue = ms_since(origin);
    cuda::check(cudaEventRecord(slot.end_compute.get(), stream), "cudaEventRecord");
    if (o.data_transfers) session.enqueue_d2h();
    cuda::check(cudaEventRecord(slot.end_d2h.get(), stream), "cudaEventRecord");
    slot.iteration = i;
  }
  // What is still in flight, oldest first.
  std::vector<Slot*> pending;
  for (auto& stream_slots : slots)
    for (auto& slot : stream_slots)
      if (slot.iteration >= 0) pending.push_back(&slot);
  std::sort(pending.begin(), pending.end(),
            [](Slot* a, Slot* b) { return a->iteration < b->iteration; });
  for (Slot* slot : pending) collect(*slot);
}
#endif

void run(Sessions& sessions, [[maybe_unused]] TimingOptions const& o, More const& more,
         std::vector<IterationTimes>* out, double* walltime_ms) {
  for (auto& s : sessions) s->synchronize();
#ifdef QDP_WITH_CUDA
  if (sessions[0]->device() == Device::CUDA) {
    // The zero of the CUDA events' times, recorded once every stream is idle.
    cuda::UniqueEvent origin_event = cuda::event();
    cuda::check(cudaEventRecord(origin_event.get(), sessions[0]->stream()), "cudaEventRecord");
    cuda::check(cudaEventSynchronize(origin_event.get()), "cudaEventSynchronize");
    auto origin = Clock::now();
    run_cuda(sessions, o, more, origin, origin_event.get(), out);
    for (auto& s : sessions) s->synchronize();
    if (walltime_ms) *walltime_ms = ms_since(origin);
    return;
  }
#endif
  auto origin = Clock::now();
  run_cpu(sessions, more, origin, out);
  if (walltime_ms) *walltime_ms = ms_since(origin);
}

struct Stats {
  double min = 0, max = 0, mean = 0, median = 0, percentile = 0;
};

Stats stats(std::vector<double> v, double p) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(n);
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  // Nearest rank: the smallest value with at least p % of the values at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  s.percentile = v[std::clamp<size_t>(rank, 1, n) - 1];
  return s;
}

void print_stats(char const* what, std::vector<double> const& v, double p) {
  Stats s = stats(v, p);
  std::printf(
      "[I] %s: min = %.5f ms, max = %.5f ms, mean = %.5f ms, median = %.5f ms, "
      "percentile(%g%%) = %.5f ms\n",
      what, s.min, s.max, s.mean, s.median, p, s.percentile);
}

std::vector<double> each(Timings const& t, double (IterationTimes::*f)() const) {
  std::vector<double> v;
  for (auto const& i : t.iterations) v.push_back((i.*f)());
  return v;
}

double median(std::vector<double> v) {
  return stats(std::move(v), 50).median;
}

}  // namespace

Timings measure(Engine const& engine, std::map<std::string, Array> const& inputs,
                TimingOptions const& o) {
  Sessions sessions;
  for (int s = 0; s < o.streams; ++s) {
    sessions.push_back(std::make_unique<Session>(engine, inputs, o.gpu));
    if (o.use_cuda_graph) sessions.back()->capture_graph();
  }
  double warm_up = o.warm_up_ms;
  run(
      sessions, o, [&](int64_t, double elapsed) { return elapsed < warm_up; }, nullptr, nullptr);
  Timings t;
  t.device = engine.device();
  t.options = o;
  double duration_ms = o.duration_s * 1000;
  run(
      sessions, o,
      [&](int64_t i, double elapsed) { return i < o.iterations || elapsed < duration_ms; },
      &t.iterations, &t.walltime_ms);
  return t;
}

void print_summary(Timings const& t, double p) {
  bool gpu = t.device == Device::CUDA;
  auto const& o = t.options;
  std::printf("[I] === Performance summary ===\n");
  std::printf("[I] Device: %s, %d stream(s)%s%s\n", std::string(name(t.device)).c_str(), o.streams,
              o.use_cuda_graph ? ", CUDA graph replay" : "",
              gpu && !o.data_transfers ? ", no data transfers" : "");
  if (gpu)
    std::printf(
        "[I] Iterations are not synchronized one by one: each stream keeps 2 in flight; H2D, GPU "
        "compute and D2H are timed with CUDA events, the enqueue on the host\n");
  else
    std::printf(
        "[I] On the cpu the enqueue is the compute (each layer runs as it is enqueued) and the "
        "bindings are host memory: H2D and D2H are 0, so Latency = Compute = Enqueue Time; each "
        "stream is a thread running its iterations back to back\n");
  double seconds = t.walltime_ms / 1000;
  std::printf("[I] Throughput: %.2f qps (%zu iterations in %.3f ms)\n",
              static_cast<double>(t.iterations.size()) / seconds, t.iterations.size(),
              t.walltime_ms);
  print_stats("Latency", each(t, &IterationTimes::latency), p);
  print_stats("Enqueue Time", each(t, &IterationTimes::enqueue), p);
  if (gpu) {
    print_stats("H2D Latency", each(t, &IterationTimes::h2d), p);
    print_stats("GPU Compute Time", each(t, &IterationTimes::compute), p);
    print_stats("D2H Latency", each(t, &IterationTimes::d2h), p);
  } else {
    print_stats("Compute Time", each(t, &IterationTimes::compute), p);
  }
  auto compute = each(t, &IterationTimes::compute);
  std::printf("[I] Total Host Walltime: %.5f s\n", seconds);
  std::printf("[I] Total %sCompute Time: %.5f s\n", gpu ? "GPU " : "",
              std::accumulate(compute.begin(), compute.end(), 0.0) / 1000);
}

nlohmann::json times_json(Timings const& t) {
  nlohmann::json records = nlohmann::json::array();
  for (auto const& i : t.iterations)
    records.push_back({{"startEnqMs", i.start_enqueue},
                       {"endEnqMs", i.end_enqueue},
                       {"startH2DMs", i.start_h2d},
                       {"endH2DMs", i.end_h2d},
                       {"startComputeMs", i.start_compute},
                       {"endComputeMs", i.end_compute},
                       {"startD2HMs", i.start_d2h},
                       {"endD2HMs", i.end_d2h},
                       {"h2dMs", i.h2d()},
                       {"computeMs", i.compute()},
                       {"d2hMs", i.d2h()},
                       {"latencyMs", i.latency()},
                       {"endToEndMs", i.end_d2h - i.start_h2d},
                       {"enqueueMs", i.enqueue()},
                       {"stream", i.stream}});
  return records;
}

LayerProfile profile_layers(Engine const& engine, std::map<std::string, Array> const& inputs,
                            int runs, int gpu) {
  Session session(engine, inputs, gpu);
  ExecutionContext& ctx = session.context();
  auto layers = engine.layers();
  std::vector<std::vector<double>> per_run(layers.size());
  std::vector<double> before(layers.size(), 0.0);
  ctx.set_profiling(true);
  for (int r = 0; r < runs; ++r) {
    session.enqueue_compute(false);
    session.synchronize();
    auto const& total = ctx.layer_times_ms();  // accumulated: this run is the difference
    for (size_t l = 0; l < layers.size() && l < total.size(); ++l) {
      per_run[l].push_back(total[l] - before[l]);
      before[l] = total[l];
    }
  }
  LayerProfile p;
  p.runs = ctx.profiled_runs();
  auto const& host = ctx.layer_host_times_ms();
  for (size_t l = 0; l < layers.size(); ++l)
    p.layers.push_back(
        {layers[l].name, before[l], median(per_run[l]), l < host.size() ? host[l] : 0.0});
  ctx.set_profiling(false);
  return p;
}

void print_profile(LayerProfile const& p, Device device) {
  double total = 0;
  for (auto const& l : p.layers) total += l.total_ms;
  std::printf("[I] Per-layer profile (%lld runs on the %s; a layer's time is %s):\n",
              static_cast<long long>(p.runs), std::string(name(device)).c_str(),
              device == Device::CUDA
                  ? "the time between CUDA events recorded around its step, the steps "
                    "running back to back"
                  : "the host's wall time of its step");
  std::printf("[I]   %-40s %12s %12s %12s %8s %10s\n", "Layer", "Time (ms)", "Avg. (ms)",
              "Median (ms)", "Time %", "Host (us)");
  double runs = static_cast<double>(std::max<int64_t>(p.runs, 1));
  for (auto const& l : p.layers)
    std::printf("[I]   %-40s %12.5f %12.5f %12.5f %8.1f %10.1f\n", l.name.c_str(), l.total_ms,
                l.total_ms / runs, l.median_ms, total > 0 ? l.total_ms / total * 100 : 0.0,
                l.host_ms / runs * 1e3);
}

nlohmann::json profile_json(LayerProfile const& p) {
  double total = 0;
  for (auto const& l : p.layers) total += l.total_ms;
  nlohmann::json out = nlohmann::json::array();
  out.push_back({{"count", p.runs}});
  for (auto const& l : p.layers)
    out.push_back(
        {{"name", l.name},
         {"timeMs", l.total_ms},
         {"averageMs", l.total_ms / static_cast<double>(std::max<int64_t>(p.runs, 1))},
         {"medianMs", l.median_ms},
         {"percentage", total > 0 ? l.total_ms / total * 100 : 0.0},
         {"averageHostMs", l.host_ms / static_cast<double>(std::max<int64_t>(p.runs, 1))}});
  return out;
}

}  // namespace qdp::tools
