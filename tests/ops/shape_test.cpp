// The shape group of the standard operators with the foundation they stand on: constants, shape
// values folded at build time and followed at run time, shape inputs read on the host, Values
// steps, and engines that keep all of it through a save and a load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <qdp/qdp.hpp>

#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

using Outputs = std::map<std::string, Array>;

TensorRef ints(Network& net, std::string name, std::vector<int64_t> values, bool scalar = false) {
  std::vector<int64_t> dims;
  if (!scalar) dims.push_back(static_cast<int64_t>(values.size()));
  return net.add_constant<int64_t>(std::move(name), dims, values);
}

Array iota(Dims shape) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  std::iota(v.begin(), v.end(), 0.0f);
  return Array::from(shape, v);
}

Engine build(Network const& net, Device device = Device::CPU) {
  BuildConfig config;
  config.device = device;
  return build_engine(net, config);
}

// Builds, then runs the engine as built and after a save and a load.
template <class Check>
void run_both(Network const& net, std::map<std::string, Array> const& inputs, Check check,
              Device device = Device::CPU) {
  Engine engine = build(net, device);
  check(Runner(engine).infer(inputs));
  Engine loaded = Engine::deserialize(engine.serialize());
  check(Runner(loaded).infer(inputs));
}

TEST(ShapeOps, ReshapeWithAConstantShapeInfersAndCopiesExtents) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 4});
  auto y = net.add_plugin("onnx::Reshape", {x, ints(net, "shape", {0, -1})})[0];
  net.mark_output(y, "y");
  run_both(net, {{"x", iota({2, 3, 4})}}, [](Outputs const& out) {
    Array const& y = out.at("y");
    EXPECT_EQ(y.shape(), (Dims{2, 12}));
    for (int i = 0; i < 24; ++i) EXPECT_EQ(y.data<float>()[i], static_cast<float>(i));
  });
}

TEST(ShapeOps, TorchStyleShapeChainFollowsTheDynamicBatch) {
  // y = Reshape(x, Concat-free: Shape(x)[0:1] expanded) : x [B, 4] -> Flatten -> Unsqueeze,
  // and Expand(c, Shape(x)): the shape is a value of the build, evaluated per run.
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 4});
  net.set_profile("x", Dims{1, 4}, Dims{2, 4}, Dims{8, 4});
  auto shape = net.add_plugin("onnx::Shape", {x})[0];
  std::vector<float> row{1, 2, 3, 4};
  auto c = net.add_constant<float>("c", {1, 4}, row);
  auto e = net.add_plugin("onnx::Expand", {c, shape})[0];
  net.mark_output(e, "e");
  // Range(0, B, 1): B is a symbolic value read as data, written by a Values step.
  auto batch = net.add_plugin("onnx::Slice", {shape, ints(net, "s0", {0}), ints(net, "e1", {1}),
                                              ints(net, "ax", {0}), ints(net, "st", {1})})[0];
  auto scalar = net.add_plugin("onnx::Squeeze", {batch, ints(net, "ax0", {0})})[0];
  auto r = net.add_plugin("onnx::Range",
                          {ints(net, "zero", {0}, true), scalar, ints(net, "one", {1}, true)})[0];
  net.mark_output(r, "r");
  net.mark_output(shape, "shape");
  Engine engine = build(net);
  for (int64_t b : {1, 3, 8}) {
    auto out = Runner(engine).infer({{"x", iota({b, 4})}});
    ASSERT_EQ(out.at("e").shape(), (Dims{b, 4}));
    for (int64_t i = 0; i < b * 4; ++i) EXPECT_EQ(out.at("e").data<float>()[i], row[i % 4]);
    ASSERT_EQ(out.at("r").shape(), (Dims{b}));
    for (int64_t i = 0; i < b; ++i) EXPECT_EQ(out.at("r").data<int64_t>()[i], i);
    ASSERT_EQ(out.at("shape").shape(), (Dims{2}));
    EXPECT_EQ(out.at("shape").data<int64_t>()[0], b);
    EXPECT_EQ(out.at("shape").data<int64_t>()[1], 4);
  }
  // The same engine after a save and a load.
  Engine loaded = Engine::deserialize(engine.serialize());
  auto out = Runner(loaded).infer({{"x", iota({5, 4})}});
  EXPECT_EQ(out.at("r").shape(), (Dims{5}));
  EXPECT_EQ(out.at("r").data<int64_t>()[4], 4);
}

