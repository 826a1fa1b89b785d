#pragma once
// ExecutionContext: runs an engine. Bind every input and output by name, set the shapes of
// dynamic inputs, enqueue on a stream. Data-dependent outputs report their actual shape after
// the run.
#include <memory>
#include <qdp/engine.hpp>
#include <qdp/logger.hpp>
#include <qdp/plugin_definition.hpp>
#include <string_view>

namespace qdp {

namespace detail {
class ContextState;
}

class ExecutionContext {
 public:
  explicit ExecutionContext(Engine engine);
  ~ExecutionContext();
  ExecutionContext(ExecutionContext const&) = delete;
  ExecutionContext& operator=(ExecutionContext const&) = delete;

  // The shape of a dynamic input; checked against its profile.
  void set_input_shape(std::string_view name, Dims shape);
  // Where an input or output lives (device memory on CUDA, host memory on the CPU).
  // The same buffer may be bound as an input and an output of an in-place network.
  void set_tensor_address(std::string_view name, void* data);
  // The current shape of an input or output; a data-dependent output's after enqueue().
  Dims tensor_shape(std::string_view name) const;
  // Runs the engine on `stream`. Missing bindings and unset dynamic shapes are errors.
  void enqueue(Stream stream = {});

  // CUDA graphs: capture_graph records one enqueue on `stream` (with the current bindings and
  // shapes) into a graph that launch_graph replays. An engine with data-dependent shapes cannot
  // be captured: its size values are read back in the middle of a run.
  void capture_graph(Stream stream);
  void launch_graph(Stream stream);

  Engine const& engine() const;
  // With a logger, each plugin step is logged (Verbose) as it is enqueued, with the types,
  // formats and shapes its impl receives.
  void set_logger(Logger* logger);

 private:
  std::unique_ptr<detail::ContextState> state_;
};

}  // namespace qdp
