// The element-wise ONNX operators (src/ops/elementwise): each against a plain loop on random data
// through the network API, builder and runner on the CPU; bad attributes, types and shapes with
// their messages; the CUDA impls against the CPU ones (suites ending in Gpu, skipped without a
// GPU).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <qdp/device_buffer.hpp>
#include <qdp/qdp.hpp>
#include <random>
#include <stdexcept>

#include "impl_runner.hpp"
#include "ops/common.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

// An omitted optional ONNX input, as the importer passes it.
Array absent_input() {
  return Array(DataType::INT64, Dims{0});
}

// "Add" is onnx::Add; an id with its domain ("qdp::AddLayerNorm") stays as it is.
std::string plugin_id(std::string const& op) {
  return op.find("::") == std::string::npos ? "onnx::" + op : op;
}

// Builds a one-layer network for `op` on `device` with inputs in0, in1, ... and runs it.
std::vector<Array> run_op(std::string const& op, std::vector<Array> const& inputs, Attrs attrs = {},
                          Device device = Device::CPU, int outputs = 1) {
  Network net;
  std::vector<TensorRef> refs;
  std::map<std::string, Array> feed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    std::vector<int64_t> dims(inputs[i].shape().begin(), inputs[i].shape().end());
    refs.push_back(net.add_input(name, inputs[i].dtype(), dims));
    feed.emplace(name, inputs[i]);
  }
  auto outs = net.add_plugin(plugin_id(op), refs, std::move(attrs));
  for (int i = 0; i < outputs; ++i)
    net.mark_output(outs[static_cast<size_t>(i)], "out" + std::to_string(i));
  BuildConfig config;
  config.device = device;
  config.strict_types = true;  // the declared types, not a cheaper candidate
  auto result = Runner(build_engine(net, config)).infer(feed);
  std::vector<Array> got;
  for (int i = 0; i < outputs; ++i) got.push_back(result.at("out" + std::to_string(i)));
  return got;
}
bool is_absent(Array const& a) {
  return a.dtype() == DataType::INT64 && a.shape() == Dims{0};
}

// The plugin's desc and impl called directly, without a network: how an omitted optional input
// (an empty tensor, which the runner cannot bind) reaches an impl. One output.
Array call_direct(std::string const& op, std::vector<Array> const& inputs, Attrs const& attrs,
                  Device device) {
  auto def = Registry::global().find(plugin_id(op));
  if (!def) throw std::runtime_error("no plugin " + plugin_id(op));
  Attrs resolved = resolve_attrs(def->id, def->attrs, attrs);
  std::vector<TensorDesc> descs;
  for (auto const& a : inputs) {
    std::vector<ShapeExpr> dims(a.shape().begin(), a.shape().end());
    descs.emplace_back(a.dtype(), dims);
  }
  TensorDesc out_desc = def->desc(descs, resolved).at(0);
  Dims out_shape;
  for (auto const& e : out_desc.shape_expr) out_shape.push_back(e.constant());
  std::vector<std::pair<std::string, Array>> named;
  for (auto const& a : inputs) named.emplace_back("", a);
  return qdp_test::run_impl(device, def->id, named, {}, out_shape, out_desc.dtype,
                            TensorFormat::LINEAR, attrs);
}

Array run1(std::string const& op, std::vector<Array> const& inputs, Attrs attrs = {},
           Device device = Device::CPU) {
  if (std::any_of(inputs.begin(), inputs.end(), is_absent))
    return call_direct(op, inputs, attrs, device);
  return run_op(op, inputs, std::move(attrs), device)[0];
}

// Elements as floats, whatever the (float or integer) type.
std::vector<float> as_floats(Array const& a) {
  std::vector<float> v(static_cast<size_t>(a.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (a.dtype()) {
      case DataType::FP32:
        v[i] = a.data<float>()[i];
        break;
      case DataType::FP16:
        v[i] = static_cast<float>(a.data<half>()[i]);
        break;
      case DataType::BF16:
        v[i] = static_cast<float>(a.data<bfloat16>()[i]);
        break;
      case DataType::INT32:
        v[i] = static_cast<float>(a.data<int32_t>()[i]);
        break;
      case DataType::INT64:
        v[i] = static_cast<float>(a.data<int64_t>()[i]);
        break;
      case DataType::INT8:
        v[i] = a.data<int8_t>()[i];
        break;
      case DataType::UINT8:
        v[i] = a.data<uint8_t>()[i];
        break;
      case DataType::BOOL:
        v[i] = a.data<bool>()[i] ? 1.0f : 0.0f;
        break;
    }
  }
  return v;
}

Array filled(DataType t, Dims shape, std::vector<float> const& values) {
  Array a(t, shape);
  for (size_t i = 0; i < values.size(); ++i) {
    float f = values[i];
    switch (t) {
      case DataType::FP32:
        a.data<float>()[i] = f;
        break;
      case DataType::FP16:
        a.data<half>()[i] = half(f);
        break;
      case DataType::BF16:
        a.data<bfloat16>()[i] = bfloat16(f);
        break;
      case DataType::INT32:
        a.data<int32_t>()[i] = static_cast<int32_t>(f);
        break;
      case DataType::INT64:
        a.data<int64_t>()[i] = static_cast<int64_t>(f);
        break;
      case DataType::INT8:
        a.data<int8_t>()[i] = static_cast<int8_t>(f);
        break;
      case DataType::UINT8:
        a.data<uint8_t>()[i] = static_cast<uint8_t>(f);
        break;
      case DataType::BOOL:
        a.data<bool>()[i] = f != 0;
        break;
    }
  }
  return a;
}

Array random_array(DataType t, Dims shape, std::mt19937& rng, float lo = -3, float hi = 3) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (auto& x : v) x = is_floating_point(t) ? u(rng) : std::round(u(rng));
  if (t == DataType::BOOL)
    for (auto& x : v) x = x > 0 ? 1.0f : 0.0f;
  return filled(t, shape, v);
}

void expect_close(Array const& got, std::vector<float> const& want, float tol) {
  auto g = as_floats(got);
  ASSERT_EQ(g.size(), want.size());
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << "element " << i;
      continue;
    }
    EXPECT_NEAR(g[i], want[i], tol * std::max(1.0f, std::abs(want[i]))) << "element " << i;
  }
}

