// The movement operators (src/ops/movement): Transpose, DepthToSpace, SpaceToDepth, Gather,
// GatherElements, Concat, Tile, Pad. Each runs as a one-layer network against a plain reference
// loop on random data; they move bytes without arithmetic, so every type must match exactly. The
// Gpu suites compare the CUDA impls with the CPU ones and skip without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <qdp/qdp.hpp>
#include <random>

#include "test_support.hpp"

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

constexpr DataType kEveryType[] = {DataType::FP32,  DataType::FP16,  DataType::BF16,
                                   DataType::INT8,  DataType::UINT8, DataType::INT32,
                                   DataType::INT64, DataType::BOOL};

// Random bytes (BOOL: 0 or 1): the ops only move them.
Array random_array(DataType dtype, Dims shape, std::mt19937& rng) {
  Array a(dtype, shape);
  auto* p = static_cast<unsigned char*>(a.raw());
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t i = 0; i < a.bytes(); ++i)
    p[i] = static_cast<unsigned char>(dtype == DataType::BOOL ? byte(rng) % 2 : byte(rng));
  return a;
}

template <class T>
Array indices_array(Dims shape, std::vector<T> values) {
  return Array::from<T>(shape, values);
}

std::vector<int64_t> dims_of(Dims const& d) {
  return {d.begin(), d.end()};
}

using Inputs = std::vector<std::pair<std::string, Array>>;

// `op` over network inputs named and shaped as `inputs`; returns output "y" of a run on them.
Array run(std::string_view op, Inputs const& inputs, Attrs const& attrs = {},
          Device device = Device::CPU) {
  Network net;
  std::vector<TensorRef> refs;
  std::map<std::string, Array> feed;
  for (auto const& [name, a] : inputs) {
    refs.push_back(net.add_input(name, a.dtype(), dims_of(a.shape())));
    feed.emplace(name, a);
  }
  net.mark_output(net.add_plugin(op, refs, attrs)[0], "y");
  BuildConfig config;
  config.device = device;
  Engine engine = build_engine(net, config);
  return Runner(engine).infer(feed).at("y");
}

// A layer input: a network input fed at run time, or a constant (shape inputs must be known when
// the engine is built).
struct Operand {
  std::string name;
  Array value;
  bool constant = false;
};

Array run_operands(std::string_view op, std::vector<Operand> const& operands,
                   Attrs const& attrs = {}, Device device = Device::CPU) {
  Network net;
  std::vector<TensorRef> refs;
  std::map<std::string, Array> feed;
  for (auto const& o : operands) {
    if (o.constant) {
      auto const* p = static_cast<std::byte const*>(o.value.raw());
      refs.push_back(net.add_constant(o.name, o.value.dtype(), dims_of(o.value.shape()),
                                      std::vector<std::byte>(p, p + o.value.bytes())));
    } else {
      refs.push_back(net.add_input(o.name, o.value.dtype(), dims_of(o.value.shape())));
      feed.emplace(o.name, o.value);
    }
  }
  net.mark_output(net.add_plugin(op, refs, attrs)[0], "y");
  BuildConfig config;
  config.device = device;
  return Runner(build_engine(net, config)).infer(feed).at("y");
}

// The CPU impl of `op` called directly on host arrays, writing `out`: for what a network cannot
// carry yet (empty network inputs are refused by set_tensor_address).
void run_impl(std::string_view op, std::vector<Array> const& inputs, Attrs const& attrs,
              Array& out) {
  auto def = Registry::global().get(op);
  auto view = [](Array const& a) {
    Tensor t;
    t.data = const_cast<void*>(a.raw());
    t.dtype = a.dtype();
    t.shape = a.shape();
    t.strides = dense_strides(a.shape(), TensorFormat::LINEAR);
    return t;
  };
  std::vector<Tensor> in;
  for (auto const& a : inputs) in.push_back(view(a));
  Tensor o = view(out);
  def->impl(Device::CPU)->bind(resolve_attrs(def->id, def->attrs, attrs))(in, {&o, 1});
}

void expect_same(Array const& got, Array const& want, std::string const& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  size_t e = element_size(got.dtype());
  auto const* g = static_cast<unsigned char const*>(got.raw());
  auto const* w = static_cast<unsigned char const*>(want.raw());
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_EQ(std::memcmp(g + i * e, w + i * e, e), 0) << what << ": element " << i << " differs";
}

// Row-major coordinates of linear index i in `shape`, and back.
std::vector<int64_t> coords(int64_t i, Dims const& shape) {
  std::vector<int64_t> c(static_cast<size_t>(shape.rank()));
  for (int d = shape.rank() - 1; d >= 0; --d) {
    c[static_cast<size_t>(d)] = i % shape[d];
    i /= shape[d];
  }
  return c;
}
int64_t linear(std::vector<int64_t> const& c, Dims const& shape) {
  int64_t i = 0;
  for (int d = 0; d < shape.rank(); ++d) i = i * shape[d] + c[static_cast<size_t>(d)];
  return i;
}

