// Row-wise operators: onnx::Softmax and LogSoftmax (opset 13: over one axis) and
// LayerNormalization (opset 17: over the axes from `axis` on; output Y only). Float types,
// float accumulation.
#include <vector>

#include "ops/elementwise/elementwise.hpp"

namespace qdp::ops::elementwise {
namespace {

struct SoftmaxAttrs {
  int64_t axis = -1;
};
QDP_ATTRS(SoftmaxAttrs, axis);

// ---- CPU ------------------------------------------------------------------------------------
// Softmax of the `axis` elements at x[o * axis * inner + j * inner + i], j over the axis. Each
// exponential is computed once (exp_nonpositive, vectorized), kept in a per-thread row of floats.
template <class T, bool Log>
QDP_CPU_KERNEL void softmax_cpu(T const* x, T* y, AxisSplit s) {
  int64_t lines = s.outer * s.inner;
#pragma omp parallel if (lines * s.axis >= kParallelThreshold)
  {
    std::vector<float> row(static_cast<size_t>(s.axis)), exps(Log ? row.size() : 0);
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      int64_t base = (line / s.inner) * s.axis * s.inner + line % s.inner;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < s.axis; ++j) {
        row[static_cast<size_t>(j)] = static_cast<float>(x[base + j * s.inner]);
        m = std::max(m, row[static_cast<size_t>(j)]);
      }
      float* v = row.data();
      for (int64_t j = 0; j < s.axis; ++j) v[j] -= m;
      // The exponentials apart from their sum: a loop without a float reduction vectorizes.
      std::vector<float>& e = Log ? exps : row;
      for (int64_t j = 0; j < s.axis; ++j) e[static_cast<size_t>(j)] = exp_nonpositive(v[j]);
      float sum = 0;
      for (int64_t j = 0; j < s.axis; ++j) sum += e[static_cast<size_t>(j)];
      if (Log) {
        float log_sum = std::log(sum);
        for (int64_t j = 0; j < s.axis; ++j) y[base + j * s.inner] = static_cast<T>(v[j] - log_sum);
      } else {
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < s.axis; ++j)
          y[base + j * s.inner] = static_cast<T>(row[static_cast<size_t>(j)] * inv);
      }
    }
  }
}

#ifdef __CUDACC__
// ---- CUDA -----------------------------------------------------------------------------------
// inner == 1: one block per contiguous row, the block's threads striding over it.
template <class T, bool Log>
__global__ void softmax_row_kernel(T const* __restrict__ x, T* __restrict__ y, int64_t cols) {
  __shared__ float scratch[32];
  T const* row = x + static_cast<int64_t>(blockIdx.x) * cols;
  T* out = y + static_cast<int64_t>(blockIdx.x) * cols;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, Num<T>::load(row[j]));
  m = block_reduce(m, MaxOp{}, -INFINITY, scratch);
  float sum = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += __expf(Num<T>::load(row[j]) - m);
  sum = block_reduce(sum, SumOp{}, 0.0f, scratch);
  float log_sum = logf(sum), inv = 1.0f / sum;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = Num<T>::load(row[j]) - m;
    out[j] = Num<T>::store(Log ? v - log_sum : __expf(v) * inv);
  }
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
  if (s.outer * s.axis * s.inner == 0) return;
  if (s.inner == 1) {
    if (s.outer > 2147483647) fail("Softmax: {} rows are too many for one launch", s.outer);
    softmax_row_kernel<T, Log>
        <<<static_cast<unsigned>(s.outer), block_for_row(s.axis), 0, stream>>>(x, y, s.axis);
  } else {
    softmax_strided_kernel<T, Log><<<grid_for(s.outer * s.inner), kBlock, 0, stream>>>(x, y, s);
  }
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

// ---- LayerNormalization ---------------------------------------------------------------------
struct LayerNormAttrs {
  int64_t axis = -1;
  float epsilon = 1e-5f;
  int64_t stash_type = 1;
};
QDP_ATTRS(LayerNormAttrs, axis, epsilon, stash_type);

// Rows = prod(shape[:axis]), cols = prod(shape[axis:]).
std::pair<int64_t, int64_t> rows_cols(Dims const& shape, int axis) {
  int64_t rows = 1, cols = 1;
  for (int d = 0; d < shape.rank(); ++d) (d < axis ? rows : cols) *= shape[d];
  return {rows, cols};
}

// Scale and B hold one value per normalized element: numpy-broadcast to shape[axis:], which
// in practice (and in every ONNX test) is that very shape; a smaller one would need strides.
void check_param(Tensor const& p, int64_t cols, std::string_view which) {
  if (p.numel() != cols)
    fail("LayerNormalization: input {} has {} elements, the normalized shape {}", which, p.numel(),
         cols);
}

