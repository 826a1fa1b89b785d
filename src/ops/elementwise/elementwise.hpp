#pragma once
// What the element-wise operators share: the compute type of each element type (16-bit floats
// compute in float), run-time type dispatch for untyped inputs, the numpy broadcasting plan
// (dimensions collapsed, stride 0 on broadcast ones) and its CPU loop and CUDA kernel, a plain
// element-wise map, and block reductions for the row-wise ops (Softmax, LayerNormalization).
// Included by nvcc (CUDA on) and by the C++ compiler (CUDA off): CUDA code is guarded.
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <qdp/plugin.hpp>
#include <type_traits>

#include "core/float_to_integer.hpp"
#include "core/wrapping_arithmetic.hpp"
#include "ops/common.hpp"

#ifdef __CUDACC__
#include <qdp/cuda.hpp>
#define QDP_HD __host__ __device__
// Before a host-device function template that is also instantiated for the CPU's qdp::half
// (host-only conversions): those instantiations never run on the device, so nvcc need not warn.
#define QDP_HD_ANY _Pragma("nv_exec_check_disable")
#else
#define QDP_HD
#define QDP_HD_ANY
#endif

namespace qdp::ops::elementwise {

// Below this many elements a CPU loop runs on one thread: starting the team costs more.
inline constexpr int64_t kParallelThreshold = int64_t{1} << 15;

// ---- element types and their compute types --------------------------------------------------
// Num<T>::load widens an element to the type arithmetic is done in, store narrows it back.
template <class T>
struct Num {
  using acc = T;
  static QDP_HD acc load(T v) { return v; }
  static QDP_HD T store(acc v) { return v; }
};
template <>
struct Num<half> {
  using acc = float;
  static float load(half v) { return static_cast<float>(v); }
  static half store(float v) { return half(v); }
};
template <>
struct Num<bfloat16> {
  using acc = float;
  static float load(bfloat16 v) { return static_cast<float>(v); }
  static bfloat16 store(float v) { return bfloat16(v); }
};
#ifdef __CUDACC__
template <>
struct Num<__half> {
  using acc = float;
  static QDP_HD float load(__half v) { return __half2float(v); }
  static QDP_HD __half store(float v) { return __float2half_rn(v); }
};
template <>
struct Num<__nv_bfloat16> {
  using acc = float;
  static QDP_HD float load(__nv_bfloat16 v) { return __bfloat162float(v); }
  static QDP_HD __nv_bfloat16 store(float v) { return __float2bfloat16_rn(v); }
};
#endif
template <class T>
using Acc = typename Num<T>::acc;

// Integer arithmetic wraps around (core/wrapping_arithmetic.hpp).
using detail::wrapping_add;
using detail::wrapping_mul;
using detail::wrapping_neg;
using detail::wrapping_sub;

// Converts a compute value of one type to an element of another (Cast, Pow's result): through
// float for 16-bit floats, float -> integer as core/float_to_integer.hpp says.
QDP_HD_ANY
template <class To, class From>
QDP_HD To convert(From v) {
  using A = Acc<To>;
  if constexpr (std::is_same_v<A, bool>) {
    return Num<To>::store(v != From(0));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<A>) {
    return Num<To>::store(static_cast<A>(detail::float_to_int64(v)));
  } else {
    return Num<To>::store(static_cast<A>(v));
  }
}

// Calls f.template operator()<T>() with the element type of `t`; Half and BF16 name the 16-bit
// float types of the backend (qdp::half / __half, ...).
template <class Half, class BF16, class F>
void visit_dtype(DataType t, F&& f) {
  switch (t) {
    case DataType::FP32:
      return f.template operator()<float>();
    case DataType::FP16:
      return f.template operator()<Half>();
    case DataType::BF16:
      return f.template operator()<BF16>();
    case DataType::INT8:
      return f.template operator()<int8_t>();
    case DataType::UINT8:
      return f.template operator()<uint8_t>();
    case DataType::INT32:
      return f.template operator()<int32_t>();
    case DataType::INT64:
      return f.template operator()<int64_t>();
    case DataType::BOOL:
      return f.template operator()<bool>();
  }
  fail("unknown data type {}", static_cast<int>(t));
}

// Fails unless `t` is one of `allowed`, naming the op and the input.
inline void check_dtype(DataType t, std::initializer_list<DataType> allowed, std::string_view op,
                        std::string_view input) {
  for (DataType a : allowed)
    if (t == a) return;
  std::string names;
  for (DataType a : allowed) names += (names.empty() ? "" : ", ") + std::string(name(a));
  fail(ErrorCode::Unsupported, "{}: input {} of type {} is not supported; the op takes {}", op,
       input, name(t), names);
}
// The layouts of an operator that maps every element alike (unary ops): the network's, or
// channels-last everywhere, so that it runs between two channels-last convolutions.
inline constexpr std::string_view kMapLayouts = "LINEAR|HWC";
inline constexpr std::initializer_list<DataType> kFloatTypes = {DataType::FP32, DataType::FP16,
                                                                DataType::BF16};
inline constexpr std::initializer_list<DataType> kNumericTypes = {
    DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT32, DataType::INT64};

// ---- broadcasting -------------------------------------------------------------------------
// N inputs read at strides (0 on broadcast dimensions) over the output's dimensions, with
// neighbouring dimensions merged wherever every input walks them contiguously: equal shapes
// become one dimension of stride 1, a scalar one of stride 0, a per-channel bias three.
template <int N>
struct BroadcastPlan {
  int rank = 1;
  int64_t numel = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[N][kMaxRank] = {};
};

template <int N>
BroadcastPlan<N> make_broadcast_plan(std::array<Dims, N> const& in, Dims const& out,
                                     std::string_view op) {
  for (int k = 0; k < N; ++k) {
    // What desc could not tell (dynamic extents): every input broadcasts to the output.
    if (!broadcasts_to(in[k], out))
      fail("{}: input shape {} does not broadcast to the output shape {}", op, to_string(in[k]),
           to_string(out));
  }
  BroadcastPlan<N> p;
  p.numel = out.numel();
  if (p.numel == 0) {  // nothing to walk: the extents of an empty tensor may be any size
    p.rank = 1;
    p.dims[0] = 0;
    return p;
  }
  int rank = 0;
  int64_t dims[kMaxRank];
  int64_t strides[N][kMaxRank];
  for (int d = 0; d < out.rank(); ++d) {
    if (out[d] == 1) continue;  // extent 1 walks nothing
    dims[rank] = out[d];
    for (int k = 0; k < N; ++k) {
      int i = d - (out.rank() - in[k].rank());
      int64_t s = 0;
      if (i >= 0 && in[k][i] != 1) {
        s = 1;
        for (int j = i + 1; j < in[k].rank(); ++j) s *= in[k][j];
      }
      strides[k][rank] = s;
    }
    ++rank;
  }
  if (rank == 0) {  // a single element
    p.rank = 1;
    p.dims[0] = 1;
    return p;
  }
  // Merge dimension d into the one after it when every input steps over it contiguously.
  int r = 0;
  p.dims[0] = dims[0];
  for (int k = 0; k < N; ++k) p.strides[k][0] = strides[k][0];
  for (int d = 1; d < rank; ++d) {
    bool merge = true;
    for (int k = 0; k < N; ++k) merge = merge && p.strides[k][r] == strides[k][d] * dims[d];
    if (merge) {
      p.dims[r] *= dims[d];
      for (int k = 0; k < N; ++k) p.strides[k][r] = strides[k][d];
    } else {
      ++r;
      p.dims[r] = dims[d];
      for (int k = 0; k < N; ++k) p.strides[k][r] = strides[k][d];
    }
  }
  p.rank = r + 1;
  return p;
}

// f(i, off) for every output element i, off[k] the element of input k it reads. Rows of the
// innermost dimension are the unit of work, so the inner loop is a plain strided loop.
template <int N, class F>
QDP_CPU_KERNEL void broadcast_cpu(BroadcastPlan<N> const& p, F const& f) {
  if (p.numel == 0) return;
  int const r = p.rank;
  int64_t const inner = p.dims[r - 1];
  int64_t const rows = p.numel / inner;
  int64_t s[N];
  for (int k = 0; k < N; ++k) s[k] = p.strides[k][r - 1];
  if (rows == 1) {
#pragma omp parallel for schedule(static) if (inner >= kParallelThreshold)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t off[N];
      for (int k = 0; k < N; ++k) off[k] = i * s[k];
      f(i, off);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (p.numel >= kParallelThreshold)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t base[N] = {};
    int64_t rem = row;
    for (int d = r - 2; d >= 0; --d) {
      int64_t idx = rem % p.dims[d];
      rem /= p.dims[d];
      for (int k = 0; k < N; ++k) base[k] += idx * p.strides[k][d];
    }
    for (int64_t i = 0; i < inner; ++i) {
      int64_t off[N];
      for (int k = 0; k < N; ++k) off[k] = base[k] + i * s[k];
      f(row * inner + i, off);
    }
  }
}

// y[i] = f(x[i]) on the CPU.
template <class X, class Y, class F>
QDP_CPU_KERNEL void map_cpu(X const* x, Y* y, int64_t n, F const& f) {
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// e^x for x <= 0 or NaN (softmax's x - max) in float arithmetic without branches, which the
// compiler vectorizes (libm's expf is a call per element): x = n ln2 + r, |r| <= ln2 / 2, e^r by
// its Taylor series to r^6 (relative error < 3e-7), 2^n from the exponent bits (n rounded by
// adding 1.5 x 2^23). Below -87 (2^n would be subnormal) the result is 0; NaN stays NaN.
inline float exp_nonpositive(float x) {
  constexpr float kRound =
      12582912.0f;  // 1.5 x 2^23: k + kRound has k's nearest integer in its low bits
  float const t = x < -87.0f ? -87.0f : x;
  float const shifted = t * 1.44269504088896341f + kRound;
  float const n = shifted - kRound;
  float r = t - n * 0.693145751953125f;  // ln 2 in two parts, the first exact in float
  r = r - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  uint32_t const exponent =
      std::bit_cast<uint32_t>(shifted) - std::bit_cast<uint32_t>(kRound) + 127;
  float const y = p * std::bit_cast<float>(exponent << 23);
  return x < -87.0f ? 0.0f : y;
}

// The sum and the largest of n floats, in 16 independent partial results: a reduction in order
// is one chain of dependent adds (4 cycles each), which the compiler may not reorder for floats;
// 16 lanes become two vector registers (BERT-small's 128-wide softmax rows: 0.10 -> 0.054 ms on
// the 2-core AVX2 machine, its LayerNormalization 0.065 -> 0.031).
// sum_of(n, f) sums f(j) for j < n.
template <class F>
[[gnu::always_inline]] inline float sum_of(int64_t n, F const& f) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += f(j + k);
  float s = 0;
  for (; j < n; ++j) s += f(j);
  for (float a : acc) s += a;
  return s;
}
// NaN-blind as std::max: a NaN in v is skipped (the softmax's exponentials carry it on).
[[gnu::always_inline]] inline float max_of(float const* v, int64_t n) {
  constexpr int kLanes = 16;
  float acc[kLanes];
  for (float& a : acc) a = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] = std::max(acc[k], v[j + k]);
  float m = -std::numeric_limits<float>::infinity();
  for (; j < n; ++j) m = std::max(m, v[j]);
  for (float a : acc) m = std::max(m, a);
  return m;
}

