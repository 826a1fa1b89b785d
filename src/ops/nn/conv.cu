// onnx::Conv: 1-D, 2-D and 3-D convolution with groups, dilations, strides, explicit or automatic
// padding, an optional bias and an activation the builder fused into it (nn_conv.hpp); and
// qdp::ConvAdd, the same with a residual tensor z added before the activation. CPU: one oneDNN
// convolution forward (z and the activation post-ops). CUDA: cuDNN; with a bias and Relu in FP32
// (or with the fused tactics) one cudnnConvolutionBiasActivationForward, else the convolution
// and one pass that adds the bias and applies the activation; ConvAdd's Y is Z (in place) and
// cuDNN accumulates the convolution into it.
#include <numeric>
#include <qdp/plugin.hpp>

#include "ops/nn/nn_common.hpp"
#include "ops/nn/nn_conv.hpp"

#ifdef __CUDACC__
#include "ops/nn/nn_cuda.cuh"
#endif

namespace qdp::ops::nn {

// Tactics: 0 (no autotune) is the backend's default (cuDNN's heuristic choice); on CUDA 1 + k
// is forward algorithm k of the GEMM family (IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM,
// DIRECT), which all sum the same products in FP32 (FFT and Winograd are left out: their
// rounding differs from the CPU's). 1 + kConvTactics + k is algorithm k with the bias, z and a
// fused Relu applied inside cuDNN's call (cudnnConvolutionBiasActivationForward) instead of a
// pass after it, for 16-bit types and channels-last (FP32 LINEAR takes that call with every
// algorithm when it has a bias and Relu); a layer without a bias is Unsupported there, and so is
// one without Relu except with IMPLICIT_PRECOMP_GEMM (cuDNN's identity activation takes no other).
// An algorithm a case does not take is Unsupported, and the autotuner skips it; the CPU has tactic
// 1 only.
constexpr int32_t kConvTactics = 4;
namespace {

struct ConvAttrs {
  std::string auto_pad = "NOTSET";
  std::vector<int64_t> dilations;
  int64_t group = 1;
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> pads;
  std::vector<int64_t> strides;
  std::string activation;  // fused by the builder; not an ONNX attribute
  std::vector<float> activation_params;
};
QDP_ATTRS(ConvAttrs, auto_pad, dilations, group, kernel_shape, pads, strides, activation,
          activation_params);

// The window of a Conv whose weights have shape w (M, C/group, k...).
Window conv_window(ConvAttrs const& a, int spatial, std::vector<int64_t> kernel) {
  if (!a.kernel_shape.empty()) {
    if (!kernel.empty() && a.kernel_shape != kernel)
      fail("{}: attribute kernel_shape does not match the spatial dimensions of the weights W",
           kConv);
    kernel = a.kernel_shape;
  }
  return make_window(kConv, spatial, a.auto_pad, kernel, a.strides, a.dilations, a.pads, 0);
}

TensorDesc conv_desc(TensorDesc const& x, TensorDesc const& w, TensorDesc const& b,
                     ConvAttrs const& a) {
  if (!is_floating_point(x.dtype))
    fail("{}: X is {}; Conv takes FP32, FP16 or BF16", kConv, name(x.dtype));
  if (w.dtype != x.dtype) fail("{}: W is {} but X is {}", kConv, name(w.dtype), name(x.dtype));
  if (x.rank() < 3 || x.rank() > 5)
    fail("{}: X has rank {}; supported: 3 to 5 (N, C and 1 to 3 spatial dimensions)", kConv,
         x.rank());
  if (w.rank() != x.rank())
    fail("{}: W has rank {} but X has rank {}; they must be equal", kConv, w.rank(), x.rank());
  if (a.group < 1) fail("{}: attribute group is {}; it must be >= 1", kConv, a.group);
  activation_from(kConv, a.activation, a.activation_params);
  int spatial = x.rank() - 2;
  std::vector<int64_t> kernel;
  bool constant_kernel = true;
  for (int i = 0; i < spatial; ++i) {
    auto const& k = w.shape_expr[static_cast<size_t>(2 + i)];
    if (!k.is_constant()) constant_kernel = false;
    if (constant_kernel) kernel.push_back(k.constant());
  }
  if (!constant_kernel) {
    if (a.kernel_shape.empty())
      fail("{}: the spatial extents of W are not known at build time; give kernel_shape", kConv);
    kernel.clear();
  }
  Window win = conv_window(a, spatial, kernel);
  ShapeExpr const& c = x.shape_expr[1];
  ShapeExpr const& m = w.shape_expr[0];
  ShapeExpr const& cg = w.shape_expr[1];
  // c == cg * group, without the product (group >= 1, and may be huge).
  if (c.is_constant() && cg.is_constant() &&
      (c.constant() % a.group != 0 || c.constant() / a.group != cg.constant()))
    fail("{}: X has {} channels but W expects {} x group {}", kConv, c.constant(), cg.constant(),
         a.group);
  if (m.is_constant() && m.constant() % a.group != 0)
    fail("{}: W has {} output channels, not a multiple of group {}", kConv, m.constant(), a.group);
  if (!absent(b)) {
    if (b.dtype != x.dtype) fail("{}: B is {} but X is {}", kConv, name(b.dtype), name(x.dtype));
    if (b.rank() != 1 || (b.shape_expr[0].is_constant() && m.is_constant() &&
                          b.shape_expr[0].constant() != m.constant()))
      fail("{}: B must be a vector of the {} output channels", kConv, m.to_string());
  }
  return from_shape_expr(window_shape(win, x, m), x.dtype);
}

ConvGeom conv_geom(ConvAttrs const& a, Tensor const& x, Tensor const& w, Tensor const& b,
                   Tensor const& y, Tensor const* z = nullptr) {
  // One layout for X, W and Y: what autotune offers (both backends' impls read it from X).
  if (w.format != x.format || y.format != x.format)
    fail(ErrorCode::Unsupported, "{}: X, W and Y take one layout", kConv);
  ConvGeom g;
  g.spatial = x.rank() - 2;
  std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  Window win = conv_window(a, g.spatial, kernel);
  g.n = x.shape[0];
  g.c = x.shape[1];
  g.m = w.shape[0];
  g.group = a.group;
  if (g.c % a.group != 0 || g.c / a.group != w.shape[1])
    fail("{}: X has {} channels but W expects {} x group {}", kConv, g.c, w.shape[1], a.group);
  if (!absent(b) && (b.rank() != 1 || b.shape[0] != g.m))
    fail("{}: B has shape {}; it must be [{}]", kConv, to_string(b.shape), g.m);
  for (int i = 0; i < g.spatial; ++i) {
    g.in.push_back(x.shape[2 + i]);
    g.out.push_back(y.shape[2 + i]);
  }
  g.kernel = win.kernel;
  g.strides = win.strides;
  g.dilations = win.dilations;
  g.pads = run_pads(win, x.shape, y.shape);
  g.activation = activation_from(kConv, a.activation, a.activation_params);
  if (z) {
    if (z->shape != y.shape)
      fail("{}: Z has shape {} but the convolution's output has shape {}; they must be equal",
           kConvAdd, to_string(z->shape), to_string(y.shape));
    if (z->format != y.format)
      fail(ErrorCode::Unsupported, "{}: Z and Y take one layout", kConvAdd);
    check_same_type(kConvAdd, "Z", *z, x.dtype);
    g.residual = true;
  }
  return g;
}

// qdp::ConvAdd's output: the convolution's, which Z must match exactly (no broadcast: the builder
// fuses an Add only where shapes say so).
TensorDesc conv_add_desc(TensorDesc const& x, TensorDesc const& w, TensorDesc const& b,
                         TensorDesc const& z, ConvAttrs const& a) {
  TensorDesc y = conv_desc(x, w, b, a);
  if (z.dtype != x.dtype) fail("{}: Z is {} but X is {}", kConvAdd, name(z.dtype), name(x.dtype));
  auto shape = [](TensorDesc const& d) {
    std::string s;
    for (auto const& e : d.shape_expr) {
      if (!s.empty()) s += 'x';
      s += e.to_string();
    }
    return s;
  };
  if (!same_known_shape(z, y))
    fail("{}: Z has shape {} but the convolution's output has shape {}; they must be equal",
         kConvAdd, shape(z), shape(y));
  // Y is Z, in place: the convolution accumulates into the residual (the runtime copies Z first
  // only where a later layer still reads it).
  return z.aliased();
}

// ---- CUDA: cuDNN ------------------------------------------------------------------------------
#ifdef __CUDACC__
template <class T>
constexpr cudnnDataType_t cudnn_type() {
  if constexpr (std::is_same_v<T, float>)
    return CUDNN_DATA_FLOAT;
  else if constexpr (std::is_same_v<T, __half>)
    return CUDNN_DATA_HALF;
  else
    return CUDNN_DATA_BFLOAT16;
}

using TensorDescriptor = Owned<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Owned<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDescriptor = Owned<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;

// Up to 5-D shapes by value, for kernels.
struct Shape5 {
  int64_t d[5];
};

// Copies x (N, C, spatial...) into a zero-padded buffer: cuDNN pads symmetrically only.
template <class T>
__global__ void pad_kernel(T const* __restrict__ x, T* __restrict__ y, Shape5 in, Shape5 out,
                           Shape5 begin, int rank, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rest = i, src = 0, scale = 1;
    bool inside = true;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t o = rest % out.d[d];
      rest /= out.d[d];
      int64_t s = o - begin.d[d];
      inside = inside && s >= 0 && s < in.d[d];
      src += s * scale;
      scale *= in.d[d];
    }
    y[i] = inside ? x[src] : store_float<T>(0.0f);
  }
}

