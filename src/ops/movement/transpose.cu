// onnx::Transpose(data; perm), onnx::DepthToSpace(input; blocksize, mode) and
// onnx::SpaceToDepth(input; blocksize): permutations of a tensor's axes, for every element type.
// DepthToSpace and SpaceToDepth are a transpose of a rank-6 view of their input, so all three
// run the same copy.
//
// A transpose is first simplified (plan_transpose): extent-1 axes are dropped and axes that stay
// adjacent are merged, so BERT's (B,S,H,D)->(B,H,S,D) is a copy of contiguous rows of D and a
// matrix transpose stays rank 2. On CUDA:
//  - nothing but unit axes moves: one cudaMemcpyAsync;
//  - the last axis stays last: each output row is a contiguous run of the input, copied with the
//    widest vectors that the row's bytes and the pointers' alignment allow (H200, fp16
//    (32,512,16,64)->(0,2,1,3): 34 us, ~2.0 TB/s; cudaMemcpy of the same bytes: 18.7 us);
//  - the last axis moves, both planes >= 16: a 64x64 tile through shared memory, read along the
//    input's contiguous axis and written along the output's (both coalesced). H200: fp16
//    (32,16,512,64)->(0,1,3,2) 56 us (~1.2 TB/s), fp32 8192^2 283 us (~1.9 TB/s), against
//    3.6 TB/s for a plain copy. Next step if it matters: pack pairs of 16-bit (quads of 8-bit)
//    elements per lane so that each warp request moves 128 bytes;
//  - otherwise (a short axis, where tiles would be mostly empty): one thread per output element.
#include <limits>
#include <numeric>
#include <qdp/plugin.hpp>

#include "ops/common.hpp"
#include "ops/movement/movement.hpp"