// erf(x) on the CPU, vectorizable as exp_nonpositive: its Taylor series (11 terms) below |x| = 1,
// Abramowitz and Stegun's formula 7.1.26 above (|error| <= 1.5e-7); |x| >= 4 gives +-1. Within
// 2e-7 of erf everywhere (libm's erff is a call per element, ~8x slower).
inline float erf_cpu(float x) {
  uint32_t const sign = std::bit_cast<uint32_t>(x) & 0x80000000u;
  float a = std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0x7fffffffu);
  a = a > 4.0f ? 4.0f : a;
  float const a2 = a * a;
  // 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1)), n <= 10: below |x| = 1 its error < 1e-9.
  float s = 1.0f / 76204800;
  s = s * a2 - 1.0f / 6894720;
  s = s * a2 + 1.0f / 685440;
  s = s * a2 - 1.0f / 75600;
  s = s * a2 + 1.0f / 9360;
  s = s * a2 - 1.0f / 1320;
  s = s * a2 + 1.0f / 216;
  s = s * a2 - 1.0f / 42;
  s = s * a2 + 1.0f / 10;
  s = s * a2 - 1.0f / 3;
  s = s * a2 + 1.0f;
  s = s * a * 1.12837916709551257f;
  float const t = 1.0f / (1.0f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  float const l = 1.0f - q * t * exp_nonpositive(-a2);
  float const r = a < 1.0f ? s : l;
  return std::bit_cast<float>(std::bit_cast<uint32_t>(r) | sign);
}
// The rows of a tensor seen as [outer, axis, inner] around one axis.
struct AxisSplit {
  int64_t outer = 1, axis = 1, inner = 1;
};
inline AxisSplit split_at(Dims const& shape, int axis) {
  AxisSplit s;
  for (int d = 0; d < shape.rank(); ++d) {
    if (d < axis)
      s.outer *= shape[d];
    else if (d == axis)
      s.axis = shape[d];
    else
      s.inner *= shape[d];
  }
  return s;
}

