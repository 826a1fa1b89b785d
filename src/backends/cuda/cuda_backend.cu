// The CUDA backend: device memory, stream-ordered copies, reformat kernels and event timing.

// fmt 9 switches its constexpr support off under nvcc, which leaves its consteval format checks
// unable to compile (g++ and nvcc's front end both reject them); the host compiler supports
// them. src/CMakeLists.txt defines this for every CUDA source; the fallback here lets this file
// also compile on its own.
#ifndef FMT_USE_CONSTEXPR
#define FMT_USE_CONSTEXPR 1
#endif

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <qdp/cuda.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "backends/backend.hpp"
#include "backends/cuda/aot.hpp"
#include "core/float_to_integer.hpp"

namespace qdp::detail {
namespace {

// ---- Errors and RAII handles -------------------------------------------------------------------

// Throws "CUDA error in <call>(<context>): <reason>"; the context is formatted only on failure.
template <class... Args>
void check(cudaError_t status, std::string_view call, fmt::format_string<Args...> context,
           Args&&... args) {
  if (status == cudaSuccess) return;
  std::string what = fmt::format("{}({})", call, fmt::format(context, std::forward<Args>(args)...));
  check_cuda(status, what.c_str());
}
void check(cudaError_t status, char const* call) {
  check_cuda(status, call);
}

struct StreamDestroyer {
  void operator()(cudaStream_t stream) const noexcept { (void)cudaStreamDestroy(stream); }
};
struct EventDestroyer {
  void operator()(cudaEvent_t event) const noexcept { (void)cudaEventDestroy(event); }
};
using UniqueStream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroyer>;
using UniqueEvent = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroyer>;

// Non-blocking: timed work must not wait for (or be waited on by) the legacy default stream.
UniqueStream make_nonblocking_stream() {
  cudaStream_t stream = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return UniqueStream(stream);
}

UniqueEvent make_event() {
  cudaEvent_t event = nullptr;
  check(cudaEventCreate(&event), "cudaEventCreate");
  return UniqueEvent(event);
}

// ---- Element conversions -----------------------------------------------------------------------

// These mirror reformat_on_host, which widens every value to double and narrows it with C++
// rules (float -> int truncates toward zero, bool is value != 0). Widening to float gives the
// same results for every type whose values float holds exactly and is cheaper on the GPU, so
// only INT32 and INT64 go through double.
__device__ __forceinline__ float widen(float v) {
  return v;
}
__device__ __forceinline__ float widen(__half v) {
  return __half2float(v);
}
__device__ __forceinline__ float widen(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
__device__ __forceinline__ float widen(int8_t v) {
  return v;
}
__device__ __forceinline__ float widen(uint8_t v) {
  return v;
}
__device__ __forceinline__ float widen(bool v) {
  return v ? 1.0f : 0.0f;
}
__device__ __forceinline__ double widen(int32_t v) {
  return v;
}
__device__ __forceinline__ double widen(int64_t v) {
  return static_cast<double>(v);
}

template <class To, class Wide>
__device__ __forceinline__ To narrow(Wide v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != Wide(0);
  } else if constexpr (std::is_same_v<To, __half>) {
    return __float2half_rn(static_cast<float>(v));  // the host rounds through float too
  } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<Wide> && std::is_integral_v<To>) {
    return static_cast<To>(float_to_int64(v));  // as the host and onnx::Cast convert
  } else {
    return static_cast<To>(v);
  }
}

template <class To, class From>
__device__ __forceinline__ To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;  // bit-exact, like the host's exact INT64 path
  } else {
    return narrow<To>(widen(v));
  }
}

// Calls f(std::type_identity<T>{}) with T the CUDA type of `t`'s elements.
template <class F>
void with_element_type(DataType t, F&& f) {
  switch (t) {
    case DataType::FP32:
      return f(std::type_identity<float>{});
    case DataType::FP16:
      return f(std::type_identity<__half>{});
    case DataType::BF16:
      return f(std::type_identity<__nv_bfloat16>{});
    case DataType::INT8:
      return f(std::type_identity<int8_t>{});
    case DataType::UINT8:
      return f(std::type_identity<uint8_t>{});
    case DataType::INT32:
      return f(std::type_identity<int32_t>{});
    case DataType::INT64:
      return f(std::type_identity<int64_t>{});
    case DataType::BOOL:
      return f(std::type_identity<bool>{});
  }
  fail("reformat: unknown data type {}", static_cast<int>(t));
}