namespace qdp::ops {
namespace {

// ---- the plan ---------------------------------------------------------------------------------

// The output's extents after simplification and, for each, the input's stride in elements.
struct TransposePlan {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};
  int64_t numel = 0;  // of the whole tensor
  bool keeps_last() const { return rank == 0 || in_strides[rank - 1] == 1; }
};

// `in`: the input's shape (or a view of it); perm[k]: the input axis that becomes output axis k.
TransposePlan plan_transpose(Dims const& in, std::span<const int> perm) {
  int64_t stride[kMaxRank];
  int64_t s = 1;
  for (int i = in.rank() - 1; i >= 0; --i) {
    stride[i] = s;
    s *= in[i];
  }
  TransposePlan p;
  p.numel = s;
  for (int axis : perm) {
    if (in[axis] == 1) continue;
    // Next to the previous kept axis in the input too (only extent-1 axes between): one axis.
    if (p.rank > 0 && p.in_strides[p.rank - 1] == stride[axis] * in[axis]) {
      p.dims[p.rank - 1] *= in[axis];
      p.in_strides[p.rank - 1] = stride[axis];
    } else {
      p.dims[p.rank] = in[axis];
      p.in_strides[p.rank] = stride[axis];
      ++p.rank;
    }
  }
  return p;
}

// ---- CPU --------------------------------------------------------------------------------------

// The input offset of row-major index i over the first `rank` output axes of p.
inline int64_t leading_offset(TransposePlan const& p, int rank, int64_t i) {
  int64_t offset = 0;
  for (int d = rank - 1; d >= 0; --d) {
    offset += (i % p.dims[d]) * p.in_strides[d];
    i /= p.dims[d];
  }
  return offset;
}

// From this many elements a CPU transpose takes the thread team (see transpose_blocked_cpu);
// unused in nvcc's device pass, which sees no OpenMP.
[[maybe_unused]] constexpr int64_t kParallelFrom = 4096;

// The last two output axes swap in the input (batched matrix transposes: a K^T): 32x32 blocks,
// each read into a tile by source rows and written from it by output rows. Both CPU loops take
// the thread team from 4096 elements: BERT's (1,128,4,64) transposes read what a two-thread
// product just wrote, and alone on one thread took 0.16 ms (K^T) and 0.03 ms (Q, V) on the 2-core
// machine where two threads take 0.02-0.03 and 0.008 (2026-12-07).
template <class E>
QDP_CPU_KERNEL void transpose_blocked_cpu(E const* x, E* y, TransposePlan const& p) {
  constexpr int64_t kBlock = 32;
  int r = p.rank;
  int64_t rows = p.dims[r - 2], cols = p.dims[r - 1], col_stride = p.in_strides[r - 1];
  int64_t row_blocks = cdiv(rows, kBlock), col_blocks = cdiv(cols, kBlock);
  int64_t blocks = p.numel / (rows * cols) * row_blocks * col_blocks;
#pragma omp parallel for schedule(static) if (p.numel >= kParallelFrom)
  for (int64_t t = 0; t < blocks; ++t) {
    int64_t batch = t / (row_blocks * col_blocks), rest = t % (row_blocks * col_blocks);
    int64_t i0 = rest / col_blocks * kBlock, j0 = rest % col_blocks * kBlock;
    E const* src = x + leading_offset(p, r - 2, batch);
    E* dst = y + batch * rows * cols;
    int64_t ni = std::min(kBlock, rows - i0), nj = std::min(kBlock, cols - j0);
    // Through a tile: each source row's run is read whole, at once. Read column by column, the
    // block's 32 source rows (col_stride apart: 1 KiB for BERT's K^T) share a few cache sets,
    // which evicted them between uses (BERT-small's K^T: 0.093 -> 0.019 ms).
    E tile[kBlock][kBlock];
    for (int64_t j = 0; j < nj; ++j)
      for (int64_t i = 0; i < ni; ++i) tile[j][i] = src[(j0 + j) * col_stride + i0 + i];
    for (int64_t i = 0; i < ni; ++i)
      for (int64_t j = 0; j < nj; ++j) dst[(i0 + i) * cols + j0 + j] = tile[j][i];
  }
}

template <class E>
QDP_CPU_KERNEL void transpose_cpu(E const* x, E* y, TransposePlan const& p) {
  if (p.numel == 0) return;
  if (p.rank >= 2 && p.in_strides[p.rank - 2] == 1) return transpose_blocked_cpu(x, y, p);
  int64_t row = p.rank ? p.dims[p.rank - 1] : 1;
  int64_t step = p.rank ? p.in_strides[p.rank - 1] : 1;
  int64_t rows = p.numel / row;
#pragma omp parallel for schedule(static) if (p.numel >= kParallelFrom)
  for (int64_t r = 0; r < rows; ++r) {
    E const* src = x + leading_offset(p, p.rank - 1, r);
    E* dst = y + r * row;
    if (step == 1)
      std::copy(src, src + row, dst);
    else
      for (int64_t j = 0; j < row; ++j) dst[j] = src[j * step];
  }
}

// ---- CUDA -------------------------------------------------------------------------------------

#ifdef __CUDACC__
// Extents and strides of a walk over a row-major index; I is 32-bit when everything fits (the
// divisions of the index are most of a thread's work).
template <class I>
struct Walk {
  int rank = 0;
  I dims[kMaxRank] = {};
  I strides[kMaxRank] = {};   // of the source
  I strides2[kMaxRank] = {};  // of the destination (the tiled kernel's batch axes only)
};

// The source offset of row-major index i over w's extents (and, if `dst`, the destination's).
template <class I>
__device__ __forceinline__ I walk_offset(Walk<I> const& w, I i, I* dst = nullptr) {
  I src = 0, out = 0;
  for (int d = w.rank - 1; d >= 0; --d) {
    I q = i / w.dims[d];
    I c = i - q * w.dims[d];
    src += c * w.strides[d];
    out += c * w.strides2[d];
    i = q;
  }
  if (dst) *dst = out;
  return src;
}

// Vectors each thread of the row copy keeps in flight: one 16-byte load a thread is too few bytes
// in flight per SM to reach the memory's bandwidth.
constexpr int kUnroll = 4;

// Output row r is a contiguous run of `row` vectors of the input, at the offset of r over `rows`.
template <class V, class I>
__global__ void transpose_rows_kernel(V const* __restrict__ x, V* __restrict__ y, Walk<I> rows,
                                      I row, I total) {
  I const step = gridDim.x * blockDim.x;
  for (I first = blockIdx.x * blockDim.x + threadIdx.x; first < total; first += step * kUnroll) {
    V v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      I i = first + u * step;
      if (i < total) {
        I r = i / row;
        v[u] = x[walk_offset(rows, r) + (i - r * row)];
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (first + u * step < total) y[first + u * step] = v[u];
  }
}

// One thread per output element.
template <class E, class I>
__global__ void transpose_indexed_kernel(E const* __restrict__ x, E* __restrict__ y, Walk<I> walk,
                                         I total) {
  for (I i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x)
    y[i] = x[walk_offset(walk, i)];
}

// A block moves a kTile x kTile tile with 32 x kTileRows threads: each thread has
// (kTile / 32) x (kTile / kTileRows) = 16 independent loads in flight before the barrier (32x32
// tiles, 4 a thread, left the H200's memory idle: too few bytes in flight per SM).
constexpr int kTile = 64;
constexpr int kTileRows = 8;
constexpr int kLanes = 32;

// Axis `a` is contiguous in the input (stride 1) and has output stride a_out; axis `b` is the
// output's last (stride 1) with input stride b_in. The other axes are `batch`.
template <class I>
struct TiledParams {
  I a, b, a_out, b_in;
  I tiles_a, tiles_b, tiles;
  Walk<I> batch;
};

template <class E, class I>
__global__ void __launch_bounds__(kLanes* kTileRows)
    transpose_tiled_kernel(E const* __restrict__ x, E* __restrict__ y, TiledParams<I> p) {
  __shared__ E tile[kTile][kTile + 1];  // +1: a column read hits every bank, not one
  I const per_batch = p.tiles_a * p.tiles_b;
  for (I t = blockIdx.x; t < p.tiles; t += gridDim.x) {
    I batch = t / per_batch;
    I rest = t - batch * per_batch;
    I a0 = (rest % p.tiles_a) * kTile, b0 = (rest / p.tiles_a) * kTile;
    I out_base;
    I in_base = walk_offset(p.batch, batch, &out_base);
    // Read along a (the input's contiguous axis) ...
#pragma unroll
    for (int k = 0; k < kTile; k += kTileRows) {
#pragma unroll
      for (int c = 0; c < kTile; c += kLanes) {
        I a = a0 + c + threadIdx.x, b = b0 + k + threadIdx.y;
        if (a < p.a && b < p.b)
          tile[k + threadIdx.y][c + threadIdx.x] = x[in_base + b * p.b_in + a];
      }
    }
    __syncthreads();
    // ... write along b (the output's).
#pragma unroll
    for (int k = 0; k < kTile; k += kTileRows) {
#pragma unroll
      for (int c = 0; c < kTile; c += kLanes) {
        I b = b0 + c + threadIdx.x, a = a0 + k + threadIdx.y;
        if (a < p.a && b < p.b)
          y[out_base + a * p.a_out + b] = tile[c + threadIdx.x][k + threadIdx.y];
      }
    }
    __syncthreads();  // the next tile reuses the buffer
  }
}

constexpr int kThreads = 256;

template <class E, class I>
void transpose_cuda_typed(E const* x, E* y, TransposePlan const& p, cudaStream_t stream) {
  auto check_launch = [] { QDP_CUDA_CHECK(cudaGetLastError()); };
  if (p.rank <= 1) {  // only unit axes move: the whole tensor is one contiguous copy
    QDP_CUDA_CHECK(cudaMemcpyAsync(y, x, static_cast<size_t>(p.numel) * sizeof(E),
                                   cudaMemcpyDeviceToDevice, stream));
    return;
  }
  if (p.keeps_last()) {
    int64_t row = p.dims[p.rank - 1];
    size_t vec = vector_bytes(static_cast<size_t>(row) * sizeof(E), x, y);
    with_vector_bytes(vec, [&]<class V>(V) {
      // The pointers are aligned to E, so V is at least as wide, and a row is whole vectors.
      int64_t row_v = row * static_cast<int64_t>(sizeof(E)) / static_cast<int64_t>(sizeof(V));
      Walk<I> rows;
      rows.rank = p.rank - 1;
      for (int d = 0; d < rows.rank; ++d) {
        rows.dims[d] = static_cast<I>(p.dims[d]);
        rows.strides[d] = static_cast<I>(p.in_strides[d] / row * row_v);
      }
      I total = static_cast<I>(p.numel / row * row_v);
      transpose_rows_kernel<V, I>
          <<<grid_for(cdiv(total, kUnroll), kThreads), kThreads, 0, stream>>>(
              reinterpret_cast<V const*>(x), reinterpret_cast<V*>(y), rows, static_cast<I>(row_v),
              total);
      check_launch();
    });
    return;
  }
  int last = p.rank - 1;
  int j = 0;  // the output axis that is contiguous in the input
  while (p.in_strides[j] != 1) ++j;
  int64_t out_stride[kMaxRank];
  for (int64_t d = last, s = 1; d >= 0; --d) {
    out_stride[d] = s;
    s *= p.dims[d];
  }
  if (std::min(p.dims[j], p.dims[last]) >= 16) {
    TiledParams<I> t{};
    t.a = static_cast<I>(p.dims[j]);
    t.b = static_cast<I>(p.dims[last]);
    t.a_out = static_cast<I>(out_stride[j]);
    t.b_in = static_cast<I>(p.in_strides[last]);
    t.tiles_a = static_cast<I>(cdiv(p.dims[j], kTile));
    t.tiles_b = static_cast<I>(cdiv(p.dims[last], kTile));
    int64_t batches = 1;
    for (int d = 0; d < last; ++d) {
      if (d == j) continue;
      t.batch.dims[t.batch.rank] = static_cast<I>(p.dims[d]);
      t.batch.strides[t.batch.rank] = static_cast<I>(p.in_strides[d]);
      t.batch.strides2[t.batch.rank] = static_cast<I>(out_stride[d]);
      ++t.batch.rank;
      batches *= p.dims[d];
    }
    int64_t tiles = batches * cdiv(p.dims[j], kTile) * cdiv(p.dims[last], kTile);
    t.tiles = static_cast<I>(tiles);
    auto blocks = static_cast<unsigned>(std::min<int64_t>(tiles, int64_t{1} << 20));
    transpose_tiled_kernel<E, I><<<blocks, dim3(kLanes, kTileRows), 0, stream>>>(x, y, t);
    check_launch();
    return;
  }
  Walk<I> w;
  w.rank = p.rank;
  for (int d = 0; d < p.rank; ++d) {
    w.dims[d] = static_cast<I>(p.dims[d]);
    w.strides[d] = static_cast<I>(p.in_strides[d]);
  }
  auto total = static_cast<I>(p.numel);
  transpose_indexed_kernel<E, I>
      <<<grid_for(total, kThreads), kThreads, 0, stream>>>(x, y, w, total);
  check_launch();
}

void transpose_cuda(void const* x, void* y, size_t element_bytes, TransposePlan const& p,
                    cudaStream_t stream) {
  if (p.numel == 0) return;
  with_element_bytes(element_bytes, [&]<class E>(E) {
    // 32-bit indices when every index and offset (and a grid-stride step past the end) fits.
    if (p.numel < (int64_t{1} << 31))
      transpose_cuda_typed<E, uint32_t>(static_cast<E const*>(x), static_cast<E*>(y), p, stream);
    else
      transpose_cuda_typed<E, uint64_t>(static_cast<E const*>(x), static_cast<E*>(y), p, stream);
  });
}
#endif

// Runs the transpose of `x` seen with shape `view` on `device` (the calling impl's backend).
void run_transpose(Device device, Tensor const& x, Tensor const& y, Dims const& view,
                   std::span<const int> perm, [[maybe_unused]] Stream stream) {
  TransposePlan p = plan_transpose(view, perm);
  if (device == Device::CPU) {
    with_element_bytes(element_size(x.dtype), [&]<class E>(E) {
      transpose_cpu(static_cast<E const*>(x.data), static_cast<E*>(y.data), p);
    });
    return;
  }
#ifdef __CUDACC__
  transpose_cuda(x.data, y.data, element_size(x.dtype), p, native(stream));
#endif
}

// ---- onnx::Transpose --------------------------------------------------------------------------

struct TransposeAttrs {
  std::vector<int64_t> perm;  // empty: the axes reversed
};
QDP_ATTRS(TransposeAttrs, perm);

std::vector<int> resolve_perm(std::vector<int64_t> const& perm, int rank) {
  if (rank > kMaxRank) fail("onnx::Transpose: rank {} is above the supported {}", rank, kMaxRank);
  std::vector<int> p(static_cast<size_t>(rank));
  if (perm.empty()) {
    for (int i = 0; i < rank; ++i) p[static_cast<size_t>(i)] = rank - 1 - i;
    return p;
  }
  std::vector<bool> seen(static_cast<size_t>(rank));
  bool ok = static_cast<int>(perm.size()) == rank;
  for (size_t i = 0; ok && i < perm.size(); ++i) {
    ok = perm[i] >= 0 && perm[i] < rank && !seen[static_cast<size_t>(perm[i])];
    if (ok) {
      seen[static_cast<size_t>(perm[i])] = true;
      p[i] = static_cast<int>(perm[i]);
    }
  }
  if (!ok)
    fail(
        "onnx::Transpose: attribute 'perm' {} is not a permutation of the input's {} axes: it must "
        "hold each of 0..{} once",
        join(perm), rank, rank - 1);
  return p;
}

QDP_PLUGIN(transpose, "onnx::Transpose")
    .desc([](TensorDesc const& x, TransposeAttrs const& a) {
      std::vector<int> perm = resolve_perm(a.perm, x.rank());
      std::vector<ShapeExpr> shape;
      for (int axis : perm) shape.push_back(x.shape_expr[static_cast<size_t>(axis)]);
      TensorDesc y = from_shape_expr(shape, x.dtype);
      y.value = x.value;  // a shape tensor (rank <= 1) is its own transpose
      return y;
    })
    .autotune(FloatTypes<1>{})
    .impl<qdp::cpu>([](In<> x, Out<> y, TransposeAttrs const& a) {
      run_transpose(Device::CPU, x.tensor(), y.tensor(), x.shape(), resolve_perm(a.perm, x.rank()),
                    {});
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> x, Out<> y, TransposeAttrs const& a, Stream s) {
      run_transpose(Device::CUDA, x.tensor(), y.tensor(), x.shape(), resolve_perm(a.perm, x.rank()),
                    s);
    })
#endif
    ;

// ---- onnx::DepthToSpace, onnx::SpaceToDepth ---------------------------------------------------

struct DepthToSpaceAttrs {
  int64_t blocksize = 0;  // required by ONNX
  std::string mode = "DCR";
};
QDP_ATTRS(DepthToSpaceAttrs, blocksize, mode);
struct SpaceToDepthAttrs {
  int64_t blocksize = 0;  // required by ONNX
};
QDP_ATTRS(SpaceToDepthAttrs, blocksize);

void check_block_op(std::string_view op, TensorDesc const& x, int64_t blocksize) {
  // At most 2^31 - 1, so that blocksize * blocksize (the channels one block takes) fits.
  if (blocksize <= 0 || blocksize > std::numeric_limits<int32_t>::max())
    fail("{}: attribute 'blocksize' is {}; it must be a positive integer, at most 2147483647", op,
         blocksize);
  if (x.rank() != 4) fail("{}: the input must have rank 4 (N, C, H, W), not {}", op, x.rank());
}
// A run-time extent that must be a multiple of `of`.
void check_multiple(std::string_view op, std::string_view what, int64_t extent, int64_t of) {
  if (extent % of != 0) fail("{}: {} {} is not a multiple of {}", op, what, extent, of);
}
void check_multiple(std::string_view op, std::string_view what, ShapeExpr const& e, int64_t of) {
  if (e.is_constant()) check_multiple(op, what, e.constant(), of);
}

bool is_dcr(std::string const& mode) {
  if (mode != "DCR" && mode != "CRD")
    fail("onnx::DepthToSpace: attribute 'mode' is '{}'; it must be 'DCR' or 'CRD'", mode);
  return mode == "DCR";
}

// DCR: (N, b, b, C', H, W) -> (N, C', H, b, W, b); CRD: (N, C', b, b, H, W) -> the same.
void depth_to_space(Device dev, Tensor const& x, Tensor const& y, DepthToSpaceAttrs const& a,
                    Stream s) {
  int64_t b = a.blocksize;
  Dims const& d = x.shape;
  check_multiple("onnx::DepthToSpace", "the channel count", d[1], b * b);
  int64_t c = d[1] / (b * b);
  static constexpr int kDcr[] = {0, 3, 4, 1, 5, 2};
  static constexpr int kCrd[] = {0, 1, 4, 2, 5, 3};
  if (is_dcr(a.mode))
    run_transpose(dev, x, y, Dims{d[0], b, b, c, d[2], d[3]}, kDcr, s);
  else
    run_transpose(dev, x, y, Dims{d[0], c, b, b, d[2], d[3]}, kCrd, s);
}

// (N, C, H', b, W', b) -> (N, b, b, C, H', W').
void space_to_depth(Device dev, Tensor const& x, Tensor const& y, SpaceToDepthAttrs const& a,
                    Stream s) {
  int64_t b = a.blocksize;
  Dims const& d = x.shape;
  check_multiple("onnx::SpaceToDepth", "the height", d[2], b);
  check_multiple("onnx::SpaceToDepth", "the width", d[3], b);
  static constexpr int kPerm[] = {0, 3, 5, 1, 2, 4};
  run_transpose(dev, x, y, Dims{d[0], d[1], d[2] / b, b, d[3] / b, b}, kPerm, s);
}

QDP_PLUGIN(depth_to_space_plugin, "onnx::DepthToSpace")
    .desc([](TensorDesc const& x, DepthToSpaceAttrs const& a) {
      check_block_op("onnx::DepthToSpace", x, a.blocksize);
      (void)is_dcr(a.mode);
      int64_t b = a.blocksize;
      auto const& s = x.shape_expr;
      check_multiple("onnx::DepthToSpace", "the channel count", s[1], b * b);
      return from_shape_expr({s[0], s[1] / ShapeExpr(b * b), s[2] * b, s[3] * b}, x.dtype);
    })
    .autotune(FloatTypes<1>{})
    .impl<qdp::cpu>([](In<> x, Out<> y, DepthToSpaceAttrs const& a) {
      depth_to_space(Device::CPU, x.tensor(), y.tensor(), a, {});
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> x, Out<> y, DepthToSpaceAttrs const& a, Stream s) {
      depth_to_space(Device::CUDA, x.tensor(), y.tensor(), a, s);
    })
#endif
    ;

QDP_PLUGIN(space_to_depth_plugin, "onnx::SpaceToDepth")
    .desc([](TensorDesc const& x, SpaceToDepthAttrs const& a) {
      check_block_op("onnx::SpaceToDepth", x, a.blocksize);
      int64_t b = a.blocksize;
      auto const& s = x.shape_expr;
      check_multiple("onnx::SpaceToDepth", "the height", s[2], b);
      check_multiple("onnx::SpaceToDepth", "the width", s[3], b);
      return from_shape_expr({s[0], s[1] * (b * b), s[2] / ShapeExpr(b), s[3] / ShapeExpr(b)},
                             x.dtype);
    })
    .autotune(FloatTypes<1>{})
    .impl<qdp::cpu>([](In<> x, Out<> y, SpaceToDepthAttrs const& a) {
      space_to_depth(Device::CPU, x.tensor(), y.tensor(), a, {});
    })
#ifdef __CUDACC__
    .impl<qdp::cuda>([](In<> x, Out<> y, SpaceToDepthAttrs const& a, Stream s) {
      space_to_depth(Device::CUDA, x.tensor(), y.tensor(), a, s);
    })
#endif
    ;

}  // namespace
}  // namespace qdp::ops
