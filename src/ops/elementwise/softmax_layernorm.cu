// Row-wise operators: onnx::Softmax and LogSoftmax (opset 13: over one axis), qdp::ScaleMaskSoftmax
// (softmax of X * scale + Mask over the last axis, fused by the builder), LayerNormalization (opset
// 17: over the axes from `axis` on; output Y only) and qdp::AddLayerNorm (LayerNormalization of a
// sum, fused by the builder). Float types, float accumulation.
#include <type_traits>
#include <vector>

#include "ops/elementwise/elementwise.hpp"

namespace qdp::ops::elementwise {
namespace {

struct SoftmaxAttrs {
  int64_t axis = -1;
};
QDP_ATTRS(SoftmaxAttrs, axis);

// ---- CPU ------------------------------------------------------------------------------------
// One softmax line: its n values from load(j), written to y[j * step]. Each exponential is
// computed once (exp_nonpositive, vectorized), kept in the caller's row of floats.
template <bool Log, class T, class Load>
[[gnu::always_inline]] inline void softmax_line(Load const& load, T* y, int64_t n, int64_t step,
                                                float* v, float* exps) {
  for (int64_t j = 0; j < n; ++j) v[j] = load(j);
  float const m = max_of(v, n);
  for (int64_t j = 0; j < n; ++j) v[j] -= m;
  // The exponentials apart from their sum: a loop without a float reduction vectorizes.
  float* e = Log ? exps : v;
  for (int64_t j = 0; j < n; ++j) e[j] = exp_nonpositive(v[j]);
  float const sum = sum_of(n, [e](int64_t j) { return e[j]; });
  if (Log) {
    float log_sum = std::log(sum);
    for (int64_t j = 0; j < n; ++j) y[j * step] = static_cast<T>(v[j] - log_sum);
  } else {
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; ++j) y[j * step] = static_cast<T>(v[j] * inv);
  }
}

// Softmax of the `axis` elements at x[o * axis * inner + j * inner + i], j over the axis.
template <class T, bool Log>
QDP_CPU_KERNEL void softmax_cpu(T const* x, T* y, AxisSplit s) {
  int64_t lines = s.outer * s.inner;
#pragma omp parallel if (lines * s.axis >= kParallelThreshold)
  {
    std::vector<float> row(static_cast<size_t>(s.axis)), exps(Log ? row.size() : 0);
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      int64_t base = (line / s.inner) * s.axis * s.inner + line % s.inner;
      if (s.inner == 1) {  // the last axis: rows the loops read and write in vectors
        auto load = [xr = x + base](int64_t j) { return static_cast<float>(xr[j]); };
        softmax_line<Log>(load, y + base, s.axis, 1, row.data(), exps.data());
      } else {
        auto load = [&](int64_t j) { return static_cast<float>(x[base + j * s.inner]); };
        softmax_line<Log>(load, y + base, s.axis, s.inner, row.data(), exps.data());
      }
    }
  }
}

// Where each row of X's last axis finds its Mask (qdp::ScaleMaskSoftmax): X's leading extents,
// the mask's strides over them (0 where it broadcasts), and its step along a row (1, or 0 for a
// mask of one column).
struct RowMask {
  int rank = 0;
  int64_t dims[kMaxRank] = {}, strides[kMaxRank] = {};
  int64_t col_stride = 0;
  QDP_HD int64_t offset(int64_t row) const {
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      off += (row % dims[d]) * strides[d];
      row /= dims[d];
    }
    return off;
  }
};

// y = softmax(x * scale + mask) over x's rows of `cols` (mask null: softmax(x * scale)).
template <class T>
QDP_CPU_KERNEL void scale_mask_softmax_cpu(T const* x, T const* mask, RowMask m, float scale, T* y,
                                           int64_t rows, int64_t cols) {
#pragma omp parallel if (rows * cols >= kParallelThreshold)
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      T const* xr = x + r * cols;
      if (mask) {
        T const* mr = mask + m.offset(r);
        auto load = [&](int64_t j) {
          return static_cast<float>(xr[j]) * scale + static_cast<float>(mr[j * m.col_stride]);
        };
        softmax_line<false>(load, y + r * cols, cols, 1, row.data(), nullptr);
      } else {
        auto load = [&](int64_t j) { return static_cast<float>(xr[j]) * scale; };
        softmax_line<false>(load, y + r * cols, cols, 1, row.data(), nullptr);
      }
    }
  }
}