// The numpy broadcast of a and b by index arithmetic on the output shape.
std::vector<float> broadcast_ref(Array const& a, Array const& b, Dims out,
                                 std::function<float(float, float)> const& f) {
  auto av = as_floats(a), bv = as_floats(b);
  std::vector<float> y(static_cast<size_t>(out.numel()));
  auto index = [&](Dims const& s, int64_t i) {
    int64_t off = 0, stride = 1;
    for (int d = out.rank() - 1; d >= 0; --d) {
      int64_t idx = i % out[d];
      i /= out[d];
      int sd = d - (out.rank() - s.rank());
      if (sd >= 0) {
        if (s[sd] != 1) off += idx * stride;
        stride *= s[sd];
      }
    }
    return off;
  };
  for (int64_t i = 0; i < out.numel(); ++i)
    y[static_cast<size_t>(i)] = f(av[static_cast<size_t>(index(a.shape(), i))],
                                  bv[static_cast<size_t>(index(b.shape(), i))]);
  return y;
}

float tolerance(DataType t) {
  return t == DataType::FP32   ? 1e-5f
         : t == DataType::FP16 ? 2e-3f
         : t == DataType::BF16 ? 1e-2f
                               : 0;
}

// ---- binary -------------------------------------------------------------------------------------
struct BinaryCase {
  std::string op;
  std::function<float(float, float)> f;
};
std::vector<BinaryCase> arithmetic_cases() {
  return {{"Add", [](float a, float b) { return a + b; }},
          {"Sub", [](float a, float b) { return a - b; }},
          {"Mul", [](float a, float b) { return a * b; }},
          {"Div", [](float a, float b) { return a / b; }}};
}

TEST(ElementwiseBinary, ArithmeticBroadcastsInEveryFloatType) {
  std::mt19937 rng(1);
  std::vector<std::pair<Dims, Dims>> shapes = {
      {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}},         {{2, 1, 4}, {3, 1}}, {{4}, {}},
      {{}, {2, 5}},           {{1, 3, 1, 5}, {2, 1, 4, 1}}};
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (auto const& c : arithmetic_cases())
      for (auto const& [sa, sb] : shapes) {
        SCOPED_TRACE(c.op + " " + std::string(name(t)) + " " + to_string(sa) + " " + to_string(sb));
        Array a = random_array(t, sa, rng), b = random_array(t, sb, rng, 0.5f, 3.0f);
        Array y = run1(c.op, {a, b});
        Dims shapes_ab[] = {sa, sb};
        Dims out = ops::broadcast_dims(shapes_ab, c.op);
        EXPECT_EQ(y.shape(), out);
        EXPECT_EQ(y.dtype(), t);
        expect_close(y, broadcast_ref(a, b, out, c.f), t == DataType::FP32 ? 1e-6f : tolerance(t));
      }
}

TEST(ElementwiseBinary, IntegerArithmeticAndTruncatingDivision) {
  for (DataType t : {DataType::INT32, DataType::INT64}) {
    Array a = filled(t, {6}, {-7, 7, -7, 7, 9, 5});
    Array b = filled(t, {6}, {2, 2, -2, -2, 0, -1});
    expect_close(run1("Div", {a, b}), {-3, 3, 3, -3, 0, -5}, 0);
    expect_close(run1("Add", {a, b}), {-5, 9, -9, 5, 9, 4}, 0);
    expect_close(run1("Mul", {a, filled(t, {}, {3})}), {-21, 21, -21, 21, 27, 15}, 0);
  }
  // Large int64 values stay exact.
  Array big = Array::from<int64_t>({1}, {int64_t{1} << 40});
  EXPECT_EQ(run1("Sub", {big, Array::from<int64_t>({1}, {1})}).data<int64_t>()[0],
            (int64_t{1} << 40) - 1);
}

TEST(ElementwiseBinary, PowWithAnExponentOfAnotherType) {
  std::mt19937 rng(2);
  Array x = random_array(DataType::FP32, {3, 4}, rng, 0.1f, 3.0f);
  auto xv = as_floats(x);
  std::vector<float> sq(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) sq[i] = xv[i] * xv[i];
  expect_close(run1("Pow", {x, Array::from<float>({}, {2.0f})}), sq, 1e-6f);
  expect_close(run1("Pow", {x, Array::from<int64_t>({1}, {2})}), sq, 1e-6f);
  expect_close(run1("Pow", {x, Array::from<int32_t>({4}, {0, 1, 2, 3})}),
               broadcast_ref(x, Array::from<float>({4}, {0, 1, 2, 3}), {3, 4},
                             [](float a, float b) { return std::pow(a, b); }),
               1e-6f);
  expect_close(run1("Pow", {Array::from<int64_t>({3}, {2, 3, -2}), Array::from<float>({1}, {3})}),
               {8, 27, -8}, 0);
}

TEST(ElementwiseBinary, ComparisonsAndLogicalOpsGiveBool) {
  Array a = Array::from<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  Array b = Array::from<int64_t>({3}, {2, 2, 5});
  Array eq = run1("Equal", {a, b});
  ASSERT_EQ(eq.dtype(), DataType::BOOL);
  expect_close(eq, {0, 1, 0, 0, 0, 0}, 0);
  expect_close(run1("Less", {a, b}), {1, 0, 1, 0, 0, 0}, 0);
  expect_close(run1("LessOrEqual", {a, b}), {1, 1, 1, 0, 0, 0}, 0);
  expect_close(run1("Greater", {a, b}), {0, 0, 0, 1, 1, 1}, 0);
  expect_close(run1("GreaterOrEqual", {a, b}), {0, 1, 0, 1, 1, 1}, 0);
  expect_close(
      run1("Equal", {Array::from<float>({2}, {0.5f, 1.0f}), Array::from<float>({}, {1.0f})}),
      {0, 1}, 0);
  Array p = Array::from<bool>({4}, {true, true, false, false});
  Array q = Array::from<bool>({4}, {true, false, true, false});
  expect_close(run1("And", {p, q}), {1, 0, 0, 0}, 0);
  expect_close(run1("Or", {p, q}), {1, 1, 1, 0}, 0);
  expect_close(run1("Xor", {p, q}), {0, 1, 1, 0}, 0);
  expect_close(run1("Equal", {p, q}), {1, 0, 0, 1}, 0);
}

