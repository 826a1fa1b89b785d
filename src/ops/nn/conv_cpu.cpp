// onnx::Conv on the CPU: oneDNN convolution forward, primitives cached per shape. Channels-last
// (NHWC) activations take oneDNN's brgemm kernels, several times faster than its im2col + GEMM for
// NCHW, but only with weights in the blocked layout it picks: constant weights are reordered into
// it once (CpuConvPrimitive::packed), which is why HWC asks for constant weights.
#include <cstring>
#include <optional>
#include <unordered_map>

#include "ops/nn/nn_conv.hpp"
#include "ops/nn/onednn.hpp"

namespace qdp::ops::nn {
namespace {

// ---- CPU: oneDNN ------------------------------------------------------------------------------
using dnnl::memory;

memory::format_tag data_tag(int spatial) {
  return spatial == 1   ? memory::format_tag::ncw
         : spatial == 2 ? memory::format_tag::nchw
                        : memory::format_tag::ncdhw;
}
memory::format_tag weight_tag(int spatial, bool grouped) {
  if (grouped)
    return spatial == 1   ? memory::format_tag::goiw
           : spatial == 2 ? memory::format_tag::goihw
                          : memory::format_tag::goidhw;
  return spatial == 1   ? memory::format_tag::oiw
         : spatial == 2 ? memory::format_tag::oihw
                        : memory::format_tag::oidhw;
}

struct CpuConvPrimitive {
  dnnl::convolution_forward prim;
  memory::desc src, wei, bias, dst;
  memory scratchpad;      // see qdp_attr(); used under ConvCache::mutex
  bool in_float = false;  // the CPU lacks a fast kernel for the type: run in FP32
  // Channels-last: the weights as the engine holds them (OHWI), and reordered into `wei`, the
  // primitive's own layout, from the constant at `packed_from`.
  memory::desc user_wei;
  memory packed;
  void const* packed_from = nullptr;
};

struct ConvCache {
  std::mutex mutex;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<std::vector<int64_t>, CpuConvPrimitive> cache;
  std::vector<float> xf, wf, bf, yf;  // FP32 copies when running a 16-bit type in FP32
};

// The residual z (a sum with what dst holds when the primitive starts: z, copied there) and the
// fused activation as oneDNN post-ops, applied to the FP32 accumulator after the bias.
std::optional<dnnl::post_ops> post_ops_of(ConvGeom const& g) {
  using Kind = Activation::Kind;
  Activation const& a = g.activation;
  if (a.kind == Kind::None && !g.residual) return std::nullopt;
  dnnl::post_ops ops;
  if (g.residual) ops.append_sum(1.0f);
  switch (a.kind) {
    case Kind::Relu:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      break;
    case Kind::Clip:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, a.lo, a.hi);
      break;
    case Kind::Sigmoid:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
      break;
    case Kind::Tanh:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f);
      break;
    case Kind::None:
      break;
  }
  return ops;
}

CpuConvPrimitive make_cpu_conv(dnnl::engine const& eng, ConvGeom const& g, bool has_bias,
                               memory::data_type type, bool hwc) {
  memory::dims src{g.n, g.c}, dst{g.n, g.m}, wei;
  bool grouped = g.group > 1;
  if (grouped)
    wei = {g.group, g.m / g.group, g.c / g.group};
  else
    wei = {g.m, g.c};
  memory::dims strides, dil, pl, pr;
  for (int i = 0; i < g.spatial; ++i) {
    src.push_back(g.in[i]);
    dst.push_back(g.out[i]);
    wei.push_back(g.kernel[i]);
    strides.push_back(g.strides[i]);
    dil.push_back(g.dilations[i] - 1);  // oneDNN counts the holes, ONNX the step
    pl.push_back(g.pads.begin[i]);
    pr.push_back(g.pads.end[i]);
  }
  auto make = [&](memory::data_type t) {
    CpuConvPrimitive p;
    p.src = memory::desc(src, t, hwc ? memory::format_tag::nhwc : data_tag(g.spatial));
    p.wei = memory::desc(wei, t, hwc ? memory::format_tag::any : weight_tag(g.spatial, grouped));
    p.dst = memory::desc(dst, t, hwc ? memory::format_tag::nhwc : data_tag(g.spatial));
    p.bias = memory::desc({g.m}, memory::data_type::f32, memory::format_tag::x);
    auto const prop = dnnl::prop_kind::forward_inference;
    auto const alg = dnnl::algorithm::convolution_direct;
    auto d = has_bias ? dnnl::convolution_forward::desc(prop, alg, p.src, p.wei, p.bias, p.dst,
                                                        strides, dil, pl, pr)
                      : dnnl::convolution_forward::desc(prop, alg, p.src, p.wei, p.dst, strides,
                                                        dil, pl, pr);
    dnnl::primitive_attr attr = qdp_attr();
    if (auto post = post_ops_of(g)) attr.set_post_ops(*post);
    dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
    if (hwc) {
      p.user_wei = memory::desc(wei, t, memory::format_tag::ohwi);
      p.wei = pd.weights_desc();
      p.packed = memory(p.wei, eng);
    }
    p.prim = dnnl::convolution_forward(pd);
    p.scratchpad = scratchpad_for(pd, eng);
    return std::pair{std::move(p), std::move(pd)};
  };
  return in_fastest_type(type, make);
}

