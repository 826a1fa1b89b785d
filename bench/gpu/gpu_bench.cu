// qdp's GPU benchmarks (run on the device by scripts/gpu-check.sh). Prints CSV rows:
//   case,dtype,shape,impl,median_ms,GBps       bandwidth cases (bytes read + written per run)
//   metric,name,value,unit                     overheads and build time
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <qdp/cuda.hpp>
#include <qdp/qdp.hpp>
#include <vector>

#include "backends/backend.hpp"
#include "gpu/gpu_timing.cuh"
#include "plugins/cuda_elementwise.cuh"
#include "plugins/sample_plugins.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct AddOne {  // the bare kernel's operation, as the add plugin's
  __device__ float operator()(float v) const { return v + 1.0f; }
};

using qdp::bench::Event;
using qdp::bench::median_latency_ms;
using qdp::bench::median_ms;
using qdp::bench::StreamHolder;

qdp::Engine add_engine(qdp::DataType dtype, qdp::Dims shape, bool autotune_all = false) {
  qdp::Network net;
  auto x = net.add_input("x", dtype, std::vector<int64_t>(shape.begin(), shape.end()));
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x})[0], "y");
  qdp::BuildConfig config;
  config.device = qdp::Device::CUDA;
  config.strict_types = !autotune_all;
  return qdp::build_engine(net, config);
}

std::string shape_text(qdp::Dims d) {
  return qdp::to_string(d);
}

void bandwidth(qdp::DataType dtype, qdp::Dims shape) {
  char const* name = dtype == qdp::DataType::FP32 ? "fp32" : "fp16";
  size_t bytes = static_cast<size_t>(shape.numel()) * qdp::element_size(dtype);
  qdp::DeviceBuffer x(qdp::Device::CUDA, bytes), y(qdp::Device::CUDA, bytes);
  std::vector<float> ones(static_cast<size_t>(shape.numel()), 3.0f);
  std::vector<std::byte> host(bytes);
  if (dtype == qdp::DataType::FP32)
    std::memcpy(host.data(), ones.data(), bytes);
  else
    for (size_t i = 0; i < ones.size(); ++i)
      reinterpret_cast<qdp::half*>(host.data())[i] = qdp::half(3.0f);
  x.copy_from_host(host.data(), bytes);
  StreamHolder stream;
  double copy = median_ms(stream.s, [&] {
    QDP_CUDA_CHECK(cudaMemcpyAsync(y.data(), x.data(), bytes, cudaMemcpyDeviceToDevice, stream.s));
  });
  std::printf("add,%s,%s,cuda_memcpy,%.5f,%.1f\n", name, shape_text(shape).c_str(), copy,
              2.0 * bytes / copy / 1e6);
  qdp::Engine engine = add_engine(dtype, shape);
  auto ctx = engine.create_execution_context();
  ctx->set_tensor_address("x", x.data());
  ctx->set_tensor_address("y", y.data());
  double ms = median_ms(stream.s, [&] { ctx->enqueue({stream.s}); });
  // Check the result once: every element 4.
  y.copy_to_host(host.data(), bytes);
  bool ok = true;
  for (size_t i = 0; i < ones.size() && ok; ++i)
    ok = (dtype == qdp::DataType::FP32
              ? reinterpret_cast<float*>(host.data())[i]
              : static_cast<float>(reinterpret_cast<qdp::half*>(host.data())[i])) == 4.0f;
  std::printf("add,%s,%s,qdp_engine%s,%.5f,%.1f\n", name, shape_text(shape).c_str(),
              ok ? "" : "_WRONG", ms, 2.0 * bytes / ms / 1e6);
}

