// A deployment links the runtime library alone (libqdp_runtime: engine files, execution contexts,
// backends; no builder, protobuf, ONNX or NVRTC). This program is linked that way and runs
// engines that qdp_runner built and saved: a JIT engine whose plugin comes from a plugin library
// (CPU), and an all-AOT engine that needs no plugin at all (GPU).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <qdp/device_buffer.hpp>
#include <qdp/engine.hpp>
#include <qdp/registry.hpp>
#include <qdp/runner.hpp>
#include <random>

#include "samples/circ_pad_reference.hpp"

namespace {

using namespace qdp;

// Where the engines are: QDP_TEST_ARTIFACTS_DIR when set (gpu-check makes them elsewhere), else
// where the ctest fixture wrote them.
std::string artifact(char const* device) {
  char const* dir = std::getenv("QDP_TEST_ARTIFACTS_DIR");
  return (std::filesystem::path(dir ? dir : QDP_TEST_ARTIFACTS) / device / "circ_pad.engine")
      .string();
}

// The sample's input shape and pads: (10, 3, 32, 32), pads (1, 1, 1, 1).
void expect_circ_pad(Engine const& engine) {
  Array x(DataType::FP32, Dims{10, 3, 32, 32});
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng);
  auto out = Runner(engine).infer({{"x", x}});
  Array expected = circ_pad_test::reference(x, {1, 1, 1, 1});
  Array const& y = out.begin()->second;
  ASSERT_EQ(y.shape(), expected.shape());
  EXPECT_EQ(std::memcmp(y.raw(), expected.raw(), y.bytes()), 0);
}

TEST(RuntimeOnly, JitEngineWithAPluginLibraryOnTheCpu) {
  char const* plugins = std::getenv("QDP_TEST_SAMPLE_PLUGINS");
  load_plugin_library(plugins ? plugins : QDP_TEST_SAMPLE_PLUGINS);
  Engine engine = Engine::load(artifact("cpu"));
  EXPECT_EQ(engine.device(), Device::CPU);
  EXPECT_EQ(engine.layers()[0].implementation, "jit");
  expect_circ_pad(engine);
}

TEST(RuntimeOnly, AllAotEngineWithoutAnyPluginOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: the all-AOT engine runs on the GPU machine";
  // As in a process that never loaded the plugin (the CPU test above may have, in this one).
  Registry::global().remove("sample::circ_pad_plugin");
  Engine engine = Engine::load(artifact("cuda"));
  for (auto const& layer : engine.layers()) {
    if (layer.kind != "plugin") continue;
    EXPECT_EQ(layer.implementation, "aot");
  }
  expect_circ_pad(engine);
}

}  // namespace