template <class T>
QDP_CPU_KERNEL void layer_norm_cpu(T const* x, T const* scale, T const* bias, T* y, int64_t rows,
                                   int64_t cols, float eps) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    T const* row = x + r * cols;
    float mean = 0;
    for (int64_t j = 0; j < cols; ++j) mean += static_cast<float>(row[j]);
    mean /= static_cast<float>(cols);
    float var = 0;
    for (int64_t j = 0; j < cols; ++j) {
      float d = static_cast<float>(row[j]) - mean;
      var += d * d;
    }
    float inv = 1.0f / std::sqrt(var / static_cast<float>(cols) + eps);
    for (int64_t j = 0; j < cols; ++j) {
      float v = (static_cast<float>(row[j]) - mean) * inv * static_cast<float>(scale[j]);
      if (bias) v += static_cast<float>(bias[j]);
      y[r * cols + j] = static_cast<T>(v);
    }
  }
}

#ifdef __CUDACC__
// One block per row: mean, then the variance around it (two passes, no cancellation), then Y.
template <class T>
__global__ void layer_norm_kernel(T const* __restrict__ x, T const* __restrict__ scale,
                                  T const* __restrict__ bias, T* __restrict__ y, int64_t cols,
                                  float eps) {
  __shared__ float scratch[32];
  T const* row = x + static_cast<int64_t>(blockIdx.x) * cols;
  T* out = y + static_cast<int64_t>(blockIdx.x) * cols;
  float sum = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += Num<T>::load(row[j]);
  float mean = block_reduce(sum, SumOp{}, 0.0f, scratch) / static_cast<float>(cols);
  float sq = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float d = Num<T>::load(row[j]) - mean;
    sq += d * d;
  }
  float inv = rsqrtf(block_reduce(sq, SumOp{}, 0.0f, scratch) / static_cast<float>(cols) + eps);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = (Num<T>::load(row[j]) - mean) * inv * Num<T>::load(scale[j]);
    if (bias) v += Num<T>::load(bias[j]);
    out[j] = Num<T>::store(v);
  }
}
#endif

[[maybe_unused]] static Registration const layer_norm =
    define("onnx::LayerNormalization")
        .desc([](TensorDesc const& x, TensorDesc const& scale, TensorDesc const& bias,
                 LayerNormAttrs const& a) {
          check_dtype(x.dtype, kFloatTypes, "LayerNormalization", "X");
          normalize_axis(a.axis, x.rank(), "LayerNormalization: attribute axis");
          if (a.stash_type != 1)
            fail(
                "LayerNormalization: attribute stash_type is {}; allowed: 1 (FLOAT: statistics "
                "are computed in float)",
                a.stash_type);
          if (scale.dtype != x.dtype)
            fail("LayerNormalization: input Scale is {}, it must have X's type {}",
                 name(scale.dtype), name(x.dtype));
          if (!absent(bias) && bias.dtype != x.dtype)
            fail("LayerNormalization: input B is {}, it must have X's type {}", name(bias.dtype),
                 name(x.dtype));
          return from_shape_expr(x.shape_expr, x.dtype);
        })
        .autotune(FloatTypes<3>{})
        .impl<qdp::cpu, float, half, bfloat16>(
            []<class T>(In<T> x, In<T> scale, In<> bias, Out<T> y, LayerNormAttrs const& a) {
              auto [rows, cols] = rows_cols(x.shape(), normalize_axis(a.axis, x.rank()));
              check_param(scale.tensor(), cols, "Scale");
              bool has_bias = !absent(bias.tensor());
              if (has_bias) check_param(bias.tensor(), cols, "B");
              layer_norm_cpu(x.data(), scale.data(),
                             has_bias ? static_cast<T const*>(bias.tensor().data) : nullptr,
                             y.data(), rows, cols, a.epsilon);
            })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, In<T> scale, In<> bias, Out<T> y, LayerNormAttrs const& a,
                        Stream s) {
              auto [rows, cols] = rows_cols(x.shape(), normalize_axis(a.axis, x.rank()));
              check_param(scale.tensor(), cols, "Scale");
              bool has_bias = !absent(bias.tensor());
              if (has_bias) check_param(bias.tensor(), cols, "B");
              if (rows * cols == 0) return;
              if (rows > 2147483647)
                fail("LayerNormalization: {} rows are too many for one launch", rows);
              layer_norm_kernel<<<static_cast<unsigned>(rows), block_for_row(cols), 0, native(s)>>>(
                  x.data(), scale.data(),
                  has_bias ? static_cast<T const*>(bias.tensor().data) : nullptr, y.data(), cols,
                  a.epsilon);
              QDP_CUDA_CHECK(cudaGetLastError());
            })
#endif
    ;

}  // namespace
}  // namespace qdp::ops::elementwise
