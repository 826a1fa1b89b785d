#include <qdp/device_buffer.hpp>
#include <qdp/engine.hpp>
#include <qdp/execution_context.hpp>
#include <qdp/registry.hpp>

#include "backends/backend.hpp"
#include "engine/engine_impl.hpp"

namespace qdp {
namespace detail {

std::shared_ptr<const EngineImpl> make_engine_impl(EnginePlan plan, int gpu) {
  auto impl = std::make_shared<EngineImpl>();
  Backend* device = nullptr;  // only needed, and only asked for, by AOT steps and constants
  // Weights: uploaded once here, shared by every context of the engine.
  for (auto const& c : plan.constants) {
    if (!device) device = &backend(plan.device, gpu);
    impl->constants.emplace_back(plan.device, std::max<size_t>(c->size(), 1), gpu);
    if (!c->empty()) device->copy_from_host(impl->constants.back().data(), c->data(), c->size());
  }
  for (auto const& step : plan.steps) {
    impl->bound.emplace_back();
    impl->kernels.emplace_back();
    if (step.kind != PlanStep::Kind::Plugin) continue;
    if (step.aot) {
      // Self-contained: the kernel and its launch expressions are in the plan; no plugin needed.
      if (!step.kernel)
        fail(ErrorCode::CorruptFile, "layer '{}' is an AOT step without a kernel", step.name);
      if (!device) device = &backend(plan.device, gpu);
      impl->kernels.back() =
          device->load_kernel(*step.kernel, step.name, step.inputs.size(), step.outputs.size());
      continue;
    }
    auto def = Registry::global().find(step.plugin_id);
    if (!def && is_standard_operator(step.plugin_id)) {
      with_error_context({step.plugin_id, step.name, "load"}, [] { ensure_standard_operators(); });
      def = Registry::global().find(step.plugin_id);
    }
    if (!def)
      fail(ErrorCode::NotFound,
           "the engine's layer '{}' runs plugin {}, which is not defined in this process: link "
           "its definition into the program, or load the shared library that defines it "
           "(qdpexec --plugins LIB.so, qdp::load_plugin_library)",
           step.name, step.plugin_id);
    PluginImpl const* pi = def->impl(plan.device);
    if (!pi)
      fail(ErrorCode::NotFound,
           "layer '{}': plugin {} has no impl for the {} backend in this process", step.name,
           step.plugin_id, name(plan.device));
    // An engine stores a JIT step's attributes (names and types checked against the schema, and
    // those without a default required, when the file was read); absent ones take their
    // defaults. One the impl uses must be there: a file must not make the impl's binding read an
    // attribute that is absent.
    Attrs attrs = step.attrs;
    for (auto const& spec : def->attrs)
      if (!attrs.count(spec.name) && spec.default_value)
        attrs.emplace(spec.name, *spec.default_value);
    for (auto const& used : pi->attrs_used)
      if (!attrs.count(used))
        fail(ErrorCode::CorruptFile,
             "layer '{}' (plugin {}): the engine lacks attribute '{}', which the impl uses; "
             "rebuild the engine",
             step.name, step.plugin_id, used);
    // The bound impl keeps what it needs; the definition may leave the registry later.
    impl->bound.back() =
        with_error_context({step.plugin_id, step.name, "bind"}, [&] { return pi->bind(attrs); });
  }
  impl->plan = std::move(plan);
  return impl;
}

}  // namespace detail

Engine::Engine(std::shared_ptr<const detail::EngineImpl> impl) : impl_(std::move(impl)) {}

Device Engine::device() const {
  return impl_->plan.device;
}
std::vector<IOInfo> const& Engine::io() const {
  return impl_->plan.io;
}

IOInfo const& Engine::io(std::string_view name) const {
  for (auto const& io : impl_->plan.io)
    if (io.name == name) return io;
  std::string names;
  for (auto const& io : impl_->plan.io) names += (names.empty() ? "" : ", ") + io.name;
  fail("the engine has no input or output '{}' (it has: {})", name, names);
}

std::vector<LayerInfo> Engine::layers() const {
  std::vector<LayerInfo> out;
  auto const& plan = impl_->plan;
  for (auto const& step : plan.steps) {
    LayerInfo info;
    info.name = step.name;
    bool plugin = step.kind == detail::PlanStep::Kind::Plugin;
    info.kind = plugin                                        ? "plugin"
                : step.kind == detail::PlanStep::Kind::Values ? "values"
                                                              : "reformat";
    info.plugin_id = step.plugin_id;
    info.implementation = plugin ? (step.aot ? "aot" : "jit") : "builtin";
    for (auto const* list : {&step.inputs, &step.outputs})
      for (int t : *list) {
        if (t < 0) {  // a shape input: INT64 values on the host
          info.types.push_back(DataType::INT64);
          info.formats.push_back(TensorFormat::LINEAR);
          continue;
        }
        info.types.push_back(plan.tensors[static_cast<size_t>(t)].dtype);
        info.formats.push_back(plan.tensors[static_cast<size_t>(t)].format);
      }
    info.tactic = step.tactic;
    info.autotune_ms = step.autotune_ms;
    out.push_back(std::move(info));
  }
  return out;
}

size_t Engine::activation_bytes() const {
  return static_cast<size_t>(impl_->plan.arena_bytes);
}
double Engine::build_seconds() const {
  return impl_->plan.build_seconds;
}

std::unique_ptr<ExecutionContext> Engine::create_execution_context(int gpu) const {
  return std::make_unique<ExecutionContext>(*this, gpu);
}

}  // namespace qdp