// Copies element `from` of x to element `to` of y.
void copy_element(Array const& x, int64_t from, Array& y, int64_t to) {
  size_t e = element_size(x.dtype());
  std::memcpy(static_cast<unsigned char*>(y.raw()) + to * e,
              static_cast<unsigned char const*>(x.raw()) + from * e, e);
}

// ---- Transpose --------------------------------------------------------------------------------

Array transpose_reference(Array const& x, std::vector<int64_t> const& perm) {
  Dims in = x.shape();
  Dims out;
  for (int64_t p : perm) out.push_back(in[static_cast<int>(p)]);
  Array y(x.dtype(), out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto oc = coords(i, out);
    std::vector<int64_t> ic(oc.size());
    for (size_t k = 0; k < perm.size(); ++k) ic[static_cast<size_t>(perm[k])] = oc[k];
    copy_element(x, linear(ic, in), y, i);
  }
  return y;
}

Attrs perm_attr(std::vector<int64_t> perm) {
  return {{"perm", AttrValue(std::move(perm))}};
}

TEST(Transpose, EveryPermutationOfRank4) {
  std::mt19937 rng(1);
  Array x = random_array(DataType::FP32, {2, 3, 4, 5}, rng);
  std::vector<int64_t> perm = {0, 1, 2, 3};
  do {
    expect_same(run("onnx::Transpose", {{"x", x}}, perm_attr(perm)), transpose_reference(x, perm),
                "perm " + ::testing::PrintToString(perm));
  } while (std::next_permutation(perm.begin(), perm.end()));
}

TEST(Transpose, DefaultReversesTheAxes) {
  std::mt19937 rng(2);
  Array x = random_array(DataType::FP32, {2, 3, 4}, rng);
  expect_same(run("onnx::Transpose", {{"x", x}}), transpose_reference(x, {2, 1, 0}), "default");
  // Larger than the CPU's 32x32 blocks, with partial ones.
  Array m = random_array(DataType::INT32, {70, 45}, rng);
  expect_same(run("onnx::Transpose", {{"x", m}}), transpose_reference(m, {1, 0}), "70x45");
}

TEST(Transpose, EveryElementTypeAndBertShapes) {
  std::mt19937 rng(3);
  for (DataType t : kEveryType) {
    // (B,S,H,D) -> (B,H,S,D) keeps the last axis; (B,H,S,D) -> (B,H,D,S) moves it.
    Array x = random_array(t, {2, 7, 3, 8}, rng);
    for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 2, 1, 3}, {0, 1, 3, 2}, {3, 0, 2, 1}})
      expect_same(run("onnx::Transpose", {{"x", x}}, perm_attr(perm)), transpose_reference(x, perm),
                  std::string(name(t)) + " perm " + ::testing::PrintToString(perm));
  }
}

TEST(Transpose, RankEightWithUnitAxesAndEmptyTensors) {
  std::mt19937 rng(4);
  Array x = random_array(DataType::FP16, {2, 1, 3, 1, 2, 3, 1, 2}, rng);
  std::vector<int64_t> perm = {7, 5, 3, 1, 0, 2, 4, 6};
  expect_same(run("onnx::Transpose", {{"x", x}}, perm_attr(perm)), transpose_reference(x, perm),
              "rank 8");
  Array empty = random_array(DataType::FP32, {3, 0, 2}, rng);
  Array y(DataType::FP32, {2, 0, 3});
  run_impl("onnx::Transpose", {empty}, {}, y);  // nothing to move, nothing read
}

TEST(Transpose, APermThatIsNoPermutationIsRefused) {
  std::mt19937 rng(5);
  Array x = random_array(DataType::FP32, {2, 3, 4}, rng);
  for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 1}, {0, 1, 1}, {0, 1, 3}, {-1, 0, 1}}) {
    std::string msg = error_of([&] { run("onnx::Transpose", {{"x", x}}, perm_attr(perm)); });
    EXPECT_THAT(msg, HasSubstr("onnx::Transpose: attribute 'perm'"));
    EXPECT_THAT(msg, HasSubstr("is not a permutation of the input's 3 axes"));
  }
}

// ---- DepthToSpace, SpaceToDepth ----------------------------------------------------------------

Array depth_to_space_reference(Array const& x, int64_t b, bool dcr) {
  Dims in = x.shape();
  int64_t c = in[1] / (b * b);
  Dims out{in[0], c, in[2] * b, in[3] * b};
  Array y(x.dtype(), out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto o = coords(i, out);
    int64_t bi = o[2] % b, bj = o[3] % b;
    int64_t ch = dcr ? (bi * b + bj) * c + o[1] : o[1] * b * b + bi * b + bj;
    copy_element(x, linear({o[0], ch, o[2] / b, o[3] / b}, in), y, i);
  }
  return y;
}

