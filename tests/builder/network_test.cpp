// The network API's errors: each names what is wrong and where.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_plugins.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;

namespace {

using qdp_test::error_of;

TEST(Network, UnknownPluginSaysHowToProvideIt) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  std::string e = error_of([&] { net.add_plugin("nope::missing", {x}); });
  EXPECT_THAT(e, HasSubstr("plugin nope::missing is not defined in this process"));
  EXPECT_THAT(e, HasSubstr("--plugins"));
}

TEST(Network, UnknownAttributeNamesPluginAndKnownAttributes) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  std::string e = error_of([&] { net.add_plugin("test::scale", {x}, {{"factr", 2.0}}); });
  EXPECT_THAT(e, HasSubstr("layer 'scale_0': plugin test::scale: unknown attribute 'factr'"));
  EXPECT_THAT(e, HasSubstr("factor, unused_by_impl"));
}

TEST(Network, WrongAttributeTypeNamesExpectedAndReceived) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  std::string e = error_of([&] {
    net.add_plugin("test::scale", {x}, {{"factor", std::string("big")}});
  });
  EXPECT_THAT(e, HasSubstr("attribute 'factor' expects float32 but received string"));
  e = error_of([&] { net.add_plugin("test::scale", {x}, {{"unused_by_impl", int64_t{1} << 40}}); });
  EXPECT_THAT(e, HasSubstr("attribute 'unused_by_impl' expects int32 but received int64"));
  EXPECT_THAT(e, HasSubstr("out of range"));
}

TEST(Network, WrongInputCount) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  EXPECT_THAT(
      error_of([&] { net.add_plugin("test::sum2", {x}); }),
      HasSubstr("layer 'sum2_0' (plugin test::sum2): the plugin takes 2 input(s), 1 given"));
}

TEST(Network, NamesMustBeGivenAndUnique) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  EXPECT_THAT(error_of([&] { net.add_input("", DataType::FP32, {2}); }),
              HasSubstr("a network input needs a name"));
  EXPECT_THAT(error_of([&] { net.add_input("x", DataType::FP32, {2}); }),
              HasSubstr("network input 'x': the name is already used"));
  auto y = net.add_plugin("test::scale", {x})[0];
  EXPECT_THAT(error_of([&] { net.mark_output(y, ""); }),
              HasSubstr("a network output needs a name"));
  EXPECT_THAT(error_of([&] { net.mark_output(y, "x"); }), HasSubstr("the name is already used"));
  net.mark_output(y, "y");
  EXPECT_THAT(error_of([&] { net.mark_output(y, "y2"); }),
              HasSubstr("the tensor is already the output 'y'"));
  EXPECT_THAT(error_of([&] { net.mark_output(x, "z"); }),
              HasSubstr("is the network input 'x' itself"));
  EXPECT_THAT(error_of([&] {
                net.add_plugin("test::scale", {x}, {}, {.name = "scale_1"});
                net.add_plugin("test::scale", {x}, {}, {.name = "scale_1"});
              }),
              HasSubstr("layer name 'scale_1' is used twice"));
}

TEST(Network, ForeignTensorIsRejected) {
  Network net;
  net.add_input("x", DataType::FP32, {2});
  EXPECT_THAT(error_of([&] { net.add_plugin("test::scale", {TensorRef{42}}); }),
              HasSubstr("tensor #42 does not belong to this network"));
}

TEST(Network, ProfileChecks) {
  Network net;
  net.add_input("x", DataType::FP32, {-1, 3});
  EXPECT_THAT(error_of([&] {
                net.set_profile("y", {1, 3}, {2, 3}, {4, 3});
              }),
              HasSubstr("the network has no input 'y'"));
  EXPECT_THAT(error_of([&] {
                net.set_profile("x", {3, 3}, {2, 3}, {4, 3});
              }),
              HasSubstr("need 0 <= min <= opt <= max, got 3, 2, 4"));
  EXPECT_THAT(error_of([&] {
                net.set_profile("x", {1, 2}, {2, 3}, {4, 3});
              }),
              HasSubstr("the dimension is static (3)"));
  EXPECT_THAT(error_of([&] { net.set_profile("x", {1}, {2}, {4}); }),
              HasSubstr("must have 2 dimensions"));
  EXPECT_NO_THROW(net.set_profile("x", {1, 3}, {2, 3}, {4, 3}));
}

TEST(Network, AotRequestForAPluginWithoutAotImpl) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  EXPECT_THAT(
      error_of(
          [&] { net.add_plugin("test::scale", {x}, {}, {.name = "", .impl = ImplChoice::AOT}); }),
      HasSubstr("asks for the AOT implementation of plugin test::scale, which has no aot_impl"));
}

}  // namespace