TEST(ElementwiseBinary, ChannelsLastOperandsOnTheCpuAndNoBroadcastingWithThem) {
  std::mt19937 rng(10);
  std::vector<std::pair<std::string, Array>> ab{
      {"a", random_array(DataType::FP32, {2, 5, 7, 3}, rng)},
      {"b", random_array(DataType::FP32, {2, 5, 7, 3}, rng)}};
  expect_close(qdp_test::run_impl(Device::CPU, "onnx::Add", ab, {0, 1}, {2, 5, 7, 3},
                                  DataType::FP32, TensorFormat::HWC, {}),
               as_floats(run1("Add", {ab[0].second, ab[1].second})), 0);
  ab[1].second = random_array(DataType::FP32, {1, 5, 1, 1}, rng);
  EXPECT_EQ(qdp_test::code_of([&] {
              qdp_test::run_impl(Device::CPU, "onnx::Add", ab, {0, 1}, {2, 5, 7, 3}, DataType::FP32,
                                 TensorFormat::HWC, {});
            }),
            ErrorCode::Unsupported);
  EXPECT_THAT(error_of([&] {
                qdp_test::run_impl(Device::CPU, "onnx::Add", ab, {0, 1}, {2, 5, 7, 3},
                                   DataType::FP32, TensorFormat::HWC, {});
              }),
              HasSubstr("channels-last operands must all have the output's shape"));
}

TEST(ElementwiseBinary, BadInputsAreRefusedWithTheOpNamed) {
  Array f = Array::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THAT(error_of([&] {
                run1("Add", {f, Array::from<float>({4}, {1, 2, 3, 4})});
              }),
              HasSubstr("Add: shapes do not broadcast: extents 3 and 4 differ"));
  EXPECT_THAT(error_of([&] {
                run1("Mul", {f, Array::from<int32_t>({3}, {1, 2, 3})});
              }),
              HasSubstr("Mul: inputs A and B must have the same type, got FP32 and INT32"));
  EXPECT_THAT(error_of([&] {
                run1("Sub", {Array::from<bool>({1}, {true}), Array::from<bool>({1}, {true})});
              }),
              HasSubstr("Sub: input A of type BOOL is not supported"));
  EXPECT_THAT(error_of([&] {
                run1("And", {f, f});
              }),
              HasSubstr("And: input A of type FP32 is not supported; the op takes BOOL"));
}

// ---- unary
// ---------------------------------------------------------------------------------------
struct UnaryCase {
  std::string op;
  std::function<float(float)> f;
  float lo = -4, hi = 4;
  Attrs attrs = {};
};
std::vector<UnaryCase> unary_cases() {
  auto erf_gelu = [](float x) { return 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f))); };
  auto tanh_gelu = [](float x) {
    return 0.5f * x *
           (1.0f + std::tanh(std::sqrt(2.0f / 3.14159265f) * (x + 0.044715f * x * x * x)));
  };
  return {
      {"Relu", [](float x) { return std::max(x, 0.0f); }},
      {"Neg", [](float x) { return -x; }},
      {"Abs", [](float x) { return std::abs(x); }},
      {"Sigmoid", [](float x) { return 1.0f / (1.0f + std::exp(-x)); }},
      {"Tanh", [](float x) { return std::tanh(x); }},
      {"Erf", [](float x) { return std::erf(x); }},
      {"Sqrt", [](float x) { return std::sqrt(x); }, 0.0f, 9.0f},
      {"Exp", [](float x) { return std::exp(x); }},
      {"Sin", [](float x) { return std::sin(x); }},
      {"Cos", [](float x) { return std::cos(x); }},
      {"Log", [](float x) { return std::log(x); }, 0.01f, 9.0f},
      {"Reciprocal", [](float x) { return 1.0f / x; }, 0.25f, 4.0f},
      {"Floor", [](float x) { return std::floor(x); }},
      {"Ceil", [](float x) { return std::ceil(x); }},
      {"HardSwish", [](float x) { return x * std::clamp(x / 6.0f + 0.5f, 0.0f, 1.0f); }},
      {"Gelu", erf_gelu},
      {"Gelu", tanh_gelu, -4, 4, {{"approximate", std::string("tanh")}}},
      {"LeakyRelu", [](float x) { return x >= 0 ? x : 0.01f * x; }},
      {"LeakyRelu", [](float x) { return x >= 0 ? x : 0.3f * x; }, -4, 4, {{"alpha", 0.3f}}},
      {"HardSigmoid", [](float x) { return std::clamp(0.2f * x + 0.5f, 0.0f, 1.0f); }},
      {"HardSigmoid",
       [](float x) { return std::clamp(0.5f * x + 0.25f, 0.0f, 1.0f); },
       -4,
       4,
       {{"alpha", 0.5f}, {"beta", 0.25f}}},
  };
}

TEST(ElementwiseUnary, EveryFloatOpMatchesTheReference) {
  std::mt19937 rng(3);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (auto const& c : unary_cases()) {
      SCOPED_TRACE(c.op + " " + std::string(name(t)));
      Array x = random_array(t, {3, 37}, rng, c.lo, c.hi);
      auto xv = as_floats(x);
      std::vector<float> want(xv.size());
      for (size_t i = 0; i < xv.size(); ++i) want[i] = c.f(xv[i]);
      Array y = run1(c.op, {x}, c.attrs);
      EXPECT_EQ(y.dtype(), t);
      EXPECT_EQ(y.shape(), x.shape());
      expect_close(y, want, t == DataType::FP32 ? 2e-6f : tolerance(t));
    }
}