Array space_to_depth_reference(Array const& x, int64_t b) {
  Dims in = x.shape();
  Dims out{in[0], in[1] * b * b, in[2] / b, in[3] / b};
  Array y(x.dtype(), out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto o = coords(i, out);
    int64_t c = o[1] % in[1], block = o[1] / in[1];
    copy_element(x, linear({o[0], c, o[2] * b + block / b, o[3] * b + block % b}, in), y, i);
  }
  return y;
}

TEST(DepthToSpace, BothModesAndTheInverse) {
  std::mt19937 rng(6);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT64}) {
    Array x = random_array(t, {2, 18, 4, 5}, rng);
    for (std::string mode : {"DCR", "CRD"}) {
      Attrs attrs{{"blocksize", int64_t{3}}, {"mode", mode}};
      expect_same(run("onnx::DepthToSpace", {{"x", x}}, attrs),
                  depth_to_space_reference(x, 3, mode == "DCR"), mode);
    }
    // SpaceToDepth undoes DCR.
    Array y = run("onnx::DepthToSpace", {{"x", x}}, {{"blocksize", int64_t{3}}});
    expect_same(run("onnx::SpaceToDepth", {{"x", y}}, {{"blocksize", int64_t{3}}}), x, "inverse");
    expect_same(run("onnx::SpaceToDepth", {{"x", y}}, {{"blocksize", int64_t{3}}}),
                space_to_depth_reference(y, 3), "space_to_depth");
  }
}

TEST(DepthToSpace, BadAttributesAndShapesAreRefused) {
  std::mt19937 rng(7);
  Array x = random_array(DataType::FP32, {1, 8, 2, 3}, rng);
  EXPECT_THAT(error_of([&] {
                run("onnx::DepthToSpace", {{"x", x}});
              }),
              HasSubstr("onnx::DepthToSpace: attribute 'blocksize' is 0; it must be a positive"));
  EXPECT_THAT(error_of([&] {
                run("onnx::DepthToSpace", {{"x", x}}, {{"blocksize", int64_t{2}}, {"mode", "ABC"}});
              }),
              HasSubstr("attribute 'mode' is 'ABC'; it must be 'DCR' or 'CRD'"));
  EXPECT_THAT(error_of([&] {
                run("onnx::DepthToSpace", {{"x", x}}, {{"blocksize", int64_t{3}}});
              }),
              HasSubstr("the channel count 8 is not a multiple of 9"));
  EXPECT_THAT(error_of([&] {
                run("onnx::SpaceToDepth", {{"x", x}}, {{"blocksize", int64_t{2}}});
              }),
              HasSubstr("onnx::SpaceToDepth: the width 3 is not a multiple of 2"));
}

// ---- Gather, GatherElements -------------------------------------------------------------------

Array gather_reference(Array const& data, std::vector<int64_t> const& idx, Dims idx_shape,
                       int axis) {
  Dims in = data.shape();
  Dims out;
  for (int d = 0; d < axis; ++d) out.push_back(in[d]);
  for (int64_t e : idx_shape) out.push_back(e);
  for (int d = axis + 1; d < in.rank(); ++d) out.push_back(in[d]);
  Array y(data.dtype(), out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto o = coords(i, out);
    std::vector<int64_t> ic(o.begin(), o.begin() + axis);
    std::vector<int64_t> jc(o.begin() + axis, o.begin() + axis + idx_shape.rank());
    int64_t v = idx[static_cast<size_t>(linear(jc, idx_shape))];
    ic.push_back(v < 0 ? v + in[axis] : v);
    ic.insert(ic.end(), o.begin() + axis + idx_shape.rank(), o.end());
    copy_element(data, linear(ic, in), y, i);
  }
  return y;
}

// Indices as `t` (INT32 or INT64) of the values `v`.
Array index_tensor(DataType t, Dims shape, std::vector<int64_t> const& v) {
  if (t == DataType::INT64) return indices_array<int64_t>(shape, v);
  return indices_array<int32_t>(shape,
                                std::vector<int32_t>(v.begin(), v.end()));  // values are small
}

TEST(Gather, EveryAxisIndexTypeAndNegativeIndices) {
  std::mt19937 rng(8);
  for (DataType t : {DataType::FP32, DataType::BF16, DataType::INT8, DataType::INT64}) {
    Array data = random_array(t, {5, 4, 6}, rng);
    for (int64_t axis : {0, 1, 2, -1}) {
      int a = static_cast<int>(axis < 0 ? axis + 3 : axis);
      int64_t n = data.shape()[a];
      std::vector<int64_t> idx = {0, n - 1, -1, -n, 1, 2};
      for (DataType it : {DataType::INT32, DataType::INT64}) {
        Array got =
            run("onnx::Gather", {{"data", data}, {"indices", index_tensor(it, {2, 3}, idx)}},
                {{"axis", axis}});
        expect_same(got, gather_reference(data, idx, {2, 3}, a),
                    std::string(name(t)) + " axis " + std::to_string(axis));
      }
    }
  }
}

