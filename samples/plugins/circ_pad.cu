// sample::circ_pad_plugin(x, pads): circular padding. pads follow torch's F.pad order: the last
// dimension first, (begin, end) per dimension; the output grows by begin + end in each padded
// dimension and its values wrap around (numpy pad mode="wrap"):
//   y[..., i, ...] = x[..., (i - begin) mod extent, ...]
// Each pad is at most its dimension's extent (as torch's circular mode requires), so an output
// index wraps at most once. Padding moves bytes and computes nothing, so one implementation per
// element size serves every element type.
//
// Tactics (SPEC §3, `--multi_tactic`): two genuinely different kernels per backend.
//   CPU  1: per output element, index arithmetic over every dimension.
//        2: per output row, three memcpy runs (the row's wrapped head, its interior, its
//           wrapped tail); OpenMP over rows when large.
//   CUDA 1: one thread per output element with the index arithmetic (the seed's Triton kernel).
//        2: in rows of <= 8 KB, the staged kernel that the AOT variant also runs
//           (circ_pad_staged.cuh: rows staged in shared memory, written as aligned vectors);
//           wider rows of 1- and 2-byte elements of >= 16 vectors take one output row per warp
//           task (circ_pad_row_tasks_warp), the rest row-aware 16-byte vectors of the output
//           (circ_pad_rows_warp).
// Tactic 0 (no autotune) is tactic 2 on both backends.
#include <algorithm>
#include <cstring>
#include <qdp/plugin.hpp>

#include "plugins/circ_pad_aot.hpp"
#include "plugins/sample_plugins.hpp"

#ifdef __CUDACC__
#include <qdp/cuda.hpp>

#include "plugins/circ_pad_staged.cuh"
#endif

namespace qdp::samples {
namespace {

constexpr std::string_view kId = "sample::circ_pad_plugin";

struct CircPadAttrs {
  std::vector<int32_t> pads;
};
QDP_ATTRS(CircPadAttrs, pads);

// The pads' value checks that need no extents; returns the number of padded dimensions.
int padded_dims(std::vector<int32_t> const& pads, int rank) {
  if (pads.size() % 2 != 0)
    fail(
        "attribute 'pads' must hold (begin, end) pairs, the last dimension first as in torch's "
        "F.pad, but it has {} values (an odd count)",
        pads.size());
  if (pads.size() > 2 * static_cast<size_t>(rank))
    fail("attribute 'pads' has {} values, but the input has rank {}: at most {} (2 per dimension)",
         pads.size(), rank, 2 * rank);
  for (size_t i = 0; i < pads.size(); ++i)
    if (pads[i] < 0)
      fail("attribute 'pads' value {} (index {}) is negative: circular padding needs pads >= 0",
           pads[i], i);
  return static_cast<int>(pads.size() / 2);
}

[[noreturn]] void pad_too_large(int32_t pad, size_t index, int dim, int64_t extent) {
  fail(
      "attribute 'pads' value {} (index {}) is larger than dimension {} of the input (extent {}): "
      "circular padding wraps at most once, so each pad must be <= its dimension's extent",
      pad, index, dim, extent);
}

// ---- geometry -------------------------------------------------------------------------------
// The padding of a concrete input, with runs of unpadded dimensions merged into one (the
// leading batch and channel dimensions of an NCHW input become a single dimension). The last
// dimension is the row: every output row is one input row, rotated and extended.
struct Geometry {
  int rank = 1;  // >= 1: a rank-0 input is seen as one element of rank 1
  int64_t in[kMaxRank] = {1};
  int64_t out[kMaxRank] = {1};
  int64_t begin[kMaxRank] = {0};