// The CPU's Erf (and Gelu's) is an approximation that vectorizes: within 2e-7 of libm's on a
// dense grid, exact at the special values.
TEST(ElementwiseUnary, ErfOnTheCpuIsWithin2e7OfLibm) {
  std::vector<float> v;
  for (int i = -6000; i <= 6000; ++i) v.push_back(static_cast<float>(i) * 1e-3f);
  for (float s : {0.0f, -0.0f, 1e-30f, -1e-8f, 0.99999f, 1.00001f, 4.0f, 1e30f}) v.push_back(s);
  auto y = as_floats(run1("Erf", {Array::from<float>({static_cast<int64_t>(v.size())}, v)}));
  for (size_t i = 0; i < v.size(); ++i) {
    double want = std::erf(static_cast<double>(v[i]));
    ASSERT_NEAR(y[i], want, 2e-7 + 2e-7 * std::abs(want)) << "erf(" << v[i] << ")";
  }
  float inf = std::numeric_limits<float>::infinity();
  auto special = as_floats(run1("Erf", {Array::from<float>({3}, {inf, -inf, std::nanf("")})}));
  EXPECT_EQ(special[0], 1.0f);
  EXPECT_EQ(special[1], -1.0f);
  EXPECT_TRUE(std::isnan(special[2]));
  EXPECT_TRUE(std::signbit(y[v.size() - 7]));  // erf(-0) is -0
}

TEST(ElementwiseUnary, IntegerAndBoolOps) {
  Array i = Array::from<int32_t>({4}, {-3, 0, 2, -2147483647});
  expect_close(run1("Relu", {i}), {0, 0, 2, 0}, 0);
  expect_close(run1("Neg", {Array::from<int64_t>({2}, {5, -6})}), {-5, 6}, 0);
  expect_close(run1("Abs", {Array::from<int8_t>({2}, {-5, 6})}), {5, 6}, 0);
  expect_close(run1("Not", {Array::from<bool>({2}, {true, false})}), {0, 1}, 0);
  // A large tensor runs through the parallel loop and gives the same answer.
  std::vector<float> many(100000);
  for (size_t k = 0; k < many.size(); ++k) many[k] = static_cast<float>(k % 7) - 3.0f;
  auto y = as_floats(run1("Relu", {filled(DataType::FP32, {100000}, many)}));
  for (size_t k = 0; k < many.size(); ++k) ASSERT_EQ(y[k], std::max(many[k], 0.0f));
}

TEST(ElementwiseUnary, ClipWithOptionalBounds) {
  Array x = Array::from<float>({5}, {-3, -1, 0, 1, 3});
  Array lo = Array::from<float>({}, {-1.5f}), hi = Array::from<float>({}, {2.0f});
  expect_close(run1("Clip", {x, lo, hi}), {-1.5f, -1, 0, 1, 2}, 0);
  expect_close(run1("Clip", {x, lo, absent_input()}), {-1.5f, -1, 0, 1, 3}, 0);
  expect_close(run1("Clip", {x, absent_input(), hi}), {-3, -1, 0, 1, 2}, 0);
  expect_close(run1("Clip", {x, absent_input(), absent_input()}), {-3, -1, 0, 1, 3}, 0);
  Array x8 = Array::from<int8_t>({3}, {-100, 0, 100});
  expect_close(run1("Clip", {x8, Array::from<int8_t>({}, {-5}), Array::from<int8_t>({}, {7})}),
               {-5, 0, 7}, 0);
  // min > max: every element becomes max (numpy's clip, ONNX's test_clip_min_greater_than_max).
  expect_close(run1("Clip", {x, Array::from<float>({}, {2}), Array::from<float>({}, {1})}),
               {1, 1, 1, 1, 1}, 0);
  EXPECT_THAT(error_of([&] {
                run1("Clip", {x, Array::from<int32_t>({}, {1}), absent_input()});
              }),
              HasSubstr("Clip: input min is INT32, it must have the type of input"));
  EXPECT_THAT(error_of([&] {
                run1("Clip", {x, Array::from<float>({2}, {1, 2}), absent_input()});
              }),
              HasSubstr("Clip: input min must be a scalar"));
}

TEST(ElementwiseUnary, BadAttributesAndTypes) {
  Array x = Array::from<float>({2}, {1, 2});
  EXPECT_THAT(error_of([&] {
                run1("Gelu", {x}, {{"approximate", std::string("fast")}});
              }),
              HasSubstr("Gelu: attribute approximate is 'fast'; allowed: 'none', 'tanh'"));
  EXPECT_THAT(
      error_of([&] { run1("Sigmoid", {Array::from<int32_t>({1}, {1})}); }),
      HasSubstr("Sigmoid: input X of type INT32 is not supported; the op takes FP32, FP16, BF16"));
  EXPECT_THAT(error_of([&] { run1("Not", {x}); }),
              HasSubstr("Not: input X of type FP32 is not supported"));
}

// ---- Where, Cast --------------------------------------------------------------------------------
TEST(ElementwiseWhere, BroadcastsAllThreeInputs) {
  std::mt19937 rng(4);
  Array c = random_array(DataType::BOOL, {2, 1, 4}, rng);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT64}) {
    Array x = random_array(t, {3, 1}, rng), y = random_array(t, {1}, rng);
    Array out = run1("Where", {c, x, y});
    ASSERT_EQ(out.shape(), (Dims{2, 3, 4}));
    auto cv = as_floats(c), xv = as_floats(x), yv = as_floats(y);
    std::vector<float> want;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 4; ++k)
          want.push_back(cv[static_cast<size_t>(i * 4 + k)] != 0 ? xv[static_cast<size_t>(j)]
                                                                 : yv[0]);
    expect_close(out, want, 0);
  }
  EXPECT_THAT(error_of([&] {
                run1("Where", {Array::from<float>({1}, {1}), c, c});
              }),
              HasSubstr("Where: input condition of type FP32 is not supported"));
}

