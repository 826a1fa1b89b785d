// The nn operators (src/ops/nn): Conv, MatMul, Gemm, qdp::MatMulBias, BatchNormalization, MaxPool,
// AveragePool, GlobalAveragePool, GlobalMaxPool. Each runs as a one-layer network (weights are
// network inputs) against a plain reference loop on random data: FP32 to 1e-4, FP16/BF16 looser.
// The Gpu suites compare the CUDA impls with the CPU ones and skip without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <qdp/qdp.hpp>
#include <random>

#include "impl_runner.hpp"
#include "test_plugins.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::error_of;

namespace {

using I64s = std::vector<int64_t>;

Array random_array(DataType dtype, Dims shape, std::mt19937& rng, float lo = -1.0f,
                   float hi = 1.0f) {
  Array a(dtype, shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < a.numel(); ++i) {
    float v = dist(rng);
    switch (dtype) {
      case DataType::FP32:
        a.data<float>()[i] = v;
        break;
      case DataType::FP16:
        a.data<half>()[i] = half(v);
        break;
      case DataType::BF16:
        a.data<bfloat16>()[i] = bfloat16(v);
        break;
      case DataType::INT32:
        a.data<int32_t>()[i] = static_cast<int32_t>(std::lround(v * 10));
        break;
      case DataType::INT64:
        a.data<int64_t>()[i] = std::lround(v * 10);
        break;
      case DataType::UINT8:
        a.data<uint8_t>()[i] = static_cast<uint8_t>(std::lround((v + 1) * 100));
        break;
      default:
        ADD_FAILURE() << "no random data for " << name(dtype);
    }
  }
  return a;
}

float at(Array const& a, int64_t i) {
  switch (a.dtype()) {
    case DataType::FP32:
      return a.data<float>()[i];
    case DataType::FP16:
      return a.data<half>()[i];
    case DataType::BF16:
      return a.data<bfloat16>()[i];
    case DataType::INT32:
      return static_cast<float>(a.data<int32_t>()[i]);
    case DataType::INT64:
      return static_cast<float>(a.data<int64_t>()[i]);
    case DataType::UINT8:
      return a.data<uint8_t>()[i];
    default:
      ADD_FAILURE() << "cannot read " << name(a.dtype());
      return 0;
  }
}
std::vector<float> floats(Array const& a) {
  std::vector<float> v(static_cast<size_t>(a.numel()));
  for (int64_t i = 0; i < a.numel(); ++i) v[static_cast<size_t>(i)] = at(a, i);
  return v;
}

// An omitted optional input, as the ONNX importer passes it.
Array absent_input() {
  return Array(DataType::INT64, Dims{0});
}

using Inputs = std::vector<std::pair<std::string, Array>>;

// `op` as a one-layer engine whose inputs are shaped and typed as `inputs`, output "y".
Engine one_layer(std::string_view op, Inputs const& inputs, Attrs const& attrs, Device device) {
  Network net;
  std::vector<TensorRef> refs;
  for (auto const& [name, a] : inputs)
    refs.push_back(net.add_input(name, a.dtype(), I64s(a.shape().begin(), a.shape().end())));
  net.mark_output(net.add_plugin(op, refs, attrs)[0], "y");
  BuildConfig config;
  config.device = device;
  config.strict_types = true;
  return build_engine(net, config);
}

std::map<std::string, Array> feed_of(Inputs const& inputs) {
  return {inputs.begin(), inputs.end()};
}

Array run(std::string_view op, Inputs const& inputs, Attrs const& attrs = {},
          Device device = Device::CPU) {
  return Runner(one_layer(op, inputs, attrs, device)).infer(feed_of(inputs)).at("y");
}

float tolerance(DataType t) {
  return t == DataType::FP32 ? 1e-4f : t == DataType::FP16 ? 1e-2f : 4e-2f;
}

void expect_close(Array const& got, Dims want_shape, std::vector<float> const& want, float tol,
                  std::string const& what) {
  ASSERT_EQ(got.shape(), want_shape) << what;
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    float g = at(got, static_cast<int64_t>(i)), w = want[i];
    ASSERT_NEAR(g, w, tol * std::max(1.0f, std::fabs(w))) << what << " element " << i;
  }
}
void expect_same_as(Array const& got, Array const& want, float tol, std::string const& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  expect_close(got, want.shape(), floats(want), tol, what);
}

// ---- reference loops ----------------------------------------------------------------------------
// Geometry as 3 spatial dims (leading ones of extent 1), pads as begins and ends.
struct Geo {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
          d[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};
Geo geo(Dims const& x, Dims const& y, I64s const& k, I64s s, I64s d, I64s pads) {
  Geo g;
  int sp = x.rank() - 2, lead = 3 - sp;
  if (s.empty()) s.assign(static_cast<size_t>(sp), 1);
  if (d.empty()) d.assign(static_cast<size_t>(sp), 1);
  if (pads.empty()) pads.assign(static_cast<size_t>(2 * sp), 0);
  for (int j = 0; j < sp; ++j) {
    size_t u = static_cast<size_t>(j);
    g.in[lead + j] = x[2 + j];
    g.out[lead + j] = y[2 + j];
    g.k[lead + j] = k[u];
    g.s[lead + j] = s[u];
    g.d[lead + j] = d[u];
    g.pb[lead + j] = pads[u];
    g.pe[lead + j] = pads[u + static_cast<size_t>(sp)];
  }
  return g;
}

std::vector<float> ref_conv(Array const& x, Array const& w, Array const* b, Dims const& y,
                            Geo const& g, int64_t group) {
  auto xs = floats(x), ws = floats(w);
  std::vector<float> bs = b ? floats(*b) : std::vector<float>();
  int64_t n = x.shape()[0], c = x.shape()[1], m = w.shape()[0], cg = c / group, mg = m / group;
  std::vector<float> out;
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t mi = 0; mi < m; ++mi)
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            double acc = b ? bs[static_cast<size_t>(mi)] : 0.0;
            int64_t gi = mi / mg;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t a = 0; a < g.k[0]; ++a)
                for (int64_t bb = 0; bb < g.k[1]; ++bb)
                  for (int64_t cc = 0; cc < g.k[2]; ++cc) {
                    int64_t i0 = o0 * g.s[0] - g.pb[0] + a * g.d[0];
                    int64_t i1 = o1 * g.s[1] - g.pb[1] + bb * g.d[1];
                    int64_t i2 = o2 * g.s[2] - g.pb[2] + cc * g.d[2];
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 ||
                        i2 >= g.in[2])
                      continue;
                    int64_t xc = gi * cg + ci;
                    float xv = xs[static_cast<size_t>(
                        (((ni * c + xc) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2)];
                    float wv = ws[static_cast<size_t>(
                        (((mi * cg + ci) * g.k[0] + a) * g.k[1] + bb) * g.k[2] + cc)];
                    acc += static_cast<double>(xv) * wv;
                  }
            out.push_back(static_cast<float>(acc));
          }
  (void)y;
  return out;
}

// With include_pad, a tap in the explicit pads counts as a zero; a tap past the end pads (in a
// window that ceil_mode adds) is ignored, as in ONNX's reference (op_pool_common.py).
std::vector<float> ref_pool(Array const& x, Geo const& g, bool max, bool include_pad) {
  auto xs = floats(x);
  int64_t rows = x.shape()[0] * x.shape()[1];
  std::vector<float> out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          float best = -INFINITY;
          double sum = 0;
          int64_t count = 0;
          for (int64_t a = 0; a < g.k[0]; ++a)
            for (int64_t b = 0; b < g.k[1]; ++b)
              for (int64_t c = 0; c < g.k[2]; ++c) {
                int64_t i[3] = {o0 * g.s[0] - g.pb[0] + a * g.d[0],
                                o1 * g.s[1] - g.pb[1] + b * g.d[1],
                                o2 * g.s[2] - g.pb[2] + c * g.d[2]};
                bool inside = true, in_padded = true;
                for (int q = 0; q < 3; ++q) {
                  inside = inside && i[q] >= 0 && i[q] < g.in[q];
                  in_padded = in_padded && i[q] < g.in[q] + g.pe[q];
                }
                if (inside) {
                  float v = xs[static_cast<size_t>(
                      ((r * g.in[0] + i[0]) * g.in[1] + i[1]) * g.in[2] + i[2])];
                  best = std::max(best, v);
                  sum += v;
                  ++count;
                } else if (include_pad && in_padded) {
                  ++count;
                }
              }
          out.push_back(max ? best : static_cast<float>(sum / static_cast<double>(count)));
        }
  return out;
}

