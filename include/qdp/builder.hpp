#pragma once
// The builder: network -> engine. Infers shapes through each plugin's desc, picks JIT or AOT,
// autotunes every plugin on the target device, inserts reformats, plans memory.
#include <qdp/engine.hpp>
#include <qdp/logger.hpp>
#include <qdp/network.hpp>

namespace qdp {

// For layers whose plugin has both implementations and that don't say which to use.
enum class ImplPreference : uint8_t { None, PreferJIT, PreferAOT };

struct QDP_API BuildConfig {
  Device device = Device::CPU;
  int gpu = 0;  // which GPU, when device is CUDA (cuda:N)
  // Keep the network's declared types: autotune only formats and tactics.
  bool strict_types = false;
  ImplPreference preference = ImplPreference::None;
  // Autotuning: warm-up runs and timed runs per candidate (the median is kept).
  int warmup_runs = 1;
  int timed_runs = 3;
  Logger* logger = nullptr;  // null: no logging
};

QDP_API Engine build_engine(Network const& network, BuildConfig const& config);

}  // namespace qdp