TEST(ElementwiseCast, EveryTargetType) {
  Array x = Array::from<float>({5}, {-2.7f, -0.5f, 0.0f, 1.5f, 200.25f});
  auto cast = [&](Array const& a, int64_t to) { return run1("Cast", {a}, {{"to", to}}); };
  EXPECT_EQ(cast(x, 6).dtype(), DataType::INT32);
  expect_close(cast(x, 6), {-2, 0, 0, 1, 200}, 0);
  expect_close(cast(x, 7), {-2, 0, 0, 1, 200}, 0);
  expect_close(cast(x, 3), {-2, 0, 0, 1, -56}, 0);  // 200 wraps in int8, as numpy's astype
  expect_close(cast(x, 9), {1, 1, 0, 1, 1}, 0);
  EXPECT_EQ(cast(x, 10).dtype(), DataType::FP16);
  expect_close(cast(x, 10), {-2.7f, -0.5f, 0, 1.5f, 200.25f}, 1e-3f);
  expect_close(cast(x, 16), {-2.7f, -0.5f, 0, 1.5f, 200.25f}, 1e-2f);
  expect_close(cast(x, 1), {-2.7f, -0.5f, 0.0f, 1.5f, 200.25f}, 0);
  expect_close(cast(Array::from<int64_t>({2}, {-3, int64_t{1} << 40}), 1), {-3, 1099511627776.0f},
               0);
  expect_close(cast(Array::from<bool>({2}, {true, false}), 10), {1, 0}, 0);
  expect_close(cast(cast(x, 10), 1), {-2.69922f, -0.5f, 0, 1.5f, 200.25f}, 1e-5f);
  EXPECT_THAT(error_of([&] { cast(x, 11); }),
              HasSubstr("Cast: attribute to = 11 is not supported"));
  EXPECT_THAT(error_of([&] { run1("Cast", {x}); }), HasSubstr("Cast: attribute to = 0"));
}

// ---- Softmax, LogSoftmax, LayerNormalization
// -------------------------------------------------------
std::vector<float> softmax_ref(std::vector<float> const& x, Dims shape, int axis, bool log) {
  struct {
    int64_t outer = 1, axis = 1, inner = 1;
  } s;
  for (int d = 0; d < shape.rank(); ++d)
    (d < axis ? s.outer : d == axis ? s.axis : s.inner) *= shape[d];
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      auto at = [&](int64_t j) { return static_cast<size_t>((o * s.axis + j) * s.inner + i); };
      double m = -1e30, sum = 0;
      for (int64_t j = 0; j < s.axis; ++j) m = std::max(m, double(x[at(j)]));
      for (int64_t j = 0; j < s.axis; ++j) sum += std::exp(x[at(j)] - m);
      for (int64_t j = 0; j < s.axis; ++j)
        y[at(j)] =
            static_cast<float>(log ? x[at(j)] - m - std::log(sum) : std::exp(x[at(j)] - m) / sum);
    }
  return y;
}

TEST(ElementwiseSoftmax, EveryAxisBothOps) {
  std::mt19937 rng(5);
  Dims shape{2, 3, 40};
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (int64_t axis : {-1, 0, 1, 2})
      for (bool log : {false, true}) {
        SCOPED_TRACE(std::string(name(t)) + " axis " + std::to_string(axis) + (log ? " log" : ""));
        Array x = random_array(t, shape, rng, -5, 5);
        Array y = run1(log ? "LogSoftmax" : "Softmax", {x}, {{"axis", axis}});
        int a = static_cast<int>(axis < 0 ? axis + 3 : axis);
        expect_close(y, softmax_ref(as_floats(x), shape, a, log),
                     t == DataType::FP32 ? 1e-5f : 4 * tolerance(t));
      }
  // Large inputs do not overflow (the max is subtracted).
  expect_close(run1("Softmax", {Array::from<float>({2}, {10000, 10001})}), {0.268941f, 0.731059f},
               1e-5f);
  EXPECT_THAT(error_of([&] {
                run1("Softmax", {Array::from<float>({2}, {1, 2})}, {{"axis", int64_t{1}}});
              }),
              HasSubstr("Softmax: attribute axis 1 is out of range for a tensor of rank 1"));
}

std::vector<float> layer_norm_ref(std::vector<float> const& x, std::vector<float> const& scale,
                                  std::vector<float> const* bias, size_t cols, float eps) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    double mean = 0, var = 0;
    for (size_t j = 0; j < cols; ++j) mean += x[r * cols + j];
    mean /= double(cols);
    for (size_t j = 0; j < cols; ++j) var += (x[r * cols + j] - mean) * (x[r * cols + j] - mean);
    var /= double(cols);
    for (size_t j = 0; j < cols; ++j)
      y[r * cols + j] = static_cast<float>(
          (x[r * cols + j] - mean) / std::sqrt(var + eps) * scale[j] + (bias ? (*bias)[j] : 0.0f));
  }
  return y;
}

TEST(ElementwiseLayerNorm, AxesBiasAndEpsilon) {
  std::mt19937 rng(6);
  Dims shape{2, 3, 50};
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (int64_t axis : {-1, 1, 0})
      for (bool with_bias : {true, false}) {
        SCOPED_TRACE(std::string(name(t)) + " axis " + std::to_string(axis));
        int a = static_cast<int>(axis < 0 ? axis + 3 : axis);
        Dims pshape;
        for (int d = a; d < 3; ++d) pshape.push_back(shape[d]);
        Array x = random_array(t, shape, rng, -2, 4), scale = random_array(t, pshape, rng);
        Array bias = with_bias ? random_array(t, pshape, rng) : absent_input();
        Array y =
            run1("LayerNormalization", {x, scale, bias}, {{"axis", axis}, {"epsilon", 1e-3f}});
        auto bv = as_floats(bias);
        expect_close(y,
                     layer_norm_ref(as_floats(x), as_floats(scale), with_bias ? &bv : nullptr,
                                    static_cast<size_t>(pshape.numel()), 1e-3f),
                     t == DataType::FP32 ? 1e-5f : 4 * tolerance(t));
      }
  Array x = Array::from<float>({2, 2}, {1, 2, 3, 4}), s = Array::from<float>({2}, {1, 1});
  EXPECT_THAT(error_of([&] {
                run1("LayerNormalization", {x, s, absent_input()}, {{"stash_type", int64_t{10}}});
              }),
              HasSubstr("LayerNormalization: attribute stash_type is 10; allowed: 1"));
  EXPECT_THAT(error_of([&] {
                run1("LayerNormalization", {x, Array::from<float>({3}, {1, 1, 1}), absent_input()});
              }),
              HasSubstr("LayerNormalization: input Scale has 3 elements, the normalized shape 2"));
}

