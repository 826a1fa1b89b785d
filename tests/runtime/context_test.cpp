// The execution context and runner: bindings, dynamic shapes, data-dependent outputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "test_plugins.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;

namespace {

using qdp_test::error_of;

using test_plugins::dynamic_scale_engine;

TEST(Context, DynamicShapesFollowTheInput) {
  Engine engine = dynamic_scale_engine();
  Runner runner(engine);
  for (int64_t rows : {1, 5, 16}) {
    auto out = runner.infer({{"x", test_plugins::iota_array({rows, 4})}});
    ASSERT_EQ(out.at("y").shape(), (Dims{rows, 4}));
    EXPECT_EQ(out.at("y").data<float>()[rows * 4 - 1],
              2.0f * (1.0f + static_cast<float>((rows * 4 - 1) % 97)));
  }
}

TEST(Context, ShapeOutsideProfileIsAnError) {
  Engine engine = dynamic_scale_engine();
  auto ctx = engine.create_execution_context();
  EXPECT_THAT(
      error_of([&] {
        ctx->set_input_shape("x", {17, 4});
      }),
      HasSubstr("input 'x' shape 17x4 is outside its profile: dimension 0 must be within [1, 16]"));
  EXPECT_THAT(error_of([&] {
                ctx->set_input_shape("x", {2, 5});
              }),
              HasSubstr("dimension 1 is static (4)"));
  EXPECT_THAT(error_of([&] { ctx->set_input_shape("x", {2}); }), HasSubstr("has 2 dimensions"));
  EXPECT_THAT(error_of([&] { ctx->set_input_shape("y", {2, 4}); }), HasSubstr("'y' is an output"));
}

TEST(Context, MissingShapeAndBindingsAreErrors) {
  Engine engine = dynamic_scale_engine();
  auto ctx = engine.create_execution_context();
  std::vector<float> buf(64);
  ctx->set_tensor_address("x", buf.data());
  ctx->set_tensor_address("y", buf.data());
  EXPECT_THAT(error_of([&] { ctx->enqueue(); }),
              HasSubstr("input 'x' has dynamic dimensions: call set_input_shape"));
  auto ctx2 = engine.create_execution_context();
  ctx2->set_input_shape("x", {2, 4});
  ctx2->set_tensor_address("x", buf.data());
  EXPECT_THAT(error_of([&] { ctx2->enqueue(); }), HasSubstr("output 'y' is not bound"));
  EXPECT_THAT(error_of([&] { ctx2->set_tensor_address("z", buf.data()); }),
              HasSubstr("no input or output 'z' (it has: x, y)"));
  EXPECT_THAT(error_of([&] { ctx2->set_tensor_address("y", nullptr); }),
              HasSubstr("the address is null"));
}

TEST(Context, RunnerChecksInputs) {
  Runner runner(dynamic_scale_engine());
  EXPECT_THAT(error_of([&] { runner.infer({}); }), HasSubstr("input 'x' is missing"));
  Array ints(DataType::INT32, {2, 4});
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", ints}});
              }),
              HasSubstr("input 'x' is INT32 but the engine takes FP32"));
}

Engine filter_engine(bool lie) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {10});
  auto outs = net.add_plugin("test::filter", {x}, {{"threshold", 4.5}, {"lie", lie}});
  net.mark_output(outs[0], "values");
  net.mark_output(outs[1], "count");
  return build_engine(net, {});
}

TEST(Context, DataDependentOutputHasItsActualShape) {
  Runner runner(filter_engine(false));
  Array x = Array::from<float>({10}, {1, 9, 2, 8, 3, 7, 4, 6, 5, 0});
  auto out = runner.infer({{"x", x}});
  ASSERT_EQ(out.at("count").data<int64_t>()[0], 5);
  ASSERT_EQ(out.at("values").shape(), (Dims{5}));
  EXPECT_EQ(std::vector<float>(out.at("values").data<float>(), out.at("values").data<float>() + 5),
            (std::vector<float>{9, 8, 7, 6, 5}));
  // None pass: an empty output.
  out = runner.infer({{"x", Array::from<float>({10}, std::vector<float>(10, 0.0f))}});
  EXPECT_EQ(out.at("values").shape(), (Dims{0}));
}

TEST(Context, DataDependentFeedsADownstreamPlugin) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {6});
  auto outs = net.add_plugin("test::filter", {x}, {{"threshold", 0.5}});
  auto scaled = net.add_plugin("test::scale", {outs[0]}, {{"factor", 10.0}})[0];
  net.mark_output(scaled, "y");
  BuildConfig config;
  config.strict_types = true;
  Runner runner(build_engine(net, config));
  auto out = runner.infer({{"x", Array::from<float>({6}, {0, 1, 0, 2, 0, 3})}});
  ASSERT_EQ(out.at("y").shape(), (Dims{3}));
  EXPECT_EQ(out.at("y").data<float>()[2], 30.0f);
}