// Batched row-major products with numpy broadcasting of the batch dims; 2-D operands only here
// (1-D ones are promoted by the callers).
std::vector<float> ref_matmul(std::vector<float> const& a, Dims const& as,
                              std::vector<float> const& b, Dims const& bs, Dims const& batch) {
  int ra = as.rank(), rb = bs.rank(), rank = batch.rank();
  int64_t m = as[ra - 2], k = as[ra - 1], n = bs[rb - 1];
  std::vector<float> out;
  for (int64_t bi = 0; bi < batch.numel(); ++bi) {
    int64_t rest = bi, oa = 0, ob = 0, sa = 1, sb = 1;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t idx = rest % batch[d];
      rest /= batch[d];
      int da = d - (rank - (ra - 2)), db = d - (rank - (rb - 2));
      if (da >= 0) {
        oa += (as[da] == 1 ? 0 : idx) * sa;
        sa *= as[da];
      }
      if (db >= 0) {
        ob += (bs[db] == 1 ? 0 : idx) * sb;
        sb *= bs[db];
      }
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t l = 0; l < k; ++l)
          acc += static_cast<double>(a[static_cast<size_t>(oa * m * k + i * k + l)]) *
                 b[static_cast<size_t>(ob * k * n + l * n + j)];
        out.push_back(static_cast<float>(acc));
      }
  }
  return out;
}

Attrs conv_attrs(I64s pads = {}, I64s strides = {}, I64s dilations = {}, int64_t group = 1,
                 std::string auto_pad = "NOTSET") {
  return {{"pads", pads},
          {"strides", strides},
          {"dilations", dilations},
          {"group", group},
          {"auto_pad", auto_pad}};
}

struct ConvCase {
  std::string what;
  Dims x, w;
  bool bias;
  Attrs attrs;
  Dims y;     // expected output shape
  I64s pads;  // the pads the case amounts to (begins, ends), for the reference
  I64s strides, dilations;
  int64_t group;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"3x3 pad 1",
       {2, 3, 9, 8},
       {4, 3, 3, 3},
       true,
       conv_attrs({1, 1, 1, 1}),
       {2, 4, 9, 8},
       {1, 1, 1, 1},
       {},
       {},
       1},
      {"stride 2, asymmetric pads",
       {1, 3, 7, 7},
       {2, 3, 3, 3},
       true,
       conv_attrs({1, 0, 1, 0}, {2, 2}),
       {1, 2, 4, 3},
       {1, 0, 1, 0},
       {2, 2},
       {},
       1},
      {"dilation 2, no bias",
       {1, 2, 10, 9},
       {3, 2, 3, 2},
       false,
       conv_attrs({}, {}, {2, 3}),
       {1, 3, 6, 6},
       {},
       {},
       {2, 3},
       1},
      {"group 2",
       {2, 4, 6, 6},
       {6, 2, 3, 3},
       true,
       conv_attrs({1, 1, 1, 1}, {}, {}, 2),
       {2, 6, 6, 6},
       {1, 1, 1, 1},
       {},
       {},
       2},
      {"depthwise stride 2",
       {1, 8, 9, 9},
       {8, 1, 3, 3},
       true,
       conv_attrs({1, 1, 1, 1}, {2, 2}, {}, 8),
       {1, 8, 5, 5},
       {1, 1, 1, 1},
       {2, 2},
       {},
       8},
      {"SAME_UPPER stride 2",
       {1, 2, 6, 5},
       {3, 2, 3, 3},
       true,
       conv_attrs({}, {2, 2}, {}, 1, "SAME_UPPER"),
       {1, 3, 3, 3},
       {0, 1, 1, 1},
       {2, 2},
       {},
       1},
      {"SAME_LOWER even kernel",
       {1, 2, 5, 5},
       {2, 2, 2, 2},
       false,
       conv_attrs({}, {}, {}, 1, "SAME_LOWER"),
       {1, 2, 5, 5},
       {1, 1, 0, 0},
       {},
       {},
       1},
      {"VALID",
       {1, 2, 6, 7},
       {2, 2, 3, 3},
       true,
       conv_attrs({}, {}, {}, 1, "VALID"),
       {1, 2, 4, 5},
       {},
       {},
       {},
       1},
      {"1-D", {2, 3, 11}, {4, 3, 3}, true, conv_attrs({1, 2}, {2}), {2, 4, 6}, {1, 2}, {2}, {}, 1},
      {"3-D",
       {1, 2, 5, 6, 4},
       {3, 2, 3, 3, 2},
       true,
       conv_attrs({1, 1, 0, 1, 1, 1}),
       {1, 3, 5, 6, 4},  // last axis: (4 + 0 + 1 - 2) / 1 + 1
       {1, 1, 0, 1, 1, 1},
       {},
       {},
       1},
  };
}

Inputs conv_inputs(ConvCase const& c, DataType t, std::mt19937& rng) {
  return {{"x", random_array(t, c.x, rng)},
          {"w", random_array(t, c.w, rng)},
          {"b", c.bias ? random_array(t, Dims{c.w[0]}, rng) : absent_input()}};
}

// ---- Conv ---------------------------------------------------------------------------------------
TEST(NnConv, MatchesTheReferenceForEveryCaseAndType) {
  std::mt19937 rng(1);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (ConvCase const& c : conv_cases()) {
      std::string what = c.what + " " + std::string(name(t));
      Inputs in = conv_inputs(c, t, rng);
      Array y = run("onnx::Conv", in, c.attrs);
      ASSERT_EQ(y.dtype(), t) << what;
      I64s k(c.w.begin() + 2, c.w.end());
      auto want = ref_conv(in[0].second, in[1].second, c.bias ? &in[2].second : nullptr, c.y,
                           geo(c.x, c.y, k, c.strides, c.dilations, c.pads), c.group);
      // 16-bit outputs round once: relative to the magnitude of the sums.
      expect_close(y, c.y, want, t == DataType::FP32 ? 1e-4f : 3 * tolerance(t), what);
    }
}

// qdp::ConvAdd (what the builder makes of a Conv, a residual Add and a Relu) is the convolution
// plus Z, then the activation, for every case and type on the CPU (oneDNN's sum post-op).
TEST(NnConv, ConvAddIsTheConvolutionPlusZThenTheActivation) {
  std::mt19937 rng(2);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (ConvCase const& c : conv_cases())
      for (bool relu : {true, false}) {
        std::string what = fmt::format("{} {} relu {}", c.what, name(t), relu);
        Inputs in = conv_inputs(c, t, rng);
        I64s k(c.w.begin() + 2, c.w.end());
        auto want = ref_conv(in[0].second, in[1].second, c.bias ? &in[2].second : nullptr, c.y,
                             geo(c.x, c.y, k, c.strides, c.dilations, c.pads), c.group);
        in.emplace_back("z", random_array(t, c.y, rng));
        auto z = floats(in[3].second);
        for (size_t i = 0; i < want.size(); ++i)
          want[i] = relu ? std::max(want[i] + z[i], 0.0f) : want[i] + z[i];
        Attrs attrs = c.attrs;
        if (relu) attrs["activation"] = std::string("Relu");
        Array y = run("qdp::ConvAdd", in, attrs);
        expect_close(y, c.y, want, t == DataType::FP32 ? 1e-4f : 3 * tolerance(t), what);
      }
}

