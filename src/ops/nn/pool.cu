// onnx::MaxPool, onnx::AveragePool (1-D to 3-D windows: kernel_shape, strides, pads, auto_pad,
// dilations, ceil_mode; count_include_pad) and onnx::GlobalAveragePool / onnx::GlobalMaxPool.
// Own kernels: an OpenMP loop on the CPU, one thread per output element on CUDA. Both also pool
// channels-last 2-D inputs (HWC), so that a ResNet's stem and head stay in the convolutions'
// layout.
#include <algorithm>
#include <cmath>
#include <limits>
#include <qdp/plugin.hpp>
#include <vector>

#include "ops/nn/nn_common.hpp"

#ifdef __CUDACC__
#include "ops/nn/nn_cuda.cuh"
#endif

namespace qdp::ops::nn {
namespace {

// A window op's geometry at run time, always as 3 spatial dimensions (the missing leading ones
// have extent 1), so that one loop serves 1-D, 2-D and 3-D.
struct PoolGeom {
  int64_t rows = 0;  // N * C
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
};

PoolGeom pool_geom(Window const& w, Dims const& x, Dims const& y) {
  PoolGeom g;
  g.rows = x[0] * x[1];
  RunPads p = run_pads(w, x, y);
  int sp = w.spatial(), lead = 3 - sp;
  for (int i = 0; i < 3; ++i) {
    int j = i - lead;
    bool real = j >= 0;
    g.in[i] = real ? x[2 + j] : 1;
    g.out[i] = real ? y[2 + j] : 1;
    g.k[i] = real ? w.kernel[j] : 1;
    g.s[i] = real ? w.strides[j] : 1;
    g.d[i] = real ? w.dilations[j] : 1;
    g.pb[i] = real ? p.begin[j] : 0;
    g.pe[i] = real ? p.end[j] : 0;
  }
  return g;
}

enum class PoolKind { Max, Avg };

// One output element: the window's max, or its average over the taps inside the input (or
// inside the padded input, with count_include_pad).
template <PoolKind K, class Load>
#ifdef __CUDACC__
__host__ __device__
#endif
    inline float
    pool_one(PoolGeom const& g, Load const& load, int64_t row, int64_t o0, int64_t o1, int64_t o2,
             bool include_pad) {
  float acc = K == PoolKind::Max ? -INFINITY : 0.0f;
  int64_t count = 0;
  int64_t base = row * g.in[0] * g.in[1] * g.in[2];
  int64_t start[3] = {o0 * g.s[0] - g.pb[0], o1 * g.s[1] - g.pb[1], o2 * g.s[2] - g.pb[2]};
  for (int64_t a = 0; a < g.k[0]; ++a) {
    int64_t i0 = start[0] + a * g.d[0];
    if (i0 >= g.in[0] + g.pe[0]) break;
    for (int64_t b = 0; b < g.k[1]; ++b) {
      int64_t i1 = start[1] + b * g.d[1];
      if (i1 >= g.in[1] + g.pe[1]) break;
      for (int64_t c = 0; c < g.k[2]; ++c) {
        int64_t i2 = start[2] + c * g.d[2];
        if (i2 >= g.in[2] + g.pe[2]) break;
        bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && i2 >= 0 && i2 < g.in[2];
        if (inside) {
          float v = load(base + (i0 * g.in[1] + i1) * g.in[2] + i2);
          acc = K == PoolKind::Max ? (v > acc || v != v ? v : acc) : acc + v;
          ++count;
        } else if (include_pad) {
          ++count;  // a padding tap counts as a zero
        }
      }
    }
  }
  if (K == PoolKind::Avg) return count > 0 ? acc / static_cast<float>(count) : 0.0f;
  return acc;
}

// The windows of outputs [o2, o2 + m) of one output line, all wholly inside the input (its
// taps of dimensions 0 and 1 start at rows i0, i1): every tap is read, none is padding. The
// outputs are the inner loop, so that their accumulators are independent (no chain of compares
// per output) and the loads stream along the input line.
template <PoolKind K, class T>
void pool_inside(PoolGeom const& g, T const* x, T* out, int64_t row, int64_t i0, int64_t i1,
                 int64_t o2, int64_t m) {
  constexpr int64_t kChunk = 64;
  int64_t const s2 = g.s[2];
  for (int64_t first = 0; first < m; first += kChunk) {
    int64_t const len = std::min(kChunk, m - first);
    float acc[kChunk];
    std::fill(acc, acc + len, K == PoolKind::Max ? -INFINITY : 0.0f);
    int64_t const i2 = (o2 + first) * s2 - g.pb[2];
    for (int64_t a = 0; a < g.k[0]; ++a)
      for (int64_t b = 0; b < g.k[1]; ++b) {
        T const* line =
            x + ((row * g.in[0] + i0 + a * g.d[0]) * g.in[1] + i1 + b * g.d[1]) * g.in[2] + i2;
        for (int64_t c = 0; c < g.k[2]; ++c) {
          T const* tap = line + c * g.d[2];
          for (int64_t j = 0; j < len; ++j) {
            float v = static_cast<float>(tap[j * s2]);
            acc[j] = K == PoolKind::Max ? (v > acc[j] || v != v ? v : acc[j]) : acc[j] + v;
          }
        }
      }
    float const scale =
        K == PoolKind::Avg ? 1.0f / static_cast<float>(g.k[0] * g.k[1] * g.k[2]) : 1.0f;
    for (int64_t j = 0; j < len; ++j)
      out[o2 + first + j] = static_cast<T>(K == PoolKind::Avg ? acc[j] * scale : acc[j]);
  }
}

template <PoolKind K, class T>
QDP_CPU_KERNEL void pool_cpu(PoolGeom const& g, T const* x, T* y, bool include_pad) {
  // Parallel over output lines, the last dimension inside: no divisions per element.
  int64_t lines = g.rows * g.out[0] * g.out[1];
  auto load = [x](int64_t i) { return static_cast<float>(x[i]); };
  // Outputs [lo, hi) of a line have windows inside the input along dimension 2.
  int64_t const reach = (g.k[2] - 1) * g.d[2];
  int64_t const lo = std::min(g.out[2], (g.pb[2] + g.s[2] - 1) / g.s[2]);
  int64_t const hi = g.in[2] - 1 - reach + g.pb[2] < 0
                         ? lo
                         : std::clamp((g.in[2] - 1 - reach + g.pb[2]) / g.s[2] + 1, lo, g.out[2]);
#pragma omp parallel for schedule(static) if (lines * g.out[2] >= (int64_t{1} << 12))
  for (int64_t line = 0; line < lines; ++line) {
    int64_t o1 = line % g.out[1], o0 = (line / g.out[1]) % g.out[0];
    int64_t row = line / (g.out[1] * g.out[0]);
    T* out = y + line * g.out[2];
    // Windows wholly inside the input along dimensions 0 and 1 (most of them), 2-D and 3-D
    // alike, take a loop without bounds checks for their interior.
    int64_t i0 = o0 * g.s[0] - g.pb[0], i1 = o1 * g.s[1] - g.pb[1];
    bool rows_inside = i0 >= 0 && i0 + (g.k[0] - 1) * g.d[0] < g.in[0] && i1 >= 0 &&
                       i1 + (g.k[1] - 1) * g.d[1] < g.in[1];
    int64_t const begin = rows_inside ? lo : g.out[2], end = rows_inside ? hi : g.out[2];
    if (begin < end) pool_inside<K>(g, x, out, row, i0, i1, begin, end - begin);
    for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {  // the rest: 8-bit integers are exact in float
      if (o2 == begin) o2 = end;
      if (o2 >= g.out[2]) break;
      out[o2] = static_cast<T>(pool_one<K>(g, load, row, o0, o1, o2, include_pad));
    }
  }
}

// Channels-last 2-D (N, H, W, C): per output pixel, each tap adds a contiguous run of C channels,
// the inner loop. Taps are counted as pool_one counts them.
template <PoolKind K, class T>
QDP_CPU_KERNEL void pool_cpu_hwc(PoolGeom const& g, int64_t channels, T const* x, T* y,
                                 bool include_pad) {
  int64_t lines = g.rows / std::max<int64_t>(channels, 1) * g.out[1];
#pragma omp parallel for schedule(static) if (lines * g.out[2] * channels >= (int64_t{1} << 14))
  for (int64_t line = 0; line < lines; ++line) {
    int64_t n = line / g.out[1], o1 = line % g.out[1];
    std::vector<float> acc(static_cast<size_t>(channels));
    for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
      std::fill(acc.begin(), acc.end(), K == PoolKind::Max ? -INFINITY : 0.0f);
      int64_t count = 0;
      for (int64_t a = 0; a < g.k[1]; ++a) {
        int64_t i1 = o1 * g.s[1] - g.pb[1] + a * g.d[1];
        if (i1 >= g.in[1] + g.pe[1]) break;
        for (int64_t b = 0; b < g.k[2]; ++b) {
          int64_t i2 = o2 * g.s[2] - g.pb[2] + b * g.d[2];
          if (i2 >= g.in[2] + g.pe[2]) break;
          if (i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) {
            count += include_pad;  // a padding tap counts as a zero
            continue;
          }
          T const* px = x + ((n * g.in[1] + i1) * g.in[2] + i2) * channels;
          for (int64_t c = 0; c < channels; ++c) {
            float v = static_cast<float>(px[c]);
            float& r = acc[static_cast<size_t>(c)];
            r = K == PoolKind::Max ? (v > r || v != v ? v : r) : r + v;
          }
          ++count;
        }
      }
      T* out = y + ((n * g.out[1] + o1) * g.out[2] + o2) * channels;
      // An average over no tap is 0, as pool_one gives (its accumulators are still 0).
      float scale = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
      for (int64_t c = 0; c < channels; ++c)
        out[c] = static_cast<T>(K == PoolKind::Avg ? acc[static_cast<size_t>(c)] * scale
                                                   : acc[static_cast<size_t>(c)]);
    }
  }
}

// The CPU's pool of either layout: channels-last is 2-D only (what the autotuner offers it).
template <PoolKind K, class T>
void pool_cpu_any(PoolGeom const& g, Tensor const& x, Tensor const& y, bool include_pad) {
  auto const* xp = static_cast<T const*>(x.data);
  auto* yp = static_cast<T*>(y.data);
  if (x.format == TensorFormat::HWC)
    pool_cpu_hwc<K>(g, x.shape[1], xp, yp, include_pad);
  else
    pool_cpu<K>(g, xp, yp, include_pad);
}

#ifdef __CUDACC__
template <PoolKind K, class T>
__global__ void pool_kernel(PoolGeom g, T const* __restrict__ x, T* __restrict__ y,
                            bool include_pad, int64_t total) {
  int64_t per_row = g.out[0] * g.out[1] * g.out[2];
  auto load = [x](int64_t i) { return load_float(x[i]); };
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x) {
    int64_t row = e / per_row, r = e % per_row;
    int64_t o2 = r % g.out[2], o1 = (r / g.out[2]) % g.out[1], o0 = r / (g.out[2] * g.out[1]);
    y[e] = store_float<T>(pool_one<K>(g, load, row, o0, o1, o2, include_pad));
  }
}

