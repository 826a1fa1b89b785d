#pragma once
// The interface every backend implements (CPU, CUDA): memory, copies, reformats, timing, graphs,
// and AOT kernels (compiling them at build time, loading and launching them at run time). The
// builder, the engine and the runtime reach a device only through this. Internal to qdp: users
// see Device, Stream and DeviceBuffer.
#include <algorithm>
#include <functional>
#include <memory>
#include <qdp/plugin_definition.hpp>
#include <qdp/tensor.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "plan/plan.hpp"

namespace qdp::detail {

// An AOT kernel loaded for a backend: launched with a step's tensors, its extra arguments and
// launch dimensions evaluated at the run's shapes.
class LoadedKernel {
 public:
  virtual ~LoadedKernel() = default;
  virtual void launch(std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                      ShapeEnv const& env, Stream stream) const = 0;
};

// Points recorded on a stream and the times between them: what the per-layer profile records
// after each step, with no synchronization in between (CUDA events on the GPU; the host clock on
// the CPU, whose work is done when an impl returns).
class StreamMarks {
 public:
  virtual ~StreamMarks() = default;
  virtual void record(size_t index, Stream stream) = 0;
  // Once the stream has been synchronized past mark `to`.
  virtual double elapsed_ms(size_t from, size_t to) = 0;
};

class QDP_API Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  // Which GPU (0 on the CPU).
  virtual int index() const { return 0; }

  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* data) noexcept = 0;
  // Copies within this backend's memory, ordered on `stream`.
  virtual void copy(void* dst, void const* src, size_t bytes, Stream stream) = 0;
  // Synchronous copies between host memory and this backend's memory.
  virtual void copy_from_host(void* dst, void const* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, void const* src, size_t bytes) = 0;
  // A small host-to-device copy ordered on `stream`; `src` may be reused once this returns.
  virtual void write_from_host(void* dst, void const* src, size_t bytes, Stream) {
    copy_from_host(dst, src, bytes);
  }
  // Reads `bytes` of this backend's memory once the work enqueued on `stream` before it is done;
  // returns when `dst` holds them (one wait for the stream: a data-dependent extent's read-back).
  // `dst` from allocate_host_staging makes it a direct copy (pinned memory on CUDA).
  virtual void read_to_host(void* dst, void const* src, size_t bytes, Stream stream) {
    synchronize(stream);
    copy_to_host(dst, src, bytes);
  }
  virtual std::shared_ptr<std::byte[]> allocate_host_staging(size_t bytes) {
    return std::shared_ptr<std::byte[]>(new std::byte[std::max<size_t>(bytes, 1)]());
  }
  // `n` zeroed fault records in host memory this backend's kernels can write (mapped, on CUDA).
  virtual std::shared_ptr<DeviceFault[]> allocate_faults(size_t n) {
    return std::shared_ptr<DeviceFault[]>(new DeviceFault[n]());
  }
  // Zeroes `bytes` bytes, ordered on `stream`.
  virtual void zero(void* dst, size_t bytes, Stream stream) = 0;
  // Converts `src` into `dst` (same logical shape): element type and/or format.
  virtual void reformat(Tensor const& src, Tensor const& dst, Stream stream) = 0;
  virtual void synchronize(Stream stream) = 0;
  // The median time of `run` in milliseconds over `timed_runs` runs after `warmup_runs`
  // (device events on the GPU, a steady clock on the CPU).
  virtual double time_ms(std::function<void(Stream)> const& run, int warmup_runs,
                         int timed_runs) = 0;

  // `count` marks for the per-layer profile (the host clock by default).
  virtual std::unique_ptr<StreamMarks> make_marks(size_t count);

  // Makes this backend's device current for the calling thread until the returned guard is
  // destroyed (CUDA: the GPU; the CPU: nothing). Impls launch on the current device.
  virtual std::shared_ptr<void> make_current() { return nullptr; }

  // Graphs (CUDA only): records what `run` enqueues on `stream` into a replayable graph.
  virtual std::shared_ptr<void> capture_graph(std::function<void(Stream)> const& run,
                                              Stream stream);
  virtual void launch_graph(void* graph, Stream stream);

  // AOT kernels (SPEC §1 "AOT kernels"). A backend without an AOT path (the CPU) says so here;
  // the builder then uses a plugin's JIT impl without asking.
  virtual bool supports_aot() const { return false; }
  // Compiles what an aot_impl returned for this backend's device: CUDA source through NVRTC
  // (cubin and PTX), PTX kept as PTX, a cubin kept as is. Errors name the plugin.
  virtual PlanKernel compile_kernel(std::string_view plugin_id, AotKernel const& kernel);
  // Loads a compiled kernel and checks that it takes `inputs` pointers, the extra int32
  // arguments and `outputs` pointers; errors name `step`.
  virtual std::shared_ptr<const LoadedKernel> load_kernel(PlanKernel const& kernel,
                                                          std::string_view step, size_t inputs,
                                                          size_t outputs);
};

// Backend, backend() and reformat_on_host are exported for qdp's own tests and benchmarks
// (QDP_API); they are not public API.

// The backend for `device` (GPU `index` on CUDA); a clear qdp::Error when it is not available.
QDP_API Backend& backend(Device device, int index = 0);

// Host-side reformat of any type/format pair, element by element: the CPU backend's
// implementation and the CUDA backend's reference in tests.
QDP_API void reformat_on_host(Tensor const& src, Tensor const& dst);

}  // namespace qdp::detail
