#pragma once
// What the data-movement operators (Transpose, Gather, Concat, ...) share. They copy elements
// without arithmetic, so an element is only its bytes: every type of a given size takes the same
// code (uint8_t ... uint64_t), and the CUDA kernels move wider vectors where the layout allows.
#include <cstdint>
#include <qdp/plugin.hpp>
#include <string>
#include <vector>

#include "ops/common.hpp"

#ifdef __CUDACC__
#include <qdp/cuda.hpp>
#endif

namespace qdp::ops {

// Calls f(E{}) with E the unsigned integer of `size` bytes (1, 2, 4 or 8).
template <class F>
decltype(auto) with_element_bytes(size_t size, F&& f) {
  switch (size) {
    case 1:
      return f(uint8_t{});
    case 2:
      return f(uint16_t{});
    case 4:
      return f(uint32_t{});
    case 8:
      return f(uint64_t{});
    default:
      fail("no element type of {} bytes", size);
  }
}

inline bool is_index_type(DataType t) {
  return t == DataType::INT32 || t == DataType::INT64;
}

// Element i of an INT32 or INT64 host tensor, widened.
inline int64_t index_at(Tensor const& t, int64_t i) {
  return t.dtype == DataType::INT32 ? int64_t{static_cast<int32_t const*>(t.data)[i]}
                                    : static_cast<int64_t const*>(t.data)[i];
}

// The product of extents [begin, end) of a shape.
inline int64_t extent_product(Dims const& d, int begin, int end) {
  int64_t n = 1;
  for (int i = begin; i < end; ++i) n *= d[i];
  return n;
}

inline std::string join(std::span<const int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// A gather's index out of range, as a CUDA kernel records it in the impl's workspace (it cannot
// throw): the kernel writes zeros for that element instead of reading, and the first faulting
// thread sets `faulted` to 1 and stores the index as given. The impl zeroes it before each
// launch; whoever reads it back after the stream syncs reports the error.
struct IndexFault {
  uint32_t faulted = 0;
  uint32_t reserved = 0;
  int64_t index = 0;
};
static_assert(sizeof(IndexFault) == 16);

#ifdef __CUDACC__
__device__ inline void record_fault(IndexFault* fault, int64_t index) {
  if (atomicCAS(reinterpret_cast<unsigned*>(&fault->faulted), 0u, 1u) == 0u) fault->index = index;
}

// The widest vector (16, 8, 4, 2 or 1 bytes) that divides `bytes` and both addresses.
inline size_t vector_bytes(size_t bytes, void const* a, void const* b) {
  auto bits = bytes | reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b);
  for (size_t v = 16; v > 1; v /= 2)
    if (bits % v == 0) return v;
  return 1;
}

// Calls f(V{}) with V a trivially copyable type of `size` bytes (1 ... 16).
template <class F>
void with_vector_bytes(size_t size, F&& f) {
  switch (size) {
    case 16:
      return f(uint4{});
    case 8:
      return f(uint2{});
    case 4:
      return f(uint32_t{});
    case 2:
      return f(uint16_t{});
    default:
      return f(uint8_t{});
  }
}

// Blocks for a grid-stride loop over n items: enough to fill the GPU, capped (the loop does the
// rest).
inline unsigned grid_for(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, int64_t{1} << 16)));
}
#endif

}  // namespace qdp::ops