// Conv's tactics are cuDNN's algorithms; the CPU has one (tactic 1), and the autotuner skips the
// others as not applying rather than failing the build. On the GPU the chosen tactic is one of
// cuDNN's (NnGpu.ConvMatchesTheCpu checks its result).
TEST(NnConv, TheCpuTakesTacticOneAndTheOtherTacticsAreSkipped) {
  for (Device device : {Device::CPU, Device::CUDA}) {
    if (device == Device::CUDA && !cuda_available()) continue;
    Network net;
    auto x = net.add_input("x", DataType::FP32, {1, 3, 8, 8});
    std::mt19937 rng(3);
    Array w = random_array(DataType::FP32, Dims{4, 3, 3, 3}, rng);
    std::vector<std::byte> bytes(w.bytes());
    std::memcpy(bytes.data(), w.data<float>(), w.bytes());
    auto wt = net.add_constant("w", DataType::FP32, {4, 3, 3, 3}, std::move(bytes));
    auto no_bias = net.add_constant("absent", DataType::INT64, {0}, {});  // as the importer does
    net.mark_output(net.add_plugin("onnx::Conv", {x, wt, no_bias})[0], "y");
    test_plugins::CaptureLogger log;
    BuildConfig config;
    config.device = device;
    config.logger = &log;
    Engine engine = build_engine(net, config);
    auto layers = engine.layers();  // reformats around the Conv where it runs channels-last
    auto conv = std::find_if(layers.begin(), layers.end(),
                             [](LayerInfo const& l) { return l.plugin_id == "onnx::Conv"; });
    ASSERT_NE(conv, layers.end());
    int32_t tactic = conv->tactic;
    if (device == Device::CPU) {
      EXPECT_EQ(tactic, 1);
      EXPECT_THAT(log.text(), HasSubstr("skipped, it does not apply here"));
      EXPECT_THAT(log.text(), HasSubstr("the CPU convolution (oneDNN) has one algorithm"));
    } else {
      EXPECT_GE(tactic, 1);
      EXPECT_LE(tactic, 4);
    }
  }
}

TEST(NnConv, KernelShapeAttributeMustMatchTheWeights) {
  std::mt19937 rng(2);
  ConvCase c = conv_cases()[0];
  Attrs a = c.attrs;
  a["kernel_shape"] = I64s{3, 3};
  Inputs in = conv_inputs(c, DataType::FP32, rng);
  EXPECT_EQ(run("onnx::Conv", in, a).shape(), c.y);
  a["kernel_shape"] = I64s{2, 3};
  EXPECT_THAT(error_of([&] { run("onnx::Conv", in, a); }), HasSubstr("kernel_shape"));
}

TEST(NnConv, RejectsBadAttributesAndShapes) {
  std::mt19937 rng(3);
  ConvCase c = conv_cases()[3];  // group 2
  Inputs in = conv_inputs(c, DataType::FP32, rng);
  Attrs a = c.attrs;
  a["group"] = int64_t{3};
  EXPECT_THAT(error_of([&] { run("onnx::Conv", in, a); }),
              AllOf(HasSubstr("onnx::Conv"), HasSubstr("channels"), HasSubstr("group")));
  a = c.attrs;
  a["group"] = int64_t{0};
  EXPECT_THAT(error_of([&] { run("onnx::Conv", in, a); }), HasSubstr("group is 0"));
  a = c.attrs;
  a["auto_pad"] = std::string("SAME");
  EXPECT_THAT(error_of([&] { run("onnx::Conv", in, a); }),
              AllOf(HasSubstr("auto_pad"), HasSubstr("SAME_UPPER")));
  a = c.attrs;
  a["pads"] = I64s{1, 1};
  EXPECT_THAT(error_of([&] { run("onnx::Conv", in, a); }),
              AllOf(HasSubstr("pads has 2 values"), HasSubstr("4 are needed")));
  a = c.attrs;
  a["strides"] = I64s{0, 1};
  EXPECT_THAT(error_of([&] { run("onnx::Conv", in, a); }), HasSubstr("strides holds 0"));
  Inputs bad_bias = in;
  bad_bias[2].second = random_array(DataType::FP32, Dims{5}, rng);
  EXPECT_THAT(error_of([&] { run("onnx::Conv", bad_bias, c.attrs); }), HasSubstr("B must be"));
}

// ---- MatMul -------------------------------------------------------------------------------------
struct MatmulCase {
  Dims a, b, y;
};

std::vector<MatmulCase> matmul_cases() {
  return {{{5, 7}, {7, 3}, {5, 3}},
          {{2, 4, 6}, {6, 5}, {2, 4, 5}},              // weights without batch
          {{3, 4, 6}, {3, 6, 2}, {3, 4, 2}},           // equal batches
          {{1, 4, 6}, {3, 6, 2}, {3, 4, 2}},           // A broadcast
          {{2, 1, 3, 4}, {1, 5, 4, 6}, {2, 5, 3, 6}},  // mixed broadcasting
          {{6}, {2, 6, 3}, {2, 3}},                    // 1-D A
          {{2, 3, 6}, {6}, {2, 3}},                    // 1-D B
          {{6}, {6}, {}},                              // dot product
          {{3, 9, 16}, {16, 128}, {3, 9, 128}},        // rows of 512 bytes in FP32
          {{4, 8}, {8, 256}, {4, 256}}};               // and in FP16
}

std::vector<float> ref_matmul_numpy(Array const& a, Array const& b) {
  Dims as = a.shape(), bs = b.shape();
  Dims a2 = as, b2 = bs;
  if (as.rank() == 1) a2 = Dims{1, as[0]};
  if (bs.rank() == 1) b2 = Dims{bs[0], 1};
  Dims ba, bb;
  for (int i = 0; i + 2 < a2.rank(); ++i) ba.push_back(a2[i]);
  for (int i = 0; i + 2 < b2.rank(); ++i) bb.push_back(b2[i]);
  int rank = std::max(ba.rank(), bb.rank());
  Dims batch;
  for (int i = 0; i < rank; ++i) {
    int da = i - (rank - ba.rank()), db = i - (rank - bb.rank());
    batch.push_back(std::max(da >= 0 ? ba[da] : 1, db >= 0 ? bb[db] : 1));
  }
  return ref_matmul(floats(a), a2, floats(b), b2, batch);
}

TEST(NnMatMul, MatchesNumpySemanticsForEveryType) {
  std::mt19937 rng(4);
  for (DataType t :
       {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT32, DataType::INT64})
    for (MatmulCase const& c : matmul_cases()) {
      std::string what = to_string(c.a) + " x " + to_string(c.b) + " " + std::string(name(t));
      Array a = random_array(t, c.a, rng), b = random_array(t, c.b, rng);
      Array y = run("onnx::MatMul", {{"a", a}, {"b", b}});
      ASSERT_EQ(y.dtype(), t) << what;
      bool integer = t == DataType::INT32 || t == DataType::INT64;
      std::vector<float> want = ref_matmul_numpy(a, b);
      expect_close(y, c.y, want, integer ? 0.0f : 3 * tolerance(t), what);
      if (integer) continue;
      // B as an engine constant: the CPU product reads its own packed copy of it.
      Array yc = qdp_test::run_impl(Device::CPU, "onnx::MatMul", {{"a", a}, {"b", b}}, {}, c.y, t,
                                    TensorFormat::LINEAR, {}, 0, {1});
      expect_close(yc, c.y, want, 3 * tolerance(t), what + " constant B");
    }
}

// Integer products overflow the way numpy's do: they wrap around (two's complement), and the
// sanitizer build proves no signed overflow happens on the way.
TEST(NnMatMul, IntegerProductsWrapAroundOnOverflow) {
  Array a(DataType::INT32, Dims{1, 2}), b(DataType::INT32, Dims{2, 1});
  a.data<int32_t>()[0] = 65536;
  a.data<int32_t>()[1] = INT32_MAX;
  b.data<int32_t>()[0] = 65536;  // 2^32 wraps to 0
  b.data<int32_t>()[1] = 2;      // 2 * INT32_MAX wraps to -2
  EXPECT_EQ(run("onnx::MatMul", {{"a", a}, {"b", b}}).data<int32_t>()[0], -2);

  Array c(DataType::INT32, Dims{1});
  c.data<int32_t>()[0] = INT32_MIN;
  Array y = run("onnx::Gemm", {{"a", a}, {"b", b}, {"c", c}}, {{"beta", 3.0f}});
  // -2 + 3 * INT32_MIN = -2 + INT32_MIN (mod 2^32) = INT32_MAX - 1
  EXPECT_EQ(y.data<int32_t>()[0], INT32_MAX - 1);
}