  int64_t width() const { return in[rank - 1]; }
  int64_t out_width() const { return out[rank - 1]; }
  int64_t lead() const { return begin[rank - 1]; }
  int64_t out_rows() const {
    int64_t n = 1;
    for (int d = 0; d + 1 < rank; ++d) n *= out[d];
    return n;
  }
  int64_t out_numel() const { return out_rows() * out_width(); }
  int64_t in_numel() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= in[d];
    return n;
  }
  // The input row that output row `r` copies.
  int64_t source_row(int64_t r) const {
    int64_t src = 0, stride = 1;
    for (int d = rank - 2; d >= 0; --d) {
      int64_t o = r % out[d];
      r /= out[d];
      src += wrap(o, begin[d], in[d]) * stride;
      stride *= in[d];
    }
    return src;
  }
  // (o - b) mod n for o in [0, n + b + e) with b, e <= n.
  static int64_t wrap(int64_t o, int64_t b, int64_t n) {
    int64_t i = o - b;
    return i < 0 ? i + n : (i >= n ? i - n : i);
  }
};

Geometry geometry(Tensor const& x, std::vector<int32_t> const& pads) {
  int rank = x.rank();
  size_t padded = static_cast<size_t>(padded_dims(pads, rank));
  Geometry g;
  g.rank = 0;
  bool last_unpadded = false;
  for (int d = 0; d < rank; ++d) {
    size_t k = static_cast<size_t>(rank - 1 - d);  // F.pad order: the last dimension first
    int64_t b = k < padded ? pads[2 * k] : 0, e = k < padded ? pads[2 * k + 1] : 0;
    int64_t n = x.shape[d];
    // The desc checked constant extents; dynamic ones are checked here, at run time.
    if (b > n) pad_too_large(pads[2 * k], 2 * k, d, n);
    if (e > n) pad_too_large(pads[2 * k + 1], 2 * k + 1, d, n);
    bool unpadded = b == 0 && e == 0;
    if (unpadded && last_unpadded) {  // merge with the previous unpadded dimension
      g.in[g.rank - 1] *= n;
      g.out[g.rank - 1] *= n;
      continue;
    }
    g.in[g.rank] = n;
    g.out[g.rank] = n + b + e;
    g.begin[g.rank] = b;
    ++g.rank;
    last_unpadded = unpadded;
  }
  if (g.rank == 0) g = Geometry{};  // a scalar
  return g;
}

Geometry checked_geometry(Tensor const& x, Tensor const& y, std::vector<int32_t> const& pads) {
  if (x.dtype != y.dtype)
    fail("plugin {}: the output is {} but the input is {}", kId, name(y.dtype), name(x.dtype));
  if (x.format != TensorFormat::LINEAR || y.format != TensorFormat::LINEAR)
    fail("plugin {}: only the LINEAR format is supported", kId);
  Geometry g;
  try {
    g = geometry(x, pads);
  } catch (Error const& e) {
    fail("plugin {}: {}", kId, e.what());
  }
  if (g.out_numel() != y.numel())
    fail("plugin {}: the output has {} elements, the padding of a {} input makes {}", kId,
         y.numel(), to_string(x.shape), g.out_numel());
  return g;
}

// ---- CPU ------------------------------------------------------------------------------------
// Tactic 1: every output element finds its source by index arithmetic over all dimensions.
template <class S>  // S: an unsigned integer of the element's size
void pad_elements_cpu(S const* x, S* y, Geometry const& g) {
  int64_t n = g.out_numel();
  // Both cores pay off only once the work is larger than a thread start (as for the add sample).
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 17))
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, src = 0, stride = 1;
    for (int d = g.rank - 1; d >= 0; --d) {
      int64_t o = rest % g.out[d];
      rest /= g.out[d];
      src += Geometry::wrap(o, g.begin[d], g.in[d]) * stride;
      stride *= g.in[d];
    }
    y[i] = x[src];
  }
}

// Tactic 2: every output row is three memcpy runs of its source row: the wrapped head
// (the source row's last `lead` elements), the whole source row, the wrapped tail (its first
// elements).
void pad_rows_cpu(std::byte const* x, std::byte* y, Geometry const& g, size_t size) {
  size_t w = static_cast<size_t>(g.width()), lead = static_cast<size_t>(g.lead());
  size_t tail = static_cast<size_t>(g.out_width()) - w - lead;
  int64_t rows = g.out_rows();
#pragma omp parallel for schedule(static) if (rows * g.out_width() >= (int64_t{1} << 17))
  for (int64_t r = 0; r < rows; ++r) {
    std::byte const* src = x + static_cast<size_t>(g.source_row(r)) * w * size;
    std::byte* dst = y + static_cast<size_t>(r) * (lead + w + tail) * size;
    std::memcpy(dst, src + (w - lead) * size, lead * size);
    std::memcpy(dst + lead * size, src, w * size);
    std::memcpy(dst + (lead + w) * size, src, tail * size);
  }
}

void circ_pad_cpu(Tensor const& x, Tensor const& y, std::vector<int32_t> const& pads,
                  Tactic tactic) {
  Geometry g = checked_geometry(x, y, pads);
  if (tactic != 0 && tactic != 1 && tactic != 2)
    fail("plugin {}: unknown tactic {}", kId, tactic.value);
  if (g.out_numel() == 0) return;
  size_t size = element_size(x.dtype);
  if (tactic == 1) {
    switch (size) {
      case 1:
        return pad_elements_cpu(static_cast<uint8_t const*>(x.data), static_cast<uint8_t*>(y.data),
                                g);
      case 2:
        return pad_elements_cpu(static_cast<uint16_t const*>(x.data),
                                static_cast<uint16_t*>(y.data), g);
      case 4:
        return pad_elements_cpu(static_cast<uint32_t const*>(x.data),
                                static_cast<uint32_t*>(y.data), g);
      default:
        return pad_elements_cpu(static_cast<uint64_t const*>(x.data),
                                static_cast<uint64_t*>(y.data), g);
    }
  }
  pad_rows_cpu(static_cast<std::byte const*>(x.data), static_cast<std::byte*>(y.data), g, size);
}

