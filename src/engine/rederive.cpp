// Loading re-derives what it can (SPEC §5). The steps are replayed in order, as the builder ran
// them: every tensor gets the desc the builder's layers saw for it (its natural type and format,
// its shape and its value), and each JIT plugin step asks its plugin, through the builder's own
// functions (derive.hpp), what its outputs, combinations and workspace are. Any disagreement
// with the plan means the file was altered (a checksum catches accidents, not intent) or the
// plugin changed since the engine was built: either way the runtime must not trust the plan, so
// the engine is refused. Costs one desc (and autotune) call per layer, at load only.
#include <fmt/ranges.h>

#include "engine/derive.hpp"

namespace qdp::detail {
namespace {

std::string shape_text(std::span<const ShapeExpr> shape) {
  std::vector<std::string> dims;
  for (auto const& e : shape) dims.push_back(e.to_string());
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

bool same_shape(std::span<const ShapeExpr> a, std::span<const ShapeExpr> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

std::string describe(Candidate const& c) {
  std::vector<std::string_view> types, formats;
  for (auto t : c.types) types.push_back(name(t));
  for (auto f : c.formats) formats.push_back(name(f));
  return fmt::format("types [{}] formats [{}]", fmt::join(types, ", "), fmt::join(formats, ", "));
}

// A tensor as the builder's layers saw it.
struct Natural {
  TensorDesc desc;
  bool type_known = true;  // false: the producer's own type is not in the plan (an AOT step's)
};

class Rederiver {
 public:
  Rederiver(EnginePlan const& plan, std::string_view origin) : plan_(plan), origin_(origin) {}

  void run() {
    natural_.resize(plan_.tensors.size());
    for (size_t t = 0; t < plan_.tensors.size(); ++t) {
      PlanTensor const& pt = plan_.tensors[t];
      if (pt.storage == PlanTensor::Storage::Input) {
        natural_[t] = Natural{TensorDesc(pt.dtype, pt.shape)};
      } else if (pt.storage == PlanTensor::Storage::Constant) {
        // A constant converted at build time was of the network's type for the descs (its
        // values, where it has any, are the converted ones: the builder converts integers only
        // where a plugin demands it, as it does at build time).
        Natural n{TensorDesc(pt.converted_from.value_or(pt.dtype), pt.shape)};
        n.desc.value =
            value_of(pt.dtype, pt.shape, *plan_.constants[static_cast<size_t>(pt.constant)]);
        natural_[t] = std::move(n);
      }
    }
    for (size_t s = 0; s < plan_.steps.size(); ++s) step(s);
  }

 private:
  template <class... Args>
  [[noreturn]] void bad(size_t s, fmt::format_string<Args...> format, Args&&... args) const {
    PlanStep const& step = plan_.steps[s];
    fail(ErrorCode::CorruptFile,
         "cannot load engine '{}': layer {} ('{}', plugin {}): {}; the file was altered, or the "
         "plugin changed since the engine was built: rebuild the engine",
         origin_, s, step.name, step.plugin_id, fmt::format(format, std::forward<Args>(args)...));
  }

  // What tensor t's readers saw (the plan's structural checks made sure it was written first).
  Natural const& natural(size_t s, int t) const {
    auto const& n = natural_[static_cast<size_t>(t)];
    if (!n) bad(s, "it reads tensor {} before it is written", t);
    return *n;
  }

  void step(size_t s) {
    PlanStep const& step = plan_.steps[s];
    switch (step.kind) {
      case PlanStep::Kind::Reformat: {
        // A conversion or a copy: the same tensor for its readers, in another type or format.
        if (step.inputs.size() != 1 || step.outputs.size() != 1 || step.inputs[0] < 0)
          bad(s, "a reformat takes one tensor and writes one");
        PlanTensor const& in = plan_.tensors[static_cast<size_t>(step.inputs[0])];
        PlanTensor const& out = plan_.tensors[static_cast<size_t>(step.outputs[0])];
        if (!same_shape(in.shape, out.shape))
          bad(s, "a reformat from shape {} to shape {}", shape_text(in.shape),
              shape_text(out.shape));
        Natural n = natural(s, step.inputs[0]);
        set(step.outputs[0], std::move(n));
        return;
      }
      case PlanStep::Kind::Values: {
        if (step.outputs.size() != 1 || step.input_values.empty() || !step.input_values[0])
          bad(s, "a values step writes one tensor from one stored value");
        PlanTensor const& out = plan_.tensors[static_cast<size_t>(step.outputs[0])];
        Natural n{TensorDesc(out.dtype, out.shape)};
        n.desc.value = step.input_values[0]->elements;
        set(step.outputs[0], std::move(n));
        return;
      }
      case PlanStep::Kind::Plugin:
        break;
    }
    auto def = step.aot ? nullptr : find_for_load(step.plugin_id);
    if (!def) {  // an AOT kernel (code the engine carries), or a plugin make_engine_impl reports
      for (int t : step.outputs) {
        PlanTensor const& pt = plan_.tensors[static_cast<size_t>(t)];
        set(t, Natural{TensorDesc(pt.dtype, pt.shape), false});
      }
      return;
    }
    plugin_step(s, *def);
  }

  void set(int t, Natural n) { natural_[static_cast<size_t>(t)] = std::move(n); }

  void plugin_step(size_t s, PluginDefinition const& def) {
    PlanStep const& step = plan_.steps[s];
    // engine_file checked these against the same ID; the registry may have changed since.
    size_t least = static_cast<size_t>(def.num_inputs);
    if ((def.variadic ? step.inputs.size() < least : step.inputs.size() != least) ||
        step.outputs.size() != static_cast<size_t>(def.num_outputs))
      bad(s, "the plugin takes {}{} inputs and {} outputs, the layer has {} and {}",
          def.variadic ? "at least " : "", def.num_inputs, def.num_outputs, step.inputs.size(),
          step.outputs.size());
    // Inputs as the builder's desc saw them; a shape input is the values the plan stores.
    std::vector<TensorDesc> ins;
    for (size_t k = 0; k < step.inputs.size(); ++k) {
      bool shape_input = std::find(def.shape_inputs.begin(), def.shape_inputs.end(),
                                   static_cast<int>(k)) != def.shape_inputs.end();
      int t = step.inputs[k];
      if (shape_input != (t < 0))
        bad(s, "input {} is {} in the engine, but the plugin reads it as {}", k,
            t < 0 ? "a value" : "a tensor", shape_input ? "a value" : "data");
      TensorDesc d;
      if (t < 0) {
        PlanValue const& v = *step.input_values[k];
        d = v.scalar ? TensorDesc(DataType::INT64, {})
                     : TensorDesc(DataType::INT64, {static_cast<int64_t>(v.elements.size())});
        d.value = v.elements;
      } else {
        Natural const& n = natural(s, t);
        d = n.desc;
        if (!n.type_known) d.dtype = plan_.tensors[static_cast<size_t>(t)].dtype;
      }
      ins.push_back(desc_input(d, static_cast<int>(k)));
    }
    // The attributes as make_engine_impl binds them: stored, else the schema's default. The
    // engine stores every attribute of a JIT step; one without a default must be there, for desc
    // (or the impl) may read it unchecked.
    Attrs attrs = step.attrs;
    PluginImpl const* impl = def.impl(plan_.device);
    for (auto const& spec : def.attrs) {
      if (attrs.count(spec.name)) continue;
      if (!spec.default_value) {
        bool used = impl && std::find(impl->attrs_used.begin(), impl->attrs_used.end(),
                                      spec.name) != impl->attrs_used.end();
        bad(s, "the engine lacks attribute '{}', which the {} uses and which has no default",
            spec.name, used ? "impl" : "plugin");
      }
      attrs.emplace(spec.name, *spec.default_value);
    }
    // Size tensors: the builder numbers a layer's in output order, from the first one's id.
    int first_size_id = static_cast<int>(plan_.sizes.size());
    for (int t : step.outputs)
      if (int id = plan_.tensors[static_cast<size_t>(t)].size_id; id >= 0)
        first_size_id = std::min(first_size_id, id);

    std::vector<DerivedOutput> derived =
        ask(s, "its desc", [&] { return run_desc(def, step.name, ins, attrs, first_size_id); });
    std::vector<TensorDesc> outs;
    for (size_t o = 0; o < derived.size(); ++o) {
      check_output(s, o, derived[o]);
      outs.push_back(derived[o].desc);
    }
    check_combination(s, def, ins, attrs, outs);
    for (size_t o = 0; o < derived.size(); ++o) set(step.outputs[o], Natural{derived[o].desc});
  }

  // Runs one of the plugin's callables; whatever it throws is the file's fault now.
  template <class F>
  auto ask(size_t s, std::string_view what, F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (Error const& e) {
      bad(s, "{} fails on the engine's inputs and attributes: {}", what, e.message());
    } catch (std::exception const& e) {
      bad(s, "{} fails on the engine's inputs and attributes: {}", what, e.what());
    } catch (...) {
      bad(s, "{} fails on the engine's inputs and attributes (it threw a non-exception)", what);
    }
  }

  void check_output(size_t s, size_t o, DerivedOutput const& d) const {
    PlanStep const& step = plan_.steps[s];
    int t = step.outputs[o];
    PlanTensor const& pt = plan_.tensors[static_cast<size_t>(t)];
    std::string out = fmt::format("output {} ('{}')", o, pt.name);
    if (!same_shape(pt.shape, d.desc.shape_expr))
      bad(s, "{} shape: the engine says {}, but the plugin's desc gives {}", out,
          shape_text(pt.shape), shape_text(d.desc.shape_expr));
    if ((pt.size_id >= 0) != (d.size_id >= 0))
      bad(s, "{} size tensor: the engine {} it a size tensor, the plugin's desc {}", out,
          pt.size_id >= 0 ? "makes" : "does not make", d.size_id >= 0 ? "does" : "does not");
    if (d.size_id >= 0) {
      if (pt.size_id != d.size_id)
        bad(s,
            "{} size tensor: the engine numbers it size{}, the layer's size tensors start at "
            "size{}",
            out, pt.size_id, d.size_id);
      SizeValue const& size = plan_.sizes[static_cast<size_t>(pt.size_id)];
      if (size.tensor != t)
        bad(s, "{} size tensor: size{} is the value of tensor {}, not of this output", out,
            pt.size_id, size.tensor);
      if (!(size.upper_bound == d.upper_bound))
        bad(s, "{} size-tensor upper bound: the engine says {}, but the plugin's desc gives {}",
            out, size.upper_bound.to_string(), d.upper_bound.to_string());
    }
    int alias = o < step.aliases.size() ? step.aliases[o] : -1;
    if (alias != d.desc.aliased_input()) {
      auto text = [](int a) {
        return a < 0 ? std::string("no input") : fmt::format("input {}", a);
      };
      bad(s, "{} aliasing: the engine says it aliases {}, but the plugin's desc says {}", out,
          text(alias), text(d.desc.aliased_input()));
    }
  }

  // The types and formats the step runs with: a combination its plugin offers (autotune's, or
  // without autotune the desc's types, LINEAR), one the runtime can honour and the impl can take;
  // and the workspace the plugin asks for with them and the tactic. The tactic is the impl's to
  // interpret and is not checked: an engine built with a plugin's autotuned form (several
  // tactics) loads where the plugin is defined without autotune, and its impl gets the tactic.
  void check_combination(size_t s, PluginDefinition const& def, std::vector<TensorDesc> const& ins,
                         Attrs const& attrs, std::vector<TensorDesc> const& outs) const {
    PlanStep const& step = plan_.steps[s];
    size_t n_in = ins.size();
    Candidate c;
    c.tactic = step.tactic;
    for (size_t p = 0; p < n_in + outs.size(); ++p) {
      int t = p < n_in ? step.inputs[p] : step.outputs[p - n_in];
      bool value = t < 0;  // a shape input: INT64 values on the host, whatever was listed
      c.types.push_back(value ? ins[p].dtype : plan_.tensors[static_cast<size_t>(t)].dtype);
      c.formats.push_back(value ? TensorFormat::LINEAR
                                : plan_.tensors[static_cast<size_t>(t)].format);
    }
    auto listed =
        ask(s, "its autotune", [&] { return listed_candidates(def, step.name, ins, attrs, outs); });
    auto matches = [&](Candidate const& l) {
      if (l.types.size() != c.types.size() || l.formats.size() != c.formats.size()) return false;
      for (size_t p = 0; p < c.types.size(); ++p) {
        if (p < n_in && step.inputs[p] < 0) continue;
        if (l.types[p] != c.types[p] || l.formats[p] != c.formats[p]) return false;
      }
      return true;
    };
    if (std::none_of(listed.begin(), listed.end(), matches)) {
      if (def.autotune)
        bad(s, "the engine runs it with {}, a combination its autotune does not offer",
            describe(c));
      Candidate const& only = listed.front();
      for (size_t p = 0; p < c.types.size(); ++p) {
        if (p < n_in && step.inputs[p] < 0) continue;
        std::string where =
            p < n_in ? fmt::format("input {}", p) : fmt::format("output {}", p - n_in);
        if (c.types[p] != only.types[p])
          bad(s, "{} type: the engine says {}, but the plugin's desc gives {} (it has no autotune)",
              where, name(c.types[p]), name(only.types[p]));
        if (c.formats[p] != only.formats[p])
          bad(s, "{} format: the engine says {}, but a plugin without autotune runs LINEAR only",
              where, name(c.formats[p]));
      }
    }
    if (std::string why = candidate_conflict(c, ins, outs); !why.empty())
      bad(s, "the engine runs it with {}: {}", describe(c), why);
    if (PluginImpl const* impl = def.impl(plan_.device); impl && impl->check_types)
      if (std::string why = impl->check_types(c.types); !why.empty())
        bad(s, "types: the engine runs it with {}, which its {} impl cannot take: {}", describe(c),
            name(plan_.device), why);
    ShapeExpr workspace =
        ask(s, "its workspace", [&] { return workspace_of(def, step.name, c, ins, attrs, outs); });
    if (!(workspace == step.workspace))
      bad(s, "workspace: the engine says {} bytes, but the plugin asks for {}",
          step.workspace.to_string(), workspace.to_string());
  }

  EnginePlan const& plan_;
  std::string_view origin_;
  std::vector<std::optional<Natural>> natural_;  // per plan tensor, once written
};

}  // namespace

void rederive_plan(EnginePlan const& plan, std::string_view origin) {
  Rederiver(plan, origin).run();
}

}  // namespace qdp::detail
