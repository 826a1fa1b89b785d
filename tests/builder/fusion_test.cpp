// The builder's fusions (src/builder/fusion.cpp) against the unfused graphs, on the CPU and, where
// there is a GPU, on CUDA.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <qdp/qdp.hpp>
#include <random>

#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

// Uniform FP32 values in [lo, hi).
Array uniform_fp32(Dims shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Array a(DataType::FP32, shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = dist(rng);
  return a;
}

void expect_same_as(Array const& got, Array const& want, float tol, std::string const& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    float g = got.data<float>()[i], w = want.data<float>()[i];
    ASSERT_NEAR(g, w, tol * (1 + std::fabs(w))) << what << " at " << i;
  }
}

// The fused and the unfused engine give the same "y" for input "x".
void expect_same_outputs(Engine const& fused, Engine const& plain, Array const& x, float tol,
                         std::string const& what) {
  Array got = Runner(fused).infer({{"x", x}}).at("y");
  Array want = Runner(plain).infer({{"x", x}}).at("y");
  expect_same_as(got, want, tol, what);
}

TensorRef constant(Network& net, std::string name, Array const& v) {
  std::vector<std::byte> bytes(v.bytes());
  std::memcpy(bytes.data(), v.raw(), v.bytes());
  return net.add_constant(std::move(name), v.dtype(),
                          std::vector<int64_t>(v.shape().begin(), v.shape().end()),
                          std::move(bytes));
}

// A BatchNormalization "bn" of y's `channels` channels with constant random parameters.
TensorRef batchnorm(Network& net, TensorRef y, int64_t channels, std::mt19937& rng) {
  std::vector<TensorRef> p = {y};
  p.push_back(constant(net, "scale", uniform_fp32({channels}, rng, 0.5f, 1.5f)));
  p.push_back(constant(net, "beta", uniform_fp32({channels}, rng)));
  p.push_back(constant(net, "mean", uniform_fp32({channels}, rng)));
  p.push_back(constant(net, "var", uniform_fp32({channels}, rng, 0.1f, 2.0f)));
  return net.add_plugin("onnx::BatchNormalization", p, {}, {.name = "bn"})[0];
}

// The builder fuses a Relu, Sigmoid, Tanh or Clip that alone reads a Conv's output (also after a
// folded BatchNormalization) into the Conv: one layer, named "conv + act" as TensorRT names it,
// the same result as the unfused graph. The unfused reference keeps the Conv's output as a
// network output too, which the fusion must leave alone.
struct ActivationCase {
  std::string op;
  std::vector<float> clip;  // Clip's min, max (constant scalar inputs)
};

Network conv_activation_net(ActivationCase const& a, bool with_bias, bool with_bn, bool fusable,
                            std::mt19937& rng) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 9, 7});
  TensorRef b = with_bias ? constant(net, "b", uniform_fp32({5}, rng))
                          : net.add_constant("absent", DataType::INT64, {0}, {});
  auto y = net.add_plugin(
      "onnx::Conv", {x, constant(net, "w", uniform_fp32({5, 3, 3, 3}, rng)), b},
      {{"pads", std::vector<int64_t>{1, 0, 1, 2}}, {"strides", std::vector<int64_t>{1, 2}}},
      {.name = "conv"})[0];
  if (with_bn) y = batchnorm(net, y, 5, rng);
  if (!fusable) net.mark_output(y, "conv_out");
  std::vector<TensorRef> act_in = {y};
  for (size_t k = 0; k < a.clip.size(); ++k)
    act_in.push_back(
        net.add_constant<float>(k == 0 ? "min" : "max", {}, std::span(a.clip).subspan(k, 1)));
  net.mark_output(net.add_plugin("onnx::" + a.op, act_in, {}, {.name = "act"})[0], "y");
  return net;
}

