// ONNX import (SPEC §1 "ONNX mapping"): models built here with ONNX's protobuf classes,
// serialized, imported, built on the CPU and run. Covers the attribute mapping (INT, FLOAT,
// STRING, INTS, FLOATS, 1-D TENSOR in raw_data and typed fields) with conversion to the declared
// types, dynamic dimensions, the `aot` attribute, multi-output plugins, and the errors for each
// mistake a model can make, including truncated and non-ONNX files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <qdp/onnx.hpp>
#include <qdp/qdp.hpp>
#include <span>
#include <string>
#include <vector>

#include "onnx/onnx_test_plugin.hpp"
#include "test_plugins.hpp"
#include "test_support.hpp"

namespace {

using qdp_test::error_of;
using ::testing::AllOf;
using ::testing::HasSubstr;
using Attr = onnx::AttributeProto;
using TP = onnx::TensorProto;

// A dimension of a graph input: a value, a dim_param name, or ("") neither.
struct Dim {
  Dim(int v) : value(v) {}          // NOLINT: implicit, for {2, "N"} lists
  Dim(char const* p) : param(p) {}  // NOLINT
  std::optional<int64_t> value;
  std::string param;
};

// A ModelProto under construction: inputs, plugin nodes, outputs.
class Model {
 public:
  Model() {
    proto_.set_ir_version(8);
    proto_.set_producer_name("qdp onnx_import_test");
    auto* opset = proto_.add_opset_import();
    opset->set_domain("");
    opset->set_version(17);
    proto_.mutable_graph()->set_name("test_graph");
  }

  Model& input(std::string const& name, std::vector<Dim> dims, int32_t elem_type = TP::FLOAT) {
    auto* vi = proto_.mutable_graph()->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (auto const& d : dims) {
      auto* dim = shape->add_dim();
      if (d.value)
        dim->set_dim_value(*d.value);
      else if (!d.param.empty())
        dim->set_dim_param(d.param);
    }
    return *this;
  }
  // A node of op `op`; `ns` becomes its plugin_namespace attribute (none when empty).
  onnx::NodeProto& node(std::string const& op, std::vector<std::string> const& inputs,
                        std::vector<std::string> const& outputs, std::string const& name = "",
                        std::string const& ns = "test") {
    auto* n = proto_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto const& i : inputs) n->add_input(i);
    for (auto const& o : outputs) n->add_output(o);
    if (!ns.empty()) {
      auto* a = n->add_attribute();
      a->set_name("plugin_namespace");
      a->set_type(Attr::STRING);
      a->set_s(ns);
    }
    return *n;
  }
  Model& output(std::string const& name) {
    proto_.mutable_graph()->add_output()->set_name(name);
    return *this;
  }
  onnx::ModelProto& proto() { return proto_; }
  std::string bytes() const { return proto_.SerializeAsString(); }

 private:
  onnx::ModelProto proto_;
};

Attr& add_attr(onnx::NodeProto& n, std::string const& name, Attr::AttributeType type) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return *a;
}
void set_int(onnx::NodeProto& n, std::string const& name, int64_t v) {
  add_attr(n, name, Attr::INT).set_i(v);
}
void set_float(onnx::NodeProto& n, std::string const& name, float v) {
  add_attr(n, name, Attr::FLOAT).set_f(v);
}
void set_string(onnx::NodeProto& n, std::string const& name, std::string const& v) {
  add_attr(n, name, Attr::STRING).set_s(v);
}
void set_ints(onnx::NodeProto& n, std::string const& name, std::vector<int64_t> const& v) {
  auto& a = add_attr(n, name, Attr::INTS);
  for (auto x : v) a.add_ints(x);
}
void set_floats(onnx::NodeProto& n, std::string const& name, std::vector<float> const& v) {
  auto& a = add_attr(n, name, Attr::FLOATS);
  for (auto x : v) a.add_floats(x);
}
// A 1-D TENSOR attribute of `size` elements; the caller fills its data.
TP& set_tensor(onnx::NodeProto& n, std::string const& name, int32_t data_type, int64_t size) {
  auto* t = add_attr(n, name, Attr::TENSOR).mutable_t();
  t->set_data_type(data_type);
  t->add_dims(size);
  return *t;
}
// Little-endian bytes of `values`, as raw_data holds them (the tests run on little-endian hosts).
template <class T>
std::string raw(std::vector<T> const& values) {
  return std::string(reinterpret_cast<char const*>(values.data()), values.size() * sizeof(T));
}

