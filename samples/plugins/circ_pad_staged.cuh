// The staged circ_pad kernel: device code only, with no includes, because the same text is
// compiled twice: by nvcc into the JIT impl (tactic 2) and, embedded as a string, by NVRTC into
// the AOT kernels (circ_pad_aot.hpp). One source, so the AOT engine runs the JIT's kernel.
//
// Each block takes `rows_per_block` consecutive output rows (every dimension but the last is a
// row dimension). It first copies their source rows global -> shared with cp.async (16-byte
// pieces when rows are whole vectors, else element by element), then writes the block's output
// range, which is contiguous, as aligned 16-byte stores. An output vector inside one
// row's interior is two aligned 16-byte shared loads and a funnel shift (its source starts
// `shift` bytes past a vector boundary); the few vectors that cross a row's end or the wrap
// gather element by element from shared memory. So the global reads and writes are full,
// aligned vectors whatever the pads, and the rows re-read by a wrap come from L2.
//
// Why this shape (H200, (64,64,256,256), pads 1): a block of 128 threads stages 8 KB (or 12 KB),
// and its launch asks for enough shared memory that 13 (9) blocks share an SM: well over the ~25
// KB per SM that the memory's bandwidth-latency product asks for is in flight, and a thread's
// index arithmetic is one division per 16 bytes written. Measured in lab sweeps on the H200: 64
// bytes staged per thread is the best ratio (32: ~75 % of copy); 16 blocks of 8 KB per SM write
// ~1.5 % slower in FP16 than 13 (circ_pad_aot.hpp has the figures).

#ifndef QDP_CIRC_PAD_STAGED_CUH
#define QDP_CIRC_PAD_STAGED_CUH

// Rows staged per block at most: the per-block table of their source rows.
#define QDP_CIRC_PAD_MAX_STAGED_ROWS 256

struct CircPadStaged {
  unsigned rows;            // output rows (the product of the row dimensions' output extents)
  unsigned width;           // input row, in elements
  unsigned out_width;       // output row
  unsigned lead;            // pad before each row
  unsigned rows_per_block;  // 1 .. QDP_CIRC_PAD_MAX_STAGED_ROWS
  int row_dims;             // dimensions above the row, outermost first (at most 7)
  unsigned out[7], in[7], begin[7];
};

// (o - b) mod n for any pads (an AOT engine at a run-time shape may pad by more than an extent).
__device__ __forceinline__ unsigned circ_pad_wrap(unsigned o, unsigned b, unsigned n) {
  long long i = static_cast<long long>(o) - b;
  if (i < 0) i += n;
  if (i >= n) i -= n;
  if (i < 0 || i >= n) i = (i % n + n) % n;  // more than one extent away: rare
  return static_cast<unsigned>(i);
}
// The same for o < n + b + e with b, e <= n: one compare each way.
__device__ __forceinline__ unsigned circ_pad_wrap_once(unsigned o, unsigned b, unsigned n) {
  int i = static_cast<int>(o) - static_cast<int>(b);
  return static_cast<unsigned>(i < 0 ? i + static_cast<int>(n)
                                     : (i >= static_cast<int>(n) ? i - static_cast<int>(n) : i));
}

// The input row that output row `r` copies. Constant indices keep the geometry in registers
// (or the kernel's parameters): a dynamic index would copy it to local memory in every thread.
__device__ __forceinline__ unsigned circ_pad_source_row(CircPadStaged const& g, unsigned r) {
  unsigned src = 0, stride = 1;
#pragma unroll
  for (int d = 6; d >= 0; --d) {
    if (d >= g.row_dims) continue;
    unsigned q = r / g.out[d];
    src += circ_pad_wrap(r - q * g.out[d], g.begin[d], g.in[d]) * stride;
    stride *= g.in[d];
    r = q;
  }
  return src;
}