void expect_fused_matches_unfused(Device device) {
  std::vector<ActivationCase> cases = {
      {"Relu", {}}, {"Sigmoid", {}}, {"Tanh", {}}, {"Clip", {-0.25f, 0.5f}}};
  std::mt19937 data_rng(7);
  Array x = uniform_fp32({2, 3, 9, 7}, data_rng);
  BuildConfig config;
  config.device = device;
  for (auto const& a : cases)
    for (bool with_bias : {true, false})
      for (bool with_bn : {false, true}) {
        std::string what =
            fmt::format("{} bias {} bn {} on {}", a.op, with_bias, with_bn, name(device));
        std::mt19937 rng_fused(3), rng_plain(3);  // the same weights in both networks
        Engine fused =
            build_engine(conv_activation_net(a, with_bias, with_bn, true, rng_fused), config);
        Engine plain =
            build_engine(conv_activation_net(a, with_bias, with_bn, false, rng_plain), config);
        ASSERT_EQ(qdp_test::plugin_layers(fused).size(), 1u) << what;
        EXPECT_EQ(qdp_test::plugin_layers(fused)[0].name, "conv + act") << what;
        EXPECT_EQ(qdp_test::plugin_layers(plain).size(), 2u)
            << what;  // conv (a BatchNormalization folded), act
        expect_same_outputs(fused, plain, x, 1e-5f, what);
      }
}

TEST(NnFusion, ActivationAfterAConvIsFusedIntoItOnTheCpu) {
  expect_fused_matches_unfused(Device::CPU);
}

TEST(NnFusion, ActivationAfterAConvIsFusedIntoItOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_fused_matches_unfused(Device::CUDA);
}

// A Conv (its BatchNormalization folded) whose output only an Add with a tensor z of the same
// shape reads, and the Relu after the sum, become one qdp::ConvAdd "conv + add + act": a ResNet
// block's end. z is computed after the Conv (the fused layer runs where the Add was) and stands
// on either side of the Add. Unfused (the Conv's output also a network output), three or four
// layers. In FP16 on the GPU (qdpexec --fp16) the candidates include cuDNN's call that adds z.
// The fused layer writes its sum over z (in place); where z is also a network output, the runtime
// copies it first and z's own buffer keeps its values.
Network residual_net(bool z_first, bool with_bn, bool relu, bool fusable, std::mt19937& rng,
                     bool z_is_output = false) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 8, 9, 7});
  auto y = net.add_plugin("onnx::Conv",
                          {x, constant(net, "w", uniform_fp32({8, 8, 3, 3}, rng, -0.3f, 0.3f)),
                           constant(net, "b", uniform_fp32({8}, rng))},
                          {{"pads", std::vector<int64_t>{1, 1, 1, 1}}}, {.name = "conv"})[0];
  if (with_bn) y = batchnorm(net, y, 8, rng);
  if (!fusable) net.mark_output(y, "conv_out");
  auto z = net.add_plugin("onnx::Sigmoid", {x}, {}, {.name = "shortcut"})[0];
  if (z_is_output) net.mark_output(z, "z");
  y = net.add_plugin("onnx::Add", z_first ? std::vector{z, y} : std::vector{y, z}, {},
                     {.name = "add"})[0];
  if (relu) y = net.add_plugin("onnx::Relu", {y}, {}, {.name = "act"})[0];
  net.mark_output(y, "y");
  return net;
}

void expect_residual_fused(Device device, bool fp16) {
  std::mt19937 data_rng(13);
  Array x = uniform_fp32({2, 8, 9, 7}, data_rng);
  BuildConfig config;
  config.device = device;
  config.fp16 = fp16;
  for (bool z_first : {false, true})
    for (bool with_bn : {false, true})
      for (bool relu : {true, false}) {
        std::string what = fmt::format("z first {} bn {} relu {} on {}{}", z_first, with_bn, relu,
                                       name(device), fp16 ? " (fp16)" : "");
        std::mt19937 rng_fused(9), rng_plain(9);
        Engine fused = build_engine(residual_net(z_first, with_bn, relu, true, rng_fused), config);
        Engine plain = build_engine(residual_net(z_first, with_bn, relu, false, rng_plain), config);
        auto layers = qdp_test::plugin_layers(fused);
        ASSERT_EQ(layers.size(), 2u) << what;  // the shortcut, then the fused layer
        EXPECT_EQ(layers[1].plugin_id, "qdp::ConvAdd") << what;
        EXPECT_EQ(layers[1].name, relu ? "conv + add + act" : "conv + add") << what;
        EXPECT_EQ(qdp_test::plugin_layers(plain).size(), relu ? 4u : 3u) << what;
        expect_same_outputs(fused, plain, x, fp16 ? 2e-2f : 1e-5f, what);
      }
  std::mt19937 rng_fused(9), rng_plain(9);
  Engine fused = build_engine(residual_net(false, true, true, true, rng_fused, true), config);
  Engine plain = build_engine(residual_net(false, true, true, false, rng_plain, true), config);
  ASSERT_EQ(qdp_test::plugin_layers(fused).back().plugin_id, "qdp::ConvAdd");
  auto got = Runner(fused).infer({{"x", x}}), want = Runner(plain).infer({{"x", x}});
  std::string what = fmt::format("z also an output on {}{}", name(device), fp16 ? " (fp16)" : "");
  expect_same_as(got.at("y"), want.at("y"), fp16 ? 2e-2f : 1e-5f, what);
  expect_same_as(got.at("z"), want.at("z"), fp16 ? 2e-2f : 1e-5f, what + ": z");
}

