// sample::circ_pad_plugin on the CPU: both tactics against a numpy pad(mode="wrap") reference
// for ranks 1 to 4 (and 8), asymmetric pads and pads of only the last dimensions, in FP32,
// FP16 and other element sizes; the engine with its autotuned tactics; and desc's errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <qdp/qdp.hpp>
#include <random>

#include "plugins/sample_plugins.hpp"
#include "samples/circ_pad_reference.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

constexpr char kId[] = "sample::circ_pad_plugin";
using Pads = std::vector<int32_t>;

class CircPad : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Registry::global().find(kId)) samples::define_circ_pad(/*multi_tactic=*/true);
  }
};

using circ_pad_test::iota;
using circ_pad_test::reference;

// The bound CPU impl, run with `tactic` on x; the output has the reference's shape.
Array run_impl(Array const& x, Pads const& pads, int32_t tactic, Dims out_shape) {
  BoundImpl impl = Registry::global().get(kId)->impl(Device::CPU)->bind({{"pads", pads}});
  Array y(x.dtype(), out_shape);
  std::memset(y.raw(), 0x5A, y.bytes());
  Tensor tx{const_cast<void*>(x.raw()),
            x.dtype(),
            TensorFormat::LINEAR,
            Device::CPU,
            x.shape(),
            dense_strides(x.shape(), TensorFormat::LINEAR)};
  Tensor ty{y.raw(),     y.dtype(), TensorFormat::LINEAR,
            Device::CPU, out_shape, dense_strides(out_shape, TensorFormat::LINEAR)};
  std::vector<Tensor> ins{tx}, outs{ty};
  impl(ins, outs, {}, Tactic{tactic});
  return y;
}

