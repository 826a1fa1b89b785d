// The circ_pad sample's plugin on the GPU (SPEC §6: fp32 and fp16, (64,64,256,256), pads 1, at
// >= 90 % of copy bandwidth; bench/gpu/peers_circ_pad.py times PyTorch eager and the seed's
// Triton kernel on the same shapes). Prints CSV rows:
//   case,dtype,shape,impl,median_ms,GBps     bytes = input bytes (read once) + output bytes
//   qdp_tactic1   the CUDA impl bound directly, tactic 1: one thread per element, index math
//   qdp_tactic2   the same, tactic 2: the row-vector kernel (also tactic 0)
//   qdp_engine    an enqueue of the one-node engine built with both tactics autotuned (strict
//                 types: an fp32 network stays fp32, an fp16 network fp16)
//   qdp_aot_tactic1/2  the AOT variant's kernel of each tactic, compiled by NVRTC and launched
//                 as an engine launches it (qdp_aot_engine: the engine, both tactics autotuned)
//   cuda_memcpy   a device-to-device copy of (input + output bytes) / 2: the bandwidth limit
// Each qdp result is checked once, whole, against the host (impl suffix _WRONG when it differs).
// The tactic the engine chose goes to stderr.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <qdp/cuda.hpp>
#include <qdp/qdp.hpp>
#include <string>
#include <vector>

#include "backends/backend.hpp"  // internal: each AOT tactic's kernel compiled and timed alone
#include "gpu/gpu_timing.cuh"
#include "plugins/sample_plugins.hpp"

namespace {

constexpr char kId[] = "sample::circ_pad_plugin";

using qdp::bench::Event;
using qdp::bench::median_ms;
using qdp::bench::StreamHolder;

void row(char const* dtype, qdp::Dims shape, std::string const& impl, double ms, double bytes) {
  std::printf("circ_pad,%s,%s,%s,%.5f,%.1f\n", dtype, qdp::to_string(shape).c_str(), impl.c_str(),
              ms, bytes / ms / 1e6);
  std::fflush(stdout);
}

struct Capture : qdp::Logger {
  std::string chose;
  void log(qdp::Severity, std::string_view m) override {
    if (m.find(" chose ") != std::string_view::npos) chose = std::string(m);
  }
};

// Whether `y` (on the device) is x (on the host) padded circularly by 1 in the last two
// dimensions: each output row is its source row with the last element before and the first
// after, and the rows of each plane wrap the same way.
bool check(qdp::DeviceBuffer const& y, std::vector<std::byte> const& x, qdp::Dims in, size_t size) {
  int64_t planes = in[0] * in[1], h = in[2], w = in[3], ho = h + 2, wo = w + 2;
  std::vector<std::byte> out(static_cast<size_t>(planes * ho * wo) * size);
  y.copy_to_host(out.data(), out.size());
  size_t row_in = static_cast<size_t>(w) * size, row_out = static_cast<size_t>(wo) * size;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t r = 0; r < ho; ++r) {
      int64_t src_r = (r - 1 + h) % h;
      std::byte const* src = x.data() + static_cast<size_t>(p * h + src_r) * row_in;
      std::byte const* dst = out.data() + static_cast<size_t>(p * ho + r) * row_out;
      if (std::memcmp(dst, src + row_in - size, size) != 0 ||
          std::memcmp(dst + size, src, row_in) != 0 ||
          std::memcmp(dst + size + row_in, src, size) != 0)
        return false;
    }
  return true;
}