TEST(NnFusion, ConvResidualAddAndReluBecomeOneConvAddOnTheCpu) {
  expect_residual_fused(Device::CPU, false);
}

TEST(NnFusion, ConvResidualAddAndReluBecomeOneConvAddOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_residual_fused(Device::CUDA, false);
  expect_residual_fused(Device::CUDA, true);
}

// An Add that broadcasts its other input over the Conv's output (here z of shape (1, 4, 1, 1))
// is not a residual connection: it stays an Add.
TEST(NnFusion, AConvAddThatBroadcastsStaysAnAdd) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {1, 2, 5, 5});
  auto z = net.add_input("z", DataType::FP32, {1, 4, 1, 1});
  std::vector<float> w(4 * 2 * 3 * 3, 0.25f);
  auto y =
      net.add_plugin("onnx::Conv", {x, net.add_constant<float>("w", {4, 2, 3, 3}, std::span(w)),
                                    net.add_constant("absent", DataType::INT64, {0}, {})})[0];
  net.mark_output(net.add_plugin("onnx::Add", {y, z})[0], "y");
  auto layers = qdp_test::plugin_layers(build_engine(net, {}));
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].plugin_id, "onnx::Conv");
  EXPECT_EQ(layers[1].plugin_id, "onnx::Add");
}

// qdp::ConvAdd written by hand with a Z that is not the convolution's shape or type: a clear error.
TEST(NnFusion, ConvAddRefusesAZOfAnotherShapeOrType) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {1, 2, 5, 5});
  auto w = net.add_input("w", DataType::FP32, {4, 2, 3, 3});
  auto b = net.add_input("b", DataType::FP32, {4});
  auto z = net.add_input("z", DataType::FP32, {1, 4, 5, 5});
  net.mark_output(net.add_plugin("qdp::ConvAdd", {x, w, b, z})[0], "y");
  EXPECT_THAT(error_of([&] { build_engine(net, {}); }),
              HasSubstr("qdp::ConvAdd: Z has shape 1x4x5x5 but the convolution's output has "
                        "shape 1x4x3x3; they must be equal"));
  Network other_type;
  auto xs = {other_type.add_input("x", DataType::FP32, {1, 2, 5, 5}),
             other_type.add_input("w", DataType::FP32, {4, 2, 3, 3}),
             other_type.add_input("b", DataType::FP32, {4}),
             other_type.add_input("z", DataType::FP16, {1, 4, 3, 3})};
  other_type.mark_output(other_type.add_plugin("qdp::ConvAdd", xs)[0], "y");
  EXPECT_THAT(error_of([&] { build_engine(other_type, {}); }),
              HasSubstr("qdp::ConvAdd: Z is FP16 but X is FP32"));
}

