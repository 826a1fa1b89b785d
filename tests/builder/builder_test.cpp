// The builder on the CPU backend: shape inference, implementation choice, autotuning,
// reformats, memory planning, and the errors each can raise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "test_plugins.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using ::testing::Not;
using namespace qdp;
using test_plugins::CaptureLogger;

namespace {

using qdp_test::code_of;
using qdp_test::error_of;

Engine build(Network const& net, Logger* logger = nullptr, bool strict = false) {
  BuildConfig config;
  config.logger = logger;
  config.strict_types = strict;
  return build_engine(net, config);
}

TEST(Builder, AutotuneTimesEveryCandidateAndLogsTheWinner) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4, 8});
  net.mark_output(net.add_plugin("test::scale", {x}, {{"factor", 3.0}})[0], "y");
  CaptureLogger log;
  Engine engine = build(net, &log);
  std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("candidate types [FP32, FP32] formats [LINEAR, LINEAR] tactic 0"));
  EXPECT_THAT(text, HasSubstr("candidate types [FP16, FP16] formats [LINEAR, LINEAR] tactic 0"));
  EXPECT_THAT(text, HasSubstr("chose types"));
  EXPECT_THAT(text, HasSubstr("Finished engine building in"));
  // The engine computes x * 3 whichever candidate won.
  auto out = Runner(engine).infer({{"x", test_plugins::iota_array({4, 8})}});
  auto const& y = out.at("y");
  ASSERT_EQ(y.dtype(), DataType::FP32);
  for (int64_t i = 0; i < y.numel(); ++i)
    EXPECT_EQ(y.data<float>()[i], 3.0f * (1.0f + static_cast<float>(i % 97)));
}

TEST(Builder, StrictTypesKeepTheDeclaredTypes) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4, 8});
  net.mark_output(net.add_plugin("test::scale", {x})[0], "y");
  CaptureLogger log;
  Engine engine = build(net, &log, /*strict=*/true);
  EXPECT_THAT(log.text(), HasSubstr("strict types keep position 0 at FP32"));
  auto layers = engine.layers();
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].types, (std::vector<DataType>{DataType::FP32, DataType::FP32}));
}

TEST(Builder, InsertsReformatsAroundAPrecisionChangingPlugin) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3});
  net.mark_output(net.add_plugin("test::fp16_only", {x})[0], "y");
  Engine engine = build(net);
  auto layers = engine.layers();
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].kind, "reformat");
  EXPECT_EQ(layers[1].kind, "plugin");
  EXPECT_EQ(layers[1].types, (std::vector<DataType>{DataType::FP16, DataType::FP16}));
  EXPECT_EQ(layers[2].kind, "reformat");
  auto out = Runner(engine).infer({{"x", test_plugins::iota_array({2, 3})}});
  EXPECT_EQ(out.at("y").dtype(), DataType::FP32);
  EXPECT_EQ(out.at("y").data<float>()[5], 7.0f);
}

// A standard operator on two FP32 inputs, x (4x8) times w (8x3), and inputs for it.
Network matmul_net() {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4, 8});
  auto w = net.add_input("w", DataType::FP32, {8, 3});
  net.mark_output(net.add_plugin("onnx::MatMul", {x, w})[0], "y");
  return net;
}
std::map<std::string, Array> matmul_feed() {
  return {{"x", test_plugins::iota_array({4, 8})}, {"w", test_plugins::iota_array({8, 3})}};
}