// qdp::ScaleMaskSoftmax (what the builder makes of attention's scale, mask Add and Softmax):
// softmax(X * scale + Mask) over the last axis, Mask broadcast to X; a warp per row up to 256
// columns on the GPU, a block per row beyond.
std::vector<float> scale_mask_softmax_ref(Array const& x, Array const& mask, float scale) {
  Dims shape = x.shape();
  std::vector<float> sum = as_floats(x), m = as_floats(mask);
  Dims ms = mask.shape();
  int shift = shape.rank() - ms.rank();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rest = i, off = 0, step = 1;
    for (int d = shape.rank() - 1; d >= 0; --d) {
      int64_t idx = rest % shape[d];
      rest /= shape[d];
      if (d >= shift) {
        if (ms[d - shift] != 1) off += idx * step;
        step *= ms[d - shift];
      }
    }
    sum[static_cast<size_t>(i)] = sum[static_cast<size_t>(i)] * scale + m[static_cast<size_t>(off)];
  }
  return softmax_ref(sum, shape, shape.rank() - 1, false);
}

TEST(ElementwiseSoftmax, ScaleMaskSoftmaxIsTheSoftmaxOfTheScaledMaskedScores) {
  std::mt19937 rng(21);
  Dims shape{2, 3, 5, 40};
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (Dims mshape : {Dims{2, 1, 1, 40}, Dims{40}, Dims{2, 3, 5, 40}, Dims{5, 1}, Dims{}}) {
      SCOPED_TRACE(std::string(name(t)) + " mask " + to_string(mshape));
      Array x = random_array(t, shape, rng, -20, 20), mask = random_array(t, mshape, rng, -6, 0);
      Array y = run1("qdp::ScaleMaskSoftmax", {x, mask}, {{"scale", 0.125f}});
      expect_close(y, scale_mask_softmax_ref(x, mask, 0.125f),
                   t == DataType::FP32 ? 1e-5f : 4 * tolerance(t));
      if (mshape.rank() != 0) continue;
      // An omitted mask: softmax(X * scale), as a mask of zeros gives.
      Array zero = filled(t, mshape, {0.0f});
      expect_close(run1("qdp::ScaleMaskSoftmax", {x, absent_input()}, {{"scale", 0.125f}}),
                   scale_mask_softmax_ref(x, zero, 0.125f),
                   t == DataType::FP32 ? 1e-5f : 4 * tolerance(t));
    }
  Array x = Array::from<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_THAT(error_of([&] {
                run1("qdp::ScaleMaskSoftmax", {x, Array::from<float>({3}, {0, 0, 0})});
              }),
              HasSubstr("qdp::ScaleMaskSoftmax: Mask must broadcast to X's shape"));
  EXPECT_THAT(
      error_of([&] {
        run1("qdp::ScaleMaskSoftmax", {x, Array::from<float>({2, 2, 2}, {0, 0, 0, 0, 0, 0, 0, 0})});
      }),
      HasSubstr("qdp::ScaleMaskSoftmax: Mask must broadcast to X's shape"));
  EXPECT_THAT(error_of([&] {
                run1("qdp::ScaleMaskSoftmax", {x, Array::from<int32_t>({2}, {0, 0})});
              }),
              HasSubstr("qdp::ScaleMaskSoftmax: input Mask is INT32, it must have X's type FP32"));
  EXPECT_THAT(
      error_of([&] {
        run1("qdp::ScaleMaskSoftmax", {Array::from<float>({}, {1}), Array::from<float>({}, {0})});
      }),
      HasSubstr("qdp::ScaleMaskSoftmax: X is a scalar; it needs a last axis"));
}

// Extents the build cannot know are checked when the layer runs: a mask of X's columns (or one
// column) is taken, another length is refused with both shapes.
TEST(ElementwiseSoftmax, ScaleMaskSoftmaxChecksADynamicMaskWhenItRuns) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, -1});
  net.set_profile("x", Dims{2, 1}, Dims{2, 4}, Dims{2, 8});
  auto m = net.add_input("m", DataType::FP32, {-1});
  net.set_profile("m", Dims{1}, Dims{4}, Dims{8});
  net.mark_output(net.add_plugin("qdp::ScaleMaskSoftmax", {x, m}, {{"scale", 0.5f}})[0], "y");
  Runner runner(build_engine(net, {}));
  Array xs = Array::from<float>({2, 2}, {0, 2, 4, 0}), ms = Array::from<float>({2}, {0, -1});
  expect_close(runner.infer({{"x", xs}, {"m", ms}}).at("y"), scale_mask_softmax_ref(xs, ms, 0.5f),
               1e-6f);
  Array one = Array::from<float>({1}, {-1});
  expect_close(runner.infer({{"x", xs}, {"m", one}}).at("y"), scale_mask_softmax_ref(xs, one, 0.5f),
               1e-6f);
  EXPECT_THAT(error_of([&] {
                runner.infer({{"x", xs}, {"m", Array::from<float>({3}, {0, 0, 0})}});
              }),
              HasSubstr("qdp::ScaleMaskSoftmax: Mask has shape " + to_string(Dims{3}) +
                        ", which does not broadcast to X's shape " + to_string(Dims{2, 2})));
}

// qdp::AddLayerNorm (what the builder makes of a residual Add and the LayerNormalization after
// it): the norm of X + Skip, the sum taken in float.
TEST(ElementwiseLayerNorm, AddLayerNormIsTheNormOfTheSum) {
  std::mt19937 rng(16);
  Dims shape{3, 4, 40};
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(std::string(name(t)) + (with_bias ? " with B" : " without B"));
      Array x = random_array(t, shape, rng, -2, 4), skip = random_array(t, shape, rng);
      Array scale = random_array(t, {40}, rng);
      Array bias = with_bias ? random_array(t, {40}, rng) : absent_input();
      Array y = run1("qdp::AddLayerNorm", {x, skip, scale, bias}, {{"epsilon", 1e-3f}});
      std::vector<float> sum = as_floats(x), sv = as_floats(skip), bv = as_floats(bias);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += sv[i];
      expect_close(y, layer_norm_ref(sum, as_floats(scale), with_bias ? &bv : nullptr, 40, 1e-3f),
                   t == DataType::FP32 ? 1e-5f : 4 * tolerance(t));
    }
  Array x = Array::from<float>({2, 2}, {1, 2, 3, 4}), s = Array::from<float>({2}, {1, 1});
  EXPECT_THAT(error_of([&] {
                run1("qdp::AddLayerNorm", {x, Array::from<float>({1, 2}, {1, 1}), s, s});
              }),
              HasSubstr("qdp::AddLayerNorm: Skip and X must have one shape"));
  EXPECT_THAT(error_of([&] {
                run1("qdp::AddLayerNorm", {x, Array::from<int32_t>({2, 2}, {1, 1, 1, 1}), s, s});
              }),
              HasSubstr("qdp::AddLayerNorm: input Skip is INT32, it must have X's type FP32"));
}

