// A data-dependent output feeding another plugin: non_zero's (N, 2) coordinates go through
// circ_pad (wrapping one row around), which must see the actual N, on the CPU and the GPU.
#include <gtest/gtest.h>

#include <qdp/qdp.hpp>
#include <random>

#include "plugins/sample_plugins.hpp"

namespace {

using namespace qdp;

void define_samples() {
  if (!Registry::global().find("sample::non_zero_plugin")) samples::define_non_zero();
  if (!Registry::global().find("sample::circ_pad_plugin")) samples::define_circ_pad(true);
}

void check_chain(Device device) {
  define_samples();
  Network net;
  auto x = net.add_input("X", DataType::FP32, {37, 53});
  auto nz = net.add_plugin("sample::non_zero_plugin", {x});
  // pads (0, 0, 1, 0): one more row at the top, the last coordinate pair wrapped around.
  auto padded = net.add_plugin("sample::circ_pad_plugin", {nz[0]},
                               {{"pads", std::vector<int32_t>{0, 0, 1, 0}}},
                               {.name = "pad", .impl = ImplChoice::JIT});
  net.mark_output(padded[0], "y");
  net.mark_output(nz[1], "count");
  BuildConfig config;
  config.device = device;
  Runner runner(build_engine(net, config));
  std::mt19937 rng(std::random_device{}());
  for (double zero_fraction : {0.1, 0.5, 0.97}) {
    Array in(DataType::FP32, {37, 53});
    std::uniform_real_distribution<double> u;
    std::vector<std::pair<int32_t, int32_t>> want;
    for (int32_t r = 0; r < 37; ++r)
      for (int32_t c = 0; c < 53; ++c) {
        bool zero = u(rng) < zero_fraction;
        in.data<float>()[r * 53 + c] = zero ? 0.0f : 1.0f + static_cast<float>(c);
        if (!zero) want.emplace_back(r, c);
      }
    auto out = runner.infer({{"X", in}});
    int64_t n = static_cast<int64_t>(want.size());
    ASSERT_EQ(out.at("count").data<int64_t>()[0], n);
    ASSERT_EQ(out.at("y").shape(), (Dims{n + 1, 2}));
    int32_t const* y = out.at("y").data<int32_t>();
    EXPECT_EQ(y[0], want.back().first);  // the wrapped row
    EXPECT_EQ(y[1], want.back().second);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[2 * (i + 1)], want[static_cast<size_t>(i)].first);
      ASSERT_EQ(y[2 * (i + 1) + 1], want[static_cast<size_t>(i)].second);
    }
  }
}

TEST(DataDependentChain, NonZeroThenCircPadOnTheCpu) {
  check_chain(Device::CPU);
}

TEST(DataDependentChain, NonZeroThenCircPadOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  check_chain(Device::CUDA);
}

}  // namespace
