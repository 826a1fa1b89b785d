// qdpexec: the counterpart of trtexec (SPEC §4). Builds an engine from an ONNX model or loads one,
// optionally saves it, runs it and reports build time, latency, throughput and enqueue time.
// Exit codes: 0 success, 1 failure, 2 usage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <qdp/onnx.hpp>
#include <qdp/qdp.hpp>
#include <random>

#include "qdpexec/npy.hpp"

namespace qdp::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string onnx, load_engine, save_engine, save_outputs, export_layer_info, device;
  std::vector<std::string> plugins, shapes, min_shapes, opt_shapes, max_shapes, load_inputs;
  bool fp16 = false, use_cuda_graph = false, dump_layer_info = false, dump_profile = false,
       verbose = false, skip_inference = false;
  int iterations = 10;
  double warm_up_ms = 200, duration_s = 3;
};

// "name:AxBxC" entries, also comma-separated within one argument.
std::map<std::string, Dims> parse_shapes(std::vector<std::string> const& args,
                                         std::string_view option) {
  std::map<std::string, Dims> out;
  for (auto const& arg : args) {
    size_t start = 0;
    while (start <= arg.size()) {
      size_t end = arg.find(',', start);
      std::string item =
          arg.substr(start, end == std::string::npos ? std::string::npos : end - start);
      start = end == std::string::npos ? arg.size() + 1 : end + 1;
      size_t colon = item.rfind(':');
      if (colon == std::string::npos || colon == 0)
        throw CLI::ValidationError(std::string(option), "expected name:AxBxC, got '" + item + "'");
      Dims dims;
      std::string text = item.substr(colon + 1);
      size_t p = 0;
      while (p <= text.size()) {
        size_t x = text.find('x', p);
        std::string d = text.substr(p, x == std::string::npos ? std::string::npos : x - p);
        if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos)
          throw CLI::ValidationError(std::string(option),
                                     "bad dimension '" + d + "' in '" + item + "'");
        dims.push_back(std::stoll(d));
        p = x == std::string::npos ? text.size() + 1 : x + 1;
      }
      out[item.substr(0, colon)] = dims;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_inputs(std::vector<std::string> const& args) {
  std::map<std::string, std::string> out;
  for (auto const& arg : args) {
    size_t colon = arg.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == arg.size())
      throw CLI::ValidationError("--loadInputs", "expected name:file.npy, got '" + arg + "'");
    out[arg.substr(0, colon)] = arg.substr(colon + 1);
  }
  return out;
}

Array random_array(DataType dtype, Dims shape, std::mt19937& rng) {
  Array a(dtype, shape);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> integer(0, 9);
  for (int64_t i = 0; i < a.numel(); ++i) {
    switch (dtype) {
      case DataType::FP32:
        a.data<float>()[i] = real(rng);
        break;
      case DataType::FP16:
        a.data<half>()[i] = half(real(rng));
        break;
      case DataType::BF16:
        a.data<bfloat16>()[i] = bfloat16(real(rng));
        break;
      case DataType::INT8:
        a.data<int8_t>()[i] = static_cast<int8_t>(integer(rng));
        break;
      case DataType::UINT8:
        a.data<uint8_t>()[i] = static_cast<uint8_t>(integer(rng));
        break;
      case DataType::INT32:
        a.data<int32_t>()[i] = integer(rng);
        break;
      case DataType::INT64:
        a.data<int64_t>()[i] = integer(rng);
        break;
      case DataType::BOOL:
        a.data<bool>()[i] = integer(rng) & 1;
        break;
    }
  }
  return a;
}

Engine build_from_onnx(Options const& o, Device device, Logger& logger) {
  Network network = import_onnx(o.onnx);
  auto shapes = parse_shapes(o.shapes, "--shapes");
  auto mins = parse_shapes(o.min_shapes, "--minShapes");
  auto opts = parse_shapes(o.opt_shapes, "--optShapes");
  auto maxs = parse_shapes(o.max_shapes, "--maxShapes");
  for (auto const& in : network.inputs()) {
    if (std::find(in.dims.begin(), in.dims.end(), -1) == in.dims.end()) continue;
    auto pick = [&](auto const& m, char const* option) -> Dims {
      if (auto it = m.find(in.name); it != m.end()) return it->second;
      if (auto it = shapes.find(in.name); it != shapes.end()) return it->second;
      fail("input '{}' has dynamic dimensions: give its shape with --shapes={}:AxB... (or {})",
           in.name, in.name, option);
    };
    network.set_profile(in.name, pick(mins, "--minShapes"), pick(opts, "--optShapes"),
                        pick(maxs, "--maxShapes"));
  }
  BuildConfig config;
  config.device = device;
  config.strict_types = !o.fp16;  // like trtexec: reduced precision only when asked for
  config.logger = &logger;
  auto start = Clock::now();
  Engine engine = build_engine(network, config);
  std::printf("[I] Engine built in %.3f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  return engine;
}

nlohmann::json layer_info(Engine const& engine) {
  nlohmann::json layers = nlohmann::json::array();
  for (auto const& l : engine.layers()) {
    nlohmann::json types = nlohmann::json::array(), formats = nlohmann::json::array();
    for (auto t : l.types) types.push_back(std::string(name(t)));
    for (auto f : l.formats) formats.push_back(std::string(name(f)));
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"plugin", l.plugin_id},
                      {"implementation", l.implementation},
                      {"types", types},
                      {"formats", formats},
                      {"tactic", l.tactic},
                      {"autotune_ms", l.autotune_ms}});
  }
  return {{"device", std::string(name(engine.device()))},
          {"activation_bytes", engine.activation_bytes()},
          {"layers", layers}};
}

