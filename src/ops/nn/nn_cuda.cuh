#pragma once
// CUDA helpers of the nn operators: error checks for cuDNN and cuBLASLt, RAII handles, device
// scratch memory that grows and is kept, and float conversions of the 16-bit types.
#include <cublasLt.h>
#include <cudnn.h>

#include <qdp/cuda.hpp>
#include <utility>

#include "ops/nn/nn_activation.hpp"

namespace qdp::ops::nn {

// cuDNN's "not supported" family (3000-3999: an algorithm or shape this case does not take) is
// Unsupported, which the autotuner skips; every other failure is a RuntimeFailure.
inline void check_cudnn(cudnnStatus_t s, char const* what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  bool unsupported = s >= CUDNN_STATUS_NOT_SUPPORTED && s < CUDNN_STATUS_NOT_SUPPORTED + 1000;
  fail(unsupported ? ErrorCode::Unsupported : ErrorCode::RuntimeFailure, "cuDNN error in {}: {}",
       what, cudnnGetErrorString(s));
}
inline void check_cublas(cublasStatus_t s, char const* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    fail(ErrorCode::RuntimeFailure, "cuBLASLt error in {}: status {}", what, static_cast<int>(s));
}
#define QDP_CUDNN_CHECK(expr) ::qdp::ops::nn::check_cudnn((expr), #expr)
#define QDP_CUBLAS_CHECK(expr) ::qdp::ops::nn::check_cublas((expr), #expr)

// An owned library object: `destroy` runs once, on destruction (errors there are ignored).
template <class H, auto Destroy>
class Owned {
 public:
  Owned() = default;
  explicit Owned(H h) : h_(h) {}
  Owned(Owned&& o) noexcept : h_(std::exchange(o.h_, H{})) {}
  Owned& operator=(Owned&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  Owned(Owned const&) = delete;
  Owned& operator=(Owned const&) = delete;
  ~Owned() {
    if (h_) (void)Destroy(h_);
  }
  H get() const { return h_; }
  explicit operator bool() const { return h_ != H{}; }

 private:
  H h_{};
};

// Device memory kept between calls, grown when a larger size is asked for.
class Scratch {
 public:
  Scratch() = default;
  Scratch(Scratch const&) = delete;
  Scratch& operator=(Scratch const&) = delete;
  ~Scratch() {
    if (p_) (void)cudaFree(p_);
  }
  void* get(size_t bytes) {
    if (bytes <= size_) return p_;
    if (p_) {
      // A pending kernel may still read the old buffer.
      QDP_CUDA_CHECK(cudaDeviceSynchronize());
      QDP_CUDA_CHECK(cudaFree(p_));
      p_ = nullptr;
      size_ = 0;
    }
    QDP_CUDA_CHECK(cudaMalloc(&p_, bytes));
    size_ = bytes;
    return p_;
  }

 private:
  void* p_ = nullptr;
  size_t size_ = 0;
};

template <class T>
__device__ __forceinline__ float load_float(T v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else if constexpr (std::is_same_v<T, __half>)
    return __half2float(v);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return __bfloat162float(v);
  else
    return static_cast<float>(v);
}
template <class T>
__device__ __forceinline__ T store_float(float v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else if constexpr (std::is_same_v<T, __half>)
    return __float2half(v);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return __float2bfloat16(v);
  else
    return static_cast<T>(v);
}

inline unsigned grid_for(int64_t n, int block) {
  int64_t g = (n + block - 1) / block;
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(g, 1), 65535 * 8));
}

// y[i] = activation(y[i] + b[(i / inner) % channels]) (b null: none), in float: the bias and
// activation of a Conv (inner: the elements of a channel's run) or of a product (inner 1).
template <class T>
__global__ void bias_activation_kernel(T* __restrict__ y, T const* __restrict__ b, int64_t channels,
                                       int64_t inner, int64_t total, Activation act) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    float v = load_float(y[i]);
    if (b) v += load_float(b[(i / inner) % channels]);
    y[i] = store_float<T>(activate(act, v));
  }
}

}  // namespace qdp::ops::nn