// The erf form of GELU, x * 0.5 * (1 + erf(x / sqrt 2)), in the orders exporters write, becomes
// one onnx::Gelu with the same result; the chain stays as it is when an intermediate is also a
// network output.
enum class GeluOrder { XThenHalf, HalfThenX, HalfOfXFirst };
Network gelu_net(GeluOrder order, bool divide, bool fusable) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 5, 33});
  auto scalar = [&](std::string name, float v) {
    return net.add_constant<float>(std::move(name), {}, std::span(&v, 1));
  };
  auto op = [&](std::string id, std::vector<TensorRef> in, std::string name) {
    return net.add_plugin("onnx::" + id, std::move(in), {}, {.name = std::move(name)})[0];
  };
  auto scaled = divide ? op("Div", {x, scalar("sqrt2", std::sqrt(2.0f))}, "div")
                       : op("Mul", {scalar("inv_sqrt2", std::sqrt(0.5f)), x}, "mul_scale");
  auto e = op("Erf", {scaled}, "erf");
  if (!fusable) net.mark_output(e, "erf_out");
  auto one_plus = op("Add", {scalar("one", 1.0f), e}, "add");
  TensorRef y;
  switch (order) {
    case GeluOrder::XThenHalf:
      y = op("Mul", {op("Mul", {x, one_plus}, "mul_x"), scalar("half", 0.5f)}, "mul_half");
      break;
    case GeluOrder::HalfThenX:
      y = op("Mul", {x, op("Mul", {one_plus, scalar("half", 0.5f)}, "mul_half")}, "mul_x");
      break;
    case GeluOrder::HalfOfXFirst:
      y = op("Mul", {op("Mul", {scalar("half", 0.5f), x}, "half_x"), one_plus}, "mul");
      break;
  }
  net.mark_output(y, "y");
  return net;
}

void expect_gelu_fused(Device device) {
  std::mt19937 rng(5);
  Array x = uniform_fp32({2, 5, 33}, rng, -5.0f, 5.0f);
  BuildConfig config;
  config.device = device;
  for (auto order : {GeluOrder::XThenHalf, GeluOrder::HalfThenX, GeluOrder::HalfOfXFirst})
    for (bool divide : {true, false}) {
      std::string what =
          fmt::format("order {} divide {} on {}", static_cast<int>(order), divide, name(device));
      Engine fused = build_engine(gelu_net(order, divide, true), config);
      Engine plain = build_engine(gelu_net(order, divide, false), config);
      ASSERT_EQ(qdp_test::plugin_layers(fused).size(), 1u) << what;
      EXPECT_THAT(qdp_test::plugin_layers(fused)[0].name, HasSubstr("erf + add")) << what;
      EXPECT_EQ(qdp_test::plugin_layers(fused)[0].plugin_id, "onnx::Gelu") << what;
      EXPECT_EQ(qdp_test::plugin_layers(plain).size(), 5u) << what;
      expect_same_outputs(fused, plain, x, 1e-6f, what);
    }
}

TEST(NnFusion, GeluChainBecomesOneGeluOnTheCpu) {
  expect_gelu_fused(Device::CPU);
}

TEST(NnFusion, GeluChainBecomesOneGeluOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_gelu_fused(Device::CUDA);
}

// A MatMul by a constant matrix, the Add of a constant vector (on either side) and an activation
// become one qdp::MatMulBias with the same result; with the product also a network output, the
// layers stay as they are.
Network linear_net(std::string const& act, bool bias_first, bool fusable, std::mt19937& rng) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 7, 24});
  auto p = net.add_plugin("onnx::MatMul", {x, constant(net, "w", uniform_fp32({24, 40}, rng))}, {},
                          {.name = "mm"})[0];
  if (!fusable) net.mark_output(p, "product");
  auto b = constant(net, "b", uniform_fp32({40}, rng));
  auto y = net.add_plugin("onnx::Add", bias_first ? std::vector{b, p} : std::vector{p, b}, {},
                          {.name = "add"})[0];
  if (!act.empty()) {
    std::vector<TensorRef> in = {y};
    if (act == "Clip")
      for (float v : {-0.3f, 0.4f})
        in.push_back(net.add_constant<float>("bound", {}, std::span(&v, 1)));
    y = net.add_plugin("onnx::" + act, in, {}, {.name = "act"})[0];
  }
  net.mark_output(y, "y");
  return net;
}