TEST(NnMatMul, RejectsShapesThatDoNotMultiply) {
  std::mt19937 rng(5);
  auto a = random_array(DataType::FP32, Dims{3, 4}, rng);
  EXPECT_THAT(error_of([&] {
                run("onnx::MatMul", {{"a", a}, {"b", random_array(DataType::FP32, {5, 2}, rng)}});
              }),
              AllOf(HasSubstr("onnx::MatMul"), HasSubstr("inner dimensions")));
  EXPECT_THAT(error_of([&] {
                run("onnx::MatMul", {{"a", random_array(DataType::FP32, {2, 3, 4}, rng)},
                                     {"b", random_array(DataType::FP32, {3, 4, 2}, rng)}});
              }),
              HasSubstr("do not broadcast"));
  EXPECT_THAT(error_of([&] {
                run("onnx::MatMul", {{"a", a}, {"b", random_array(DataType::INT32, {4, 2}, rng)}});
              }),
              HasSubstr("B is INT32"));
}

// ---- Gemm ---------------------------------------------------------------------------------------
struct GemmCase {
  int64_t m, n, k, ta, tb;
  Dims c;  // rank 0 here: no C
  float alpha, beta;
};

std::vector<GemmCase> gemm_cases() {
  return {{4, 5, 6, 0, 0, {4, 5}, 1.0f, 1.0f}, {4, 5, 6, 1, 0, {5}, 1.0f, 1.0f},
          {4, 5, 6, 0, 1, {1, 5}, 0.5f, 1.0f}, {7, 3, 8, 1, 1, {7, 1}, 2.0f, -0.5f},
          {3, 6, 2, 0, 1, {1}, 1.0f, 2.0f},    {5, 4, 3, 0, 0, {}, 0.25f, 1.0f},
          {2, 9, 4, 0, 1, {9}, 1.0f, 0.0f}};
}

TEST(NnGemm, MatchesTheReferenceForEveryLayoutAndBias) {
  std::mt19937 rng(6);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT32})
    for (GemmCase const& g : gemm_cases()) {
      bool integer = t == DataType::INT32;
      if (integer && (g.alpha != 1.0f || g.beta != 1.0f)) continue;  // integral scales only
      std::string what = fmt::format("m{} n{} k{} tA{} tB{} C {} {}", g.m, g.n, g.k, g.ta, g.tb,
                                     to_string(g.c), name(t));
      Array a = random_array(t, g.ta ? Dims{g.k, g.m} : Dims{g.m, g.k}, rng);
      Array b = random_array(t, g.tb ? Dims{g.n, g.k} : Dims{g.k, g.n}, rng);
      Array c = g.c.rank() ? random_array(t, g.c, rng) : absent_input();
      Attrs attrs{{"alpha", g.alpha}, {"beta", g.beta}, {"transA", g.ta}, {"transB", g.tb}};
      Array y = run("onnx::Gemm", {{"a", a}, {"b", b}, {"c", c}}, attrs);
      auto af = floats(a), bf = floats(b);
      auto cf = g.c.rank() ? floats(c) : std::vector<float>();
      std::vector<float> want;
      for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
          double acc = 0;
          for (int64_t l = 0; l < g.k; ++l)
            acc += static_cast<double>(af[static_cast<size_t>(g.ta ? l * g.m + i : i * g.k + l)]) *
                   bf[static_cast<size_t>(g.tb ? j * g.k + l : l * g.n + j)];
          double v = g.alpha * acc;
          if (g.c.rank()) {
            int64_t cm = g.c.rank() == 2 ? g.c[0] : 1, cn = g.c[g.c.rank() - 1];
            v += g.beta * cf[static_cast<size_t>((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j))];
          }
          want.push_back(static_cast<float>(v));
        }
      expect_close(y, Dims{g.m, g.n}, want, integer ? 0.0f : 3 * tolerance(t), what);
      if (integer) continue;
      Array yc = qdp_test::run_impl(Device::CPU, "onnx::Gemm", {{"a", a}, {"b", b}, {"c", c}}, {},
                                    Dims{g.m, g.n}, t, TensorFormat::LINEAR, attrs, 0, {1});
      expect_close(yc, Dims{g.m, g.n}, want, 3 * tolerance(t), what + " constant B");
    }
}

TEST(NnGemm, RejectsBadAttributesAndShapes) {
  std::mt19937 rng(7);
  auto a = random_array(DataType::FP32, Dims{4, 6}, rng);
  auto b = random_array(DataType::FP32, Dims{6, 5}, rng);
  EXPECT_THAT(
      error_of([&] {
        run("onnx::Gemm", {{"a", a}, {"b", b}, {"c", absent_input()}}, {{"transA", int64_t{2}}});
      }),
      AllOf(HasSubstr("onnx::Gemm"), HasSubstr("transA is 2"), HasSubstr("0 or 1")));
  EXPECT_THAT(
      error_of([&] {
        run("onnx::Gemm", {{"a", a}, {"b", b}, {"c", random_array(DataType::FP32, {4, 3}, rng)}});
      }),
      HasSubstr("broadcast"));
  EXPECT_THAT(error_of([&] {
                run("onnx::Gemm", {{"a", a}, {"b", a}, {"c", absent_input()}});
              }),
              HasSubstr("inner dimensions"));
}

// ---- qdp::MatMulBias (the builder's MatMul + Add + activation) ---------------------------------
struct MatMulBiasCase {
  Dims a;
  int64_t k, n;
  std::string activation;
  std::vector<float> params;
};
std::vector<MatMulBiasCase> matmul_bias_cases() {
  return {{{5, 8}, 8, 3, "", {}},
          {{2, 4, 6}, 6, 5, "Relu", {}},
          {{6}, 6, 4, "Tanh", {}},
          {{3, 2, 5}, 5, 16, "Sigmoid", {}},
          {{7, 9}, 9, 33, "Clip", {-0.2f, 0.3f}}};
}
Inputs matmul_bias_inputs(MatMulBiasCase const& c, DataType t, std::mt19937& rng) {
  return {{"a", random_array(t, c.a, rng)},
          {"b", random_array(t, {c.k, c.n}, rng)},
          {"bias", random_array(t, {c.n}, rng)}};
}
Attrs matmul_bias_attrs(MatMulBiasCase const& c) {
  Attrs attrs{{"activation", c.activation}};
  if (!c.params.empty()) attrs["activation_params"] = c.params;
  return attrs;
}

TEST(NnMatMulBias, IsTheActivationOfTheProductPlusTheBias) {
  std::mt19937 rng(8);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (MatMulBiasCase const& c : matmul_bias_cases()) {
      std::string what =
          fmt::format("{} x {}x{} {} {}", to_string(c.a), c.k, c.n, c.activation, name(t));
      Inputs in = matmul_bias_inputs(c, t, rng);
      Array y = run("qdp::MatMulBias", in, matmul_bias_attrs(c));
      ASSERT_EQ(y.dtype(), t) << what;
      std::vector<float> want = ref_matmul_numpy(in[0].second, in[1].second);
      std::vector<float> bias = floats(in[2].second);
      for (size_t i = 0; i < want.size(); ++i) {
        float v = want[i] + bias[i % static_cast<size_t>(c.n)];
        if (c.activation == "Relu") v = std::max(v, 0.0f);
        if (c.activation == "Tanh") v = std::tanh(v);
        if (c.activation == "Sigmoid") v = 1.0f / (1.0f + std::exp(-v));
        if (c.activation == "Clip") v = std::min(std::max(v, c.params[0]), c.params[1]);
        want[i] = v;
      }
      Dims shape = c.a;
      shape[shape.rank() - 1] = c.n;
      expect_close(y, shape, want, 3 * tolerance(t), what);
    }
}

