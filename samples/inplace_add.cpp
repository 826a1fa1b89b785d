// The inplace_add sample (SPEC §3): two chained in-place plugins (+2, +4) on x = ones; the
// caller binds x's own buffer as input "x" and output "y", so afterwards x == 7 everywhere.
#include <vector>

#include "plugins/sample_plugins.hpp"
#include "sample_common.hpp"

namespace qdp::samples {

int run_inplace_add(CommonOptions const& options) {
  Device device = pick_device(options);
  define_inplace_add();
  ConsoleLogger logger(options.verbose ? Severity::Verbose : Severity::Warning);

  Dims shape{10, 3, 32, 32};
  Network network;
  TensorRef x = network.add_input("x", DataType::FP32, {10, 3, 32, 32});
  TensorRef t = network.add_plugin("sample::elemwise_add_plugin_", {x}, {{"delta", int32_t{2}}})[0];
  TensorRef y = network.add_plugin("sample::elemwise_add_plugin_", {t}, {{"delta", int32_t{4}}})[0];
  network.mark_output(y, "y");

  BuildConfig config;
  config.device = device;
  config.logger = &logger;
  Engine engine = build_engine(network, config);

  std::vector<float> host(static_cast<size_t>(shape.numel()), 1.0f);
  DeviceBuffer buffer(device, host.size() * sizeof(float));
  buffer.copy_from_host(host.data(), buffer.size());
  auto context = engine.create_execution_context();
  context->set_logger(&logger);
  context->set_tensor_address("x", buffer.data());
  context->set_tensor_address("y", buffer.data());  // in place: the network runs in x's buffer
  context->enqueue();
  buffer.copy_to_host(host.data(), buffer.size());  // synchronous: waits for the run

  bool correct = true;
  for (float v : host) correct &= v == 7.0f;
  return verdict(correct);
}

}  // namespace qdp::samples
