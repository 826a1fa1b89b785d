// onnx::BatchNormalization, inference form: y = (x - mean) / sqrt(var + epsilon) * scale + B per
// channel (axis 1). Training mode is refused. Own kernels on both backends.
#include <cmath>
#include <qdp/plugin.hpp>

#include "ops/nn/nn_common.hpp"

#ifdef __CUDACC__
#include "ops/nn/nn_cuda.cuh"
#endif

namespace qdp::ops::nn {
namespace {

constexpr char kOp[] = "onnx::BatchNormalization";

struct BatchNormAttrs {
  float epsilon = 1e-5f;
  float momentum = 0.9f;  // training only: ignored
  int64_t training_mode = 0;
};
QDP_ATTRS(BatchNormAttrs, epsilon, momentum, training_mode);

struct BatchNormRun {
  float epsilon = 1e-5f;
};
QDP_ATTRS(BatchNormRun, epsilon);

TensorDesc batchnorm_desc(TensorDesc const& x, std::span<const TensorDesc> params,
                          BatchNormAttrs const& a) {
  if (a.training_mode != 0)
    fail("{}: attribute training_mode is {}; only inference (0) is supported", kOp,
         a.training_mode);
  if (!is_floating_point(x.dtype))
    fail("{}: X is {}; BatchNormalization takes FP32, FP16 or BF16", kOp, name(x.dtype));
  if (x.rank() < 2) fail("{}: X has rank {}; it needs (N, C, ...)", kOp, x.rank());
  char const* names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t i = 0; i < params.size(); ++i) {
    TensorDesc const& p = params[i];
    if (!is_floating_point(p.dtype))
      fail("{}: {} is {}; it must be a float type", kOp, names[i], name(p.dtype));
    if (p.rank() != 1)
      fail("{}: {} has rank {}; it must be a vector of C", kOp, names[i], p.rank());
    ShapeExpr const& c = x.shape_expr[1];
    if (c.is_constant() && p.shape_expr[0].is_constant() &&
        c.constant() != p.shape_expr[0].constant())
      fail("{}: {} has {} elements but X has {} channels", kOp, names[i],
           p.shape_expr[0].constant(), c.constant());
  }
  return x.like();
}

void check_params(Tensor const& x, std::span<const Tensor> params) {
  for (Tensor const& p : params)
    if (p.rank() != 1 || p.shape[0] != x.shape[1])
      fail("{}: a parameter has shape {}; X has {} channels", kOp, to_string(p.shape), x.shape[1]);
}

// ---- CPU ----------------------------------------------------------------------------------
template <class P>
void read_floats(Tensor const& t, std::vector<float>& out) {
  out.resize(static_cast<size_t>(t.numel()));
  to_float(static_cast<P const*>(t.data), out.data(), t.numel());
}
std::vector<float> floats(Tensor const& t) {
  std::vector<float> v;
  switch (t.dtype) {
    case DataType::FP32:
      read_floats<float>(t, v);
      break;
    case DataType::FP16:
      read_floats<half>(t, v);
      break;
    case DataType::BF16:
      read_floats<bfloat16>(t, v);
      break;
    default:
      fail("{}: parameters must be FP32, FP16 or BF16, not {}", kOp, name(t.dtype));
  }
  return v;
}

template <class T>
void batchnorm_cpu(Tensor const& x, std::span<const Tensor> params, Tensor const& y, float eps) {
  check_params(x, params);
  std::vector<float> scale = floats(params[0]), bias = floats(params[1]), mean = floats(params[2]),
                     var = floats(params[3]);
  int64_t n = x.shape[0], c = x.shape[1], inner = x.numel() / std::max<int64_t>(n * c, 1);
  // Folded into one multiply-add per element.
  std::vector<float> mul(static_cast<size_t>(c)), add(static_cast<size_t>(c));
  for (size_t i = 0; i < mul.size(); ++i) {
    mul[i] = scale[i] / std::sqrt(var[i] + eps);
    add[i] = bias[i] - mean[i] * mul[i];
  }
  T const* xp = static_cast<T const*>(x.data);
  T* yp = static_cast<T*>(y.data);
#pragma omp parallel for schedule(static) if (x.numel() >= (int64_t{1} << 16))
  for (int64_t row = 0; row < n * c; ++row) {
    float m = mul[static_cast<size_t>(row % c)], a = add[static_cast<size_t>(row % c)];
    T const* xr = xp + row * inner;
    T* yr = yp + row * inner;
    for (int64_t i = 0; i < inner; ++i) yr[i] = static_cast<T>(static_cast<float>(xr[i]) * m + a);
  }
}

// ---- CUDA ---------------------------------------------------------------------------------
#ifdef __CUDACC__
template <class T, class P>
__global__ void batchnorm_kernel(T const* __restrict__ x, P const* __restrict__ scale,
                                 P const* __restrict__ bias, P const* __restrict__ mean,
                                 P const* __restrict__ var, T* __restrict__ y, int64_t c,
                                 int64_t inner, int64_t total, float eps) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t ch = (i / inner) % c;
    float m = load_float(scale[ch]) * rsqrtf(load_float(var[ch]) + eps);
    y[i] = store_float<T>((load_float(x[i]) - load_float(mean[ch])) * m + load_float(bias[ch]));
  }
}