// Channels-last (N, H, W, C): consecutive threads take consecutive channels of one output pixel,
// so every tap's loads are coalesced. pool_one walks the window in NCHW indices; the load maps
// them to the NHWC element.
template <PoolKind K, class T>
__global__ void pool_hwc_kernel(PoolGeom g, int64_t channels, T const* __restrict__ x,
                                T* __restrict__ y, bool include_pad, int64_t total) {
  int64_t plane = g.in[1] * g.in[2];  // 2-D: g.in[0] and g.out[0] are 1
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x) {
    int64_t c = e % channels, pixel = e / channels;
    int64_t o2 = pixel % g.out[2], o1 = (pixel / g.out[2]) % g.out[1];
    int64_t n = pixel / (g.out[2] * g.out[1]), row = n * channels + c;
    auto load = [&](int64_t i) {
      return load_float(x[(n * plane + (i - row * plane)) * channels + c]);
    };
    y[e] = store_float<T>(pool_one<K>(g, load, row, 0, o1, o2, include_pad));
  }
}

// Channels-last 2-D with C a multiple of V = 16 bytes / element: each thread pools V adjacent
// channels of one output pixel with 16-byte loads and 32-bit indices. The generic kernel above
// spends its time on 64-bit divisions per element and per tap (ResNet-50's stem MaxPool at batch
// 32 took 0.17 ms on the H200, a tenth of the bandwidth); taps are counted as pool_one counts them.
template <PoolKind K, class T>
__global__ void pool_hwc_vector_kernel(PoolGeom g, int channels, T const* __restrict__ x,
                                       T* __restrict__ y, bool include_pad, int total) {
  constexpr int V = 16 / sizeof(T);
  int const vectors = channels / V, in1 = static_cast<int>(g.in[1]),
            in2 = static_cast<int>(g.in[2]), out1 = static_cast<int>(g.out[1]),
            out2 = static_cast<int>(g.out[2]);
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int c = (e % vectors) * V, pixel = e / vectors;
    int o2 = pixel % out2, o1 = (pixel / out2) % out1, n = pixel / (out2 * out1);
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = K == PoolKind::Max ? -INFINITY : 0.0f;
    int count = 0;
    int start1 = o1 * static_cast<int>(g.s[1]) - static_cast<int>(g.pb[1]);
    int start2 = o2 * static_cast<int>(g.s[2]) - static_cast<int>(g.pb[2]);
    for (int a = 0; a < g.k[1]; ++a) {
      int i1 = start1 + a * static_cast<int>(g.d[1]);
      if (i1 >= in1 + g.pe[1]) break;
      for (int b = 0; b < g.k[2]; ++b) {
        int i2 = start2 + b * static_cast<int>(g.d[2]);
        if (i2 >= in2 + g.pe[2]) break;
        if (i1 < 0 || i1 >= in1 || i2 < 0 || i2 >= in2) {
          count += include_pad;  // a padding tap counts as a zero
          continue;
        }
        uint4 bits =
            *reinterpret_cast<uint4 const*>(x + ((n * in1 + i1) * in2 + i2) * channels + c);
        T const* tap = reinterpret_cast<T const*>(&bits);
#pragma unroll
        for (int j = 0; j < V; ++j) {
          float v = load_float(tap[j]);
          acc[j] = K == PoolKind::Max ? (v > acc[j] || v != v ? v : acc[j]) : acc[j] + v;
        }
        ++count;
      }
    }
    uint4 bits;
    T* out = reinterpret_cast<T*>(&bits);
#pragma unroll
    for (int j = 0; j < V; ++j)
      out[j] = store_float<T>(K == PoolKind::Max ? acc[j]
                              : count > 0        ? acc[j] / static_cast<float>(count)
                                                 : 0.0f);
    *reinterpret_cast<uint4*>(y + static_cast<int64_t>(pixel) * channels + c) = bits;
  }
}

