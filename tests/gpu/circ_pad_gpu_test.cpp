// sample::circ_pad_plugin on the CUDA backend: both CUDA tactics (the per-element kernel and the
// row-vector kernel) against a numpy pad(mode="wrap") reference, FP32 and FP16 and the other
// element sizes, odd sizes, narrow rows, unaligned buffers (the fallback path), and the engine
// with its autotuned tactics. Skipped, visibly, without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <qdp/qdp.hpp>

#include "plugins/sample_plugins.hpp"
#include "samples/circ_pad_reference.hpp"

using ::testing::HasSubstr;
using namespace qdp;

namespace {

constexpr char kId[] = "sample::circ_pad_plugin";
using Pads = std::vector<int32_t>;

class GpuCircPad : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Registry::global().find(kId)) samples::define_circ_pad(/*multi_tactic=*/true);
  }
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
};

using circ_pad_test::iota;
using circ_pad_test::reference;

constexpr unsigned char kGuard = 0x5A;

// The bound CUDA impl, run with `tactic`; `offset` elements into both device buffers (a
// non-zero offset makes them unaligned). The bytes around the output must stay untouched.
Array run_impl(Array const& x, Pads const& pads, int32_t tactic, Dims out_shape,
               size_t offset = 0) {
  BoundImpl impl = Registry::global().get(kId)->impl(Device::CUDA)->bind({{"pads", pads}});
  size_t size = element_size(x.dtype()), skip = offset * size;
  Array y(x.dtype(), out_shape);
  DeviceBuffer in(Device::CUDA, x.bytes() + skip + 1), out(Device::CUDA, y.bytes() + skip + 64);
  in.copy_from_host(x.raw(), x.bytes(), skip);
  std::vector<unsigned char> guard(out.size(), kGuard);
  out.copy_from_host(guard.data(), guard.size());
  Tensor tx{static_cast<std::byte*>(in.data()) + skip,
            x.dtype(),
            TensorFormat::LINEAR,
            Device::CUDA,
            x.shape(),
            dense_strides(x.shape(), TensorFormat::LINEAR)};
  Tensor ty{static_cast<std::byte*>(out.data()) + skip,
            x.dtype(),
            TensorFormat::LINEAR,
            Device::CUDA,
            out_shape,
            dense_strides(out_shape, TensorFormat::LINEAR)};
  std::vector<Tensor> ins{tx}, outs{ty};
  impl(ins, outs, {}, Tactic{tactic});
  out.copy_to_host(guard.data(), guard.size());  // synchronous: waits for the kernels
  std::memcpy(y.raw(), guard.data() + skip, y.bytes());
  for (size_t i = 0; i < guard.size(); ++i) {
    if (i < skip || i >= skip + y.bytes()) {
      EXPECT_EQ(guard[i], kGuard) << "byte " << i << " outside the output was written";
    }
  }
  return y;
}