template <class F>
void with_element_types(DataType from, DataType to, F&& f) {
  with_element_type(from, [&](auto from_type) {
    with_element_type(to, [&](auto to_type) { f(from_type, to_type); });
  });
}

// ---- Reformat kernels --------------------------------------------------------------------------

constexpr int kThreads = 256;  // per block of every reformat kernel

// Elements per vector access in the cast kernel: 16 bytes of the wider of the two types.
template <class From, class To>
constexpr int kCastWidth = static_cast<int>(16 / std::max(sizeof(From), sizeof(To)));

template <class T, int N>
struct alignas(sizeof(T) * N) Vector {
  T items[N];
};

// dst[i] = convert(src[i]) for tensors stored in the same order. When `vectorized` (both
// pointers aligned to a vector), whole vectors move with wide accesses and only the last
// n % width elements one by one.
template <class From, class To>
__global__ void __launch_bounds__(kThreads)
    cast_kernel(From const* __restrict__ src, To* __restrict__ dst, int64_t n, bool vectorized) {
  constexpr int kWidth = kCastWidth<From, To>;
  int64_t const first = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  int64_t const stride = int64_t{gridDim.x} * blockDim.x;
  int64_t const vectors = vectorized ? n / kWidth : 0;
  auto const* src_vectors = reinterpret_cast<Vector<From, kWidth> const*>(src);
  auto* dst_vectors = reinterpret_cast<Vector<To, kWidth>*>(dst);
  for (int64_t v = first; v < vectors; v += stride) {
    Vector<From, kWidth> const in = src_vectors[v];
    Vector<To, kWidth> out;
#pragma unroll
    for (int k = 0; k < kWidth; ++k) out.items[k] = convert<To>(in.items[k]);
    dst_vectors[v] = out;
  }
  for (int64_t i = vectors * kWidth + first; i < n; i += stride) dst[i] = convert<To>(src[i]);
}

// The transpose kernels below turn `batch` row-major [rows, cols] matrices into [cols, rows]
// ones, converting each element: NCHW -> NHWC is this with rows = C and cols = H*W per image,
// NHWC -> NCHW the reverse.

// Elements of T in a 4-byte word (1 for wider types).
template <class T>
constexpr int kPerWord = sizeof(T) < 4 ? static_cast<int>(4 / sizeof(T)) : 1;

// The tile edge, in elements: 64 keeps enough bytes in flight per block to come near copy
// bandwidth on an H100 for 4-byte types (32 reaches about 75% of it).
constexpr int kTileEdge = 64;

// The kTileEdge-square tiles of `batch` [rows, cols] matrices, numbered matrix by matrix, row of
// tiles by row of tiles: tile t's matrix and first row and column.
struct TileGrid {
  struct Tile {
    int64_t matrix, row0, col0;
  };
  int64_t col_tiles, per_matrix, tiles;
  __device__ TileGrid(int64_t batch, int64_t rows, int64_t cols)
      : col_tiles((cols + kTileEdge - 1) / kTileEdge),
        per_matrix((rows + kTileEdge - 1) / kTileEdge * col_tiles),
        tiles(batch * per_matrix) {}
  __device__ Tile tile(int64_t t) const {
    int64_t const in_matrix = t % per_matrix;
    return {t / per_matrix, in_matrix / col_tiles * kTileEdge, in_matrix % col_tiles * kTileEdge};
  }
};