#ifdef __CUDACC__
// ---- CUDA -----------------------------------------------------------------------------------
// Tactic 1: one thread per output element, index arithmetic over every dimension in 64 bits
// (what the seed's Triton kernel does). Also the fallback of tactic 2 for what it does not
// take: unaligned buffers, tensors of 2^31 elements or more, and the last partial vector.
template <class S>
__global__ void circ_pad_elements_kernel(S const* __restrict__ x, S* __restrict__ y, int64_t first,
                                         int64_t n, Geometry g) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = first + static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += step) {
    int64_t rest = i, src = 0, stride = 1;
    for (int d = g.rank - 1; d >= 0; --d) {
      int64_t o = rest % g.out[d];
      rest /= g.out[d];
      int64_t k = o - g.begin[d];
      k = k < 0 ? k + g.in[d] : (k >= g.in[d] ? k - g.in[d] : k);
      src += k * stride;
      stride *= g.in[d];
    }
    y[i] = x[src];
  }
}

template <class S>
void launch_elements(S const* x, S* y, int64_t first, int64_t n, Geometry const& g,
                     cudaStream_t stream) {
  if (first >= n) return;
  constexpr int kThreads = 256;
  int64_t blocks = std::min<int64_t>(cdiv(n - first, int64_t{kThreads}), int64_t{1} << 30);
  circ_pad_elements_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(x, y, first, n,
                                                                                   g);
  QDP_CUDA_CHECK(cudaGetLastError());
}

// Division by a run-time constant as a multiply-high, add and shift (Granlund-Montgomery, as
// PyTorch's IntDivider): exact for dividends and divisors in [1, 2^31).
struct FastDivider {
  uint32_t divisor = 1, multiplier = 1, shift = 0;
  FastDivider() = default;
  explicit FastDivider(uint32_t d) : divisor(d) {
    while ((uint64_t{1} << shift) < d) ++shift;
    multiplier =
        static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
  }
  __host__ __device__ uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    uint32_t hi = __umulhi(n, multiplier);
#else
    uint32_t hi = static_cast<uint32_t>((uint64_t{n} * multiplier) >> 32);
#endif
    return (hi + n) >> shift;
  }
};

// Tactic 2's geometry in 32-bit indices (tensors below 2^31 elements).
struct RowGeometry {
  int row_dims = 0;        // dimensions above the row
  uint32_t width = 1;      // input row
  uint32_t out_width = 1;  // output row
  uint32_t lead = 0;       // pad before the row's first element
  uint32_t vectors = 0;    // whole 16-byte vectors of the output
  uint32_t in_numel = 0;
  uint32_t chunks = 1;           // row-task kernel: tasks (32 vectors each) per output row
  uint32_t tasks = 0;            // row-task kernel: output rows * chunks
  FastDivider by_chunks;         // task -> output row
  FastDivider by_out_width;      // flat output index -> output row
  FastDivider by_out[kMaxRank];  // per row dimension: its output extent
  // row-task kernel: the innermost row dimension (extent 1 where there is none)
  uint32_t last_out = 1, last_in = 1, last_begin = 0;
  FastDivider by_last;
  uint32_t out[kMaxRank] = {};
  uint32_t in[kMaxRank] = {};
  uint32_t begin[kMaxRank] = {};
  uint32_t in_stride[kMaxRank] = {};  // in input rows

  __host__ __device__ static uint32_t wrap(uint32_t o, uint32_t b, uint32_t n) {
    return o < b ? o + n - b : (o - b >= n ? o - b - n : o - b);
  }
  // The first input element of the input row that output row `r` copies.
  __host__ __device__ uint32_t source_row(uint32_t r) const {
    uint32_t src = 0;
    for (int d = row_dims - 1; d >= 1; --d) {
      uint32_t q = by_out[d].div(r);
      src += wrap(r - q * out[d], begin[d], in[d]) * in_stride[d];
      r = q;
    }
    if (row_dims > 0) src += wrap(r, begin[0], in[0]) * in_stride[0];
    return src * width;
  }
  // The input row (in rows, not elements) of the dimensions above the innermost row dimension
  // for `q` = output row / that dimension's output extent.
  __host__ __device__ uint32_t base_row(uint32_t q) const {
    uint32_t src = 0;
    for (int d = row_dims - 2; d >= 1; --d) {
      uint32_t p = by_out[d].div(q);
      src += wrap(q - p * out[d], begin[d], in[d]) * in_stride[d];
      q = p;
    }
    if (row_dims > 1) src += wrap(q, begin[0], in[0]) * in_stride[0];
    return src;
  }
};

