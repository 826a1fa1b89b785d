#include <qdp/device_buffer.hpp>
#include <qdp/execution_context.hpp>
#include <qdp/runner.hpp>

#include "backends/backend.hpp"

namespace qdp {

struct Runner::State {
  Engine engine;
  std::unique_ptr<ExecutionContext> context;
  std::map<std::string, DeviceBuffer, std::less<>> buffers;  // device copies, reused across calls
};

Runner::Runner(Engine engine)
    : state_(std::make_unique<State>(State{engine, engine.create_execution_context(), {}})) {}
Runner::~Runner() = default;
void Runner::synchronize() {
  detail::backend(state_->engine.device()).synchronize({});
}
ExecutionContext& Runner::context() {
  return *state_->context;
}

std::map<std::string, Array> Runner::infer(std::map<std::string, Array> const& inputs) {
  Engine const& engine = state_->engine;
  Device device = engine.device();
  auto& backend = detail::backend(device);
  ExecutionContext& ctx = *state_->context;
  auto buffer = [&](std::string const& name, size_t bytes) -> DeviceBuffer& {
    auto& b = state_->buffers[name];
    if (!b.data() || b.size() < bytes || b.device() != device)  // never null: an empty tensor too
      b = DeviceBuffer(device, std::max<size_t>(bytes, 1));
    return b;
  };
  for (auto const& [name, array] : inputs) {
    IOInfo const& io = engine.io(name);
    if (!io.is_input) fail("Runner::infer: '{}' is an output of the engine, not an input", name);
    if (array.dtype() != io.dtype)
      fail("Runner::infer: input '{}' is {} but the engine takes {}", name,
           qdp::name(array.dtype()), qdp::name(io.dtype));
    bool dynamic = std::find(io.dims.begin(), io.dims.end(), -1) != io.dims.end();
    if (dynamic)
      ctx.set_input_shape(name, array.shape());
    else if (!(Dims(std::span<const int64_t>(io.dims)) == array.shape()))
      fail("Runner::infer: input '{}' has shape {}, the engine takes {}", name,
           to_string(array.shape()), to_string(Dims(std::span<const int64_t>(io.dims))));
    DeviceBuffer& b = buffer(name, array.bytes());
    b.copy_from_host(array.raw(), array.bytes());
    ctx.set_tensor_address(name, b.data());
  }
  for (auto const& io : engine.io()) {
    if (io.is_input) {
      if (!inputs.count(io.name)) fail("Runner::infer: input '{}' is missing", io.name);
      continue;
    }
    ctx.set_tensor_address(io.name, buffer(io.name, io.max_bytes).data());
  }
  ctx.enqueue();
  backend.synchronize({});
  ctx.check_faults();
  std::map<std::string, Array> outputs;
  for (auto const& io : engine.io()) {
    if (io.is_input) continue;
    Array a(io.dtype, ctx.tensor_shape(io.name));
    state_->buffers[io.name].copy_to_host(a.raw(), a.bytes());
    outputs.emplace(io.name, std::move(a));
  }
  return outputs;
}

}  // namespace qdp