qdp::Network import_bytes(std::string const& bytes, std::string_view origin = "test.onnx") {
  return qdp::import_onnx_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), origin);
}
qdp::Network import(Model const& m) {
  return import_bytes(m.bytes());
}

qdp::Engine build(qdp::Network const& net) {
  qdp::BuildConfig config;
  config.strict_types = true;  // keep FP32: exact comparisons
  return qdp::build_engine(net, config);
}
std::vector<float> floats(qdp::Array const& a) {
  return std::vector<float>(a.data<float>(), a.data<float>() + a.numel());
}

std::string temp_path(std::string const& name) {
  return ::testing::TempDir() + "qdp_onnx_import_test_" + name;
}
void write_file(std::string const& path, std::string const& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// x -> test::scale(factor) -> y, for [2, 3] FP32.
Model scale_model(float factor = 3.0f) {
  Model m;
  m.input("x", {2, 3});
  set_float(m.node("scale", {"x"}, {"y"}, "scale_node"), "factor", factor);
  m.output("y");
  return m;
}

class OnnxImport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { affine_ = std::make_unique<test_onnx::AffinePlugin>(); }
  static void TearDownTestSuite() { affine_.reset(); }
  static inline std::unique_ptr<test_onnx::AffinePlugin> affine_;
};

// ---- the mapping ---------------------------------------------------------------------------

TEST_F(OnnxImport, MapsInputsNodesAndOutputs) {
  qdp::Network net = import(scale_model());
  ASSERT_EQ(net.inputs().size(), 1u);
  EXPECT_EQ(net.inputs()[0].name, "x");
  EXPECT_EQ(net.inputs()[0].dtype, qdp::DataType::FP32);
  EXPECT_EQ(net.inputs()[0].dims, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(net.layers().size(), 1u);
  EXPECT_EQ(net.layers()[0].name, "scale_node");
  EXPECT_EQ(net.layers()[0].plugin_id, "test::scale");
  EXPECT_EQ(net.layers()[0].impl, qdp::ImplChoice::Default);
  EXPECT_EQ(std::get<float>(net.layers()[0].attrs.at("factor")), 3.0f);
  ASSERT_EQ(net.outputs().size(), 1u);
  EXPECT_EQ(net.outputs()[0].name, "y");
}

TEST_F(OnnxImport, FloatAttributeRuns) {
  auto out = qdp::Runner(build(import(scale_model(2.5f))))
                 .infer({{"x", qdp::Array::from<float>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{2.5f, 5, 7.5f, 10, 12.5f, 15}));
}

TEST_F(OnnxImport, ReadsAFile) {
  std::string path = temp_path("scale.onnx");
  write_file(path, scale_model(4.0f).bytes());
  auto out = qdp::Runner(build(qdp::import_onnx(path)))
                 .infer({{"x", qdp::Array::from<float>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{4, 8, 12, 16, 20, 24}));
  std::remove(path.c_str());
}

TEST_F(OnnxImport, IntAttributeIsConvertedToTheDeclaredInt32) {
  Model m = scale_model();
  set_int(*m.proto().mutable_graph()->mutable_node(0), "unused_by_impl", -12);
  qdp::Network net = import(m);
  EXPECT_EQ(std::get<int32_t>(net.layers()[0].attrs.at("unused_by_impl")), -12);
}

TEST_F(OnnxImport, IntAttributeOutOfInt32RangeIsAnError) {
  Model m = scale_model();
  set_int(*m.proto().mutable_graph()->mutable_node(0), "unused_by_impl", int64_t{1} << 40);
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("test.onnx: node 'scale_node' (op scale)"),
                    HasSubstr("attribute 'unused_by_impl' expects int32"),
                    HasSubstr("1099511627776 is out of range")));
}

TEST_F(OnnxImport, IntAttributeForAFloatIsConverted) {
  Model m;
  m.input("x", {3});
  set_int(m.node("scale", {"x"}, {"y"}), "factor", 2);
  m.output("y");
  qdp::Network net = import(m);
  EXPECT_EQ(std::get<float>(net.layers()[0].attrs.at("factor")), 2.0f);
}

TEST_F(OnnxImport, IntsAndFloatsAttributes) {
  Model m;
  m.input("x", {2, 2});
  auto& n = m.node("affine", {"x"}, {"y"}, "affine", "test_onnx");
  set_floats(n, "weights", {1, 2});
  set_ints(n, "offsets", {10, -20, 30, -40});  // INTS are int64: narrowed to int32
  m.output("y");
  qdp::Network net = import(m);
  EXPECT_EQ(std::get<std::vector<int32_t>>(net.layers()[0].attrs.at("offsets")),
            (std::vector<int32_t>{10, -20, 30, -40}));
  auto out = qdp::Runner(build(net)).infer({{"x", qdp::Array::from<float>({2, 2}, {1, 2, 3, 4})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{11, -16, 33, -32}));
}

TEST_F(OnnxImport, IntsOutOfRangeForInt32ArrayIsAnError) {
  Model m;
  m.input("x", {2});
  set_ints(m.node("affine", {"x"}, {"y"}, "a", "test_onnx"), "offsets", {1, int64_t{1} << 33});
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }), AllOf(HasSubstr("node 'a' (op affine)"),
                                                  HasSubstr("attribute 'offsets' expects int32[]"),
                                                  HasSubstr("8589934592 is out of range")));
}

