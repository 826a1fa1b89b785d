#pragma once
// One copy kernel for Expand and Slice: every output element reads the input at
//   offset + sum_d index_d * stride_d
// (element strides; 0 on a broadcast dimension, a step's multiple on a sliced one). Elements
// are moved as 1-, 2-, 4- or 8-byte words, so one instantiation per element size serves every
// type.
#include <cstdint>
#include <cstring>
#include <qdp/plugin.hpp>

#ifdef __CUDACC__
#include <qdp/cuda.hpp>
#endif

namespace qdp::ops {

struct StridedCopy {
  int rank = 0;
  int64_t out_shape[kMaxRank] = {};
  int64_t in_stride[kMaxRank] = {};  // elements
  int64_t offset = 0;                // elements
  int64_t numel = 0;
};

template <class Word>
void strided_copy_cpu(StridedCopy const& p, Word const* in, Word* out) {
#pragma omp parallel for schedule(static) if (p.numel >= (int64_t{1} << 16))
  for (int64_t i = 0; i < p.numel; ++i) {
    int64_t rest = i, src = p.offset;
    for (int d = p.rank - 1; d >= 0; --d) {
      src += (rest % p.out_shape[d]) * p.in_stride[d];
      rest /= p.out_shape[d];
    }
    out[i] = in[src];
  }
}

inline void strided_copy_cpu(StridedCopy const& p, size_t element_bytes, void const* in,
                             void* out) {
  switch (element_bytes) {
    case 1:
      return strided_copy_cpu(p, static_cast<uint8_t const*>(in), static_cast<uint8_t*>(out));
    case 2:
      return strided_copy_cpu(p, static_cast<uint16_t const*>(in), static_cast<uint16_t*>(out));
    case 4:
      return strided_copy_cpu(p, static_cast<uint32_t const*>(in), static_cast<uint32_t*>(out));
    default:
      return strided_copy_cpu(p, static_cast<uint64_t const*>(in), static_cast<uint64_t*>(out));
  }
}

#ifdef __CUDACC__
template <class Word>
__global__ void strided_copy_kernel(StridedCopy p, Word const* __restrict__ in,
                                    Word* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < p.numel;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rest = i, src = p.offset;
    for (int d = p.rank - 1; d >= 0; --d) {
      src += (rest % p.out_shape[d]) * p.in_stride[d];
      rest /= p.out_shape[d];
    }
    out[i] = in[src];
  }
}

inline void strided_copy_cuda(StridedCopy const& p, size_t element_bytes, void const* in, void* out,
                              Stream stream) {
  if (p.numel == 0) return;
  int threads = 256;
  int64_t blocks = std::min<int64_t>((p.numel + threads - 1) / threads, int64_t{1} << 16);
  auto launch = [&](auto const* src, auto* dst) {
    strided_copy_kernel<<<static_cast<unsigned>(blocks), threads, 0, native(stream)>>>(p, src, dst);
  };
  switch (element_bytes) {
    case 1:
      launch(static_cast<uint8_t const*>(in), static_cast<uint8_t*>(out));
      break;
    case 2:
      launch(static_cast<uint16_t const*>(in), static_cast<uint16_t*>(out));
      break;
    case 4:
      launch(static_cast<uint32_t const*>(in), static_cast<uint32_t*>(out));
      break;
    default:
      launch(static_cast<uint64_t const*>(in), static_cast<uint64_t*>(out));
  }
  QDP_CUDA_CHECK(cudaGetLastError());
}
#endif

}  // namespace qdp::ops
