// The builder (SPEC §2, layer 4): shape inference through each desc, JIT/AOT choice,
// autotuning on the target backend, reformat insertion, memory planning.
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <qdp/builder.hpp>
#include <qdp/device_buffer.hpp>
#include <qdp/registry.hpp>
#include <qdp/version.hpp>
#include <random>
#include <set>

#include "backends/backend.hpp"
#include "backends/device_identity.hpp"
#include "builder/fusion.hpp"
#include "builder/memory_planner.hpp"
#include "builder/timing_cache.hpp"
#include "engine/derive.hpp"
#include "engine/engine_impl.hpp"
#include "plan/plan.hpp"

namespace qdp {
namespace {

using detail::EnginePlan;
using detail::PlanStep;
using detail::PlanTensor;
using Candidate = AutoTuneCombination::Candidate;
using detail::is_integer;
using detail::value_of;

std::string join_types(std::vector<DataType> const& v) {
  std::string s;
  for (auto t : v) s += (s.empty() ? "" : ", ") + std::string(name(t));
  return "[" + s + "]";
}
std::string join_formats(std::vector<TensorFormat> const& v) {
  std::string s;
  for (auto f : v) s += (s.empty() ? "" : ", ") + std::string(name(f));
  return "[" + s + "]";
}
std::string describe(Candidate const& c) {
  return fmt::format("types {} formats {} tactic {}", join_types(c.types), join_formats(c.formats),
                     c.tactic);
}

Dims eval_shape(std::vector<ShapeExpr> const& shape, ShapeEnv const& env) {
  Dims d;
  for (auto const& e : shape) d.push_back(e.eval(env));
  return d;
}

// The inputs of a timed candidate (timing on zeros hides work): random small integers (0..7,
// exact in every type), made once per element type as long as the largest tensor yet and copied
// in (a prefix) for each candidate. Random values are as random in any layout, so one buffer
// serves every format; making them anew for each of a layer's candidates cost seconds per layer
// of a ResNet-50 at batch 32.
class RandomInputs {
 public:
  void fill(detail::Backend& backend, Tensor const& t) {
    std::vector<std::byte>& bytes = by_type_[t.dtype];
    if (bytes.size() < t.bytes()) bytes = generate(t.dtype, t.numel());
    backend.copy_from_host(t.data, bytes.data(), t.bytes());
  }