// ---- reductions
// ------------------------------------------------------------------------------------ The
// reference: out[kept index] over the reduced axes, keepdims shape.
std::vector<float> reduce_ref(std::vector<float> const& x, Dims shape, std::vector<int> axes,
                              std::string const& op) {
  Dims out = shape;
  for (int a : axes) out[a] = 1;
  std::vector<float> y(static_cast<size_t>(out.numel()), op == "ReduceMax" ? -INFINITY : 0.0f);
  std::vector<int> count(y.size(), 0);
  for (int64_t i = 0; i < shape.numel(); ++i) {
    int64_t rem = i, o = 0, stride = 1;
    for (int d = shape.rank() - 1; d >= 0; --d) {
      int64_t idx = rem % shape[d];
      rem /= shape[d];
      if (out[d] != 1) o += idx * stride;
      stride *= out[d];
    }
    auto& v = y[static_cast<size_t>(o)];
    float xi = x[static_cast<size_t>(i)];
    v = op == "ReduceMax" ? std::max(v, xi) : v + xi;
    ++count[static_cast<size_t>(o)];
  }
  if (op == "ReduceMean")
    for (size_t k = 0; k < y.size(); ++k) y[k] /= static_cast<float>(count[k]);
  return y;
}

TEST(ElementwiseReduce, AxesKeepdimsAndTypes) {
  std::mt19937 rng(10);
  Dims shape{2, 3, 4};
  for (std::string op : {"ReduceSum", "ReduceMean", "ReduceMax"})
    for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT64})
      for (std::vector<int64_t> axes :
           std::vector<std::vector<int64_t>>{{1}, {-1, 0}, {}, {0, 1, 2}})
        for (int64_t keep : {1, 0}) {
          if (op == "ReduceMean" && t == DataType::INT64) continue;
          SCOPED_TRACE(op + " " + std::string(name(t)) + " keepdims " + std::to_string(keep));
          Array x = random_array(t, shape, rng);
          Array y = run1(op, {x, absent_input()}, {{"axes", axes}, {"keepdims", keep}});
          std::vector<int> norm;
          for (int64_t a : axes) norm.push_back(static_cast<int>(a < 0 ? a + 3 : a));
          if (axes.empty()) norm = {0, 1, 2};
          Dims want_shape;
          for (int d = 0; d < 3; ++d) {
            bool r = std::find(norm.begin(), norm.end(), d) != norm.end();
            if (!r)
              want_shape.push_back(shape[d]);
            else if (keep)
              want_shape.push_back(1);
          }
          EXPECT_EQ(y.shape(), want_shape);
          expect_close(y, reduce_ref(as_floats(x), shape, norm, op),
                       t == DataType::FP16 ? 4e-3f : 1e-5f);
        }
  // noop_with_empty_axes: no axes, no reduction.
  Array x = Array::from<float>({2, 2}, {1, 2, 3, 4});
  Array same = run1("ReduceSum", {x, absent_input()}, {{"noop_with_empty_axes", int64_t{1}}});
  EXPECT_EQ(same.shape(), (Dims{2, 2}));
  expect_close(same, {1, 2, 3, 4}, 0);
  // BOOL max is any().
  expect_close(
      run1("ReduceMax", {Array::from<bool>({2, 2}, {false, true, false, false}), absent_input()},
           {{"axes", std::vector<int64_t>{1}}}),
      {1, 0}, 0);
}

TEST(ElementwiseReduce, BadAxesAndAttributes) {
  Array x = Array::from<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_THAT(error_of([&] {
                run1("ReduceSum", {x, absent_input()}, {{"keepdims", int64_t{2}}});
              }),
              HasSubstr("ReduceSum: attribute keepdims is 2; allowed: 0, 1"));
  EXPECT_THAT(error_of([&] {
                run1("ReduceMean", {x, absent_input()}, {{"axes", std::vector<int64_t>{2}}});
              }),
              HasSubstr("ReduceMean: axis 2 is out of range for a tensor of rank 2"));
  EXPECT_THAT(error_of([&] {
                run1("ReduceMax", {x, absent_input()}, {{"axes", std::vector<int64_t>{1, -1}}});
              }),
              HasSubstr("ReduceMax: axes name a dimension twice"));
  // Axes computed at run time (a network input) cannot give the output's shape.
  EXPECT_THAT(error_of([&] {
                run1("ReduceSum", {x, Array::from<int64_t>({1}, {1})});
              }),
              HasSubstr("input 1 is a shape input, so it must be known when the engine is built"));
}

// ---- CUDA against the CPU
// -------------------------------------------------------------------------
class ElementwiseGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
  // Runs `op` on both backends and compares (exactly for integer outputs).
  static void same_on_both(std::string const& op, std::vector<Array> const& in, Attrs attrs = {},
                           float tol = 1e-5f) {
    SCOPED_TRACE(op);
    Array cpu = run1(op, in, attrs, Device::CPU);
    Array gpu = run1(op, in, attrs, Device::CUDA);
    ASSERT_EQ(gpu.dtype(), cpu.dtype());
    ASSERT_EQ(gpu.shape(), cpu.shape());
    expect_close(gpu, as_floats(cpu), is_floating_point(cpu.dtype()) ? tol : 0);
  }
};

TEST_F(ElementwiseGpu, BinaryOpsMatchTheCpu) {
  std::mt19937 rng(7);
  for (DataType t :
       {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT32, DataType::INT64})
    for (std::string op : {"Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater"})
      for (auto const& [sa, sb] : std::vector<std::pair<Dims, Dims>>{{{1000003}, {1000003}},
                                                                     {{64, 33, 17}, {33, 1}},
                                                                     {{5, 7}, {}},
                                                                     {{6, 1, 4099}, {1, 7, 1}}})
        same_on_both(op, {random_array(t, sa, rng), random_array(t, sb, rng, 1, 5)}, {},
                     tolerance(t) + 1e-6f);
  same_on_both("Pow",
               {random_array(DataType::FP32, {100, 10}, rng, 0.1f, 2),
                Array::from<int64_t>({10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})},
               {}, 1e-5f);
  Array p = random_array(DataType::BOOL, {999}, rng), q = random_array(DataType::BOOL, {999}, rng);
  for (std::string op : {"And", "Or", "Xor"}) same_on_both(op, {p, q});
}