// One tile, element by element through shared memory `tile` (kTileEdge rows of kPitch elements),
// converting each: a warp reads consecutive elements of one input row, then writes consecutive
// elements of one output row, a column of the tile. Elements past the matrix are skipped.
template <class From, class To, int kPitch>
__device__ void transpose_tile_by_elements(From const* __restrict__ in, To* __restrict__ out,
                                           To (*tile)[kPitch], int64_t rows, int64_t cols,
                                           int64_t row0, int64_t col0) {
  constexpr int kEdge = kTileEdge, kWarps = kThreads / 32;
  int const lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
#pragma unroll
  for (int r = warp; r < kEdge; r += kWarps) {
#pragma unroll
    for (int c = lane; c < kEdge; c += 32) {
      if (row0 + r < rows && col0 + c < cols) {
        tile[r][c] = convert<To>(in[(row0 + r) * cols + col0 + c]);
      }
    }
  }
  __syncthreads();
#pragma unroll
  for (int c = warp; c < kEdge; c += kWarps) {
#pragma unroll
    for (int r = lane; r < kEdge; r += 32) {
      if (col0 + c < cols && row0 + r < rows) out[(col0 + c) * rows + row0 + r] = tile[r][c];
    }
  }
}

// Square tiles go through shared memory so that both the global reads and the global writes
// are coalesced. Each tile row is padded by a 4-byte word (an element, for 8-byte types): the
// odd pitch puts the lanes of a warp reading down a tile column on distinct banks.
template <class From, class To>
__global__ void __launch_bounds__(kThreads)
    transpose_kernel(From const* __restrict__ src, To* __restrict__ dst, int64_t batch,
                     int64_t rows, int64_t cols) {
  constexpr int kEdge = kTileEdge;
  __shared__ To tile[kEdge][kEdge + kPerWord<To>];
  TileGrid const grid(batch, rows, cols);
  for (int64_t t = blockIdx.x; t < grid.tiles; t += gridDim.x) {
    auto const [matrix, row0, col0] = grid.tile(t);
    transpose_tile_by_elements(src + matrix * rows * cols, dst + matrix * rows * cols, tile, rows,
                               cols, row0, col0);
    __syncthreads();  // the next tile reuses the shared memory
  }
}

// The same transpose without conversion for 2- and 4-byte elements, moving words of two
// elements (4 or 8 bytes), so that 16-bit tensors are not held to 2-byte accesses: a warp reads
// one 64-element tile row per instruction, and writes two output rows per pair of shared loads,
// taking tile rows 2l and 2l+1 and splitting their words into the two output rows (a 2x2
// transpose in registers). Tile row r is stored at shared row (r % 2) * 32 + r / 2, so that a
// warp's reads of rows 2l and 2l+1 fall on distinct banks. Edge tiles go element by element.
// (H200, 32x256x56x56: 97-101 % of copy in FP32, 92-95 % in FP16, from 87 % and 66 %.)
template <size_t kSize>
struct PairWord;
template <>
struct PairWord<2> {
  using type = uint32_t;
  __device__ static void split(uint32_t a, uint32_t b, uint32_t& lo, uint32_t& hi) {
    lo = __byte_perm(a, b, 0x5410);
    hi = __byte_perm(a, b, 0x7632);
  }
};
template <>
struct PairWord<4> {
  using type = uint2;
  __device__ static void split(uint2 a, uint2 b, uint2& lo, uint2& hi) {
    lo = make_uint2(a.x, b.x);
    hi = make_uint2(a.y, b.y);
  }
};

// rows and cols even, both buffers aligned to a word (the caller checks).
template <class T>
__global__ void __launch_bounds__(kThreads)
    transpose_pair_kernel(T const* __restrict__ src, T* __restrict__ dst, int64_t batch,
                          int64_t rows, int64_t cols) {
  using Pair = PairWord<sizeof(T)>;
  using Word = typename Pair::type;
  constexpr int kEdge = kTileEdge, kWarps = kThreads / 32, kHalf = kEdge / 2;
  __shared__ Word tile[kEdge][kHalf + 1];
  TileGrid const grid(batch, rows, cols);
  int const lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  for (int64_t t = blockIdx.x; t < grid.tiles; t += gridDim.x) {
    auto const [matrix, row0, col0] = grid.tile(t);
    T const* in = src + matrix * rows * cols;
    T* out = dst + matrix * rows * cols;
    if (row0 + kEdge <= rows && col0 + kEdge <= cols) {
      auto const* in_words = reinterpret_cast<Word const*>(in + row0 * cols + col0);
      auto* out_words = reinterpret_cast<Word*>(out + col0 * rows + row0);
      Word v[kEdge / kWarps];
#pragma unroll
      for (int i = 0; i < kEdge / kWarps; ++i)  // every load before the first store
        v[i] = in_words[(warp + i * kWarps) * (cols / 2) + lane];
#pragma unroll
      for (int i = 0; i < kEdge / kWarps; ++i) {
        int const r = warp + i * kWarps;
        tile[(r & 1) * kHalf + (r >> 1)][lane] = v[i];
      }
      __syncthreads();
#pragma unroll
      for (int i = 0; i < kHalf / kWarps; ++i) {
        int const c = warp + i * kWarps;  // output rows 2c and 2c + 1: tile columns 2c, 2c + 1
        Word lo, hi;
        Pair::split(tile[lane][c], tile[kHalf + lane][c], lo, hi);
        out_words[(2 * c) * (rows / 2) + lane] = lo;
        out_words[(2 * c + 1) * (rows / 2) + lane] = hi;
      }
    } else {  // an edge tile: element by element through the same shared memory
      transpose_tile_by_elements(in, out, reinterpret_cast<T(*)[2 * (kHalf + 1)]>(tile), rows, cols,
                                 row0, col0);
    }
    __syncthreads();  // the next tile reuses the shared memory
  }
}