using ActivationDescriptor = Owned<cudnnActivationDescriptor_t, cudnnDestroyActivationDescriptor>;

struct CudaConvPlan {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvDescriptor conv;
  cudnnConvolutionFwdAlgo_t algo{};
  size_t workspace = 0;
  bool pad_copy = false;  // asymmetric pads: X is copied into a padded buffer first
  Shape5 in{}, padded{}, begin{};
  int64_t padded_numel = 0;
  // Bias (+ z) + Relu or identity in the convolution's own call.
  bool fused = false;
  TensorDescriptor bias;
  ActivationDescriptor relu;
};

// cuDNN's convolution call spends 35-110 us of host time per call on the H200's host (issue #13's
// ResNet-50: bench/results/gpu-check-h200-2026-12-03-b.txt), where a kernel launch takes about 5.
// So a run replays the call (with its padding copy and epilogue) as a CUDA graph, captured the
// second time a plan runs on the same addresses; replaying costs one graph launch.
struct ConvCall {
  CudaConvPlan const* plan = nullptr;
  void const* x = nullptr;
  void const* w = nullptr;
  void const* b = nullptr;
  void const* z = nullptr;
  void* y = nullptr;
  void* scratch = nullptr;
  bool operator==(ConvCall const&) const = default;
};

struct CudaConvState {
  std::mutex mutex;
  Owned<cudnnHandle_t, cudnnDestroy> handle;
  std::map<std::vector<int64_t>, CudaConvPlan> cache;
  Scratch scratch;
  Owned<cudaStream_t, cudaStreamDestroy> capture_stream;  // graphs are captured on it
  std::vector<ConvCall> seen;                             // calls run once, not captured yet
  std::vector<ConvCall> plain;  // calls whose capture failed: run as they are
  std::vector<std::pair<ConvCall, Owned<cudaGraphExec_t, cudaGraphExecDestroy>>> graphs;
};

