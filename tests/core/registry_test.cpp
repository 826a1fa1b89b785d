// Tests of the plugin registry (SPEC §1 "Plugin ID", SPEC §5): ID validation, duplicates,
// incomplete definitions, find/get/remove and the message for an unknown plugin. The registry
// is process-global: every test uses its own "test_registry::..." IDs and removes them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <qdp/error.hpp>
#include <qdp/registry.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace qdp {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

using qdp_test::error_of;

using qdp_test::Unregister;

// A complete, minimal definition: desc (identity) and a CPU impl that does nothing.
PluginDefinition minimal(std::string id) {
  PluginDefinition def;
  def.id = std::move(id);
  def.num_inputs = 1;
  def.num_outputs = 1;
  def.desc = [](std::span<const TensorDesc> in, Attrs const&) {
    return std::vector<TensorDesc>{in[0].like()};
  };
  PluginImpl impl;
  impl.bind = [](Attrs const&) -> BoundImpl {
    return [](std::span<const Tensor>, std::span<Tensor>, Stream, Tactic) {};
  };
  def.impls.emplace(Device::CPU, std::move(impl));
  return def;
}

// --- Plugin IDs ---------------------------------------------------------------------------------

TEST(PluginId, AcceptsNamespaceColonColonName) {
  EXPECT_NO_THROW(validate_plugin_id("sample::x_1"));
  EXPECT_NO_THROW(validate_plugin_id("sample::circ_pad_plugin"));
  EXPECT_NO_THROW(validate_plugin_id("_ns::_name"));
  EXPECT_NO_THROW(validate_plugin_id("A9::b8"));
}

class MalformedPluginId : public ::testing::TestWithParam<char const*> {};

TEST_P(MalformedPluginId, IsRejectedWithAnExample) {
  std::string id = GetParam();
  EXPECT_THAT(error_of([&] { validate_plugin_id(id); }),
              AllOf(HasSubstr("plugin ID '" + id + "' is malformed"), HasSubstr("namespace::name"),
                    HasSubstr("e.g. sample::circ_pad_plugin")));
}

INSTANTIATE_TEST_SUITE_P(PluginId, MalformedPluginId,
                         ::testing::Values("",         // empty
                                           "x",        // no namespace
                                           "::x",      // empty namespace
                                           "a::",      // empty name
                                           "a::b::c",  // the name "b::c" is not an identifier
                                           "1a::b",    // namespace starts with a digit
                                           "a::1b",    // name starts with a digit
                                           "a b::c",   // space
                                           "a:b",      // single colon
                                           "a::b-c",   // '-' is not an identifier character
                                           "a.b::c",   // '.' neither
                                           " a::b",    // leading space
                                           "a::b "));  // trailing space

// --- Registry::add ------------------------------------------------------------------------------

TEST(Registry, AddThenFindAndGet) {
  Unregister guard("test_registry::add_find_get");
  Registry::global().add(minimal("test_registry::add_find_get"));
  auto found = Registry::global().find("test_registry::add_find_get");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->id, "test_registry::add_find_get");
  EXPECT_EQ(found->num_inputs, 1);
  EXPECT_NE(found->impl(Device::CPU), nullptr);
  EXPECT_EQ(found->impl(Device::CUDA), nullptr);
  EXPECT_EQ(Registry::global().get("test_registry::add_find_get"), found);
  EXPECT_THAT(Registry::global().ids(), Contains("test_registry::add_find_get"));
}

TEST(Registry, FindOfUnknownIdIsNull) {
  EXPECT_EQ(Registry::global().find("test_registry::never_defined"), nullptr);
}

TEST(Registry, GetOfUnknownIdSaysHowToProvideThePlugin) {
  EXPECT_THAT(error_of([] { Registry::global().get("test_registry::never_defined"); }),
              AllOf(HasSubstr("plugin test_registry::never_defined is not defined in this process"),
                    HasSubstr("--plugins"), HasSubstr("load_plugin_library")));
}

