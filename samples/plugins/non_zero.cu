// sample::non_zero_plugin(X): the row/column coordinates (int32, (N, 2), row-major order) of the
// non-zero entries of a rank-2 X, and N as an int64 size tensor (SPEC §1 "Size tensors", §3).
// ±0 is zero; NaN is non-zero (as torch.nonzero and numpy.nonzero).
//
// The CUDA impl is one pass (SPEC §6: 8192x8192 fp32 with half zeros in <= 40 % of
// torch.nonzero's time). Performance reasoning:
//  - The floor is reading X once and writing the pairs once: 256 MB + 8 B x N (268 MB at half
//    zeros) at ~3 TB/s ~= 0.17 ms. torch.nonzero reads X twice (a count, then a select), writes
//    and re-reads int64 linear indices and writes int64 pairs (~1.6 GB, ~0.66 ms on an H100).
//  - cub::DeviceSelect::If over a counting iterator with a predicate that reads X would also be
//    one pass, but CUB loads the (counting) items in a blocked arrangement and the predicate then
//    gathers X with one 4-byte load per item: each warp-wide load touches ~10 cache lines, so
//    there are ~4x more load instructions and ~10x more L1 wavefronts than with 16-byte coalesced
//    loads, and its tuning is for 8-byte items. Prediction: ~60-75 % of copy bandwidth,
//    ~0.26-0.32 ms, on the edge of the target (bench/gpu/non_zero_bench.cu times it beside ours).
//  - Hence our own kernel, the same decoupled look-back idea as CUB's. Each block takes tile
//    blockIdx.x (32 KB of X: 256 threads x 8 vectors of 16 bytes), copies it global -> shared
//    with cp.async (LDGSTS.BYPASS.128: 8 per thread, all in flight, no registers held), turns
//    each vector into a bit mask of non-zeros, scans the counts (warp shuffles per vector, then
//    one warp over the 8 warps' runs), publishes the tile's count, compacts each warp's non-zeros
//    as 16-bit offsets in the warp's own part of the (consumed) tile buffer while warp 0 looks
//    back over predecessor tiles for the tile's offset (reading the 32 nearest predecessors'
//    states at once and summing up to the nearest inclusive one), then writes each warp's run as
//    contiguous 8-byte streaming stores. Row/column come from the tile's origin (one 64-bit
//    division per block) plus the offset (one compare when rows are at least a tile long).
//  - The look-back is what separates this kernel from a copy (H200, lab sweeps of 2026-12-02 in
//    bench/results/gpu-check-h200-2026-12-02-e.txt): with the look-back replaced by a guessed
//    offset the kernel runs in 0.144 ms (memcpy of X 0.130), with it 0.182 ms when the
//    compaction waited for it, 0.172 ms with the compaction overlapped as now. Persistent
//    double-buffered blocks (0.21), other tile sizes and loads into registers beside shared
//    memory (>= 0.171) were no faster.
//  - Measured before this version (H100, engine enqueue incl. the runtime's read-back of N):
//    fp32 0.312 ms, ~60 % of copy bandwidth. The cause: too few bytes of X in flight per SM.
//    Tiles were 16 KB held in registers (46 regs -> 5 blocks/SM, <= 80 KB/SM, and only while a
//    block was in its load phase), and every block first did an atomicAdd on the tile counter
//    (an L2 round trip, ~1 us) before it could issue a single load. Now: tile = blockIdx.x (as
//    CUB's single-pass scan: blocks are dispatched in index order, so a tile's predecessors have
//    all started), 32 KB tiles in shared memory, 40 registers (packed masks and offsets) and
//    33.5 KB of shared memory -> 6 blocks/SM, up to 192 KB of X in flight per SM.
//  - Fixed cost: up to 2 tiles (8192 fp32 / 16384 fp16 elements each) one block does them in
//    turn with a running offset: no scratch, so no pool allocation, memset or free (three API
//    calls and a memset on the GPU, several us while the GPU waits on the host). Larger inputs
//    use scratch (8 bytes per tile, 64 KB at 8192x8192 fp32) that the plugin declares as its
//    workspace: a slice of the execution context's arena, zeroed by a memset per run.
//  - Predictions (H100, same bench): fp32 8192x8192 ~0.20-0.22 ms (~85 % of copy bandwidth;
//    ~32 % of torch.nonzero's 0.666 ms), fp16 ~0.15-0.17 ms (~27 %), 128x128 fp32 ~0.024-0.027
//    ms (from 0.031; the read-back sync and D2H copy of N remain).
#include <cstdint>
#include <limits>
#include <qdp/plugin.hpp>
#include <tuple>

