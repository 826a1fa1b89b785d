#pragma once
// Timing, as trtexec does it. Iterations are enqueued back to back on --infStreams sessions
// without a synchronization after each: on CUDA each stream keeps two iterations in flight and
// CUDA events time each one's H2D, compute and D2H; on the CPU, where the enqueue is the compute,
// each stream is a thread. Per-layer times come from ExecutionContext's profiling.
#include <map>
#include <nlohmann/json.hpp>
#include <qdp/array.hpp>
#include <qdp/engine.hpp>
#include <string>
#include <vector>

namespace qdp::tools {

struct TimingOptions {
  int iterations = 10;
  double warm_up_ms = 200, duration_s = 3;
  int streams = 1;
  bool use_cuda_graph = false, data_transfers = true;
  int gpu = 0;  // cuda:N
};

// One iteration, in ms from the start of the timed run (CUDA: the host's clock for the enqueue,
// CUDA events for the rest; CPU: the host's clock, H2D and D2H empty).
struct IterationTimes {
  double start_enqueue = 0, end_enqueue = 0;
  double start_h2d = 0, end_h2d = 0, start_compute = 0, end_compute = 0, start_d2h = 0, end_d2h = 0;
  int stream = 0;
  double h2d() const { return end_h2d - start_h2d; }
  double compute() const { return end_compute - start_compute; }
  double d2h() const { return end_d2h - start_d2h; }
  double enqueue() const { return end_enqueue - start_enqueue; }
  double latency() const { return h2d() + compute() + d2h(); }
};

struct Timings {
  Device device = Device::CPU;
  TimingOptions options;
  std::vector<IterationTimes> iterations;  // in the order they were enqueued
  double walltime_ms = 0;                  // of the timed run, on the host
};

Timings measure(Engine const& engine, std::map<std::string, Array> const& inputs,
                TimingOptions const& options);
void print_summary(Timings const& timings, double percentile);
// trtexec's --exportTimes records.
nlohmann::json times_json(Timings const& timings);

struct LayerTime {
  std::string name;
  double total_ms = 0, median_ms = 0;
  double host_ms = 0;  // the host's time enqueuing it, over all runs
};
struct LayerProfile {
  int64_t runs = 0;
  std::vector<LayerTime> layers;  // in the order of Engine::layers()
};
LayerProfile profile_layers(Engine const& engine, std::map<std::string, Array> const& inputs,
                            int runs, int gpu = 0);
void print_profile(LayerProfile const& profile, Device device);
// trtexec's --exportProfile: [{"count": N}, {"name", "timeMs", "averageMs", "medianMs",
// "percentage"}, ...], and qdp's "averageHostMs": the host's time enqueuing the layer, per run.
nlohmann::json profile_json(LayerProfile const& profile);

}  // namespace qdp::tools
