#pragma once
// ExecutionContext: runs an engine. Bind every input and output by name, set the shapes of
// dynamic inputs, enqueue on a stream. Data-dependent outputs report their actual shape after
// the run.
#include <memory>
#include <qdp/engine.hpp>
#include <qdp/logger.hpp>
#include <qdp/plugin_definition.hpp>
#include <string_view>
#include <vector>

namespace qdp {

namespace detail {
class ContextState;
}

// Supplies an output's memory once its size is known (the counterpart of TensorRT's output
// allocator), for outputs whose size the caller cannot know before the run. The engine writes such
// an output into memory of its own (sized for the upper bound), then, after the run, asks for
// `bytes` of the caller's memory, copies the output there on the run's stream, and reports the
// actual shape.
class QDP_API OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  // Memory for `bytes` bytes of output `name` on the engine's device. `current` is what this
  // allocator returned last time for the output (null the first time): return it when it is
  // large enough.
  virtual void* reallocate(std::string_view name, void* current, size_t bytes) = 0;
  // The output's actual shape, after the run.
  virtual void notify_shape(std::string_view name, Dims const& shape) = 0;
};

class QDP_API ExecutionContext {
 public:
  // Runs `engine` on GPU `gpu` of its backend (CUDA; ignored on the CPU).
  explicit ExecutionContext(Engine engine, int gpu = 0);
  ~ExecutionContext();
  ExecutionContext(ExecutionContext const&) = delete;
  ExecutionContext& operator=(ExecutionContext const&) = delete;

  // The shape of a dynamic input; checked against its profile.
  void set_input_shape(std::string_view name, Dims shape);
  // Where an input or output lives (device memory on CUDA, host memory on the CPU).
  // The same buffer may be bound as an input and an output of an in-place network.
  void set_tensor_address(std::string_view name, void* data);
  // Instead of an address: `allocator` provides output `name`'s memory once its size is known.
  void set_output_allocator(std::string_view name, OutputAllocator* allocator);
  // The current shape of an input or output; a data-dependent output's after enqueue().
  Dims tensor_shape(std::string_view name) const;
  // Runs the engine on `stream`. Missing bindings and unset dynamic shapes are errors.
  void enqueue(Stream stream = {});
  // After the run is synchronized: raises the first fault a kernel recorded in it (a Gather
  // index out of range on the GPU, where a kernel cannot throw), naming the layer, and clears
  // them. Runner::infer and the Python runner call it.
  void check_faults();

  // CUDA graphs: capture_graph records one enqueue on `stream` (with the current bindings and
  // shapes) into a graph that launch_graph replays. An engine with data-dependent shapes cannot
  // be captured: its size values are read back in the middle of a run.
  void capture_graph(Stream stream);
  void launch_graph(Stream stream);

  // Per-layer profiling: when on, each step's time is added to layer_times() (in the order of
  // Engine::layers()): on the GPU from events recorded between the steps, which run back to back
  // (enqueue then synchronizes once, at its end); on the CPU from the host clock. Off by default.
  void set_profiling(bool on);
  std::vector<double> const& layer_times_ms() const;  // accumulated per step
  // The host's share, accumulated per step: the time the enqueue spent in each step (its
  // launches and the work around them), which the GPU time above hides when the GPU is busy.
  std::vector<double> const& layer_host_times_ms() const;
  int64_t profiled_runs() const;

  Engine const& engine() const;
  // With a logger, each plugin step is logged (Verbose) as it is enqueued, with the types,
  // formats and shapes its impl receives.
  void set_logger(Logger* logger);

 private:
  std::unique_ptr<detail::ContextState> state_;
};

}  // namespace qdp