// The low 32 bits of hi:lo shifted right by `bits` (< 32). Host code too: circ_pad.cu checks its
// warp kernels against a lane-by-lane emulation on the host.
__host__ __device__ inline unsigned circ_pad_funnel_right(unsigned lo, unsigned hi, unsigned bits) {
#ifdef __CUDA_ARCH__
  return __funnelshift_r(lo, hi, bits);
#else
  return static_cast<unsigned>(((static_cast<unsigned long long>(hi) << 32) | lo) >> bits);
#endif
}

// Words 0..3 of the 16 bytes that start `shift` (0..15) bytes into the 32 bytes a:b (little
// endian).
__host__ __device__ inline uint4 circ_pad_bytes_from(uint4 a, uint4 b, unsigned shift) {
  unsigned w0, w1, w2, w3, w4;
  switch (shift >> 2) {
    case 0:
      w0 = a.x, w1 = a.y, w2 = a.z, w3 = a.w, w4 = b.x;
      break;
    case 1:
      w0 = a.y, w1 = a.z, w2 = a.w, w3 = b.x, w4 = b.y;
      break;
    case 2:
      w0 = a.z, w1 = a.w, w2 = b.x, w3 = b.y, w4 = b.z;
      break;
    default:
      w0 = a.w, w1 = b.x, w2 = b.y, w3 = b.z, w4 = b.w;
      break;
  }
  unsigned bits = (shift & 3) * 8;
  return make_uint4(circ_pad_funnel_right(w0, w1, bits), circ_pad_funnel_right(w1, w2, bits),
                    circ_pad_funnel_right(w2, w3, bits), circ_pad_funnel_right(w3, w4, bits));
}

__device__ __forceinline__ void circ_pad_copy16_async(void* smem, void const* gmem) {
  unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem) : "memory");
}
__device__ __forceinline__ void circ_pad_copy_wait_all() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
}

// T: an unsigned integer type of the element's size (1, 2, 4 or 8 bytes). The dynamic shared
// memory holds circ_pad_stage_vectors(...) 16-byte vectors. The row's pads must be at most its
// extent. (Double-buffering a block's next task while it writes one was measured too: slower on
// the H200 than more resident blocks each staging one task.)
__host__ __device__ inline unsigned circ_pad_stage_vectors(unsigned rows_per_block, unsigned width,
                                                           unsigned size) {
  return (rows_per_block * width * size + 15) / 16 + 1;  // + 1: the funnel shift's spare vector
}

