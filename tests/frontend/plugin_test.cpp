// Tests of the C++ front end (SPEC §2 layer 2, SPEC §7): plugins defined with qdp::define(...)
// and QDP_PLUGIN are checked through the core definition they register: deduced input and
// output counts, the attribute schema of a QDP_ATTRS struct, desc, bound impls run on host
// tensors, dtype dispatch of generic impls, attribute subsets, Stream and Tactic, autotune and
// aot_impl, and the errors of bad definitions. No network is needed. The registry is
// process-global: every test uses its own "test_frontend::..." ID and removes it at the end
// (except the QDP_PLUGIN one at namespace scope, registered for the life of the process).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <qdp/error.hpp>
#include <qdp/plugin.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.hpp"

// Attribute structs, declared as a user would: at namespace scope, next to QDP_ATTRS.
namespace test_frontend {

struct PadAttrs {
  std::vector<int32_t> pads = {1, 2, 3, 4};
  std::string mode = "circular";
  float scale = 0.5f;
  int64_t block = 256;
  bool flag = true;
};
QDP_ATTRS(PadAttrs, pads, mode, scale, block, flag);

// A subset of PadAttrs: what an impl that needs only the scale takes.
struct ScaleOnly {
  float scale = 0.5f;
};
QDP_ATTRS(ScaleOnly, scale);

// A field PadAttrs does not declare.
struct Undeclared {
  float scale = 0.5f;
  int32_t missing = 1;
};
QDP_ATTRS(Undeclared, scale, missing);

// A field PadAttrs declares, but with another type (PadAttrs::scale is a float).
struct ScaleAsInt {
  int32_t scale = 1;
};
QDP_ATTRS(ScaleAsInt, scale);

struct EveryType {
  int32_t i32 = -1;
  int64_t i64 = int64_t{1} << 40;
  float f32 = 0.25f;
  double f64 = 0.125;
  bool b = true;
  std::string s = "text";
  qdp::Bytes bytes = {};
  std::vector<int8_t> i8s = {-1, 1};
};
QDP_ATTRS(EveryType, i32, i64, f32, f64, b, s, bytes, i8s);

}  // namespace test_frontend

// --- Static registration at namespace scope
// ---------------------------------------------------------

QDP_PLUGIN(static_negate, "test_frontend::static_negate")
    .desc([](qdp::TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y) {
      for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = -x.data()[i];
    });

namespace qdp {
namespace {

using test_frontend::PadAttrs;
using test_frontend::ScaleOnly;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using qdp_test::error_of;

using qdp_test::Unregister;

// A dense LINEAR host tensor that owns its memory; `tensor` points into `storage`.
struct HostTensor {
  std::vector<std::byte> storage;
  Tensor tensor;

  template <Element T>
  static HostTensor of(Dims shape, std::vector<T> const& values) {
    HostTensor h;
    h.storage.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(h.storage.data(), values.data(), h.storage.size());
    h.tensor.data = h.storage.data();
    h.tensor.dtype = dtype_v<T>;
    h.tensor.format = TensorFormat::LINEAR;
    h.tensor.device = Device::CPU;
    h.tensor.shape = shape;
    h.tensor.strides = dense_strides(shape, TensorFormat::LINEAR);
    return h;
  }
  template <Element T>
  static HostTensor zeros(Dims shape) {
    return of<T>(shape, std::vector<T>(static_cast<size_t>(shape.numel())));
  }
  HostTensor() = default;
  HostTensor(HostTensor&& o) noexcept : storage(std::move(o.storage)), tensor(o.tensor) {
    tensor.data = storage.data();
  }
  HostTensor& operator=(HostTensor&&) = delete;

