// qdpexec: the counterpart of trtexec (SPEC §4). Builds an engine from an ONNX model or loads one,
// optionally saves it, runs it, checks its outputs (against a CPU build of the same model or
// saved references, as Polygraphy does) and reports build time, latency, throughput and enqueue
// time. Exit codes: 0 success, 1 failure (an error or outputs that do not match), 2 usage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <qdp/onnx.hpp>
#include <qdp/qdp.hpp>
#include <qdp/signature.hpp>

#include "qdpexec/args.hpp"
#include "qdpexec/compare.hpp"
#include "qdpexec/cuda_util.hpp"
#include "qdpexec/files.hpp"
#include "qdpexec/inputs.hpp"
#include "qdpexec/npy.hpp"
#include "qdpexec/session.hpp"
#include "qdpexec/timing.hpp"

namespace qdp::tools {
namespace {

using Clock = std::chrono::steady_clock;

// The ONNX model with a profile for each input that has dynamic dimensions.
Network load_network(Options const& o) {
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
  check_network_inputs(network);
  return network;
}

// qdpexec's own CUDA objects (streams, events, pinned memory) belong to the current GPU: make it
// the one --device names. The library is told the index explicitly.
void use_gpu(int gpu) {
  if (gpu == 0) return;
  if (gpu >= gpu_count())
    fail(ErrorCode::NotFound, "--device cuda:{}: there is no such GPU (this machine has {})", gpu,
         gpu_count());
#ifdef QDP_WITH_CUDA
  cuda::check(cudaSetDevice(gpu), "cudaSetDevice");
#endif
}

Engine build(Network const& network, Device device, int gpu, bool strict_types, Options const& o,
             Logger& logger, char const* what, TimingCache* timing_cache = nullptr) {
  BuildConfig config;
  config.device = device;
  config.gpu = device == Device::CUDA ? gpu : 0;
  config.strict_types = strict_types;
  config.fp16 = o.fp16;  // the standard operators may take FP16 too
  config.bf16 = o.bf16;  // ... or BF16
  if (o.prefer_aot) config.preference = ImplPreference::PreferAOT;
  if (o.prefer_jit) config.preference = ImplPreference::PreferJIT;
  config.logger = &logger;
  config.timing_cache = timing_cache;
  auto start = Clock::now();
  Engine engine = build_engine(network, config);
  std::printf("[I] %s built for the %s in %.3f ms\n", what, std::string(name(device)).c_str(),
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  return engine;
}

// --timingCacheFile: the file's timings when it exists (a corrupt file is an error), else none.
TimingCache open_timing_cache(std::string const& path) {
  if (!std::filesystem::exists(path)) {
    std::printf("[I] Timing cache %s does not exist yet: it is written after the build\n",
                path.c_str());
    return {};
  }
  TimingCache cache = TimingCache::load(path);
  std::printf("[I] Timing cache loaded from %s: %zu timing(s)\n", path.c_str(), cache.size());
  return cache;
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

void write_json(std::string const& path, nlohmann::json const& json) {
  write_atomically(path, [&](std::ostream& f) { f << json.dump(2) << "\n"; });
}

// Option values and combinations, checked before anything is loaded or built.
void check_usage(Options const& o) {
  if (!o.device.empty()) parse_device_arg(o.device);
  parse_shapes(o.shapes, "--shapes");
  parse_shapes(o.min_shapes, "--minShapes");
  parse_shapes(o.opt_shapes, "--optShapes");
  parse_shapes(o.max_shapes, "--maxShapes");
  parse_named_files(o.load_inputs, "--loadInputs");
  parse_named_files(o.load_outputs, "--loadOutputs");
  parse_val_ranges(o.val_ranges);
  if (!o.compare.empty() && o.onnx.empty())
    throw UsageError(
        "--compare cpu builds the reference from the model: it needs --onnx (a loaded engine "
        "has no model to build from; use --loadOutputs with saved references instead)");
  if (!o.timing_cache_file.empty() && o.onnx.empty())
    throw UsageError("--timingCacheFile keeps the timings of a build: it needs --onnx");
  if (!o.sign_key.empty() && o.save_engine.empty())
    throw UsageError("--signKey signs the saved engine: it needs --saveEngine");
  if (!o.verify_key.empty() && o.load_engine.empty())
    throw UsageError("--verifyKey checks the signature of a loaded engine: it needs --loadEngine");
  if (o.skip_inference) {
    for (auto [given, option] : {std::pair{!o.compare.empty(), "--compare"},
                                 {!o.load_outputs.empty(), "--loadOutputs"},
                                 {!o.save_outputs.empty(), "--saveOutputs"},
                                 {!o.export_times.empty(), "--exportTimes"},
                                 {!o.export_profile.empty(), "--exportProfile"},
                                 {o.dump_profile, "--dumpProfile"}})
      if (given) throw UsageError(fmt::format("{} needs inference: drop --skipInference", option));
  }
}

// Paths written late are checked early, so that a long build or run does not end in an error.
void check_output_paths(Options const& o) {
  if (!o.save_engine.empty()) check_output_file(o.save_engine, "--saveEngine");
  if (!o.sign_key.empty()) check_output_file(signature_path(o.save_engine), "--signKey");
  if (!o.timing_cache_file.empty()) check_output_file(o.timing_cache_file, "--timingCacheFile");
  if (!o.export_layer_info.empty()) check_output_file(o.export_layer_info, "--exportLayerInfo");
  if (!o.export_times.empty()) check_output_file(o.export_times, "--exportTimes");
  if (!o.export_profile.empty()) check_output_file(o.export_profile, "--exportProfile");
  if (!o.save_outputs.empty()) check_output_dir(o.save_outputs, "--saveOutputs");
}

// Compares `outputs` against --loadOutputs references and, with --compare cpu, a CPU build of
// the model; returns the number of outputs that failed.
int check_outputs(std::map<std::string, Array> const& outputs,
                  std::map<std::string, Array> const& inputs, Network const* network,
                  Options const& o, Logger& logger) {
  Tolerance tol{o.atol, o.rtol};
  int failed = 0;
  auto refs = parse_named_files(o.load_outputs, "--loadOutputs");
  if (!refs.empty()) {
    std::vector<Comparison> results;
    for (auto const& [name, path] : refs) {
      auto it = outputs.find(name);
      if (it == outputs.end()) {
        std::string names;
        for (auto const& [n, a] : outputs) names += (names.empty() ? "" : ", ") + n;
        fail("--loadOutputs {}:{}: the engine has no output '{}' (its outputs: {})", name, path,
             name, names);
      }
      NpyValues ref = read_npy_values(path);
      results.push_back(compare(name, it->second, ref.shape, ref.values, tol));
    }
    failed += report(results, "the references of --loadOutputs", tol);
  }
  if (!o.compare.empty()) {
    Engine reference =
        build(*network, Device::CPU, 0, true, o, logger, "Reference engine (declared types)");
    Runner runner(reference);
    auto expected = runner.infer(inputs);
    std::vector<Comparison> results;
    for (auto const& [name, out] : outputs) {
      Array const& ref = expected.at(name);
      results.push_back(compare(name, out, ref.shape(), to_doubles(ref), tol));
    }
    failed += report(results, "the cpu reference engine", tol);
  }
  return failed;
}

// --genKeyPair PREFIX: a key pair for signed engines, and nothing else.
int generate_keys(Options const& o) {
  if (!o.onnx.empty() || !o.load_engine.empty())
    throw UsageError("--genKeyPair makes a key pair only: give it without --onnx or --loadEngine");
  save_key_pair(generate_key_pair(), o.gen_key_pair);
  std::printf(
      "[I] Key pair written: %s.key signs (--signKey; keep it secret), %s.pub verifies "
      "(--verifyKey; hand it to those who load your engines)\n",
      o.gen_key_pair.c_str(), o.gen_key_pair.c_str());
  return 0;
}

int run(Options const& o) {
  if (!o.gen_key_pair.empty()) return generate_keys(o);
  check_usage(o);
  check_output_paths(o);
  // Keys are read before a long build, so that a bad one fails at once.
  std::optional<SecretKey> sign_key;
  if (!o.sign_key.empty()) sign_key = load_secret_key(o.sign_key);
  std::optional<PublicKey> verify_key;
  if (!o.verify_key.empty()) verify_key = load_public_key(o.verify_key);
  ConsoleLogger logger(o.verbose ? Severity::Verbose : Severity::Warning);
  for (auto const& lib : o.plugins) {
    auto ids = load_plugin_library(lib);
    std::printf("[I] Loaded %s: %zu plugin(s)\n", lib.c_str(), ids.size());
  }
  std::optional<DeviceSpec> device_arg;
  if (!o.device.empty()) device_arg = parse_device_arg(o.device);
  // cuda:N: the builder, the engine's kernels, the contexts and qdpexec's own streams use GPU N.
  int gpu = device_arg && device_arg->device == Device::CUDA ? device_arg->index : 0;
  use_gpu(gpu);

  std::optional<Network> network;
  std::optional<Engine> loaded;
  if (o.load_engine.empty()) {
    network = load_network(o);
    Device device = device_arg ? device_arg->device : default_device();
    std::optional<TimingCache> cache;
    if (!o.timing_cache_file.empty()) cache = open_timing_cache(o.timing_cache_file);
    // Like trtexec: reduced precision only when asked for.
    loaded = build(*network, device, gpu, !o.fp16 && !o.bf16, o, logger, "Engine",
                   cache ? &*cache : nullptr);
    if (cache) {
      cache->save(o.timing_cache_file);
      std::printf("[I] Timing cache saved to %s: %zu timing(s)\n", o.timing_cache_file.c_str(),
                  cache->size());
    }
  } else {
    // With --verifyKey, the signature is checked before the engine's bytes are parsed.
    loaded = verify_key ? load_verified_engine(o.load_engine, *verify_key, gpu)
                        : Engine::load(o.load_engine, gpu);
    std::printf("[I] Engine loaded from %s (built for the %s)%s\n", o.load_engine.c_str(),
                std::string(name(loaded->device())).c_str(),
                verify_key ? ", its signature verified" : "");
    if (device_arg && device_arg->device != loaded->device())
      fail(
          "--device {}: the engine in '{}' was built for the {}; leave --device out, or build "
          "one for {} from the model (--onnx ... --device {})",
          o.device, o.load_engine, name(loaded->device()), name(device_arg->device), o.device);
  }
  Engine const& engine = *loaded;
  if (!o.save_engine.empty()) {
    engine.save(o.save_engine);
    std::printf("[I] Engine saved to %s\n", o.save_engine.c_str());
    if (sign_key) {
      sign_engine_file(o.save_engine, *sign_key);
      std::printf("[I] Engine signed: %s\n", signature_path(o.save_engine).c_str());
    }
  }
  if (o.dump_layer_info) std::printf("%s\n", layer_info(engine).dump(2).c_str());
  if (!o.export_layer_info.empty()) write_json(o.export_layer_info, layer_info(engine));
  if (o.skip_inference) return 0;

  auto inputs = make_inputs(engine, o);
  std::map<std::string, Array> outputs = Session(engine, inputs, gpu).infer();
  if (!o.save_outputs.empty()) {
    prepare_output_dir(o.save_outputs, "--saveOutputs");
    for (auto const& [name, array] : outputs) {
      std::string path = (std::filesystem::path(o.save_outputs) / (name + ".npy")).string();
      write_npy(path, array);
      std::printf("[I] Saved output '%s' (%s %s) to %s\n", name.c_str(),
                  std::string(qdp::name(array.dtype())).c_str(), to_string(array.shape()).c_str(),
                  path.c_str());
    }
  }
  if (int failed = check_outputs(outputs, inputs, network ? &*network : nullptr, o, logger)) {
    std::fflush(stdout);
    std::fprintf(stderr, "qdpexec: error: %d output comparison(s) failed (figures above)\n",
                 failed);
    return 1;
  }

  TimingOptions timing{o.iterations,     o.warm_up_ms,         o.duration_s, o.inf_streams,
                       o.use_cuda_graph, !o.no_data_transfers, gpu};
  Timings times = measure(engine, inputs, timing);
  print_summary(times, o.percentile);
  if (!o.export_times.empty()) {
    write_json(o.export_times, times_json(times));
    std::printf("[I] Times of %zu iterations written to %s\n", times.iterations.size(),
                o.export_times.c_str());
  }
  if (o.dump_profile || !o.export_profile.empty()) {
    LayerProfile profile = profile_layers(engine, inputs, o.iterations, gpu);
    if (o.dump_profile) print_profile(profile, engine.device());
    if (!o.export_profile.empty()) {
      write_json(o.export_profile, profile_json(profile));
      std::printf("[I] Per-layer profile written to %s\n", o.export_profile.c_str());
    }
  }
  return 0;
}

void add_options(CLI::App& app, Options& o) {
  auto* onnx =
      app.add_option("--onnx", o.onnx, "Build from this ONNX model")->check(CLI::ExistingFile);
  auto* load = app.add_option("--loadEngine", o.load_engine, "Load this engine file")
                   ->check(CLI::ExistingFile);
  onnx->excludes(load);
  app.add_option("--saveEngine", o.save_engine, "Save the engine to this file");
  app.add_option("--signKey", o.sign_key,
                 "Sign the saved engine with this secret key (writes ENGINE.sig beside it)");
  app.add_option("--verifyKey", o.verify_key,
                 "Load the engine only if ENGINE.sig is its signature by this public key");
  app.add_option("--genKeyPair", o.gen_key_pair,
                 "Write a key pair for signed engines, PREFIX.key and PREFIX.pub, and exit");
  app.add_option("--plugins", o.plugins, "Load a shared library of plugin definitions (repeatable)")
      ->check(CLI::ExistingFile);
  app.add_option("--shapes", o.shapes,
                 "Input shapes to run with (and build with, for dynamic inputs): name:AxBxC");
  app.add_option("--minShapes", o.min_shapes, "Profile minimum shapes: name:AxBxC");
  app.add_option("--optShapes", o.opt_shapes, "Profile opt shapes (autotuned): name:AxBxC");
  app.add_option("--maxShapes", o.max_shapes, "Profile maximum shapes: name:AxBxC");
  app.add_flag("--fp16", o.fp16,
               "Allow FP16: the standard operators' FP16 candidates and plugins' "
               "precision-changing ones");
  app.add_flag("--bf16", o.bf16,
               "Allow BF16: the standard operators' BF16 candidates and plugins' "
               "precision-changing ones (with --fp16 too, the faster of the two)");
  app.add_option("--timingCacheFile", o.timing_cache_file,
                 "Autotuning timings: loaded from this file when it exists (and reused instead "
                 "of timing again), saved to it after the build");
  auto* aot =
      app.add_flag("--preferAOT", o.prefer_aot, "Layers with both implementations use the AOT one");
  app.add_flag("--preferJIT", o.prefer_jit, "Layers with both implementations use the JIT one")
      ->excludes(aot);
  app.add_option("--device", o.device,
                 "cpu, cuda or cuda:N (default: cuda when a GPU is present; with --loadEngine, "
                 "the engine's device)");
  app.add_option("--iterations", o.iterations, "Run at least this many iterations (default 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmUp", o.warm_up_ms, "Warm up for this many milliseconds (default 200)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--duration", o.duration_s, "Run for at least this many seconds (default 3)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--percentile", o.percentile, "The latency percentile to report (default 99)")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--infStreams", o.inf_streams,
                 "Run this many execution contexts at once, each on its own CUDA stream (a "
                 "thread on the CPU), for throughput (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_flag("--useCudaGraph", o.use_cuda_graph,
               "Capture the enqueue into a CUDA graph and replay it");
  app.add_flag("--noDataTransfers", o.no_data_transfers,
               "Time without host-device copies of inputs and outputs (CUDA)");
  app.add_option("--loadInputs", o.load_inputs,
                 "Inputs from .npy files: name:file.npy (repeatable)");
  app.add_option("--seed", o.seed, "Seed of the random inputs (default 42)");
  app.add_option("--valRange", o.val_ranges,
                 "Range of random inputs: lo:hi for all, name:lo:hi for one (default -1:1 for "
                 "floating point, 0:9 for integers)");
  app.add_option("--saveOutputs", o.save_outputs, "Write every output as DIR/<name>.npy");
  app.add_option("--compare", o.compare,
                 "cpu: check every output against an engine built for the CPU from the same "
                 "--onnx model (same plugins and shapes, declared types)")
      ->check(CLI::IsMember({"cpu"}));
  app.add_option("--loadOutputs", o.load_outputs,
                 "Check an output against a reference: name:ref.npy (repeatable)");
  app.add_option("--atol", o.atol, "Absolute tolerance of the checks (default 1e-5)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--rtol", o.rtol, "Relative tolerance of the checks (default 1e-5)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--dumpLayerInfo", o.dump_layer_info,
               "Print each layer's implementation, types, formats and tactic");
  app.add_option("--exportLayerInfo", o.export_layer_info,
                 "Write the layer information as JSON to this file");
  app.add_flag("--dumpProfile", o.dump_profile, "Print per-layer times");
  app.add_option("--exportProfile", o.export_profile,
                 "Write per-layer times as JSON (trtexec's format) to this file");
  app.add_option("--exportTimes", o.export_times,
                 "Write each iteration's times as JSON (trtexec's format) to this file");
  app.add_flag("-v,--verbose", o.verbose, "Verbose logging");
  app.add_flag("--skipInference", o.skip_inference, "Build (and save) only");
}

// One line, whatever the message holds.
void print_error(char const* message) {
  std::string m(message);
  std::replace(m.begin(), m.end(), '\n', ' ');
  std::fflush(stdout);  // what was reported so far comes first
  std::fprintf(stderr, "qdpexec: error: %s\n", m.c_str());
}

}  // namespace
}  // namespace qdp::tools

int main(int argc, char** argv) {
  using namespace qdp::tools;
  Options o;
  CLI::App app{"qdpexec: build or load a qdp engine, run it, check it and report its performance"};
  try {
    add_options(app, o);
    app.parse(argc, argv);
    if (o.onnx.empty() && o.load_engine.empty() && o.gen_key_pair.empty())
      throw CLI::RequiredError("--onnx or --loadEngine");
  } catch (CLI::CallForHelp const& e) {
    return app.exit(e);
  } catch (CLI::CallForAllHelp const& e) {
    return app.exit(e);
  } catch (CLI::ParseError const& e) {
    print_error((std::string(e.what()) + " (see --help)").c_str());
    return 2;
  }
  try {
    return run(o);
  } catch (UsageError const& e) {
    print_error((std::string(e.what()) + " (see --help)").c_str());
    return 2;
  } catch (qdp::Error const& e) {
    print_error(e.what());
  } catch (std::bad_alloc const&) {
    print_error("out of memory: an allocation failed (smaller shapes or inputs may fit)");
  } catch (std::filesystem::filesystem_error const& e) {
    print_error(e.what());
  } catch (std::exception const& e) {
    print_error(e.what());
  } catch (...) {
    print_error("an unknown exception");
  }
  return 1;
}
