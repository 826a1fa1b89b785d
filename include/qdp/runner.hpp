#pragma once
// Runner: one call from host arrays to host arrays, like Polygraphy's TrtRunner.
#include <map>
#include <memory>
#include <qdp/api.hpp>
#include <qdp/array.hpp>
#include <qdp/engine.hpp>
#include <string>

namespace qdp {

class ExecutionContext;

class QDP_API Runner {
 public:
  explicit Runner(Engine engine);
  ~Runner();
  // Copies the inputs to the engine's device, runs, synchronizes and returns every output
  // with its actual shape.
  std::map<std::string, Array> infer(std::map<std::string, Array> const& inputs);
  ExecutionContext& context();
  // Waits for everything enqueued on the default stream of the engine's device.
  void synchronize();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qdp