TEST_F(OnnxImport, TensorAttributeInt32FromRawData) {
  Model m;
  m.input("x", {4});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  set_tensor(n, "offsets", TP::INT32, 4).set_raw_data(raw(std::vector<int32_t>{1, -2, 300000, 4}));
  set_tensor(n, "weights", TP::FLOAT, 2).set_raw_data(raw(std::vector<float>{0.5f, 2.0f}));
  m.output("y");
  qdp::Network net = import(m);
  EXPECT_EQ(std::get<std::vector<int32_t>>(net.layers()[0].attrs.at("offsets")),
            (std::vector<int32_t>{1, -2, 300000, 4}));
  auto out = qdp::Runner(build(net)).infer({{"x", qdp::Array::from<float>({4}, {2, 2, 2, 2})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{2, 2, 300001, 8}));
}

TEST_F(OnnxImport, TensorAttributeInt32FromTypedField) {
  Model m;
  m.input("x", {3});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  auto& t = set_tensor(n, "offsets", TP::INT32, 3);
  for (int v : {7, 8, -9}) t.add_int32_data(v);
  auto& w = set_tensor(n, "weights", TP::FLOAT, 1);
  w.add_float_data(3.0f);
  m.output("y");
  auto out = qdp::Runner(build(import(m))).infer({{"x", qdp::Array::from<float>({3}, {1, 2, 3})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{10, 14, 0}));
}

TEST_F(OnnxImport, TensorAttributesOfOtherTypesAreConvertedToTheDeclaredType) {
  Model m;
  m.input("x", {2});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  // int64 (numpy's default integers) -> int32[]; float16 -> float32[].
  set_tensor(n, "offsets", TP::INT64, 2).set_raw_data(raw(std::vector<int64_t>{-5, 6}));
  set_tensor(n, "weights", TP::FLOAT16, 2)
      .set_raw_data(raw(std::vector<uint16_t>{0x3C00, 0xC000}));  // 1.0, -2.0
  m.output("y");
  qdp::Network net = import(m);
  auto const& attrs = net.layers()[0].attrs;
  EXPECT_EQ(std::get<std::vector<int32_t>>(attrs.at("offsets")), (std::vector<int32_t>{-5, 6}));
  EXPECT_EQ(std::get<std::vector<float>>(attrs.at("weights")), (std::vector<float>{1, -2}));
}

TEST_F(OnnxImport, TensorAttributeDoubleAndUint8) {
  Model m;
  m.input("x", {2});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  set_tensor(n, "offsets", TP::UINT8, 2).set_raw_data(raw(std::vector<uint8_t>{200, 7}));
  auto& w = set_tensor(n, "weights", TP::DOUBLE, 2);
  w.add_double_data(0.25);
  w.add_double_data(-1.5);
  m.output("y");
  qdp::Network net = import(m);
  auto const& attrs = net.layers()[0].attrs;
  EXPECT_EQ(std::get<std::vector<int32_t>>(attrs.at("offsets")), (std::vector<int32_t>{200, 7}));
  EXPECT_EQ(std::get<std::vector<float>>(attrs.at("weights")), (std::vector<float>{0.25f, -1.5f}));
}

TEST_F(OnnxImport, TensorAttributeBoolAndBfloat16) {
  auto weights_for = [](auto fill) {
    Model m;
    m.input("x", {2});
    fill(m.node("affine", {"x"}, {"y"}, "a", "test_onnx"));
    m.output("y");
    return std::get<std::vector<float>>(import(m).layers()[0].attrs.at("weights"));
  };
  EXPECT_EQ(weights_for([](onnx::NodeProto& n) {
              set_tensor(n, "weights", TP::BOOL, 2).set_raw_data(raw(std::vector<uint8_t>{1, 0}));
            }),
            (std::vector<float>{1, 0}));
  EXPECT_EQ(weights_for([](onnx::NodeProto& n) {
              auto& t = set_tensor(n, "weights", TP::BFLOAT16, 2);
              t.add_int32_data(0x3FC0);  // 1.5
              t.add_int32_data(0xC100);  // -8
            }),
            (std::vector<float>{1.5f, -8}));
  EXPECT_THAT(error_of([&] {
                weights_for([](onnx::NodeProto& n) {
                  set_tensor(n, "weights", TP::BOOL, 1).set_raw_data(raw(std::vector<uint8_t>{2}));
                });
              }),
              HasSubstr("attribute 'weights': 2 is not a BOOL value (0 or 1)"));
}

TEST_F(OnnxImport, TensorAttributeOutOfRangeIsAnError) {
  Model m;
  m.input("x", {2});
  set_tensor(m.node("affine", {"x"}, {"y"}, "a", "test_onnx"), "offsets", TP::INT64, 1)
      .add_int64_data(int64_t{1} << 35);
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 'a' (op affine)"), HasSubstr("'offsets' expects int32[]"),
                    HasSubstr("34359738368 is out of range")));
}