template <class T>
void batchnorm_cuda(Tensor const& x, std::span<const Tensor> params, Tensor const& y, float eps,
                    cudaStream_t stream) {
  check_params(x, params);
  int64_t c = x.shape[1], total = x.numel();
  int64_t inner = total / std::max<int64_t>(x.shape[0] * c, 1);
  if (total == 0) return;
  auto launch = [&]<class P>() {
    batchnorm_kernel<T, P><<<grid_for(total, 256), 256, 0, stream>>>(
        static_cast<T const*>(x.data), static_cast<P const*>(params[0].data),
        static_cast<P const*>(params[1].data), static_cast<P const*>(params[2].data),
        static_cast<P const*>(params[3].data), static_cast<T*>(y.data), c, inner, total, eps);
    QDP_CUDA_CHECK(cudaGetLastError());
  };
  auto all = [&](DataType t) {
    for (Tensor const& p : params)
      if (p.dtype != t) return false;
    return true;
  };
  if (all(x.dtype))
    launch.template operator()<T>();
  else if (all(DataType::FP32))
    launch.template operator()<float>();
  else
    fail("{}: on CUDA the parameters must all be {} or all FP32", kOp, name(x.dtype));
}
#endif

}  // namespace

QDP_PLUGIN(batchnorm, "onnx::BatchNormalization")
    .desc([](TensorDesc const& x, TensorDesc const& scale, TensorDesc const& b,
             TensorDesc const& mean, TensorDesc const& var, BatchNormAttrs const& a) {
      TensorDesc params[] = {scale, b, mean, var};
      return batchnorm_desc(x, params, a);
    })
    .autotune(FloatTypes<5>{})
    .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, In<> scale, In<> b, In<> mean,
                                                       In<> var, Out<T> y, BatchNormRun const& a) {
      Tensor params[] = {scale.tensor(), b.tensor(), mean.tensor(), var.tensor()};
      batchnorm_cpu<T>(x.tensor(), params, y.tensor(), a.epsilon);
    })
#ifdef __CUDACC__
    .impl<qdp::cuda, float, __half, __nv_bfloat16>([]<class T>(In<T> x, In<> scale, In<> b,
                                                               In<> mean, In<> var, Out<T> y,
                                                               BatchNormRun const& a, Stream s) {
      Tensor params[] = {scale.tensor(), b.tensor(), mean.tensor(), var.tensor()};
      batchnorm_cuda<T>(x.tensor(), params, y.tensor(), a.epsilon, native(s));
    })
#endif
    ;

}  // namespace qdp::ops::nn