// TensorRT's FP16 flag: without it a standard operator keeps the network's float types even
// where strict types are off (a user plugin's FP16 candidates are timed: the test above); with it
// its FP16 candidate is timed too, and the engine computes the same values within FP16 rounding.
TEST(Builder, StandardOperatorsTakeFp16OnlyWithTheFp16Flag) {
  Network net = matmul_net();
  std::map<std::string, Array> feed = matmul_feed();
  CaptureLogger plain_log;
  Engine plain = build(net, &plain_log);
  EXPECT_THAT(plain_log.text(),
              HasSubstr("a standard operator keeps position 0 at FP32 without the FP16 flag"));
  ASSERT_EQ(plain.layers().size(), 1u);
  EXPECT_EQ(plain.layers()[0].types,
            (std::vector<DataType>{DataType::FP32, DataType::FP32, DataType::FP32}));
  Array want = Runner(plain).infer(feed).at("y");

  BuildConfig config;
  config.fp16 = true;
  CaptureLogger fp16_log;
  config.logger = &fp16_log;
  Engine fp16 = build_engine(net, config);
  EXPECT_THAT(fp16_log.text(),
              HasSubstr("candidate types [FP16, FP16, FP16] formats [LINEAR, LINEAR, LINEAR]"));
  EXPECT_THAT(fp16_log.text(), Not(HasSubstr("without the FP16 flag")));
  Array got = Runner(fp16).infer(feed).at("y");
  ASSERT_EQ(got.dtype(), DataType::FP32);  // the network's output type, whatever ran inside
  for (int64_t i = 0; i < got.numel(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-3 * want.data<float>()[i]);

  config.strict_types = true;  // strict types win over the flag
  Engine strict = build_engine(net, config);
  EXPECT_EQ(strict.layers().back().types,
            (std::vector<DataType>{DataType::FP32, DataType::FP32, DataType::FP32}));
}

// TensorRT's BF16 flag, as the FP16 one: a standard operator's BF16 candidate is timed with it
// and only with it; with both flags both are timed and the faster kept.
TEST(Builder, StandardOperatorsTakeBf16OnlyWithTheBf16Flag) {
  Network net = matmul_net();
  std::map<std::string, Array> feed = matmul_feed();
  Array want = Runner(build(net, nullptr)).infer(feed).at("y");
  std::string const bf16_timed = "for types [BF16, BF16, BF16]";  // "Executing layer ..."
  std::string const fp16_timed = "for types [FP16, FP16, FP16]";

  BuildConfig config;
  config.fp16 = true;  // FP16 alone: the BF16 candidate is dropped
  CaptureLogger fp16_log;
  config.logger = &fp16_log;
  build_engine(net, config);
  EXPECT_THAT(fp16_log.text(),
              HasSubstr("a standard operator keeps position 0 at FP32 without the BF16 flag"));
  EXPECT_THAT(fp16_log.text(), Not(HasSubstr(bf16_timed)));

  config.fp16 = false;
  config.bf16 = true;
  CaptureLogger bf16_log;
  config.logger = &bf16_log;
  Engine bf16 = build_engine(net, config);
  EXPECT_THAT(bf16_log.text(), HasSubstr(bf16_timed));
  EXPECT_THAT(bf16_log.text(), Not(HasSubstr(fp16_timed)));
  EXPECT_THAT(bf16_log.text(), HasSubstr("without the FP16 flag"));
  Array got = Runner(bf16).infer(feed).at("y");
  ASSERT_EQ(got.dtype(), DataType::FP32);
  for (int64_t i = 0; i < got.numel(); ++i)  // BF16 keeps 8 bits of the mantissa
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-2 * want.data<float>()[i]);

  config.fp16 = true;  // both: both timed
  CaptureLogger both_log;
  config.logger = &both_log;
  build_engine(net, config);
  EXPECT_THAT(both_log.text(), HasSubstr(bf16_timed));
  EXPECT_THAT(both_log.text(), HasSubstr(fp16_timed));
}

TEST(Builder, StrictTypesWithAPluginThatCannotHonourThemFails) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3});
  net.mark_output(net.add_plugin("test::fp16_only", {x})[0], "y");
  std::string e = error_of([&] { build(net, nullptr, true); });
  EXPECT_THAT(
      e, HasSubstr("layer 'fp16_only_0' (plugin test::fp16_only): autotune left no candidate"));
}

TEST(Builder, DropsHwcOnTensorsThatAreNotRank4) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3});
  net.mark_output(net.add_plugin("test::copy_any_format", {x})[0], "y");
  CaptureLogger log;
  std::string e = error_of([&] { build(net, &log); });
  EXPECT_THAT(e, HasSubstr("autotune left no candidate"));
  EXPECT_THAT(log.text(), HasSubstr("HWC needs a rank-4 tensor, position 0 has rank 2"));
}

TEST(Builder, RunsAnHwcOnlyPluginBetweenLayoutReformats) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 4, 5});
  net.mark_output(net.add_plugin("test::copy_any_format", {x})[0], "y");
  Engine engine = build(net);
  auto layers = engine.layers();
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1].formats, (std::vector<TensorFormat>{TensorFormat::HWC, TensorFormat::HWC}));
  auto in = test_plugins::iota_array({2, 3, 4, 5});
  auto out = Runner(engine).infer({{"x", in}});
  for (int64_t i = 0; i < in.numel(); ++i)
    ASSERT_EQ(out.at("y").data<float>()[i], in.data<float>()[i]);
}