TEST(Gather, ScalarIndicesDropTheAxis) {
  std::mt19937 rng(9);
  Array data = random_array(DataType::FP16, {3, 4}, rng);
  Array got = run("onnx::Gather", {{"data", data}, {"indices", indices_array<int64_t>({}, {-2})}},
                  {{"axis", int64_t{1}}});
  expect_same(got, gather_reference(data, {-2}, {}, 1), "scalar index");
  EXPECT_EQ(got.shape(), (Dims{3}));
}

TEST(GatherND, PicksSlicesWithBatchDimsAndRefusesAnIndexOutOfRange) {
  // data [2, 3, 4], batch_dims 1, tuples of 1 index: out[b, n, :] = data[b, idx[b, n], :].
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Array data = Array::from<float>({2, 3, 4}, v);
  Array idx = indices_array<int64_t>({2, 2, 1}, {2, 0, -1, 1});
  Array got =
      run("onnx::GatherND", {{"data", data}, {"indices", idx}}, {{"batch_dims", int64_t{1}}});
  ASSERT_EQ(got.shape(), (Dims{2, 2, 4}));
  int64_t rows[] = {2, 0, 1 * 3 + 2, 1 * 3 + 1};  // data rows (b * 3 + index)
  for (int g = 0; g < 4; ++g)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(got.data<float>()[g * 4 + j], static_cast<float>(rows[g] * 4 + j));
  EXPECT_THAT(error_of([&] {
                run("onnx::GatherND",
                    {{"data", data}, {"indices", indices_array<int64_t>({2, 1}, {0, 3})}});
              }),
              HasSubstr("onnx::GatherND: index 3 (tuple 1) is out of range"));
}

TEST(Gather, AnIndexOutOfRangeIsAnError) {
  std::mt19937 rng(10);
  Array data = random_array(DataType::FP32, {5, 2}, rng);
  std::string msg = error_of([&] {
    run("onnx::Gather", {{"data", data}, {"indices", indices_array<int64_t>({3}, {1, 5, 0})}});
  });
  EXPECT_THAT(msg, HasSubstr("onnx::Gather: index 5 (element 1 of indices) is out of range for "
                             "axis 0 of extent 5 (valid: -5..4)"));
  msg = error_of([&] {
    run("onnx::Gather", {{"data", data}, {"indices", indices_array<int32_t>({1}, {-6})}});
  });
  EXPECT_THAT(msg, HasSubstr("index -6"));
}

TEST(Gather, BadAxisAndIndexTypeAreRefused) {
  std::mt19937 rng(11);
  Array data = random_array(DataType::FP32, {5, 2}, rng);
  Array idx = indices_array<int64_t>({1}, {0});
  EXPECT_THAT(error_of([&] {
                run("onnx::Gather", {{"data", data}, {"indices", idx}}, {{"axis", int64_t{2}}});
              }),
              HasSubstr("onnx::Gather: attribute 'axis' 2 is out of range for a tensor of rank 2"));
  EXPECT_THAT(
      error_of([&] {
        run("onnx::Gather", {{"data", data}, {"indices", random_array(DataType::FP32, {1}, rng)}});
      }),
      HasSubstr("onnx::Gather: indices must be INT32 or INT64, not FP32"));
}

// Build-time values: Gather of a shape tensor with constant indices is folded.
TEST(Gather, ShapeValuesAreGatheredAtBuildTime) {
  auto def = Registry::global().get("onnx::Gather");
  TensorDesc shape =
      TensorDesc(DataType::INT64, {3})
          .with_value({ShapeExpr::input_dim(0, 0), ShapeExpr(7), ShapeExpr::input_dim(0, 2)});
  TensorDesc index = TensorDesc(DataType::INT64, {}).with_value({ShapeExpr(-1)}, true);
  std::vector<TensorDesc> in = {shape, index};
  auto out = def->desc(in, resolve_attrs(def->id, def->attrs, {}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rank(), 0);
  ASSERT_TRUE(out[0].has_value());
  EXPECT_EQ((*out[0].value)[0], ShapeExpr::input_dim(0, 2));
}

Array gather_elements_reference(Array const& data, Array const& idx, int axis) {
  Dims in = data.shape();
  Array y(data.dtype(), idx.shape());
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto c = coords(i, idx.shape());
    int64_t v = idx.data<int64_t>()[i];
    c[static_cast<size_t>(axis)] = v < 0 ? v + in[axis] : v;
    copy_element(data, linear(c, in), y, i);
  }
  return y;
}

TEST(GatherElements, EveryAxisAgainstTheReference) {
  std::mt19937 rng(12);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT32}) {
    Array data = random_array(t, {4, 5, 3}, rng);
    for (int axis = 0; axis < 3; ++axis) {
      Dims ishape{3, 4, 2};
      ishape[axis] = 6;  // along the axis, indices may be longer than data
      Array idx(DataType::INT64, ishape);
      std::uniform_int_distribution<int64_t> pick(-data.shape()[axis], data.shape()[axis] - 1);
      for (int64_t i = 0; i < idx.numel(); ++i) idx.data<int64_t>()[i] = pick(rng);
      expect_same(run("onnx::GatherElements", {{"data", data}, {"indices", idx}},
                      {{"axis", int64_t{axis}}}),
                  gather_elements_reference(data, idx, axis),
                  std::string(name(t)) + " axis " + std::to_string(axis));
    }
  }
}