// At most this many graphs (and calls seen once) per bound impl: an engine's layer runs on one
// set of addresses per execution context; autotuning tries a few plans per layer.
constexpr size_t kMaxConvGraphs = 16;

// Runs `launch` on `stream` as described above. A stream that is being captured (the engine's own
// CUDA graph) gets the plain call.
template <class F>
void replay_as_graph(CudaConvState& s, ConvCall const& call, cudaStream_t stream, F const& launch) {
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  QDP_CUDA_CHECK(cudaStreamIsCapturing(stream, &capturing));
  if (capturing != cudaStreamCaptureStatusNone) return launch(stream);
  if (std::find(s.plain.begin(), s.plain.end(), call) != s.plain.end()) return launch(stream);
  auto it = std::find_if(s.graphs.begin(), s.graphs.end(),
                         [&](auto const& g) { return g.first == call; });
  if (it == s.graphs.end()) {
    auto seen = std::find(s.seen.begin(), s.seen.end(), call);
    if (seen == s.seen.end()) {  // the first call: plain, so that cuDNN loads its kernels
      if (s.seen.size() >= kMaxConvGraphs) s.seen.erase(s.seen.begin());
      s.seen.push_back(call);
      return launch(stream);
    }
    s.seen.erase(seen);
    if (!s.capture_stream) {
      cudaStream_t cs;
      QDP_CUDA_CHECK(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking));
      s.capture_stream = Owned<cudaStream_t, cudaStreamDestroy>(cs);
    }
    cudaStream_t cs = s.capture_stream.get();
    QDP_CUDA_CHECK(cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal));
    bool captured = true;
    try {
      launch(cs);
    } catch (Error const&) {
      captured = false;  // something cuDNN does cannot be captured: the plain call, always
    }
    cudaGraph_t graph = nullptr;
    cudaError_t ended = cudaStreamEndCapture(cs, &graph);
    cudaGraphExec_t exec = nullptr;
    if (captured && ended == cudaSuccess && graph)
      captured = cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
    if (graph) cudaGraphDestroy(graph);
    if (!captured || ended != cudaSuccess) {
      (void)cudaGetLastError();
      s.plain.push_back(call);
      return launch(stream);
    }
    if (s.graphs.size() >= kMaxConvGraphs) {
      QDP_CUDA_CHECK(cudaDeviceSynchronize());  // the oldest may still run
      s.graphs.erase(s.graphs.begin());
    }
    s.graphs.emplace_back(call, Owned<cudaGraphExec_t, cudaGraphExecDestroy>(exec));
    it = std::prev(s.graphs.end());
  }
  QDP_CUDA_CHECK(cudaGraphLaunch(it->second.get(), stream));
}