TEST(Builder, ImplStoresOnlyTheAttributesItUses) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test::scale", {x}, {{"factor", 2.0}, {"unused_by_impl", 3}})[0],
                  "y");
  Engine engine = build(net, nullptr, true);
  auto const& steps = engine.layers();
  ASSERT_EQ(steps.size(), 1u);
  // The plan's attributes are internal; the observable effect is the right result.
  auto out = Runner(engine).infer({{"x", test_plugins::iota_array({4})}});
  EXPECT_EQ(out.at("y").data<float>()[0], 2.0f);
}

TEST(Builder, DescErrorsNameTheLayerAndPlugin) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 4});
  net.mark_output(net.add_plugin("test::picky", {x})[0], "y");
  EXPECT_THAT(error_of([&] { build(net); }),
              HasSubstr("layer 'picky_0' (plugin test::picky): desc: picky wants a rank-2 "
                        "input, got rank 3"));
}

TEST(Builder, PluginWithoutAnImplForTheDeviceFails) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  net.mark_output(net.add_plugin("test::cuda_only", {x})[0], "y");
  EXPECT_THAT(error_of([&] { build(net); }),
              HasSubstr("plugin test::cuda_only): the plugin has no impl for the cpu backend"));
}

// The CPU backend has no AOT path: a plugin with both implementations takes its JIT impl there
// without being told, whatever the network prefers (the choice error is a GPU test).
TEST(Builder, BothImplementationsOnTheCpuTakeTheJitImpl) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  net.mark_output(net.add_plugin("test::both_impls", {x})[0], "y");
  EXPECT_EQ(build(net).layers()[0].implementation, "jit");
  BuildConfig config;
  config.preference = ImplPreference::PreferAOT;
  EXPECT_EQ(build_engine(net, config).layers()[0].implementation, "jit");
}

TEST(Builder, AotOnTheCpuIsAClearError) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  LayerOptions aot;
  aot.impl = ImplChoice::AOT;
  net.mark_output(net.add_plugin("test::both_impls", {x}, {}, aot)[0], "y");
  EXPECT_THAT(
      error_of([&] { build(net); }),
      AllOf(HasSubstr("layer 'both_impls_0' (plugin test::both_impls): the AOT implementation was "
                      "requested, but the cpu backend runs no AOT kernels"),
            HasSubstr("build for cuda, or ask for the JIT impl")));
  EXPECT_EQ(code_of([&] { build(net); }), ErrorCode::Unsupported);
}

TEST(Builder, DynamicInputWithoutProfileFails) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 3});
  net.mark_output(net.add_plugin("test::scale", {x})[0], "y");
  EXPECT_THAT(error_of([&] { build(net); }),
              HasSubstr("network input 'x' has dynamic dimensions: set its profile"));
}

TEST(Builder, ChainReusesActivationMemory) {
  Network net;
  auto t = net.add_input("x", DataType::FP32, {256});
  for (int i = 0; i < 4; ++i) t = net.add_plugin("test::scale", {t}, {{"factor", 2.0}})[0];
  net.mark_output(t, "y");
  Engine engine = build(net, nullptr, true);
  // Three intermediates of 1 KiB each, but at most two are alive at once.
  EXPECT_EQ(engine.activation_bytes(), 2u * 1024u);
  auto out = Runner(engine).infer({{"x", test_plugins::iota_array({256})}});
  EXPECT_EQ(out.at("y").data<float>()[0], 16.0f);
}

TEST(Builder, InPlaceChainNeedsNoActivationMemory) {
  Network net;
  auto t = net.add_input("x", DataType::FP32, {8, 8});
  for (float d : {1.0f, 2.0f, 4.0f})
    t = net.add_plugin("test::add_inplace", {t}, {{"delta", d}})[0];
  net.mark_output(t, "y");
  Engine engine = build(net);
  EXPECT_EQ(engine.activation_bytes(), 0u);
  // Bound in place: the whole network runs in the caller's buffer.
  auto in = test_plugins::iota_array({8, 8});
  std::vector<float> buffer(in.data<float>(), in.data<float>() + in.numel());
  auto ctx = engine.create_execution_context();
  ctx->set_tensor_address("x", buffer.data());
  ctx->set_tensor_address("y", buffer.data());
  ctx->enqueue();
  for (int64_t i = 0; i < in.numel(); ++i)
    ASSERT_EQ(buffer[static_cast<size_t>(i)], in.data<float>()[i] + 7.0f);
  // Bound to separate buffers: the input is left alone and the output is right.
  auto out = Runner(engine).infer({{"x", in}});
  for (int64_t i = 0; i < in.numel(); ++i)
    ASSERT_EQ(out.at("y").data<float>()[i], in.data<float>()[i] + 7.0f);
}