#include "plugins/sample_plugins.hpp"

#ifdef __CUDACC__
#include <cuda/atomic>
#include <qdp/cuda.hpp>
#endif

namespace qdp::samples {
namespace {

// Coordinates are int32: each extent must fit.
void check_extents(int64_t rows, int64_t cols) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (rows > kMax || cols > kMax)
    fail("sample::non_zero_plugin writes int32 coordinates; a {}x{} input has an extent above {}",
         rows, cols, kMax);
}

template <class T>
void non_zero_cpu(T const* x, int64_t rows, int64_t cols, int32_t* out, int64_t* count) {
  int64_t k = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (static_cast<float>(x[r * cols + c]) != 0.0f) {  // NaN != 0: non-zero
        out[2 * k] = static_cast<int32_t>(r);
        out[2 * k + 1] = static_cast<int32_t>(c);
        ++k;
      }
  *count = k;
}

// Elements of one tile of the CUDA kernel: what its scratch (one state per tile) is counted in.
constexpr int kThreads = 256;
constexpr int kVectors = 8;  // 16-byte vectors per thread and tile: a tile is 32 KB of X
constexpr int64_t tile_elements(size_t element_bytes) {
  return int64_t{kThreads} * kVectors * static_cast<int64_t>(16 / element_bytes);
}

#ifdef __CUDACC__
constexpr int kWarps = kThreads / 32;
static_assert(kWarps <= 32, "the warps' counts are scanned by one warp");
constexpr int kMinBlocks = 6;  // per SM: 6 x 33 KB of shared memory, <= 40 registers a thread
constexpr unsigned kFull = 0xffffffffu;

// Tile states of the look-back, one 64-bit word each: status in the top two bits, count below.
constexpr unsigned long long kInvalid = 0;
constexpr unsigned long long kAggregate = 1ull << 62;  // the tile's own count
constexpr unsigned long long kInclusive = 2ull << 62;  // the count of this tile and all before
constexpr unsigned long long kValueMask = (1ull << 62) - 1;

using TileState = ::cuda::atomic_ref<unsigned long long, ::cuda::thread_scope_device>;

// Bits is the element's bit pattern (uint32_t for FP32, uint16_t for FP16); the sign bit aside,
// any set bit is a non-zero (so NaN counts, ±0 does not).
template <class Bits>
__device__ __forceinline__ bool nonzero_bits(Bits b) {
  if constexpr (sizeof(Bits) == 4)
    return (b & 0x7fffffffu) != 0;
  else
    return (b & 0x7fffu) != 0;
}
template <class Bits>
__device__ __forceinline__ unsigned vector_mask(uint4 v) {
  uint32_t w[4] = {v.x, v.y, v.z, v.w};
  unsigned m = 0;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    if constexpr (sizeof(Bits) == 4) {
      m |= static_cast<unsigned>((w[k] & 0x7fffffffu) != 0) << k;
    } else {
      m |= static_cast<unsigned>((w[k] & 0x7fffu) != 0) << (2 * k);
      m |= static_cast<unsigned>((w[k] & 0x7fff0000u) != 0) << (2 * k + 1);
    }
  }
  return m;
}

// 16 bytes global -> shared without registers (cp.async, cached in L2 only: X is read once).
__device__ __forceinline__ void copy16_async(void* smem, void const* gmem) {
  auto s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem) : "memory");
}
__device__ __forceinline__ void copy_async_wait_all() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
}

template <class V>
__device__ __forceinline__ V warp_inclusive_sum(V v, int lane) {
#pragma unroll
  for (int d = 1; d < 32; d *= 2) {
    V u = __shfl_up_sync(kFull, v, d);
    if (lane >= d) v += u;
  }
  return v;
}

__device__ __forceinline__ void publish(unsigned long long* states, int64_t tile,
                                        unsigned long long status, int64_t count) {
  TileState(states[tile])
      .store(status | static_cast<unsigned long long>(count), ::cuda::memory_order_relaxed);
}