TEST(GatherElements, OnnxExampleAndErrors) {
  Array data = Array::from<float>({2, 2}, {1, 2, 3, 4});
  Array got = run("onnx::GatherElements",
                  {{"data", data}, {"indices", indices_array<int64_t>({2, 2}, {0, 0, 1, 0})}},
                  {{"axis", int64_t{1}}});
  EXPECT_EQ(std::vector<float>(got.data<float>(), got.data<float>() + 4),
            (std::vector<float>{1, 1, 4, 3}));
  EXPECT_THAT(error_of([&] {
                run("onnx::GatherElements",
                    {{"data", data}, {"indices", indices_array<int64_t>({2, 2}, {0, 2, 1, 0})}});
              }),
              HasSubstr("onnx::GatherElements: index 2 (element 1 of indices) is out of range"));
  EXPECT_THAT(error_of([&] {
                run("onnx::GatherElements",
                    {{"data", data}, {"indices", indices_array<int64_t>({4}, {0, 0, 1, 0})}});
              }),
              HasSubstr("indices have rank 1, data rank 2; they must be equal"));
}

// ---- Concat -----------------------------------------------------------------------------------

Array concat_reference(std::vector<Array> const& xs, int axis) {
  Dims out = xs[0].shape();
  out[axis] = 0;
  for (auto const& x : xs) out[axis] += x.shape()[axis];
  Array y(xs[0].dtype(), out);
  int64_t offset = 0;
  for (auto const& x : xs) {
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto c = coords(i, x.shape());
      c[static_cast<size_t>(axis)] += offset;
      copy_element(x, i, y, linear(c, out));
    }
    offset += x.shape()[axis];
  }
  return y;
}

TEST(Concat, ManyInputsAlongEveryAxis) {
  std::mt19937 rng(13);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::UINT8, DataType::INT64}) {
    for (int64_t axis : {0, 1, 2, -1}) {
      int a = static_cast<int>(axis < 0 ? axis + 3 : axis);
      Inputs inputs;
      std::vector<Array> xs;
      for (int64_t extent : {2, 1, 3}) {
        Dims s{3, 4, 5};
        s[a] = extent;
        xs.push_back(random_array(t, s, rng));
        inputs.emplace_back(fmt::format("x{}", xs.size()), xs.back());
      }
      expect_same(run("onnx::Concat", inputs, {{"axis", axis}}), concat_reference(xs, a),
                  std::string(name(t)) + " axis " + std::to_string(axis));
    }
  }
  // An empty input takes no room.
  std::vector<Array> xs = {random_array(DataType::INT32, {2, 3}, rng),
                           random_array(DataType::INT32, {2, 0}, rng),
                           random_array(DataType::INT32, {2, 2}, rng)};
  Array y(DataType::INT32, {2, 5});
  run_impl("onnx::Concat", xs, {{"axis", int64_t{1}}}, y);
  expect_same(y, concat_reference(xs, 1), "empty input");
  Array one = random_array(DataType::INT32, {4}, rng);
  expect_same(run("onnx::Concat", {{"x", one}}, {{"axis", int64_t{0}}}), one, "one input");
}

TEST(Concat, MismatchedInputsAndAxisAreRefused) {
  std::mt19937 rng(14);
  Array a = random_array(DataType::FP32, {2, 3}, rng);
  Array b = random_array(DataType::FP32, {2, 4}, rng);
  EXPECT_THAT(error_of([&] {
                run("onnx::Concat", {{"a", a}, {"b", b}}, {{"axis", int64_t{0}}});
              }),
              HasSubstr("onnx::Concat: input 1 has extent 4 on axis 1, input 0 3; only axis 0 "
                        "may differ"));
  EXPECT_THAT(error_of([&] {
                run("onnx::Concat", {{"a", a}, {"b", b}}, {{"axis", int64_t{2}}});
              }),
              HasSubstr("onnx::Concat: attribute 'axis' 2 is out of range"));
  Array c = random_array(DataType::FP16, {2, 3}, rng);
  EXPECT_THAT(error_of([&] {
                run("onnx::Concat", {{"a", a}, {"c", c}}, {{"axis", int64_t{0}}});
              }),
              HasSubstr("onnx::Concat: input 1 is FP16, input 0 FP32"));
  EXPECT_THAT(error_of([&] { run("onnx::Concat", {{"a", a}, {"c", b}}); }), HasSubstr("axis"));
}