#ifdef __CUDACC__
// ---- CUDA -----------------------------------------------------------------------------------
// The rows the kernels below read (inner == 1), each as a function of its column: X's own, or
// X * scale + Mask (qdp::ScaleMaskSoftmax).
template <class T>
struct PlainRows {
  T const* x;
  int64_t cols;
  struct Row {
    T const* x;
    __device__ float operator()(int64_t j) const { return Num<T>::load(x[j]); }
  };
  __device__ Row at(int64_t r) const { return {x + r * cols}; }
};
template <class T>
struct ScaledMaskedRows {
  T const* x;
  T const* mask;  // null: no mask
  RowMask m;
  float scale;
  int64_t cols;
  struct Row {
    T const *x, *mask;
    int64_t step;
    float scale;
    __device__ float operator()(int64_t j) const {
      float v = Num<T>::load(x[j]) * scale;
      return mask ? v + Num<T>::load(mask[j * step]) : v;
    }
  };
  __device__ Row at(int64_t r) const {
    return {x + r * cols, mask ? mask + m.offset(r) : nullptr, m.col_stride, scale};
  }
};

// One block per row, the block's threads striding over it.
template <class T, bool Log, class Rows>
__global__ void softmax_row_kernel(Rows rows, T* __restrict__ y, int64_t cols) {
  __shared__ float scratch[32];
  auto const row = rows.at(blockIdx.x);
  T* out = y + static_cast<int64_t>(blockIdx.x) * cols;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, row(j));
  m = block_reduce(m, MaxOp{}, -INFINITY, scratch);
  float sum = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += __expf(row(j) - m);
  sum = block_reduce(sum, SumOp{}, 0.0f, scratch);
  float log_sum = logf(sum), inv = 1.0f / sum;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = row(j) - m;
    out[j] = Num<T>::store(Log ? v - log_sum : __expf(v) * inv);
  }
}
// Rows of at most 32 * Held elements (attention's scores): a warp per row, its values held in
// registers (read once, one exponential each), kRowsPerBlock rows per block.
inline constexpr int kRowsPerBlock = 4;
template <class T, bool Log, int Held, class Rows>
__global__ void softmax_warp_kernel(Rows rows_of, T* __restrict__ y, int64_t rows, int cols) {
  int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  if (r >= rows) return;  // the whole warp
  int lane = static_cast<int>(threadIdx.x % 32);
  auto const in = rows_of.at(r);
  T* out = y + r * cols;
  float v[Held];
  float m = -INFINITY;
#pragma unroll
  for (int k = 0; k < Held; ++k) {
    int j = lane + 32 * k;
    v[k] = j < cols ? in(j) : -INFINITY;
    m = fmaxf(m, v[k]);
  }
  m = warp_reduce(m, MaxOp{});
  float sum = 0;
#pragma unroll
  for (int k = 0; k < Held; ++k) {
    v[k] -= m;
    float e = lane + 32 * k < cols ? __expf(v[k]) : 0.0f;
    sum += e;
    if (!Log) v[k] = e;
  }
  sum = warp_reduce(sum, SumOp{});
  float log_sum = logf(sum), inv = 1.0f / sum;
#pragma unroll
  for (int k = 0; k < Held; ++k)
    if (int j = lane + 32 * k; j < cols) out[j] = Num<T>::store(Log ? v[k] - log_sum : v[k] * inv);
}
// Softmax of `n_rows` contiguous rows of `cols`: a warp per row up to 256 columns, else a block.
template <class T, bool Log, class Rows>
void softmax_rows_cuda(Rows const& rows, T* y, int64_t n_rows, int64_t cols, cudaStream_t stream,
                       std::string_view op) {
  if (n_rows * cols == 0) return;
  if (cols <= 32 * 8) {
    auto blocks = (n_rows + kRowsPerBlock - 1) / kRowsPerBlock;
    if (blocks > 2147483647) fail("{}: {} rows are too many for one launch", op, n_rows);
    auto launch = [&](auto held) {
      softmax_warp_kernel<T, Log, decltype(held)::value>
          <<<static_cast<unsigned>(blocks), 32 * kRowsPerBlock, 0, stream>>>(
              rows, y, n_rows, static_cast<int>(cols));
    };
    if (cols <= 32)
      launch(std::integral_constant<int, 1>{});
    else if (cols <= 64)
      launch(std::integral_constant<int, 2>{});
    else if (cols <= 128)
      launch(std::integral_constant<int, 4>{});
    else
      launch(std::integral_constant<int, 8>{});
  } else {
    if (n_rows > 2147483647) fail("{}: {} rows are too many for one launch", op, n_rows);
    softmax_row_kernel<T, Log>
        <<<static_cast<unsigned>(n_rows), block_for_row(cols), 0, stream>>>(rows, y, cols);
  }
  QDP_CUDA_CHECK(cudaGetLastError());
}
// inner > 1: a thread per (outer, inner) line; neighbouring threads read neighbouring elements.
template <class T, bool Log>
__global__ void softmax_strided_kernel(T const* __restrict__ x, T* __restrict__ y, AxisSplit s) {
  int64_t lines = s.outer * s.inner;
  for (int64_t line = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; line < lines;
       line += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t base = (line / s.inner) * s.axis * s.inner + line % s.inner;
    float m = -INFINITY;
    for (int64_t j = 0; j < s.axis; ++j) m = fmaxf(m, Num<T>::load(x[base + j * s.inner]));
    float sum = 0;
    for (int64_t j = 0; j < s.axis; ++j) sum += __expf(Num<T>::load(x[base + j * s.inner]) - m);
    float log_sum = logf(sum), inv = 1.0f / sum;
    for (int64_t j = 0; j < s.axis; ++j) {
      float v = Num<T>::load(x[base + j * s.inner]) - m;
      y[base + j * s.inner] = Num<T>::store(Log ? v - log_sum : __expf(v) * inv);
    }
  }
}
template <class T, bool Log>
void softmax_cuda(T const* x, T* y, AxisSplit s, cudaStream_t stream) {
  if (s.inner == 1) {
    softmax_rows_cuda<T, Log>(PlainRows<T>{x, s.axis}, y, s.outer, s.axis, stream,
                              Log ? "LogSoftmax" : "Softmax");
    return;
  }
  if (s.outer * s.axis * s.inner == 0) return;
  softmax_strided_kernel<T, Log><<<grid_for(s.outer * s.inner), kBlock, 0, stream>>>(x, y, s);
  QDP_CUDA_CHECK(cudaGetLastError());
}
#endif