TEST_F(OnnxImport, MalformedTensorAttributesAreErrors) {
  auto error_for = [](auto fill) {
    Model m;
    m.input("x", {2});
    auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
    fill(n);
    m.output("y");
    return error_of([&] { import(m); });
  };
  std::string where = "test.onnx: node 'a' (op affine), attribute 'offsets'";
  EXPECT_THAT(error_for([](onnx::NodeProto& n) {
                set_tensor(n, "offsets", TP::INT32, 3).set_raw_data(raw(std::vector<int32_t>{1}));
              }),
              AllOf(HasSubstr(where), HasSubstr("raw_data holds 4 bytes, but 3 elements")));
  EXPECT_THAT(error_for([](onnx::NodeProto& n) {
                set_tensor(n, "offsets", TP::INT32, 2).add_int32_data(1);
              }),
              AllOf(HasSubstr(where), HasSubstr("dims say 2 element(s), but it holds 1")));
  EXPECT_THAT(error_for([](onnx::NodeProto& n) {
                auto& t = set_tensor(n, "offsets", TP::INT32, 1);
                t.add_dims(1);
                t.add_int32_data(1);
              }),
              AllOf(HasSubstr(where), HasSubstr("must be 1-D, but this one has 2 dimension(s)")));
  EXPECT_THAT(error_for([](onnx::NodeProto& n) {
                set_tensor(n, "offsets", TP::STRING, 1).add_string_data("a");
              }),
              AllOf(HasSubstr(where), HasSubstr("element type STRING is not supported")));
  EXPECT_THAT(
      error_for(
          [](onnx::NodeProto& n) { set_tensor(n, "offsets", TP::INT8, 1).add_int32_data(300); }),
      AllOf(HasSubstr(where), HasSubstr("int32_data holds 300, which is not a valid INT8")));
  EXPECT_THAT(error_for([](onnx::NodeProto& n) {
                set_tensor(n, "offsets", TP::INT32, 1000000000000).add_int32_data(1);
              }),
              AllOf(HasSubstr(where), HasSubstr("dims say 1000000000000 element(s)")));
}

// fuzz_onnx: an initializer whose dims say 16 G elements and whose float_data holds none is a
// corrupt file, found before anything is allocated for it.
TEST_F(OnnxImport, AnInitializerWithHugeDimsAndNoDataIsCorruptNotAnAllocation) {
  Model m;
  m.input("x", {2});
  auto& w = *m.proto().mutable_graph()->add_initializer();
  w.set_name("w");
  w.set_data_type(TP::FLOAT);
  for (int64_t d : {1024, 1024, 1024, 16}) w.add_dims(d);
  m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  m.output("y");
  EXPECT_EQ(qdp_test::code_of([&] { import(m); }), qdp::ErrorCode::CorruptFile);
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("dims say 17179869184 element(s), but float_data holds 0"));
}