// (Tactics: see kConvTactics.) An algorithm that asks for more workspace than this is not offered
// (as TensorRT's workspace limit): FFT-like needs of gigabytes would fail the allocation instead.
constexpr size_t kMaxConvWorkspace = size_t{256} << 20;

template <class T>
CudaConvPlan make_cuda_conv(cudnnHandle_t h, ConvGeom const& g, bool has_bias, Tactic tactic,
                            bool hwc) {
  CudaConvPlan p;
  bool symmetric = g.pads.begin == g.pads.end;
  p.pad_copy = !symmetric;
  // Channels-last: X, W (KRSC) and Y in NHWC, the layout of cuDNN's tensor-core kernels.
  if (hwc && (g.spatial != 2 || p.pad_copy))
    fail(ErrorCode::Unsupported, "{}: channels-last takes 2-D windows with symmetric pads", kConv);
  // cuDNN's Nd descriptors need at least 2 spatial dimensions: a 1-D conv gets a trailing 1.
  int sp = std::max(g.spatial, 2);
  std::vector<int> xd{static_cast<int>(g.n), static_cast<int>(g.c)},
      yd{static_cast<int>(g.n), static_cast<int>(g.m)},
      wd{static_cast<int>(g.m), static_cast<int>(g.c / g.group)}, pad, stride, dil;
  p.in.d[0] = p.padded.d[0] = g.n;
  p.in.d[1] = p.padded.d[1] = g.c;
  p.padded_numel = g.n * g.c;
  for (int i = 0; i < sp; ++i) {
    bool real = i < g.spatial;
    int64_t in = real ? g.in[i] : 1;
    int64_t extra = real && p.pad_copy ? g.pads.begin[i] + g.pads.end[i] : 0;
    if (real) {
      p.in.d[2 + i] = in;
      p.padded.d[2 + i] = in + extra;
      p.begin.d[2 + i] = p.pad_copy ? g.pads.begin[i] : 0;
      p.padded_numel *= in + extra;
    }
    xd.push_back(static_cast<int>(in + extra));
    yd.push_back(static_cast<int>(real ? g.out[i] : 1));
    wd.push_back(static_cast<int>(real ? g.kernel[i] : 1));
    pad.push_back(static_cast<int>(real && !p.pad_copy ? g.pads.begin[i] : 0));
    stride.push_back(static_cast<int>(real ? g.strides[i] : 1));
    dil.push_back(static_cast<int>(real ? g.dilations[i] : 1));
  }
  auto packed = [](std::vector<int> const& dims) {
    std::vector<int> s(dims.size());
    int acc = 1;
    for (size_t i = dims.size(); i-- > 0;) {
      s[i] = acc;
      acc *= dims[i];
    }
    return s;
  };
  cudnnDataType_t type = cudnn_type<T>();
  int nd = static_cast<int>(xd.size());
  auto tensor_descriptor = [&](std::vector<int> const& dims) {
    cudnnTensorDescriptor_t td;
    QDP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&td));
    TensorDescriptor owned(td);  // owned before the next call can throw
    if (hwc)
      QDP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(td, CUDNN_TENSOR_NHWC, type, dims[0], dims[1],
                                                 dims[2], dims[3]));
    else
      QDP_CUDNN_CHECK(cudnnSetTensorNdDescriptor(td, type, nd, dims.data(), packed(dims).data()));
    return owned;
  };
  p.x = tensor_descriptor(xd);
  p.y = tensor_descriptor(yd);
  cudnnFilterDescriptor_t fd;
  QDP_CUDNN_CHECK(cudnnCreateFilterDescriptor(&fd));
  p.w = FilterDescriptor(fd);
  QDP_CUDNN_CHECK(cudnnSetFilterNdDescriptor(fd, type, hwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                             nd, wd.data()));
  cudnnConvolutionDescriptor_t cd;
  QDP_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
  p.conv = ConvDescriptor(cd);
  // Accumulate in FP32 for every type (FP16/BF16 in, FP32 compute: cuDNN's pseudo-half config).
  QDP_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(cd, sp, pad.data(), stride.data(), dil.data(),
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  QDP_CUDNN_CHECK(cudnnSetConvolutionGroupCount(cd, static_cast<int>(g.group)));
  // FP32 stays FP32 (no TF32), so that it matches the CPU; 16-bit types use tensor cores.
  bool fp32 = std::is_same_v<T, float>;
  cudnnMathType_t math = fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
  QDP_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, math));

  // Check that cuDNN agrees on the output shape.
  std::vector<int> expect(static_cast<size_t>(nd));
  QDP_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(cd, p.x.get(), fd, nd, expect.data()));
  if (expect != yd)
    fail(ErrorCode::RuntimeFailure, "{}: cuDNN computes another output shape", kConv);

  if (tactic.value == 0) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    QDP_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
        h, p.x.get(), fd, cd, p.y.get(), CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf));
    int pick = -1;
    for (int i = 0; i < found && pick < 0; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS &&
          !(fp32 && perf[i].mathType == CUDNN_TENSOR_OP_MATH))
        pick = i;
    if (pick < 0)
      fail(ErrorCode::RuntimeFailure, "{}: cuDNN has no algorithm for this case", kConv);
    p.algo = perf[pick].algo;
    QDP_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, perf[pick].mathType));
  } else {
    if (tactic.value < 1 || tactic.value > 2 * kConvTactics)
      fail(ErrorCode::Unsupported,
           "{}: no tactic {} (tactics 1 to {} are cuDNN algorithms, {} to {} the same with the "
           "bias and Relu in cuDNN's call)",
           kConv, tactic.value, kConvTactics, kConvTactics + 1, 2 * kConvTactics);
    p.algo = static_cast<cudnnConvolutionFwdAlgo_t>((tactic.value - 1) % kConvTactics);
  }
  QDP_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, p.x.get(), fd, cd, p.y.get(), p.algo,
                                                          &p.workspace));
  if (p.workspace > kMaxConvWorkspace)
    fail(ErrorCode::Unsupported, "{}: cuDNN algorithm {} needs {} MB of workspace (at most {})",
         kConv, static_cast<int>(p.algo), p.workspace >> 20, kMaxConvWorkspace >> 20);
  // FP32 LINEAR with a bias and Relu always (it ran on the H200: tests/builder/fusion_test.cpp
  // and the exported ResNet-50); the fused tactics for the rest, else the epilogue pass.
  using Kind = Activation::Kind;
  bool relu_bias = has_bias && g.activation.kind == Kind::Relu;
  bool fused_tactic = tactic.value > kConvTactics;
  if (fused_tactic) {
    bool identity = g.activation.kind == Kind::None &&
                    p.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    if (!has_bias || !(relu_bias || identity))
      fail(ErrorCode::Unsupported,
           "{}: tactic {} applies a bias and Relu (or no activation with IMPLICIT_PRECOMP_GEMM) "
           "in cuDNN's call, which this layer does not take",
           kConv, tactic.value);
    if (fp32 && !hwc && relu_bias)
      fail(ErrorCode::Unsupported, "{}: tactic {} is tactic {} for FP32 LINEAR", kConv,
           tactic.value, tactic.value - kConvTactics);
  }
  p.fused = fused_tactic || (relu_bias && fp32 && !hwc);
  if (p.fused) {
    std::vector<int> bd(static_cast<size_t>(nd), 1);
    bd[1] = static_cast<int>(g.m);
    p.bias = tensor_descriptor(bd);
    cudnnActivationDescriptor_t ad;
    QDP_CUDNN_CHECK(cudnnCreateActivationDescriptor(&ad));
    p.relu = ActivationDescriptor(ad);
    QDP_CUDNN_CHECK(cudnnSetActivationDescriptor(
        ad, g.activation.kind == Kind::Relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
        CUDNN_PROPAGATE_NAN, 0.0));
  }
  return p;
}

