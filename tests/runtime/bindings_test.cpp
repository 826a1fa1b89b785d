// Bad bindings (README "Bad input and thread safety"): what a caller hands an execution context or
// a Runner that does not fit the engine, each an error naming the tensor, before anything runs.
// (Missing shapes and bindings, null addresses and shapes outside the profile: context_test.cpp.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <qdp/qdp.hpp>

#include "test_plugins.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

// x FP32 2x4 (static) -> test::scale -> y.
Engine static_scale_engine() {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 4});
  net.mark_output(net.add_plugin("test::scale", {x}, {{"factor", 2.0}})[0], "y");
  BuildConfig config;
  config.strict_types = true;
  return build_engine(net, config);
}

TEST(Bindings, RunnerRefusesAStaticInputOfAnotherShape) {
  Runner runner(static_scale_engine());
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", test_plugins::iota_array({3, 4})}});
              }),
              HasSubstr("Runner::infer: input 'x' has shape 3x4, the engine takes 2x4"));
  auto out = runner.infer({{"x", test_plugins::iota_array({2, 4})}});
  EXPECT_EQ(out.at("y").data<float>()[7], 2.0f * 8.0f);
}

TEST(Bindings, RunnerRefusesAnOutputOrAnUnknownNameAsAnInput) {
  Runner runner(static_scale_engine());
  Array x = test_plugins::iota_array({2, 4});
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", x}, {"y", x}});
              }),
              HasSubstr("Runner::infer: 'y' is an output of the engine, not an input"));
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", x}, {"z", x}});
              }),
              HasSubstr("the engine has no input or output 'z' (it has: x, y)"));
}

TEST(Bindings, ANegativeOrZeroDimensionIsOutsideTheProfile) {
  Engine engine = test_plugins::dynamic_scale_engine();
  auto ctx = engine.create_execution_context();
  EXPECT_THAT(error_of([&] {
                ctx->set_input_shape("x", {-3, 4});
              }),
              HasSubstr("input 'x' shape -3x4 is outside its profile: dimension 0 must be within "
                        "[1, 16]"));
  EXPECT_THAT(error_of([&] {
                ctx->set_input_shape("x", {0, 4});
              }),
              HasSubstr("dimension 0 must be within [1, 16]"));
}

TEST(Bindings, ShapesAskedForBeforeTheyAreKnownAreErrors) {
  Engine engine = test_plugins::dynamic_scale_engine();
  auto ctx = engine.create_execution_context();
  EXPECT_THAT(error_of([&] { (void)ctx->tensor_shape("x"); }),
              HasSubstr("the shape of input 'x' is not set yet"));
  EXPECT_THAT(error_of([&] { (void)ctx->tensor_shape("y"); }),
              HasSubstr("the shape of 'y' is not known yet: "));
}

TEST(Bindings, UnknownNamesAreListedWithTheEnginesNames) {
  Engine engine = test_plugins::dynamic_scale_engine();
  auto ctx = engine.create_execution_context();
  EXPECT_THAT(error_of([&] {
                ctx->set_input_shape("z", {2, 4});
              }),
              HasSubstr("no input or output 'z' (it has: x, y)"));
  EXPECT_THAT(error_of([&] { (void)ctx->tensor_shape("z"); }),
              HasSubstr("no input or output 'z' (it has: x, y)"));
  EXPECT_THAT(error_of([&] { (void)engine.io("z"); }),
              HasSubstr("the engine has no input or output 'z' (it has: x, y)"));
}

}  // namespace