template <class T>
void conv_cpu(ConvCache& s, ConvGeom const& g, Tensor const& x, Tensor const& w, Tensor const& b,
              Tensor const& y, Tensor const* z) {
  bool has_bias = !absent(b);
  bool hwc = x.format == TensorFormat::HWC;
  if (hwc && !(w.constant && g.group == 1 && g.spatial == 2 && std::is_same_v<T, float>))
    fail(ErrorCode::Unsupported,
         "{}: the CPU convolution takes channels-last only in FP32, 2-D, ungrouped and with "
         "constant weights (reordered once into oneDNN's layout)",
         kConv);
  std::lock_guard lock(s.mutex);
  auto key = plan_key({&x, &w, &y});
  key.push_back(has_bias);
  // The activation is fixed per bound impl (an attribute); in the key all the same, for clarity.
  key.push_back(static_cast<int64_t>(g.activation.kind));
  key.push_back(g.residual);
  auto it = s.cache.find(key);
  if (it == s.cache.end()) {
    try {
      it = s.cache.emplace(key, make_cpu_conv(s.engine, g, has_bias, dnnl_type<T>(), hwc)).first;
    } catch (dnnl::error const& e) {
      fail(ErrorCode::RuntimeFailure, "{}: oneDNN cannot run this convolution: {}", kConv,
           e.what());
    }
  }
  CpuConvPrimitive& p = it->second;
  void* xp = x.data;
  void* wp = w.data;
  void* yp = y.data;
  s.bf.resize(static_cast<size_t>(g.m));
  if (has_bias) to_float(static_cast<T const*>(b.data), s.bf.data(), g.m);
  if (p.in_float) {
    s.xf.resize(static_cast<size_t>(x.numel()));
    s.wf.resize(static_cast<size_t>(w.numel()));
    s.yf.resize(static_cast<size_t>(y.numel()));
    to_float(static_cast<T const*>(x.data), s.xf.data(), x.numel());
    to_float(static_cast<T const*>(w.data), s.wf.data(), w.numel());
    xp = s.xf.data();
    wp = s.wf.data();
    yp = s.yf.data();
    if (z) to_float(static_cast<T const*>(z->data), s.yf.data(), z->numel());
  } else if (z && z->data != y.data) {
    std::memcpy(y.data, z->data, static_cast<size_t>(y.numel()) * sizeof(T));
  }
  if (hwc && p.packed_from != w.data) {  // the first run on this constant: reorder it once
    memory user(p.user_wei, s.engine, w.data);
    dnnl::reorder(user, p.packed).execute(s.stream, user, p.packed);
    s.stream.wait();
    p.packed_from = w.data;
  }
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(p.src, s.engine, xp)},
      {DNNL_ARG_WEIGHTS, hwc ? p.packed : memory(p.wei, s.engine, wp)},
      {DNNL_ARG_DST, memory(p.dst, s.engine, yp)}};
  if (has_bias) args.emplace(DNNL_ARG_BIAS, memory(p.bias, s.engine, s.bf.data()));
  if (p.scratchpad) args.emplace(DNNL_ARG_SCRATCHPAD, p.scratchpad);
  p.prim.execute(s.stream, args);
  s.stream.wait();
  if (p.in_float) from_float(s.yf.data(), static_cast<T*>(y.data), y.numel());
}

}  // namespace

struct CpuConv::State : ConvCache {};

CpuConv::CpuConv() : s_(std::make_unique<State>()) {}
CpuConv::~CpuConv() = default;

void CpuConv::run(ConvGeom const& g, Tensor const& x, Tensor const& w, Tensor const& b,
                  Tensor const& y, Tensor const* z) {
  switch (x.dtype) {
    case DataType::FP32:
      return conv_cpu<float>(*s_, g, x, w, b, y, z);
    case DataType::FP16:
      return conv_cpu<half>(*s_, g, x, w, b, y, z);
    case DataType::BF16:
      return conv_cpu<bfloat16>(*s_, g, x, w, b, y, z);
    default:
      fail("{}: X is {}; Conv takes FP32, FP16 or BF16", kConv, name(x.dtype));
  }
}

}  // namespace qdp::ops::nn
