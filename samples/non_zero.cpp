// The non_zero sample (SPEC §3): the coordinates of X's non-zero entries, a data-dependent
// output whose row count N the plugin reports through a size tensor.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "plugins/sample_plugins.hpp"
#include "sample_common.hpp"

namespace qdp::samples {

int run_non_zero(CommonOptions const& options) {
  Device device = pick_device(options);
  define_non_zero();
  ConsoleLogger logger(options.verbose ? Severity::Verbose : Severity::Warning);

  constexpr int64_t kRows = 128, kCols = 128;
  Network network;
  TensorRef x = network.add_input("X", DataType::FP32, {kRows, kCols});
  auto outs = network.add_plugin("sample::non_zero_plugin", {x});
  network.mark_output(outs[0], "indices");
  network.mark_output(outs[1], "count");
  BuildConfig config;
  config.device = device;
  config.logger = &logger;
  Engine engine = build_engine(network, config);

  // Normal random values, a random number (0 to all) of random entries zeroed.
  std::mt19937 rng(std::random_device{}());
  Array input(DataType::FP32, {kRows, kCols});
  float* xs = input.data<float>();
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < input.numel(); ++i) xs[i] = normal(rng);
  std::vector<int64_t> order(static_cast<size_t>(input.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  auto zeros = std::uniform_int_distribution<int64_t>(0, input.numel())(rng);
  for (int64_t i = 0; i < zeros; ++i) xs[order[static_cast<size_t>(i)]] = 0.0f;

  Runner runner(engine);
  runner.context().set_logger(&logger);
  auto outputs = runner.infer({{"X", input}});
  Array const& indices = outputs.at("indices");
  int64_t n = outputs.at("count").data<int64_t>()[0];
  if (options.verbose)
    std::printf("[I] %lld non-zero entries of %lld\n", static_cast<long long>(n),
                static_cast<long long>(input.numel()));

  // Rows sorted lexicographically must be exactly the non-zero coordinates.
  std::vector<std::pair<int32_t, int32_t>> got, want;
  for (int64_t r = 0; r < indices.shape()[0]; ++r)
    got.emplace_back(indices.data<int32_t>()[2 * r], indices.data<int32_t>()[2 * r + 1]);
  std::sort(got.begin(), got.end());
  for (int32_t r = 0; r < kRows; ++r)
    for (int32_t c = 0; c < kCols; ++c)
      if (xs[r * kCols + c] != 0.0f) want.emplace_back(r, c);
  bool correct = indices.shape() == Dims{static_cast<int64_t>(want.size()), 2} &&
                 n == static_cast<int64_t>(want.size()) && got == want;
  return verdict(correct);
}

}  // namespace qdp::samples