template <bool Log>
Registration softmax(std::string id, std::string_view op) {
  return define(std::move(id))
      .desc([op](TensorDesc const& x, SoftmaxAttrs const& a) {
        check_dtype(x.dtype, kFloatTypes, op, "input");
        normalize_axis(a.axis, x.rank(), fmt::format("{}: attribute axis", op));
        return from_shape_expr(x.shape_expr, x.dtype);
      })
      .autotune(FloatTypes<1>{})
      .template impl<qdp::cpu, float, half, bfloat16>(
          []<class T>(In<T> x, Out<T> y, SoftmaxAttrs const& a) {
            softmax_cpu<T, Log>(x.data(), y.data(),
                                split_at(x.shape(), normalize_axis(a.axis, x.rank())));
          })
#ifdef __CUDACC__
      .template impl<qdp::cuda, float, __half, __nv_bfloat16>(
          []<class T>(In<T> x, Out<T> y, SoftmaxAttrs const& a, Stream s) {
            softmax_cuda<T, Log>(x.data(), y.data(),
                                 split_at(x.shape(), normalize_axis(a.axis, x.rank())), native(s));
          })
#endif
      ;
}

[[maybe_unused]] static Registration const softmax_plugin =
    softmax<false>("onnx::Softmax", "Softmax");