// Matrices with a side shorter than this (images of a few channels, or of a few pixels) go to
// the slab kernel: square tiles would leave most of their threads idle.
constexpr int64_t kMaxSlabShortSide = 16;
constexpr int kSlabBytes = 8192;  // staged per block

struct SlabElement {
  int s, l;        // its short-side and long-side indices within the slab
  int64_t offset;  // its offset in the matrix
};

// The transpose of [short, long] <-> [long, short] matrices: a block stages the whole short
// side of a run of the long side in shared memory, so that it reads and writes long contiguous
// runs: one per short index in the planar matrix ([short, long]), a single one in the
// interleaved matrix ([long, short]).
template <class From, class To>
__global__ void __launch_bounds__(kThreads)
    transpose_slab_kernel(From const* __restrict__ src, To* __restrict__ dst, int64_t batch,
                          int64_t rows, int64_t cols) {
  __shared__ To slab[kSlabBytes / sizeof(To)];
  bool const planar_src = rows < cols;  // else the destination is the planar one
  int const short_side = static_cast<int>(planar_src ? rows : cols);
  int64_t const long_side = planar_src ? cols : rows;
  int const pitch = short_side | 1;  // odd, so that a warp's strided accesses spread over banks
  int const run = static_cast<int>(sizeof(slab) / sizeof(To)) / pitch;  // long elements per slab
  int64_t const slabs_per_matrix = (long_side + run - 1) / run;
  for (int64_t t = blockIdx.x; t < batch * slabs_per_matrix; t += gridDim.x) {
    int64_t const matrix = t / slabs_per_matrix;
    int64_t const first = t % slabs_per_matrix * run;
    int const length = static_cast<int>(long_side - first < run ? long_side - first : run);
    From const* in = src + matrix * rows * cols;
    To* out = dst + matrix * rows * cols;
    // Element f of the slab's part of a matrix, numbered in memory order.
    auto planar = [&](int f) {
      int const s = f / length, l = f % length;
      return SlabElement{s, l, s * long_side + first + l};
    };
    auto interleaved = [&](int f) {
      int const l = f / short_side, s = f % short_side;
      return SlabElement{s, l, (first + l) * short_side + s};
    };
#pragma unroll 4
    for (int f = threadIdx.x; f < length * short_side; f += kThreads) {
      auto const [s, l, offset] = planar_src ? planar(f) : interleaved(f);
      slab[l * pitch + s] = convert<To>(in[offset]);
    }
    __syncthreads();
#pragma unroll 4
    for (int f = threadIdx.x; f < length * short_side; f += kThreads) {
      auto const [s, l, offset] = planar_src ? interleaved(f) : planar(f);
      out[offset] = slab[l * pitch + s];
    }
    __syncthreads();  // the next slab reuses the shared memory
  }
}

// Both tensors' shapes and strides, passed to the strided kernel by value.
struct StridedLayout {
  int rank = 0;
  int64_t shape[kMaxRank] = {};
  int64_t src_strides[kMaxRank] = {};
  int64_t dst_strides[kMaxRank] = {};
};