 private:
  std::vector<std::byte> generate(DataType dtype, int64_t numel) {
    std::vector<float> values(static_cast<size_t>(numel));
    std::uniform_int_distribution<int> dist(0, 7);
    for (auto& v : values) v = static_cast<float>(dist(rng_));
    Dims shape{numel};
    Tensor src{values.data(), DataType::FP32, TensorFormat::LINEAR,
               Device::CPU,   shape,          dense_strides(shape, TensorFormat::LINEAR)};
    std::vector<std::byte> bytes(static_cast<size_t>(numel) * element_size(dtype));
    Tensor dst = src;
    dst.data = bytes.data();
    dst.dtype = dtype;
    detail::reformat_on_host(src, dst);
    return bytes;
  }
  std::map<DataType, std::vector<std::byte>> by_type_;
  std::mt19937 rng_{1234};
};

struct NetTensor {
  TensorDesc desc;  // natural: as desc gave it for the network's declared types; with its value
                    // when known at build time
  int size_id = -1;
  // Known elements (a constant, or a layer folded at build time): dense bytes in desc.dtype.
  std::shared_ptr<const std::vector<std::byte>> data;
};

// Constant folding runs a layer's CPU impl at build time on outputs up to this size.
constexpr uint64_t kMaxFoldedBytes = uint64_t{256} << 20;

// The bytes of constant shape-value elements in type t; nullopt when an element is symbolic.
std::optional<std::vector<std::byte>> bytes_of(std::vector<ShapeExpr> const& v, DataType t) {
  std::vector<std::byte> out(v.size() * element_size(t));
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_constant()) return std::nullopt;
    int64_t x = v[i].constant();
    switch (t) {
      case DataType::INT64:
        std::memcpy(out.data() + 8 * i, &x, 8);
        break;
      case DataType::INT32: {
        auto y = static_cast<int32_t>(x);
        std::memcpy(out.data() + 4 * i, &y, 4);
        break;
      }
      case DataType::INT8:
      case DataType::UINT8:
        out[i] = static_cast<std::byte>(x);
        break;
      case DataType::BOOL:
        out[i] = static_cast<std::byte>(x != 0);
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

bool constant_shape(std::vector<ShapeExpr> const& shape) {
  return std::all_of(shape.begin(), shape.end(),
                     [](ShapeExpr const& e) { return e.is_constant(); });
}

Dims constant_dims(std::vector<ShapeExpr> const& shape) {
  Dims d;
  for (auto const& e : shape) d.push_back(e.constant());
  return d;
}

struct SizeInfo {
  ShapeExpr opt, upper;
  int layer;
};

class Builder {
 public:
  Builder(Network const& net, BuildConfig const& config)
      : net_(net), config_(config), backend_(detail::backend(config.device, config.gpu)) {}

  Engine build() {
    auto start = std::chrono::steady_clock::now();
    plan_.device = config_.device;
    open_timing_cache();
    infer_shapes();
    choose_layouts();
    detail::plan_memory(plan_, max_env_inputs_, config_.max_tensor_bytes, config_.logger);
    if (cache_)
      info("Timing cache: {} timing(s) reused, {} measured and added ({} held)", cache_hits_,
           cache_added_, config_.timing_cache->size());
    plan_.build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    info("Activation memory: {} bytes", plan_.arena_bytes);
    info("Finished engine building in {:.3f} seconds", plan_.build_seconds);
    return Engine(detail::make_engine_impl(std::move(plan_), config_.gpu));
  }

  // Every tensor's shape, from shape inference alone (what fuse_layers asks: TensorShapes).
  std::vector<std::vector<ShapeExpr>> tensor_shapes() {
    infer_shapes();
    std::vector<std::vector<ShapeExpr>> shapes;
    for (auto const& t : tensors_) shapes.push_back(t.desc.shape_expr);
    return shapes;
  }

 private:
  template <class... A>
  void log(Severity s, fmt::format_string<A...> f, A&&... a) {
    if (config_.logger && config_.logger->enabled(s))
      config_.logger->log(s, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void verbose(fmt::format_string<A...> f, A&&... a) {
    log(Severity::Verbose, f, std::forward<A>(a)...);
  }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... a) {
    log(Severity::Info, f, std::forward<A>(a)...);
  }

  // ---- shapes ----------------------------------------------------------------------------
  void infer_shapes() {
    tensors_.resize(static_cast<size_t>(net_.num_tensors()));
    for (size_t i = 0; i < net_.inputs().size(); ++i) {
      auto const& in = net_.inputs()[i];
      std::vector<ShapeExpr> shape;
      Dims mn, opt, mx;
      bool dynamic = false;
      for (size_t a = 0; a < in.dims.size(); ++a) {
        int axis = static_cast<int>(a);
        if (in.dims[a] >= 0) {
          shape.emplace_back(in.dims[a]);
        } else {
          shape.push_back(ShapeExpr::input_dim(static_cast<int>(i), axis));
          dynamic = true;
        }
      }
      if (dynamic && !in.profile)
        fail(
            "network input '{}' has dynamic dimensions: set its profile (min, opt, max shapes) "
            "before building",
            in.name);
      if (in.profile) {
        mn = in.profile->min, opt = in.profile->opt, mx = in.profile->max;
      } else {
        mn = opt = mx = Dims(std::span<const int64_t>(in.dims));
      }
      opt_env_inputs_.push_back(opt);
      max_env_inputs_.push_back(mx);
      tensors_[static_cast<size_t>(in.tensor)].desc = TensorDesc(in.dtype, shape);
      IOInfo io{in.name, in.dtype, TensorFormat::LINEAR, in.dims, in.profile, true, 0};
      plan_.io.push_back(io);
    }
    for (auto const& c : net_.constants()) {
      NetTensor& t = tensors_[static_cast<size_t>(c.tensor)];
      t.desc = TensorDesc(c.dtype, std::vector<ShapeExpr>(c.dims.begin(), c.dims.end()));
      t.data = c.data;
      t.desc.value = value_of(c.dtype, t.desc.shape_expr, *c.data);
    }
    folded_.assign(net_.layers().size(), false);
    for (size_t l = 0; l < net_.layers().size(); ++l) infer_layer(static_cast<int>(l));
  }

  // A layer's input descs: as their producers gave them, with their values.
  std::vector<TensorDesc> input_descs(Network::Layer const& layer) const {
    std::vector<TensorDesc> ins;
    for (size_t k = 0; k < layer.inputs.size(); ++k)
      ins.push_back(detail::desc_input(tensors_[static_cast<size_t>(layer.inputs[k])].desc,
                                       static_cast<int>(k)));
    return ins;
  }

  static bool is_shape_input(PluginDefinition const& def, size_t k) {
    return std::find(def.shape_inputs.begin(), def.shape_inputs.end(), static_cast<int>(k)) !=
           def.shape_inputs.end();
  }

  // Standard operators whose inputs are all known run now, on the host (constant folding):
  // their outputs become constants. User plugins always run in the engine.
  bool fold_constants(int l, Network::Layer const& layer, PluginDefinition const& def,
                      std::vector<TensorDesc> const& ins, std::vector<TensorDesc> const& outs) {
    if (!is_standard_operator(layer.plugin_id)) return false;
    PluginImpl const* impl = def.impl(Device::CPU);
    if (!impl) return false;
    for (int k : layer.inputs)
      if (!tensors_[static_cast<size_t>(k)].data) return false;
    uint64_t bytes = 0;
    for (auto const& o : outs) {
      if (o.is_size_tensor() || !constant_shape(o.shape_expr)) return false;
      bytes += static_cast<uint64_t>(constant_dims(o.shape_expr).numel()) * element_size(o.dtype);
    }
    if (bytes > kMaxFoldedBytes) return false;
    std::vector<Tensor> in_t, out_t;
    std::vector<std::vector<int64_t>> values(ins.size());
    for (size_t k = 0; k < ins.size(); ++k) {
      NetTensor const& nt = tensors_[static_cast<size_t>(layer.inputs[k])];
      Tensor t;
      t.dtype = nt.desc.dtype;
      t.shape = constant_dims(nt.desc.shape_expr);
      t.data = const_cast<std::byte*>(nt.data->data());  // impls only read their inputs
      if (is_shape_input(def, k)) {
        for (auto const& e : *ins[k].value) values[k].push_back(e.constant());
        t.dtype = DataType::INT64;
        t.data = values[k].data();
      }
      t.strides = dense_strides(t.shape, TensorFormat::LINEAR);
      in_t.push_back(t);
    }
    std::vector<std::shared_ptr<std::vector<std::byte>>> results;
    for (size_t o = 0; o < outs.size(); ++o) {
      Tensor t;
      t.dtype = outs[o].dtype;
      t.shape = constant_dims(outs[o].shape_expr);
      t.strides = dense_strides(t.shape, TensorFormat::LINEAR);
      check_tensor_bytes(layer, t, "folding it at build time");
      auto buffer = std::make_shared<std::vector<std::byte>>(t.bytes());
      if (int a = outs[o].aliased_input(); a >= 0 && !buffer->empty())
        std::memcpy(buffer->data(), in_t[static_cast<size_t>(a)].data, buffer->size());
      t.data = buffer->data();
      results.push_back(buffer);
      out_t.push_back(t);
    }
    with_error_context(context(layer, "impl (constant folding)"),
                       [&] { impl->bind(layer.attrs)(in_t, out_t); });
    for (size_t o = 0; o < outs.size(); ++o) {
      NetTensor& t = tensors_[static_cast<size_t>(layer.outputs[o])];
      t.desc = outs[o];
      t.data = results[o];
      if (!t.desc.value) t.desc.value = value_of(t.desc.dtype, t.desc.shape_expr, *t.data);
    }
    verbose("Layer '{}' (plugin {}) folded: its inputs are constants", layer.name, layer.plugin_id);
    folded_[static_cast<size_t>(l)] = true;
    return true;
  }

  ErrorContext context(Network::Layer const& layer, std::string phase) const {
    return {layer.plugin_id, layer.name, std::move(phase)};
  }

  void infer_layer(int l) {
    auto const& layer = net_.layers()[static_cast<size_t>(l)];
    // Held for the whole build: a definition removed from the registry meanwhile stays valid.
    defs_.push_back(Registry::global().get(layer.plugin_id));
    PluginDefinition const& def = *defs_.back();
    std::vector<TensorDesc> ins = input_descs(layer);
    for (int k : def.shape_inputs)
      if (static_cast<size_t>(k) < ins.size() && !ins[static_cast<size_t>(k)].has_value())
        fail(
            "layer '{}' (plugin {}): input {} is a shape input, so it must be known when the "
            "engine is built (a constant, or computed from shapes: Shape, Gather, Concat, ...), "
            "but "
            "it is computed at run time",
            layer.name, layer.plugin_id, k);
    // Each size tensor gets the next id; the shapes that use it name it by that id.
    std::vector<detail::DerivedOutput> derived =
        detail::run_desc(def, layer.name, ins, layer.attrs, static_cast<int>(sizes_.size()));
    std::vector<TensorDesc> outs;
    for (size_t o = 0; o < derived.size(); ++o) {
      auto const& d = derived[o];
      NetTensor& t = tensors_[static_cast<size_t>(layer.outputs[o])];
      if (d.size_id >= 0) {
        sizes_.push_back({d.opt, d.upper_bound, l});
        t.size_id = d.size_id;
      }
      t.desc = d.desc;
      outs.push_back(d.desc);
    }
    // Every output known as a value: the layer computes nothing at run time.
    bool all_values = !outs.empty() && std::all_of(outs.begin(), outs.end(), [](auto const& d) {
      return d.has_value() && !d.is_size_tensor();
    });
    if (all_values) {
      for (size_t o = 0; o < outs.size(); ++o) {
        NetTensor& t = tensors_[static_cast<size_t>(layer.outputs[o])];
        if (auto bytes = bytes_of(*t.desc.value, t.desc.dtype))
          t.data = std::make_shared<const std::vector<std::byte>>(std::move(*bytes));
      }
      folded_[static_cast<size_t>(l)] = true;
      verbose("Layer '{}' (plugin {}) folded: its outputs are shape values", layer.name,
              layer.plugin_id);
      return;
    }
    fold_constants(l, layer, def, ins, outs);
  }

  ShapeEnv env(std::vector<Dims> const& inputs, std::vector<int64_t> const& sizes) const {
    return {inputs, sizes};
  }

  // Size values at opt (what the autotuner assumes) and at their upper bound (what is allocated).
  void evaluate_sizes_up_to(int layer) {
    while (static_cast<int>(opt_sizes_.size()) < static_cast<int>(sizes_.size()) &&
           sizes_[opt_sizes_.size()].layer <= layer) {
      auto const& s = sizes_[opt_sizes_.size()];
      opt_sizes_.push_back(s.opt.eval(env(opt_env_inputs_, opt_sizes_)));
      opt_upper_.push_back(s.upper.eval(env(opt_env_inputs_, opt_sizes_)));
    }
  }

  // ---- implementation choice -----------------------------------------------------------
  // JIT or AOT (SPEC §1): with one implementation usable on this backend, that one; with both,
  // the layer's or the network's choice; with neither said, an error naming every way to say it.
  bool choose_aot(Network::Layer const& layer, PluginDefinition const& def) const {
    bool has_jit = def.impl(config_.device) != nullptr;
    bool has_aot = static_cast<bool>(def.aot_impl);
    bool aot_here = has_aot && backend_.supports_aot();
    auto where = [&] { return fmt::format("layer '{}' (plugin {})", layer.name, layer.plugin_id); };
    if (layer.impl == ImplChoice::AOT) {
      if (!has_aot)
        fail(ErrorCode::NotFound,
             "{}: the AOT implementation was requested, but the plugin has no aot_impl", where());
      if (!aot_here)
        fail(ErrorCode::Unsupported,
             "{}: the AOT implementation was requested, but the {} backend runs no AOT kernels "
             "(they are CUDA kernels): build for cuda, or ask for the JIT impl",
             where(), name(config_.device));
      return true;
    }
    if (layer.impl == ImplChoice::JIT) {
      if (!has_jit)
        fail(ErrorCode::NotFound,
             "{}: the JIT implementation was requested, but the plugin has "
             "no impl for the {} backend{}",
             where(), name(config_.device),
             def.impls.empty() ? "" : " (it has impls for other backends only)");
      return false;
    }
    if (has_jit && aot_here) {
      if (config_.preference == ImplPreference::None)
        fail(
            "{} has both a JIT impl and an aot_impl: say which to use, for the layer "
            "(LayerOptions::impl in the network API, the ONNX node's attribute aot=0/1, Python "
            "add_plugin(..., aot=True/False)) or for the whole network (BuildConfig::preference, "
            "qdpexec --preferAOT / --preferJIT, Python BuilderFlag.PREFER_AOT_PYTHON_PLUGINS / "
            "PREFER_JIT_PYTHON_PLUGINS)",
            where());
      return config_.preference == ImplPreference::PreferAOT;
    }
    if (has_jit) return false;
    if (aot_here) return true;
    if (has_aot)
      fail(ErrorCode::Unsupported,
           "{}: the plugin has only an aot_impl, and the {} backend runs no AOT kernels (they are "
           "CUDA kernels): build for cuda, or give the plugin an impl for the {}",
           where(), name(config_.device), name(config_.device));
    fail(ErrorCode::NotFound, "{}: the plugin has no impl for the {} backend{}", where(),
         name(config_.device), def.impls.empty() ? "" : " (it has impls for other backends only)");
  }

  // ---- autotuning and lowering -----------------------------------------------------------
  std::vector<Candidate> candidates(Network::Layer const& layer, PluginDefinition const& def,
                                    PluginImpl const* impl, std::vector<TensorDesc> const& ins,
                                    std::vector<TensorDesc> const& outs) {
    std::vector<DataType> natural;
    for (auto const& d : ins) natural.push_back(d.dtype);
    for (auto const& d : outs) natural.push_back(d.dtype);
    std::vector<Candidate> all = detail::listed_candidates(def, layer.name, ins, layer.attrs, outs);
    bool standard_op = is_standard_operator(def.id);
    std::vector<Candidate> kept, converting;
    std::string last_drop;
    for (auto& c : all) {
      if (std::find(kept.begin(), kept.end(), c) != kept.end()) continue;
      std::string why = unsupported(c, ins, outs, natural, standard_op);
      // A combination the impl's element types cannot take (autotune listing a type the impl
      // was not instantiated for) is the author's slip, not a reason to fail the build.
      if (why.empty() && impl && impl->check_types) {
        why = impl->check_types(c.types);
        if (!why.empty())
          why = fmt::format("the {} impl cannot take it: {}", name(config_.device), why);
      }
      if (!why.empty()) {
        verbose("Layer '{}': dropping candidate {}: {}", layer.name, describe(c), why);
        last_drop = describe(c) + ": " + why;
        continue;
      }
      // A combination may change precision, but only between floating-point types: values are
      // never truncated to integers, nor integers narrowed, unless no candidate keeps them.
      if (std::string change = kind_change(c, natural); !change.empty()) {
        verbose(
            "Layer '{}': setting aside candidate {}: {} (only floating-point types are "
            "exchanged while another candidate keeps the network's types)",
            layer.name, describe(c), change);
        converting.push_back(std::move(c));
        continue;
      }
      kept.push_back(std::move(c));
    }
    if (kept.empty() && !converting.empty()) {
      log(Severity::Warning,
          "Layer '{}' (plugin {}): no candidate takes the network's types; converting as the "
          "plugin demands ({})",
          layer.name, layer.plugin_id, kind_change(converting.front(), natural));
      kept = std::move(converting);
    }
    if (kept.empty())
      fail(
          "layer '{}' (plugin {}): autotune left no candidate that the engine can honour (run with "
          "-v to see why each was dropped{})",
          layer.name, layer.plugin_id, last_drop.empty() ? "" : "; the last: " + last_drop);
    return kept;
  }

  // How candidate `c` changes a type between integer and floating point (or an integer's width)
  // against the network's natural types; empty when it changes none that way.
  static std::string kind_change(Candidate const& c, std::vector<DataType> const& natural) {
    for (size_t p = 0; p < c.types.size(); ++p)
      if (c.types[p] != natural[p] &&
          !(is_floating_point(c.types[p]) && is_floating_point(natural[p])))
        return fmt::format("position {} is {} in the network, {} in the candidate", p,
                           name(natural[p]), name(c.types[p]));
    return {};
  }

  std::string unsupported(Candidate const& c, std::vector<TensorDesc> const& ins,
                          std::vector<TensorDesc> const& outs, std::vector<DataType> const& natural,
                          bool standard_op) const {
    if (std::string why = detail::candidate_conflict(c, ins, outs); !why.empty()) return why;
    for (size_t p = 0; p < c.types.size(); ++p) {
      if (c.types[p] == natural[p]) continue;
      if (config_.strict_types)
        return fmt::format("strict types keep position {} at {}", p, name(natural[p]));
      if (!standard_op) continue;
      // To FP16 with the FP16 flag, to BF16 with the BF16 flag, back to FP32 with either.
      DataType to = c.types[p];
      bool allowed = to == DataType::FP16   ? config_.fp16
                     : to == DataType::BF16 ? config_.bf16
                                            : config_.fp16 || config_.bf16;
      if (!allowed)
        return fmt::format("a standard operator keeps position {} at {} without the {} flag", p,
                           name(natural[p]), to == DataType::BF16 ? "BF16" : "FP16");
    }
    return {};
  }

  // Runs a candidate on buffers of the opt shapes and returns its median time.
  // `run` is the candidate: (inputs, outputs, stream, env) -> enqueues it.
  using CandidateRun = std::function<void(std::span<const Tensor>, std::span<Tensor>, Stream,
                                          ShapeEnv const&, Workspace)>;
  double time_candidate(Network::Layer const& layer, CandidateRun const& run, Candidate const& c,
                        std::vector<TensorDesc> const& ins, std::vector<TensorDesc> const& outs,
                        ShapeExpr const& workspace) {
    size_t n_in = ins.size();
    std::vector<int64_t> sizes_for_outputs = output_sizes();
    std::vector<DeviceBuffer> buffers;
    std::vector<Tensor> in_t, out_t;
    auto make = [&](TensorDesc const& d, size_t p, ShapeEnv const& e) {
      Tensor t;
      t.dtype = c.types[p];
      t.format = c.formats[p];
      t.device = config_.device;
      t.shape = eval_shape(d.shape_expr, e);
      t.strides = dense_strides(t.shape, t.format);
      check_tensor_bytes(layer, t, "timing it");
      buffers.emplace_back(config_.device, std::max<size_t>(t.bytes(), 1), config_.gpu);
      t.data = buffers.back().data();
      return t;
    };
    std::vector<std::vector<int64_t>> values(n_in);
    PluginDefinition const& def = *defs_[static_cast<size_t>(layer_index_)];
    for (size_t k = 0; k < n_in; ++k) {
      if (is_shape_input(def, k)) {  // the host values the impl reads, at the opt shapes
        for (auto const& e : *ins[k].value)
          values[k].push_back(e.eval(env(opt_env_inputs_, opt_sizes_)));
        Tensor t;
        t.dtype = DataType::INT64;
        t.shape = ins[k].rank() == 0 ? Dims{} : Dims{static_cast<int64_t>(values[k].size())};
        t.strides = dense_strides(t.shape, TensorFormat::LINEAR);
        t.data = values[k].data();
        in_t.push_back(t);
        continue;
      }
      in_t.push_back(make(ins[k], k, env(opt_env_inputs_, opt_sizes_)));
      int net = layer.inputs[static_cast<size_t>(k)];
      if (tensors_[static_cast<size_t>(net)].data) {  // a constant's own elements: indices and
        Tensor const& t = in_t.back();                // the like must stay in range
        auto bytes = converted_once(net, t.dtype, t.format);
        in_t.back().constant = true;  // as the engine will hand it over
        backend_.copy_from_host(t.data, bytes->data(), bytes->size());
      } else {
        random_inputs_.fill(backend_, in_t.back());
      }
    }
    for (size_t o = 0; o < outs.size(); ++o) {
      int a = outs[o].aliased_input();
      if (a >= 0) {
        out_t.push_back(in_t[static_cast<size_t>(a)]);
      } else {
        out_t.push_back(make(outs[o], n_in + o, env(opt_env_inputs_, sizes_for_outputs)));
      }
    }
    ShapeEnv launch_env = env(opt_env_inputs_, opt_sizes_);
    Workspace ws;
    ws.bytes = workspace_bytes(layer, workspace, launch_env);
    DeviceBuffer ws_buffer;
    if (ws.bytes > 0) {
      ws_buffer = DeviceBuffer(config_.device, ws.bytes, config_.gpu);
      ws.data = ws_buffer.data();
    }
    // Logged before, not inside, the timed region: formatting would count as the impl's time.
    verbose("Executing layer '{}' for {}", layer.name, describe(c));
    return with_error_context(context(layer, "impl (while autotuning)"), [&] {
      return backend_.time_ms([&](Stream s) { run(in_t, out_t, s, launch_env, ws); },
                              config_.warmup_runs, config_.timed_runs);
    });
  }

  // Size values for the current layer's outputs while it is timed: its own size tensors at their
  // upper bound (what is allocated), the others at opt.
  std::vector<int64_t> output_sizes() const {
    std::vector<int64_t> sizes = opt_sizes_;
    for (size_t i = 0; i < sizes_.size() && i < opt_upper_.size(); ++i)
      if (sizes_[i].layer == layer_index_) sizes[i] = opt_upper_[i];
    return sizes;
  }

  // ---- the timing cache ------------------------------------------------------------------
  // Checks that config_.timing_cache holds timings of this device and qdp version; other ones are
  // ignored with a warning (and dropped: the cache takes this build's).
  void open_timing_cache() {
    if (!config_.timing_cache) return;
    detail::TimingCacheData& data = config_.timing_cache->data();
    std::string device = detail::device_identity(config_.device, config_.gpu);
    std::lock_guard lock(data.mutex);
    constexpr uint32_t kFormat = detail::timing_cache_file::kFormatVersion;
    bool unused = data.device.empty() && data.version.empty() && data.entries.empty();
    bool ours = data.device == device && data.version == QDP_VERSION_STRING &&
                data.format_version == kFormat;
    if (!ours && !unused) {
      std::string format = data.format_version == kFormat
                               ? ""
                               : fmt::format(", in file format {} (this qdp writes {})",
                                             data.format_version, kFormat);
      log(Severity::Warning,
          "Timing cache: ignoring its {} timing(s): they were measured on '{}' with qdp {}{}, "
          "and this build runs on '{}' with qdp {}; every layer is timed again and the cache "
          "holds this build's timings from now on",
          data.entries.size(), data.device, data.version, format, device, QDP_VERSION_STRING);
    }
    if (!ours) {
      data.entries.clear();
      data.format_version = kFormat;
      data.device = std::move(device);
      data.version = QDP_VERSION_STRING;
    }
    cache_ = &data;
  }

  // What the time of candidate `c` of the current layer depends on, as the cache's key: the
  // plugin, its attributes, JIT or AOT, each input and output at the shapes it is timed at (the
  // profile's opt) in the candidate's type and format, shape values read on the host, which
  // inputs are constants, aliasing, the tactic and the workspace.
  std::string timing_key(Network::Layer const& layer, Candidate const& c,
                         std::vector<TensorDesc> const& ins, std::vector<TensorDesc> const& outs,
                         ShapeExpr const& workspace, bool aot) {
    PluginDefinition const& def = *defs_[static_cast<size_t>(layer_index_)];
    ShapeEnv in_env = env(opt_env_inputs_, opt_sizes_);
    std::vector<int64_t> out_sizes = output_sizes();
    ShapeEnv out_env = env(opt_env_inputs_, out_sizes);
    std::string key = fmt::format("layer|{}|{}|attrs {}|", layer.plugin_id, aot ? "aot" : "jit",
                                  detail::attrs_digest(layer.attrs));
    for (size_t k = 0; k < ins.size(); ++k) {
      key += fmt::format("{}{} {} ", k ? ", " : "", name(c.types[k]), name(c.formats[k]));
      if (is_shape_input(def, k)) {
        std::vector<int64_t> values;
        for (auto const& e : *ins[k].value) values.push_back(e.eval(in_env));
        key += fmt::format("values [{}]", fmt::join(values, ","));
      } else {
        key += to_string(eval_shape(ins[k].shape_expr, in_env));
        if (tensors_[static_cast<size_t>(layer.inputs[k])].data) key += " constant";
      }
    }
    key += " ->";
    for (size_t o = 0; o < outs.size(); ++o) {
      size_t p = ins.size() + o;
      key += fmt::format("{} {} {} {}", o ? "," : "", name(c.types[p]), name(c.formats[p]),
                         to_string(eval_shape(outs[o].shape_expr, out_env)));
      if (outs[o].aliased_input() >= 0) key += fmt::format(" aliases {}", outs[o].aliased_input());
      if (outs[o].is_size_tensor()) key += " size";
    }
    key +=
        fmt::format("|tactic {}|workspace {}", c.tactic, workspace_bytes(layer, workspace, in_env));
    return key;
  }

  std::optional<double> cached_ms(std::string const& key) {
    if (!cache_ || key.empty()) return std::nullopt;
    std::lock_guard lock(cache_->mutex);
    auto it = cache_->entries.find(key);
    if (it == cache_->entries.end()) return std::nullopt;
    ++cache_hits_;
    return it->second;
  }

  void add_timing(std::string const& key, double ms) {
    measured_.emplace(key, ms);
    if (!cache_ || key.empty()) return;
    std::lock_guard lock(cache_->mutex);
    if (cache_->entries.emplace(key, ms).second) ++cache_added_;
  }

  // The workspace expression's bytes at `e`; a negative value is the plugin's mistake.
  size_t workspace_bytes(Network::Layer const& layer, ShapeExpr const& workspace,
                         ShapeEnv const& e) const {
    int64_t bytes =
        with_error_context(context(layer, "workspace"), [&] { return workspace.eval(e); });
    if (bytes < 0)
      fail("layer '{}' (plugin {}): workspace asks for {} bytes; it must be 0 or more", layer.name,
           layer.plugin_id, bytes);
    return static_cast<size_t>(bytes);
  }

  double reformat_cost(PlanTensor const& from, DataType type, TensorFormat format) {
    if (from.dtype == type && from.format == format) return 0;
    Dims shape = eval_shape(from.shape, env(opt_env_inputs_, opt_sizes_));
    // The same conversion is often priced for several candidates: time it once.
    auto key = std::make_tuple(from.dtype, from.format, type, format, to_string(shape));
    if (auto it = reformat_ms_.find(key); it != reformat_ms_.end()) return it->second;
    std::string cache_key =
        cache_ ? fmt::format("reformat|{} {} -> {} {}|{}", name(from.dtype), name(from.format),
                             name(type), name(format), to_string(shape))
               : "";
    if (auto cached = cached_ms(cache_key)) return reformat_ms_[key] = *cached;
    Tensor src{nullptr,        from.dtype, from.format,
               config_.device, shape,      dense_strides(shape, from.format)};
    Tensor dst{nullptr, type, format, config_.device, shape, dense_strides(shape, format)};
    DeviceBuffer a(config_.device, std::max<size_t>(src.bytes(), 1), config_.gpu),
        b(config_.device, std::max<size_t>(dst.bytes(), 1), config_.gpu);
    src.data = a.data();
    dst.data = b.data();
    // Zeros, not whatever the allocation held: the timing reads defined values (initcheck).
    backend_.zero(a.data(), std::max<size_t>(src.bytes(), 1), Stream{});
    backend_.synchronize(Stream{});
    double ms = backend_.time_ms([&](Stream s) { backend_.reformat(src, dst, s); },
                                 config_.warmup_runs, config_.timed_runs);
    reformat_ms_.emplace(key, ms);
    add_timing(cache_key, ms);
    return ms;
  }

  // BuildConfig::max_tensor_bytes, before `t` is allocated for `layer`.
  void check_tensor_bytes(Network::Layer const& layer, Tensor const& t,
                          std::string_view why) const {
    if (config_.max_tensor_bytes == 0 || t.bytes() <= config_.max_tensor_bytes) return;
    fail(ErrorCode::OutOfMemory,
         "layer '{}' (plugin {}): {} needs a {} tensor of shape {} ({} bytes), more than "
         "BuildConfig::max_tensor_bytes ({})",
         layer.name, layer.plugin_id, why, name(t.dtype), to_string(t.shape), t.bytes(),
         config_.max_tensor_bytes);
  }

  int add_plan_tensor(PlanTensor t) {
    plan_.tensors.push_back(std::move(t));
    return static_cast<int>(plan_.tensors.size()) - 1;
  }

  // The plan tensor holding network tensor `net` in `type` / `format`, adding a reformat step
  // the first time a conversion is needed.
  int variant(int net, DataType type, TensorFormat format) {
    auto key = std::make_tuple(net, type, format);
    if (auto it = variants_.find(key); it != variants_.end()) return it->second;
    if (!produced_.count(net)) {
      NetTensor const& nt = tensors_[static_cast<size_t>(net)];
      // Known elements become a constant of the engine, converted now to what the reader takes.
      if (nt.data) return variants_[key] = constant_variant(net, type, format);
      produced_[net] = materialize(net);  // a symbolic shape value read as data
    }
    int src = produced_[net];
    PlanTensor const s = plan_.tensors[static_cast<size_t>(src)];  // a copy: the vector grows below
    if (s.dtype == type && s.format == format) return src;
    std::string tensor = fmt::format("{}_{}_{}", s.name, name(type), name(format));
    int id = reformat_step(src, type, format, tensor, "reformat_" + tensor);
    verbose("Inserted {}: {} {} -> {} {}", plan_.steps.back().name, name(s.dtype), name(s.format),
            name(type), name(format));
    variants_[key] = id;
    return id;
  }

  // A new activation holding plan tensor `src` in `type` and `format`, written by a reformat
  // step (a plain copy when they are src's own).
  int reformat_step(int src, DataType type, TensorFormat format, std::string tensor,
                    std::string step_name) {
    PlanTensor t = plan_.tensors[static_cast<size_t>(src)];
    t.name = std::move(tensor);
    t.dtype = type;
    t.format = format;
    t.storage = PlanTensor::Storage::Activation;
    t.binding = -1;
    t.constant = -1;
    t.size_id = -1;
    int id = add_plan_tensor(std::move(t));
    PlanStep step;
    step.kind = PlanStep::Kind::Reformat;
    step.name = std::move(step_name);
    step.inputs = {src};
    step.outputs = {id};
    step.aliases = {-1};
    plan_.steps.push_back(std::move(step));
    return id;
  }

  // A known tensor's bytes in `type` and `format` (its own when they are its dtype and LINEAR).
  static std::shared_ptr<const std::vector<std::byte>> converted(NetTensor const& nt, DataType type,
                                                                 TensorFormat format) {
    if (type == nt.desc.dtype && format == TensorFormat::LINEAR) return nt.data;
    Dims shape = constant_dims(nt.desc.shape_expr);
    Tensor src{const_cast<std::byte*>(nt.data->data()),
               nt.desc.dtype,
               TensorFormat::LINEAR,
               Device::CPU,
               shape,
               dense_strides(shape, TensorFormat::LINEAR)};
    auto out = std::make_shared<std::vector<std::byte>>(static_cast<size_t>(shape.numel()) *
                                                        element_size(type));
    Tensor dst{out->data(), type, format, Device::CPU, shape, dense_strides(shape, format)};
    detail::reformat_on_host(src, dst);
    return out;
  }

  // converted() for the candidates of one layer: each of them reads the same constants, in one of
  // a few types and layouts. Kept while the layer is lowered.
  std::shared_ptr<const std::vector<std::byte>> converted_once(int net, DataType type,
                                                               TensorFormat format) {
    if (converted_layer_ != layer_index_) {
      converted_layer_ = layer_index_;
      converted_.clear();
    }
    auto& bytes = converted_[std::make_tuple(net, type, format)];
    if (!bytes) bytes = converted(tensors_[static_cast<size_t>(net)], type, format);
    return bytes;
  }

  // Constant `net` in `type` and `format`: converted on the host, stored once in the engine.
  int constant_variant(int net, DataType type, TensorFormat format) {
    NetTensor const& nt = tensors_[static_cast<size_t>(net)];
    std::shared_ptr<const std::vector<std::byte>> data = converted(nt, type, format);
    PlanTensor t;
    t.name = constant_name(net);
    if (type != nt.desc.dtype || format != TensorFormat::LINEAR)
      t.name = fmt::format("{}_{}_{}", t.name, name(type), name(format));
    t.dtype = type;
    t.format = format;
    t.shape = nt.desc.shape_expr;
    t.storage = PlanTensor::Storage::Constant;
    t.constant = static_cast<int>(plan_.constants.size());
    if (type != nt.desc.dtype) t.converted_from = nt.desc.dtype;
    plan_.constants.push_back(std::move(data));
    return add_plan_tensor(std::move(t));
  }

  std::string constant_name(int net) const {
    for (auto const& c : net_.constants())
      if (c.tensor == net) return c.name.empty() ? fmt::format("constant_{}", net) : c.name;
    return fmt::format("folded_{}", net);
  }

  // A shape value with symbolic elements that a plugin reads as data: a Values step writes it.
  int materialize(int net) {
    NetTensor const& nt = tensors_[static_cast<size_t>(net)];
    PlanTensor t;
    t.name = fmt::format("shape_value_{}", net);
    t.dtype = nt.desc.dtype;
    t.shape = nt.desc.shape_expr;
    int id = add_plan_tensor(std::move(t));
    PlanStep step;
    step.kind = PlanStep::Kind::Values;
    step.name = fmt::format("values_{}", net);
    step.inputs = {-1};
    step.input_values = {detail::PlanValue{*nt.desc.value, nt.desc.rank() == 0}};
    step.outputs = {id};
    step.aliases = {-1};
    plan_.steps.push_back(std::move(step));
    verbose("Inserted {}: writes a shape value computed at build time", plan_.steps.back().name);
    return id;
  }

  // A copy of plan tensor `src` (a constant or an input that is also a network output).
  int copy_of(int src) {
    PlanTensor const& s = plan_.tensors[static_cast<size_t>(src)];
    return reformat_step(src, s.dtype, s.format, s.name + "_copy", "copy_" + s.name);
  }

  // An output as the model declares it (ONNX's graph output types) against what was inferred.
  static void check_declared(Network::Output const& out, TensorDesc const& d) {
    auto shape = [&] {
      std::vector<std::string> dims;
      for (auto const& e : d.shape_expr) dims.push_back(e.to_string());
      return fmt::format("[{}]", fmt::join(dims, ", "));
    };
    if (out.declared_dtype && *out.declared_dtype != d.dtype)
      fail("network output '{}': the model declares it {}, but the network computes {} {}",
           out.name, name(*out.declared_dtype), name(d.dtype), shape());
    if (!out.declared_dims) return;
    auto const& dims = *out.declared_dims;
    bool same = dims.size() == d.shape_expr.size();
    for (size_t i = 0; same && i < dims.size(); ++i)
      same = dims[i] < 0 || !d.shape_expr[i].is_constant() || d.shape_expr[i].constant() == dims[i];
    if (!same)
      fail("network output '{}': the model declares shape [{}], but the network computes {}",
           out.name, fmt::join(dims, ", "), shape());
  }

  // Layouts (SPEC §9): the per-layer plan, where each layer takes its fastest candidate counting
  // the reformats of its inputs, cannot see the reformats its choice costs the layers after it:
  // a chain of element-wise layers between channels-last convolutions stays in LINEAR and pays
  // a reformat at each end. Where a layer left a channels-last candidate unchosen, a second plan
  // takes channels-last wherever a layer offers it (the fastest such candidate), from the first
  // plan's timings; the plan whose timed layers and reformats cost less is built.
  void choose_layouts() {
    EnginePlan base = plan_;  // the inputs' bindings, before any layer
    lower();
    if (!unchosen_hwc_) return;
    double per_layer_ms = plan_cost();
    Lowered first{std::move(plan_), std::move(produced_), std::move(variants_),
                  std::move(size_tensor_of_)};
    plan_ = base;
    produced_.clear();
    variants_.clear();
    size_tensor_of_.clear();
    converted_layer_ = -1;
    converted_.clear();
    prefer_hwc_ = reuse_measured_ = true;
    lower();
    double hwc_ms = plan_cost();
    bool keep_hwc = hwc_ms < per_layer_ms;
    info(
        "Layouts: the per-layer plan costs {:.4f} ms, channels-last wherever offered {:.4f} ms "
        "(timed layers and reformats): building the {}",
        per_layer_ms, hwc_ms, keep_hwc ? "channels-last one" : "per-layer one");
    if (!keep_hwc) {
      plan_ = std::move(first.plan);
      produced_ = std::move(first.produced);
      variants_ = std::move(first.variants);
      size_tensor_of_ = std::move(first.size_tensor_of);
    }
  }

  // What lower() builds, kept while another plan is tried.
  struct Lowered {
    EnginePlan plan;
    std::map<int, int> produced;
    std::map<std::tuple<int, DataType, TensorFormat>, int> variants;
    std::map<int, int> size_tensor_of;
  };

  // The plan's timed cost: its layers' chosen timings and its reformats'.
  double plan_cost() {
    double ms = 0;
    for (auto const& step : plan_.steps) {
      if (step.kind == PlanStep::Kind::Plugin) {
        ms += step.autotune_ms;
      } else if (step.kind == PlanStep::Kind::Reformat) {
        PlanTensor const from = plan_.tensors[static_cast<size_t>(step.inputs[0])];
        PlanTensor const& to = plan_.tensors[static_cast<size_t>(step.outputs[0])];
        ms += reformat_cost(from, to.dtype, to.format);
      }
    }
    return ms;
  }

  void lower() {
    for (auto const& in : net_.inputs()) {
      PlanTensor t;
      t.name = in.name;
      t.dtype = in.dtype;
      t.shape = tensors_[static_cast<size_t>(in.tensor)].desc.shape_expr;
      t.storage = PlanTensor::Storage::Input;
      t.binding = static_cast<int>(&in - net_.inputs().data());
      produced_[in.tensor] = add_plan_tensor(std::move(t));
    }
    for (size_t l = 0; l < net_.layers().size(); ++l) {
      layer_index_ = static_cast<int>(l);
      if (!folded_[l]) lower_layer(net_.layers()[l]);
    }
    for (auto const& out : net_.outputs()) {
      NetTensor const& nt = tensors_[static_cast<size_t>(out.tensor)];
      check_declared(out, nt.desc);
      int id = variant(out.tensor, nt.desc.dtype, TensorFormat::LINEAR);
      auto storage = plan_.tensors[static_cast<size_t>(id)].storage;
      if (storage == PlanTensor::Storage::Constant || storage == PlanTensor::Storage::Output)
        id = copy_of(id);  // a constant stays the engine's; a tensor feeds one output only
      PlanTensor& t = plan_.tensors[static_cast<size_t>(id)];
      t.name = out.name;
      t.storage = PlanTensor::Storage::Output;
      t.binding = static_cast<int>(plan_.io.size());
      std::vector<int64_t> dims;
      for (auto const& d : t.shape) dims.push_back(d.is_constant() ? d.constant() : -1);
      plan_.io.push_back({out.name, t.dtype, t.format, dims, std::nullopt, false, 0});
    }
    plan_.io_tensor.resize(plan_.io.size());
    for (size_t i = 0; i < plan_.tensors.size(); ++i)
      if (plan_.tensors[i].binding >= 0)
        plan_.io_tensor[static_cast<size_t>(plan_.tensors[i].binding)] = static_cast<int>(i);
    for (size_t i = 0; i < sizes_.size(); ++i)
      plan_.sizes.push_back({size_tensor_of_[static_cast<int>(i)], sizes_[i].upper});
  }

  // Asks aot_impl for candidate `c`'s kernel and compiles it for this GPU.
  detail::PlanKernel compile_kernel(Network::Layer const& layer, PluginDefinition const& def,
                                    Candidate const& c, std::vector<TensorDesc> const& ins,
                                    std::vector<TensorDesc> const& outs) {
    auto descs = detail::candidate_descs(c, ins, outs);  // not a structured binding: clang 14
    AotKernel kernel = with_error_context(context(layer, "aot_impl"), [&] {
      return def.aot_impl(descs.first, layer.attrs, descs.second, Tactic{c.tactic});
    });
    verbose("Layer '{}': compiling AOT kernel '{}' for {}", layer.name, kernel.name, describe(c));
    return with_error_context(context(layer, "AOT compilation"),
                              [&] { return backend_.compile_kernel(layer.plugin_id, kernel); });
  }

  void lower_layer(Network::Layer const& layer) {
    PluginDefinition const& def = *defs_[static_cast<size_t>(layer_index_)];
    bool aot = choose_aot(layer, def);
    PluginImpl const* impl = aot ? nullptr : def.impl(config_.device);
    evaluate_sizes_up_to(layer_index_);
    std::vector<TensorDesc> ins = input_descs(layer), outs;
    for (int o : layer.outputs) outs.push_back(tensors_[static_cast<size_t>(o)].desc);
    auto cands = candidates(layer, def, impl, ins, outs);
    size_t n_in = ins.size();

    // Per candidate, how to run it: the JIT impl (attributes bound once), or the AOT kernel
    // that aot_impl returns for the candidate's types, formats and tactic, compiled now.
    // AOT kernels are compiled when first needed (a timing from the cache needs none), once per
    // build: the second layout plan finds them compiled.
    BoundImpl bound;
    auto kernel = [&](size_t i) -> detail::PlanKernel const& {
      auto key = std::pair{layer_index_, i};
      auto it = compiled_.find(key);
      if (it == compiled_.end())
        it = compiled_.emplace(key, compile_kernel(layer, def, cands[i], ins, outs)).first;
      return it->second;
    };
    std::vector<ShapeExpr> workspaces;
    if (aot) {
      workspaces.assign(cands.size(), ShapeExpr(0));
    } else {
      bound = impl->bind(layer.attrs);
      for (auto const& c : cands)
        workspaces.push_back(detail::workspace_of(def, layer.name, c, ins, layer.attrs, outs));
    }
    auto runner_for = [&](size_t i) -> CandidateRun {
      if (!aot) {
        Tactic tactic{cands[i].tactic};
        return [&bound, tactic](std::span<const Tensor> in, std::span<Tensor> out, Stream s,
                                ShapeEnv const&, Workspace ws) { bound(in, out, s, tactic, ws); };
      }
      auto module = load_kernel(layer, kernel(i), n_in, outs.size());
      return [module](std::span<const Tensor> in, std::span<Tensor> out, Stream s,
                      ShapeEnv const& e, Workspace) { module->launch(in, out, e, s); };
    };

    size_t best = 0;
    double best_ms = 0;
    if (cands.size() > 1) {
      double best_total = 0;
      bool found = false;
      std::string last_skip;
      struct Applicable {
        size_t index;
        double ms, reformat_ms;
      };
      std::vector<Applicable> applicable;
      for (size_t i = 0; i < cands.size(); ++i) {
        auto const& c = cands[i];
        std::string key = timing_key(layer, c, ins, outs, workspaces[i], aot);
        // The second layout plan reads the first's timings (choose_layouts), and logs only its
        // choice.
        auto measured = reuse_measured_ ? measured_.find(key) : measured_.end();
        bool first_plans = measured != measured_.end();
        std::optional<double> cached = first_plans ? measured->second : cached_ms(key);
        // A candidate whose impl reports Unsupported (a tactic this device or case does not
        // offer, as a cuDNN algorithm) is skipped, as TensorRT skips a tactic that fails; the
        // timing cache keeps it as +inf, so that the next build does not try it again.
        double ms = 0;
        if (cached) {
          ms = *cached;
        } else {
          try {
            ms = time_candidate(layer, runner_for(i), c, ins, outs, workspaces[i]);
          } catch (Error const& e) {
            if (e.code() != ErrorCode::Unsupported) throw;
            ms = std::numeric_limits<double>::infinity();
            last_skip = fmt::format("{}: {}", describe(c), e.message());
          }
          add_timing(key, ms);
        }
        if (std::isinf(ms)) {
          if (!first_plans)
            verbose("Layer '{}' candidate {}: skipped, it does not apply here{}", layer.name,
                    describe(c), cached ? " (the timing cache says so)" : ": " + last_skip);
          continue;
        }
        double reformat_ms = 0;
        for (size_t k = 0; k < n_in; ++k)
          if (auto p = produced_.find(layer.inputs[k]); p != produced_.end())
            reformat_ms += reformat_cost(plan_.tensors[static_cast<size_t>(p->second)], c.types[k],
                                         c.formats[k]);  // constants convert at build time
        if (!first_plans)
          verbose("Layer '{}' candidate {}{}: {:.4f} ms (+ {:.4f} ms reformat){}", layer.name,
                  describe(c), aot ? " (AOT)" : "", ms, reformat_ms,
                  cached ? ", from the timing cache" : "");
        applicable.push_back({i, ms, reformat_ms});
      }
      // The second layout plan (choose_layouts) keeps to channels-last where it is offered.
      auto hwc = [&](size_t i) {
        auto const& f = cands[i].formats;
        return std::find(f.begin(), f.end(), TensorFormat::HWC) != f.end();
      };
      bool offers_hwc = std::any_of(applicable.begin(), applicable.end(),
                                    [&](Applicable const& a) { return hwc(a.index); });
      for (auto const& a : applicable) {
        if (prefer_hwc_ && offers_hwc && !hwc(a.index)) continue;
        if (!found || a.ms + a.reformat_ms < best_total) {
          found = true;
          best = a.index;
          best_total = a.ms + a.reformat_ms;
          best_ms = a.ms;
        }
      }
      if (found && offers_hwc && !hwc(best)) unchosen_hwc_ = true;
      if (!found)
        fail(ErrorCode::Unsupported,
             "layer '{}' (plugin {}): none of its {} candidates applies on this device{}",
             layer.name, layer.plugin_id, cands.size(),
             last_skip.empty() ? "" : " (the last: " + last_skip + ")");
      verbose("Layer '{}' chose {}{}", layer.name, describe(cands[best]),
              prefer_hwc_ ? " (the channels-last plan)" : "");
    } else {
      if (aot) load_kernel(layer, kernel(0), n_in, outs.size());  // check that it loads
      verbose("Layer '{}' has one candidate, {}: not timed", layer.name, describe(cands[0]));
    }
    Candidate const& c = cands[best];

    PlanStep step;
    step.kind = PlanStep::Kind::Plugin;
    step.name = layer.name;
    step.plugin_id = layer.plugin_id;
    step.aot = aot;
    // JIT: every attribute, so that loading can run desc again (SPEC §5). AOT: none, everything
    // is in the kernel and its launch expressions.
    if (!aot) step.attrs = layer.attrs;
    if (aot) step.kernel = kernel(best);
    step.tactic = c.tactic;
    step.autotune_ms = best_ms;
    step.workspace = workspaces[best];
    step.input_values.resize(n_in);
    for (size_t k = 0; k < n_in; ++k) {
      if (is_shape_input(def, k)) {
        step.inputs.push_back(-1);  // read on the host, evaluated at run time
        step.input_values[k] = detail::PlanValue{*ins[k].value, ins[k].rank() == 0};
      } else {
        step.inputs.push_back(variant(layer.inputs[k], c.types[k], c.formats[k]));
      }
    }
    if (def.shape_inputs.empty()) step.input_values.clear();
    for (size_t o = 0; o < outs.size(); ++o) {
      NetTensor const& nt = tensors_[static_cast<size_t>(layer.outputs[o])];
      PlanTensor t;
      t.name = fmt::format("{}_out{}", layer.name, o);
      t.dtype = c.types[n_in + o];
      t.format = c.formats[n_in + o];
      t.shape = nt.desc.shape_expr;
      t.size_id = nt.size_id;
      int id = add_plan_tensor(std::move(t));
      if (nt.size_id >= 0) size_tensor_of_[nt.size_id] = id;
      produced_[layer.outputs[o]] = id;
      step.outputs.push_back(id);
      step.aliases.push_back(nt.desc.aliased_input());
    }
    plan_.steps.push_back(std::move(step));
  }

  std::shared_ptr<const detail::LoadedKernel> load_kernel(Network::Layer const& layer,
                                                          detail::PlanKernel const& kernel,
                                                          size_t inputs, size_t outputs) {
    return with_error_context(context(layer, "AOT kernel loading"), [&] {
      return backend_.load_kernel(kernel, layer.name, inputs, outputs);
    });
  }

  Network const& net_;
  BuildConfig const& config_;
  detail::Backend& backend_;
  EnginePlan plan_;
  std::vector<NetTensor> tensors_;
  std::vector<SizeInfo> sizes_;
  std::vector<Dims> opt_env_inputs_, max_env_inputs_;
  std::vector<int64_t> opt_sizes_, opt_upper_;
  std::map<int, int> produced_;  // network tensor -> plan tensor of its producer
  std::map<std::tuple<int, DataType, TensorFormat>, int> variants_;
  std::map<std::tuple<DataType, TensorFormat, DataType, TensorFormat, std::string>, double>
      reformat_ms_;
  RandomInputs random_inputs_;  // what timed candidates read
  // The current layer's constants as its timed candidates read them (converted_once).
  int converted_layer_ = -1;
  std::map<std::tuple<int, DataType, TensorFormat>, std::shared_ptr<const std::vector<std::byte>>>
      converted_;
  std::map<int, int> size_tensor_of_;                          // size id -> plan tensor
  std::vector<std::shared_ptr<const PluginDefinition>> defs_;  // per layer
  std::vector<bool> folded_;  // per layer: computed at build time, no step
  int layer_index_ = 0;
  detail::TimingCacheData* cache_ = nullptr;  // config_.timing_cache's, once checked
  // Every timing this build measured, by timing key: the second layout plan reads them.
  std::map<std::string, double> measured_;
  bool reuse_measured_ = false;  // the second layout plan: timings come from measured_
  bool unchosen_hwc_ = false;    // some layer offered channels-last and took another layout
  bool prefer_hwc_ = false;      // the second layout plan: channels-last wherever offered
  std::map<std::pair<int, size_t>, detail::PlanKernel> compiled_;  // (layer, candidate) -> kernel
  size_t cache_hits_ = 0, cache_added_ = 0;
};

}  // namespace

Engine build_engine(Network const& network, BuildConfig const& config) {
  BuildConfig quiet = config;  // shape inference runs again on the fused network: log it once
  quiet.logger = nullptr;
  Network fused = detail::fuse_layers(network, config.logger,
                                      [&] { return Builder(network, quiet).tensor_shapes(); });
  return Builder(fused, config).build();
}

}  // namespace qdp
