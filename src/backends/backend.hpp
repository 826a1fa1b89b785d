#pragma once
// The interface every backend implements (CPU, CUDA): memory, copies, reformats, timing.
// Internal to qdp: users see Device, Stream and DeviceBuffer.
#include <functional>
#include <memory>
#include <qdp/plugin_definition.hpp>
#include <qdp/tensor.hpp>

namespace qdp::detail {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* data) noexcept = 0;
  // Copies within this backend's memory, ordered on `stream`.
  virtual void copy(void* dst, void const* src, size_t bytes, Stream stream) = 0;
  // Synchronous copies between host memory and this backend's memory.
  virtual void copy_from_host(void* dst, void const* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, void const* src, size_t bytes) = 0;
  // Converts `src` into `dst` (same logical shape): element type and/or format.
  virtual void reformat(Tensor const& src, Tensor const& dst, Stream stream) = 0;
  virtual void synchronize(Stream stream) = 0;
  // The median time of `run` in milliseconds over `timed_runs` runs after `warmup_runs`
  // (device events on the GPU, a steady clock on the CPU).
  virtual double time_ms(std::function<void(Stream)> const& run, int warmup_runs,
                         int timed_runs) = 0;

  // Graphs (CUDA only): records what `run` enqueues on `stream` into a replayable graph.
  virtual std::shared_ptr<void> capture_graph(std::function<void(Stream)> const& run,
                                              Stream stream) {
    (void)run, (void)stream;
    fail("graph capture needs the CUDA backend; this engine runs on the {}", name(device()));
  }
  virtual void launch_graph(void* graph, Stream stream) {
    (void)graph, (void)stream;
    fail("graph replay needs the CUDA backend; this engine runs on the {}", name(device()));
  }
};

// The backend for `device`; a clear qdp::Error when it is not available.
Backend& backend(Device device);

// Host-side reformat of any type/format pair, element by element: the CPU backend's
// implementation and the CUDA backend's reference in tests.
void reformat_on_host(Tensor const& src, Tensor const& dst);

}  // namespace qdp::detail