__host__ __device__ inline uint4 load16(void const* p) {
#ifdef __CUDA_ARCH__
  return __ldg(static_cast<uint4 const*>(p));
#else
  return *static_cast<uint4 const*>(p);
#endif
}
__host__ __device__ inline void store16(void* p, uint4 v) {
#ifdef __CUDA_ARCH__
  __stcs(static_cast<uint4*>(p), v);  // streamed: written once, not read back
#else
  *static_cast<uint4*>(p) = v;
#endif
}

// Tactic 2, the fast kernel. The output is written as aligned 16-byte vectors, 32 consecutive
// vectors per warp instruction (512 contiguous bytes: full sectors, fully coalesced), each warp
// taking kRowUnroll such groups so that that many loads are in flight per thread.
// A vector inside the interior of one output row copies 16 contiguous bytes of its source row,
// which start `shift` bytes past a 16-byte boundary (output rows of 258 floats and input rows
// of 256 don't line up). The thread loads the aligned vector A that holds the start and takes
// the next aligned vector B from its neighbour lane, whose own A that is (a shuffle, not a
// second load, so each input byte is requested from L2 about once); the last lane and lanes
// whose neighbour is elsewhere load B themselves. Vectors that cross a row's end or the wrap
// (3 of 129 per two 258-float rows, 5 of 129 per four 258-half rows) gather element by element
// from lines their neighbours fetch anyway. Every load is issued before the first is used: one
// memory round trip per kRowUnroll vectors. Index arithmetic is 32-bit with multiply-shift
// division, once per vector (about 80 instructions per 32 bytes moved, a quarter of the issue
// rate an H100 SM has at full memory bandwidth).
//
// Prediction for (64,64,256,256), pads 1, on an H100 (D2D copy there: ~2940 GB/s): about
// 93 % of copy bandwidth in FP32 and 91 % in FP16 (~2.7 TB/s). [Measured: FP32 98 %, FP16 only
// 71 %, issue bound; 1- and 2-byte elements now take circ_pad_row_tasks_warp, see there.] FP16
// moves the same 16-byte vectors as FP32, so it is not penalised as the per-element kernels (tactic
// 1, the seed's Triton kernel, PyTorch's narrow copies) are; what is lost against the copy is the
// gathered edge vectors (2-4 %), the H wrap's re-read rows (2 of 258 per plane, mostly L2 hits) and
// the tail of each wave.
//
// `Warp` gives the lane and the shuffle; the kernel passes CUDA's, and the function is
// __host__ __device__ so that the same code can be checked against a lane-by-lane emulation.
constexpr int kRowThreads = 256;
constexpr int kRowUnroll = 4;
#ifdef __CUDA_ARCH__
#define QDP_CIRC_PAD_UNROLL _Pragma("unroll")
#else  // the host compiler knows no such pragma
#define QDP_CIRC_PAD_UNROLL
#endif

struct CudaWarp {
  __device__ uint32_t lane() const { return threadIdx.x & 31u; }
  __device__ uint32_t down(uint32_t v) const { return __shfl_down_sync(0xffffffffu, v, 1); }
};

template <class S, class Warp>
__host__ __device__ void circ_pad_rows_warp(Warp const& warp, uint32_t first_vector,
                                            S const* __restrict__ x, S* __restrict__ y,
                                            RowGeometry const& g) {
  constexpr uint32_t kLanes = 16 / sizeof(S);
  constexpr uint32_t kNone = 0xffffffffu;
  uint32_t lane = warp.lane();
  uint4 v[kRowUnroll], b[kRowUnroll];
  // A fast vector: `start` is the aligned source vector holding its first element, `shift` the
  // bytes past it. A slow one: `start` and `shift` are the first elements of the source rows of
  // its row and of the next, `col` is its first element's output column.
  uint32_t start[kRowUnroll], shift[kRowUnroll], col[kRowUnroll];
  bool active[kRowUnroll], fast[kRowUnroll], own_b[kRowUnroll];
  // Where each vector comes from: index arithmetic only, no memory.
  QDP_CIRC_PAD_UNROLL
  for (int u = 0; u < kRowUnroll; ++u) {
    uint32_t vec = first_vector + static_cast<uint32_t>(u) * 32 + lane;
    active[u] = vec < g.vectors;
    fast[u] = false;
    start[u] = shift[u] = col[u] = 0;
    if (active[u]) {
      uint32_t e = vec * kLanes;
      uint32_t row = g.by_out_width.div(e);
      uint32_t j = e - row * g.out_width;
      uint32_t src = g.source_row(row);
      if (j >= g.lead && j - g.lead + kLanes <= g.width) {  // inside the row's interior
        uint32_t s = src + (j - g.lead);
        uint32_t a = s & ~(kLanes - 1);
        fast[u] = s == a || a + 2 * kLanes <= g.in_numel;  // B must lie inside the input
        start[u] = a;
        shift[u] = (s - a) * static_cast<uint32_t>(sizeof(S));
      }
      if (!fast[u]) {
        // Rows hold at least kLanes elements: a vector spans at most two of them.
        start[u] = src;
        shift[u] = j + kLanes > g.out_width ? g.source_row(row + 1) : src;
        col[u] = j;
      }
    }
    uint32_t next = warp.down(fast[u] ? start[u] : kNone);
    own_b[u] = fast[u] && shift[u] != 0 && !(lane < 31 && next == start[u] + kLanes);
  }
  // Every load, before any is used.
  QDP_CIRC_PAD_UNROLL
  for (int u = 0; u < kRowUnroll; ++u) {
    if (fast[u]) {
      v[u] = load16(x + start[u]);
      if (own_b[u]) b[u] = load16(x + start[u] + kLanes);
    } else if (active[u]) {
      S* lanes = reinterpret_cast<S*>(&v[u]);
      QDP_CIRC_PAD_UNROLL
      for (uint32_t k = 0; k < kLanes; ++k) {
        uint32_t j = col[u] + k;
        bool next_row = j >= g.out_width;
        j -= next_row ? g.out_width : 0;
        lanes[k] = x[(next_row ? shift[u] : start[u]) + RowGeometry::wrap(j, g.lead, g.width)];
      }
    }
  }
  // Shift into place, store.
  QDP_CIRC_PAD_UNROLL
  for (int u = 0; u < kRowUnroll; ++u) {
    uint4 n =
        make_uint4(warp.down(v[u].x), warp.down(v[u].y), warp.down(v[u].z), warp.down(v[u].w));
    if (fast[u] && shift[u] != 0) v[u] = circ_pad_bytes_from(v[u], own_b[u] ? b[u] : n, shift[u]);
    if (active[u])
      store16(y + static_cast<size_t>(first_vector + static_cast<uint32_t>(u) * 32 + lane) * kLanes,
              v[u]);
  }
}