bool same_bytes(Array const& a, Array const& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

struct Case {
  std::vector<int64_t> dims;
  Pads pads;
};

std::vector<Case> cases() {
  return {
      {{1001}, {3, 5}},
      {{1}, {1, 1}},
      {{5, 7}, {0, 2, 3, 1}},           // rank 2, asymmetric
      {{5, 7}, {7, 7}},                 // pads as large as the dimension
      {{3, 4, 9}, {2, 1}},              // only the last dimension
      {{3, 4, 9}, {2, 1, 0, 3}},        // the last two of three
      {{3, 4, 9}, {1, 0, 4, 4, 3, 2}},  // all three
      {{2, 3, 5, 6}, {1, 1, 1, 1}},
      {{2, 3, 5, 6}, {0, 2, 3, 1}},
      {{2, 3, 5, 6}, {6, 6, 5, 5}},
      {{2, 3, 5, 6}, {1, 2}},
      {{2, 3, 5, 6}, {0, 0, 2, 1}},  // the last dimension unpadded
      {{2, 3, 5, 6}, {1, 0, 2, 0, 3, 0, 1, 1}},
      {{2, 3, 5, 6}, {}},                // nothing to pad: a copy
      {{2, 4, 130, 130}, {1, 1, 1, 1}},  // large enough for both threads
      {{2, 1, 2, 3, 1, 2, 3, 4}, {1, 2, 0, 0, 2, 1, 0, 1, 1, 1, 2, 0, 0, 0, 1, 1}},  // rank 8
  };
}

TEST_F(CircPad, BothTacticsMatchNumpyWrapInFp32AndFp16) {
  for (DataType dtype : {DataType::FP32, DataType::FP16})
    for (Case const& c : cases()) {
      Array x = iota(dtype, Dims(std::span<const int64_t>(c.dims)));
      Array want = reference(x, c.pads);
      for (int32_t tactic : {0, 1, 2}) {
        Array got = run_impl(x, c.pads, tactic, want.shape());
        EXPECT_TRUE(same_bytes(got, want))
            << name(dtype) << " " << to_string(x.shape()) << " pads "
            << ::testing::PrintToString(c.pads) << " tactic " << tactic;
      }
    }
}

TEST_F(CircPad, OtherElementSizesToo) {
  for (DataType dtype : {DataType::INT8, DataType::INT64})
    for (Case const& c : {Case{{3, 4, 9}, {2, 1, 0, 3}}, Case{{2, 3, 5, 6}, {0, 2, 3, 1}}}) {
      Array x = iota(dtype, Dims(std::span<const int64_t>(c.dims)));
      Array want = reference(x, c.pads);
      for (int32_t tactic : {1, 2})
        EXPECT_TRUE(same_bytes(run_impl(x, c.pads, tactic, want.shape()), want))
            << name(dtype) << " tactic " << tactic;
    }
}

TEST_F(CircPad, DescGrowsThePaddedDimensions) {
  TensorDesc x(DataType::FP16, {2, 3, 5, 6});
  auto out = Registry::global().get(kId)->desc(std::span<const TensorDesc>(&x, 1),
                                               {{"pads", Pads{0, 2, 3, 1}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype, DataType::FP16);
  std::vector<int64_t> dims;
  for (auto const& d : out[0].shape_expr) dims.push_back(d.constant());
  EXPECT_EQ(dims, (std::vector<int64_t>{2, 3, 9, 8}));
}

std::string desc_error(std::vector<int64_t> dims, Pads pads) {
  std::vector<ShapeExpr> shape(dims.begin(), dims.end());
  TensorDesc x(DataType::FP32, shape);
  return error_of([&] {
    Registry::global().get(kId)->desc(std::span<const TensorDesc>(&x, 1), {{"pads", pads}});
  });
}

TEST_F(CircPad, DescRejectsBadPads) {
  EXPECT_THAT(desc_error({4, 4}, {1, 1, 1}), HasSubstr("attribute 'pads'"));
  EXPECT_THAT(desc_error({4, 4}, {1, 1, 1}), HasSubstr("odd"));
  EXPECT_THAT(desc_error({4, 4}, {1, -1}), HasSubstr("attribute 'pads' value -1 (index 1)"));
  EXPECT_THAT(desc_error({4, 4}, {1, -1}), HasSubstr("negative"));
  EXPECT_THAT(desc_error({4, 3}, {1, 4}),
              HasSubstr("attribute 'pads' value 4 (index 1) is larger than dimension 1"));
  EXPECT_THAT(desc_error({2, 8}, {0, 0, 3, 0}), HasSubstr("larger than dimension 0"));
  EXPECT_THAT(desc_error({4, 4}, {1, 1, 1, 1, 1, 1}),
              HasSubstr("attribute 'pads' has 6 values, but the input has rank 2"));
}

Network pad_network(DataType dtype, std::vector<int64_t> dims, Pads pads) {
  Network net;
  auto x = net.add_input("x", dtype, dims);
  net.mark_output(
      net.add_plugin(kId, {x}, {{"pads", pads}}, {.name = "", .impl = ImplChoice::JIT})[0], "y");
  return net;
}

TEST_F(CircPad, BuildNamesThePluginAndTheAttribute) {
  std::string e = error_of([&] { build_engine(pad_network(DataType::FP32, {4, 4}, {5, 0}), {}); });
  EXPECT_THAT(e, HasSubstr(kId));
  EXPECT_THAT(e, HasSubstr("attribute 'pads' value 5"));
}

TEST_F(CircPad, EngineAutotunesBothTactics) {
  struct Capture : Logger {
    std::string text;
    void log(Severity, std::string_view m) override { text += std::string(m) + "\n"; }
  } log;
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    BuildConfig config;
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
TEST_F(CircPad, EngineWithFreeTypesIsExact) {
  Engine engine = build_engine(pad_network(DataType::FP32, {3, 20, 40}, {1, 1, 1, 1}), {});
  Array x = iota(DataType::FP32, {3, 20, 40});
  auto out = Runner(engine).infer({{"x", x}});
  EXPECT_TRUE(same_bytes(out.at("y"), reference(x, {1, 1, 1, 1})));
}

// A dynamic dimension is checked against its pads when the impl runs.
TEST_F(CircPad, DynamicExtentIsCheckedAtRunTime) {
  Network net = pad_network(DataType::FP32, {-1, 6}, {1, 1, 2, 2});
  net.set_profile("x", {1, 6}, {4, 6}, {8, 6});
  Engine engine = build_engine(net, {});
  Runner runner(engine);
  Array x = iota(DataType::FP32, {5, 6});
  auto out = runner.infer({{"x", x}});
  EXPECT_TRUE(same_bytes(out.at("y"), reference(x, {1, 1, 2, 2})));
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", iota(DataType::FP32, {1, 6})}});
              }),
              HasSubstr("attribute 'pads' value 2 (index 2) is larger than dimension 0"));
}

}  // namespace