// The plan's calls on `stream`: the padding copy, cuDNN's convolution, the epilogue.
template <class T>
void conv_launch(cudnnHandle_t h, CudaConvPlan const& p, ConvGeom const& g, Tensor const& x,
                 Tensor const& w, Tensor const& b, Tensor const* z, Tensor const& y, char* scratch,
                 cudaStream_t stream) {
  QDP_CUDNN_CHECK(cudnnSetStream(h, stream));
  bool has_bias = !absent(b);
  bool hwc = x.format == TensorFormat::HWC;
  size_t pad_bytes =
      p.pad_copy ? ((static_cast<size_t>(p.padded_numel) * sizeof(T) + 255) & ~size_t{255}) : 0;
  T const* xp = static_cast<T const*>(x.data);
  if (p.pad_copy) {
    T* padded = reinterpret_cast<T*>(scratch);
    pad_kernel<T><<<grid_for(p.padded_numel, 256), 256, 0, stream>>>(
        xp, padded, p.in, p.padded, p.begin, 2 + g.spatial, p.padded_numel);
    QDP_CUDA_CHECK(cudaGetLastError());
    xp = padded;
  }
  // The residual z is added in place: y holds it (qdp's runtime passes Y aliasing Z; a caller
  // that gives two buffers gets a copy) and cuDNN accumulates into it.
  if (z && z->data != y.data)
    QDP_CUDA_CHECK(cudaMemcpyAsync(y.data, z->data, y.bytes(), cudaMemcpyDeviceToDevice, stream));
  float alpha = 1.0f, accumulate = z ? 1.0f : 0.0f;
  if (p.fused) {  // y = act(conv(x) + accumulate * y + b)
    QDP_CUDNN_CHECK(cudnnConvolutionBiasActivationForward(
        h, &alpha, p.x.get(), xp, p.w.get(), w.data, p.conv.get(), p.algo, scratch + pad_bytes,
        p.workspace, &accumulate, p.y.get(), y.data, p.bias.get(), b.data, p.relu.get(), p.y.get(),
        y.data));
    return;
  }
  QDP_CUDNN_CHECK(cudnnConvolutionForward(h, &alpha, p.x.get(), xp, p.w.get(), w.data, p.conv.get(),
                                          p.algo, scratch + pad_bytes, p.workspace, &accumulate,
                                          p.y.get(), y.data));
  if (has_bias || g.activation.kind != Activation::Kind::None) {
    int64_t inner = 1;  // elements per channel run: a pixel's channels are adjacent in NHWC
    if (!hwc)
      for (int64_t o : g.out) inner *= o;
    int64_t total = y.numel();
    bias_activation_kernel<T><<<grid_for(total, 256), 256, 0, stream>>>(
        static_cast<T*>(y.data), has_bias ? static_cast<T const*>(b.data) : nullptr, g.m, inner,
        total, g.activation);
    QDP_CUDA_CHECK(cudaGetLastError());
  }
}