[[maybe_unused]] static Registration const log_softmax_plugin =
    softmax<true>("onnx::LogSoftmax", "LogSoftmax");

// Rows = prod(shape[:axis]), cols = prod(shape[axis:]).
std::pair<int64_t, int64_t> rows_cols(Dims const& shape, int axis) {
  int64_t rows = 1, cols = 1;
  for (int d = 0; d < shape.rank(); ++d) (d < axis ? rows : cols) *= shape[d];
  return {rows, cols};
}

// An input of `op` that must have X's element type.
void check_type_of_x(std::string_view op, std::string_view input, TensorDesc const& d,
                     TensorDesc const& x) {
  if (d.dtype != x.dtype)
    fail("{}: input {} is {}, it must have X's type {}", op, input, name(d.dtype), name(x.dtype));
}

// ---- qdp::ScaleMaskSoftmax ------------------------------------------------------------------
// softmax(X * scale + Mask) over X's last axis, Mask broadcast to X: what the builder makes of
// attention's scores, MatMul -> Mul (or Div) by a scalar -> Add of the mask -> Softmax. X is read
// once, where the unfused graph writes and reads the scores twice more. Mask is optional (an
// omitted input): softmax(X * scale), a scaled Softmax without a mask.
struct ScaleMaskSoftmaxAttrs {
  float scale = 1.0f;
};
QDP_ATTRS(ScaleMaskSoftmaxAttrs, scale);
constexpr char kScaleMaskSoftmax[] = "qdp::ScaleMaskSoftmax";

// The mask's rows, or none for an omitted mask.
RowMask row_mask(Dims const& x, Tensor const& mask_tensor) {
  if (absent(mask_tensor)) return {};
  Dims const& mask = mask_tensor.shape;
  if (!broadcasts_to(mask, x))
    fail("{}: Mask has shape {}, which does not broadcast to X's shape {}", kScaleMaskSoftmax,
         to_string(mask), to_string(x));
  int shift = x.rank() - mask.rank();
  int64_t strides[kMaxRank] = {};  // the mask's, over X's dimensions
  int64_t step = 1;
  for (int i = mask.rank() - 1; i >= 0; --i) {
    strides[shift + i] = mask[i] == 1 ? 0 : step;
    step *= mask[i];
  }
  RowMask m;
  m.rank = x.rank() - 1;
  for (int d = 0; d < m.rank; ++d) m.dims[d] = x[d], m.strides[d] = strides[d];
  m.col_stride = strides[x.rank() - 1];
  return m;
}

// The mask's elements, or null for an omitted one. Its type is X's (the desc checks it).
template <class T>
T const* mask_data(Tensor const& mask) {
  return absent(mask) ? nullptr : static_cast<T const*>(mask.data);
}