template <PoolKind K, class T>
void pool_cuda(PoolGeom const& g, Tensor const& x, Tensor const& y, bool include_pad,
               cudaStream_t stream) {
  int64_t total = g.rows * g.out[0] * g.out[1] * g.out[2];
  if (total == 0) return;
  auto const* xp = static_cast<T const*>(x.data);
  auto* yp = static_cast<T*>(y.data);
  constexpr int64_t V = 16 / sizeof(T);
  int64_t channels = x.shape[1];
  bool aligned =
      reinterpret_cast<uintptr_t>(xp) % 16 == 0 && reinterpret_cast<uintptr_t>(yp) % 16 == 0;
  if (x.format == TensorFormat::HWC && channels % V == 0 && aligned &&
      x.numel() < (int64_t{1} << 31) && total < (int64_t{1} << 31)) {
    int vectors = static_cast<int>(total / V);
    pool_hwc_vector_kernel<K, T><<<grid_for(vectors, 256), 256, 0, stream>>>(
        g, static_cast<int>(channels), xp, yp, include_pad, vectors);
  } else if (x.format == TensorFormat::HWC)
    pool_hwc_kernel<K, T>
        <<<grid_for(total, 256), 256, 0, stream>>>(g, x.shape[1], xp, yp, include_pad, total);
  else
    pool_kernel<K, T><<<grid_for(total, 256), 256, 0, stream>>>(g, xp, yp, include_pad, total);
  QDP_CUDA_CHECK(cudaGetLastError());
}
#endif