void expect_linear_fused(Device device) {
  std::mt19937 data_rng(11);
  Array x = uniform_fp32({2, 7, 24}, data_rng);
  BuildConfig config;
  config.device = device;
  for (std::string act : {"", "Relu", "Sigmoid", "Tanh", "Clip"})
    for (bool bias_first : {false, true}) {
      std::string what = fmt::format("'{}' bias first {} on {}", act, bias_first, name(device));
      std::mt19937 rng_fused(5), rng_plain(5);
      Engine fused = build_engine(linear_net(act, bias_first, true, rng_fused), config);
      Engine plain = build_engine(linear_net(act, bias_first, false, rng_plain), config);
      auto layers = qdp_test::plugin_layers(fused);
      ASSERT_EQ(layers.size(), 1u) << what;
      EXPECT_EQ(layers[0].plugin_id, "qdp::MatMulBias") << what;
      EXPECT_EQ(layers[0].name, act.empty() ? "mm + add" : "mm + add + act") << what;
      EXPECT_EQ(qdp_test::plugin_layers(plain).size(), act.empty() ? 2u : 3u) << what;
      expect_same_outputs(fused, plain, x, 1e-5f, what);
    }
}

TEST(NnFusion, MatMulAddAndActivationBecomeOneMatMulBiasOnTheCpu) {
  expect_linear_fused(Device::CPU);
}

TEST(NnFusion, MatMulAddAndActivationBecomeOneMatMulBiasOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_linear_fused(Device::CUDA);
}

// A transformer's residual connection: x + MatMulBias(x), normalized by a LayerNormalization
// that alone reads the sum, becomes qdp::MatMulBias then one qdp::AddLayerNorm "add + ln" (the
// residual on either side of the Add; with and without the norm's B). Unfused, the sum is also a
// network output. In FP16 on the GPU too.
Network residual_norm_net(bool x_first, bool with_bias, bool fusable, std::mt19937& rng) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 7, 32});
  auto p = net.add_plugin("onnx::MatMul", {x, constant(net, "w", uniform_fp32({32, 32}, rng))}, {},
                          {.name = "mm"})[0];
  p = net.add_plugin("onnx::Add", {p, constant(net, "b", uniform_fp32({32}, rng))}, {},
                     {.name = "bias"})[0];
  auto sum = net.add_plugin("onnx::Add", x_first ? std::vector{x, p} : std::vector{p, x}, {},
                            {.name = "add"})[0];
  if (!fusable) net.mark_output(sum, "sum");
  auto scale = constant(net, "scale", uniform_fp32({32}, rng, 0.5f, 1.5f));
  auto beta = with_bias ? constant(net, "beta", uniform_fp32({32}, rng))
                        : net.add_constant("absent", DataType::INT64, {0}, {});
  net.mark_output(net.add_plugin("onnx::LayerNormalization", {sum, scale, beta},
                                 {{"epsilon", 1e-5f}}, {.name = "ln"})[0],
                  "y");
  return net;
}

void expect_residual_norm_fused(Device device, bool fp16) {
  std::mt19937 data_rng(17);
  Array x = uniform_fp32({2, 7, 32}, data_rng);
  BuildConfig config;
  config.device = device;
  config.fp16 = fp16;
  for (bool x_first : {false, true})
    for (bool with_bias : {true, false}) {
      std::string what = fmt::format("x first {} bias {} on {}{}", x_first, with_bias, name(device),
                                     fp16 ? " (fp16)" : "");
      std::mt19937 rng_fused(3), rng_plain(3);
      Engine fused = build_engine(residual_norm_net(x_first, with_bias, true, rng_fused), config);
      Engine plain = build_engine(residual_norm_net(x_first, with_bias, false, rng_plain), config);
      auto layers = qdp_test::plugin_layers(fused);
      ASSERT_EQ(layers.size(), 2u) << what;
      EXPECT_EQ(layers[0].plugin_id, "qdp::MatMulBias") << what;
      EXPECT_EQ(layers[1].plugin_id, "qdp::AddLayerNorm") << what;
      EXPECT_EQ(layers[1].name, "add + ln") << what;
      EXPECT_EQ(qdp_test::plugin_layers(plain).size(), 3u) << what;
      expect_same_outputs(fused, plain, x, fp16 ? 2e-2f : 1e-5f, what);
    }
}

TEST(NnFusion, ResidualAddAndLayerNormBecomeOneAddLayerNormOnTheCpu) {
  expect_residual_norm_fused(Device::CPU, false);
}

TEST(NnFusion, ResidualAddAndLayerNormBecomeOneAddLayerNormOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_residual_norm_fused(Device::CUDA, false);
  expect_residual_norm_fused(Device::CUDA, true);
}

