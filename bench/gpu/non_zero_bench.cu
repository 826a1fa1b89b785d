// The non_zero sample's engine on the GPU (SPEC §6: 8192x8192 fp32 with half zeros in <= 40 % of
// torch.nonzero's time; bench/gpu/peers_non_zero.py times torch.nonzero on the same inputs).
// Prints CSV rows:
//   case,dtype,shape,impl,median_ms,GBps     bytes = input bytes + output bytes (8 B per pair)
//   qdp_engine      an enqueue of the one-node engine through an ExecutionContext: the kernel,
//                   its scratch memset and the runtime's read-back of N (a stream synchronize)
//   cub_select_if   for comparison, a bare cub::DeviceSelect::If over a counting iterator whose
//                   predicate reads X, writing (row, col) through a transform output iterator
//   cuda_memcpy     a device-to-device copy of the input: the bandwidth limit (2 x input bytes)
// Each count is checked once against a count on the host (impl suffix _WRONG when it differs).
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_output_iterator.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cub/device/device_select.cuh>
#include <qdp/cuda.hpp>
#include <qdp/qdp.hpp>
#include <random>
#include <vector>

#include "gpu/gpu_timing.cuh"
#include "plugins/sample_plugins.hpp"

namespace {

using qdp::bench::Event;
using qdp::bench::median_ms;
using qdp::bench::StreamHolder;

// For CUB: is element i non-zero (sign aside, any bit set), and its (row, col) pair.
template <class Bits>
struct IsNonZero {
  Bits const* x;
  __device__ bool operator()(int64_t i) const {
    Bits mask = sizeof(Bits) == 4 ? Bits(0x7fffffffu) : Bits(0x7fffu);
    return (x[i] & mask) != 0;
  }
};
struct ToPair {
  int64_t cols;
  __device__ int2 operator()(int64_t i) const {
    return make_int2(static_cast<int>(i / cols), static_cast<int>(i % cols));
  }
};

void row(char const* dtype, qdp::Dims shape, char const* impl, double ms, double bytes) {
  std::printf("non_zero,%s,%s,%s,%.5f,%.1f\n", dtype, qdp::to_string(shape).c_str(), impl, ms,
              bytes / ms / 1e6);
  std::fflush(stdout);
}

// X: normal values, each zeroed with probability 1/2 (as torch.rand(...) < 0.5 in the peer).
template <class Bits>
void bench(qdp::DataType dtype, int64_t rows, int64_t cols) {
  char const* name = dtype == qdp::DataType::FP32 ? "fp32" : "fp16";
  qdp::Dims shape{rows, cols};
  int64_t numel = rows * cols;
  size_t in_bytes = static_cast<size_t>(numel) * sizeof(Bits);
  std::vector<Bits> host(static_cast<size_t>(numel));
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  int64_t expected = 0;
  for (auto& h : host) {
    float v = (rng() & 1) ? 0.0f : normal(rng);
    if constexpr (sizeof(Bits) == 4) {
      std::memcpy(&h, &v, sizeof h);
    } else {
      qdp::half hv(v);
      std::memcpy(&h, &hv, sizeof h);
    }
    expected += (h & (sizeof(Bits) == 4 ? Bits(0x7fffffffu) : Bits(0x7fffu))) != 0;
  }
  double bytes = static_cast<double>(in_bytes) + 8.0 * static_cast<double>(expected);

  qdp::DeviceBuffer x(qdp::Device::CUDA, in_bytes), copy(qdp::Device::CUDA, in_bytes);
  x.copy_from_host(host.data(), in_bytes);
  StreamHolder stream;

  // qdp's engine.
  qdp::Network net;
  auto xin = net.add_input("X", dtype, {rows, cols});
  auto out = net.add_plugin("sample::non_zero_plugin", {xin});
  net.mark_output(out[0], "indices");
  net.mark_output(out[1], "count");
  qdp::BuildConfig config;
  config.device = qdp::Device::CUDA;
  config.strict_types = true;  // time the kernel of X's own type
  qdp::Engine engine = qdp::build_engine(net, config);
  qdp::DeviceBuffer indices(qdp::Device::CUDA, engine.io("indices").max_bytes),
      count(qdp::Device::CUDA, sizeof(int64_t));
  auto ctx = engine.create_execution_context();
  ctx->set_tensor_address("X", x.data());
  ctx->set_tensor_address("indices", indices.data());
  ctx->set_tensor_address("count", count.data());
  double ms = median_ms(stream.s, [&] { ctx->enqueue({stream.s}); });
  int64_t n = -1;
  count.copy_to_host(&n, sizeof n);
  bool ok = n == expected && ctx->tensor_shape("indices") == qdp::Dims{expected, 2};
  if (ok && expected > 0) {  // spot-check the first and last pairs
    int32_t first[2], last[2];
    indices.copy_to_host(first, sizeof first);
    indices.copy_to_host(last, sizeof last, static_cast<size_t>(expected - 1) * 8);
    int64_t i0 = -1, i1 = -1;
    for (int64_t i = 0; i < numel; ++i)
      if (host[static_cast<size_t>(i)] & (sizeof(Bits) == 4 ? Bits(0x7fffffffu) : Bits(0x7fffu))) {
        if (i0 < 0) i0 = i;
        i1 = i;
      }
    ok = first[0] == i0 / cols && first[1] == i0 % cols && last[0] == i1 / cols &&
         last[1] == i1 % cols;
  }
  row(name, shape, ok ? "qdp_engine" : "qdp_engine_WRONG", ms, bytes);

  // Bare CUB select, for comparison.
  auto pairs =
      thrust::make_transform_output_iterator(static_cast<int2*>(indices.data()), ToPair{cols});
  auto items = thrust::counting_iterator<int64_t>(0);
  IsNonZero<Bits> pred{static_cast<Bits const*>(x.data())};
  auto* num = static_cast<int64_t*>(count.data());
  size_t temp_bytes = 0;
  QDP_CUDA_CHECK(
      cub::DeviceSelect::If(nullptr, temp_bytes, items, pairs, num, numel, pred, stream.s));
  qdp::DeviceBuffer temp(qdp::Device::CUDA, std::max<size_t>(temp_bytes, 1));
  double cub_ms = median_ms(stream.s, [&] {
    QDP_CUDA_CHECK(
        cub::DeviceSelect::If(temp.data(), temp_bytes, items, pairs, num, numel, pred, stream.s));
  });
  count.copy_to_host(&n, sizeof n);
  row(name, shape, n == expected ? "cub_select_if" : "cub_select_if_WRONG", cub_ms, bytes);

  double copy_ms = median_ms(stream.s, [&] {
    QDP_CUDA_CHECK(
        cudaMemcpyAsync(copy.data(), x.data(), in_bytes, cudaMemcpyDeviceToDevice, stream.s));
  });
  row(name, shape, "cuda_memcpy", copy_ms, 2.0 * static_cast<double>(in_bytes));
}

}  // namespace

int main() {
  try {
    if (!qdp::cuda_available()) {
      std::fprintf(stderr, "qdp_non_zero_bench: no CUDA GPU\n");
      return 1;
    }
    qdp::samples::define_non_zero();
    bench<uint32_t>(qdp::DataType::FP32, 8192, 8192);
    bench<uint16_t>(qdp::DataType::FP16, 8192, 8192);
    bench<uint32_t>(qdp::DataType::FP32, 128, 128);
  } catch (qdp::Error const& e) {
    std::fprintf(stderr, "qdp_non_zero_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