// Warp 0 of tile `tile` (all 32 lanes), once the tile's aggregate is published: returns the count
// of every tile before it and publishes the inclusive count. One pass of the loop inspects the 32
// nearest predecessors at once (one per lane) and sums them up to the nearest inclusive one.
__device__ int64_t wait_for_prefix(unsigned long long* states, int64_t tile, int64_t aggregate,
                                   int lane) {
  int64_t prefix = 0;
  for (int64_t nearest = tile - 1;; nearest -= 32) {
    int64_t p = nearest - lane;         // lane 0 looks at the nearest predecessor
    unsigned long long s = kInclusive;  // before tile 0: an inclusive count of 0
    while (true) {
      if (p >= 0) s = TileState(states[p]).load(::cuda::memory_order_relaxed);
      if (!__any_sync(kFull, s == kInvalid)) break;
      __nanosleep(32);  // a predecessor has not published yet: it is still loading
    }
    unsigned inclusive = __ballot_sync(kFull, (s & ~kValueMask) == kInclusive);
    int last = inclusive ? __ffs(static_cast<int>(inclusive)) - 1 : 31;
    int64_t v = lane <= last ? static_cast<int64_t>(s & kValueMask) : 0;
#pragma unroll
    for (int d = 16; d > 0; d /= 2) v += __shfl_xor_sync(kFull, v, d);
    prefix += v;
    if (inclusive) break;
  }
  if (lane == 0) publish(states, tile, kInclusive, prefix + aggregate);
  return prefix;
}

