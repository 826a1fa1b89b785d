// The add sample (SPEC §3): y = x + 1 through sample::elemwise_add_plugin.
#include <random>

#include "plugins/sample_plugins.hpp"
#include "sample_common.hpp"

namespace qdp::samples {

int run_add(AddOptions const& options) {
  Device device = pick_device(options);
  define_elemwise_add(options.autotune, options.aot);
  ConsoleLogger logger(options.verbose ? Severity::Verbose : Severity::Warning);

  Network network;
  TensorRef x = network.add_input("x", DataType::FP32, {10, 3, 32, 32});
  LayerOptions layer;
  layer.impl = options.aot ? ImplChoice::AOT : ImplChoice::JIT;
  auto y =
      network.add_plugin("sample::elemwise_add_plugin", {x}, {{"block_size", int32_t{256}}}, layer);
  network.mark_output(y[0], "y");

  BuildConfig config;
  config.device = device;
  config.logger = &logger;
  Engine engine = build_engine(network, config);

  Array input(DataType::FP32, {10, 3, 32, 32});
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> values(0, 9);
  float* xs = input.data<float>();
  for (int64_t i = 0; i < input.numel(); ++i) xs[i] = static_cast<float>(values(rng));

  Runner runner(engine);
  runner.context().set_logger(&logger);
  auto outputs = runner.infer({{"x", input}});
  Array const& out = outputs.at("y");
  bool correct = out.shape() == input.shape();
  for (int64_t i = 0; correct && i < out.numel(); ++i)
    correct = out.data<float>()[i] == xs[i] + 1.0f;
  return verdict(correct);
}

}  // namespace qdp::samples
