// The engine on the CUDA backend: the add sample's plugin in FP32, FP16 and BF16, autotuned
// with events, CUDA graph capture and replay. Skipped, visibly, without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <qdp/qdp.hpp>
#include <random>

#include "plugins/sample_plugins.hpp"

using ::testing::HasSubstr;
using namespace qdp;

namespace {

class GpuEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Registry::global().find("sample::elemwise_add_plugin"))
      samples::define_elemwise_add(true, true);
  }
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
};

Engine add_engine(DataType dtype, std::vector<int64_t> dims, bool strict,
                  Logger* logger = nullptr) {
  Network net;
  auto x = net.add_input("x", dtype, dims);
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x})[0], "y");
  BuildConfig config;
  config.device = Device::CUDA;
  config.strict_types = strict;
  config.logger = logger;
  config.preference = ImplPreference::PreferJIT;  // the plugin has an aot_impl too
  return build_engine(net, config);
}

Array random_ints(DataType dtype, Dims shape, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-50, 50);
  Array a(dtype, shape);
  for (int64_t i = 0; i < a.numel(); ++i) {
    float v = static_cast<float>(dist(rng));
    if (dtype == DataType::FP32)
      a.data<float>()[i] = v;
    else if (dtype == DataType::FP16)
      a.data<half>()[i] = half(v);
    else
      a.data<bfloat16>()[i] = bfloat16(v);
  }
  return a;
}

float at(Array const& a, int64_t i) {
  switch (a.dtype()) {
    case DataType::FP32:
      return a.data<float>()[i];
    case DataType::FP16:
      return a.data<half>()[i];
    default:
      return a.data<bfloat16>()[i];
  }
}

TEST_F(GpuEngine, AddIsExactForEveryTypeAndOddSizes) {
  std::mt19937 rng(7);
  for (DataType dtype : {DataType::FP32, DataType::FP16}) {
    // 1 and 1001 elements exercise the scalar tail; 10x3x32x32 the vector path.
    for (std::vector<int64_t> dims :
         {std::vector<int64_t>{1}, {1001}, {10, 3, 32, 32}, {3, 1 << 20}}) {
      Engine engine = add_engine(dtype, dims, true);
      Array x = random_ints(dtype, Dims(std::span<const int64_t>(dims)), rng);
      auto out = Runner(engine).infer({{"x", x}});
      Array const& y = out.at("y");
      ASSERT_EQ(y.dtype(), dtype);
      for (int64_t i = 0; i < x.numel(); ++i)
        ASSERT_EQ(at(y, i), at(x, i) + 1.0f) << name(dtype) << " element " << i;
    }
  }
}

// BF16 is not among the add sample's autotune combinations: call its CUDA impl directly.
TEST_F(GpuEngine, Bf16ImplIsExact) {
  std::mt19937 rng(11);
  BoundImpl impl = Registry::global()
                       .get("sample::elemwise_add_plugin")
                       ->impl(Device::CUDA)
                       ->bind({{"block_size", int32_t{256}}});
  for (int64_t n : {int64_t{1}, int64_t{1001}, int64_t{3} << 20}) {
    Array x = random_ints(DataType::BF16, {n}, rng);
    DeviceBuffer in(Device::CUDA, x.bytes()), out(Device::CUDA, x.bytes());
    in.copy_from_host(x.raw(), x.bytes());
    Tensor tx{in.data(), DataType::BF16, TensorFormat::LINEAR, Device::CUDA, {n}, {1}};
    Tensor ty = tx;
    ty.data = out.data();
    std::vector<Tensor> ins{tx}, outs{ty};
    impl(ins, outs, {}, {});
    Array y(DataType::BF16, {n});
    out.copy_to_host(y.raw(), y.bytes());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(at(y, i), at(x, i) + 1.0f) << "element " << i;
  }
}

TEST_F(GpuEngine, AutotuneTimesFp32AndFp16WithEvents) {
  struct Capture : Logger {
    std::string text;
    void log(Severity, std::string_view m) override { text += std::string(m) + "\n"; }
  } log;
  Engine engine = add_engine(DataType::FP32, {10, 3, 32, 32}, false, &log);
  EXPECT_THAT(log.text, HasSubstr("candidate types [FP16, FP16]"));
  EXPECT_THAT(log.text, HasSubstr("candidate types [FP32, FP32]"));
  EXPECT_THAT(log.text, HasSubstr("chose types"));
  std::mt19937 rng(3);
  Array x = random_ints(DataType::FP32, {10, 3, 32, 32}, rng);
  auto out = Runner(engine).infer({{"x", x}});
  for (int64_t i = 0; i < x.numel(); ++i)
    ASSERT_EQ(out.at("y").data<float>()[i], x.data<float>()[i] + 1.0f);
}

TEST_F(GpuEngine, GraphReplayMatchesEnqueue) {
  Engine engine = add_engine(DataType::FP32, {4096}, true);
  std::vector<float> host(4096);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i % 13);
  DeviceBuffer x(Device::CUDA, 4096 * 4), y(Device::CUDA, 4096 * 4);
  x.copy_from_host(host.data(), 4096 * 4);
  auto ctx = engine.create_execution_context();
  ctx->set_tensor_address("x", x.data());
  ctx->set_tensor_address("y", x.data());  // in place: each replay adds one more
  ctx->capture_graph({});
  for (int i = 0; i < 3; ++i) ctx->launch_graph({});
  std::vector<float> back(4096);
  x.copy_to_host(back.data(), 4096 * 4);  // synchronous copy: waits for the replays
  for (size_t i = 0; i < host.size(); ++i) ASSERT_EQ(back[i], host[i] + 3.0f);
  ctx->set_tensor_address("y", y.data());
  EXPECT_THROW(ctx->launch_graph({}), Error);  // bindings changed: capture again
}

// The per-layer profile on CUDA comes from events between the steps: a time per layer, every
// run counted, and the results those runs computed are the unprofiled ones.
TEST_F(GpuEngine, PerLayerProfileTimesEveryLayerWithEvents) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {1 << 20});
  auto h = net.add_plugin("sample::elemwise_add_plugin", {x})[0];
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {h})[0], "y");
  BuildConfig config;
  config.device = Device::CUDA;
  config.strict_types = true;
  config.preference = ImplPreference::PreferJIT;
  Engine engine = build_engine(net, config);
  ASSERT_EQ(engine.layers().size(), 2u);
  std::vector<float> host(1 << 20, 1.0f);
  DeviceBuffer dx(Device::CUDA, host.size() * 4), dy(Device::CUDA, host.size() * 4);
  dx.copy_from_host(host.data(), host.size() * 4);
  auto ctx = engine.create_execution_context();
  ctx->set_tensor_address("x", dx.data());
  ctx->set_tensor_address("y", dy.data());
  ctx->set_profiling(true);
  for (int i = 0; i < 3; ++i) ctx->enqueue({});
  EXPECT_EQ(ctx->profiled_runs(), 3);
  ASSERT_EQ(ctx->layer_times_ms().size(), 2u);
  for (double ms : ctx->layer_times_ms()) {
    EXPECT_GT(ms, 0.0);
    EXPECT_LT(ms, 1000.0);
  }
  std::vector<float> back(host.size());
  dy.copy_to_host(back.data(), back.size() * 4);
  for (float v : back) ASSERT_EQ(v, 3.0f);
}

}  // namespace