#ifdef __CUDACC__
// ---- CUDA ---------------------------------------------------------------------------------
inline constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n items: enough to fill the GPU, no more.
inline unsigned grid_for(int64_t n, int block = kBlock) {
  int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 65535 * 8));
}

template <int N, class F>
__global__ void broadcast_kernel(BroadcastPlan<N> p, F f) {
  int64_t const step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p.rank == 1) {  // equal shapes or a scalar: no index arithmetic
    for (; i < p.numel; i += step) {
      int64_t off[N];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] = i * p.strides[k][0];
      f(i, off);
    }
    return;
  }
  for (; i < p.numel; i += step) {
    int64_t off[N] = {};
    int64_t rem = i;
    for (int d = p.rank - 1; d >= 0; --d) {
      int64_t idx = rem % p.dims[d];
      rem /= p.dims[d];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += idx * p.strides[k][d];
    }
    f(i, off);
  }
}

// n / d and n % d for 32-bit n < 2^31 by a multiply and a shift (Granlund and Montgomery's
// method, as PyTorch's IntDivider): a 64-bit division is a long call sequence on the GPU, and the
// general broadcast's index arithmetic, one division per dimension and element, bounded it.
struct FastDivider {
  uint32_t divisor = 1, magic = 0, shift = 0;
  FastDivider() = default;
  explicit FastDivider(uint32_t d) : divisor(d) {
    while (shift < 32 && (uint32_t{1} << shift) < d) ++shift;
    magic = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
  }
  __device__ uint32_t div(uint32_t n) const { return (__umulhi(n, magic) + n) >> shift; }
};