// Channels-last operands (the layout between two HWC convolutions) without broadcasting, against
// the LINEAR result; with broadcasting they are refused (Unsupported), which the autotuner skips.
TEST_F(ElementwiseGpu, ChannelsLastBinaryAndUnaryOpsMatchTheLinearOnes) {
  std::mt19937 rng(9);
  for (DataType t : {DataType::FP32, DataType::FP16}) {
    std::vector<std::pair<std::string, Array>> ab{{"a", random_array(t, {2, 5, 7, 3}, rng)},
                                                  {"b", random_array(t, {2, 5, 7, 3}, rng)}};
    for (std::string op : {"Add", "Mul"})
      expect_close(qdp_test::run_impl(Device::CUDA, "onnx::" + op, ab, {0, 1}, {2, 5, 7, 3}, t,
                                      TensorFormat::HWC, {}),
                   as_floats(run1(op, {ab[0].second, ab[1].second})), tolerance(t) + 1e-6f);
    expect_close(qdp_test::run_impl(Device::CUDA, "onnx::Relu", {ab[0]}, {0}, {2, 5, 7, 3}, t,
                                    TensorFormat::HWC, {}),
                 as_floats(run1("Relu", {ab[0].second})), 0);
  }
}

TEST_F(ElementwiseGpu, UnaryOpsMatchTheCpu) {
  std::mt19937 rng(8);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (auto const& c : unary_cases())
      for (Dims shape : {Dims{1}, Dims{1027}, Dims{3, 1 << 18}})
        same_on_both(c.op, {random_array(t, shape, rng, c.lo, c.hi)}, c.attrs, 4 * tolerance(t));
  same_on_both("Relu", {random_array(DataType::INT64, {1001}, rng)});
  same_on_both("Not", {random_array(DataType::BOOL, {1001}, rng)});
  Array x = random_array(DataType::FP16, {12345}, rng);
  same_on_both("Clip", {x, filled(DataType::FP16, {}, {-1}), filled(DataType::FP16, {}, {0.5f})});
  same_on_both("Clip", {x, absent_input(), filled(DataType::FP16, {}, {0.5f})});
}

TEST_F(ElementwiseGpu, WhereCastSoftmaxLayerNormMatchTheCpu) {
  std::mt19937 rng(9);
  same_on_both("Where", {random_array(DataType::BOOL, {8, 1, 128}, rng),
                         random_array(DataType::FP16, {8, 12, 128}, rng),
                         filled(DataType::FP16, {}, {-10000})});
  Array x = random_array(DataType::FP32, {3, 1001}, rng, -300, 300);
  for (int64_t to : {1, 2, 3, 6, 7, 9, 10, 16}) {
    same_on_both("Cast", {x}, {{"to", to}}, 1e-2f);
    same_on_both("Cast", {random_array(DataType::INT64, {77}, rng)}, {{"to", to}}, 1e-2f);
  }
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16}) {
    for (int64_t axis : {-1, 1})
      for (Dims shape :
           {Dims{4, 12, 128}, Dims{2, 3, 5000}, Dims{7, 2, 3}, Dims{5, 3, 200}, Dims{9, 1, 50}}) {
        same_on_both("Softmax", {random_array(t, shape, rng, -8, 8)}, {{"axis", axis}},
                     4 * tolerance(t) + 1e-6f);
        same_on_both("LogSoftmax", {random_array(t, shape, rng, -8, 8)}, {{"axis", axis}},
                     4 * tolerance(t) + 1e-5f);
      }
    for (Dims shape : {Dims{8, 12, 128, 128}, Dims{2, 3, 7, 33}, Dims{2, 2, 3, 300}}) {
      for (Dims mshape :
           {Dims{shape[0], 1, shape[2], shape[3]}, Dims{shape[0], 1, 1, shape[3]}, Dims{shape[3]}})
        same_on_both("qdp::ScaleMaskSoftmax",
                     {random_array(t, shape, rng, -30, 30), random_array(t, mshape, rng, -8, 0)},
                     {{"scale", 0.125f}}, 4 * tolerance(t) + 1e-6f);
      same_on_both("qdp::ScaleMaskSoftmax", {random_array(t, shape, rng, -30, 30), absent_input()},
                   {{"scale", 0.125f}}, 4 * tolerance(t) + 1e-6f);
    }
    for (Dims shape : {Dims{16, 768}, Dims{3, 5, 7}, Dims{2, 4097}}) {
      Dims p{shape[shape.rank() - 1]};
      same_on_both("LayerNormalization",
                   {random_array(t, shape, rng), random_array(t, p, rng), random_array(t, p, rng)},
                   {{"epsilon", 1e-5f}}, 4 * tolerance(t) + 1e-5f);
      same_on_both("LayerNormalization",
                   {random_array(t, shape, rng), random_array(t, p, rng), absent_input()}, {},
                   4 * tolerance(t) + 1e-5f);
      same_on_both("qdp::AddLayerNorm",
                   {random_array(t, shape, rng), random_array(t, shape, rng),
                    random_array(t, p, rng), random_array(t, p, rng)},
                   {{"epsilon", 1e-5f}}, 4 * tolerance(t) + 1e-5f);
    }
  }
}

TEST_F(ElementwiseGpu, ReductionsMatchTheCpu) {
  std::mt19937 rng(11);
  for (std::string op : {"ReduceSum", "ReduceMean", "ReduceMax"})
    for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT32})
      for (std::vector<int64_t> axes : std::vector<std::vector<int64_t>>{{-1}, {1}, {0, 2}, {}})
        same_on_both(op, {random_array(t, {8, 128, 96}, rng), absent_input()}, {{"axes", axes}},
                     t == DataType::FP16 ? 1e-2f : 1e-4f);
}

}  // namespace
