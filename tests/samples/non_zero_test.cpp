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
#include "samples/non_zero_support.hpp"

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

using non_zero_test::check;
using non_zero_test::Fill;
using non_zero_test::make_input;
Engine non_zero_engine(DataType dtype, int64_t rows, int64_t cols, bool strict = true) {
  return non_zero_test::non_zero_engine(Device::CPU, dtype, rows, cols, strict);
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