TEST_F(OnnxImport, StringAttribute) {
  Model m;
  m.input("x", {2});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  set_string(n, "mode", "offsets_only");
  set_floats(n, "weights", {5});
  set_ints(n, "offsets", {1, 2});
  m.output("y");
  auto out = qdp::Runner(build(import(m))).infer({{"x", qdp::Array::from<float>({2}, {3, 4})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{4, 6}));
}

TEST_F(OnnxImport, IntAttributeForABool) {
  Model m;
  m.input("x", {4});
  set_int(m.node("filter", {"x"}, {"y", "n"}, "f"), "lie", 1);
  m.output("y");
  EXPECT_EQ(std::get<bool>(import(m).layers()[0].attrs.at("lie")), true);
}

TEST_F(OnnxImport, AttributeWithoutTypeIsAnError) {
  Model m;
  m.input("x", {4});
  add_attr(m.node("filter", {"x"}, {"y", "n"}, "f"), "lie", Attr::UNDEFINED).set_i(1);
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("node 'f' (op filter), attribute 'lie': the attribute has no type"));
}

TEST_F(OnnxImport, StringForABoolIsAnError) {
  Model m;
  m.input("x", {4});
  set_string(m.node("filter", {"x"}, {"y", "n"}, "f"), "lie", "yes");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 'f' (op filter)"),
                    HasSubstr("attribute 'lie' expects bool but received string (\"yes\")")));
}

TEST_F(OnnxImport, IllTypedAttributeIsAnError) {
  Model m;
  m.input("x", {3});
  set_string(m.node("scale", {"x"}, {"y"}, "s"), "factor", "big");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("test.onnx: node 's' (op scale)"),
                    HasSubstr("attribute 'factor' expects float32 but received string")));
}

TEST_F(OnnxImport, UnsupportedAttributeTypeIsAnError) {
  Model m;
  m.input("x", {3});
  auto& a = add_attr(m.node("scale", {"x"}, {"y"}, "s"), "factor", Attr::STRINGS);
  a.add_strings("a");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 's' (op scale), attribute 'factor'"),
                    HasSubstr("attributes of type STRINGS are not supported")));
}

TEST_F(OnnxImport, UnknownAttributeIsAnError) {
  Model m = scale_model();
  set_int(*m.proto().mutable_graph()->mutable_node(0), "bogus", 1);
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 'scale_node' (op scale)"),
                    HasSubstr("unknown attribute 'bogus'"), HasSubstr("factor, unused_by_impl")));
}

// A default-domain node without plugin_namespace is a standard ONNX operator.
TEST_F(OnnxImport, DefaultDomainNodeWithoutNamespaceIsAStandardOperator) {
  Model m;
  m.input("x", {3});
  m.node("scale", {"x"}, {"y"}, "s", /*ns=*/"");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("test.onnx: node 's' (op scale): operator scale (opset"),
                    HasSubstr("is not supported by qdp; the standard operators it supports are: "),
                    HasSubstr("Add, ")));
}

TEST_F(OnnxImport, PluginNamespaceMustBeAString) {
  Model m;
  m.input("x", {3});
  set_int(m.node("scale", {"x"}, {"y"}, "s", ""), "plugin_namespace", 1);
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("attribute 'plugin_namespace': must be a STRING"));
}

TEST_F(OnnxImport, UnknownOpIsTheRegistrysError) {
  Model m;
  m.input("x", {3});
  m.node("nonexistent", {"x"}, {"y"}, "n");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("test.onnx: node 'n' (op nonexistent)"),
                    HasSubstr("plugin test::nonexistent is not defined in this process")));
}

TEST_F(OnnxImport, MalformedNamespaceIsAnError) {
  Model m;
  m.input("x", {3});
  m.node("scale", {"x"}, {"y"}, "n", "my ns");
  m.output("y");
  EXPECT_THAT(
      error_of([&] { import(m); }),
      AllOf(HasSubstr("node 'n' (op scale)"), HasSubstr("plugin ID 'my ns::scale' is malformed")));
}

TEST_F(OnnxImport, UndefinedInputIsAnError) {
  Model m;
  m.input("x", {3});
  m.node("sum2", {"x", "nowhere"}, {"y"}, "add");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("test.onnx: node 'add' (op sum2): input 'nowhere' is not defined by any "
                        "graph input or earlier node"));
}

TEST_F(OnnxImport, NodesOutOfOrderAreAnError) {
  Model m;
  m.input("x", {3});
  m.node("scale", {"t"}, {"y"}, "second");
  m.node("scale", {"x"}, {"t"}, "first");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 'second' (op scale): input 't' is produced by node 'first', "
                              "which comes later"),
                    HasSubstr("topological order")));
}