template <class T>
__device__ void circ_pad_staged(T const* __restrict__ x, T* __restrict__ y,
                                CircPadStaged const& g) {
  extern __shared__ uint4 circ_pad_stage[];
  __shared__ unsigned source_rows[QDP_CIRC_PAD_MAX_STAGED_ROWS];
  constexpr unsigned kLanes = 16 / sizeof(T);
  T* const stage = reinterpret_cast<T*>(circ_pad_stage);
  unsigned const width = g.width, out_width = g.out_width, lead = g.lead;
  unsigned const per_block = g.rows_per_block;
  unsigned const tasks = (g.rows + per_block - 1) / per_block;
  bool const whole_vectors =
      (width * sizeof(T)) % 16 == 0 && reinterpret_cast<unsigned long long>(x) % 16 == 0;
  bool const aligned_out = reinterpret_cast<unsigned long long>(y) % 16 == 0;
  unsigned const step = blockDim.x * kLanes;
  unsigned const step_rows = step / out_width, step_cols = step - step_rows * out_width;
  for (unsigned task = blockIdx.x; task < tasks; task += gridDim.x) {
    unsigned const r0 = task * per_block, n = min(per_block, g.rows - r0);
    for (unsigned i = threadIdx.x; i < n; i += blockDim.x)
      source_rows[i] = circ_pad_source_row(g, r0 + i);
    __syncthreads();
    if (whole_vectors) {  // asynchronous 16-byte copies, no registers held
      unsigned const row_vectors = width / kLanes, total = n * row_vectors;
      uint4 const* xv = reinterpret_cast<uint4 const*>(x);
      for (unsigned k = threadIdx.x; k < total; k += blockDim.x) {
        unsigned const r = k / row_vectors;
        circ_pad_copy16_async(circ_pad_stage + k,
                              xv + static_cast<unsigned long long>(source_rows[r]) * row_vectors +
                                  (k - r * row_vectors));
      }
      circ_pad_copy_wait_all();
    } else {
      unsigned const total = n * width;
      for (unsigned k = threadIdx.x; k < total; k += blockDim.x) {
        unsigned const r = k / width;
        stage[k] = x[static_cast<unsigned long long>(source_rows[r]) * width + (k - r * width)];
      }
    }
    __syncthreads();
    // The task's output: elements [first, first + count) of y. Each thread's vectors are
    // `step` elements apart: its row and column advance by a precomputed quotient and remainder.
    unsigned long long const first = static_cast<unsigned long long>(r0) * out_width;
    unsigned const count = n * out_width;
    unsigned head = aligned_out ? static_cast<unsigned>((kLanes - first % kLanes) % kLanes) : count;
    head = min(head, count);
    unsigned const vectors = (count - head) / kLanes;
    unsigned const tail = head + vectors * kLanes;
    auto element = [&](unsigned t) {
      unsigned const r = t / out_width;
      return stage[r * width + circ_pad_wrap_once(t - r * out_width, lead, width)];
    };
    if (threadIdx.x < head) y[first + threadIdx.x] = element(threadIdx.x);
    if (tail + threadIdx.x < count) y[first + tail + threadIdx.x] = element(tail + threadIdx.x);
    // Vectors inside one row's interior: two shared loads and a shift. The others (1 or 2 per
    // row) gather element by element: in this pass for 4- and 8-byte elements (a row's last
    // sectors are then written with the rest of it), in a pass of their own below for 1- and
    // 2-byte ones (8 or 16 lanes each: divergence inside a warp would cost more than the pass).
    // Plain stores, not streaming (.cs) ones: with evict-first lines, the sectors a row shares
    // with the next were more often written to memory in halves (H200: 95.8 -> 98.0 % of copy
    // in FP32, 93.5 -> 94.8 % in FP16).
    auto gather = [&](unsigned r, unsigned j) {  // the vector at row r, column j of the task
      uint4 out;
      T* lanes = reinterpret_cast<T*>(&out);
#pragma unroll
      for (unsigned k = 0; k < kLanes; ++k) {
        lanes[k] = stage[r * width + circ_pad_wrap_once(j, lead, width)];
        if (++j == out_width) j = 0, ++r;
      }
      return out;
    };
    constexpr bool kInlineEdges = sizeof(T) >= 4;
    unsigned const t0 = head + threadIdx.x * kLanes;
    unsigned row = t0 / out_width, col = t0 - row * out_width;
    for (unsigned v = threadIdx.x; v < vectors; v += blockDim.x) {
      uint4* dst = reinterpret_cast<uint4*>(y + first + head + v * kLanes);
      if (col >= lead && col - lead + kLanes <= width) {
        unsigned const s = row * width + (col - lead), a = s / kLanes;
        unsigned const shift = (s - a * kLanes) * static_cast<unsigned>(sizeof(T));
        uint4 out = circ_pad_stage[a];
        if (shift != 0) out = circ_pad_bytes_from(out, circ_pad_stage[a + 1], shift);
        *dst = out;
      } else if (kInlineEdges) {
        *dst = gather(row, col);
      }
      row += step_rows, col += step_cols;
      if (col >= out_width) col -= out_width, ++row;
    }
    // 1- and 2-byte elements: the vectors that meet boundary b, the gap between row b - 1's
    // interior and row b's (its wrapped tail and the next row's wrapped lead; empty without
    // padding in the row, where only a vector straddling the rows' seam is left). One thread per
    // boundary.
    if (!kInlineEdges) {
      for (unsigned b = threadIdx.x; b <= n; b += blockDim.x) {
        long long const lo = (b == 0 ? 0ll : (b - 1ll) * out_width + lead + width) - head;
        long long const hi =
            (b == n ? static_cast<long long>(count) : b * 1ll * out_width + lead) - head;
        long long const first_v = lo >= 0 ? lo / kLanes : -((-lo + kLanes - 1) / kLanes);
        long long const last_v = hi > 0 ? (hi + kLanes - 1) / kLanes - 1 : -1;
        for (long long v = max(first_v, 0ll); v <= min(last_v, vectors - 1ll); ++v) {
          unsigned const t = head + static_cast<unsigned>(v) * kLanes, r = t / out_width;
          *reinterpret_cast<uint4*>(y + first + t) = gather(r, t - r * out_width);
        }
      }
    }
    __syncthreads();  // the next task reuses the stage
  }
}