// Host time of one enqueue of a one-node engine against a bare launch of the same kernel.
void overheads() {
  qdp::Dims shape{10, 3, 32, 32};
  size_t bytes = static_cast<size_t>(shape.numel()) * 4;
  qdp::DeviceBuffer x(qdp::Device::CUDA, bytes), y(qdp::Device::CUDA, bytes);
  StreamHolder stream;
  qdp::Engine engine = add_engine(qdp::DataType::FP32, shape);
  auto ctx = engine.create_execution_context();
  ctx->set_tensor_address("x", x.data());
  ctx->set_tensor_address("y", y.data());
  auto host_us = [&](auto&& launch) {
    std::vector<double> per_launch;
    for (int batch = 0; batch < 50; ++batch) {
      constexpr int kBatch = 100;  // few enough that the launch queue never fills
      auto t0 = Clock::now();
      for (int i = 0; i < kBatch; ++i) launch();
      auto t1 = Clock::now();
      QDP_CUDA_CHECK(cudaStreamSynchronize(stream.s));
      per_launch.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / kBatch);
    }
    std::sort(per_launch.begin(), per_launch.end());
    return per_launch[per_launch.size() / 2];
  };
  auto bare = [&] {
    qdp::samples::launch_elementwise(static_cast<float const*>(x.data()),
                                     static_cast<float*>(y.data()), shape.numel(), AddOne{}, 256,
                                     stream.s);
  };
  auto engine_enqueue = [&] { ctx->enqueue({stream.s}); };
  host_us(bare);
  double bare_us = host_us(bare);
  double engine_us = host_us(engine_enqueue);
  std::printf("metric,host_us_bare_launch,%.3f,us\n", bare_us);
  std::printf("metric,host_us_engine_enqueue,%.3f,us\n", engine_us);
  std::printf("metric,host_overhead_per_node,%.3f,us\n", engine_us - bare_us);
  // Graph replay of the same engine: device time per replay.
  ctx->capture_graph({stream.s});
  double graph_ms = median_latency_ms(stream.s, [&] { ctx->launch_graph({stream.s}); });
  double plain_ms = median_latency_ms(stream.s, [&] { ctx->enqueue({stream.s}); });
  double graph_host = host_us([&] { ctx->launch_graph({stream.s}); });
  std::printf("metric,graph_replay_device_us,%.3f,us\n", graph_ms * 1000);
  std::printf("metric,enqueue_device_us,%.3f,us\n", plain_ms * 1000);
  std::printf("metric,host_us_graph_launch,%.3f,us\n", graph_host);
}

// LINEAR <-> HWC through the CUDA backend's reformat, against a copy of the same bytes.
void reformat_bandwidth(qdp::DataType dtype, qdp::Dims shape) {
  char const* name = dtype == qdp::DataType::FP32 ? "fp32" : "fp16";
  size_t bytes = static_cast<size_t>(shape.numel()) * qdp::element_size(dtype);
  qdp::DeviceBuffer a(qdp::Device::CUDA, bytes), b(qdp::Device::CUDA, bytes);
  QDP_CUDA_CHECK(cudaMemset(a.data(), 1, bytes));
  StreamHolder stream;
  auto& backend = qdp::detail::backend(qdp::Device::CUDA);
  qdp::Tensor linear{
      a.data(),          dtype, qdp::TensorFormat::LINEAR,
      qdp::Device::CUDA, shape, qdp::dense_strides(shape, qdp::TensorFormat::LINEAR)};
  qdp::Tensor hwc{b.data(),          dtype, qdp::TensorFormat::HWC,
                  qdp::Device::CUDA, shape, qdp::dense_strides(shape, qdp::TensorFormat::HWC)};
  double copy = median_ms(stream.s, [&] {
    QDP_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream.s));
  });
  double to_hwc = median_ms(stream.s, [&] { backend.reformat(linear, hwc, {stream.s}); });
  double to_linear = median_ms(stream.s, [&] { backend.reformat(hwc, linear, {stream.s}); });
  std::string s = shape_text(shape);
  std::printf("reformat,%s,%s,cuda_memcpy,%.5f,%.1f\n", name, s.c_str(), copy,
              2.0 * bytes / copy / 1e6);
  std::printf("reformat,%s,%s,qdp_linear_to_hwc,%.5f,%.1f\n", name, s.c_str(), to_hwc,
              2.0 * bytes / to_hwc / 1e6);
  std::printf("reformat,%s,%s,qdp_hwc_to_linear,%.5f,%.1f\n", name, s.c_str(), to_linear,
              2.0 * bytes / to_linear / 1e6);
}

void build_time() {
  qdp::DeviceBuffer warm(qdp::Device::CUDA, 1);  // the device is initialised before timing
  std::vector<double> ms;
  for (int i = 0; i < 7; ++i) {
    auto t0 = Clock::now();
    add_engine(qdp::DataType::FP32, {10, 3, 32, 32}, /*autotune_all=*/true);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("metric,build_ms_add_autotune,%.3f,ms\n", ms[ms.size() / 2]);
}

}  // namespace

int main() {
  try {
    if (!qdp::cuda_available()) {
      std::fprintf(stderr, "qdp_gpu_bench: no CUDA GPU\n");
      return 1;
    }
    qdp::samples::define_elemwise_add(/*with_autotune=*/true);
    for (auto dtype : {qdp::DataType::FP32, qdp::DataType::FP16}) {
      bandwidth(dtype, {int64_t{1} << 28});
      bandwidth(dtype, {10, 3, 32, 32});
    }
    for (auto dtype : {qdp::DataType::FP32, qdp::DataType::FP16})
      reformat_bandwidth(dtype, {32, 256, 56, 56});
    overheads();
    build_time();
  } catch (qdp::Error const& e) {
    std::fprintf(stderr, "qdp_gpu_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