template <class T>
void conv_cuda(CudaConvState& s, ConvAttrs const& a, Tensor const& x, Tensor const& w,
               Tensor const& b, Tensor const* z, Tensor const& y, Tactic tactic,
               cudaStream_t stream) {
  ConvGeom g = conv_geom(a, x, w, b, y, z);
  bool has_bias = !absent(b);
  if (has_bias) check_same_type(kConv, "B", b, x.dtype);
  std::lock_guard lock(s.mutex);
  if (!s.handle) {
    cudnnHandle_t h;
    QDP_CUDNN_CHECK(cudnnCreate(&h));
    s.handle = Owned<cudnnHandle_t, cudnnDestroy>(h);
  }
  cudnnHandle_t h = s.handle.get();
  bool hwc = x.format == TensorFormat::HWC;
  auto key = plan_key({&x, &w, &y});
  key.push_back(has_bias);
  key.push_back(z != nullptr);
  key.push_back(tactic.value);
  auto it = s.cache.find(key);
  if (it == s.cache.end())
    it = s.cache.emplace(key, make_cuda_conv<T>(h, g, has_bias, tactic, hwc)).first;
  CudaConvPlan const& p = it->second;

  size_t pad_bytes =
      p.pad_copy ? ((static_cast<size_t>(p.padded_numel) * sizeof(T) + 255) & ~size_t{255}) : 0;
  char* scratch = static_cast<char*>(s.scratch.get(pad_bytes + p.workspace));
  ConvCall call{&p, x.data, w.data, b.data, z ? z->data : nullptr, y.data, scratch};
  replay_as_graph(s, call, stream,
                  [&](cudaStream_t st) { conv_launch<T>(h, p, g, x, w, b, z, y, scratch, st); });
}