// Tiles of kThreads x kVectors vectors of 16 bytes. Warp w owns the w-th contiguous range of its
// tile, kVectors x 32 vectors (vector v of lane l at (32 v + l) x kLanes elements into it): each
// warp-wide copy is 512 contiguous bytes, and the warp's non-zeros are one contiguous run of the
// output. Tile t is block t's (states != nullptr: the grid has one block per tile, and offsets
// come from the look-back), or every tile is the one block's in turn (states == nullptr: a running
// offset, for a few tiles, with no scratch). kVec: X is 16-byte aligned and the output 8-byte
// aligned (else scalar loads and 4-byte stores, still correct).
template <class Bits, bool kVec>
__global__ void __launch_bounds__(kThreads, kMinBlocks)
    non_zero_kernel(Bits const* __restrict__ x, int64_t n, int64_t cols, int32_t* __restrict__ out,
                    int64_t* __restrict__ count, unsigned long long* states, int64_t num_tiles) {
  constexpr int kLanes = 16 / sizeof(Bits);  // elements per vector
  constexpr int kWarpElems = kVectors * 32 * kLanes;
  constexpr int64_t kTileElems = int64_t{kWarps} * kWarpElems;
  // X's tile, each warp's range together; once the warp has taken its masks, its part is where it
  // compacts its non-zeros, as 16-bit offsets into its range.
  __shared__ uint4 s_tile[kWarps][kVectors][32];
  static_assert(kWarpElems * sizeof(uint16_t) <= sizeof(s_tile[0]) && kWarpElems <= 65536);
  __shared__ int s_warp_count[kWarps];
  __shared__ int64_t s_warp_base[kWarps];
  __shared__ int64_t s_origin[2];  // row and column of the tile's first element
  __shared__ int64_t s_running;    // serial mode: the count of the tiles before

  int const lane = static_cast<int>(threadIdx.x) % 32;
  int const warp = static_cast<int>(threadIdx.x) / 32;
  bool const serial = states == nullptr;
  if (serial && threadIdx.x == 0) s_running = 0;

  for (int64_t tile = blockIdx.x; tile < num_tiles; tile += gridDim.x) {
    int64_t const tile_first = tile * kTileElems;
    int64_t const warp_first = tile_first + int64_t{warp} * kWarpElems;
    auto first = [&](int v) { return warp_first + int64_t{v * 32 + lane} * kLanes; };
    // The vectors' masks (kLanes bits each) and, below, their positions in the warp's run (16
    // bits each) are packed: they stay live across the look-back, within 40 registers.
    using Masks = std::conditional_t<kLanes * kVectors <= 32, uint32_t, uint64_t>;
    Masks masks = 0;
    auto mask = [&](int v) {
      return static_cast<unsigned>(masks >> (v * kLanes)) & ((1u << kLanes) - 1);
    };
    if (kVec && tile_first + kTileElems <= n) {
#pragma unroll
      for (int v = 0; v < kVectors; ++v) copy16_async(&s_tile[warp][v][lane], x + first(v));
      copy_async_wait_all();  // each thread reads back only what it copied: no barrier
#pragma unroll
      for (int v = 0; v < kVectors; ++v)
        masks |= static_cast<Masks>(vector_mask<Bits>(s_tile[warp][v][lane])) << (v * kLanes);
    } else {  // the last tile, or an unaligned X
#pragma unroll
      for (int v = 0; v < kVectors; ++v)
        for (int j = 0; j < kLanes; ++j) {
          int64_t i = first(v) + j;
          if (i < n && nonzero_bits(x[i])) masks |= Masks{1} << (v * kLanes + j);
        }
    }

    // Positions in the warp's run (vectors in order v, then lane), then of the run in the tile.
    uint32_t position[kVectors / 2] = {};
    int warp_count = 0;
#pragma unroll
    for (int v = 0; v < kVectors; ++v) {
      int c = __popc(mask(v));
      int incl = warp_inclusive_sum(c, lane);
      position[v / 2] |= static_cast<uint32_t>(warp_count + incl - c) << (16 * (v % 2));
      warp_count += __shfl_sync(kFull, incl, 31);
    }
    if (lane == 0) s_warp_count[warp] = warp_count;
    __syncthreads();
    int64_t aggregate = 0;
    if (warp == 0) {
      int c = lane < kWarps ? s_warp_count[lane] : 0;
      int incl = warp_inclusive_sum(c, lane);
      aggregate = __shfl_sync(kFull, incl, 31);
      if (lane < kWarps) s_warp_base[lane] = incl - c;
      if (lane == 0) {  // successors may sum this count from now on
        if (!serial) publish(states, tile, tile == 0 ? kInclusive : kAggregate, aggregate);
        s_origin[0] = tile_first / cols;
        s_origin[1] = tile_first - s_origin[0] * cols;
      }
    }

    // Every warp compacts its non-zeros while warp 0 then waits for the tile's prefix: the
    // look-back's latency (an L2 round trip at least, behind the loads of every SM) is hidden
    // behind the compaction instead of adding to it.
    uint16_t* stage = reinterpret_cast<uint16_t*>(s_tile[warp]);
    __syncwarp();  // every lane has read its vectors
#pragma unroll
    for (int v = 0; v < kVectors; ++v) {
      unsigned m = mask(v);
      int p = static_cast<int>((position[v / 2] >> (16 * (v % 2))) & 0xffffu);
      int const offset = (v * 32 + lane) * kLanes;
#pragma unroll
      for (int j = 0; j < kLanes; ++j)
        if (m & (1u << j)) stage[p++] = static_cast<uint16_t>(offset + j);
    }
    if (warp == 0) {
      int64_t prefix = serial      ? s_running
                       : tile == 0 ? 0
                                   : wait_for_prefix(states, tile, aggregate, lane);
      __syncwarp();  // every lane has read s_running
      if (lane < kWarps) s_warp_base[lane] += prefix;
      if (lane == 0) {
        if (tile == num_tiles - 1) *count = prefix + aggregate;
        if (serial) s_running = prefix + aggregate;
      }
    }
    __syncthreads();

    // The warp's run: offset -> (row, column), contiguous 8-byte streaming stores. Offsets are
    // < kTileElems from the tile's origin, so unsigned 32-bit columns hold them (cols < 2^31).
    int const total = s_warp_count[warp];
    int64_t const base = s_warp_base[warp];
    int64_t const row0 = s_origin[0];
    uint32_t const col0 =
        static_cast<uint32_t>(s_origin[1]) + static_cast<uint32_t>(warp) * kWarpElems;
    uint32_t const ncols = static_cast<uint32_t>(cols);
    auto store = [&](int k, int row, uint32_t col) {
      if constexpr (kVec) {
        __stcs(reinterpret_cast<int2*>(out) + base + k, make_int2(row, static_cast<int>(col)));
      } else {
        out[2 * (base + k)] = row;
        out[2 * (base + k) + 1] = static_cast<int32_t>(col);
      }
    };
    if (cols >= kTileElems) {  // the tile starts at most one more row
      for (int k = lane; k < total; k += 32) {
        uint32_t col = col0 + stage[k];
        bool next = col >= ncols;
        store(k, static_cast<int>(row0) + next, next ? col - ncols : col);
      }
    } else {
      for (int k = lane; k < total; k += 32) {
        uint32_t col = col0 + stage[k];
        uint32_t q = col / ncols;
        store(k, static_cast<int>(row0 + q), col - q * ncols);
      }
    }
    if (serial) __syncthreads();  // the next tile reuses the shared buffers
  }
}

