#pragma once
// CUDA helpers for plugin impls written in CUDA: CUDA's 16-bit float types as qdp element
// types, error checks that throw qdp::Error, and the cudaStream_t behind a qdp::Stream.
// Include it only from CUDA translation units (.cu files, or sources compiled by nvcc).
#ifndef __CUDACC__
#error "qdp/cuda.hpp is for CUDA translation units: include it from a .cu file compiled by nvcc"
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <qdp/data_type.hpp>
#include <qdp/error.hpp>
#include <qdp/plugin_definition.hpp>

namespace qdp {

// qdp::half / qdp::bfloat16 share these types' layout, so a tensor's data may be read as either.
static_assert(sizeof(__half) == sizeof(half) && sizeof(__nv_bfloat16) == sizeof(bfloat16));
template <>
struct dtype_of<__half> {
  static constexpr DataType value = DataType::FP16;
};
template <>
struct dtype_of<__nv_bfloat16> {
  static constexpr DataType value = DataType::BF16;
};

// Throws qdp::Error naming `what` when `status` is an error, e.g.
// "CUDA error in cudaMalloc(&p, bytes): out of memory".
inline void check_cuda(cudaError_t status, char const* what) {
  if (status == cudaSuccess) return;
  // Clear a non-sticky error so that a later cudaGetLastError() does not report it again.
  (void)cudaGetLastError();
  fail(status == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::RuntimeFailure,
       "CUDA error in {}: {}", what, cudaGetErrorString(status));
}

// The stream an impl was given, as CUDA sees it.
inline cudaStream_t native(Stream stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

}  // namespace qdp

// QDP_CUDA_CHECK(cudaMemsetAsync(p, 0, n, qdp::native(s))): throws qdp::Error naming the call.
#define QDP_CUDA_CHECK(expr) ::qdp::check_cuda((expr), #expr)