#endif

}  // namespace

QDP_PLUGIN(conv, "onnx::Conv")
    .desc([](TensorDesc const& x, TensorDesc const& w, TensorDesc const& b, ConvAttrs const& a) {
      return conv_desc(x, w, b, a);
    })
    // The network's types or FP16, the network's layout or channels-last (X, W and Y; CUDA),
    // each tactic (cuDNN's algorithms on the GPU; the CPU has one).
    .autotune([](TensorDesc const& x, TensorDesc const& w, TensorDesc const& b, Outputs y) {
      std::vector<int32_t> tactics(2 * kConvTactics);
      std::iota(tactics.begin(), tactics.end(), 1);
      TensorDesc ins[] = {x, w, b};
      auto combinations =
          float_type_combinations(ins, y, "LINEAR|HWC, LINEAR|HWC, LINEAR, LINEAR|HWC");
      for (auto& c : combinations) c.tactics(tactics);
      return combinations;
    })
    .impl<qdp::cpu, float, half, bfloat16>([state = PerBind<CpuConv>()]<class T>(In<T> x, In<T> w,
                                                                                 In<> b, Out<T> y,
                                                                                 ConvAttrs const& a,
                                                                                 Tactic tactic) {
      if (tactic.value > 1)
        fail(ErrorCode::Unsupported,
             "{}: the CPU convolution (oneDNN) has one algorithm, tactic 1; no tactic {}", kConv,
             tactic.value);
      if (!absent(b.tensor())) check_same_type(kConv, "B", b.tensor(), x.dtype());
      state->run(conv_geom(a, x.tensor(), w.tensor(), b.tensor(), y.tensor()), x.tensor(),
                 w.tensor(), b.tensor(), y.tensor());
    })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>(
        [state = PerBind<CudaConvState>()]<class T>(In<T> x, In<T> w, In<> b, Out<T> y,
                                                    ConvAttrs const& a, Tactic tactic, Stream s) {
          conv_cuda<T>(*state, a, x.tensor(), w.tensor(), b.tensor(), nullptr, y.tensor(), tactic,
                       native(s));
        })