TEST(NnMatMulBias, RejectsABiasThatDoesNotFitTheProduct) {
  std::mt19937 rng(9);
  auto a = random_array(DataType::FP32, Dims{4, 6}, rng);
  auto b = random_array(DataType::FP32, Dims{6, 5}, rng);
  EXPECT_THAT(error_of([&] {
                run("qdp::MatMulBias",
                    {{"a", a}, {"b", b}, {"bias", random_array(DataType::FP32, {4}, rng)}});
              }),
              HasSubstr("qdp::MatMulBias: the bias has 4 elements but B has 5 columns"));
  EXPECT_THAT(error_of([&] {
                run("qdp::MatMulBias",
                    {{"a", a}, {"b", b}, {"bias", random_array(DataType::FP32, {1, 5}, rng)}});
              }),
              HasSubstr("the bias must be a vector (N); it has rank 2"));
  EXPECT_THAT(error_of([&] {
                run("qdp::MatMulBias", {{"a", a},
                                        {"b", random_array(DataType::FP32, {2, 6, 5}, rng)},
                                        {"bias", random_array(DataType::FP32, {5}, rng)}});
              }),
              HasSubstr("B must be a matrix (K, N); it has rank 3"));
  EXPECT_THAT(error_of([&] {
                run("qdp::MatMulBias",
                    {{"a", a}, {"b", b}, {"bias", random_array(DataType::FP32, {5}, rng)}},
                    {{"activation", std::string("Gelu")}});
              }),
              HasSubstr("qdp::MatMulBias: attribute activation is 'Gelu'"));
}

// ---- BatchNormalization
// ---------------------------------------------------------------------------
TEST(NnBatchNorm, MatchesTheReference) {
  std::mt19937 rng(8);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (Dims shape : {Dims{2, 3, 5, 4}, Dims{3, 4}, Dims{1, 2, 3, 2, 2}}) {
      int64_t c = shape[1];
      Array x = random_array(t, shape, rng), scale = random_array(t, Dims{c}, rng),
            b = random_array(t, Dims{c}, rng), mean = random_array(t, Dims{c}, rng),
            var = random_array(t, Dims{c}, rng, 0.1f, 2.0f);
      float eps = 1e-3f;
      Array y = run("onnx::BatchNormalization",
                    {{"x", x}, {"scale", scale}, {"b", b}, {"mean", mean}, {"var", var}},
                    {{"epsilon", eps}});
      int64_t inner = x.numel() / (shape[0] * c);
      std::vector<float> want;
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t ch = (i / inner) % c;
        want.push_back((at(x, i) - at(mean, ch)) / std::sqrt(at(var, ch) + eps) * at(scale, ch) +
                       at(b, ch));
      }
      expect_close(y, shape, want, 2 * tolerance(t), to_string(shape) + " " + std::string(name(t)));
    }
}

TEST(NnBatchNorm, RefusesTrainingModeAndBadParameters) {
  std::mt19937 rng(9);
  Array x = random_array(DataType::FP32, Dims{1, 3, 2, 2}, rng);
  Array p = random_array(DataType::FP32, Dims{3}, rng, 0.5f, 1.0f);
  Inputs in{{"x", x}, {"scale", p}, {"b", p}, {"mean", p}, {"var", p}};
  EXPECT_THAT(error_of([&] {
                run("onnx::BatchNormalization", in, {{"training_mode", int64_t{1}}});
              }),
              AllOf(HasSubstr("onnx::BatchNormalization"), HasSubstr("training_mode is 1")));
  in[2].second = random_array(DataType::FP32, Dims{4}, rng);
  EXPECT_THAT(error_of([&] { run("onnx::BatchNormalization", in); }),
              AllOf(HasSubstr("B has 4 elements"), HasSubstr("3 channels")));
}

// ---- pools --------------------------------------------------------------------------------------
struct PoolCase {
  std::string what;
  Dims x;
  Attrs attrs;
  Dims y;
  I64s k, pads, strides, dilations;  // what the case amounts to, for the reference
  bool include_pad = false;
};

Attrs pool_attrs(I64s k, I64s pads = {}, I64s strides = {}, I64s dil = {}, int64_t ceil = 0,
                 std::string auto_pad = "NOTSET") {
  return {{"kernel_shape", k}, {"pads", pads},      {"strides", strides},
          {"dilations", dil},  {"ceil_mode", ceil}, {"auto_pad", auto_pad}};
}

std::vector<PoolCase> pool_cases() {
  return {
      {"3x3 s2 p1",
       {2, 3, 9, 8},
       pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2}),
       {2, 3, 5, 4},
       {3, 3},
       {1, 1, 1, 1},
       {2, 2},
       {}},
      {"2x2 s2",
       {1, 2, 6, 6},
       pool_attrs({2, 2}, {}, {2, 2}),
       {1, 2, 3, 3},
       {2, 2},
       {},
       {2, 2},
       {}},
      // The window ceil_mode adds at the end reaches past the input: its taps there are not
      // padding (count_include_pad does not count them), as in ONNX's reference.
      {"ceil mode",
       {1, 2, 6, 7},
       pool_attrs({3, 3}, {}, {2, 2}, {}, 1),
       {1, 2, 3, 3},
       {3, 3},
       {},
       {2, 2},
       {}},
      // The last column's window: one input tap, one explicit end pad (counted with
      // count_include_pad), one tap past the padded input (never counted).
      {"ceil mode, explicit pads",
       {1, 2, 5, 6},
       pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2}, {}, 1),
       {1, 2, 3, 4},
       {3, 3},
       {1, 1, 1, 1},
       {2, 2},
       {}},
      {"dilations",
       {1, 1, 7, 7},
       pool_attrs({2, 2}, {}, {1, 1}, {2, 2}),
       {1, 1, 5, 5},
       {2, 2},
       {},
       {},
       {2, 2}},
      {"SAME_UPPER",
       {1, 2, 5, 5},
       pool_attrs({2, 2}, {}, {2, 2}, {}, 0, "SAME_UPPER"),
       {1, 2, 3, 3},
       {2, 2},
       {0, 0, 1, 1},
       {2, 2},
       {}},
      {"SAME_LOWER",
       {1, 2, 5, 5},
       pool_attrs({2, 2}, {}, {1, 1}, {}, 0, "SAME_LOWER"),
       {1, 2, 5, 5},
       {2, 2},
       {1, 1, 0, 0},
       {},
       {}},
      {"1-D", {2, 3, 10}, pool_attrs({3}, {1, 1}, {2}), {2, 3, 5}, {3}, {1, 1}, {2}, {}},
      // Rows longer than the CPU's chunk of 64 interior outputs, with and without a stride.
      {"wide rows, ResNet's stem pool",
       {1, 2, 9, 150},
       pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2}),
       {1, 2, 5, 75},
       {3, 3},
       {1, 1, 1, 1},
       {2, 2},
       {}},
      {"wide rows, stride 1",
       {1, 1, 4, 131},
       pool_attrs({2, 3}),
       {1, 1, 3, 129},
       {2, 3},
       {},
       {},
       {}},
      {"3-D",
       {1, 2, 4, 5, 6},
       pool_attrs({2, 2, 3}, {0, 1, 1, 0, 0, 1}, {2, 2, 2}),
       {1, 2, 2, 3, 3},
       {2, 2, 3},
       {0, 1, 1, 0, 0, 1},
       {2, 2, 2},
       {}},
  };
}

TEST(NnPool, MaxPoolMatchesTheReference) {
  std::mt19937 rng(10);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16, DataType::UINT8})
    for (PoolCase const& c : pool_cases()) {
      Array x = random_array(t, c.x, rng);
      Array y = run("onnx::MaxPool", {{"x", x}}, c.attrs);
      auto want = ref_pool(x, geo(c.x, c.y, c.k, c.strides, c.dilations, c.pads), true, false);
      expect_close(y, c.y, want, 0.0f, c.what + " " + std::string(name(t)));
    }
}

