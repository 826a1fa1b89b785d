#include "qdpexec/session.hpp"

#include <algorithm>
#include <cstring>
#include <qdp/device_buffer.hpp>
#include <vector>

#include "qdpexec/cuda_util.hpp"

namespace qdp::tools {

namespace {

struct Binding {
  std::string name;
  bool is_input = true;
  DataType dtype = DataType::FP32;
  size_t bytes = 0;  // an input's bytes; an output's largest
  DeviceBuffer device;
#ifdef QDP_WITH_CUDA
  cuda::PinnedBuffer host;  // CUDA only: the other end of the transfers
#endif
};

}  // namespace

struct Session::State {
  State(Engine const& e, int gpu) : engine(e), context(e.create_execution_context(gpu)), gpu(gpu) {}
  Engine engine;
  std::unique_ptr<ExecutionContext> context;
  int gpu;
  std::vector<Binding> bindings;
#ifdef QDP_WITH_CUDA
  cuda::UniqueStream stream;
#endif
  bool on_cuda() const {
    return engine.device() == Device::CUDA;
  }
};

Session::Session(Engine const& engine, std::map<std::string, Array> const& inputs, int gpu)
    : state_(std::make_unique<State>(engine, gpu)) {
  Device device = engine.device();
#ifdef QDP_WITH_CUDA
  if (state_->on_cuda()) state_->stream = cuda::stream();
#endif
  for (auto const& io : engine.io()) {
    Binding b;
    b.name = io.name;
    b.is_input = io.is_input;
    b.dtype = io.dtype;
    Array const* input = nullptr;
    if (io.is_input) {
      input = &inputs.at(io.name);
      b.bytes = input->bytes();
      if (std::find(io.dims.begin(), io.dims.end(), -1) != io.dims.end())
        state_->context->set_input_shape(io.name, input->shape());
    } else {
      b.bytes = io.max_bytes;
    }
    // Never empty: a zero-byte binding still needs an address.
    b.device = DeviceBuffer(device, std::max<size_t>(b.bytes, 1), state_->gpu);
    if (input) b.device.copy_from_host(input->raw(), b.bytes);
#ifdef QDP_WITH_CUDA
    if (state_->on_cuda()) {
      b.host = cuda::pinned(b.bytes);
      if (input) std::memcpy(b.host.get(), input->raw(), b.bytes);
    }
#endif
    state_->context->set_tensor_address(io.name, b.device.data());
    state_->bindings.push_back(std::move(b));
  }
}

Session::~Session() = default;

Device Session::device() const {
  return state_->engine.device();
}

ExecutionContext& Session::context() {
  return *state_->context;
}

Stream Session::stream() const {
#ifdef QDP_WITH_CUDA
  return Stream{state_->stream.get()};
#else
  return Stream{};
#endif
}

void Session::enqueue_h2d() {
#ifdef QDP_WITH_CUDA
  if (!state_->on_cuda()) return;
  for (auto& b : state_->bindings)
    if (b.is_input)
      cuda::check(cudaMemcpyAsync(b.device.data(), b.host.get(), b.bytes, cudaMemcpyHostToDevice,
                                  state_->stream.get()),
                  "cudaMemcpyAsync (host to device)");
#endif
}

void Session::enqueue_compute(bool graph) {
  if (graph)
    state_->context->launch_graph(stream());
  else
    state_->context->enqueue(stream());
}

void Session::enqueue_d2h() {
#ifdef QDP_WITH_CUDA
  if (!state_->on_cuda()) return;
  for (auto& b : state_->bindings) {
    if (b.is_input) continue;
    // A data-dependent output's shape is known once its enqueue has returned.
    size_t bytes =
        static_cast<size_t>(state_->context->tensor_shape(b.name).numel()) * element_size(b.dtype);
    cuda::check(cudaMemcpyAsync(b.host.get(), b.device.data(), bytes, cudaMemcpyDeviceToHost,
                                state_->stream.get()),
                "cudaMemcpyAsync (device to host)");
  }
#endif
}

void Session::capture_graph() {
  state_->context->capture_graph(stream());
}

void Session::synchronize() {
#ifdef QDP_WITH_CUDA
  if (state_->on_cuda())
    cuda::check(cudaStreamSynchronize(state_->stream.get()), "cudaStreamSynchronize");
#endif
}

std::map<std::string, Array> Session::infer() {
  enqueue_h2d();
  enqueue_compute(false);
  enqueue_d2h();
  synchronize();
  std::map<std::string, Array> outputs;
  for (auto const& b : state_->bindings) {
    if (b.is_input) continue;
    Array a(b.dtype, state_->context->tensor_shape(b.name));
    void const* from = b.device.data();  // host memory on the CPU
#ifdef QDP_WITH_CUDA
    if (state_->on_cuda()) from = b.host.get();
#endif
    std::memcpy(a.raw(), from, a.bytes());
    outputs.emplace(b.name, std::move(a));
  }
  return outputs;
}

}  // namespace qdp::tools