// Attention's scores: Mul by 0.125 (or Div by 8, or no scale), Add of a mask that broadcasts to
// them (on either side of the Add; or no mask), Softmax over the last axis, become one
// qdp::ScaleMaskSoftmax "mul + add + softmax". Unfused, the masked scores are also a network
// output.
enum class Scale { Mul, Div, None };
Network attention_scores_net(Scale scale, bool scores_first, std::optional<Dims> mask_shape,
                             bool fusable, std::mt19937& rng) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 16, 40});
  auto s = x;
  if (scale != Scale::None) {
    float c = scale == Scale::Mul ? 0.125f : 8.0f;
    s = net.add_plugin(scale == Scale::Mul ? "onnx::Mul" : "onnx::Div",
                       {x, net.add_constant<float>("c", {}, std::span(&c, 1))}, {},
                       {.name = scale == Scale::Mul ? "mul" : "div"})[0];
  }
  auto sum = s;
  if (mask_shape) {
    auto mask = constant(net, "mask", uniform_fp32(*mask_shape, rng, -10.0f, 0.0f));
    sum = net.add_plugin("onnx::Add", scores_first ? std::vector{s, mask} : std::vector{mask, s},
                         {}, {.name = "add"})[0];
  }
  if (!fusable) net.mark_output(sum, "sum");
  net.mark_output(
      net.add_plugin("onnx::Softmax", {sum}, {{"axis", int64_t{3}}}, {.name = "softmax"})[0], "y");
  return net;
}

void expect_attention_scores_fused(Device device, bool fp16) {
  std::mt19937 data_rng(19);
  Array x = uniform_fp32({2, 3, 16, 40}, data_rng, -40.0f, 40.0f);
  BuildConfig config;
  config.device = device;
  config.fp16 = fp16;
  for (Scale scale : {Scale::Mul, Scale::Div, Scale::None})
    for (bool scores_first : {true, false})
      for (std::optional<Dims> mask : {std::optional<Dims>{Dims{2, 1, 1, 40}},
                                       {Dims{40}},
                                       {Dims{2, 3, 16, 40}},
                                       std::optional<Dims>{}}) {
        if (!mask && (scale == Scale::None || !scores_first)) continue;  // a Softmax alone
        std::string what = fmt::format(
            "scale {} scores first {} mask {} on {}{}", static_cast<int>(scale), scores_first,
            mask ? to_string(*mask) : "none", name(device), fp16 ? " (fp16)" : "");
        std::mt19937 rng_fused(4), rng_plain(4);
        Engine fused =
            build_engine(attention_scores_net(scale, scores_first, mask, true, rng_fused), config);
        Engine plain =
            build_engine(attention_scores_net(scale, scores_first, mask, false, rng_plain), config);
        auto layers = qdp_test::plugin_layers(fused);
        ASSERT_EQ(layers.size(), 1u) << what;
        EXPECT_EQ(layers[0].plugin_id, "qdp::ScaleMaskSoftmax") << what;
        std::string scaled = scale == Scale::Mul ? "mul + " : scale == Scale::Div ? "div + " : "";
        EXPECT_EQ(layers[0].name, scaled + (mask ? "add + softmax" : "softmax")) << what;
        EXPECT_EQ(qdp_test::plugin_layers(plain).size(),
                  (scale == Scale::None ? 1u : 2u) + (mask ? 1u : 0u))
            << what;
        expect_same_outputs(fused, plain, x, fp16 ? 2e-2f : 1e-5f, what);
      }
}

TEST(NnFusion, AttentionScaleMaskAndSoftmaxBecomeOneScaleMaskSoftmaxOnTheCpu) {
  expect_attention_scores_fused(Device::CPU, false);
}

TEST(NnFusion, AttentionScaleMaskAndSoftmaxBecomeOneScaleMaskSoftmaxOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_attention_scores_fused(Device::CUDA, false);
  expect_attention_scores_fused(Device::CUDA, true);
}