// The network's float types or FP16; channels-last in and out for a 2-D window.
std::vector<AutoTuneCombination> window_pool_combinations(TensorDesc const& x, Outputs outs) {
  return float_type_combinations(std::span(&x, 1), outs, "LINEAR|HWC");
}

void check_pool_input(std::string_view op, TensorDesc const& x, bool integers) {
  bool ok = is_floating_point(x.dtype) ||
            (integers && (x.dtype == DataType::INT8 || x.dtype == DataType::UINT8));
  if (!ok)
    fail("{}: X is {}; supported: FP32, FP16, BF16{}", op, name(x.dtype),
         integers ? ", INT8, UINT8" : "");
  if (x.rank() < 3 || x.rank() > 5)
    fail("{}: X has rank {}; supported: 3 to 5 (N, C and 1 to 3 spatial dimensions)", op, x.rank());
}

// ---- MaxPool, AveragePool ---------------------------------------------------------------------
struct MaxPoolAttrs {
  std::string auto_pad = "NOTSET";
  int64_t ceil_mode = 0;
  std::vector<int64_t> dilations;
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> pads;
  int64_t storage_order = 0;  // only affects the Indices output, which is not supported
  std::vector<int64_t> strides;
};
QDP_ATTRS(MaxPoolAttrs, auto_pad, ceil_mode, dilations, kernel_shape, pads, storage_order, strides);