TEST(Context, CountAboveTheUpperBoundIsReported) {
  Runner runner(filter_engine(true));
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", test_plugins::iota_array({10})}});
              }),
              HasSubstr("layer 'filter_0' (plugin test::filter) reported a data-dependent extent "
                        "of 11, outside [0, 10]"));
}

TEST(Context, ImplErrorsNameTheLayer) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test::scale", {x})[0], "y");
  BuildConfig config;
  config.strict_types = true;
  Engine engine = build_engine(net, config);
  auto ctx = engine.create_execution_context();
  std::vector<float> a(4), b(4);
  ctx->set_tensor_address("x", a.data());
  ctx->set_tensor_address("y", b.data());
  EXPECT_NO_THROW(ctx->enqueue());
  EXPECT_EQ(ctx->tensor_shape("y"), (Dims{4}));
}

TEST(Context, GraphsNeedTheCudaBackendAndStaticShapes) {
  Engine engine = dynamic_scale_engine();
  auto ctx = engine.create_execution_context();
  std::vector<float> buf(64);
  ctx->set_input_shape("x", {2, 4});
  ctx->set_tensor_address("x", buf.data());
  ctx->set_tensor_address("y", buf.data());
  EXPECT_THAT(error_of([&] { ctx->launch_graph({}); }),
              HasSubstr("no graph was captured; call capture_graph first"));
  EXPECT_THAT(error_of([&] { ctx->capture_graph({}); }),
              HasSubstr("graph capture needs the CUDA backend"));
  auto dds = filter_engine(false).create_execution_context();
  EXPECT_THAT(error_of([&] { dds->capture_graph({}); }),
              HasSubstr("cannot be captured into a CUDA graph: layer 'filter_0' (plugin "
                        "test::filter) has a data-dependent output"));
}

// The caller's output memory, supplied once the size is known.
struct RecordingAllocator : OutputAllocator {
  std::map<std::string, std::vector<std::byte>, std::less<>> memory;
  std::map<std::string, Dims, std::less<>> shapes;
  std::map<std::string, size_t, std::less<>> requested;
  void* reallocate(std::string_view name, void* current, size_t bytes) override {
    auto& m = memory[std::string(name)];
    requested[std::string(name)] = bytes;
    if (current && m.size() >= bytes) return current;
    m.resize(std::max<size_t>(bytes, 1));
    return m.data();
  }
  void notify_shape(std::string_view name, Dims const& shape) override {
    shapes[std::string(name)] = shape;
  }
};

TEST(Context, OutputAllocatorReceivesTheActualSize) {
  Engine engine = filter_engine(false);
  auto ctx = engine.create_execution_context();
  RecordingAllocator allocator;
  std::vector<float> x = {1, 9, 2, 8, 3, 7, 4, 6, 5, 0};
  ctx->set_tensor_address("x", x.data());
  ctx->set_output_allocator("values", &allocator);
  ctx->set_output_allocator("count", &allocator);
  ctx->enqueue();
  EXPECT_EQ(allocator.requested["values"], 5 * sizeof(float));  // the actual size, not the bound
  EXPECT_EQ(allocator.shapes["values"], (Dims{5}));
  EXPECT_EQ(allocator.shapes["count"], Dims{});
  auto const* values = reinterpret_cast<float const*>(allocator.memory["values"].data());
  EXPECT_EQ(std::vector<float>(values, values + 5), (std::vector<float>{9, 8, 7, 6, 5}));
  EXPECT_EQ(*reinterpret_cast<int64_t const*>(allocator.memory["count"].data()), 5);
  // A second run with fewer values reuses the memory and reports the new shape.
  x.assign(10, 0.0f);
  x[3] = 10;
  ctx->enqueue();
  EXPECT_EQ(allocator.shapes["values"], (Dims{1}));
  EXPECT_EQ(reinterpret_cast<float const*>(allocator.memory["values"].data())[0], 10.0f);
}

TEST(Context, OutputAllocatorErrors) {
  auto ctx = filter_engine(false).create_execution_context();
  RecordingAllocator allocator;
  EXPECT_THAT(error_of([&] { ctx->set_output_allocator("x", &allocator); }),
              HasSubstr("'x' is an input"));
  EXPECT_THAT(error_of([&] { ctx->set_output_allocator("values", nullptr); }),
              HasSubstr("the allocator is null"));
}

}  // namespace