bool same_bytes(Array const& a, Array const& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

// The first element that differs, for a readable failure.
std::string first_difference(Array const& got, Array const& want) {
  size_t size = element_size(got.dtype());
  auto const* g = static_cast<std::byte const*>(got.raw());
  auto const* w = static_cast<std::byte const*>(want.raw());
  for (int64_t i = 0; i < want.numel(); ++i)
    if (std::memcmp(g + static_cast<size_t>(i) * size, w + static_cast<size_t>(i) * size, size))
      return "first wrong element " + std::to_string(i) + " of " + std::to_string(want.numel());
  return "equal";
}

struct Case {
  std::vector<int64_t> dims;
  Pads pads;
};

std::vector<Case> cases() {
  return {
      {{1001}, {3, 5}},
      {{1}, {1, 1}},
      {{5, 7}, {0, 2, 3, 1}},
      {{5, 7}, {7, 7}},
      {{3, 5, 7}, {1, 1}},
      {{3, 4, 9}, {1, 0, 4, 4, 3, 2}},
      {{2, 3, 5, 6}, {1, 1, 1, 1}},
      {{2, 3, 5, 6}, {0, 2, 3, 1}},
      {{2, 3, 5, 6}, {6, 6, 5, 5}},
      {{2, 3, 5, 6}, {0, 0, 2, 1}},  // the last dimension unpadded
      {{2, 3, 5, 6}, {}},            // nothing to pad: a copy
      {{1, 1, 3}, {1, 1}},           // rows narrower than a 16-byte vector
      {{1000, 2}, {1, 0}},
      {{2, 3, 31, 33}, {0, 2, 3, 1}},
      {{2, 3, 255, 257}, {3, 1, 2, 2}},
      {{4, 16, 64, 256}, {1, 1, 1, 1}},  // the benchmark's shape, smaller: many blocks
      // Rows of >= 16 vectors: FP16 takes the row-task kernel (odd widths and pads, rows of
      // several 32-vector tasks, ragged row ends of every alignment).
      {{2, 5, 255}, {1, 1, 1, 1}},
      {{3, 7, 257}, {3, 0, 2, 1}},
      {{2, 3, 127}, {0, 1, 1, 0}},
      {{2, 2, 600}, {7, 5, 1, 1}},
      {{2, 1031}, {513, 1000}},
      {{2, 1, 2, 3, 1, 2, 3, 4}, {1, 2, 0, 0, 2, 1, 0, 1, 1, 1, 2, 0, 0, 0, 1, 1}},  // rank 8
  };
}

TEST_F(GpuCircPad, BothTacticsMatchNumpyWrapInFp32AndFp16) {
  for (DataType dtype : {DataType::FP32, DataType::FP16})
    for (Case const& c : cases()) {
      Array x = iota(dtype, Dims(std::span<const int64_t>(c.dims)));
      Array want = reference(x, c.pads);
      for (int32_t tactic : {0, 1, 2}) {
        Array got = run_impl(x, c.pads, tactic, want.shape());
        EXPECT_TRUE(same_bytes(got, want)) << name(dtype) << " " << to_string(x.shape()) << " pads "
                                           << ::testing::PrintToString(c.pads) << " tactic "
                                           << tactic << ": " << first_difference(got, want);
      }
    }
}

TEST_F(GpuCircPad, OtherElementSizesToo) {
  for (DataType dtype : {DataType::INT8, DataType::INT64})
    for (Case const& c : {Case{{3, 4, 40}, {2, 1, 0, 3}}, Case{{2, 3, 31, 33}, {0, 2, 3, 1}},
                          Case{{2, 3, 5, 6}, {1, 1, 1, 1}}, Case{{2, 3, 257}, {1, 1, 1, 1}},
                          Case{{2, 700}, {3, 6, 1, 0}}}) {  // the last two: INT8 row tasks
      Array x = iota(dtype, Dims(std::span<const int64_t>(c.dims)));
      Array want = reference(x, c.pads);
      for (int32_t tactic : {1, 2}) {
        Array got = run_impl(x, c.pads, tactic, want.shape());
        EXPECT_TRUE(same_bytes(got, want))
            << name(dtype) << " " << to_string(x.shape()) << " tactic " << tactic << ": "
            << first_difference(got, want);
      }
    }
}

TEST_F(GpuCircPad, UnalignedBuffersTakeTheFallback) {
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    Array x = iota(dtype, {2, 3, 31, 33});
    Array want = reference(x, {1, 1, 1, 1});
    Array got = run_impl(x, {1, 1, 1, 1}, 2, want.shape(), /*offset=*/1);
    EXPECT_TRUE(same_bytes(got, want)) << name(dtype) << ": " << first_difference(got, want);
  }
}

TEST_F(GpuCircPad, UnknownTacticIsAnError) {
  Array x = iota(DataType::FP32, {4, 4});
  try {
    run_impl(x, {1, 1}, 3, {4, 6});
    ADD_FAILURE() << "tactic 3 ran";
  } catch (Error const& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown tactic 3"));
  }
}

Network pad_network(DataType dtype, std::vector<int64_t> dims, Pads pads) {
  Network net;
  auto x = net.add_input("x", dtype, dims);
  net.mark_output(
      net.add_plugin(kId, {x}, {{"pads", pads}}, {.name = "", .impl = ImplChoice::JIT})[0], "y");
  return net;
}

TEST_F(GpuCircPad, EngineAutotunesBothTactics) {
  struct Capture : Logger {
    std::string text;
    void log(Severity, std::string_view m) override { text += std::string(m) + "\n"; }
  } log;
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    BuildConfig config;
    config.device = Device::CUDA;
    config.strict_types = true;
    config.logger = &log;
    Engine engine = build_engine(pad_network(dtype, {2, 3, 17, 33}, {0, 2, 3, 1}), config);
    Array x = iota(dtype, {2, 3, 17, 33});
    auto out = Runner(engine).infer({{"x", x}});
    EXPECT_TRUE(same_bytes(out.at("y"), reference(x, {0, 2, 3, 1}))) << name(dtype);
  }
  EXPECT_THAT(log.text, HasSubstr("tactic 1"));
  EXPECT_THAT(log.text, HasSubstr("tactic 2"));
  EXPECT_THAT(log.text, HasSubstr("chose"));
}

// Without strict types an FP32 network may run the FP16 variant; the values here are exact in
// FP16, so the result must still be exact.
TEST_F(GpuCircPad, EngineWithFreeTypesIsExact) {
  BuildConfig config;
  config.device = Device::CUDA;
  Engine engine = build_engine(pad_network(DataType::FP32, {10, 3, 32, 32}, {1, 1, 1, 1}), config);
  Array x = iota(DataType::FP32, {10, 3, 32, 32});
  auto out = Runner(engine).infer({{"x", x}});
  EXPECT_TRUE(same_bytes(out.at("y"), reference(x, {1, 1, 1, 1})));
}

}  // namespace
