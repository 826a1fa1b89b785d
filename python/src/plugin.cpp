// Python plugin definitions as core PluginDefinitions (SPEC §8): the definition object that
// qdp/plugin.py builds from the decorated functions is captured by the core callables, which
// call back into it. Only the impl call is written for speed: it runs at every enqueue.
#include <qdp/registry.hpp>

#include "shapes.hpp"
#include "tensor.hpp"

namespace qdp::py {

namespace {

// Runs `f` with the GIL, turning a Python exception into a qdp::Error of `phase` that names the
// plugin and the function.
template <class F>
decltype(auto) call_python(std::string const& plugin, char const* phase, std::string_view what,
                           F&& f) {
  nb::gil_scoped_acquire gil;
  try {
    return f();
  } catch (nb::python_error const& e) {
    throw error_from_python(e, what, {plugin, "", phase});
  }
}

// The desc callable of every Python definition; its type is how a registered definition is
// recognised as one from Python (std::function::target).
struct PyDesc {
  PyRef definition;
  std::string id;
  std::vector<TensorDesc> operator()(std::span<const TensorDesc> inputs, Attrs const& attrs) const {
    return call_python(id, "desc", "desc", [&] {
      nb::object outs = definition.get().attr("_run_desc")(descs_to_python(inputs, true),
                                                          attrs_to_python(attrs));
      std::vector<TensorDesc> result;
      for (nb::handle h : outs) result.push_back(desc_from_python(h, "desc"));
      return result;
    });
  }
};

struct PyAutotune {
  PyRef definition;
  std::string id;
  std::vector<AutoTuneCombination> operator()(std::span<const TensorDesc> inputs,
                                              Attrs const& attrs,
                                              std::span<const TensorDesc> outputs) const {
    return call_python(id, "autotune", "autotune", [&] {
      nb::object combos = definition.get().attr("_run_autotune")(
          descs_to_python(inputs, true), attrs_to_python(attrs), descs_to_python(outputs, true));
      return nb::cast<std::vector<AutoTuneCombination>>(combos);
    });
  }
};

struct PyAotImpl {
  PyRef definition;
  std::string id;
  AotKernel operator()(std::span<const TensorDesc> inputs, Attrs const& attrs,
                       std::span<const TensorDesc> outputs, Tactic tactic) const {
    return call_python(id, "aot_impl", "aot_impl", [&] {
      // _run_aot_impl checks what the user returned and gives it back in one shape:
      // (name, code bytes, kind, (grid x, y, z), (block x, y, z), shared_mem, [extra args]).
      nb::tuple r = nb::cast<nb::tuple>(definition.get().attr("_run_aot_impl")(
          descs_to_python(inputs, true), attrs_to_python(attrs), descs_to_python(outputs, true),
          tactic.value));
      AotKernel k;
      k.name = nb::cast<std::string>(r[0]);
      nb::bytes code = nb::cast<nb::bytes>(r[1]);
      k.code.assign(code.c_str(), code.size());
      std::string kind = nb::cast<std::string>(r[2]);
      k.kind = kind == "ptx"     ? AotKernel::CodeKind::PTX
               : kind == "cubin" ? AotKernel::CodeKind::CUBIN
                                 : AotKernel::CodeKind::CUDA_SOURCE;
      for (size_t i = 0; i < 3; ++i) {
        k.grid[i] = nb::cast<ShapeExpr>(r[3][i]);
        k.block[i] = nb::cast<ShapeExpr>(r[4][i]);
      }
      k.shared_memory = nb::cast<ShapeExpr>(r[5]);
      k.extra_args = nb::cast<std::vector<ShapeExpr>>(r[6]);
      return k;
    });
  }
};

// One Python impl with its attributes decoded: what every enqueue calls.
struct PyBoundImpl {
  PyRef fn;          // the user's impl
  PyRef attr_args;   // its attribute arguments, in parameter order (a tuple)
  bool takes_tactic = false;
  std::string id, what;  // "impl <function name>", for errors