  template <Element T>
  std::vector<T> values() const {
    std::vector<T> out(static_cast<size_t>(tensor.numel()));
    if (!out.empty()) std::memcpy(out.data(), storage.data(), out.size() * sizeof(T));
    return out;
  }
};

std::vector<float> as_floats(std::vector<half> const& v) {
  return {v.begin(), v.end()};
}

// Runs the CPU impl of `def` bound to `attrs` on one input and one output.
void run_cpu(PluginDefinition const& def, Attrs const& attrs, HostTensor const& in, HostTensor& out,
             Stream stream = {}, Tactic tactic = {}) {
  PluginImpl const* impl = def.impl(Device::CPU);
  ASSERT_NE(impl, nullptr);
  BoundImpl bound = impl->bind(attrs);
  std::vector<Tensor> ins = {in.tensor};
  std::vector<Tensor> outs = {out.tensor};
  bound(ins, outs, stream, tactic);
}

TensorDesc input_desc(int index, DataType dtype, std::vector<ShapeExpr> shape) {
  TensorDesc d(dtype, std::move(shape));
  d.set_input_index(index);
  return d;
}

ShapeExpr const d00 = ShapeExpr::input_dim(0, 0);
ShapeExpr const d01 = ShapeExpr::input_dim(0, 1);

// --- Counts deduced from the signatures
// -----------------------------------------------------------

TEST(Frontend, OneInputOneOutputIsDeduced) {
  Unregister guard("test_frontend::one_in_one_out");
  Registration r = define("test_frontend::one_in_one_out")
                       .desc([](TensorDesc const& x) { return x.like(); })
                       .impl<cpu>([](In<float>, Out<float>) {})
                       .commit();
  EXPECT_EQ(r.id, "test_frontend::one_in_one_out");
  PluginDefinition const& def = *Registry::global().get("test_frontend::one_in_one_out");
  EXPECT_EQ(def.num_inputs, 1);
  EXPECT_EQ(def.num_outputs, 1);
  EXPECT_THAT(def.attrs, IsEmpty());
  EXPECT_NE(def.impl(Device::CPU), nullptr);
  EXPECT_EQ(def.impl(Device::CUDA), nullptr);
  EXPECT_FALSE(def.autotune);
  EXPECT_FALSE(def.aot_impl);
  EXPECT_THAT(def.impl(Device::CPU)->attrs_used, IsEmpty());
}

TEST(Frontend, TwoInputsAreDeduced) {
  Unregister guard("test_frontend::two_inputs");
  define("test_frontend::two_inputs")
      .desc([](TensorDesc const& a, TensorDesc const& b) {
        return from_shape_expr({a.shape_expr[0], b.shape_expr[0]}, a.dtype);
      })
      .impl<cpu>([](In<float>, In<float>, Out<float>) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::two_inputs");
  EXPECT_EQ(def.num_inputs, 2);
  EXPECT_EQ(def.num_outputs, 1);
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {d00}),
                                input_desc(1, DataType::FP32, {ShapeExpr::input_dim(1, 0)})};
  auto out = def.desc(in, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0].shape_expr, ElementsAre(d00, ShapeExpr::input_dim(1, 0)));
}

TEST(Frontend, TupleOfTwoOutputsIsDeduced) {
  Unregister guard("test_frontend::two_outputs");
  define("test_frontend::two_outputs")
      .desc([](TensorDesc const& x) {
        TensorDesc count = size_tensor(x.shape_expr[0] / 2, x.shape_expr[0], DataType::INT32);
        return std::tuple{from_shape_expr({count.expr(), 2}, DataType::INT64), count};
      })
      .impl<cpu>([](In<float>, Out<int64_t>, Out<int32_t>) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::two_outputs");
  EXPECT_EQ(def.num_inputs, 1);
  EXPECT_EQ(def.num_outputs, 2);
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {d00, d01})};
  auto out = def.desc(in, {});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].dtype, DataType::INT64);
  EXPECT_EQ(out[0].rank(), 2);
  EXPECT_EQ(out[0].shape_expr[0], out[1].expr());
  EXPECT_TRUE(out[1].is_size_tensor());
  EXPECT_EQ(out[1].dtype, DataType::INT32);
  EXPECT_EQ(out[1].size_info().opt, d00 / 2);
  EXPECT_EQ(out[1].size_info().upper_bound, d00);
}