// Up to this many tiles, one block takes them in turn: no scratch (no pool allocation, no memset,
// no second launch) and no look-back, for a few microseconds of fixed cost less on small inputs.
constexpr int64_t kSerialTiles = 2;

template <class Bits, bool kVec>
void launch_non_zero(Bits const* x, int64_t n, int64_t cols, int32_t* out, int64_t* count,
                     unsigned long long* states, int64_t tiles, cudaStream_t stream) {
  auto kernel = non_zero_kernel<Bits, kVec>;
  // Six blocks of 33 KB of shared memory per SM need the largest carveout; set once per kernel.
  // A hint: occupancy, not correctness, depends on it; a failure is cleared so that the launch
  // check below does not report it.
  static bool const carveout = [&] {
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                             cudaSharedmemCarveoutMaxShared) == cudaSuccess)
      return true;
    (void)cudaGetLastError();
    return false;
  }();
  (void)carveout;
  unsigned blocks = states ? static_cast<unsigned>(tiles) : 1u;
  kernel<<<blocks, kThreads, 0, stream>>>(x, n, cols, out, count, states, tiles);
  QDP_CUDA_CHECK(cudaGetLastError());
}

template <class Bits>
void non_zero_cuda(Bits const* x, int64_t rows, int64_t cols, int32_t* out, int64_t* count,
                   Workspace workspace, cudaStream_t stream) {
  check_extents(rows, cols);
  int64_t n = rows * cols;
  if (n == 0) {
    QDP_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int64_t), stream));
    return;
  }
  constexpr int64_t kTileElems = tile_elements(sizeof(Bits));
  int64_t tiles = cdiv(n, kTileElems);
  if (tiles > std::numeric_limits<int32_t>::max())
    fail("sample::non_zero_plugin: {} elements are too many for one launch", n);
  bool vec = reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0;
  auto launch = vec ? launch_non_zero<Bits, true> : launch_non_zero<Bits, false>;
  if (tiles <= kSerialTiles) {
    launch(x, n, cols, out, count, nullptr, tiles, stream);
    return;
  }
  // Scratch: one state per tile, zeroed (invalid), stream-ordered.
  size_t bytes = static_cast<size_t>(tiles) * sizeof(unsigned long long);
  if (workspace.bytes < bytes)
    fail("sample::non_zero_plugin: {} bytes of workspace for {} tiles, {} needed", workspace.bytes,
         tiles, bytes);
  QDP_CUDA_CHECK(cudaMemsetAsync(workspace.data, 0, bytes, stream));
  launch(x, n, cols, out, count, workspace.as<unsigned long long>(), tiles, stream);
}

template <class T>
using BitsOf = std::conditional_t<sizeof(T) == 4, uint32_t, uint16_t>;
#endif

}  // namespace

void define_non_zero() {
  qdp::define("sample::non_zero_plugin")
      .desc([](TensorDesc const& x) {
        if (x.rank() != 2)
          fail(
              "sample::non_zero_plugin takes a rank-2 input (rows, columns); this input has rank "
              "{}",
              x.rank());
        ShapeExpr upper = x.shape_expr[0] * x.shape_expr[1];
        TensorDesc n = size_tensor(upper / 2, upper);
        return std::tuple{from_shape_expr({n.expr(), 2}, DataType::INT32), n};
      })
      .impl<qdp::cpu, float, half>([]<class T>(In<T> x, Out<int32_t> indices, Out<int64_t> count) {
        check_extents(x.shape(0), x.shape(1));
        non_zero_cpu(x.data(), x.shape(0), x.shape(1), indices.data(), count.data());
      })
#ifdef __CUDACC__
      .impl<qdp::cuda, float, __half>(
          []<class T>(In<T> x, Out<int32_t> indices, Out<int64_t> count, Workspace w, Stream s) {
            non_zero_cuda(reinterpret_cast<BitsOf<T> const*>(x.data()), x.shape(0), x.shape(1),
                          indices.data(), count.data(), w, native(s));
          })
#endif
      // The CUDA kernel's decoupled look-back keeps one 8-byte state per tile.
      .workspace([](TensorDesc const& x) {
        return cdiv(x.shape_expr[0] * x.shape_expr[1], tile_elements(element_size(x.dtype))) * 8;
      })
      .autotune([](TensorDesc const&) {
        return std::vector{AutoTuneCombination("FP32|FP16, INT32, INT64")};
      })
      .commit();
}

}  // namespace qdp::samples