void bench(qdp::DataType dtype, qdp::Dims in) {
  char const* name = dtype == qdp::DataType::FP32 ? "fp32" : "fp16";
  size_t size = qdp::element_size(dtype);
  qdp::Dims out = in;
  out[2] += 2;
  out[3] += 2;
  size_t in_bytes = static_cast<size_t>(in.numel()) * size;
  size_t out_bytes = static_cast<size_t>(out.numel()) * size;
  double bytes = static_cast<double>(in_bytes + out_bytes);
  std::vector<int32_t> pads{1, 1, 1, 1};

  // Any bits do: the plugin copies them, and the check compares bytes.
  std::vector<std::byte> host(in_bytes);
  uint32_t state = 12345;
  for (auto& b : host) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<std::byte>(state >> 24);
  }
  qdp::DeviceBuffer x(qdp::Device::CUDA, in_bytes), y(qdp::Device::CUDA, out_bytes);
  x.copy_from_host(host.data(), in_bytes);
  StreamHolder stream;

  {
    size_t half_bytes = (in_bytes + out_bytes) / 2;
    qdp::DeviceBuffer src(qdp::Device::CUDA, half_bytes);
    QDP_CUDA_CHECK(cudaMemset(src.data(), 1, half_bytes));
    double ms = median_ms(stream.s, [&] {
      QDP_CUDA_CHECK(
          cudaMemcpyAsync(y.data(), src.data(), half_bytes, cudaMemcpyDeviceToDevice, stream.s));
    });
    row(name, in, "cuda_memcpy", ms, 2.0 * static_cast<double>(half_bytes));
  }

  qdp::Tensor tx{x.data(),          dtype, qdp::TensorFormat::LINEAR,
                 qdp::Device::CUDA, in,    qdp::dense_strides(in, qdp::TensorFormat::LINEAR)};
  qdp::Tensor ty{y.data(),          dtype, qdp::TensorFormat::LINEAR,
                 qdp::Device::CUDA, out,   qdp::dense_strides(out, qdp::TensorFormat::LINEAR)};
  std::vector<qdp::Tensor> ins{tx}, outs{ty};
  qdp::BoundImpl impl =
      qdp::Registry::global().get(kId)->impl(qdp::Device::CUDA)->bind({{"pads", pads}});
  for (int32_t tactic : {1, 2}) {
    QDP_CUDA_CHECK(cudaMemset(y.data(), 0xff, out_bytes));
    double ms = median_ms(stream.s, [&] { impl(ins, outs, {stream.s}, qdp::Tactic{tactic}); });
    bool ok = check(y, host, in, size);
    row(name, in, "qdp_tactic" + std::to_string(tactic) + (ok ? "" : "_WRONG"), ms, bytes);
  }

  // Each AOT tactic's kernel, as the engine compiles and launches it.
  {
    auto def = qdp::Registry::global().get(kId);
    std::vector<qdp::ShapeExpr> dims;
    for (int d = 0; d < in.rank(); ++d) dims.push_back(qdp::ShapeExpr::input_dim(0, d));
    std::vector<qdp::TensorDesc> descs{qdp::from_shape_expr(dims, dtype)};
    qdp::Attrs attrs{{"pads", pads}};
    std::vector<qdp::TensorDesc> out_descs = def->desc(descs, attrs);
    std::vector<qdp::Dims> env_inputs{in};
    qdp::ShapeEnv env{env_inputs, {}};
    auto& backend = qdp::detail::backend(qdp::Device::CUDA);
    for (int32_t tactic : {1, 2}) {
      qdp::AotKernel k = def->aot_impl(descs, attrs, out_descs, qdp::Tactic{tactic});
      auto kernel = backend.load_kernel(backend.compile_kernel(kId, k), "circ_pad", 1, 1);
      QDP_CUDA_CHECK(cudaMemset(y.data(), 0xff, out_bytes));
      double ms = median_ms(stream.s, [&] { kernel->launch(ins, outs, env, {stream.s}); });
      bool ok = check(y, host, in, size);
      row(name, in, "qdp_aot_tactic" + std::to_string(tactic) + (ok ? "" : "_WRONG"), ms, bytes);
    }
  }

  // The engine, with the JIT impls (both tactics timed) and with the AOT kernels (two block sizes).
  for (auto choice : {qdp::ImplChoice::JIT, qdp::ImplChoice::AOT}) {
    bool aot = choice == qdp::ImplChoice::AOT;
    qdp::Network net;
    auto input = net.add_input("x", dtype, std::vector<int64_t>(in.begin(), in.end()));
    net.mark_output(net.add_plugin(kId, {input}, {{"pads", pads}}, {.name = "", .impl = choice})[0],
                    "y");
    qdp::BuildConfig config;
    config.device = qdp::Device::CUDA;
    config.strict_types = true;
    Capture log;
    config.logger = &log;
    qdp::Engine engine = qdp::build_engine(net, config);
    std::fprintf(stderr, "# %s %s engine: %s\n", name, aot ? "AOT" : "JIT", log.chose.c_str());
    auto ctx = engine.create_execution_context();
    ctx->set_tensor_address("x", x.data());
    ctx->set_tensor_address("y", y.data());
    QDP_CUDA_CHECK(cudaMemset(y.data(), 0xff, out_bytes));
    double ms = median_ms(stream.s, [&] { ctx->enqueue({stream.s}); });
    bool ok = check(y, host, in, size);
    std::string impl_name = aot ? "qdp_aot_engine" : "qdp_engine";
    row(name, in, ok ? impl_name : impl_name + "_WRONG", ms, bytes);
  }
}

}  // namespace

int main() {
  try {
    if (!qdp::cuda_available()) {
      std::fprintf(stderr, "qdp_circ_pad_bench: no CUDA GPU\n");
      return 1;
    }
    qdp::samples::define_circ_pad(/*multi_tactic=*/true);
    for (auto dtype : {qdp::DataType::FP32, qdp::DataType::FP16}) bench(dtype, {64, 64, 256, 256});
  } catch (qdp::Error const& e) {
    std::fprintf(stderr, "qdp_circ_pad_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