TEST(Frontend, ZeroInputsDispatchOnTheOutputType) {
  Unregister guard("test_frontend::no_inputs");
  // desc takes the attributes only. (A desc with no parameters at all also works, but makes
  // plugin.hpp warn under -Wall -Wextra: see compile_fail/zero_parameter_desc_is_warning_free.cpp.)
  define("test_frontend::no_inputs")
      .desc([](ScaleOnly const&) { return from_shape_expr({3}, DataType::FP16); })
      .impl<cpu, float, half>([]<class T>(Out<T> y) {
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = T(static_cast<float>(i) + 0.5f);
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::no_inputs");
  EXPECT_EQ(def.num_inputs, 0);
  auto out = HostTensor::zeros<half>(Dims{3});
  std::vector<Tensor> outs = {out.tensor};
  def.impl(Device::CPU)->bind({})({}, outs, {}, {});
  EXPECT_THAT(as_floats(out.values<half>()), ElementsAre(0.5f, 1.5f, 2.5f));
}

// --- Attributes
// -------------------------------------------------------------------------------------

TEST(Frontend, AttrsSchemaComesFromTheStruct) {
  Unregister guard("test_frontend::schema");
  define("test_frontend::schema")
      .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
      .impl<cpu>([](In<float>, Out<float>, PadAttrs const&) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::schema");
  std::vector<std::string> names;
  for (auto const& spec : def.attrs) names.push_back(spec.name);
  EXPECT_THAT(names, ElementsAre("pads", "mode", "scale", "block", "flag"));
  ASSERT_EQ(def.attrs.size(), 5u);
  EXPECT_EQ(def.attrs[0].type, AttrType::INT32S);
  EXPECT_EQ(def.attrs[1].type, AttrType::STRING);
  EXPECT_EQ(def.attrs[2].type, AttrType::FLOAT32);
  EXPECT_EQ(def.attrs[3].type, AttrType::INT64);
  EXPECT_EQ(def.attrs[4].type, AttrType::BOOL);
  for (auto const& spec : def.attrs) ASSERT_TRUE(spec.default_value.has_value()) << spec.name;
  EXPECT_EQ(*def.attrs[0].default_value, AttrValue(std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(*def.attrs[1].default_value, AttrValue(std::string("circular")));
  EXPECT_EQ(*def.attrs[2].default_value, AttrValue(0.5f));
  EXPECT_EQ(*def.attrs[3].default_value, AttrValue(int64_t{256}));
  EXPECT_EQ(*def.attrs[4].default_value, AttrValue(true));
  EXPECT_THAT(def.impl(Device::CPU)->attrs_used,
              ElementsAre("pads", "mode", "scale", "block", "flag"));
}

TEST(Frontend, AttrsSchemaOfEverySupportedScalarKind) {
  Unregister guard("test_frontend::every_type");
  define("test_frontend::every_type")
      .desc([](TensorDesc const& x, test_frontend::EveryType const&) { return x.like(); })
      .impl<cpu>([](In<>, Out<>) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::every_type");
  std::vector<AttrType> types;
  for (auto const& spec : def.attrs) types.push_back(spec.type);
  EXPECT_THAT(types,
              ElementsAre(AttrType::INT32, AttrType::INT64, AttrType::FLOAT32, AttrType::FLOAT64,
                          AttrType::BOOL, AttrType::STRING, AttrType::BYTES, AttrType::INT8S));
  EXPECT_EQ(*def.attrs[1].default_value, AttrValue(int64_t{1} << 40));
}

TEST(Frontend, AttrsOfAStructAreItsFieldValues) {
  PadAttrs a;
  a.pads = {0, 0};
  a.mode = "reflect";
  Attrs values = attrs(a);
  ASSERT_EQ(values.size(), 5u);
  EXPECT_EQ(values.at("pads"), AttrValue(std::vector<int32_t>{0, 0}));
  EXPECT_EQ(values.at("mode"), AttrValue(std::string("reflect")));
  EXPECT_EQ(values.at("scale"), AttrValue(0.5f));
  EXPECT_EQ(values.at("block"), AttrValue(int64_t{256}));
  EXPECT_EQ(values.at("flag"), AttrValue(true));
}

TEST(Frontend, DescReceivesTheAttributes) {
  Unregister guard("test_frontend::pad_desc");
  define("test_frontend::pad_desc")
      .desc([](TensorDesc const& x, PadAttrs const& a) {
        return from_shape_expr({x.shape_expr[0] + a.pads[0] + a.pads[1],
                                x.shape_expr[1] * static_cast<int64_t>(a.pads.size())},
                               a.mode == "circular" ? x.dtype : DataType::FP16);
      })
      .impl<cpu>([](In<float>, Out<float>) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::pad_desc");
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {d00, d01})};

  auto with_defaults = def.desc(in, resolve_attrs(def.id, def.attrs, {}));
  ASSERT_EQ(with_defaults.size(), 1u);
  EXPECT_EQ(with_defaults[0].dtype, DataType::FP32);
  EXPECT_THAT(with_defaults[0].shape_expr, ElementsAre(d00 + 1 + 2, d01 * 4));

  Attrs given;
  given.emplace("pads", std::vector<int64_t>{5, 6});  // converted to int32[] by resolve_attrs
  given.emplace("mode", std::string("reflect"));
  auto with_values = def.desc(in, resolve_attrs(def.id, def.attrs, given));
  ASSERT_EQ(with_values.size(), 1u);
  EXPECT_EQ(with_values[0].dtype, DataType::FP16);
  EXPECT_THAT(with_values[0].shape_expr, ElementsAre(d00 + 5 + 6, d01 * 2));
}

TEST(Frontend, DescCanAliasAnInput) {
  Unregister guard("test_frontend::in_place");
  define("test_frontend::in_place")
      .desc([](TensorDesc const& x) { return x.aliased(); })
      .impl<cpu>([](In<float>, Out<float>) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::in_place");
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {d00})};
  auto out = def.desc(in, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].aliased_input(), 0);
}

TEST(Frontend, AttributesReachTheImplDecoded) {
  Unregister guard("test_frontend::scaled");
  define("test_frontend::scaled")
      .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
      .impl<cpu>([](In<float> x, Out<float> y, PadAttrs const& a) {
        float offset = static_cast<float>(a.pads.size()) + (a.flag ? 1000.0f : 0.0f) +
                       (a.mode == "reflect" ? 100.0f : 0.0f);
        for (int64_t i = 0; i < x.numel(); ++i)
          y.data()[i] = x.data()[i] * a.scale + offset + static_cast<float>(a.block);
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::scaled");
  auto x = HostTensor::of<float>(Dims{3}, {1.0f, 2.0f, 4.0f});

  auto y = HostTensor::zeros<float>(Dims{3});
  run_cpu(def, resolve_attrs(def.id, def.attrs, {}), x, y);  // scale 0.5, 4 pads, flag, block 256
  EXPECT_THAT(y.values<float>(), ElementsAre(1260.5f, 1261.0f, 1262.0f));

  Attrs given;
  given.emplace("scale", 2.0);  // a double, converted to the declared float
  given.emplace("pads", std::vector<int32_t>{1});
  given.emplace("flag", int64_t{0});
  given.emplace("mode", std::string("reflect"));
  given.emplace("block", int32_t{0});
  auto z = HostTensor::zeros<float>(Dims{3});
  run_cpu(def, resolve_attrs(def.id, def.attrs, given), x, z);
  EXPECT_THAT(z.values<float>(), ElementsAre(103.0f, 105.0f, 109.0f));
}

TEST(Frontend, ImplTakingASubsetStructUsesOnlyThoseAttributes) {
  Unregister guard("test_frontend::subset");
  define("test_frontend::subset")
      .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
      .impl<cpu>([](In<float> x, Out<float> y, ScaleOnly const& a) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * a.scale;
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::subset");
  EXPECT_EQ(def.attrs.size(), 5u);  // the schema is desc's
  EXPECT_THAT(def.impl(Device::CPU)->attrs_used, ElementsAre("scale"));
  // Bound with only the attributes it uses, as an engine stores them.
  Attrs stored;
  stored.emplace("scale", 3.0f);
  auto x = HostTensor::of<float>(Dims{2}, {1.0f, -2.0f});
  auto y = HostTensor::zeros<float>(Dims{2});
  run_cpu(def, stored, x, y);
  EXPECT_THAT(y.values<float>(), ElementsAre(3.0f, -6.0f));
}

TEST(Frontend, ImplTakingAnAttributeDescDoesNotDeclareIsAnError) {
  Unregister guard("test_frontend::undeclared");
  // The check runs when the impl is attached, before commit().
  EXPECT_THAT(error_of([] {
                define("test_frontend::undeclared")
                    .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
                    .impl<cpu>([](In<float>, Out<float>, test_frontend::Undeclared const&) {})
                    .commit();
              }),
              AllOf(HasSubstr("plugin test_frontend::undeclared"), HasSubstr("attribute 'missing'"),
                    HasSubstr("desc does not declare")));
  EXPECT_EQ(Registry::global().find("test_frontend::undeclared"), nullptr);
}

TEST(Frontend, ImplTakingAttributesWhenDescTakesNoneIsAnError) {
  Unregister guard("test_frontend::no_desc_attrs");
  EXPECT_THAT(error_of([] {
                define("test_frontend::no_desc_attrs")
                    .desc([](TensorDesc const& x) { return x.like(); })
                    .impl<cpu>([](In<float>, Out<float>, ScaleOnly const&) {})
                    .commit();
              }),
              AllOf(HasSubstr("test_frontend::no_desc_attrs"), HasSubstr("'scale'"),
                    HasSubstr("desc does not declare")));
}

// An impl's attribute struct must match desc's declared types, not only its names.
TEST(Frontend, ImplAttributeOfAnotherTypeThanDescIsAnError) {
  Unregister guard("test_frontend::attr_type_mismatch");
  EXPECT_THAT(error_of([] {
                define("test_frontend::attr_type_mismatch")
                    .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
                    .impl<cpu>([](In<float>, Out<float>, test_frontend::ScaleAsInt const&) {})
                    .commit();
              }),
              AllOf(HasSubstr("test_frontend::attr_type_mismatch"), HasSubstr("'scale'"),
                    HasSubstr("int32"), HasSubstr("float32")));
}

// --- Running impls
// ------------------------------------------------------------------------------------

TEST(Frontend, BoundImplComputesOnHostTensors) {
  Unregister guard("test_frontend::add_one");
  define("test_frontend::add_one")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([](In<float> x, Out<float> y) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] + 1.0f;
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::add_one");
  auto x = HostTensor::of<float>(Dims{2, 2}, {0.0f, 1.5f, -3.0f, 10.0f});
  auto y = HostTensor::zeros<float>(Dims{2, 2});
  run_cpu(def, {}, x, y);
  EXPECT_THAT(y.values<float>(), ElementsAre(1.0f, 2.5f, -2.0f, 11.0f));
}

TEST(Frontend, ViewsExposeTheTensor) {
  Unregister guard("test_frontend::views");
  Dims seen_shape, seen_strides;
  int seen_rank = 0;
  DataType seen_dtype = DataType::BOOL;
  TensorFormat seen_format = TensorFormat::HWC;
  int64_t seen_dim1 = 0;
  void const* seen_data = nullptr;
  define("test_frontend::views")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([&](In<float> const& x, Out<float> const&) {
        seen_shape = x.shape();
        seen_strides = x.strides();
        seen_rank = x.rank();
        seen_dtype = x.dtype();
        seen_format = x.format();
        seen_dim1 = x.shape(1);
        seen_data = x.tensor().data;
      })
      .commit();
  auto x = HostTensor::zeros<float>(Dims{2, 3, 4});
  auto y = HostTensor::zeros<float>(Dims{2, 3, 4});
  run_cpu(*Registry::global().get("test_frontend::views"), {}, x, y);
  EXPECT_EQ(seen_shape, (Dims{2, 3, 4}));
  EXPECT_EQ(seen_strides, (Dims{12, 4, 1}));
  EXPECT_EQ(seen_rank, 3);
  EXPECT_EQ(seen_dtype, DataType::FP32);
  EXPECT_EQ(seen_format, TensorFormat::LINEAR);
  EXPECT_EQ(seen_dim1, 3);
  EXPECT_EQ(seen_data, x.tensor.data);
}

void negate_in_place(In<float> x, Out<float> y) {
  for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = -x.data()[i];
}

TEST(Frontend, ImplCanBeAPlainFunction) {
  Unregister guard("test_frontend::plain_function");
  define("test_frontend::plain_function")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>(&negate_in_place)
      .commit();
  auto x = HostTensor::of<float>(Dims{2}, {1.0f, -2.0f});
  auto y = HostTensor::zeros<float>(Dims{2});
  run_cpu(*Registry::global().get("test_frontend::plain_function"), {}, x, y);
  EXPECT_THAT(y.values<float>(), ElementsAre(-1.0f, 2.0f));
}

TEST(Frontend, UntypedViewsAcceptAnyDtype) {
  Unregister guard("test_frontend::untyped");
  define("test_frontend::untyped")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([](In<> x, Out<> y) { std::memcpy(y.data(), x.data(), x.tensor().bytes()); })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::untyped");
  auto x = HostTensor::of<int32_t>(Dims{3}, {7, 8, 9});
  auto y = HostTensor::zeros<int32_t>(Dims{3});
  run_cpu(def, {}, x, y);
  EXPECT_THAT(y.values<int32_t>(), ElementsAre(7, 8, 9));
}

TEST(Frontend, GenericImplDispatchesOnTheInputDtype) {
  Unregister guard("test_frontend::generic");
  define("test_frontend::generic")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu, float, half>([]<class T>(In<T> x, Out<T> y) {
        // float doubles, half triples: shows which instantiation ran.
        float factor = std::is_same_v<T, float> ? 2.0f : 3.0f;
        for (int64_t i = 0; i < x.numel(); ++i)
          y.data()[i] = T(static_cast<float>(x.data()[i]) * factor);
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::generic");
  BoundImpl bound = def.impl(Device::CPU)->bind({});

  auto xf = HostTensor::of<float>(Dims{2}, {1.0f, 2.5f});
  auto yf = HostTensor::zeros<float>(Dims{2});
  std::vector<Tensor> in = {xf.tensor}, out = {yf.tensor};
  bound(in, out, {}, {});
  EXPECT_THAT(yf.values<float>(), ElementsAre(2.0f, 5.0f));

  auto xh = HostTensor::of<half>(Dims{2}, {half(1.0f), half(-0.5f)});
  auto yh = HostTensor::zeros<half>(Dims{2});
  in = {xh.tensor};
  out = {yh.tensor};
  bound(in, out, {}, {});
  EXPECT_THAT(as_floats(yh.values<half>()), ElementsAre(3.0f, -1.5f));
}

TEST(Frontend, GenericImplOfAnUnlistedDtypeNamesPluginAndTypes) {
  Unregister guard("test_frontend::generic_unlisted");
  define("test_frontend::generic_unlisted")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu, float, half>([]<class T>(In<T>, Out<T>) {})
      .commit();
  BoundImpl bound =
      Registry::global().get("test_frontend::generic_unlisted")->impl(Device::CPU)->bind({});
  auto x = HostTensor::zeros<int32_t>(Dims{2});
  auto y = HostTensor::zeros<int32_t>(Dims{2});
  std::vector<Tensor> in = {x.tensor}, out = {y.tensor};
  EXPECT_THAT(error_of([&] { bound(in, out, {}, {}); }),
              AllOf(HasSubstr("plugin test_frontend::generic_unlisted"),
                    HasSubstr("no instantiation of the generic impl takes inputs [INT32]"),
                    HasSubstr("with T = FP32: input 0 is INT32, the impl takes FP32"),
                    HasSubstr("with T = FP16")));
}

TEST(Frontend, GenericImplTakesAttributes) {
  Unregister guard("test_frontend::generic_attrs");
  define("test_frontend::generic_attrs")
      .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
      .impl<cpu, float, bfloat16>([]<class T>(In<T> x, Out<T> y, ScaleOnly const& a) {
        for (int64_t i = 0; i < x.numel(); ++i)
          y.data()[i] = T(static_cast<float>(x.data()[i]) * a.scale);
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::generic_attrs");
  EXPECT_THAT(def.impl(Device::CPU)->attrs_used, ElementsAre("scale"));
  Attrs stored;
  stored.emplace("scale", 4.0f);
  auto x = HostTensor::of<bfloat16>(Dims{2}, {bfloat16(1.0f), bfloat16(0.5f)});
  auto y = HostTensor::zeros<bfloat16>(Dims{2});
  run_cpu(def, stored, x, y);
  auto got = y.values<bfloat16>();
  EXPECT_EQ(static_cast<float>(got[0]), 4.0f);
  EXPECT_EQ(static_cast<float>(got[1]), 2.0f);
}

TEST(Frontend, TypedInputGivenAnotherDtypeFails) {
  Unregister guard("test_frontend::typed_mismatch");
  bool ran = false;
  define("test_frontend::typed_mismatch")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([&](In<float>, Out<float>) { ran = true; })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::typed_mismatch");
  auto x = HostTensor::zeros<half>(Dims{2});
  auto y = HostTensor::zeros<float>(Dims{2});
  EXPECT_THAT(error_of([&] { run_cpu(def, {}, x, y); }),
              AllOf(HasSubstr("expects FP32"), HasSubstr("FP16 tensor")));
  EXPECT_FALSE(ran);
}

TEST(Frontend, TypedOutputGivenAnotherDtypeFails) {
  Unregister guard("test_frontend::typed_out_mismatch");
  define("test_frontend::typed_out_mismatch")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([](In<float>, Out<int32_t>) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::typed_out_mismatch");
  auto x = HostTensor::zeros<float>(Dims{2});
  auto y = HostTensor::zeros<int64_t>(Dims{2});
  EXPECT_THAT(error_of([&] { run_cpu(def, {}, x, y); }),
              AllOf(HasSubstr("expects INT32"), HasSubstr("INT64 tensor")));
}

TEST(Frontend, StreamAndTacticArePassedThrough) {
  Unregister guard("test_frontend::stream_tactic");
  void* seen_stream = nullptr;
  int32_t seen_tactic = -1;
  int* seen_as_typed_pointer = nullptr;
  define("test_frontend::stream_tactic")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([&](Tactic t, In<float>, Stream s, Out<float>) {  // any order
        seen_stream = s.handle;
        seen_as_typed_pointer = s;  // converts to any pointer type, like a cudaStream_t
        seen_tactic = t;
      })
      .commit();
  int marker = 0;
  auto x = HostTensor::zeros<float>(Dims{1});
  auto y = HostTensor::zeros<float>(Dims{1});
  run_cpu(*Registry::global().get("test_frontend::stream_tactic"), {}, x, y, Stream{&marker},
          Tactic{7});
  EXPECT_EQ(seen_stream, &marker);
  EXPECT_EQ(seen_as_typed_pointer, &marker);
  EXPECT_EQ(seen_tactic, 7);
}

TEST(Frontend, InputsAndOutputsAreMatchedByPosition) {
  Unregister guard("test_frontend::positions");
  define("test_frontend::positions")
      .desc([](TensorDesc const& a, TensorDesc const&) {
        return std::tuple{a.like(), a.like()};
      })
      .impl<cpu>([](In<float> a, Out<float> diff, In<float> b, Out<float> sum) {
        for (int64_t i = 0; i < a.numel(); ++i) {
          diff.data()[i] = a.data()[i] - b.data()[i];
          sum.data()[i] = a.data()[i] + b.data()[i];
        }
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::positions");
  EXPECT_EQ(def.num_inputs, 2);
  EXPECT_EQ(def.num_outputs, 2);
  auto a = HostTensor::of<float>(Dims{2}, {10.0f, 20.0f});
  auto b = HostTensor::of<float>(Dims{2}, {1.0f, 2.0f});
  auto diff = HostTensor::zeros<float>(Dims{2});
  auto sum = HostTensor::zeros<float>(Dims{2});
  std::vector<Tensor> in = {a.tensor, b.tensor}, out = {diff.tensor, sum.tensor};
  def.impl(Device::CPU)->bind({})(in, out, {}, {});
  EXPECT_THAT(diff.values<float>(), ElementsAre(9.0f, 18.0f));
  EXPECT_THAT(sum.values<float>(), ElementsAre(11.0f, 22.0f));
}

// --- autotune and aot_impl
// --------------------------------------------------------------------------

TEST(Frontend, AutotuneAndAotImplAreWrappedAndCallable) {
  Unregister guard("test_frontend::tuned");
  define("test_frontend::tuned")
      .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
      .impl<cpu>([](In<float>, Out<float>) {})
      .autotune([](TensorDesc const& x, PadAttrs const& a, Outputs outs) {
        std::vector<AutoTuneCombination> c;
        c.emplace_back(x.dtype == DataType::FP32 && outs.size() == 1 ? "FP32|FP16, FP32|FP16"
                                                                     : "FP32");
        c.back().tactics({static_cast<int32_t>(a.block), 2});
        return c;
      })
      .aot_impl([](TensorDesc const& x, PadAttrs const& a, Outputs outs, Tactic t) {
        AotKernel k;
        k.name = a.mode + "_kernel_" + std::to_string(t.value);
        k.code = "extern \"C\" __global__ void k() {}";
        k.grid = {cdiv(x.numel(), 256), 1, 1};
        k.block = {256, 1, 1};
        k.extra_args = {outs[0].numel()};
        return k;
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::tuned");
  ASSERT_TRUE(def.autotune);
  ASSERT_TRUE(def.aot_impl);
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {d00, d01})};
  Attrs given;
  given.emplace("block", int64_t{3});
  given.emplace("mode", std::string("reflect"));
  Attrs attrs = resolve_attrs(def.id, def.attrs, given);
  std::vector<TensorDesc> outs = def.desc(in, attrs);

  auto combos = def.autotune(in, attrs, outs);
  ASSERT_EQ(combos.size(), 1u);
  auto candidates = combos[0].expand(2);
  ASSERT_EQ(candidates.size(), 4u);  // 2 dependent type combinations x 2 tactics
  EXPECT_THAT(candidates[0].types, ElementsAre(DataType::FP32, DataType::FP32));
  std::vector<int32_t> tactics;
  for (auto const& c : candidates) tactics.push_back(c.tactic);
  EXPECT_THAT(tactics, testing::UnorderedElementsAre(3, 2, 3, 2));

  AotKernel k = def.aot_impl(in, attrs, outs, Tactic{5});
  EXPECT_EQ(k.name, "reflect_kernel_5");
  EXPECT_EQ(k.grid[0], cdiv(d00 * d01, 256));
  EXPECT_EQ(k.block[0].constant(), 256);
  ASSERT_EQ(k.extra_args.size(), 1u);
  EXPECT_EQ(k.extra_args[0], d00 * d01);
}

TEST(Frontend, AotImplWithoutAttributesOrTactic) {
  Unregister guard("test_frontend::aot_only");
  define("test_frontend::aot_only")
      .desc([](TensorDesc const& x) { return x.like(); })
      .aot_impl([](TensorDesc const&) {
        AotKernel k;
        k.name = "copy";
        k.kind = AotKernel::CodeKind::PTX;
        return k;
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::aot_only");
  EXPECT_TRUE(def.impls.empty());  // AOT only: no JIT impl is needed
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {4})};
  AotKernel k = def.aot_impl(in, {}, def.desc(in, {}), Tactic{1});
  EXPECT_EQ(k.name, "copy");
  EXPECT_EQ(k.kind, AotKernel::CodeKind::PTX);
}

TEST(Frontend, AutotuneWithoutAttributes) {
  Unregister guard("test_frontend::tuned_no_attrs");
  define("test_frontend::tuned_no_attrs")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<cpu>([](In<>, Out<>) {})
      .autotune([](TensorDesc const&) {
        return std::vector<AutoTuneCombination>{AutoTuneCombination("FP32*FP16, FP32")};
      })
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::tuned_no_attrs");
  std::vector<TensorDesc> in = {input_desc(0, DataType::FP32, {4})};
  auto combos = def.autotune(in, {}, def.desc(in, {}));
  ASSERT_EQ(combos.size(), 1u);
  EXPECT_EQ(combos[0].expand(2).size(), 2u);
}

// --- Definition errors
// ------------------------------------------------------------------------------

TEST(Frontend, DefiningTheSameIdTwiceFails) {
  Unregister guard("test_frontend::twice");
  auto define_it = [] {
    return define("test_frontend::twice")
        .desc([](TensorDesc const& x) { return x.like(); })
        .impl<cpu>([](In<float>, Out<float>) {})
        .commit();
  };
  define_it();
  EXPECT_THAT(error_of(define_it),
              AllOf(HasSubstr("plugin test_frontend::twice is already registered"),
                    HasSubstr("registered once")));
}

TEST(Frontend, TwoImplsForTheSameBackendFail) {
  Unregister guard("test_frontend::two_cpu_impls");
  EXPECT_THAT(error_of([] {
                define("test_frontend::two_cpu_impls")
                    .desc([](TensorDesc const& x) { return x.like(); })
                    .impl<cpu>([](In<float>, Out<float>) {})
                    .impl<cpu>([](In<float>, Out<float>) {})
                    .commit();
              }),
              AllOf(HasSubstr("plugin test_frontend::two_cpu_impls"),
                    HasSubstr("impl for cpu is defined twice")));
  EXPECT_EQ(Registry::global().find("test_frontend::two_cpu_impls"), nullptr);
}

TEST(Frontend, ImplsForDifferentBackendsAreKeptApart) {
  Unregister guard("test_frontend::two_backends");
  // A CUDA impl is just another callable here: defining it needs no GPU.
  define("test_frontend::two_backends")
      .desc([](TensorDesc const& x, PadAttrs const&) { return x.like(); })
      .impl<cpu>([](In<float>, Out<float>) {})
      .impl<cuda>([](In<float>, Out<float>, ScaleOnly const&) {})
      .commit();
  PluginDefinition const& def = *Registry::global().get("test_frontend::two_backends");
  ASSERT_NE(def.impl(Device::CPU), nullptr);
  ASSERT_NE(def.impl(Device::CUDA), nullptr);
  EXPECT_THAT(def.impl(Device::CPU)->attrs_used, IsEmpty());
  EXPECT_THAT(def.impl(Device::CUDA)->attrs_used, ElementsAre("scale"));
}

// A malformed ID is kept and reported when the definition is committed (where QDP_PLUGIN
// registers it), before anything else about the definition.
TEST(Frontend, MalformedIdFailsAtCommit) {
  EXPECT_THAT(
      error_of([] { (void)define("no_namespace").commit(); }),
      AllOf(HasSubstr("plugin ID 'no_namespace' is malformed"), HasSubstr("namespace::name")));
  EXPECT_THAT(error_of([] {
                (void)define("test_frontend::bad-name")
                    .desc([](TensorDesc const& x) { return x.like(); })
                    .commit();
              }),
              HasSubstr("is malformed"));
  EXPECT_THAT(error_of([] { (void)define("").commit(); }), HasSubstr("is malformed"));
}

TEST(Frontend, DescWithoutImplFailsAtCommit) {
  Unregister guard("test_frontend::desc_only");
  EXPECT_THAT(error_of([] {
                define("test_frontend::desc_only")
                    .desc([](TensorDesc const& x) { return x.like(); })
                    .commit();
              }),
              AllOf(HasSubstr("plugin test_frontend::desc_only"),
                    HasSubstr("needs an impl or an aot_impl")));
  EXPECT_EQ(Registry::global().find("test_frontend::desc_only"), nullptr);
}

// --- QDP_PLUGIN
// --------------------------------------------------------------------------------------

TEST(Frontend, StaticRegistrationIsInTheRegistry) {
  EXPECT_EQ(static_negate.id, "test_frontend::static_negate");
  auto def = Registry::global().find("test_frontend::static_negate");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->num_inputs, 1);
  EXPECT_EQ(def->num_outputs, 1);
  auto x = HostTensor::of<float>(Dims{3}, {1.0f, -2.0f, 0.0f});
  auto y = HostTensor::zeros<float>(Dims{3});
  run_cpu(*def, {}, x, y);
  EXPECT_THAT(y.values<float>(), ElementsAre(-1.0f, 2.0f, -0.0f));
}

}  // namespace
}  // namespace qdp