#endif
    ;

QDP_PLUGIN(conv_add, "qdp::ConvAdd")
    .desc([](TensorDesc const& x, TensorDesc const& w, TensorDesc const& b, TensorDesc const& z,
             ConvAttrs const& a) { return conv_add_desc(x, w, b, z, a); })
    // As onnx::Conv's, with Z in Y's layout.
    .autotune([](TensorDesc const& x, TensorDesc const& w, TensorDesc const& b, TensorDesc const& z,
                 Outputs y) {
      std::vector<int32_t> tactics(2 * kConvTactics);
      std::iota(tactics.begin(), tactics.end(), 1);
      TensorDesc ins[] = {x, w, b, z};
      auto combinations =
          float_type_combinations(ins, y, "LINEAR|HWC, LINEAR|HWC, LINEAR, LINEAR|HWC, LINEAR|HWC");
      for (auto& c : combinations) c.tactics(tactics);
      return combinations;
    })
    .impl<qdp::cpu, float, half, bfloat16>(
        [state = PerBind<CpuConv>()]<class T>(In<T> x, In<T> w, In<> b, In<T> z, Out<T> y,
                                              ConvAttrs const& a, Tactic tactic) {
          if (tactic.value > 1)
            fail(ErrorCode::Unsupported,
                 "{}: the CPU convolution (oneDNN) has one algorithm, tactic 1; no tactic {}",
                 kConvAdd, tactic.value);
          if (!absent(b.tensor())) check_same_type(kConvAdd, "B", b.tensor(), x.dtype());
          state->run(conv_geom(a, x.tensor(), w.tensor(), b.tensor(), y.tensor(), &z.tensor()),
                     x.tensor(), w.tensor(), b.tensor(), y.tensor(), &z.tensor());
        })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>(
        [state = PerBind<CudaConvState>()]<class T>(In<T> x, In<T> w, In<> b, In<T> z, Out<T> y,
                                                    ConvAttrs const& a, Tactic tactic, Stream s) {
          conv_cuda<T>(*state, a, x.tensor(), w.tensor(), b.tensor(), &z.tensor(), y.tensor(),
                       tactic, native(s));
        })
#endif
    ;

}  // namespace qdp::ops::nn