TEST(Builder, AliasedInputStillReadLaterIsCopiedFirst) {
  // x -> add_inplace(+1) -> a ; sum2(x?, ...) : here `t` feeds both the in-place plugin and sum2.
  Network net;
  auto x = net.add_input("x", DataType::FP32, {16});
  auto t = net.add_plugin("test::scale", {x}, {{"factor", 1.0}})[0];
  auto a = net.add_plugin("test::add_inplace", {t}, {{"delta", 10.0}})[0];
  auto s = net.add_plugin("test::sum2", {t, a})[0];  // reads t after the in-place step
  net.mark_output(s, "y");
  CaptureLogger log;
  Engine engine = build(net, &log, true);
  EXPECT_THAT(log.text(), HasSubstr("cannot share the memory of"));
  auto in = test_plugins::iota_array({16});
  auto out = Runner(engine).infer({{"x", in}});
  for (int64_t i = 0; i < in.numel(); ++i)
    ASSERT_EQ(out.at("y").data<float>()[i], 2 * in.data<float>()[i] + 10.0f);
}

}  // namespace

namespace {

// BuildConfig::max_tensor_bytes bounds what the build allocates and what the engine reserves.
TEST(Builder, MaxTensorBytesRefusesALargerTensorBeforeAllocatingIt) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 4});
  net.set_profile("x", Dims{1, 4}, Dims{2, 4}, Dims{1 << 20, 4});  // max: 16 MiB
  net.mark_output(net.add_plugin("test::scale", {x}, {{"factor", 2.0f}}, {.name = "s"})[0], "y");
  BuildConfig config;
  config.max_tensor_bytes = 1 << 20;
  // Timing at the opt shapes fits; the engine's tensors at the max shapes do not.
  EXPECT_EQ(code_of([&] { build_engine(net, config); }), ErrorCode::OutOfMemory);
  EXPECT_THAT(error_of([&] { build_engine(net, config); }),
              HasSubstr("needs 16777216 bytes at the profile's max shapes, more than "
                        "BuildConfig::max_tensor_bytes (1048576)"));
  // Timing itself: the opt shapes beyond the limit.
  net.set_profile("x", Dims{1, 4}, Dims{1 << 19, 4}, Dims{1 << 19, 4});
  EXPECT_THAT(error_of([&] { build_engine(net, config); }),
              HasSubstr("layer 's' (plugin test::scale): timing it needs a FP32 tensor of shape"));
  config.max_tensor_bytes = 0;  // no limit
  EXPECT_NO_THROW(build_engine(net, config));
}

// The planner counts an empty tensor's bytes as the loader does: 0, whatever its other extents
// (it once multiplied 2^63-1 x 5 first and refused the tensor as larger than any device).
TEST(Builder, AnEmptyTensorWithAHugeExtentNeedsNoMemory) {
  Network net;
  int64_t const huge = std::numeric_limits<int64_t>::max();
  auto x = net.add_input("x", DataType::FP32, {huge, 5, 0});
  net.mark_output(net.add_plugin("test::scale", {x}, {{"factor", 2.0f}})[0], "y");
  Engine engine = build(net);
  EXPECT_EQ(engine.io("y").max_bytes, 0u);
  EXPECT_EQ(engine.activation_bytes(), 0u);
  Engine loaded = Engine::deserialize(engine.serialize());
  EXPECT_EQ(loaded.io("y").max_bytes, 0u);
}

// Constant folding allocates its outputs on the host: the limit holds there too.
TEST(Builder, MaxTensorBytesBoundsConstantFolding) {
  Network net;
  auto value = net.add_constant<float>("v", {1}, std::vector<float>{3.0f});
  auto shape = net.add_constant<int64_t>("shape", {2}, std::vector<int64_t>{1024, 1024});
  auto big = net.add_plugin("onnx::Expand", {value, shape}, {}, {.name = "expand"})[0];
  auto x = net.add_input("x", DataType::FP32, {1024, 1024});
  net.mark_output(net.add_plugin("onnx::Add", {x, big})[0], "y");
  BuildConfig config;
  config.max_tensor_bytes = 1 << 20;
  EXPECT_THAT(error_of([&] { build_engine(net, config); }),
              HasSubstr("layer 'expand' (plugin onnx::Expand): folding it at build time needs a "
                        "FP32 tensor of shape"));
}

}  // namespace
