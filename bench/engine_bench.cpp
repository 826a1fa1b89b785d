// CPU benchmarks of the engine (issue: foundation):
//   BM_BuildAddAutotune     engine build of the add sample with autotune (target <= 50 ms)
//   BM_EnqueueNoopChain     enqueue of N no-op plugin nodes, per node (overhead target <= 1 us)
//   BM_DirectNoopCall       the same impl called directly, the baseline of the overhead
//   BM_AddEngine / BM_Memcpy  add through the engine against memcpy of the same bytes (>= 70 %)
#include <benchmark/benchmark.h>

#include <cstring>
#include <qdp/qdp.hpp>
#include <random>
#include <vector>

#include "plugins/sample_plugins.hpp"

namespace {

QDP_PLUGIN(noop_plugin, "bench::noop")
    .desc([](qdp::TensorDesc const& x) { return x.aliased(); })
    .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y) {
      benchmark::DoNotOptimize(x.data() == y.data());
    });

bool const samples_defined = [] {
  qdp::samples::define_elemwise_add(/*with_autotune=*/true);
  qdp::samples::define_circ_pad(/*multi_tactic=*/true);
  qdp::samples::define_non_zero();
  return true;
}();

qdp::Engine add_engine(qdp::Dims shape, bool strict) {
  qdp::Network net;
  auto x =
      net.add_input("x", qdp::DataType::FP32, std::vector<int64_t>(shape.begin(), shape.end()));
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x})[0], "y");
  qdp::BuildConfig config;
  config.strict_types = strict;
  return qdp::build_engine(net, config);
}

void BM_BuildAddAutotune(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(add_engine({10, 3, 32, 32}, false));
  state.SetLabel("add sample, autotune FP32|FP16, cpu");
}
BENCHMARK(BM_BuildAddAutotune)->Unit(benchmark::kMillisecond);

void BM_EnqueueNoopChain(benchmark::State& state) {
  int nodes = static_cast<int>(state.range(0));
  qdp::Network net;
  auto t = net.add_input("x", qdp::DataType::FP32, {16});
  for (int i = 0; i < nodes; ++i) t = net.add_plugin("bench::noop", {t})[0];
  net.mark_output(t, "y");
  qdp::Engine engine = qdp::build_engine(net, {});
  auto ctx = engine.create_execution_context();
  std::vector<float> buffer(16);
  ctx->set_tensor_address("x", buffer.data());
  ctx->set_tensor_address("y", buffer.data());
  for (auto _ : state) ctx->enqueue();
  state.counters["ns_per_node"] =
      benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
}
BENCHMARK(BM_EnqueueNoopChain)->Arg(1)->Arg(16)->Unit(benchmark::kNanosecond);

void BM_DirectNoopCall(benchmark::State& state) {
  auto const& def = *qdp::Registry::global().get("bench::noop");
  qdp::BoundImpl impl = def.impl(qdp::Device::CPU)->bind({});
  std::vector<float> buffer(16);
  qdp::Tensor t{
      buffer.data(), qdp::DataType::FP32, qdp::TensorFormat::LINEAR, qdp::Device::CPU, {16}, {1}};
  std::vector<qdp::Tensor> in{t}, out{t};
  for (auto _ : state) impl(in, out, {}, {});
}
BENCHMARK(BM_DirectNoopCall)->Unit(benchmark::kNanosecond);

void BM_AddEngine(benchmark::State& state) {
  int64_t n = state.range(0);
  qdp::Engine engine = add_engine({n}, true);
  auto ctx = engine.create_execution_context();
  std::vector<float> x(static_cast<size_t>(n), 1.0f), y(static_cast<size_t>(n));
  ctx->set_tensor_address("x", x.data());
  ctx->set_tensor_address("y", y.data());
  for (auto _ : state) ctx->enqueue();
  state.SetBytesProcessed(state.iterations() * n * 8);  // read x, write y
}
BENCHMARK(BM_AddEngine)->Arg(1 << 24)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Memcpy(benchmark::State& state) {
  int64_t n = state.range(0);
  std::vector<float> x(static_cast<size_t>(n), 1.0f), y(static_cast<size_t>(n));
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), static_cast<size_t>(n) * 4);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * 8);  // read + write, as for add
}
BENCHMARK(BM_Memcpy)->Arg(1 << 24)->Unit(benchmark::kMillisecond)->UseRealTime();

// circ_pad (16,16,256,256) fp32, pads 1, through the engine (both tactics timed, the faster kept).
void BM_CircPadEngine(benchmark::State& state) {
  qdp::Network net;
  auto x = net.add_input("x", qdp::DataType::FP32, {16, 16, 256, 256});
  net.mark_output(
      net.add_plugin("sample::circ_pad_plugin", {x}, {{"pads", std::vector<int32_t>{1, 1, 1, 1}}},
                     {.name = "", .impl = qdp::ImplChoice::JIT})[0],
      "y");
  qdp::BuildConfig config;
  config.strict_types = true;
  qdp::Engine engine = qdp::build_engine(net, config);
  auto ctx = engine.create_execution_context();
  std::vector<float> in(16 * 16 * 256 * 256, 1.0f), out(16 * 16 * 258 * 258);
  ctx->set_tensor_address("x", in.data());
  ctx->set_tensor_address("y", out.data());
  for (auto _ : state) ctx->enqueue();
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>((in.size() + out.size()) * 4));
}
BENCHMARK(BM_CircPadEngine)->Unit(benchmark::kMillisecond)->UseRealTime();

// non_zero 4096x4096 fp32 with half zeros, through the engine.
void BM_NonZeroEngine(benchmark::State& state) {
  qdp::Network net;
  auto x = net.add_input("X", qdp::DataType::FP32, {4096, 4096});
  auto outs = net.add_plugin("sample::non_zero_plugin", {x});
  net.mark_output(outs[0], "indices");
  net.mark_output(outs[1], "count");
  qdp::BuildConfig config;
  config.strict_types = true;
  qdp::Runner runner(qdp::build_engine(net, config));
  qdp::Array in(qdp::DataType::FP32, {4096, 4096});
  std::mt19937 rng(0);
  for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = (rng() & 1) ? 1.0f : 0.0f;
  runner.infer({{"X", in}});  // binds and sizes everything once
  auto& ctx = runner.context();
  for (auto _ : state) ctx.enqueue();
  state.SetBytesProcessed(state.iterations() * in.numel() * 4);
}
BENCHMARK(BM_NonZeroEngine)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
