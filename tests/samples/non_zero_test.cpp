// The non_zero sample's plugin on the CPU backend (SPEC §3): the (N, 2) int32 coordinates of the
// non-zeros in row-major order and the int64 size tensor N, for random fills (fresh each run;
// the seed is in the failure message), N = 0 and N = all, FP32 and FP16, odd shapes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <qdp/qdp.hpp>
#include <random>
#include <utility>
#include <vector>

#include "plugins/sample_plugins.hpp"

using ::testing::HasSubstr;
using namespace qdp;

namespace {

constexpr char kPlugin[] = "sample::non_zero_plugin";

class NonZeroCpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Registry::global().find(kPlugin)) samples::define_non_zero();
  }
};

enum class Fill { Random, AllZero, NoZero };

// Values in ±[0.5, 2): exact in FP16 and far from zero, so that any type the autotuner picks
// keeps the zero pattern. Random: each entry zeroed with one random probability in [0, 1].
Array make_input(DataType dtype, int64_t rows, int64_t cols, Fill fill, std::mt19937& rng) {
  std::uniform_real_distribution<float> mag(0.5f, 2.0f), unit(0.0f, 1.0f);
  float zero_fraction = fill == Fill::AllZero ? 1.0f : fill == Fill::NoZero ? 0.0f : unit(rng);
  Array a(dtype, {rows, cols});
  for (int64_t i = 0; i < a.numel(); ++i) {
    float v = mag(rng) * (rng() % 2 ? 1.0f : -1.0f);
    if (unit(rng) < zero_fraction) v = (rng() % 2) ? 0.0f : -0.0f;
    if (dtype == DataType::FP32)
      a.data<float>()[i] = v;
    else
      a.data<half>()[i] = half(v);
  }
  return a;
}

float value(Array const& a, int64_t i) {
  return a.dtype() == DataType::FP32 ? a.data<float>()[i] : static_cast<float>(a.data<half>()[i]);
}

std::vector<std::pair<int32_t, int32_t>> reference(Array const& x) {
  std::vector<std::pair<int32_t, int32_t>> r;
  int64_t cols = x.shape()[1];
  for (int64_t i = 0; i < x.numel(); ++i)
    if (value(x, i) != 0.0f)
      r.emplace_back(static_cast<int32_t>(i / cols), static_cast<int32_t>(i % cols));
  return r;
}

Engine non_zero_engine(DataType dtype, int64_t rows, int64_t cols, bool strict = true) {
  Network net;
  auto x = net.add_input("X", dtype, {rows, cols});
  auto out = net.add_plugin(kPlugin, {x});
  net.mark_output(out[0], "indices");
  net.mark_output(out[1], "count");
  BuildConfig config;
  config.device = Device::CPU;
  config.strict_types = strict;
  return build_engine(net, config);
}

// Runs and compares with the host reference; returns N.
int64_t check(Runner& runner, Array const& x) {
  auto out = runner.infer({{"X", x}});
  auto expected = reference(x);
  int64_t n = static_cast<int64_t>(expected.size());
  Array const& count = out.at("count");
  Array const& indices = out.at("indices");
  EXPECT_EQ(count.dtype(), DataType::INT64);
  EXPECT_EQ(count.data<int64_t>()[0], n);
  EXPECT_EQ(indices.dtype(), DataType::INT32);
  EXPECT_EQ(indices.shape(), (Dims{n, 2}));
  if (indices.shape() != Dims{n, 2}) return n;
  int32_t const* p = indices.data<int32_t>();
  for (int64_t k = 0; k < n; ++k) {
    auto [r, c] = expected[static_cast<size_t>(k)];
    if (p[2 * k] != r || p[2 * k + 1] != c) {
      ADD_FAILURE() << "pair " << k << " is (" << p[2 * k] << ", " << p[2 * k + 1]
                    << "), expected (" << r << ", " << c << ")";
      break;
    }
  }
  return n;
}

TEST_F(NonZeroCpu, MatchesReferenceForEveryFillTypeAndShape) {
  unsigned seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
             {128, 128}, {1, 1}, {3, 1000}, {1000, 3}, {257, 513}}) {
      SCOPED_TRACE(::testing::Message() << name(dtype) << " " << rows << "x" << cols);
      Runner runner(non_zero_engine(dtype, rows, cols));
      EXPECT_EQ(check(runner, make_input(dtype, rows, cols, Fill::AllZero, rng)), 0);
      EXPECT_EQ(check(runner, make_input(dtype, rows, cols, Fill::NoZero, rng)), rows * cols);
      for (int i = 0; i < 3; ++i) check(runner, make_input(dtype, rows, cols, Fill::Random, rng));
    }
  }
}

// Without strict types the autotuner may pick the FP16 variant behind a reformat.
TEST_F(NonZeroCpu, AutotunedEngineIsCorrect) {
  std::mt19937 rng(std::random_device{}());
  Runner runner(non_zero_engine(DataType::FP32, 128, 128, /*strict=*/false));
  check(runner, make_input(DataType::FP32, 128, 128, Fill::Random, rng));
}

// -0 is zero; NaN, infinities and the smallest subnormal are not (as numpy.nonzero).
TEST_F(NonZeroCpu, SpecialValues) {
  float const nan = std::numeric_limits<float>::quiet_NaN();
  float const inf = std::numeric_limits<float>::infinity();
  float const tiny = std::numeric_limits<float>::denorm_min();
  Array x = Array::from<float>({2, 3}, {0.0f, -0.0f, nan, -inf, tiny, 0.0f});
  Runner runner(non_zero_engine(DataType::FP32, 2, 3));
  auto out = runner.infer({{"X", x}});
  ASSERT_EQ(out.at("count").data<int64_t>()[0], 3);
  std::vector<int32_t> got(out.at("indices").data<int32_t>(),
                           out.at("indices").data<int32_t>() + 6);
  EXPECT_EQ(got, (std::vector<int32_t>{0, 2, 1, 0, 1, 1}));
}

TEST_F(NonZeroCpu, RejectsInputsOfOtherRanks) {
  try {  // desc runs when the layer is added or when the network is built
    Network net;
    auto x = net.add_input("X", DataType::FP32, {2, 3, 4});
    auto out = net.add_plugin(kPlugin, {x});
    net.mark_output(out[0], "indices");
    net.mark_output(out[1], "count");
    build_engine(net, BuildConfig{});
    FAIL() << "a rank-3 input was accepted";
  } catch (Error const& e) {
    EXPECT_THAT(e.what(), HasSubstr("rank-2"));
    EXPECT_THAT(e.what(), HasSubstr("rank 3"));
  }
}

}  // namespace
