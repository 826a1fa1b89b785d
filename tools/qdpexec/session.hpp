#pragma once
// Session: one execution context of an engine with its own input and output memory on the
// engine's device and, on CUDA, its own stream and pinned host copies of the inputs and outputs:
// what one inference stream of qdpexec runs. On the CPU the bound memory is host memory, so
// there is nothing to transfer and the H2D / D2H steps do nothing.
#include <map>
#include <memory>
#include <qdp/array.hpp>
#include <qdp/engine.hpp>
#include <qdp/execution_context.hpp>
#include <string>

namespace qdp::tools {

class Session {
 public:
  // Binds every input (copied to the device once, so that runs without transfers see them) and
  // every output (at its largest size).
  Session(Engine const& engine, std::map<std::string, Array> const& inputs, int gpu = 0);
  ~Session();
  Session(Session const&) = delete;
  Session& operator=(Session const&) = delete;

  Device device() const;
  ExecutionContext& context();
  Stream stream() const;  // the CUDA stream; null on the CPU

  // Each enqueued on stream(); on the CPU compute runs as it is enqueued.
  void enqueue_h2d();                // pinned host inputs -> device
  void enqueue_compute(bool graph);  // the engine (or the captured graph)
  void enqueue_d2h();                // device outputs, at their current shape -> pinned host
  void capture_graph();
  void synchronize();

  // H2D, compute, D2H and a synchronization: every output, at its actual shape.
  std::map<std::string, Array> infer();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qdp::tools