[[maybe_unused]] static Registration const scale_mask_softmax =
    define(kScaleMaskSoftmax)
        .desc([](TensorDesc const& x, TensorDesc const& mask, ScaleMaskSoftmaxAttrs const&) {
          check_dtype(x.dtype, kFloatTypes, kScaleMaskSoftmax, "X");
          if (x.rank() == 0) fail("{}: X is a scalar; it needs a last axis", kScaleMaskSoftmax);
          if (absent(mask)) return from_shape_expr(x.shape_expr, x.dtype);
          check_type_of_x(kScaleMaskSoftmax, "Mask", mask, x);
          if (!may_broadcast_to(mask, x))
            fail(
                "{}: Mask must broadcast to X's shape (the builder fuses an Add whose sum has X's "
                "shape)",
                kScaleMaskSoftmax);
          return from_shape_expr(x.shape_expr, x.dtype);
        })
        .autotune(FloatTypes<2>{})
        .impl<qdp::cpu, float, half, bfloat16>(
            []<class T>(In<T> x, In<> mask, Out<T> y, ScaleMaskSoftmaxAttrs const& a) {
              RowMask m = row_mask(x.shape(), mask.tensor());
              auto [rows, cols] = rows_cols(x.shape(), x.rank() - 1);
              scale_mask_softmax_cpu(x.data(), mask_data<T>(mask.tensor()), m, a.scale, y.data(),
                                     rows, cols);
            })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, In<> mask, Out<T> y, ScaleMaskSoftmaxAttrs const& a, Stream s) {
              RowMask m = row_mask(x.shape(), mask.tensor());
              auto [rows, cols] = rows_cols(x.shape(), x.rank() - 1);
              softmax_rows_cuda<T, false>(
                  ScaledMaskedRows<T>{x.data(), mask_data<T>(mask.tensor()), m, a.scale, cols},
                  y.data(), rows, cols, native(s), kScaleMaskSoftmax);
            })
#endif
    ;

// ---- LayerNormalization ---------------------------------------------------------------------
struct LayerNormAttrs {
  int64_t axis = -1;
  float epsilon = 1e-5f;
  int64_t stash_type = 1;
};
QDP_ATTRS(LayerNormAttrs, axis, epsilon, stash_type);

// Scale and B hold one value per normalized element: numpy-broadcast to shape[axis:], which
// in practice (and in every ONNX test) is that very shape; a smaller one would need strides.
void check_param(Tensor const& p, int64_t cols, std::string_view which) {
  if (p.numel() != cols)
    fail("LayerNormalization: input {} has {} elements, the normalized shape {}", which, p.numel(),
         cols);
}

// Y = LayerNorm(X [+ skip]) row by row; the row (with skip added: qdp::AddLayerNorm) is read
// once into floats, then its mean, the variance around it (two passes, no cancellation) and Y.
template <class T>
QDP_CPU_KERNEL void layer_norm_cpu(T const* x, T const* skip, T const* scale, T const* bias, T* y,
                                   int64_t rows, int64_t cols, float eps) {
#pragma omp parallel if (rows * cols >= kParallelThreshold)
  {
    std::vector<float> buffer(static_cast<size_t>(cols));
    float* v = buffer.data();
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      T const* row = x + r * cols;
      if (skip) {
        T const* s = skip + r * cols;
        for (int64_t j = 0; j < cols; ++j)
          v[j] = static_cast<float>(row[j]) + static_cast<float>(s[j]);
      } else {
        for (int64_t j = 0; j < cols; ++j) v[j] = static_cast<float>(row[j]);
      }
      float const mean = sum_of(cols, [v](int64_t j) { return v[j]; }) / static_cast<float>(cols);
      float const var =
          sum_of(cols, [v, mean](int64_t j) { return (v[j] - mean) * (v[j] - mean); });
      float inv = 1.0f / std::sqrt(var / static_cast<float>(cols) + eps);
      T* out = y + r * cols;
      if (bias) {
        for (int64_t j = 0; j < cols; ++j)
          out[j] = static_cast<T>((v[j] - mean) * inv * static_cast<float>(scale[j]) +
                                  static_cast<float>(bias[j]));
      } else {
        for (int64_t j = 0; j < cols; ++j)
          out[j] = static_cast<T>((v[j] - mean) * inv * static_cast<float>(scale[j]));
      }
    }
  }
}

#ifdef __CUDACC__
// One block per row: mean, then the variance around it (two passes, no cancellation), then Y.
// Rows of at most kLayerNormHeld * blockDim elements (4096 at 1024 threads; block_for_row gives
// cols / 4 threads) stay in registers, so X and skip are read once; longer ones are read again
// for each pass.
inline constexpr int kLayerNormHeld = 4;