  void operator()(std::span<const Tensor> inputs, std::span<Tensor> outputs, Stream stream,
                  Tactic tactic) const {
    nb::gil_scoped_acquire gil;
    size_t const n_views = inputs.size() + outputs.size();
    size_t const n_attrs = static_cast<size_t>(PyTuple_Size(attr_args.ptr()));
    size_t const n = inputs.size() + n_attrs + 2 + (takes_tactic ? 1 : 0);
    // No allocation for the usual handful of tensors and attributes: this runs at every enqueue.
    constexpr size_t kInline = 16;
    nb::object inline_views[kInline];
    PyObject* inline_args[kInline + 1];
    std::vector<nb::object> heap_views;
    std::vector<PyObject*> heap_args;
    nb::object* views = inline_views;
    PyObject** args = inline_args;
    if (n_views > kInline) views = (heap_views.resize(n_views), heap_views.data());
    if (n + 1 > kInline + 1) args = (heap_args.resize(n + 1), heap_args.data());
    // Views of the buffers, released (marked dead) when the call returns, however it returns.
    size_t made = 0;
    struct Release {
      nb::object* views;
      size_t const& made;
      ~Release() {
        for (size_t i = 0; i < made; ++i) nb::inst_ptr<PyTensor>(views[i])->alive = false;
      }
    } release{views, made};
    size_t a = 1;  // args[0] is free: PY_VECTORCALL_ARGUMENTS_OFFSET
    for (Tensor const& t : inputs) {
      // An input is writable only where an output aliases it (an in-place plugin).
      bool aliased = false;
      for (Tensor const& o : outputs) aliased |= o.data == t.data;
      views[made] = nb::cast(PyTensor{t, aliased, true, {}});
      args[a++] = views[made++].ptr();
    }
    for (size_t i = 0; i < n_attrs; ++i) args[a++] = PyTuple_GetItem(attr_args.ptr(), static_cast<Py_ssize_t>(i));
    nb::object out_tuple = nb::steal(PyTuple_New(static_cast<Py_ssize_t>(outputs.size())));
    for (size_t o = 0; o < outputs.size(); ++o) {
      views[made] = nb::cast(PyTensor{outputs[o], true, true, {}});
      PyTuple_SetItem(out_tuple.ptr(), static_cast<Py_ssize_t>(o), views[made++].inc_ref().ptr());
    }
    args[a++] = out_tuple.ptr();
    nb::object stream_obj = nb::steal(PyLong_FromVoidPtr(stream.handle));
    args[a++] = stream_obj.ptr();
    nb::object tactic_obj;
    if (takes_tactic) {
      tactic_obj = nb::int_(tactic.value);
      args[a++] = tactic_obj.ptr();
    }
    PyObject* result =
        PyObject_Vectorcall(fn.ptr(), args + 1, n | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
    if (!result) throw error_from_python(nb::python_error(), what, {id, "", "impl"});
    Py_DECREF(result);
  }
};

// The one place a Python impl becomes the core's BoundImpl: when BoundImpl gains a parameter
// (the scratch workspace), this lambda is what changes.
BoundImpl make_bound_impl(std::shared_ptr<PyBoundImpl const> impl) {
  return [impl = std::move(impl)](std::span<const Tensor> inputs, std::span<Tensor> outputs,
                                  Stream stream, Tactic tactic) {
    (*impl)(inputs, outputs, stream, tactic);
  };
}

struct PyImplFactory {
  PyRef definition;
  std::string id, device;
  BoundImpl operator()(Attrs const& attrs) const {
    return call_python(id, "impl", "binding the impl", [&] {
      // (impl function, attribute arguments in its parameter order, takes a tactic, its name)
      nb::tuple b = nb::cast<nb::tuple>(
          definition.get().attr("_bind_impl")(device, attrs_to_python(attrs)));
      auto impl = std::make_shared<PyBoundImpl>();
      impl->fn = PyRef(b[0]);
      impl->attr_args = PyRef(nb::tuple(b[1]));
      impl->takes_tactic = nb::cast<bool>(b[2]);
      impl->id = id;
      impl->what = "impl " + nb::cast<std::string>(b[3]);
      return make_bound_impl(std::move(impl));
    });
  }
};

bool is_python(PluginDefinition const& d) {
  return d.desc.target<PyDesc>() != nullptr;
}

std::shared_ptr<const PluginDefinition> find_plugin(std::string_view id) {
  return Registry::global().get(id);
}

// Registers (or re-registers, when a decorator added to it) the definition object `def`.
void register_python_plugin(nb::object def) {
  PluginDefinition d;
  d.id = nb::cast<std::string>(def.attr("id"));
  d.num_inputs = nb::cast<int>(def.attr("num_inputs"));
  d.num_outputs = nb::cast<int>(def.attr("num_outputs"));
  for (nb::handle spec : def.attr("attr_specs")) {
    auto name = nb::cast<std::string>(spec[0]);
    auto type = nb::cast<AttrType>(spec[1]);
    std::optional<AttrValue> default_value;
    if (nb::cast<bool>(spec[2])) {
      std::string where = fmt::format("plugin {}: default of attribute '{}'", d.id, name);
      std::string why;
      default_value = convert_attr(attr_from_python(spec[3], where), type, &why);
      if (!default_value) fail("{}: not a {}: {}", where, qdp::name(type), why);
    }
    d.attrs.push_back({std::move(name), type, std::move(default_value)});
  }
  d.desc = PyDesc{PyRef(def), d.id};
  for (auto [device, used] : nb::cast<std::vector<std::pair<std::string, std::vector<std::string>>>>(
           def.attr("impl_attrs_used"))) {
    auto dev = parse_device(device);
    if (!dev) fail("plugin {}: unknown device '{}' (cpu or cuda)", d.id, device);
    d.impls[*dev] = PluginImpl{PyImplFactory{PyRef(def), d.id, device}, std::move(used), {}};
  }
  if (nb::cast<bool>(def.attr("has_autotune"))) d.autotune = PyAutotune{PyRef(def), d.id};
  if (nb::cast<bool>(def.attr("has_aot_impl"))) d.aot_impl = PyAotImpl{PyRef(def), d.id};

  Registry& registry = Registry::global();
  if (auto old = registry.find(d.id)) {
    if (!is_python(*old))
      fail("plugin {} is already registered (by C++ code or a plugin library): a plugin ID is "
           "registered once",
           d.id);
    registry.remove(d.id);
  }
  registry.add(std::move(d));
}

nb::dict plugin_schema(std::string_view id) {
  auto held = find_plugin(id);
  PluginDefinition const& d = *held;
  nb::list attrs;
  for (auto const& a : d.attrs)
    attrs.append(nb::make_tuple(a.name, a.type, a.default_value ? attr_to_python(*a.default_value)
                                                                : nb::none()));
  nb::list devices;
  for (auto const& [dev, impl] : d.impls) devices.append(std::string(name(dev)));
  nb::dict out;
  out["id"] = d.id;
  out["num_inputs"] = d.num_inputs;
  out["num_outputs"] = d.num_outputs;
  out["attrs"] = attrs;
  out["impl_devices"] = devices;
  out["has_aot_impl"] = static_cast<bool>(d.aot_impl);
  out["has_autotune"] = static_cast<bool>(d.autotune);
  out["is_python"] = is_python(d);
  return out;
}

Attrs resolve(std::string_view id, nb::dict given) {
  auto held = find_plugin(id);
  PluginDefinition const& d = *held;
  Attrs values;
  for (auto [key, value] : given) {
    auto name = nb::cast<std::string>(key);
    values.emplace(name, attr_from_python(value, fmt::format("plugin {}: attribute '{}'", id, name)));
  }
  return resolve_attrs(id, d.attrs, values);
}

}  // namespace

void bind_plugin(nb::module_& m) {
  nb::class_<AutoTuneCombination>(
      m, "AutoTuneCombination",
      "Type/layout combinations and tactics for the autotuner: AutoTuneCombination(\"FP32|FP16, "
      "FP32|FP16\"), or built with pos() and tactics()")
      .def(
          "__init__",
          [](AutoTuneCombination* self, std::optional<std::string> io_types,
             std::optional<std::string> layouts, std::optional<std::vector<int32_t>> tactics) {
            if (!io_types) {
              if (layouts)
                fail("AutoTuneCombination: layouts without io_types; give io_types too, or use "
                     "pos(indices, types, layouts)");
              new (self) AutoTuneCombination();
              if (tactics) self->tactics(*tactics);
              return;
            }
            new (self) AutoTuneCombination(*io_types, layouts.value_or("LINEAR"),
                                           tactics.value_or(std::vector<int32_t>{}));
          },
          "io_types"_a = nb::none(), "layouts"_a = nb::none(), "tactics"_a = nb::none())
      .def(
          "pos",
          [](AutoTuneCombination& c, std::vector<int> pos, std::string_view types,
             std::string_view layouts) { c.pos(std::move(pos), types, layouts); },
          "pos"_a, "io_types"_a, "layouts"_a = "LINEAR")
      .def(
          "pos",
          [](AutoTuneCombination& c, int pos, std::string_view types, std::string_view layouts) {
            c.pos(pos, types, layouts);
          },
          "pos"_a, "io_types"_a, "layouts"_a = "LINEAR")
      .def(
          "tactics", [](AutoTuneCombination& c, std::vector<int32_t> t) { c.tactics(std::move(t)); },
          "tactics"_a)
      .def(
          "candidates",
          [](AutoTuneCombination const& c, int num_positions) {
            nb::list out;
            for (auto const& cand : c.expand(num_positions))
              out.append(nb::make_tuple(cand.types, cand.formats, cand.tactic));
            return out;
          },
          "num_positions"_a, "Every (types, formats, tactic) this combination describes")
      .def("__repr__", [](AutoTuneCombination const& c) { return c.to_string(); });

  m.def("register_python_plugin", &register_python_plugin, "definition"_a);
  m.def("validate_plugin_id", &validate_plugin_id, "plugin_id"_a);
  m.def("is_python_plugin", [](std::string_view id) {
    auto d = Registry::global().find(id);
    return d && is_python(*d);
  });
  m.def("plugin_schema", &plugin_schema, "plugin_id"_a);
  m.def("plugin_ids", [] { return Registry::global().ids(); });
  m.def("unregister_plugin", [](std::string_view id) { return Registry::global().remove(id); },
        "plugin_id"_a);
  m.def(
      "unregister_python_plugins",
      [] {
        // At interpreter exit: the registry outlives Python, its Python callables must not.
        for (auto const& id : Registry::global().ids())
          if (auto d = Registry::global().find(id); d && is_python(*d))
            Registry::global().remove(id);
      });
  m.def("resolve_attrs", &resolve, "plugin_id"_a, "attrs"_a);
  m.def("load_plugin_library", &load_plugin_library, "path"_a);
  m.def(
      "aot_kernel",
      [](std::string_view id, nb::list inputs, Attrs const& attrs, nb::list outputs, int tactic) {
        // What the builder asks of an aot_impl, for inspection: (name, kind, code, grid, block,
        // shared memory, extra args), the expressions as text.
        auto held = find_plugin(id);
  PluginDefinition const& d = *held;
        if (!d.aot_impl) fail(ErrorCode::NotFound, "plugin {} has no aot_impl", id);
        std::vector<TensorDesc> in, out;
        for (size_t i = 0; i < inputs.size(); ++i) {
          in.push_back(desc_from_python(inputs[i], "aot_kernel inputs"));
          in.back().set_input_index(static_cast<int>(i));
        }
        for (nb::handle h : outputs) out.push_back(desc_from_python(h, "aot_kernel outputs"));
        AotKernel k = d.aot_impl(in, attrs, out, Tactic{tactic});
        auto texts = [](auto const& exprs) {
          std::vector<std::string> v;
          for (auto const& e : exprs) v.push_back(e.to_string());
          return v;
        };
        char const* kinds[] = {"cuda", "ptx", "cubin"};
        nb::dict r;
        r["name"] = k.name;
        r["kind"] = kinds[static_cast<int>(k.kind)];
        r["code"] = nb::bytes(k.code.data(), k.code.size());
        r["grid"] = texts(k.grid);
        r["block"] = texts(k.block);
        r["shared_mem"] = k.shared_memory.to_string();
        r["extra_args"] = texts(k.extra_args);
        return r;
      },
      "plugin_id"_a, "inputs"_a, "attrs"_a, "outputs"_a, "tactic"_a = 0);
}

}  // namespace qdp::py