double percentile(std::vector<double> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  size_t i = std::min(sorted.size() - 1,
                      static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[i];
}

int run(Options const& o) {
  ConsoleLogger logger(o.verbose ? Severity::Verbose : Severity::Warning);
  for (auto const& lib : o.plugins) {
    auto ids = load_plugin_library(lib);
    std::printf("[I] Loaded %s: %zu plugin(s)\n", lib.c_str(), ids.size());
  }
  Device device = default_device();
  if (!o.device.empty()) device = *parse_device(o.device);
  Engine engine =
      o.load_engine.empty() ? build_from_onnx(o, device, logger) : Engine::load(o.load_engine);
  if (!o.load_engine.empty()) {
    std::printf("[I] Engine loaded from %s\n", o.load_engine.c_str());
    device = engine.device();
  }
  if (!o.save_engine.empty()) {
    engine.save(o.save_engine);
    std::printf("[I] Engine saved to %s\n", o.save_engine.c_str());
  }
  if (o.dump_layer_info) std::printf("%s\n", layer_info(engine).dump(2).c_str());
  if (!o.export_layer_info.empty()) {
    std::ofstream f(o.export_layer_info);
    f << layer_info(engine).dump(2) << "\n";
    if (!f) fail("cannot write '{}'", o.export_layer_info);
  }
  if (o.skip_inference) return 0;

  // Inputs: from .npy files, or random.
  auto files = parse_inputs(o.load_inputs);
  auto shapes = parse_shapes(o.shapes, "--shapes");
  std::mt19937 rng(42);
  std::map<std::string, Array> inputs;
  for (auto const& io : engine.io()) {
    if (!io.is_input) continue;
    if (auto f = files.find(io.name); f != files.end()) {
      inputs[io.name] = read_npy(f->second);
      continue;
    }
    Dims shape;
    if (auto s = shapes.find(io.name); s != shapes.end())
      shape = s->second;
    else if (io.profile)
      shape = io.profile->opt;
    else
      shape = Dims(std::span<const int64_t>(io.dims));
    inputs[io.name] = random_array(io.dtype, shape, rng);
  }
  for (auto const& [name, file] : files)
    if (!inputs.count(name) || engine.io(name).is_input == false)
      fail("--loadInputs: the engine has no input '{}'", name);

  Runner runner(engine);
  auto outputs = runner.infer(inputs);  // the first run also binds everything
  ExecutionContext& ctx = runner.context();
  Stream stream{};
  if (o.use_cuda_graph) ctx.capture_graph(stream);
  auto run_once = [&] {
    if (o.use_cuda_graph)
      ctx.launch_graph(stream);
    else
      ctx.enqueue(stream);
  };
  auto synchronize = [&] { runner.synchronize(); };
  // Warm-up.
  for (auto start = Clock::now();
       std::chrono::duration<double, std::milli>(Clock::now() - start).count() < o.warm_up_ms;) {
    run_once();
    synchronize();
  }
  std::vector<double> latency_ms, enqueue_ms;
  auto start = Clock::now();
  while (static_cast<int>(latency_ms.size()) < o.iterations ||
         std::chrono::duration<double>(Clock::now() - start).count() < o.duration_s) {
    auto t0 = Clock::now();
    run_once();
    auto t1 = Clock::now();
    synchronize();
    auto t2 = Clock::now();
    enqueue_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    latency_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  double mean = std::accumulate(latency_ms.begin(), latency_ms.end(), 0.0) /
                static_cast<double>(latency_ms.size());
  double enqueue_mean = std::accumulate(enqueue_ms.begin(), enqueue_ms.end(), 0.0) /
                        static_cast<double>(enqueue_ms.size());
  std::printf("[I] Device: %s%s\n", std::string(name(device)).c_str(),
              o.use_cuda_graph ? " (CUDA graph replay)" : "");
  std::printf("[I] Iterations: %zu in %.3f s\n", latency_ms.size(), total_s);
  std::printf("[I] Latency: min = %.5f ms, median = %.5f ms, mean = %.5f ms, p99 = %.5f ms\n",
              *std::min_element(latency_ms.begin(), latency_ms.end()), percentile(latency_ms, 50),
              mean, percentile(latency_ms, 99));
  std::printf("[I] Throughput: %.2f qps\n", static_cast<double>(latency_ms.size()) / total_s);
  std::printf("[I] Enqueue time: mean = %.5f ms\n", enqueue_mean);

  if (o.dump_profile) {
    ctx.set_profiling(true);
    for (int i = 0; i < std::max(1, o.iterations); ++i) ctx.enqueue(stream);
    auto layers = engine.layers();
    std::printf("[I] Per-layer profile (mean of %lld synchronized runs):\n",
                static_cast<long long>(ctx.profiled_runs()));
    for (size_t i = 0; i < layers.size(); ++i)
      std::printf("[I]   %-40s %10.5f ms\n", layers[i].name.c_str(),
                  ctx.layer_times_ms()[i] / static_cast<double>(ctx.profiled_runs()));
    ctx.set_profiling(false);
  }
  if (!o.save_outputs.empty()) {
    std::filesystem::create_directories(o.save_outputs);
    outputs = runner.infer(inputs);
    for (auto const& [name, array] : outputs) {
      std::string path = (std::filesystem::path(o.save_outputs) / (name + ".npy")).string();
      write_npy(path, array);
      std::printf("[I] Saved output '%s' (%s %s) to %s\n", name.c_str(),
                  std::string(qdp::name(array.dtype())).c_str(), to_string(array.shape()).c_str(),
                  path.c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace qdp::tools

int main(int argc, char** argv) {
  using namespace qdp::tools;
  Options o;
  CLI::App app{"qdpexec: build or load a qdp engine, run it, and report its performance"};
  auto* onnx =
      app.add_option("--onnx", o.onnx, "Build from this ONNX model")->check(CLI::ExistingFile);
  auto* load = app.add_option("--loadEngine", o.load_engine, "Load this engine file")
                   ->check(CLI::ExistingFile);
  onnx->excludes(load);
  app.add_option("--saveEngine", o.save_engine, "Save the engine to this file");
  app.add_option("--plugins", o.plugins, "Load a shared library of plugin definitions (repeatable)")
      ->check(CLI::ExistingFile);
  app.add_option("--shapes", o.shapes,
                 "Input shapes to run with (and build with, for dynamic inputs): name:AxBxC");
  app.add_option("--minShapes", o.min_shapes, "Profile minimum shapes: name:AxBxC");
  app.add_option("--optShapes", o.opt_shapes, "Profile opt shapes (autotuned): name:AxBxC");
  app.add_option("--maxShapes", o.max_shapes, "Profile maximum shapes: name:AxBxC");
  app.add_flag("--fp16", o.fp16, "Allow FP16 (and other precision-changing) plugin candidates");
  app.add_option("--device", o.device, "cpu or cuda (default: cuda when a GPU is present)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--iterations", o.iterations, "Run at least this many iterations (default 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmUp", o.warm_up_ms, "Warm up for this many milliseconds (default 200)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--duration", o.duration_s, "Run for at least this many seconds (default 3)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--useCudaGraph", o.use_cuda_graph,
               "Capture the enqueue into a CUDA graph and replay it");
  app.add_option("--loadInputs", o.load_inputs,
                 "Inputs from .npy files: name:file.npy (repeatable)");
  app.add_option("--saveOutputs", o.save_outputs, "Write every output as DIR/<name>.npy");
  app.add_flag("--dumpLayerInfo", o.dump_layer_info,
               "Print each layer's implementation, types, formats and tactic");
  app.add_option("--exportLayerInfo", o.export_layer_info,
                 "Write the layer information as JSON to this file");
  app.add_flag("--dumpProfile", o.dump_profile, "Print per-layer times");
  app.add_flag("-v,--verbose", o.verbose, "Verbose logging");
  app.add_flag("--skipInference", o.skip_inference, "Build (and save) only");
  try {
    app.parse(argc, argv);
    if (o.onnx.empty() && o.load_engine.empty()) throw CLI::RequiredError("--onnx or --loadEngine");
  } catch (CLI::ParseError const& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    return run(o);
  } catch (CLI::ValidationError const& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (qdp::Error const& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