// BroadcastPlan for fewer than 2^31 output elements: 32-bit indices and dividers.
template <int N>
struct BroadcastPlan32 {
  int rank = 1;
  uint32_t numel = 0;
  FastDivider dims[kMaxRank];
  uint32_t strides[N][kMaxRank] = {};
};

template <int N, class F>
__global__ void broadcast_kernel32(BroadcastPlan32<N> p, F f) {
  uint32_t const step = gridDim.x * blockDim.x;
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < p.numel; i += step) {
    uint32_t off32[N] = {};
    uint32_t rem = i;
    for (int d = p.rank - 1; d >= 0; --d) {
      uint32_t q = p.dims[d].div(rem);
      uint32_t idx = rem - q * p.dims[d].divisor;
      rem = q;
#pragma unroll
      for (int k = 0; k < N; ++k) off32[k] += idx * p.strides[k][d];
    }
    int64_t off[N];
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = off32[k];
    f(int64_t{i}, off);
  }
}

template <int N, class F>
void broadcast_cuda(BroadcastPlan<N> const& p, F const& f, cudaStream_t stream) {
  if (p.numel == 0) return;
  if (p.rank > 1 && p.numel < (int64_t{1} << 31)) {
    BroadcastPlan32<N> q;
    q.rank = p.rank;
    q.numel = static_cast<uint32_t>(p.numel);
    for (int d = 0; d < p.rank; ++d) {
      q.dims[d] = FastDivider(static_cast<uint32_t>(p.dims[d]));
      for (int k = 0; k < N; ++k) q.strides[k][d] = static_cast<uint32_t>(p.strides[k][d]);
    }
    broadcast_kernel32<<<grid_for(p.numel), kBlock, 0, stream>>>(q, f);
  } else {
    broadcast_kernel<<<grid_for(p.numel), kBlock, 0, stream>>>(p, f);
  }
  QDP_CUDA_CHECK(cudaGetLastError());
}