TEST(ShapeOps, ConstantShapeArithmeticFoldsAtBuildTime) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 6});
  auto shape = net.add_plugin("onnx::Shape", {x})[0];
  auto y = net.add_plugin("onnx::Reshape", {x, shape})[0];  // a constant value: [2, 6]
  net.mark_output(y, "y");
  Engine engine = build(net);
  // Shape folded away: one step, the Reshape (a view).
  ASSERT_EQ(engine.layers().size(), 1u);
  EXPECT_EQ(engine.layers()[0].plugin_id, "onnx::Reshape");
}

TEST(ShapeOps, SliceWithNegativeStepAndClampedEnds) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {3, 5});
  auto y = net.add_plugin("onnx::Slice", {x, ints(net, "s", {-1, 1}), ints(net, "e", {-100, 1000}),
                                          ints(net, "a", {0, 1}), ints(net, "st", {-1, 2})})[0];
  net.mark_output(y, "y");
  run_both(net, {{"x", iota({3, 5})}}, [](Outputs const& out) {
    Array const& y = out.at("y");
    ASSERT_EQ(y.shape(), (Dims{3, 2}));
    float expected[] = {11, 13, 6, 8, 1, 3};  // rows 2, 1, 0; columns 1, 3
    for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], expected[i]);
  });
}

TEST(ShapeOps, SqueezeUnsqueezeFlattenAreViews) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 1, 3});
  auto s = net.add_plugin("onnx::Squeeze", {x, ints(net, "a1", {1})})[0];
  auto u = net.add_plugin("onnx::Unsqueeze", {s, ints(net, "a2", {0, -1})})[0];
  auto f = net.add_plugin("onnx::Flatten", {u}, {{"axis", int64_t{2}}})[0];
  net.mark_output(u, "u");
  net.mark_output(f, "f");
  run_both(net, {{"x", iota({2, 1, 3})}}, [](Outputs const& out) {
    EXPECT_EQ(out.at("u").shape(), (Dims{1, 2, 3, 1}));
    EXPECT_EQ(out.at("f").shape(), (Dims{2, 3}));
    for (int i = 0; i < 6; ++i) EXPECT_EQ(out.at("f").data<float>()[i], static_cast<float>(i));
  });
}

TEST(ShapeOps, ConstantOfShapeTakesTheValuesType) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 3});
  net.set_profile("x", Dims{1, 3}, Dims{2, 3}, Dims{4, 3});
  auto shape = net.add_plugin("onnx::Shape", {x})[0];
  std::vector<int32_t> seven{7};
  auto v = net.add_constant<int32_t>("v", {1}, seven);
  auto y = net.add_plugin("onnx::ConstantOfShape", {shape, v})[0];
  net.mark_output(y, "y");
  Engine engine = build(net);
  auto out = Runner(engine).infer({{"x", iota({3, 3})}});
  ASSERT_EQ(out.at("y").dtype(), DataType::INT32);
  ASSERT_EQ(out.at("y").shape(), (Dims{3, 3}));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(out.at("y").data<int32_t>()[i], 7);
}