template <class S>
__global__ void __launch_bounds__(kRowThreads)
    circ_pad_rows_kernel(S const* __restrict__ x, S* __restrict__ y, RowGeometry g) {
  uint32_t warp = (blockIdx.x * kRowThreads + threadIdx.x) / 32;
  circ_pad_rows_warp(CudaWarp{}, warp * 32 * kRowUnroll, x, y, g);
}

// Tactic 2 for 1- and 2-byte elements: the same 16-byte vectors, but each warp task is up to 32
// consecutive aligned vectors of ONE output row (a row of width <= 32 * 16 bytes is one task),
// so that the row's index arithmetic is done once per task (uniform over the warp) and no
// vector crosses a row or the wrap:
//   [row start, vs)  the wrapped head and the ragged start: one element per lane, lanes 0-15
//   [vs, ve)         aligned vectors wholly inside the row's interior (the source row, shifted):
//                    aligned load A, the next aligned vector B from the neighbour lane (its A)
//                    by shuffle, byte shift, aligned streaming store; never a gather
//   [ve, row end)    the ragged end and the wrapped tail: one element per lane, lanes 16-31
// (element loops go on past 16 elements only where the pads are that large). Consecutive
// tasks are the same or the next output row, so the source row is carried from task to task:
// the full index arithmetic over the row dimensions runs only where the innermost of them
// wraps (its output extent), not per task.
//
// Why, from the SASS (sm_90) of the previous version, which also had one row per task but
// gathered the two vectors per row that overlap the wrapped pads element by element and ran
// the generic source_row loop (dynamically indexed constant loads) for every task: per
// 516-byte FP16 row ~145 warp instructions of index arithmetic, ~90 of loads (the 8-element
// wrap gather, executed divergently in every task since every row has such vectors) and ~60
// of shift and store: ~295 per task. At 0.40 ms there are ~2.6 G tasks/s against ~9.3e11
// warp instructions/s of issue (132 SMs x 4 schedulers x ~1.76 GHz), a budget of ~350 per
// task at 100 % issue: 295 needs ~85 % issue efficiency, hence issue bound again (measured
// 0.4495 ms = ~75 % of issue peak). Here (SASS, common path): ~95 (row carried, vector,
// element runs) + ~15 (loads) + ~55 (shuffles, shift, stores) = ~165 per task, under half.
// Prediction for (64,64,256,256) FP16, pads 1, on an H100: memory bound, ~0.38-0.39 ms,
// ~2.8 TB/s = ~94 % of the D2D copy (before: 0.4495 ms, 82 %). FP32 keeps circ_pad_rows_warp.
template <class S, class Warp>
__host__ __device__ void circ_pad_row_tasks_warp(Warp const& warp, uint32_t first_task,
                                                 S const* __restrict__ x, S* __restrict__ y,
                                                 RowGeometry const& g) {
  constexpr uint32_t kLanes = 16 / sizeof(S);
  constexpr uint32_t kNone = 0xffffffffu;
  uint32_t lane = warp.lane();
  uint32_t half = lane & 15u;
  uint4 v[kRowUnroll], b[kRowUnroll];
  S part[kRowUnroll];
  // A vector: `start` is the aligned source vector holding its first element (`shift` bytes
  // into it), `out_e` its first output element. `slow`: B would pass the input's end, so the
  // (interior, contiguous) source elements are read one by one.
  uint32_t start[kRowUnroll], shift[kRowUnroll], out_e[kRowUnroll];
  uint32_t part_e[kRowUnroll], part_src[kRowUnroll];
  bool active[kRowUnroll], own_b[kRowUnroll], slow[kRowUnroll], has_part[kRowUnroll];
  // The carried source row: output row `cur` is in position `o` of the innermost row
  // dimension, `base` the input row of the dimensions above it.
  uint32_t cur = kNone, o = 0, base = 0;
  QDP_CIRC_PAD_UNROLL
  for (int u = 0; u < kRowUnroll; ++u) {
    uint32_t t = first_task + static_cast<uint32_t>(u);
    active[u] = has_part[u] = slow[u] = false;
    start[u] = shift[u] = out_e[u] = part_e[u] = part_src[u] = 0;
    if (t < g.tasks) {  // uniform over the warp
      uint32_t row = g.by_chunks.div(t);
      uint32_t chunk = t - row * g.chunks;
      if (row != cur) {
        o += row - cur;  // the next row, mostly
        if (cur == kNone || o >= g.last_out) {
          uint32_t q = g.by_last.div(row);
          o = row - q * g.last_out;
          base = g.base_row(q);
        }
        cur = row;
      }
      uint32_t src = (base + RowGeometry::wrap(o, g.last_begin, g.last_in)) * g.width;
      uint32_t row_e = row * g.out_width, row_end = row_e + g.out_width;
      uint32_t i0 = row_e + g.lead, i1 = i0 + g.width;  // the interior
      uint32_t vs = (i0 + kLanes - 1) & ~(kLanes - 1), ve = i1 & ~(kLanes - 1);
      if (ve < vs) vs = ve = i1;  // no whole vector inside the interior
      uint32_t e = vs + (chunk * 32 + lane) * kLanes;
      active[u] = e < ve;
      out_e[u] = e;
      uint32_t s = src + (e - i0);
      uint32_t a = s & ~(kLanes - 1);
      start[u] = a;
      shift[u] = (s - a) * static_cast<uint32_t>(sizeof(S));  // the same for the whole task
      if (chunk == 0) {  // the element runs: lanes 0-15 the head, 16-31 the tail
        uint32_t first = lane < 16 ? row_e : ve, len = lane < 16 ? vs - row_e : row_end - ve;
        has_part[u] = half < len;
        part_e[u] = first + half;
        part_src[u] = src + RowGeometry::wrap(first + half - row_e, g.lead, g.width);
        if (vs - row_e > 16 || row_end - ve > 16) {  // large pads (uniform): the rest here
          for (uint32_t m = half + 16; m < len; m += 16)
            y[first + m] = x[src + RowGeometry::wrap(first + m - row_e, g.lead, g.width)];
        }
      }
    }
    bool needs_b = active[u] && shift[u] != 0;
    slow[u] = needs_b && start[u] + 2 * kLanes > g.in_numel;  // B would pass the input's end
    uint32_t next = warp.down(active[u] && !slow[u] ? start[u] : kNone);
    own_b[u] = needs_b && !slow[u] && !(lane < 31 && next == start[u] + kLanes);
  }
  // Every load, before any is used.
  QDP_CIRC_PAD_UNROLL
  for (int u = 0; u < kRowUnroll; ++u) {
    if (slow[u]) {
      S* lanes = reinterpret_cast<S*>(&v[u]);
      uint32_t s = start[u] + shift[u] / static_cast<uint32_t>(sizeof(S));
      QDP_CIRC_PAD_UNROLL
      for (uint32_t k = 0; k < kLanes; ++k) lanes[k] = x[s + k];
    } else if (active[u]) {
      v[u] = load16(x + start[u]);
      if (own_b[u]) b[u] = load16(x + start[u] + kLanes);
    }
    if (has_part[u]) part[u] = x[part_src[u]];
  }
  // Shift into place, store.
  QDP_CIRC_PAD_UNROLL
  for (int u = 0; u < kRowUnroll; ++u) {
    uint4 n =
        make_uint4(warp.down(v[u].x), warp.down(v[u].y), warp.down(v[u].z), warp.down(v[u].w));
    if (active[u] && !slow[u] && shift[u] != 0)
      v[u] = circ_pad_bytes_from(v[u], own_b[u] ? b[u] : n, shift[u]);
    if (active[u]) store16(y + out_e[u], v[u]);
    if (has_part[u]) y[part_e[u]] = part[u];
  }
}

