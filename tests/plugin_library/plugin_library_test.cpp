// The plugin-library contract: load_plugin_library checks the entry point and its ABI version
// and registers a library's definitions all or none; every bad library is an error with a
// message and a code, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <qdp/plugin_library.hpp>
#include <qdp/qdp.hpp>

#include "test_support.hpp"

namespace {

using namespace qdp;
using qdp_test::code_of;
using qdp_test::error_of;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The test libraries sit beside this program (the build's bin folder, wherever it travels).
std::string library(char const* name) {
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  return (dir / fmt::format("libqdp_test_lib_{}.so", name)).string();
}
std::string const QDP_TEST_LIB_GOOD = library("good");
std::string const QDP_TEST_LIB_DUPLICATE = library("duplicate");
std::string const QDP_TEST_LIB_MALFORMED = library("malformed");
std::string const QDP_TEST_LIB_THROWING = library("throwing");
std::string const QDP_TEST_LIB_ABI_MISMATCH = library("abi_mismatch");
std::string const QDP_TEST_LIB_NOT_QDP = library("not_qdp");

TEST(PluginLibrary, GoodLibraryRegistersItsDefinitionsAndRuns) {
  qdp_test::Unregister guard("test_lib::negate");
  EXPECT_THAT(load_plugin_library(QDP_TEST_LIB_GOOD), ElementsAre("test_lib::negate"));
  Network net;
  auto x = net.add_input("x", DataType::FP32, {3});
  net.mark_output(net.add_plugin("test_lib::negate", {x})[0], "y");
  Runner runner(build_engine(net, {}));
  Array in(DataType::FP32, Dims{3});
  for (int i = 0; i < 3; ++i) in.data<float>()[i] = static_cast<float>(i + 1);
  auto out = runner.infer({{"x", in}});
  EXPECT_EQ(out.at("y").data<float>()[2], -3.0f);
}

TEST(PluginLibrary, DuplicateIdRegistersNothing) {
  auto before = Registry::global().ids();
  std::string error = error_of([&] { load_plugin_library(QDP_TEST_LIB_DUPLICATE); });
  EXPECT_THAT(error, AllOf(HasSubstr(QDP_TEST_LIB_DUPLICATE),
                           HasSubstr("plugin test_lib::twice is already registered"),
                           HasSubstr("nothing was registered")));
  EXPECT_EQ(code_of([&] { load_plugin_library(QDP_TEST_LIB_DUPLICATE); }),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(Registry::global().ids(), before);
  EXPECT_EQ(Registry::global().find("test_lib::innocent"), nullptr);
}

TEST(PluginLibrary, MalformedStaticDefinitionIsAnErrorNotATerminate) {
  EXPECT_THAT(error_of([&] { load_plugin_library(QDP_TEST_LIB_MALFORMED); }),
              AllOf(HasSubstr("cannot load plugin library"), HasSubstr(QDP_TEST_LIB_MALFORMED),
                    HasSubstr("plugin ID 'not an id' is malformed")));
}

TEST(PluginLibrary, ThrowingDefinitionIsAnErrorAndRegistersNothing) {
  EXPECT_THAT(error_of([&] { load_plugin_library(QDP_TEST_LIB_THROWING); }),
              AllOf(HasSubstr(QDP_TEST_LIB_THROWING), HasSubstr("the library's own setup failed"),
                    HasSubstr("nothing was registered")));
  EXPECT_THAT(Registry::global().ids(), Not(Contains("test_lib::before_the_throw")));
}

TEST(PluginLibrary, AbiMismatchIsAVersionMismatch) {
  std::string error = error_of([&] { load_plugin_library(QDP_TEST_LIB_ABI_MISMATCH); });
  EXPECT_THAT(
      error, AllOf(HasSubstr(fmt::format("built for qdp ABI {} (qdp 99.0.0)", QDP_ABI_VERSION + 1)),
                   HasSubstr("rebuild the library against this qdp")));
  EXPECT_EQ(code_of([&] { load_plugin_library(QDP_TEST_LIB_ABI_MISMATCH); }),
            ErrorCode::VersionMismatch);
}

TEST(PluginLibrary, LibraryWithoutEntryPointIsNotAQdpLibrary) {
  EXPECT_THAT(
      error_of([&] { load_plugin_library(QDP_TEST_LIB_NOT_QDP); }),
      AllOf(HasSubstr("it is not a qdp plugin library"), HasSubstr("add QDP_PLUGIN_LIBRARY();")));
}

TEST(PluginLibrary, MissingFileIsNotFound) {
  EXPECT_EQ(code_of([&] { load_plugin_library("/nonexistent/libnothing.so"); }),
            ErrorCode::NotFound);
  EXPECT_THAT(error_of([&] { load_plugin_library("/nonexistent/libnothing.so"); }),
              HasSubstr("cannot load plugin library '/nonexistent/libnothing.so'"));
}

}  // namespace