TEST(Registry, DuplicateIdIsRejected) {
  Unregister guard("test_registry::duplicate");
  Registry::global().add(minimal("test_registry::duplicate"));
  EXPECT_THAT(error_of([] { Registry::global().add(minimal("test_registry::duplicate")); }),
              AllOf(HasSubstr("plugin test_registry::duplicate is already registered"),
                    HasSubstr("registered once")));
  // The first definition stays.
  auto ids = Registry::global().ids();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "test_registry::duplicate"), 1);
}

TEST(Registry, MalformedIdIsRejectedByAdd) {
  EXPECT_THAT(error_of([] { Registry::global().add(minimal("test_registry")); }),
              HasSubstr("is malformed"));
  EXPECT_THAT(Registry::global().ids(), Not(Contains("test_registry")));
}

TEST(Registry, DefinitionWithoutDescIsRejected) {
  Unregister guard("test_registry::no_desc");
  PluginDefinition def = minimal("test_registry::no_desc");
  def.desc = nullptr;
  EXPECT_THAT(error_of([&] { Registry::global().add(std::move(def)); }),
              AllOf(HasSubstr("plugin test_registry::no_desc"), HasSubstr("needs desc")));
  EXPECT_EQ(Registry::global().find("test_registry::no_desc"), nullptr);
}

TEST(Registry, DefinitionWithoutAnyImplIsRejected) {
  Unregister guard("test_registry::no_impl");
  PluginDefinition def = minimal("test_registry::no_impl");
  def.impls.clear();
  EXPECT_THAT(
      error_of([&] { Registry::global().add(std::move(def)); }),
      AllOf(HasSubstr("plugin test_registry::no_impl"), HasSubstr("needs an impl or an aot_impl")));
  EXPECT_EQ(Registry::global().find("test_registry::no_impl"), nullptr);
}

TEST(Registry, DefinitionWithOnlyAnAotImplIsAccepted) {
  Unregister guard("test_registry::aot_only");
  PluginDefinition def = minimal("test_registry::aot_only");
  def.impls.clear();
  def.aot_impl = [](std::span<const TensorDesc>, Attrs const&, std::span<const TensorDesc>,
                    Tactic) {
    AotKernel k;
    k.name = "kernel";
    return k;
  };
  Registry::global().add(std::move(def));
  PluginDefinition const& got = *Registry::global().get("test_registry::aot_only");
  EXPECT_TRUE(got.impls.empty());
  ASSERT_TRUE(got.aot_impl);
  EXPECT_EQ(got.aot_impl({}, {}, {}, Tactic{}).name, "kernel");
}

TEST(Registry, RemoveForgetsThePlugin) {
  Unregister guard("test_registry::removed");
  Registry::global().add(minimal("test_registry::removed"));
  EXPECT_TRUE(Registry::global().remove("test_registry::removed"));
  EXPECT_EQ(Registry::global().find("test_registry::removed"), nullptr);
  EXPECT_THAT(Registry::global().ids(), Not(Contains("test_registry::removed")));
  EXPECT_FALSE(Registry::global().remove("test_registry::removed"));  // already gone
  // The ID can be registered again once removed.
  EXPECT_NO_THROW(Registry::global().add(minimal("test_registry::removed")));
}

TEST(Registry, RemoveOfUnknownIdReturnsFalse) {
  EXPECT_FALSE(Registry::global().remove("test_registry::never_defined"));
}

TEST(Registry, StoredDefinitionIsCallable) {
  Unregister guard("test_registry::callable");
  Registry::global().add(minimal("test_registry::callable"));
  PluginDefinition const& def = *Registry::global().get("test_registry::callable");
  std::vector<TensorDesc> in = {TensorDesc(DataType::FP16, {2, 3})};
  auto out = def.desc(in, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype, DataType::FP16);
  EXPECT_EQ(out[0].shape_expr, in[0].shape_expr);
  BoundImpl run = def.impl(Device::CPU)->bind({});
  EXPECT_TRUE(static_cast<bool>(run));
}

TEST(Registry, LoadPluginLibraryOfMissingFileSaysWhy) {
  EXPECT_THAT(
      error_of([] { load_plugin_library("/nonexistent/libqdp_no_such_plugins.so"); }),
      AllOf(HasSubstr("cannot load plugin library '/nonexistent/libqdp_no_such_plugins.so'"),
            HasSubstr("No such file")));
}

}  // namespace
}  // namespace qdp