TEST_F(OnnxImport, InitializerFeedsAPlugin) {
  Model m;
  m.input("x", {3});
  auto* w = m.proto().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(TP::FLOAT);
  w->add_dims(3);
  for (int i = 0; i < 3; ++i) w->add_float_data(10.0f * static_cast<float>(i));
  m.input("w", {3});  // listed as an input too (IR < 4 style): its default, a constant
  m.node("sum2", {"x", "w"}, {"y"}, "add");
  m.output("y");
  auto out = qdp::Runner(build(import(m))).infer({{"x", qdp::Array::from<float>({3}, {1, 2, 3})}});
  auto const& y = out.at("y");
  EXPECT_EQ(y.data<float>()[0], 1.0f);
  EXPECT_EQ(y.data<float>()[2], 23.0f);
}

TEST_F(OnnxImport, TruncatedInitializerIsAnError) {
  Model m;
  m.input("x", {3});
  auto* w = m.proto().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(TP::FLOAT);
  w->add_dims(3);
  w->set_raw_data(std::string(8, '\0'));
  m.node("sum2", {"x", "w"}, {"y"}, "add");
  m.output("y");
  EXPECT_THAT(
      error_of([&] { import(m); }),
      AllOf(HasSubstr("initializer 'w': raw_data holds 8 bytes, but 3 elements of FLOAT take 12"),
            HasSubstr("truncated")));
}

TEST_F(OnnxImport, EmptyOptionalInputIsAnError) {
  Model m;
  m.input("x", {3});
  m.node("sum2", {"x", ""}, {"y"}, "add");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 'add' (op sum2): input #1 is empty"),
                    HasSubstr("fixed number of inputs")));
}

TEST_F(OnnxImport, WrongInputCountIsTheNetworksError) {
  Model m;
  m.input("x", {3});
  m.node("sum2", {"x"}, {"y"}, "add");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("node 'add' (op sum2)"), HasSubstr("takes 2 input(s), 1 given")));
}

TEST_F(OnnxImport, ChainOfNodesWithTwoInputsAndAnInPlacePlugin) {
  Model m;
  m.input("a", {4}).input("b", {4});
  set_float(m.node("scale", {"a"}, {"a2"}), "factor", 2.0f);
  set_float(m.node("add_inplace", {"b"}, {"b1"}), "delta", 1.0f);
  m.node("sum2", {"a2", "b1"}, {"y"});
  m.output("y");
  qdp::Network net = import(m);
  ASSERT_EQ(net.layers().size(), 3u);
  // Unnamed nodes are named <op_type>_<index>.
  EXPECT_EQ(net.layers()[0].name, "scale_0");
  EXPECT_EQ(net.layers()[1].name, "add_inplace_1");
  EXPECT_EQ(net.layers()[2].name, "sum2_2");
  auto out = qdp::Runner(build(net))
                 .infer({{"a", qdp::Array::from<float>({4}, {1, 2, 3, 4})},
                         {"b", qdp::Array::from<float>({4}, {10, 20, 30, 40})}});
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{13, 25, 37, 49}));
}

TEST_F(OnnxImport, TwoOutputPlugin) {
  Model m;
  m.input("x", {6});
  set_float(m.node("filter", {"x"}, {"kept", "count"}, "f"), "threshold", 2.5f);
  m.output("kept").output("count");
  auto out = qdp::Runner(build(import(m)))
                 .infer({{"x", qdp::Array::from<float>({6}, {1, 5, 2, 7, 3, 0})}});
  EXPECT_EQ(floats(out.at("kept")), (std::vector<float>{5, 7, 3}));
  EXPECT_EQ(*out.at("count").data<int64_t>(), 3);
}

TEST_F(OnnxImport, UnreadOutputMayBeEmpty) {
  Model m;
  m.input("x", {6});
  m.node("filter", {"x"}, {"kept", ""}, "f");
  m.output("kept");
  EXPECT_NO_THROW(import(m));
}

TEST_F(OnnxImport, WrongOutputCountIsAnError) {
  Model m;
  m.input("x", {6});
  m.node("filter", {"x"}, {"kept"}, "f");
  m.output("kept");
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("test.onnx: node 'f' (op filter): the node lists 1 output(s), but plugin "
                        "test::filter has 2"));
}

TEST_F(OnnxImport, OutputDefinedTwiceIsAnError) {
  Model m;
  m.input("x", {3});
  m.node("scale", {"x"}, {"y"}, "one");
  m.node("scale", {"x"}, {"y"}, "two");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("node 'two' (op scale): output 'y' is already defined by node 'one'"));
}