struct AvgPoolAttrs {
  std::string auto_pad = "NOTSET";
  int64_t ceil_mode = 0;
  int64_t count_include_pad = 0;
  std::vector<int64_t> dilations;
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> pads;
  std::vector<int64_t> strides;
};
QDP_ATTRS(AvgPoolAttrs, auto_pad, ceil_mode, count_include_pad, dilations, kernel_shape, pads,
          strides);

template <class A>
Window pool_window(std::string_view op, A const& a, int spatial) {
  if (a.kernel_shape.empty()) fail("{}: attribute kernel_shape is required", op);
  return make_window(op, spatial, a.auto_pad, a.kernel_shape, a.strides, a.dilations, a.pads,
                     a.ceil_mode);
}

TensorDesc maxpool_desc(TensorDesc const& x, MaxPoolAttrs const& a) {
  constexpr char op[] = "onnx::MaxPool";
  check_pool_input(op, x, true);
  if (a.storage_order != 0 && a.storage_order != 1)
    fail("{}: attribute storage_order is {}; allowed: 0 or 1", op, a.storage_order);
  return from_shape_expr(window_shape(pool_window(op, a, x.rank() - 2), x, x.shape_expr[1]),
                         x.dtype);
}

TensorDesc avgpool_desc(TensorDesc const& x, AvgPoolAttrs const& a) {
  constexpr char op[] = "onnx::AveragePool";
  check_pool_input(op, x, false);
  if (a.count_include_pad != 0 && a.count_include_pad != 1)
    fail("{}: attribute count_include_pad is {}; allowed: 0 or 1", op, a.count_include_pad);
  return from_shape_expr(window_shape(pool_window(op, a, x.rank() - 2), x, x.shape_expr[1]),
                         x.dtype);
}

// ---- GlobalAveragePool, GlobalMaxPool -----------------------------------------------------------
TensorDesc global_desc(std::string_view op, TensorDesc const& x) {
  check_pool_input(op, x, false);
  std::vector<ShapeExpr> out{x.shape_expr[0], x.shape_expr[1]};
  out.resize(x.shape_expr.size(), ShapeExpr(1));
  return from_shape_expr(std::move(out), x.dtype);
}

// The network's float types or FP16; a rank-4 input also channels-last, the (N, C, 1, 1)
// output LINEAR either way (the same bytes), for the Flatten or Reshape after it.
std::vector<AutoTuneCombination> global_pool_combinations(TensorDesc const& x, Outputs outs) {
  auto linear = float_type_combinations(std::span(&x, 1), outs);
  auto hwc = float_type_combinations(std::span(&x, 1), outs, "HWC, LINEAR");
  linear.insert(linear.end(), hwc.begin(), hwc.end());
  return linear;
}

