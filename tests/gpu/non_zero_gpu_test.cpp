// The non_zero sample's plugin on the CUDA backend (SPEC §3): the (N, 2) int32 coordinates of the
// non-zeros in row-major order and the int64 size tensor N (written on the device), for random
// fills (fresh each run; the seed is in the failure message), N = 0 and N = all, FP32 and FP16,
// odd shapes, shapes of many tiles (the kernel's look-back), and unaligned buffers (its scalar
// path). Skipped, visibly, without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <qdp/qdp.hpp>
#include <random>
#include <utility>
#include <vector>

#include "plugins/sample_plugins.hpp"
#include "samples/non_zero_support.hpp"

using namespace qdp;

namespace {

constexpr char kPlugin[] = "sample::non_zero_plugin";

class GpuNonZero : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Registry::global().find(kPlugin)) samples::define_non_zero();
  }
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
};

using non_zero_test::check;
using non_zero_test::expect_pairs;
using non_zero_test::Fill;
using non_zero_test::make_input;
using non_zero_test::reference;
Engine non_zero_engine(DataType dtype, int64_t rows, int64_t cols, bool strict = true) {
  return non_zero_test::non_zero_engine(Device::CUDA, dtype, rows, cols, strict);
}

TEST_F(GpuNonZero, MatchesReferenceForEveryFillTypeAndShape) {
  unsigned seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    // 128x129, 1x32768, 1x32769 and 16385x1 straddle the one-block (serial) limit of 2 tiles
    // (8192 FP32 or 16384 FP16 elements a tile).
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{128, 128},
                                                                      {1, 1},
                                                                      {3, 1000},
                                                                      {1000, 3},
                                                                      {257, 513},
                                                                      {128, 129},
                                                                      {1, 32768},
                                                                      {1, 32769},
                                                                      {16385, 1}}) {
      SCOPED_TRACE(::testing::Message() << name(dtype) << " " << rows << "x" << cols);
      Runner runner(non_zero_engine(dtype, rows, cols));
      EXPECT_EQ(check(runner, make_input(dtype, rows, cols, Fill::AllZero, rng)), 0);
      EXPECT_EQ(check(runner, make_input(dtype, rows, cols, Fill::NoZero, rng)), rows * cols);
      for (int i = 0; i < 3; ++i) check(runner, make_input(dtype, rows, cols, Fill::Random, rng));
    }
  }
}

// Thousands of tiles, so that tiles look back over many predecessors; zero fractions that make
// some tiles empty and others full.
TEST_F(GpuNonZero, ManyTiles) {
  unsigned seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    SCOPED_TRACE(name(dtype));
    Runner runner(non_zero_engine(dtype, 3001, 4099));
    for (float fraction : {0.5f, 0.999f, 0.001f})
      check(runner, make_input(dtype, 3001, 4099, Fill::Random, rng, fraction));
    EXPECT_EQ(check(runner, make_input(dtype, 3001, 4099, Fill::NoZero, rng)), 3001 * 4099);
  }
}

// Without strict types the autotuner may pick the FP16 variant behind a reformat.
TEST_F(GpuNonZero, AutotunedEngineIsCorrect) {
  std::mt19937 rng(std::random_device{}());
  Runner runner(non_zero_engine(DataType::FP32, 128, 128, /*strict=*/false));
  check(runner, make_input(DataType::FP32, 128, 128, Fill::Random, rng));
}

// -0 is zero; NaN, infinities and the smallest subnormal are not (as torch.nonzero).
TEST_F(GpuNonZero, SpecialValues) {
  float const nan = std::numeric_limits<float>::quiet_NaN();
  float const inf = std::numeric_limits<float>::infinity();
  float const tiny = std::numeric_limits<float>::denorm_min();
  Array x = Array::from<float>({2, 3}, {0.0f, -0.0f, nan, -inf, tiny, 0.0f});
  Runner runner(non_zero_engine(DataType::FP32, 2, 3));
  auto out = runner.infer({{"X", x}});
  ASSERT_EQ(out.at("count").data<int64_t>()[0], 3);
  expect_pairs(out.at("indices").data<int32_t>(), {0, 2, 1, 0, 1, 1});
}

// The impl called directly with X and the output off their 16- and 8-byte alignment: the scalar
// load and store path.
TEST_F(GpuNonZero, UnalignedBuffersTakeTheScalarPath) {
  std::mt19937 rng(std::random_device{}());
  BoundImpl impl = Registry::global().get(kPlugin)->impl(Device::CUDA)->bind({});
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    SCOPED_TRACE(name(dtype));
    int64_t rows = 300, cols = 301;
    Array x = make_input(dtype, rows, cols, Fill::Random, rng, 0.5f);
    auto expected = reference(x);
    size_t esize = element_size(dtype);
    DeviceBuffer in(Device::CUDA, x.bytes() + esize),
        out(Device::CUDA, static_cast<size_t>(rows * cols) * 8 + 4), count(Device::CUDA, 8);
    in.copy_from_host(x.raw(), x.bytes(), esize);
    Tensor tx{static_cast<std::byte*>(in.data()) + esize,
              dtype,
              TensorFormat::LINEAR,
              Device::CUDA,
              {rows, cols},
              {cols, 1}};
    Tensor ti{static_cast<std::byte*>(out.data()) + 4,
              DataType::INT32,
              TensorFormat::LINEAR,
              Device::CUDA,
              {rows * cols, 2},
              {2, 1}};
    Tensor tn{count.data(), DataType::INT64, TensorFormat::LINEAR, Device::CUDA, {}, {}};
    std::vector<Tensor> ins{tx}, outs{ti, tn};
    // The scratch the plugin declares (its look-back states), as an engine would provide it.
    std::vector<TensorDesc> in_descs{TensorDesc(dtype, {rows, cols})};
    auto def = Registry::global().get(kPlugin);
    int64_t ws_bytes = def->workspace(in_descs, {}, def->desc(in_descs, {}), {}).eval({});
    DeviceBuffer ws(Device::CUDA, static_cast<size_t>(ws_bytes));
    impl(ins, outs, {}, {}, Workspace{ws.data(), ws.size()});
    int64_t n = -1;
    count.copy_to_host(&n, sizeof n);  // synchronous: waits for the kernel
    ASSERT_EQ(n, static_cast<int64_t>(expected.size() / 2));
    std::vector<int32_t> got(static_cast<size_t>(2 * n));
    out.copy_to_host(got.data(), got.size() * sizeof(int32_t), 4);
    expect_pairs(got.data(), expected);
  }
}

}  // namespace