TEST_F(OnnxImport, GraphOutputNeverProducedIsAnError) {
  Model m = scale_model();
  m.output("ghost");
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("test.onnx: graph output 'ghost': no node produces it"));
}

TEST_F(OnnxImport, GraphOutputThatIsAGraphInputIsTheNetworksError) {
  Model m = scale_model();
  m.output("x");
  EXPECT_THAT(error_of([&] { import(m); }), HasSubstr("test.onnx: graph output 'x': "));
}

TEST_F(OnnxImport, DuplicateNodeNamesAreTheNetworksError) {
  Model m;
  m.input("x", {3});
  m.node("scale", {"x"}, {"t"}, "same");
  m.node("scale", {"t"}, {"y"}, "same");
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }), HasSubstr("layer name 'same' is used twice"));
}

// ---- inputs ----------------------------------------------------------------------------------

TEST_F(OnnxImport, DynamicDimensionsNeedAProfile) {
  Model m;
  m.input("x", {"N", "", 2});  // dim_param, neither, a value
  set_float(m.node("scale", {"x"}, {"y"}, "s"), "factor", 10.0f);
  m.output("y");
  qdp::Network net = import(m);
  EXPECT_EQ(net.inputs()[0].dims, (std::vector<int64_t>{-1, -1, 2}));
  EXPECT_THAT(error_of([&] { build(net); }), HasSubstr("set its profile"));
  net.set_profile("x", {1, 1, 2}, {2, 2, 2}, {4, 4, 2});
  qdp::Runner runner(build(net));
  for (qdp::Dims shape : {qdp::Dims{1, 1, 2}, qdp::Dims{3, 4, 2}}) {
    auto out = runner.infer({{"x", test_plugins::iota_array(shape)}});
    auto const& y = out.at("y");
    ASSERT_EQ(y.shape(), shape);
    for (int64_t i = 0; i < y.numel(); ++i)
      EXPECT_EQ(y.data<float>()[i], 10.0f * (1.0f + static_cast<float>(i)));
  }
}

TEST_F(OnnxImport, InputTypesMap) {
  struct Case {
    int32_t onnx;
    qdp::DataType qdp;
  };
  for (Case c : {Case{TP::FLOAT, qdp::DataType::FP32}, Case{TP::FLOAT16, qdp::DataType::FP16},
                 Case{TP::BFLOAT16, qdp::DataType::BF16}, Case{TP::INT8, qdp::DataType::INT8},
                 Case{TP::UINT8, qdp::DataType::UINT8}, Case{TP::INT32, qdp::DataType::INT32},
                 Case{TP::INT64, qdp::DataType::INT64}, Case{TP::BOOL, qdp::DataType::BOOL}}) {
    Model m;
    m.input("x", {2}, c.onnx);
    m.node("scale", {"x"}, {"y"});
    m.output("y");
    EXPECT_EQ(import(m).inputs()[0].dtype, c.qdp) << TP::DataType_Name(c.onnx);
  }
}

TEST_F(OnnxImport, UnsupportedInputTypeIsAnError) {
  Model m;
  m.input("x", {2}, TP::DOUBLE);
  m.node("scale", {"x"}, {"y"});
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("test.onnx: graph input 'x': element type DOUBLE is not supported"),
                    HasSubstr("use FLOAT, FLOAT16")));
}

TEST_F(OnnxImport, InputWithoutShapeIsAnError) {
  Model m;
  m.input("x", {2});
  m.proto().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  m.node("scale", {"x"}, {"y"});
  m.output("y");
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("graph input 'x': the input has no shape"),
                    HasSubstr("dim_param for a dynamic one")));
}

// ---- aot -----------------------------------------------------------------------------------

TEST_F(OnnxImport, AotAttributeChoosesTheImplementation) {
  auto impl_for = [](std::optional<int64_t> aot) {
    Model m;
    m.input("x", {2});
    auto& n = m.node("both_impls", {"x"}, {"y"}, "b");
    if (aot) set_int(n, "aot", *aot);
    m.output("y");
    qdp::Network net = import(m);
    EXPECT_EQ(net.layers()[0].attrs.size(), 0u);  // `aot` is not a plugin attribute
    return net.layers()[0].impl;
  };
  EXPECT_EQ(impl_for(std::nullopt), qdp::ImplChoice::Default);
  EXPECT_EQ(impl_for(0), qdp::ImplChoice::JIT);
  EXPECT_EQ(impl_for(1), qdp::ImplChoice::AOT);
}