TEST(NnPool, AveragePoolMatchesTheReferenceWithAndWithoutPadding) {
  std::mt19937 rng(11);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (int64_t include : {0, 1})
      for (PoolCase const& c : pool_cases()) {
        Attrs a = c.attrs;
        a["count_include_pad"] = include;
        Array x = random_array(t, c.x, rng);
        Array y = run("onnx::AveragePool", {{"x", x}}, a);
        auto want =
            ref_pool(x, geo(c.x, c.y, c.k, c.strides, c.dilations, c.pads), false, include == 1);
        expect_close(
            y, c.y, want, tolerance(t),
            c.what + " include_pad " + std::to_string(include) + " " + std::string(name(t)));
      }
}

// ONNX's node tests test_maxpool_2d_ceil and test_averagepool_2d_ceil: 1..16 in a 4x4 image.
TEST(NnPool, CeilModeMatchesOnnxNodeTests) {
  std::vector<float> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i + 1);
  Array x = Array::from<float>(Dims{1, 1, 4, 4}, v);
  Attrs a = pool_attrs({3, 3}, {}, {2, 2}, {}, 1);
  expect_close(run("onnx::MaxPool", {{"x", x}}, a), Dims{1, 1, 2, 2}, {11, 12, 15, 16}, 0.0f,
               "maxpool ceil");
  expect_close(run("onnx::AveragePool", {{"x", x}}, a), Dims{1, 1, 2, 2}, {6, 7.5, 12, 13.5}, 1e-6f,
               "averagepool ceil");
}

TEST(NnPool, GlobalPoolsReduceEverySpatialDimension) {
  std::mt19937 rng(12);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (Dims shape : {Dims{2, 3, 7, 5}, Dims{1, 4, 9}, Dims{2, 2, 3, 4, 5}, Dims{1, 2, 40, 40}}) {
      Array x = random_array(t, shape, rng);
      int64_t rows = shape[0] * shape[1], inner = x.numel() / rows;
      std::vector<float> mean, best;
      for (int64_t r = 0; r < rows; ++r) {
        double s = 0;
        float m = -INFINITY;
        for (int64_t i = 0; i < inner; ++i) {
          s += at(x, r * inner + i);
          m = std::max(m, at(x, r * inner + i));
        }
        mean.push_back(static_cast<float>(s / static_cast<double>(inner)));
        best.push_back(m);
      }
      Dims out{shape[0], shape[1]};
      for (int i = 2; i < shape.rank(); ++i) out.push_back(1);
      std::string what = to_string(shape) + " " + std::string(name(t));
      expect_close(run("onnx::GlobalAveragePool", {{"x", x}}), out, mean, tolerance(t), what);
      expect_close(run("onnx::GlobalMaxPool", {{"x", x}}), out, best, 0.0f, what);
    }
}

TEST(NnPool, RejectsBadAttributes) {
  std::mt19937 rng(13);
  Inputs in{{"x", random_array(DataType::FP32, Dims{1, 2, 6, 6}, rng)}};
  EXPECT_THAT(error_of([&] { run("onnx::MaxPool", in); }),
              AllOf(HasSubstr("onnx::MaxPool"), HasSubstr("kernel_shape is required")));
  EXPECT_THAT(error_of([&] {
                run("onnx::MaxPool", in, pool_attrs({2, 2}, {}, {}, {}, 2));
              }),
              HasSubstr("ceil_mode is 2"));
  Attrs a = pool_attrs({2, 2});
  a["count_include_pad"] = int64_t{3};
  EXPECT_THAT(error_of([&] { run("onnx::AveragePool", in, a); }),
              AllOf(HasSubstr("onnx::AveragePool"), HasSubstr("count_include_pad is 3")));
  EXPECT_THAT(error_of([&] {
                run("onnx::AveragePool", in, pool_attrs({7, 7}));
              }),
              HasSubstr("larger than the padded input"));
  EXPECT_THAT(error_of([&] {
                run("onnx::AveragePool",
                    {{"x", random_array(DataType::UINT8, Dims{1, 2, 6, 6}, rng)}},
                    pool_attrs({2, 2}));
              }),
              HasSubstr("X is UINT8"));
}

// ---- GPU: the CUDA impls against the CPU ones
// -----------------------------------------------------
class NnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
};

TEST_F(NnGpu, ConvMatchesTheCpu) {
  std::mt19937 rng(20);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (ConvCase const& c : conv_cases()) {
      Inputs in = conv_inputs(c, t, rng);
      expect_same_as(run("onnx::Conv", in, c.attrs, Device::CUDA), run("onnx::Conv", in, c.attrs),
                     3 * tolerance(t), c.what + " " + std::string(name(t)));
    }
}

// A Runner keeps its buffers, so its runs reuse the addresses: the first runs cuDNN's call as it
// is, the second captures it as a CUDA graph, the later ones replay it (conv.cu). Each run's new
// inputs give the CPU's result.
TEST_F(NnGpu, ConvReplayedAsAGraphMatchesTheCpuRunAfterRun) {
  std::mt19937 rng(24);
  for (DataType t : {DataType::FP32, DataType::FP16})
    for (ConvCase const& c : conv_cases())
      for (bool relu : {false, true}) {  // with Relu: the epilogue pass is in the graph too
        Attrs attrs = c.attrs;
        if (relu) attrs["activation"] = std::string("Relu");
        std::string what = fmt::format("{} {}{}", c.what, name(t), relu ? " + Relu" : "");
        Inputs shapes = conv_inputs(c, t, rng);
        Runner gpu(one_layer("onnx::Conv", shapes, attrs, Device::CUDA));
        Runner cpu(one_layer("onnx::Conv", shapes, attrs, Device::CPU));
        for (int run = 0; run < 4; ++run) {
          auto feed = feed_of(conv_inputs(c, t, rng));
          expect_same_as(gpu.infer(feed).at("y"), cpu.infer(feed).at("y"), 3 * tolerance(t),
                         fmt::format("{}, run {}", what, run));
        }
      }
}

TEST_F(NnGpu, MatMulAndGemmMatchTheCpu) {
  std::mt19937 rng(21);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16}) {
    for (MatmulCase const& c : matmul_cases()) {
      Inputs in{{"a", random_array(t, c.a, rng)}, {"b", random_array(t, c.b, rng)}};
      expect_same_as(run("onnx::MatMul", in, {}, Device::CUDA), run("onnx::MatMul", in),
                     3 * tolerance(t), to_string(c.a) + " x " + to_string(c.b));
    }
    for (GemmCase const& g : gemm_cases()) {
      Inputs in{{"a", random_array(t, g.ta ? Dims{g.k, g.m} : Dims{g.m, g.k}, rng)},
                {"b", random_array(t, g.tb ? Dims{g.n, g.k} : Dims{g.k, g.n}, rng)},
                {"c", g.c.rank() ? random_array(t, g.c, rng) : absent_input()}};
      Attrs attrs{{"alpha", g.alpha}, {"beta", g.beta}, {"transA", g.ta}, {"transB", g.tb}};
      expect_same_as(run("onnx::Gemm", in, attrs, Device::CUDA), run("onnx::Gemm", in, attrs),
                     3 * tolerance(t), fmt::format("gemm m{} n{} C {}", g.m, g.n, to_string(g.c)));
    }
  }
}

// cuBLASLt's BIAS and RELU_BIAS epilogues, and the pass after them for the other activations.
TEST_F(NnGpu, MatMulBiasMatchesTheCpu) {
  std::mt19937 rng(23);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16})
    for (MatMulBiasCase const& c : matmul_bias_cases()) {
      Inputs in = matmul_bias_inputs(c, t, rng);
      Attrs attrs = matmul_bias_attrs(c);
      expect_same_as(
          run("qdp::MatMulBias", in, attrs, Device::CUDA), run("qdp::MatMulBias", in, attrs),
          3 * tolerance(t),
          fmt::format("{} x {}x{} {} {}", to_string(c.a), c.k, c.n, c.activation, name(t)));
    }
}