// A global pool is a window pool whose window is the whole input.
PoolGeom global_geom(Dims const& x) {
  PoolGeom g;
  g.rows = x[0] * x[1];
  int sp = x.rank() - 2, lead = 3 - sp;
  for (int i = 0; i < 3; ++i) {
    int j = i - lead;
    g.in[i] = g.k[i] = j >= 0 ? x[2 + j] : 1;
    g.out[i] = g.s[i] = g.d[i] = 1;
    g.pb[i] = g.pe[i] = 0;
  }
  return g;
}

// The CPU's global pool: channels-last sums each image's pixels into C accumulators, a contiguous
// inner loop; the (N, C, 1, 1) output is the same bytes in either layout.
template <PoolKind K, class T>
QDP_CPU_KERNEL void global_cpu(Tensor const& x, Tensor const& y) {
  auto const* xp = static_cast<T const*>(x.data);
  auto* yp = static_cast<T*>(y.data);
  if (x.format != TensorFormat::HWC) {
    pool_cpu<K>(global_geom(x.shape), xp, yp, false);
    return;
  }
  int64_t images = x.shape[0], channels = x.shape[1], pixels = x.shape[2] * x.shape[3];
#pragma omp parallel for schedule(static) if (x.numel() >= (int64_t{1} << 14))
  for (int64_t n = 0; n < images; ++n) {
    std::vector<float> acc(static_cast<size_t>(channels), K == PoolKind::Max ? -INFINITY : 0.0f);
    for (int64_t p = 0; p < pixels; ++p) {
      T const* px = xp + (n * pixels + p) * channels;
      for (int64_t c = 0; c < channels; ++c) {
        float v = static_cast<float>(px[c]);
        float& r = acc[static_cast<size_t>(c)];
        r = K == PoolKind::Max ? (v > r || v != v ? v : r) : r + v;
      }
    }
    for (int64_t c = 0; c < channels; ++c)
      yp[n * channels + c] =
          static_cast<T>(K == PoolKind::Max ? acc[static_cast<size_t>(c)]
                         : pixels > 0 ? acc[static_cast<size_t>(c)] / static_cast<float>(pixels)
                                      : 0.0f);
  }
}

#ifdef __CUDACC__
// One block per (n, c) row: a strided sum or max, then a tree in shared memory.
template <PoolKind K, class T>
__global__ void global_kernel(T const* __restrict__ x, T* __restrict__ y, int64_t inner) {
  __shared__ float part[256];
  T const* row = x + blockIdx.x * inner;
  float acc = K == PoolKind::Max ? -INFINITY : 0.0f;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    float v = load_float(row[i]);
    acc = K == PoolKind::Max ? fmaxf(acc, v) : acc + v;
  }
  part[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned half_n = blockDim.x / 2; half_n > 0; half_n /= 2) {
    if (threadIdx.x < half_n)
      part[threadIdx.x] = K == PoolKind::Max ? fmaxf(part[threadIdx.x], part[threadIdx.x + half_n])
                                             : part[threadIdx.x] + part[threadIdx.x + half_n];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    y[blockIdx.x] =
        store_float<T>(K == PoolKind::Max ? part[0] : part[0] / static_cast<float>(inner));
}

// Channels-last input: one thread per (n, c), reading the pixels at a stride of C, so that
// consecutive threads read consecutive channels.
template <PoolKind K, class T>
__global__ void global_hwc_kernel(T const* __restrict__ x, T* __restrict__ y, int64_t channels,
                                  int64_t pixels, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x) {
    int64_t c = e % channels, n = e / channels;
    T const* p = x + n * pixels * channels + c;
    float acc = K == PoolKind::Max ? -INFINITY : 0.0f;
    for (int64_t i = 0; i < pixels; ++i) {
      float v = load_float(p[i * channels]);
      acc = K == PoolKind::Max ? fmaxf(acc, v) : acc + v;
    }
    y[e] = store_float<T>(K == PoolKind::Max ? acc : acc / static_cast<float>(pixels));
  }
}