TEST(Concat, ShapeValuesJoinAtBuildTime) {
  auto def = Registry::global().get("onnx::Concat");
  TensorDesc a = TensorDesc(DataType::INT64, {1}).with_value({ShapeExpr::input_dim(0, 0)});
  TensorDesc b = TensorDesc(DataType::INT64, {2}).with_value({ShapeExpr(-1), ShapeExpr(64)});
  std::vector<TensorDesc> in = {a, b};
  auto out = def->desc(in, resolve_attrs(def->id, def->attrs, {{"axis", int64_t{0}}}));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_value());
  EXPECT_EQ(*out[0].value,
            (std::vector<ShapeExpr>{ShapeExpr::input_dim(0, 0), ShapeExpr(-1), ShapeExpr(64)}));
  EXPECT_EQ(out[0].shape_expr, (std::vector<ShapeExpr>{ShapeExpr(3)}));
}

// ---- Tile, Pad ----------------------------------------------------------------------------------

Array int64s(std::vector<int64_t> v) {
  return Array::from<int64_t>(Dims{static_cast<int64_t>(v.size())}, v);
}
// What the importer passes for an omitted optional input.
Array omitted() {
  return Array(DataType::INT64, Dims{0});
}

Array tile_reference(Array const& x, std::vector<int64_t> const& repeats) {
  Dims out;
  for (int d = 0; d < x.shape().rank(); ++d) out.push_back(x.shape()[d] * repeats[size_t(d)]);
  Array y(x.dtype(), out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto c = coords(i, out);
    for (int d = 0; d < out.rank(); ++d) c[size_t(d)] %= x.shape()[d];
    copy_element(x, linear(c, x.shape()), y, i);
  }
  return y;
}

TEST(Tile, EveryAxisAndType) {
  std::mt19937 rng(30);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT8, DataType::INT64}) {
    Array x = random_array(t, {2, 3, 4}, rng);
    for (std::vector<int64_t> r : {std::vector<int64_t>{1, 1, 1}, {2, 1, 3}, {3, 2, 1}, {1, 4, 2}})
      expect_same(run_operands("onnx::Tile", {{"x", x}, {"repeats", int64s(r), true}}),
                  tile_reference(x, r), std::string(name(t)) + ::testing::PrintToString(r));
  }
}

TEST(Tile, BadRepeatsAreRefused) {
  std::mt19937 rng(31);
  Array x = random_array(DataType::FP32, {2, 3}, rng);
  EXPECT_THAT(error_of([&] {
                run_operands("onnx::Tile", {{"x", x}, {"repeats", int64s({2}), true}});
              }),
              HasSubstr("onnx::Tile: repeats must be 1-D with one entry per input axis (2), it "
                        "has 1"));
  EXPECT_THAT(error_of([&] {
                run_operands("onnx::Tile", {{"x", x}, {"repeats", int64s({2, -1}), true}});
              }),
              HasSubstr("onnx::Tile: repeats[1] is -1; repeats must be 0 or more"));
}

// numpy.pad's rules, one axis at a time: the source coordinate of output coordinate c.
int64_t pad_source(int64_t c, int64_t begin, int64_t n, std::string const& mode) {
  int64_t s = c - begin;
  if (s >= 0 && s < n) return s;
  if (mode == "constant") return -1;
  if (mode == "edge") return s < 0 ? 0 : n - 1;
  if (mode == "wrap") return ((s % n) + n) % n;
  while (s < 0 || s >= n) s = s < 0 ? -s : 2 * (n - 1) - s;  // reflect, bouncing as often as needed
  return s;
}

Array pad_reference(Array const& x, std::vector<int64_t> const& begin,
                    std::vector<int64_t> const& end, std::string const& mode, float value) {
  Dims in = x.shape(), out;
  for (int d = 0; d < in.rank(); ++d) out.push_back(in[d] + begin[size_t(d)] + end[size_t(d)]);
  Array y(x.dtype(), out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto c = coords(i, out);
    bool inside = true;
    for (int d = 0; d < in.rank(); ++d) {
      c[size_t(d)] = pad_source(c[size_t(d)], begin[size_t(d)], in[d], mode);
      inside = inside && c[size_t(d)] >= 0;
    }
    if (inside)
      copy_element(x, linear(c, in), y, i);
    else
      y.data<float>()[i] = value;
  }
  return y;
}

TEST(Pad, EveryModeAgainstNumpyRules) {
  std::mt19937 rng(32);
  Array x = random_array(DataType::FP32, {3, 4, 5}, rng);
  for (std::string mode : {"constant", "reflect", "edge", "wrap"}) {
    // Large pads (reflect bounces twice), zero and, in constant mode, negative ones (a crop).
    std::vector<int64_t> begin = {1, 0, 6}, end = {2, 3, mode == "constant" ? -2 : 9};
    std::vector<int64_t> pads = begin;
    pads.insert(pads.end(), end.begin(), end.end());
    Array got = run_operands("onnx::Pad",
                             {{"x", x},
                              {"pads", int64s(pads), true},
                              {"value", Array::from<float>({}, {2.5f})},
                              {"axes", omitted(), true}},
                             {{"mode", mode}});
    expect_same(got, pad_reference(x, begin, end, mode, 2.5f), mode);
  }
}

