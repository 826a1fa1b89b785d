// ONNX import of models written by ONNX's own Python package (tests/onnx/make_models.py, run by
// the CTest fixture onnx.make_models): TENSOR attributes from numpy arrays (raw_data) and from
// typed fields, symbolic dimensions, a two-output plugin. The models' directory comes in
// QDP_TEST_ONNX_DIR.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <qdp/onnx.hpp>
#include <qdp/qdp.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "onnx/onnx_test_plugin.hpp"
#include "test_plugins.hpp"

namespace {

std::string model_path(std::string const& name) {
  char const* dir = std::getenv("QDP_TEST_ONNX_DIR");
  if (!dir)
    throw std::runtime_error(
        "QDP_TEST_ONNX_DIR is not set: run this test through ctest (its fixture onnx.make_models "
        "writes the models), or run tests/onnx/make_models.py DIR and set QDP_TEST_ONNX_DIR=DIR");
  return std::string(dir) + "/" + name;
}

qdp::Engine build(qdp::Network const& net) {
  qdp::BuildConfig config;
  config.strict_types = true;
  return qdp::build_engine(net, config);
}

std::vector<float> floats(qdp::Array const& a) {
  return std::vector<float>(a.data<float>(), a.data<float>() + a.numel());
}

class OnnxPythonModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { affine_ = std::make_unique<test_onnx::AffinePlugin>(); }
  static void TearDownTestSuite() { affine_.reset(); }
  static inline std::unique_ptr<test_onnx::AffinePlugin> affine_;
};

TEST_F(OnnxPythonModels, NumpyTensorAttributesAndADynamicBatch) {
  qdp::Network net = qdp::import_onnx(model_path("affine_scale.onnx"));
  ASSERT_EQ(net.inputs().size(), 1u);
  EXPECT_EQ(net.inputs()[0].dims, (std::vector<int64_t>{-1, 4}));
  ASSERT_EQ(net.layers().size(), 2u);
  EXPECT_EQ(net.layers()[0].plugin_id, "test_onnx::affine");
  EXPECT_EQ(net.layers()[1].plugin_id, "test::scale");
  // numpy's int64 array became the declared int32[].
  EXPECT_EQ(std::get<std::vector<int32_t>>(net.layers()[0].attrs.at("offsets")),
            (std::vector<int32_t>{10, 20, 30, 40}));
  net.set_profile("x", {1, 4}, {2, 4}, {8, 4});
  qdp::Runner runner(build(net));
  for (int64_t batch : {1, 3}) {
    auto x = test_plugins::iota_array({batch, 4});
    auto out = runner.infer({{"x", x}});
    auto const& y = out.at("y");
    ASSERT_EQ(y.shape(), (qdp::Dims{batch, 4}));
    for (int64_t i = 0; i < y.numel(); ++i) {
      float w = static_cast<float>(i % 4 + 1), o = 10.0f * w;
      EXPECT_EQ(y.data<float>()[i], (x.data<float>()[i] * w + o) * 0.5f) << i;
    }
  }
}

TEST_F(OnnxPythonModels, TwoOutputs) {
  qdp::Network net = qdp::import_onnx(model_path("filter.onnx"));
  auto out =
      qdp::Runner(build(net)).infer({{"x", qdp::Array::from<float>({6}, {3, 1, 4, 1, 5, 9})}});
  EXPECT_EQ(floats(out.at("kept")), (std::vector<float>{3, 4, 5, 9}));
  EXPECT_EQ(*out.at("count").data<int64_t>(), 4);
}

TEST_F(OnnxPythonModels, Float16RawAndInt32TypedTensors) {
  qdp::Network net = qdp::import_onnx(model_path("typed_tensor.onnx"));
  auto const& attrs = net.layers()[0].attrs;
  EXPECT_EQ(std::get<std::vector<float>>(attrs.at("weights")), (std::vector<float>{0.5f, -2, 8}));
  EXPECT_EQ(std::get<std::vector<int32_t>>(attrs.at("offsets")), (std::vector<int32_t>{-1, 0, 1}));
  auto out = qdp::Runner(build(net)).infer({{"x", qdp::Array::from<float>({3}, {2, 3, 4})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{0, -6, 33}));
}

}  // namespace