template <class S>
__global__ void __launch_bounds__(kRowThreads, 4)  // <= 64 registers: 32 warps per SM
    circ_pad_row_tasks_kernel(S const* __restrict__ x, S* __restrict__ y, RowGeometry g) {
  uint32_t warp = (blockIdx.x * kRowThreads + threadIdx.x) / 32;
  circ_pad_row_tasks_warp(CudaWarp{}, warp * kRowUnroll, x, y, g);
}

// Whether tactic 2 takes the row-task kernel: 1- and 2-byte elements (4 and 8 bytes keep
// circ_pad_rows_warp, at copy speed already), rows of at least 16 whole vectors (so that at
// least half the lanes of a task work).
inline bool use_row_tasks(int64_t out_width, size_t size) {
  return size <= 2 && out_width / static_cast<int64_t>(16 / size) >= 16;
}

RowGeometry row_geometry(Geometry const& g, size_t size) {
  RowGeometry r;
  r.row_dims = g.rank - 1;
  r.width = static_cast<uint32_t>(g.width());
  r.out_width = static_cast<uint32_t>(g.out_width());
  r.lead = static_cast<uint32_t>(g.lead());
  r.vectors = static_cast<uint32_t>(g.out_numel() / static_cast<int64_t>(16 / size));
  r.in_numel = static_cast<uint32_t>(g.in_numel());
  r.by_out_width = FastDivider(r.out_width);
  // whole vectors inside a row's interior, at most
  uint32_t row_vectors = r.width / static_cast<uint32_t>(16 / size);
  r.chunks = std::max<uint32_t>(1, (row_vectors + 31) / 32);
  r.tasks = static_cast<uint32_t>(std::min<int64_t>(g.out_rows() * r.chunks, INT32_MAX));
  r.by_chunks = FastDivider(r.chunks);
  uint32_t stride = 1;
  for (int d = r.row_dims - 1; d >= 0; --d) {
    r.out[d] = static_cast<uint32_t>(g.out[d]);
    r.in[d] = static_cast<uint32_t>(g.in[d]);
    r.begin[d] = static_cast<uint32_t>(g.begin[d]);
    r.by_out[d] = FastDivider(r.out[d]);
    r.in_stride[d] = stride;
    stride *= r.in[d];
  }
  if (r.row_dims > 0) {
    int last = r.row_dims - 1;
    r.last_out = r.out[last];
    r.last_in = r.in[last];
    r.last_begin = r.begin[last];
    r.by_last = r.by_out[last];
  }
  return r;
}