// The fallback for any other pair of layouts: one element per iteration, in logical order,
// with the offsets computed from the strides like reformat_on_host does.
template <class From, class To>
__global__ void __launch_bounds__(kThreads)
    strided_kernel(From const* __restrict__ src, To* __restrict__ dst, StridedLayout layout,
                   int64_t n) {
  int64_t const stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t rest = i, src_offset = 0, dst_offset = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {  // constant indices keep the layout in registers
      if (d >= layout.rank) continue;
      int64_t const index = rest % layout.shape[d];
      rest /= layout.shape[d];
      src_offset += index * layout.src_strides[d];
      dst_offset += index * layout.dst_strides[d];
    }
    dst[dst_offset] = convert<To>(src[src_offset]);
  }
}

// ---- Layouts -----------------------------------------------------------------------------------

enum class MemoryOrder { kRowMajor, kChannelsLast, kOther };

// Whether two stride sets store `shape` identically: the strides of dims of extent 1 never
// matter (an NHWC tensor with C == 1 is stored like NCHW).
bool same_order(Dims const& shape, Dims const& a, Dims const& b) {
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] != 1 && a[d] != b[d]) return false;
  }
  return true;
}

MemoryOrder memory_order(Tensor const& t) {
  if (t.strides.rank() != t.rank()) return MemoryOrder::kOther;
  if (same_order(t.shape, t.strides, dense_strides(t.shape, TensorFormat::LINEAR))) {
    return MemoryOrder::kRowMajor;
  }
  if (t.rank() == 4 && same_order(t.shape, t.strides, dense_strides(t.shape, TensorFormat::HWC))) {
    return MemoryOrder::kChannelsLast;
  }
  return MemoryOrder::kOther;
}