// y[i] = f(x[i]), four elements per thread as one vector load and store where both buffers
// are aligned to it, else one at a time.
template <class T, int L>
struct alignas(sizeof(T) * L) Pack {
  T v[L];
};
inline constexpr int kPack = 4;

template <class X, class Y, class F>
__global__ void map_vector_kernel(X const* __restrict__ x, Y* __restrict__ y, int64_t packs, F f) {
  int64_t const step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < packs;
       i += step) {
    Pack<X, kPack> in = reinterpret_cast<Pack<X, kPack> const*>(x)[i];
    Pack<Y, kPack> out;
#pragma unroll
    for (int l = 0; l < kPack; ++l) out.v[l] = f(in.v[l]);
    reinterpret_cast<Pack<Y, kPack>*>(y)[i] = out;
  }
}
template <class X, class Y, class F>
__global__ void map_scalar_kernel(X const* __restrict__ x, Y* __restrict__ y, int64_t begin,
                                  int64_t n, F f) {
  int64_t const step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = begin + static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += step)
    y[i] = f(x[i]);
}

template <class X, class Y, class F>
void map_cuda(X const* x, Y* y, int64_t n, F const& f, cudaStream_t stream) {
  if (n == 0) return;
  bool aligned = reinterpret_cast<uintptr_t>(x) % sizeof(Pack<X, kPack>) == 0 &&
                 reinterpret_cast<uintptr_t>(y) % sizeof(Pack<Y, kPack>) == 0;
  int64_t packs = aligned ? n / kPack : 0;
  if (packs > 0) {
    map_vector_kernel<<<grid_for(packs), kBlock, 0, stream>>>(x, y, packs, f);
    QDP_CUDA_CHECK(cudaGetLastError());
  }
  if (packs * kPack < n) {
    map_scalar_kernel<<<grid_for(n - packs * kPack), kBlock, 0, stream>>>(x, y, packs * kPack, n,
                                                                          f);
    QDP_CUDA_CHECK(cudaGetLastError());
  }
}

// Reductions across a block (blockDim.x a multiple of 32, at most 1024): every thread gets the
// result. `scratch` holds 32 floats in shared memory; the leading barrier lets it be reused.
struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
template <class Op>
__device__ float warp_reduce(float v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <class Op>
__device__ float block_reduce(float v, Op op, float identity, float* scratch) {
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_reduce(v, op);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int warps = static_cast<int>(blockDim.x / 32);
  v = lane < warps ? scratch[lane] : identity;
  return warp_reduce(v, op);
}

// Threads for a block that walks a row of `cols` elements: a multiple of 32, at most 1024.
inline int block_for_row(int64_t cols) {
  int64_t t = std::min<int64_t>(1024, std::max<int64_t>(32, (cols + 3) / 4));
  return static_cast<int>((t + 31) / 32 * 32);
}
#endif

}  // namespace qdp::ops::elementwise