template <class S>
__global__ void circ_pad_staged_kernel(S const* __restrict__ x, S* __restrict__ y,
                                       CircPadStaged g) {
  circ_pad_staged(x, y, g);
}

// Tactic 2: the staged kernel (circ_pad_staged.cuh) with the AOT tactic 1's staging, when a row
// fits its budget (the row kernels below take wider rows). Returns false where it does not apply.
template <class S>
bool launch_staged(S const* x, S* y, Geometry const& g, cudaStream_t stream) {
  CircPadStaging const& staging = kCircPadStaging[0];
  int64_t const row_bytes = g.width() * static_cast<int64_t>(sizeof(S));
  int64_t const per_block =
      std::min<int64_t>(staging.bytes_per_stage / row_bytes, QDP_CIRC_PAD_MAX_STAGED_ROWS);
  if (per_block < 1) return false;
  CircPadStaged s{};
  s.rows = static_cast<unsigned>(g.out_rows());
  s.width = static_cast<unsigned>(g.width());
  s.out_width = static_cast<unsigned>(g.out_width());
  s.lead = static_cast<unsigned>(g.lead());
  s.rows_per_block = static_cast<unsigned>(per_block);
  s.row_dims = g.rank - 1;
  for (int d = 0; d + 1 < g.rank; ++d) {
    s.out[d] = static_cast<unsigned>(g.out[d]);
    s.in[d] = static_cast<unsigned>(g.in[d]);
    s.begin[d] = static_cast<unsigned>(g.begin[d]);
  }
  size_t const smem =
      std::max<size_t>(16 * size_t{circ_pad_stage_vectors(s.rows_per_block, s.width, sizeof(S))},
                       static_cast<size_t>(staging.min_shared_bytes));
  int64_t const blocks = cdiv(int64_t{s.rows}, per_block);
  circ_pad_staged_kernel<<<static_cast<unsigned>(blocks), staging.threads, smem, stream>>>(x, y, s);
  QDP_CUDA_CHECK(cudaGetLastError());
  return true;
}