template <class T, bool Held>
__global__ void layer_norm_kernel(T const* __restrict__ x, T const* __restrict__ skip,
                                  T const* __restrict__ scale, T const* __restrict__ bias,
                                  T* __restrict__ y, int64_t cols, float eps) {
  __shared__ float scratch[32];
  int64_t const base = static_cast<int64_t>(blockIdx.x) * cols;
  auto load = [&](int64_t j) {
    float v = Num<T>::load(x[base + j]);
    return skip ? v + Num<T>::load(skip[base + j]) : v;
  };
  float held[Held ? kLayerNormHeld : 1];
  float sum = 0;
  if constexpr (Held) {
#pragma unroll
    for (int k = 0; k < kLayerNormHeld; ++k) {
      int64_t j = threadIdx.x + int64_t{k} * blockDim.x;
      held[k] = j < cols ? load(j) : 0.0f;
      sum += held[k];
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += load(j);
  }
  float mean = block_reduce(sum, SumOp{}, 0.0f, scratch) / static_cast<float>(cols);
  float sq = 0;
  if constexpr (Held) {
#pragma unroll
    for (int k = 0; k < kLayerNormHeld; ++k)
      if (threadIdx.x + int64_t{k} * blockDim.x < cols) sq += (held[k] - mean) * (held[k] - mean);
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float d = load(j) - mean;
      sq += d * d;
    }
  }
  float inv = rsqrtf(block_reduce(sq, SumOp{}, 0.0f, scratch) / static_cast<float>(cols) + eps);
  auto store = [&](int64_t j, float v) {
    v = (v - mean) * inv * Num<T>::load(scale[j]);
    if (bias) v += Num<T>::load(bias[j]);
    y[base + j] = Num<T>::store(v);
  };
  if constexpr (Held) {
#pragma unroll
    for (int k = 0; k < kLayerNormHeld; ++k)
      if (int64_t j = threadIdx.x + int64_t{k} * blockDim.x; j < cols) store(j, held[k]);
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) store(j, load(j));
  }
}

template <class T>
void layer_norm_cuda(T const* x, T const* skip, T const* scale, T const* bias, T* y, int64_t rows,
                     int64_t cols, float eps, cudaStream_t stream, std::string_view op) {
  if (rows * cols == 0) return;
  if (rows > 2147483647) fail("{}: {} rows are too many for one launch", op, rows);
  int threads = block_for_row(cols);
  auto blocks = static_cast<unsigned>(rows);
  if (cols <= int64_t{kLayerNormHeld} * threads)
    layer_norm_kernel<T, true><<<blocks, threads, 0, stream>>>(x, skip, scale, bias, y, cols, eps);
  else
    layer_norm_kernel<T, false><<<blocks, threads, 0, stream>>>(x, skip, scale, bias, y, cols, eps);
  QDP_CUDA_CHECK(cudaGetLastError());
}
#endif

// onnx::LayerNormalization, and qdp::AddLayerNorm: LayerNormalization of X + Skip (same shape),
// what the builder makes of a transformer's residual Add and the norm that alone reads it.
void check_layer_norm(TensorDesc const& x, TensorDesc const& scale, TensorDesc const& bias,
                      LayerNormAttrs const& a, std::string_view op) {
  check_dtype(x.dtype, kFloatTypes, op, "X");
  normalize_axis(a.axis, x.rank(), fmt::format("{}: attribute axis", op));
  if (a.stash_type != 1)
    fail("{}: attribute stash_type is {}; allowed: 1 (FLOAT: statistics are computed in float)", op,
         a.stash_type);
  check_type_of_x(op, "Scale", scale, x);
  if (!absent(bias)) check_type_of_x(op, "B", bias, x);
}

constexpr char kAddLayerNorm[] = "qdp::AddLayerNorm";