TEST(ShapeOps, ConstantsFeedPluginsAndAreStoredOnce) {
  // A constant network output, and a Reshape whose data is a constant (folded).
  Network net;
  std::vector<float> w{1, 2, 3, 4, 5, 6};
  auto c = net.add_constant<float>("w", {2, 3}, w);
  auto r = net.add_plugin("onnx::Reshape", {c, ints(net, "s", {3, 2})})[0];
  net.mark_output(r, "r");
  net.mark_output(c, "w_out");
  auto x = net.add_input("x", DataType::FP32, {2});
  net.mark_output(net.add_plugin("onnx::Identity", {x})[0], "x_copy");
  run_both(net, {{"x", iota({2})}}, [&](Outputs const& out) {
    EXPECT_EQ(out.at("r").shape(), (Dims{3, 2}));
    EXPECT_EQ(out.at("w_out").shape(), (Dims{2, 3}));
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(out.at("r").data<float>()[i], w[static_cast<size_t>(i)]);
      EXPECT_EQ(out.at("w_out").data<float>()[i], w[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(out.at("x_copy").data<float>()[1], 1.0f);
  });
}

TEST(ShapeOps, BadInputsAreClearErrors) {
  {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {2, 3});
    net.mark_output(net.add_plugin("onnx::Reshape", {x, ints(net, "s", {4, 2})})[0], "y");
    EXPECT_THAT(error_of([&] { build(net); }), HasSubstr("cannot reshape 6 elements into [4, 2]"));
  }
  {  // A shape input computed at run time.
    Network net;
    auto x = net.add_input("x", DataType::FP32, {2, 3});
    auto s = net.add_input("s", DataType::INT64, {2});
    net.mark_output(net.add_plugin("onnx::Reshape", {x, s})[0], "y");
    EXPECT_THAT(
        error_of([&] { build(net); }),
        HasSubstr("input 1 is a shape input, so it must be known when the engine is built"));
  }
  {  // A Reshape that only run time can refute: 4 * B elements as [-1, 3].
    Network net;
    auto x = net.add_input("x", DataType::FP32, {-1, 4});
    net.set_profile("x", Dims{1, 4}, Dims{3, 4}, Dims{6, 4});
    net.mark_output(net.add_plugin("onnx::Reshape", {x, ints(net, "s", {-1, 3})})[0], "y");
    Engine engine = build(net);
    EXPECT_EQ(Runner(engine).infer({{"x", iota({3, 4})}}).at("y").shape(), (Dims{4, 3}));
    EXPECT_THAT(error_of([&] {
                  Runner(engine).infer({{"x", iota({2, 4})}});
                }),
                HasSubstr("Reshape: cannot view a tensor of shape"));
  }
  {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {2, 3});
    net.mark_output(net.add_plugin("onnx::Squeeze", {x, ints(net, "a", {1})})[0], "y");
    EXPECT_THAT(error_of([&] { build(net); }), HasSubstr("only extents of 1 can be squeezed"));
  }
  {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {2, 3});
    net.mark_output(net.add_plugin("onnx::Slice", {x, ints(net, "s", {0}), ints(net, "e", {1}),
                                                   ints(net, "a", {0}), ints(net, "st", {0})})[0],
                    "y");
    EXPECT_THAT(error_of([&] { build(net); }), HasSubstr("steps must not be 0"));
  }
}

TEST(ShapeOpsGpu, DynamicShapeChainAndSliceMatchTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 6});
  net.set_profile("x", Dims{1, 6}, Dims{2, 6}, Dims{8, 6});
  auto shape = net.add_plugin("onnx::Shape", {x})[0];
  std::vector<float> row{1, 2, 3, 4, 5, 6};
  auto c = net.add_constant<float>("c", {1, 6}, row);
  net.mark_output(net.add_plugin("onnx::Expand", {c, shape})[0], "e");
  net.mark_output(net.add_plugin("onnx::Slice", {x, ints(net, "s", {1}), ints(net, "en", {100}),
                                                 ints(net, "a", {1}), ints(net, "st", {2})})[0],
                  "s");
  auto batch = net.add_plugin("onnx::Slice", {shape, ints(net, "s0", {0}), ints(net, "e1", {1}),
                                              ints(net, "ax", {0}), ints(net, "st1", {1})})[0];
  auto scalar = net.add_plugin("onnx::Squeeze", {batch, ints(net, "ax0", {0})})[0];
  net.mark_output(net.add_plugin("onnx::Range", {ints(net, "zero", {0}, true), scalar,
                                                 ints(net, "one", {1}, true)})[0],
                  "r");
  Engine cpu = build(net), gpu = build(net, Device::CUDA);
  for (int64_t b : {1, 5}) {
    auto want = Runner(cpu).infer({{"x", iota({b, 6})}});
    auto got = Runner(gpu).infer({{"x", iota({b, 6})}});
    for (auto const& name : {"e", "s", "r"}) {
      ASSERT_EQ(got.at(name).shape(), want.at(name).shape()) << name;
      ASSERT_EQ(got.at(name).bytes(), want.at(name).bytes());
      EXPECT_EQ(std::memcmp(got.at(name).raw(), want.at(name).raw(), want.at(name).bytes()), 0)
          << name;
    }
  }
}

}  // namespace
