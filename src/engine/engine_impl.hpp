#pragma once
// What an engine is in this process: its plan, with the plugins' impls bound and the AOT kernels
// loaded on its backend.
#include <memory>
#include <qdp/device_buffer.hpp>
#include <vector>

#include "backends/backend.hpp"
#include "plan/plan.hpp"

namespace qdp::detail {

struct EngineImpl {
  EnginePlan plan;
  std::vector<BoundImpl> bound;                              // per step: JIT plugins
  std::vector<std::shared_ptr<const LoadedKernel>> kernels;  // per step: AOT plugins, loaded once
  std::vector<DeviceBuffer> constants;  // per plan constant: on the engine's device
};

// Resolves plugins against the registry and binds their impls, and loads AOT kernels on GPU
// `gpu` of the plan's backend: how a built or loaded plan becomes runnable. Fails naming any
// plugin not defined in this process.
// Exported (QDP_API) for the builder in libqdp; not public API.
QDP_API std::shared_ptr<const EngineImpl> make_engine_impl(EnginePlan plan, int gpu = 0);

}  // namespace qdp::detail