TEST_F(OnnxImport, AotOnAPluginWithoutAotImplIsTheNetworksError) {
  Model m = scale_model();
  set_int(*m.proto().mutable_graph()->mutable_node(0), "aot", 1);
  EXPECT_THAT(error_of([&] { import(m); }),
              AllOf(HasSubstr("test.onnx: node 'scale_node' (op scale)"),
                    HasSubstr("asks for the AOT implementation of plugin test::scale, which has "
                              "no aot_impl")));
}

TEST_F(OnnxImport, AotMustBeZeroOrOne) {
  Model m = scale_model();
  set_int(*m.proto().mutable_graph()->mutable_node(0), "aot", 2);
  EXPECT_THAT(error_of([&] { import(m); }),
              HasSubstr("node 'scale_node' (op scale), attribute 'aot': must be 1 (the AOT "
                        "implementation) or 0 (the JIT one), not 2"));
}

// ---- files that are not (whole) ONNX models ----------------------------------------------------

TEST_F(OnnxImport, EveryTruncatedPrefixIsAnError) {
  // Without opset_import the graph is the last field written, so every strict prefix lacks the
  // graph or cuts it (a length-delimited field) short: no prefix is a whole model.
  Model m;
  m.input("x", {"N", 4});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  set_tensor(n, "offsets", TP::INT32, 2).set_raw_data(raw(std::vector<int32_t>{1, 2}));
  set_floats(n, "weights", {1, 2, 3});
  m.output("y");
  m.proto().clear_opset_import();
  std::string full = m.bytes();
  ASSERT_NO_THROW(import_bytes(full));
  for (size_t size = 0; size < full.size(); ++size) {
    std::string message = error_of([&] { import_bytes(full.substr(0, size), "cut.onnx"); });
    EXPECT_TRUE(message.find("not a valid ONNX model: cut.onnx") != std::string::npos ||
                message.find("cut.onnx: the ONNX model has no graph") != std::string::npos)
        << size << " bytes: " << message;
  }
}

TEST_F(OnnxImport, CorruptedBytesGiveAnErrorOrANetworkNeverACrash) {
  Model m;
  m.input("x", {"N", 4});
  auto& n = m.node("affine", {"x"}, {"y"}, "a", "test_onnx");
  set_tensor(n, "offsets", TP::INT32, 2).set_raw_data(raw(std::vector<int32_t>{1, 2}));
  auto& w = set_tensor(n, "weights", TP::FLOAT, 2);
  w.add_float_data(1);
  w.add_float_data(2);
  m.output("y");
  std::string full = m.bytes();
  int errors = 0;
  for (size_t size = 0; size < full.size(); ++size) {  // with opset_import: some prefixes parse
    try {
      import_bytes(full.substr(0, size));
    } catch (qdp::Error const&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  for (size_t i = 0; i < full.size(); ++i)
    for (unsigned char flip : {0x01, 0x10, 0x80, 0xff}) {
      std::string bad = full;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ flip);
      try {
        import_bytes(bad);
      } catch (qdp::Error const&) {
      }
    }
}

TEST_F(OnnxImport, NonOnnxFileIsAnError) {
  std::string path = temp_path("not_onnx.txt");
  write_file(path, "This is a text file, not an ONNX model.\n");
  EXPECT_THAT(error_of([&] { qdp::import_onnx(path); }),
              HasSubstr("not a valid ONNX model: " + path));
  std::remove(path.c_str());
}

TEST_F(OnnxImport, EmptyFileHasNoGraph) {
  std::string path = temp_path("empty.onnx");
  write_file(path, "");
  EXPECT_THAT(error_of([&] { qdp::import_onnx(path); }),
              HasSubstr(path + ": the ONNX model has no graph"));
  std::remove(path.c_str());
}

TEST_F(OnnxImport, MissingFileIsAnError) {
  std::string path = temp_path("does_not_exist.onnx");
  EXPECT_THAT(error_of([&] { qdp::import_onnx(path); }),
              HasSubstr("cannot open ONNX model '" + path + "': No such file or directory"));
}

TEST_F(OnnxImport, DirectoryIsAnError) {
  std::string path = ::testing::TempDir();
  EXPECT_THAT(error_of([&] { qdp::import_onnx(path); }), HasSubstr(path));
}

}  // namespace