TEST_F(NnGpu, BatchNormAndPoolsMatchTheCpu) {
  std::mt19937 rng(22);
  for (DataType t : {DataType::FP32, DataType::FP16, DataType::BF16}) {
    Dims shape{2, 3, 5, 4};
    Inputs bn{{"x", random_array(t, shape, rng)},
              {"scale", random_array(t, {3}, rng)},
              {"b", random_array(t, {3}, rng)},
              {"mean", random_array(t, {3}, rng)},
              {"var", random_array(t, {3}, rng, 0.1f, 2.0f)}};
    expect_same_as(run("onnx::BatchNormalization", bn, {}, Device::CUDA),
                   run("onnx::BatchNormalization", bn), tolerance(t), "batchnorm");
    for (PoolCase const& c : pool_cases()) {
      Inputs in{{"x", random_array(t, c.x, rng)}};
      expect_same_as(run("onnx::MaxPool", in, c.attrs, Device::CUDA),
                     run("onnx::MaxPool", in, c.attrs), 0.0f, "maxpool " + c.what);
      Attrs a = c.attrs;
      a["count_include_pad"] = int64_t{1};
      expect_same_as(run("onnx::AveragePool", in, a, Device::CUDA), run("onnx::AveragePool", in, a),
                     tolerance(t), "averagepool " + c.what);
    }
    Inputs g{{"x", random_array(t, Dims{2, 3, 33, 17}, rng)}};
    expect_same_as(run("onnx::GlobalAveragePool", g, {}, Device::CUDA),
                   run("onnx::GlobalAveragePool", g), tolerance(t), "global average");
    expect_same_as(run("onnx::GlobalMaxPool", g, {}, Device::CUDA), run("onnx::GlobalMaxPool", g),
                   0.0f, "global max");
  }
}

}  // namespace

namespace {

// The builder folds a BatchNormalization that follows a Conv on constants into the Conv's weights
// and bias: one layer fewer, the same result as the unfolded pair (whose BatchNormalization
// parameters are network inputs here, so nothing can be folded).
// ---- GPU: channels-last (HWC) impls against the LINEAR ones ---------------------------------
// The autotuner picks a layout by time, so these call the CUDA impls directly (impl_runner.hpp)
// on HWC copies of the inputs, and compare with the network's LINEAR result on the CPU.
TEST_F(NnGpu, ChannelsLastConvAndPoolsMatchTheCpu) {
  std::mt19937 rng(23);
  int ran = 0, fused = 0;          // conv runs that an algorithm took (with Relu in cuDNN's call)
  int ran_add = 0, fused_add = 0;  // the same of qdp::ConvAdd
  for (DataType t : {DataType::FP32, DataType::FP16}) {
    for (ConvCase const& c : conv_cases()) {
      if (c.x.rank() != 4 || c.pads.size() != 4 || c.pads[0] != c.pads[2] || c.pads[1] != c.pads[3])
        continue;  // channels-last takes 2-D windows with symmetric pads
      std::string what = c.what + " " + std::string(name(t));
      Inputs in = conv_inputs(c, t, rng);
      Array want = run("onnx::Conv", in, c.attrs);
      for (int32_t tactic = 0; tactic <= 4; ++tactic) {
        Array got;
        try {
          got = qdp_test::run_impl(Device::CUDA, "onnx::Conv", in, {0, 1}, c.y, t,
                                   TensorFormat::HWC, c.attrs, tactic);
        } catch (Error const& e) {
          if (e.code() == ErrorCode::Unsupported) continue;  // an algorithm this case lacks
          throw;
        }
        ++ran;
        expect_same_as(got, want, 3 * tolerance(t), what + " tactic " + std::to_string(tactic));
      }
      // Tactics 5 to 8: the bias and Relu inside cuDNN's call, in both layouts.
      if (!c.bias) continue;
      Attrs relu = c.attrs;
      relu["activation"] = std::string("Relu");
      Array want_relu = run("onnx::Conv", in, relu);
      for (auto format : {TensorFormat::HWC, TensorFormat::LINEAR})
        for (int32_t tactic = 5; tactic <= 8; ++tactic) {
          Array got;
          try {
            auto hwc =
                format == TensorFormat::HWC ? std::vector<size_t>{0, 1} : std::vector<size_t>{};
            got = qdp_test::run_impl(Device::CUDA, "onnx::Conv", in, hwc, c.y, t, format, relu,
                                     tactic);
          } catch (Error const& e) {
            if (e.code() == ErrorCode::Unsupported) continue;
            throw;
          }
          ++fused;
          expect_same_as(got, want_relu, 3 * tolerance(t),
                         fmt::format("{} + Relu, {}, tactic {}", what, name(format), tactic));
        }
    }
    // qdp::ConvAdd: z added in the epilogue pass (tactics 0-4) or inside cuDNN's call (5-8, with
    // Relu, or without an activation for IMPLICIT_PRECOMP_GEMM), in both layouts.
    for (ConvCase const& c : conv_cases()) {
      if (c.x.rank() != 4 || !c.bias || c.pads.size() != 4 || c.pads[0] != c.pads[2] ||
          c.pads[1] != c.pads[3])
        continue;
      Inputs in = conv_inputs(c, t, rng);
      in.emplace_back("z", random_array(t, c.y, rng));
      for (bool relu : {true, false}) {
        Attrs attrs = c.attrs;
        if (relu) attrs["activation"] = std::string("Relu");
        Array want = run("qdp::ConvAdd", in, attrs);
        for (auto format : {TensorFormat::HWC, TensorFormat::LINEAR})
          for (int32_t tactic = 0; tactic <= 8; ++tactic) {
            Array got;
            try {
              auto hwc = format == TensorFormat::HWC ? std::vector<size_t>{0, 1, 3}
                                                     : std::vector<size_t>{};
              got = qdp_test::run_impl(Device::CUDA, "qdp::ConvAdd", in, hwc, c.y, t, format, attrs,
                                       tactic);
            } catch (Error const& e) {
              if (e.code() == ErrorCode::Unsupported) continue;
              throw;
            }
            ++ran_add;
            if (tactic > 4) ++fused_add;
            expect_same_as(got, want, 3 * tolerance(t),
                           fmt::format("ConvAdd {} {} relu {}, {}, tactic {}", c.what, name(t),
                                       relu, name(format), tactic));
          }
      }
    }
    // Each window with its own channels (the per-element kernel) and with 16 (a multiple of 16
    // bytes: the kernel of 16-byte vectors, ResNet's stem).
    for (PoolCase const& c : pool_cases()) {
      if (c.x.rank() != 4) continue;
      for (int64_t channels : {c.x[1], int64_t{16}}) {
        Dims xs = c.x, ys = c.y;
        xs[1] = ys[1] = channels;
        std::string what = fmt::format("{}, {} channels", c.what, channels);
        Inputs in{{"x", random_array(t, xs, rng)}};
        expect_same_as(qdp_test::run_impl(Device::CUDA, "onnx::MaxPool", in, {0}, ys, t,
                                          TensorFormat::HWC, c.attrs),
                       run("onnx::MaxPool", in, c.attrs), 0.0f, "maxpool " + what);
        expect_same_as(qdp_test::run_impl(Device::CUDA, "onnx::AveragePool", in, {0}, ys, t,
                                          TensorFormat::HWC, c.attrs),
                       run("onnx::AveragePool", in, c.attrs), tolerance(t), "avgpool " + what);
      }
    }
    Inputs x{{"x", random_array(t, Dims{2, 5, 7, 3}, rng)}};
    for (std::string op : {"onnx::GlobalAveragePool", "onnx::GlobalMaxPool"})
      expect_same_as(qdp_test::run_impl(Device::CUDA, op, x, {0}, Dims{2, 5, 1, 1}, t,
                                        TensorFormat::LINEAR, {}),
                     run(op, x), tolerance(t), op);
  }
  EXPECT_GT(ran, 0) << "no channels-last convolution ran";
  EXPECT_GT(fused_add, 0) << "no qdp::ConvAdd ran with z inside cuDNN's call";
  std::printf("[ NOTE     ] %d runs with the bias and Relu inside cuDNN's call\n", fused);
  std::printf("[ NOTE     ] qdp::ConvAdd: %d runs, %d with z inside cuDNN's call\n", ran_add,
              fused_add);
}

// With the FP16 flag the autotuner times the FP32 and the FP16 candidates of one bound impl in
// turn: each type gets its own oneDNN primitive (a plan made for FP32 and found again for FP16
// data wrote past the FP16 buffers). Conv + Relu with constant weights, then a MatMul.
TEST(NnConv, AnFp16BuildTimesBothTypesAndComputesTheSameValues) {
  std::mt19937 rng(25);
  Array w = random_array(DataType::FP32, Dims{8, 3, 3, 3}, rng);
  Array m = random_array(DataType::FP32, Dims{16, 4}, rng);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 16, 16});
  auto wc = net.add_constant(
      "w", {8, 3, 3, 3}, std::span<float const>(w.data<float>(), static_cast<size_t>(w.numel())));
  auto no_bias = net.add_constant("absent", DataType::INT64, {0}, {});  // as the importer omits B
  Attrs conv_relu = conv_attrs({1, 1, 1, 1});
  conv_relu["activation"] = std::string("Relu");  // as the builder fuses a Relu into it
  auto relu = net.add_plugin("onnx::Conv", {x, wc, no_bias}, conv_relu)[0];
  auto mc = net.add_constant("m", {16, 4}, std::span<float const>(m.data<float>(), 64));
  net.mark_output(net.add_plugin("onnx::MatMul", {relu, mc})[0], "y");
  std::map<std::string, Array> feed{{"x", random_array(DataType::FP32, Dims{2, 3, 16, 16}, rng)}};
  BuildConfig config;
  Array want = Runner(build_engine(net, config)).infer(feed).at("y");
  config.fp16 = true;
  Array got = Runner(build_engine(net, config)).infer(feed).at("y");
  expect_same_as(got, want, 2e-2f, "fp16 build");
}