// A Softmax over another axis than the last keeps its Mul and Add.
TEST(NnFusion, ASoftmaxOverAnotherAxisKeepsItsScaleAndMask) {
  std::mt19937 rng(20);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {3, 16});
  float c = 0.5f;
  auto s = net.add_plugin("onnx::Mul", {x, net.add_constant<float>("c", {}, std::span(&c, 1))})[0];
  auto sum = net.add_plugin("onnx::Add", {s, constant(net, "m", uniform_fp32({16}, rng))})[0];
  net.mark_output(net.add_plugin("onnx::Softmax", {sum}, {{"axis", int64_t{0}}})[0], "y");
  auto layers = qdp_test::plugin_layers(build_engine(net, {}));
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[2].plugin_id, "onnx::Softmax");
}

// An Add that broadcasts (a vector over the rows) before a LayerNormalization stays an Add.
TEST(NnFusion, ABroadcastingAddBeforeALayerNormStaysAnAdd) {
  std::mt19937 rng(18);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {3, 16});
  auto sum = net.add_plugin("onnx::Add", {x, constant(net, "c", uniform_fp32({16}, rng))})[0];
  net.mark_output(net.add_plugin("onnx::LayerNormalization",
                                 {sum, constant(net, "scale", uniform_fp32({16}, rng)),
                                  net.add_constant("absent", DataType::INT64, {0}, {})})[0],
                  "y");
  auto layers = qdp_test::plugin_layers(build_engine(net, {}));
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].plugin_id, "onnx::Add");
  EXPECT_EQ(layers[1].plugin_id, "onnx::LayerNormalization");
}

// A bias that is not a vector of B's columns (here a full (M, N) addend) is left to the Add.
TEST(NnFusion, AnAddThatIsNotABiasStaysAnAdd) {
  std::mt19937 rng(12);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {3, 4});
  std::vector<float> w(4 * 5, 0.5f), c(3 * 5, 1.0f);
  auto p =
      net.add_plugin("onnx::MatMul", {x, net.add_constant<float>("w", {4, 5}, std::span(w))})[0];
  net.mark_output(
      net.add_plugin("onnx::Add", {p, net.add_constant<float>("c", {3, 5}, std::span(c))})[0], "y");
  EXPECT_EQ(qdp_test::plugin_layers(build_engine(net, {})).size(), 2u);
}

// A near miss (Add 2 instead of 1) is left alone.
TEST(NnFusion, AChainThatIsNotGeluIsLeftAlone) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  float two = 2.0f, half = 0.5f, root = std::sqrt(2.0f);
  auto e = net.add_plugin(
      "onnx::Erf", {net.add_plugin("onnx::Div", {x, net.add_constant<float>(
                                                        "r", {}, std::span(&root, 1))})[0]})[0];
  auto a =
      net.add_plugin("onnx::Add", {e, net.add_constant<float>("two", {}, std::span(&two, 1))})[0];
  auto m = net.add_plugin("onnx::Mul", {x, a})[0];
  net.mark_output(
      net.add_plugin("onnx::Mul", {m, net.add_constant<float>("h", {}, std::span(&half, 1))})[0],
      "y");
  EXPECT_EQ(qdp_test::plugin_layers(build_engine(net, {})).size(), 5u);
}

TEST(NnFusion, ConvRefusesAnUnknownActivation) {
  auto build = [](Attrs attrs) {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {1, 2, 4, 4});
    auto w = net.add_input("w", DataType::FP32, {3, 2, 3, 3});
    auto b = net.add_input("b", DataType::FP32, {3});
    net.mark_output(net.add_plugin("onnx::Conv", {x, w, b}, std::move(attrs))[0], "y");
    return build_engine(net, {});
  };
  EXPECT_THAT(error_of([&] {
                build({{"activation", std::string("Swish")}});
              }),
              HasSubstr("attribute activation is 'Swish'; supported: Relu, Clip, Sigmoid, Tanh"));
  EXPECT_THAT(error_of([&] {
                build({{"activation", std::string("Clip")}});
              }),
              HasSubstr("activation 'Clip' takes 2 activation_params, the layer has 0"));
  EXPECT_THAT(error_of([&] {
                build({{"activation", std::string("Clip")},
                       {"activation_params", std::vector<float>{1.0f, -1.0f}}});
              }),
              HasSubstr("Clip's bounds [1, -1] are not ordered"));
}

}  // namespace