TEST(Pad, AxesOmittedValueAndOtherTypes) {
  std::mt19937 rng(33);
  Array x = random_array(DataType::FP32, {1, 3, 4, 5}, rng);
  // axes {-1, 1}: pads are (begin -1, begin 1, end -1, end 1).
  Array got = run_operands("onnx::Pad", {{"x", x},
                                         {"pads", int64s({2, 1, 0, 3}), true},
                                         {"value", omitted(), true},
                                         {"axes", int64s({-1, 1}), true}});
  expect_same(got, pad_reference(x, {0, 1, 0, 2}, {0, 3, 0, 0}, "constant", 0.0f), "axes");
  Array xi = random_array(DataType::INT32, {2, 3}, rng);
  Array edge = run_operands("onnx::Pad",
                            {{"x", xi},
                             {"pads", int64s({1, 2, 2, 1}), true},
                             {"value", omitted(), true},
                             {"axes", omitted(), true}},
                            {{"mode", "edge"}});
  ASSERT_EQ(edge.shape(), (Dims{5, 6}));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 6; ++j)
      EXPECT_EQ(edge.data<int32_t>()[i * 6 + j],
                xi.data<int32_t>()[std::clamp<int64_t>(i - 1, 0, 1) * 3 +
                                   std::clamp<int64_t>(j - 2, 0, 2)]);
}

TEST(Pad, BadModePadsAndValueAreRefused) {
  std::mt19937 rng(34);
  Array x = random_array(DataType::FP32, {2, 3}, rng);
  auto pad_with = [&](Array pads, Array value, Attrs attrs) {
    return error_of([&] {
      run_operands("onnx::Pad",
                   {{"x", x}, {"pads", pads, true}, {"value", value}, {"axes", omitted(), true}},
                   attrs);
    });
  };
  EXPECT_THAT(pad_with(int64s({0, 0, 0, 0}), omitted(), {{"mode", "mirror"}}),
              HasSubstr("onnx::Pad: attribute 'mode' is 'mirror'; it must be 'constant', "
                        "'reflect', 'edge' or 'wrap'"));
  EXPECT_THAT(pad_with(int64s({1, 1}), omitted(), {}),
              HasSubstr("onnx::Pad: pads has 2 entries; 2 padded axes need 4"));
  EXPECT_THAT(pad_with(int64s({0, -2, 0, -2}), omitted(), {}),
              HasSubstr("leave a negative extent -1"));
  EXPECT_THAT(pad_with(int64s({0, 0, 0, 0}), Array::from<int32_t>({}, {1}), {}),
              HasSubstr("onnx::Pad: constant_value must be one element of the data's type (FP32)"));
}

// ---- the CUDA impls against the CPU ones ------------------------------------------------------

class MovementGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
  static void same_on_both(std::string_view op, Inputs const& inputs, Attrs const& attrs,
                           std::string const& what) {
    expect_same(run(op, inputs, attrs, Device::CUDA), run(op, inputs, attrs, Device::CPU), what);
  }
};

TEST_F(MovementGpu, TransposeEveryKernelAndType) {
  std::mt19937 rng(21);
  struct Case {
    Dims shape;
    std::vector<int64_t> perm;
  };
  std::vector<Case> cases = {
      {{2, 128, 12, 64}, {0, 2, 1, 3}},  // BERT heads: contiguous rows
      {{2, 12, 128, 64}, {0, 1, 3, 2}},  // K^T: tiled
      {{67, 45}, {1, 0}},                // partial tiles
      {{3, 40, 70}, {0, 2, 1}},          // partial tiles in a batch
      {{3, 5, 7}, {2, 0, 1}},            // short axes: one thread per element
      {{2, 3, 1, 5, 1, 4, 2, 3}, {7, 6, 5, 4, 3, 2, 1, 0}},
      {{4, 6, 9}, {0, 2, 1}},
      {{5, 33, 3}, {1, 0, 2}},  // rows of 3 elements: narrow vectors
  };
  for (DataType t : kEveryType)
    for (auto const& c : cases)
      same_on_both("onnx::Transpose", {{"x", random_array(t, c.shape, rng)}}, perm_attr(c.perm),
                   std::string(name(t)) + " " + to_string(c.shape));
}

TEST_F(MovementGpu, DepthToSpaceAndSpaceToDepth) {
  std::mt19937 rng(22);
  Array x = random_array(DataType::FP16, {2, 16, 5, 6}, rng);
  for (std::string mode : {"DCR", "CRD"})
    same_on_both("onnx::DepthToSpace", {{"x", x}}, {{"blocksize", int64_t{2}}, {"mode", mode}},
                 mode);
  same_on_both("onnx::SpaceToDepth", {{"x", random_array(DataType::FP32, {2, 3, 8, 6}, rng)}},
               {{"blocksize", int64_t{2}}}, "space_to_depth");
}