template <PoolKind K, class T>
void global_cuda(Tensor const& x, Tensor const& y, cudaStream_t stream) {
  Dims const& shape = x.shape;
  int64_t rows = shape[0] * shape[1];
  if (rows == 0) return;
  int64_t inner = shape.numel() / rows;
  auto const* xp = static_cast<T const*>(x.data);
  auto* yp = static_cast<T*>(y.data);
  if (x.format == TensorFormat::HWC) {  // (N, C, 1, 1): the same bytes in either layout
    global_hwc_kernel<K, T><<<grid_for(rows, 256), 256, 0, stream>>>(xp, yp, shape[1], inner, rows);
  } else {
    // The grid's x extent holds up to 2^31 - 1 rows.
    global_kernel<K, T><<<static_cast<unsigned>(rows), 256, 0, stream>>>(xp, yp, inner);
  }
  QDP_CUDA_CHECK(cudaGetLastError());
}
#endif

}  // namespace

QDP_PLUGIN(maxpool, "onnx::MaxPool")
    .desc([](TensorDesc const& x, MaxPoolAttrs const& a) { return maxpool_desc(x, a); })
    .autotune(window_pool_combinations)
    .impl<qdp::cpu, float, half, bfloat16, int8_t, uint8_t>([]<class T>(In<T> x, Out<T> y,
                                                                        MaxPoolAttrs const& a) {
      Window w = pool_window("onnx::MaxPool", a, x.rank() - 2);
      pool_cpu_any<PoolKind::Max, T>(pool_geom(w, x.shape(), y.shape()), x.tensor(), y.tensor(),
                                     false);
    })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16, int8_t, uint8_t>(
        []<class T>(In<T> x, Out<T> y, MaxPoolAttrs const& a, Stream s) {
          Window w = pool_window("onnx::MaxPool", a, x.rank() - 2);
          pool_cuda<PoolKind::Max, T>(pool_geom(w, x.shape(), y.shape()), x.tensor(), y.tensor(),
                                      false, native(s));
        })
#endif
    ;

QDP_PLUGIN(avgpool, "onnx::AveragePool")
    .desc([](TensorDesc const& x, AvgPoolAttrs const& a) { return avgpool_desc(x, a); })
    .autotune(window_pool_combinations)
    .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, Out<T> y, AvgPoolAttrs const& a) {
      Window w = pool_window("onnx::AveragePool", a, x.rank() - 2);
      pool_cpu_any<PoolKind::Avg, T>(pool_geom(w, x.shape(), y.shape()), x.tensor(), y.tensor(),
                                     a.count_include_pad == 1);
    })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>([]<class T>(In<T> x, Out<T> y,
                                                               AvgPoolAttrs const& a, Stream s) {
      Window w = pool_window("onnx::AveragePool", a, x.rank() - 2);
      pool_cuda<PoolKind::Avg, T>(pool_geom(w, x.shape(), y.shape()), x.tensor(), y.tensor(),
                                  a.count_include_pad == 1, native(s));
    })
#endif
    ;

QDP_PLUGIN(global_avgpool, "onnx::GlobalAveragePool")
    .desc([](TensorDesc const& x) { return global_desc("onnx::GlobalAveragePool", x); })
    .autotune(global_pool_combinations)
    .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, Out<T> y) {
      global_cpu<PoolKind::Avg, T>(x.tensor(), y.tensor());
    })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>([]<class T>(In<T> x, Out<T> y, Stream s) {
      global_cuda<PoolKind::Avg, T>(x.tensor(), y.tensor(), native(s));
    })
#endif
    ;

QDP_PLUGIN(global_maxpool, "onnx::GlobalMaxPool")
    .desc([](TensorDesc const& x) { return global_desc("onnx::GlobalMaxPool", x); })
    .autotune(global_pool_combinations)
    .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, Out<T> y) {
      global_cpu<PoolKind::Max, T>(x.tensor(), y.tensor());
    })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>([]<class T>(In<T> x, Out<T> y, Stream s) {
      global_cuda<PoolKind::Max, T>(x.tensor(), y.tensor(), native(s));
    })
#endif
    ;

}  // namespace qdp::ops::nn