// Channels-last on the CPU: the convolution (oneDNN's NHWC kernels, FP32, ungrouped 2-D, its
// constant weights reordered once) and the pools, against the LINEAR results; other convolutions
// refuse HWC (Unsupported, which the autotuner skips).
TEST(NnConv, ChannelsLastOnTheCpuMatchesTheLinearResults) {
  std::mt19937 rng(24);
  int ran = 0;
  for (ConvCase const& c : conv_cases()) {
    if (c.x.rank() != 4 || c.group != 1) continue;
    Inputs in = conv_inputs(c, DataType::FP32, rng);
    Array want = run("onnx::Conv", in, c.attrs);
    // Twice: the second run takes the weights reordered by the first.
    for (int pass = 0; pass < 2; ++pass)
      expect_same_as(qdp_test::run_impl(Device::CPU, "onnx::Conv", in, {0, 1}, c.y, DataType::FP32,
                                        TensorFormat::HWC, c.attrs, 1, {1, 2}),
                     want, 1e-4f, c.what);
    ++ran;
  }
  EXPECT_GT(ran, 2);
  for (PoolCase const& c : pool_cases()) {
    if (c.x.rank() != 4) continue;
    Inputs in{{"x", random_array(DataType::FP32, c.x, rng)}};
    expect_same_as(qdp_test::run_impl(Device::CPU, "onnx::MaxPool", in, {0}, c.y, DataType::FP32,
                                      TensorFormat::HWC, c.attrs),
                   run("onnx::MaxPool", in, c.attrs), 0.0f, "maxpool " + c.what);
    Attrs with_pad = c.attrs;
    with_pad["count_include_pad"] = int64_t{1};
    for (Attrs const& a : {c.attrs, with_pad})
      expect_same_as(qdp_test::run_impl(Device::CPU, "onnx::AveragePool", in, {0}, c.y,
                                        DataType::FP32, TensorFormat::HWC, a),
                     run("onnx::AveragePool", in, a), 1e-5f, "avgpool " + c.what);
  }
  Inputs x{{"x", random_array(DataType::FP32, Dims{2, 5, 7, 3}, rng)}};
  for (std::string op : {"onnx::GlobalAveragePool", "onnx::GlobalMaxPool"})
    expect_same_as(qdp_test::run_impl(Device::CPU, op, x, {0}, Dims{2, 5, 1, 1}, DataType::FP32,
                                      TensorFormat::LINEAR, {}),
                   run(op, x), 1e-5f, op);

  ConvCase c = conv_cases()[0];
  Inputs in = conv_inputs(c, DataType::FP32, rng);
  auto hwc_conv = [&](std::vector<size_t> constant) {
    qdp_test::run_impl(Device::CPU, "onnx::Conv", in, {0, 1}, c.y, DataType::FP32,
                       TensorFormat::HWC, c.attrs, 1, constant);
  };
  EXPECT_EQ(qdp_test::code_of([&] { hwc_conv({}); }), ErrorCode::Unsupported);
  EXPECT_THAT(error_of([&] { hwc_conv({}); }), HasSubstr("with constant weights"));
}

TEST(NnFusion, ConvThenBatchNormalizationIsFoldedIntoTheConv) {
  std::mt19937 rng(91);
  Array x = random_array(DataType::FP32, {2, 3, 8, 8}, rng);
  Array w = random_array(DataType::FP32, {4, 3, 3, 3}, rng);
  Array b = random_array(DataType::FP32, {4}, rng);
  std::vector<Array> bn = {random_array(DataType::FP32, {4}, rng, 0.5f, 1.5f),   // scale
                           random_array(DataType::FP32, {4}, rng),               // B
                           random_array(DataType::FP32, {4}, rng),               // mean
                           random_array(DataType::FP32, {4}, rng, 0.1f, 2.0f)};  // var
  Attrs conv_attrs = {{"pads", I64s{1, 1, 1, 1}}};
  auto constant = [](Network& net, std::string name, Array const& a) {
    std::vector<std::byte> bytes(a.bytes());
    std::memcpy(bytes.data(), a.raw(), a.bytes());
    std::vector<int64_t> dims(a.shape().rank());
    for (int i = 0; i < a.shape().rank(); ++i) dims[static_cast<size_t>(i)] = a.shape()[i];
    return net.add_constant(std::move(name), a.dtype(), dims, std::move(bytes));
  };
  std::vector<std::string> names = {"scale", "bias", "mean", "var"};

  Network folded;
  {
    auto in = folded.add_input("x", DataType::FP32, {2, 3, 8, 8});
    auto y = folded.add_plugin(
        "onnx::Conv", {in, constant(folded, "w", w), constant(folded, "b", b)}, conv_attrs)[0];
    std::vector<TensorRef> p = {y};
    for (size_t k = 0; k < 4; ++k) p.push_back(constant(folded, names[k], bn[k]));
    folded.mark_output(folded.add_plugin("onnx::BatchNormalization", p)[0], "y");
  }
  Network plain;
  std::map<std::string, Array> feed = {{"x", x}};
  {
    auto in = plain.add_input("x", DataType::FP32, {2, 3, 8, 8});
    auto y = plain.add_plugin("onnx::Conv", {in, constant(plain, "w", w), constant(plain, "b", b)},
                              conv_attrs)[0];
    std::vector<TensorRef> p = {y};
    for (size_t k = 0; k < 4; ++k) {
      p.push_back(plain.add_input(names[k], DataType::FP32, {4}));
      feed[names[k]] = bn[k];
    }
    plain.mark_output(plain.add_plugin("onnx::BatchNormalization", p)[0], "y");
  }
  BuildConfig config;
  Engine fused = build_engine(folded, config), unfused = build_engine(plain, config);
  ASSERT_EQ(qdp_test::plugin_layers(fused).size(), 1u);
  EXPECT_EQ(qdp_test::plugin_layers(fused)[0].plugin_id, "onnx::Conv");
  ASSERT_EQ(qdp_test::plugin_layers(unfused).size(), 2u);
  Array got = Runner(fused).infer({{"x", x}}).at("y");
  Array want = Runner(unfused).infer(feed).at("y");
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i],
                1e-5f * (1 + std::fabs(want.data<float>()[i])));
}

}  // namespace