bool is_aligned(void const* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

// ---- The backend -------------------------------------------------------------------------------

// Makes GPU `index` current for the calling thread while it lives, and restores the previous one.
class DeviceScope {
 public:
  explicit DeviceScope(int index) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != index) check(cudaSetDevice(index), "cudaSetDevice", "{}", index);
  }
  ~DeviceScope() {
    int now = previous_;
    if (cudaGetDevice(&now) == cudaSuccess && now != previous_) (void)cudaSetDevice(previous_);
  }
  DeviceScope(DeviceScope const&) = delete;
  DeviceScope& operator=(DeviceScope const&) = delete;

 private:
  int previous_ = 0;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(int index, int multiprocessors, int arch)
      // Enough blocks to fill every SM several times over; grid-stride loops do the rest.
      : index_(index), arch_(arch), max_blocks_(std::max(1, multiprocessors) * 32) {}

  Device device() const override { return Device::CUDA; }
  int index() const override { return index_; }

  std::shared_ptr<void> make_current() override { return std::make_shared<DeviceScope>(index_); }

  void* allocate(size_t bytes) override {
    DeviceScope scope(index_);
    void* data = nullptr;
    // A 0-byte request still gets real memory, so that every buffer has its own address.
    check(cudaMalloc(&data, std::max<size_t>(bytes, 1)), "cudaMalloc", "{} bytes", bytes);
    return data;
  }

  void deallocate(void* data) noexcept override {
    // Nothing to report to: a failure here means the context is already gone (process exit).
    if (cudaFree(data) != cudaSuccess) (void)cudaGetLastError();
  }

  void copy(void* dst, void const* src, size_t bytes, Stream stream) override {
    if (dst == src || bytes == 0) return;
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, native(stream)),
          "cudaMemcpyAsync", "{} bytes, device to device", bytes);
  }

  void zero(void* dst, size_t bytes, Stream stream) override {
    if (bytes == 0) return;
    check(cudaMemsetAsync(dst, 0, bytes, native(stream)), "cudaMemsetAsync", "{} bytes", bytes);
  }

  // Mapped pinned memory: with unified addressing its host address is its device address.
  std::shared_ptr<DeviceFault[]> allocate_faults(size_t n) override {
    DeviceScope scope(index_);
    void* p = nullptr;
    check(cudaHostAlloc(&p, std::max<size_t>(n, 1) * sizeof(DeviceFault), cudaHostAllocMapped),
          "cudaHostAlloc", "{} fault records", n);
    std::memset(p, 0, std::max<size_t>(n, 1) * sizeof(DeviceFault));
    return std::shared_ptr<DeviceFault[]>(static_cast<DeviceFault*>(p),
                                          [](DeviceFault* f) { (void)cudaFreeHost(f); });
  }
  std::shared_ptr<std::byte[]> allocate_host_staging(size_t bytes) override {
    DeviceScope scope(index_);
    void* p = nullptr;
    check(cudaHostAlloc(&p, std::max<size_t>(bytes, 1), cudaHostAllocDefault), "cudaHostAlloc",
          "{} bytes of host staging", bytes);
    return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p),
                                        [](std::byte* b) { (void)cudaFreeHost(b); });
  }
  // One copy ordered after the stream's work and one wait, instead of a stream synchronize and
  // a synchronous cudaMemcpy (two round trips to the GPU).
  void read_to_host(void* dst, void const* src, size_t bytes, Stream stream) override {
    DeviceScope scope(index_);
    if (bytes > 0)
      check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, native(stream)),
            "cudaMemcpyAsync", "{} bytes, device to host", bytes);
    check(cudaStreamSynchronize(native(stream)), "cudaStreamSynchronize", "reading back {} bytes",
          bytes);
  }
  // From pageable memory: CUDA stages the bytes before returning, so `src` may change after.
  void write_from_host(void* dst, void const* src, size_t bytes, Stream stream) override {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, native(stream)),
          "cudaMemcpyAsync", "{} bytes, host to device", bytes);
  }
  void copy_from_host(void* dst, void const* src, size_t bytes) override {
    if (bytes == 0) return;
    DeviceScope scope(index_);
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy",
          "{} bytes, host to device", bytes);
    // From pageable memory cudaMemcpy may return before the DMA lands; waiting for the default
    // stream makes the data visible to work on every stream, non-blocking ones included.
    check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize", "after a host to device copy");
  }

  void copy_to_host(void* dst, void const* src, size_t bytes) override {
    if (bytes == 0) return;
    DeviceScope scope(index_);
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy",
          "{} bytes, device to host", bytes);
  }

  void reformat(Tensor const& src, Tensor const& dst, Stream stream) override {
    if (!(src.shape == dst.shape)) {
      fail("reformat between different shapes {} and {}", to_string(src.shape),
           to_string(dst.shape));
    }
    int64_t const n = src.numel();
    if (n == 0) return;
    DeviceScope scope(index_);
    MemoryOrder const src_order = memory_order(src), dst_order = memory_order(dst);
    if (src_order == dst_order && src_order != MemoryOrder::kOther) {
      if (src.dtype == dst.dtype) return copy(dst.data, src.data, src.bytes(), stream);
      launch_cast(src, dst, n, stream);
    } else if (src_order != MemoryOrder::kOther && dst_order != MemoryOrder::kOther) {
      launch_transpose(src, dst, src_order == MemoryOrder::kRowMajor, stream);
    } else {
      launch_strided(src, dst, n, stream);
    }
    check(cudaGetLastError(), "the reformat kernel launch", "{} {} -> {} {}, shape {}",
          name(src.dtype), name(src.format), name(dst.dtype), name(dst.format),
          to_string(src.shape));
  }

  void synchronize(Stream stream) override {
    DeviceScope scope(index_);  // the legacy default stream is per device
    check(cudaStreamSynchronize(native(stream)), "cudaStreamSynchronize");
  }

  // Events, recorded after each step: the profile costs an event record per layer, and the
  // layers run back to back as they do unprofiled.
  class EventMarks final : public StreamMarks {
   public:
    explicit EventMarks(size_t count) {
      for (size_t i = 0; i < count; ++i) events_.push_back(make_event());
    }
    void record(size_t index, Stream stream) override {
      check(cudaEventRecord(events_.at(index).get(), native(stream)), "cudaEventRecord",
            "profile mark {}", index);
    }
    double elapsed_ms(size_t from, size_t to) override {
      float ms = 0;
      check(cudaEventElapsedTime(&ms, events_.at(from).get(), events_.at(to).get()),
            "cudaEventElapsedTime", "profile marks {} to {}", from, to);
      return ms;
    }

   private:
    std::vector<UniqueEvent> events_;
  };
  std::unique_ptr<StreamMarks> make_marks(size_t count) override {
    DeviceScope scope(index_);
    return std::make_unique<EventMarks>(count);
  }

  double time_ms(std::function<void(Stream)> const& run, int warmup_runs, int timed_runs) override {
    DeviceScope scope(index_);
    UniqueStream const stream = make_nonblocking_stream();
    Stream const qdp_stream{stream.get()};
    for (int i = 0; i < warmup_runs; ++i) run(qdp_stream);
    check(cudaStreamSynchronize(stream.get()), "cudaStreamSynchronize", "after the warm-up runs");

    UniqueEvent const start = make_event(), stop = make_event();
    std::vector<double> times;
    for (int i = 0; i < std::max(1, timed_runs); ++i) {
      check(cudaEventRecord(start.get(), stream.get()), "cudaEventRecord");
      run(qdp_stream);
      check(cudaEventRecord(stop.get(), stream.get()), "cudaEventRecord");
      check(cudaEventSynchronize(stop.get()), "cudaEventSynchronize", "timed run {}", i);
      float ms = 0;
      check(cudaEventElapsedTime(&ms, start.get(), stop.get()), "cudaEventElapsedTime");
      times.push_back(ms);
    }
    auto const median = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), median, times.end());
    return *median;
  }

  // Captures on the caller's stream, or on a stream of our own when it is the legacy default
  // stream, which cannot be captured; a graph launches on any stream.
  std::shared_ptr<void> capture_graph(std::function<void(Stream)> const& run,
                                      Stream stream) override {
    DeviceScope scope(index_);
    UniqueStream own;
    cudaStream_t capture = native(stream);
    if (!capture) {
      own = make_nonblocking_stream();
      capture = own.get();
    }
    check(cudaStreamBeginCapture(capture, cudaStreamCaptureModeThreadLocal),
          "cudaStreamBeginCapture");
    cudaGraph_t graph = nullptr;
    try {
      run(Stream{capture});
    } catch (...) {
      (void)cudaStreamEndCapture(capture, &graph);  // leave the stream usable
      if (graph) (void)cudaGraphDestroy(graph);
      throw;
    }
    check(cudaStreamEndCapture(capture, &graph), "cudaStreamEndCapture");
    std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, decltype(&cudaGraphDestroy)> owned(
        graph, &cudaGraphDestroy);
    cudaGraphExec_t exec = nullptr;
    check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    return std::shared_ptr<void>(
        exec, [](void* e) { (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(e)); });
  }

  void launch_graph(void* graph, Stream stream) override {
    DeviceScope scope(index_);
    check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graph), native(stream)), "cudaGraphLaunch");
  }

 private:
  int grid_for(int64_t work_items, int64_t items_per_block) const {
    int64_t const blocks = (work_items + items_per_block - 1) / items_per_block;
    return static_cast<int>(std::clamp<int64_t>(blocks, 1, max_blocks_));
  }

  void launch_cast(Tensor const& src, Tensor const& dst, int64_t n, Stream stream) const {
    with_element_types(src.dtype, dst.dtype, [&](auto from_type, auto to_type) {
      using From = typename decltype(from_type)::type;
      using To = typename decltype(to_type)::type;
      constexpr int kWidth = kCastWidth<From, To>;
      bool const vectorized = is_aligned(src.data, alignof(Vector<From, kWidth>)) &&
                              is_aligned(dst.data, alignof(Vector<To, kWidth>));
      int const grid = grid_for(vectorized ? n / kWidth : n, kThreads);
      cast_kernel<From, To><<<grid, kThreads, 0, native(stream)>>>(
          static_cast<From const*>(src.data), static_cast<To*>(dst.data), n, vectorized);
    });
  }

  // Rank-4 NCHW <-> NHWC, per image a [C, H*W] <-> [H*W, C] transpose.
  void launch_transpose(Tensor const& src, Tensor const& dst, bool to_channels_last,
                        Stream stream) const {
    int64_t const images = src.shape[0], channels = src.shape[1];
    int64_t const pixels = src.shape[2] * src.shape[3];
    int64_t const rows = to_channels_last ? channels : pixels;
    int64_t const cols = to_channels_last ? pixels : channels;
    bool const slabs = std::min(rows, cols) <= kMaxSlabShortSide;
    with_element_types(src.dtype, dst.dtype, [&](auto from_type, auto to_type) {
      using From = typename decltype(from_type)::type;
      using To = typename decltype(to_type)::type;
      auto const* in = static_cast<From const*>(src.data);
      auto* out = static_cast<To*>(dst.data);
      if (slabs) {
        int64_t const short_side = std::min(rows, cols), long_side = std::max(rows, cols);
        int64_t const run = static_cast<int64_t>(kSlabBytes / sizeof(To)) / (short_side | 1);
        int const grid = grid_for(images * ((long_side + run - 1) / run), 1);
        transpose_slab_kernel<From, To>
            <<<grid, kThreads, 0, native(stream)>>>(in, out, images, rows, cols);
      } else {
        int64_t const tiles =
            (rows + kTileEdge - 1) / kTileEdge * ((cols + kTileEdge - 1) / kTileEdge);
        int const grid = grid_for(images * tiles, 1);
        if constexpr (std::is_same_v<From, To> && (sizeof(To) == 2 || sizeof(To) == 4)) {
          if (rows % 2 == 0 && cols % 2 == 0 && is_aligned(in, 2 * sizeof(To)) &&
              is_aligned(out, 2 * sizeof(To))) {
            transpose_pair_kernel<To>
                <<<grid, kThreads, 0, native(stream)>>>(in, out, images, rows, cols);
            return;
          }
        }
        transpose_kernel<From, To>
            <<<grid, kThreads, 0, native(stream)>>>(in, out, images, rows, cols);
      }
    });
  }

  void launch_strided(Tensor const& src, Tensor const& dst, int64_t n, Stream stream) const {
    StridedLayout layout;
    layout.rank = src.rank();
    for (int d = 0; d < src.rank(); ++d) {
      layout.shape[d] = src.shape[d];
      layout.src_strides[d] = src.strides[d];
      layout.dst_strides[d] = dst.strides[d];
    }
    with_element_types(src.dtype, dst.dtype, [&](auto from_type, auto to_type) {
      using From = typename decltype(from_type)::type;
      using To = typename decltype(to_type)::type;
      strided_kernel<From, To><<<grid_for(n, kThreads), kThreads, 0, native(stream)>>>(
          static_cast<From const*>(src.data), static_cast<To*>(dst.data), layout, n);
    });
  }

  bool supports_aot() const override { return true; }

  PlanKernel compile_kernel(std::string_view plugin_id, AotKernel const& kernel) override {
    DeviceScope scope(index_);
    return compile_aot_kernel(plugin_id, kernel, arch_);
  }

  std::shared_ptr<const LoadedKernel> load_kernel(PlanKernel const& kernel, std::string_view step,
                                                  size_t inputs, size_t outputs) override {
    DeviceScope scope(index_);
    return load_aot_kernel(kernel, step, inputs, outputs, arch_);
  }

  int index_;
  int arch_;  // compute capability, e.g. 90
  int64_t max_blocks_;
};

// The number of usable GPUs, probed once: 0 when there is no GPU or no driver. Never throws nor
// prints: a machine without a GPU simply has no CUDA backend.
int probe_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // a failed probe must not surface as a later call's error
    return 0;
  }
  return count;
}

// GPU `index`'s backend, with that GPU's own properties; nullopt when they cannot be read.
std::unique_ptr<CudaBackend> make_backend(int index) noexcept {
  int multiprocessors = 0, major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, index) !=
          cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, index) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, index) != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return std::make_unique<CudaBackend>(index, multiprocessors, major * 10 + minor);
}

}  // namespace

int cuda_device_count() {
  static int const count = probe_device_count();
  return count;
}

Backend* cuda_backend(int index) {
  if (index < 0 || index >= cuda_device_count()) return nullptr;
  // One backend per GPU, made when first asked for; they live as long as the process.
  static std::mutex mutex;
  static std::vector<std::unique_ptr<CudaBackend>> backends(
      static_cast<size_t>(cuda_device_count()));
  std::lock_guard lock(mutex);
  auto& b = backends[static_cast<size_t>(index)];
  if (!b) b = make_backend(index);
  return b.get();
}

}  // namespace qdp::detail