// The AOT entry points (circ_pad_aot.hpp compiles them with NVRTC): the input seen as rank 4,
// its shape, pads and the output's extents as int32 arguments, so one engine follows the
// run-time shape. rows_per_block 0 means a row is too wide to stage: one block per output row
// then copies it straight from global memory.
#ifdef QDP_CIRC_PAD_AOT_KERNELS
template <class T>
__device__ void circ_pad_aot(T const* x, int rows, int i0, int i1, int i2, int i3, int b0, int b1,
                             int b2, int b3, int o1, int o2, int o3, int rows_per_block, T* y) {
  CircPadStaged g;
  g.rows = static_cast<unsigned>(rows);
  g.width = static_cast<unsigned>(i3);
  g.out_width = static_cast<unsigned>(o3);
  g.lead = static_cast<unsigned>(b3);
  g.rows_per_block = static_cast<unsigned>(rows_per_block);
  g.row_dims = 3;
  g.out[0] = static_cast<unsigned>(rows / (o1 * o2)), g.out[1] = o1, g.out[2] = o2;
  g.in[0] = i0, g.in[1] = i1, g.in[2] = i2;
  g.begin[0] = b0, g.begin[1] = b1, g.begin[2] = b2;
  // The staged kernel wraps a row at most once (pads <= the row's extent).
  bool const wraps_once = b3 <= i3 && o3 - i3 - b3 <= i3;
  if (rows_per_block > 0 && wraps_once) return circ_pad_staged(x, y, g);
  for (unsigned row = blockIdx.x; row < g.rows; row += gridDim.x) {
    T const* src = x + static_cast<unsigned long long>(circ_pad_source_row(g, row)) * g.width;
    T* dst = y + static_cast<unsigned long long>(row) * g.out_width;
    for (unsigned c = threadIdx.x; c < g.out_width; c += blockDim.x)
      dst[c] = src[circ_pad_wrap(c, g.lead, g.width)];
  }
}
extern "C" __global__ void circ_pad_b4(unsigned const* x, int rows, int i0, int i1, int i2, int i3,
                                       int b0, int b1, int b2, int b3, int o1, int o2, int o3,
                                       int rows_per_block, unsigned* y) {
  circ_pad_aot(x, rows, i0, i1, i2, i3, b0, b1, b2, b3, o1, o2, o3, rows_per_block, y);
}
extern "C" __global__ void circ_pad_b2(unsigned short const* x, int rows, int i0, int i1, int i2,
                                       int i3, int b0, int b1, int b2, int b3, int o1, int o2,
                                       int o3, int rows_per_block, unsigned short* y) {
  circ_pad_aot(x, rows, i0, i1, i2, i3, b0, b1, b2, b3, o1, o2, o3, rows_per_block, y);
}
#endif

#endif  // QDP_CIRC_PAD_STAGED_CUH