TEST_F(MovementGpu, GatherAndGatherElements) {
  std::mt19937 rng(23);
  // An embedding lookup (16-byte vectors) and odd rows (narrow ones), both index types.
  for (Dims shape : {Dims{1000, 768}, Dims{7, 3, 5}})
    for (DataType t : {DataType::FP16, DataType::FP32, DataType::INT8, DataType::INT64})
      for (DataType it : {DataType::INT32, DataType::INT64}) {
        Array data = random_array(t, shape, rng);
        std::uniform_int_distribution<int64_t> pick(-shape[0], shape[0] - 1);
        std::vector<int64_t> idx(64);
        for (auto& v : idx) v = pick(rng);
        same_on_both("onnx::Gather", {{"data", data}, {"indices", index_tensor(it, {8, 8}, idx)}},
                     {}, std::string(name(t)) + " " + to_string(shape));
      }
  Array data = random_array(DataType::BF16, {6, 7, 8}, rng);
  Array idx(DataType::INT64, {6, 9, 8});
  std::uniform_int_distribution<int64_t> pick(-7, 6);
  for (int64_t i = 0; i < idx.numel(); ++i) idx.data<int64_t>()[i] = pick(rng);
  same_on_both("onnx::GatherElements", {{"data", data}, {"indices", idx}}, {{"axis", int64_t{1}}},
               "gather_elements");
}

// On CUDA an index out of range reads nothing: its output block is zeros. (Until the runtime
// reports the kernel's fault record, the run itself succeeds; once it does, the error names it.)
// On the GPU the kernel cannot throw: it reads nothing out of range, and the context raises the
// fault it recorded once the run is synchronized (Runner::infer does).
TEST_F(MovementGpu, GatherOutOfRangeIsAnErrorAfterTheRun) {
  std::mt19937 rng(24);
  Array data = random_array(DataType::FP32, {4, 8}, rng);
  Array idx = indices_array<int64_t>({3}, {1, 1000000, -2});
  EXPECT_THAT(error_of([&] {
                run("onnx::Gather", {{"data", data}, {"indices", idx}}, {}, Device::CUDA);
              }),
              AllOf(HasSubstr("plugin onnx::Gather"), HasSubstr("index 1000000 is out of range")));
  // A later run with good indices is right.
  Array good = indices_array<int64_t>({3}, {1, 3, -2});
  Array got = run("onnx::Gather", {{"data", data}, {"indices", good}}, {}, Device::CUDA);
  for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(got.data<float>()[8 + j], data.data<float>()[24 + j]);
}

TEST_F(MovementGpu, GatherNDMatchesTheCpuAndReportsAnIndexOutOfRange) {
  std::mt19937 rng(27);
  Array data = random_array(DataType::FP16, {3, 5, 6}, rng);
  Array idx = indices_array<int64_t>({4, 2}, {0, 1, 2, -1, 1, 4, -3, 0});
  expect_same(run("onnx::GatherND", {{"data", data}, {"indices", idx}}, {}, Device::CUDA),
              run("onnx::GatherND", {{"data", data}, {"indices", idx}}), "gather_nd");
  Array bad = indices_array<int64_t>({1, 2}, {0, 9});
  EXPECT_THAT(error_of([&] {
                run("onnx::GatherND", {{"data", data}, {"indices", bad}}, {}, Device::CUDA);
              }),
              HasSubstr("index 9 is out of range"));
}

TEST_F(MovementGpu, TileAndPad) {
  std::mt19937 rng(26);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::INT64}) {
    Array x = random_array(t, {3, 5, 7}, rng);
    std::vector<Operand> tile = {{"x", x}, {"repeats", int64s({2, 1, 3}), true}};
    expect_same(run_operands("onnx::Tile", tile, {}, Device::CUDA),
                run_operands("onnx::Tile", tile, {}, Device::CPU), "tile");
    for (std::string mode : {"constant", "reflect", "edge", "wrap"}) {
      Array value(t, Dims{});
      std::memset(value.raw(), 0x3c, value.bytes());
      std::vector<Operand> pad = {{"x", x},
                                  {"pads", int64s({1, 0, 4, 2, 6, 1}), true},
                                  {"value", value},
                                  {"axes", omitted(), true}};
      expect_same(run_operands("onnx::Pad", pad, {{"mode", mode}}, Device::CUDA),
                  run_operands("onnx::Pad", pad, {{"mode", mode}}, Device::CPU), mode);
    }
  }
}

TEST_F(MovementGpu, Concat) {
  std::mt19937 rng(25);
  for (DataType t : {DataType::FP32, DataType::BF16, DataType::BOOL})
    for (int64_t axis : {0, 1, 2}) {
      Inputs inputs;
      for (int64_t extent : {3, 1, 5}) {
        Dims s{4, 6, 7};
        s[static_cast<int>(axis)] = extent;
        inputs.emplace_back(fmt::format("x{}", inputs.size()), random_array(t, s, rng));
      }
      same_on_both("onnx::Concat", inputs, {{"axis", axis}},
                   std::string(name(t)) + " axis " + std::to_string(axis));
    }
}

}  // namespace