template <class S>
void circ_pad_cuda_typed(S const* x, S* y, Geometry const& g, Tactic tactic, cudaStream_t stream) {
  int64_t n = g.out_numel();
  bool aligned =
      reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  bool fits = n < (int64_t{1} << 31) && g.in_numel() < (int64_t{1} << 31);
  bool wide = g.out_width() >= static_cast<int64_t>(16 / sizeof(S));  // a vector spans <= 2 rows
  if (tactic == 1 || !aligned || !fits || !wide) return launch_elements(x, y, 0, n, g, stream);
  if (launch_staged(x, y, g, stream)) return;
  RowGeometry rg = row_geometry(g, sizeof(S));
  if constexpr (sizeof(S) <= 2) {
    if (use_row_tasks(g.out_width(), sizeof(S)) &&
        g.out_rows() * int64_t{rg.chunks} < (int64_t{1} << 31)) {
      int64_t blocks = cdiv(int64_t{rg.tasks}, int64_t{kRowThreads / 32} * kRowUnroll);
      circ_pad_row_tasks_kernel<<<static_cast<unsigned>(blocks), kRowThreads, 0, stream>>>(x, y,
                                                                                           rg);
      QDP_CUDA_CHECK(cudaGetLastError());
      return;
    }
  }
  if (rg.vectors > 0) {
    int64_t blocks = cdiv(int64_t{rg.vectors}, int64_t{kRowThreads} * kRowUnroll);
    circ_pad_rows_kernel<<<static_cast<unsigned>(blocks), kRowThreads, 0, stream>>>(x, y, rg);
    QDP_CUDA_CHECK(cudaGetLastError());
  }
  launch_elements(x, y, int64_t{rg.vectors} * static_cast<int64_t>(16 / sizeof(S)), n, g, stream);
}

void circ_pad_cuda(Tensor const& x, Tensor const& y, std::vector<int32_t> const& pads,
                   Tactic tactic, cudaStream_t stream) {
  Geometry g = checked_geometry(x, y, pads);
  if (tactic != 0 && tactic != 1 && tactic != 2)
    fail("plugin {}: unknown tactic {}", kId, tactic.value);
  if (g.out_numel() == 0) return;
  switch (element_size(x.dtype)) {
    case 1:
      return circ_pad_cuda_typed(static_cast<uint8_t const*>(x.data), static_cast<uint8_t*>(y.data),
                                 g, tactic, stream);
    case 2:
      return circ_pad_cuda_typed(static_cast<uint16_t const*>(x.data),
                                 static_cast<uint16_t*>(y.data), g, tactic, stream);
    case 4:
      return circ_pad_cuda_typed(static_cast<uint32_t const*>(x.data),
                                 static_cast<uint32_t*>(y.data), g, tactic, stream);
    default:
      return circ_pad_cuda_typed(static_cast<uint64_t const*>(x.data),
                                 static_cast<uint64_t*>(y.data), g, tactic, stream);
  }
}
#endif  // __CUDACC__

}  // namespace

void define_circ_pad(bool multi_tactic) {
  auto plugin =
      qdp::define(std::string(kId))
          .desc([](TensorDesc const& x, CircPadAttrs const& a) {
            int padded = padded_dims(a.pads, x.rank());
            std::vector<ShapeExpr> shape = x.shape_expr;
            for (int k = 0; k < padded; ++k) {
              int d = x.rank() - 1 - k;
              size_t i = 2 * static_cast<size_t>(k);
              ShapeExpr const& n = shape[static_cast<size_t>(d)];
              // A dynamic extent is checked when the impl runs.
              if (n.is_constant()) {
                if (a.pads[i] > n.constant()) pad_too_large(a.pads[i], i, d, n.constant());
                if (a.pads[i + 1] > n.constant())
                  pad_too_large(a.pads[i + 1], i + 1, d, n.constant());
              }
              shape[static_cast<size_t>(d)] = n + a.pads[i] + a.pads[i + 1];
            }
            return from_shape_expr(std::move(shape), x.dtype);
          })
          .impl<qdp::cpu>([](In<> x, Out<> y, CircPadAttrs const& a, Tactic t) {
            circ_pad_cpu(x.tensor(), y.tensor(), a.pads, t);
          })
#ifdef __CUDACC__
          .impl<qdp::cuda>([](In<> x, Out<> y, CircPadAttrs const& a, Tactic t, Stream s) {
            circ_pad_cuda(x.tensor(), y.tensor(), a.pads, t, native(s));
          })
#endif
          // The AOT variant: a kernel compiled at build time and baked into the engine.
          .aot_impl([](TensorDesc const& x, CircPadAttrs const& a, Outputs outs, Tactic t) {
            return circ_pad_aot_kernel(x, a.pads, outs[0], t);
          });
  if (multi_tactic) {
    std::move(plugin)
        .autotune([](TensorDesc const&, CircPadAttrs const&) {
          AutoTuneCombination c;
          c.pos({0, 1}, "FP32|FP16");
          c.tactics({1, 2});
          return std::vector{c};
        })
        .commit();
  } else {
    std::move(plugin).commit();
  }
}

}  // namespace qdp::samples
