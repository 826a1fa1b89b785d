// The CPU backend: host memory, synchronous execution, steady-clock timing.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <qdp/device_buffer.hpp>
#include <utility>
#include <vector>

#include "backends/backend.hpp"
#include "core/float_to_integer.hpp"

namespace qdp::detail {
namespace {

// Reads element i of `t` (by its dense index in memory) as double; exact for every type but
// INT64 beyond 2^53, which is handled on its own path below.
double load(void const* base, DataType t, int64_t i) {
  switch (t) {
    case DataType::FP32:
      return static_cast<float const*>(base)[i];
    case DataType::FP16:
      return static_cast<float>(static_cast<half const*>(base)[i]);
    case DataType::BF16:
      return static_cast<float>(static_cast<bfloat16 const*>(base)[i]);
    case DataType::INT8:
      return static_cast<int8_t const*>(base)[i];
    case DataType::UINT8:
      return static_cast<uint8_t const*>(base)[i];
    case DataType::INT32:
      return static_cast<int32_t const*>(base)[i];
    case DataType::INT64:
      return static_cast<double>(static_cast<int64_t const*>(base)[i]);
    case DataType::BOOL:
      return static_cast<bool const*>(base)[i] ? 1.0 : 0.0;
  }
  return 0;
}

void store(void* base, DataType t, int64_t i, double v) {
  switch (t) {
    case DataType::FP32:
      static_cast<float*>(base)[i] = static_cast<float>(v);
      break;
    case DataType::FP16:
      static_cast<half*>(base)[i] = half(static_cast<float>(v));
      break;
    case DataType::BF16:
      static_cast<bfloat16*>(base)[i] = bfloat16(static_cast<float>(v));
      break;
    case DataType::INT8:
      static_cast<int8_t*>(base)[i] = static_cast<int8_t>(float_to_int64(v));
      break;
    case DataType::UINT8:
      static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(float_to_int64(v));
      break;
    case DataType::INT32:
      static_cast<int32_t*>(base)[i] = static_cast<int32_t>(float_to_int64(v));
      break;
    case DataType::INT64:
      static_cast<int64_t*>(base)[i] = static_cast<int64_t>(float_to_int64(v));
      break;
    case DataType::BOOL:
      static_cast<bool*>(base)[i] = v != 0;
      break;
  }
}

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }

  void* allocate(size_t bytes) override {
    // 64-byte alignment: whole cache lines, and enough for any vector width.
    size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
    if (bytes > (size_t{1} << 62))
      fail(ErrorCode::OutOfMemory, "cannot allocate {} bytes of host memory", bytes);
    void* p = std::aligned_alloc(64, rounded);
    if (!p) fail(ErrorCode::OutOfMemory, "out of host memory allocating {} bytes", bytes);
    return p;
  }
  void deallocate(void* data) noexcept override { std::free(data); }
  void copy(void* dst, void const* src, size_t bytes, Stream) override {
    if (dst != src && bytes > 0) std::memmove(dst, src, bytes);  // memmove wants non-null
  }
  void zero(void* dst, size_t bytes, Stream) override {
    if (bytes > 0) std::memset(dst, 0, bytes);
  }
  void copy_from_host(void* dst, void const* src, size_t bytes) override {
    copy(dst, src, bytes, {});
  }
  void copy_to_host(void* dst, void const* src, size_t bytes) override {
    copy(dst, src, bytes, {});
  }
  void reformat(Tensor const& src, Tensor const& dst, Stream) override {
    reformat_on_host(src, dst);
  }
  void synchronize(Stream) override {}

  double time_ms(std::function<void(Stream)> const& run, int warmup_runs, int timed_runs) override {
    for (int i = 0; i < warmup_runs; ++i) run({});
    std::vector<double> times;
    for (int i = 0; i < std::max(1, timed_runs); ++i) {
      auto start = std::chrono::steady_clock::now();
      run({});
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2),
                     times.end());
    return times[times.size() / 2];
  }
};

// n elements of `bytes` each from src (every `ss` elements) to dst (every `ds`).
template <class E>
void copy_strided(E const* src, int64_t ss, E* dst, int64_t ds, int64_t n) {
  for (int64_t k = 0; k < n; ++k) dst[k * ds] = src[k * ss];
}
void copy_run(std::byte const* src, int64_t ss, std::byte* dst, int64_t ds, int64_t n,
              size_t bytes) {
  switch (bytes) {
    case 1:
      return copy_strided(reinterpret_cast<uint8_t const*>(src), ss,
                          reinterpret_cast<uint8_t*>(dst), ds, n);
    case 2:
      return copy_strided(reinterpret_cast<uint16_t const*>(src), ss,
                          reinterpret_cast<uint16_t*>(dst), ds, n);
    case 4:
      return copy_strided(reinterpret_cast<uint32_t const*>(src), ss,
                          reinterpret_cast<uint32_t*>(dst), ds, n);
    default:
      for (int64_t k = 0; k < n; ++k)
        std::memcpy(dst + static_cast<size_t>(k * ds) * bytes,
                    src + static_cast<size_t>(k * ss) * bytes, bytes);
  }
}

}  // namespace

void reformat_on_host(Tensor const& src, Tensor const& dst) {
  if (!(src.shape == dst.shape))
    fail("reformat between different shapes {} and {}", to_string(src.shape), to_string(dst.shape));
  int rank = src.rank();
  int64_t n = src.numel();
  bool same_layout = src.strides == dst.strides;
  if (same_layout && src.dtype == dst.dtype) {
    if (n > 0) std::memmove(dst.data, src.data, src.bytes());
    return;
  }
  if (n == 0) return;
  // Runs along the last dimension: their offsets are computed once per run, not per element
  // (per element, ResNet-18's 1x3x224x224 input took 1.1 ms into channels-last on the 2-core
  // CPU). The same type moves by element size, bit for bit (INT64 beyond 2^53 too).
  int64_t const run = rank ? src.shape[rank - 1] : 1;
  int64_t const ss = rank ? src.strides[rank - 1] : 1, ds = rank ? dst.strides[rank - 1] : 1;
  size_t const bytes = element_size(src.dtype);
  bool const same_type = src.dtype == dst.dtype;
  Dims index;
  for (int d = 0; d + 1 < rank; ++d) index.push_back(0);
  for (int64_t r = 0; r < n / run; ++r) {
    int64_t s = 0, t = 0;
    for (int d = 0; d + 1 < rank; ++d) {
      s += index[d] * src.strides[d];
      t += index[d] * dst.strides[d];
    }
    if (same_type) {
      copy_run(static_cast<std::byte const*>(src.data) + s * static_cast<int64_t>(bytes), ss,
               static_cast<std::byte*>(dst.data) + t * static_cast<int64_t>(bytes), ds, run, bytes);
    } else {
      for (int64_t k = 0; k < run; ++k)
        store(dst.data, dst.dtype, t + k * ds, load(src.data, src.dtype, s + k * ss));
    }
    for (int d = rank - 2; d >= 0; --d) {  // the next run, the last outer dimension fastest
      if (++index[d] < src.shape[d]) break;
      index[d] = 0;
    }
  }
}

Backend& cpu_backend() {
  static CpuBackend backend;  // stateless
  return backend;
}

}  // namespace qdp::detail