// What the impls of both launch: X's rows and columns, Scale and B checked against the columns.
template <class T>
struct LayerNormRows {
  T const *x, *skip, *scale, *bias;  // skip, bias: null when absent
  T* y;
  int64_t rows, cols;
};
template <class T>
LayerNormRows<T> layer_norm_rows(Tensor const& x, Tensor const* skip, Tensor const& scale,
                                 Tensor const& bias, Tensor const& y, LayerNormAttrs const& a) {
  auto [rows, cols] = rows_cols(x.shape, normalize_axis(a.axis, x.rank()));
  check_param(scale, cols, "Scale");
  bool has_bias = !absent(bias);
  if (has_bias) check_param(bias, cols, "B");
  if (skip && skip->shape != x.shape)
    fail("{}: Skip has shape {} but X has shape {}; they must be equal", kAddLayerNorm,
         to_string(skip->shape), to_string(x.shape));
  return {static_cast<T const*>(x.data),
          skip ? static_cast<T const*>(skip->data) : nullptr,
          static_cast<T const*>(scale.data),
          has_bias ? static_cast<T const*>(bias.data) : nullptr,
          static_cast<T*>(y.data),
          rows,
          cols};
}
template <class T>
void layer_norm_cpu(LayerNormRows<T> const& r, float eps) {
  layer_norm_cpu(r.x, r.skip, r.scale, r.bias, r.y, r.rows, r.cols, eps);
}
#ifdef __CUDACC__
template <class T>
void layer_norm_cuda(LayerNormRows<T> const& r, float eps, Stream s, std::string_view op) {
  layer_norm_cuda(r.x, r.skip, r.scale, r.bias, r.y, r.rows, r.cols, eps, native(s), op);
}
#endif

[[maybe_unused]] static Registration const layer_norm =
    define("onnx::LayerNormalization")
        .desc([](TensorDesc const& x, TensorDesc const& scale, TensorDesc const& bias,
                 LayerNormAttrs const& a) {
          check_layer_norm(x, scale, bias, a, "LayerNormalization");
          return from_shape_expr(x.shape_expr, x.dtype);
        })
        .autotune(FloatTypes<3>{})
        .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, In<T> scale, In<> bias,
                                                           Out<T> y, LayerNormAttrs const& a) {
          layer_norm_cpu(
              layer_norm_rows<T>(x.tensor(), nullptr, scale.tensor(), bias.tensor(), y.tensor(), a),
              a.epsilon);
        })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, In<T> scale, In<> bias, Out<T> y, LayerNormAttrs const& a,
                        Stream s) {
              layer_norm_cuda(layer_norm_rows<T>(x.tensor(), nullptr, scale.tensor(), bias.tensor(),
                                                 y.tensor(), a),
                              a.epsilon, s, "LayerNormalization");
            })
#endif
    ;

[[maybe_unused]] static Registration const add_layer_norm =
    define(kAddLayerNorm)
        .desc([](TensorDesc const& x, TensorDesc const& skip, TensorDesc const& scale,
                 TensorDesc const& bias, LayerNormAttrs const& a) {
          check_layer_norm(x, scale, bias, a, kAddLayerNorm);
          check_type_of_x(kAddLayerNorm, "Skip", skip, x);
          if (!same_known_shape(skip, x))
            fail(
                "{}: Skip and X must have one shape (the builder fuses an Add that does not "
                "broadcast)",
                kAddLayerNorm);
          return from_shape_expr(x.shape_expr, x.dtype);
        })
        .autotune(FloatTypes<4>{})
        .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, In<T> skip, In<T> scale,
                                                           In<> bias, Out<T> y,
                                                           LayerNormAttrs const& a) {
          layer_norm_cpu(layer_norm_rows<T>(x.tensor(), &skip.tensor(), scale.tensor(),
                                            bias.tensor(), y.tensor(), a),
                         a.epsilon);
        })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, In<T> skip, In<T> scale, In<> bias, Out<T> y,
                        LayerNormAttrs const& a, Stream s) {
              layer_norm_cuda(layer_norm_rows<T>(x.tensor(), &skip.tensor(), scale.tensor(),
                                                 bias.tensor(), y.tensor(), a),
                              a.epsilon, s, kAddLayerNorm);
            })
#endif
    ;

}  // namespace
}  // namespace qdp::ops::elementwise
