// The execution context (SPEC §2, layer 4): per-run state of an engine. Shapes and pointers are
// resolved once when bindings change, so an enqueue is a loop of impl calls.
#include <chrono>
#include <cstring>
#include <limits>
#include <qdp/device_buffer.hpp>
#include <qdp/execution_context.hpp>

#include "backends/backend.hpp"
#include "engine/engine_impl.hpp"
#include "plan/plan.hpp"

namespace qdp {
namespace detail {

class ContextState {
 public:
  ContextState(Engine engine, int gpu)
      : engine_(std::move(engine)),
        plan_(engine_.impl().plan),
        backend_(backend(plan_.device, plan_.device == Device::CUDA ? gpu : 0)) {
    size_t n_inputs = 0;
    for (auto const& io : plan_.io) n_inputs += io.is_input;
    input_shapes_.resize(n_inputs);
    shape_set_.assign(n_inputs, false);
    for (size_t i = 0; i < n_inputs; ++i) {
      auto const& io = plan_.io[i];
      bool dynamic = std::find(io.dims.begin(), io.dims.end(), -1) != io.dims.end();
      if (!dynamic) {
        input_shapes_[i] = Dims(std::span<const int64_t>(io.dims));
        shape_set_[i] = true;
      }
    }
    addresses_.assign(plan_.io.size(), nullptr);
    allocators_.assign(plan_.io.size(), nullptr);
    allocated_.assign(plan_.io.size(), nullptr);
    staging_.resize(plan_.io.size());
    sizes_.assign(plan_.sizes.size(), -1);
    if (plan_.arena_bytes > 0)
      arena_ = DeviceBuffer(plan_.device, static_cast<size_t>(plan_.arena_bytes), backend_.index());
    step_tensors_.resize(plan_.steps.size());
    faults_ = backend_.allocate_faults(plan_.steps.size());
    if (!plan_.sizes.empty()) size_staging_ = backend_.allocate_host_staging(sizeof(int64_t));
  }

  void check_faults() {
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      DeviceFault f = faults_[s];
      if (f.code == DeviceFault::None) continue;
      for (size_t k = 0; k < plan_.steps.size(); ++k) faults_[k] = DeviceFault{};
      auto const& step = plan_.steps[s];
      fail(ErrorCode::InvalidArgument,
           "layer '{}' (plugin {}): index {} is out of range (found by its kernel during the "
           "run; the elements it would have read were not read and are zeros)",
           step.name, step.plugin_id, f.value);
    }
  }

  Engine const& engine() const { return engine_; }

  int io_index(std::string_view name) const {
    for (size_t i = 0; i < plan_.io.size(); ++i)
      if (plan_.io[i].name == name) return static_cast<int>(i);
    engine_.io(name);  // throws with the list of names
    return -1;
  }

  void set_input_shape(std::string_view name, Dims shape) {
    int i = io_index(name);
    auto const& io = plan_.io[static_cast<size_t>(i)];
    if (!io.is_input)
      fail("set_input_shape: '{}' is an output; output shapes follow from the inputs", name);
    if (static_cast<size_t>(shape.rank()) != io.dims.size())
      fail("input '{}' has {} dimensions; shape {} has {}", name, io.dims.size(), to_string(shape),
           shape.rank());
    for (int d = 0; d < shape.rank(); ++d) {
      int64_t fixed = io.dims[static_cast<size_t>(d)];
      if (fixed >= 0 && shape[d] != fixed)
        fail("input '{}' dimension {} is static ({}); shape {} gives {}", name, d, fixed,
             to_string(shape), shape[d]);
      if (io.profile && (shape[d] < io.profile->min[d] || shape[d] > io.profile->max[d]))
        fail("input '{}' shape {} is outside its profile: dimension {} must be within [{}, {}]",
             name, to_string(shape), d, io.profile->min[d], io.profile->max[d]);
    }
    input_shapes_[static_cast<size_t>(i)] = shape;
    shape_set_[static_cast<size_t>(i)] = true;
    dirty_ = true;
  }

  void set_tensor_address(std::string_view name, void* data) {
    int i = io_index(name);
    if (!data) fail("set_tensor_address('{}'): the address is null", name);
    addresses_[static_cast<size_t>(i)] = data;
    allocators_[static_cast<size_t>(i)] = nullptr;  // an address replaces an allocator
    dirty_ = true;
  }

  void set_output_allocator(std::string_view name, OutputAllocator* allocator) {
    int i = io_index(name);
    if (plan_.io[static_cast<size_t>(i)].is_input)
      fail("set_output_allocator: '{}' is an input", name);
    if (!allocator) fail("set_output_allocator('{}'): the allocator is null", name);
    allocators_[static_cast<size_t>(i)] = allocator;
    allocated_[static_cast<size_t>(i)] = nullptr;
    // The run writes into memory of the engine's own, sized for the upper bound.
    auto& staging = staging_[static_cast<size_t>(i)];
    size_t bytes = std::max<size_t>(plan_.io[static_cast<size_t>(i)].max_bytes, 1);
    if (staging.size() < bytes) staging = DeviceBuffer(plan_.device, bytes, backend_.index());
    addresses_[static_cast<size_t>(i)] = staging.data();
    dirty_ = true;
  }

  Dims tensor_shape(std::string_view name) {
    int i = io_index(name);
    auto const& io = plan_.io[static_cast<size_t>(i)];
    if (io.is_input) {
      if (!shape_set_[static_cast<size_t>(i)]) fail("the shape of input '{}' is not set yet", name);
      return input_shapes_[static_cast<size_t>(i)];
    }
    return shape_of(plan_.tensors[static_cast<size_t>(plan_.io_tensor[static_cast<size_t>(i)])],
                    name);
  }

  void capture_graph(Stream stream) {
    for (auto const& step : plan_.steps)
      for (int t : step.outputs)
        if (plan_.tensors[static_cast<size_t>(t)].size_id >= 0)
          fail(
              "this engine cannot be captured into a CUDA graph: layer '{}' (plugin {}) has a "
              "data-dependent output "
              "shape, whose size is read back during the run; use enqueue()",
              step.name, step.plugin_id);
    if (dirty_) prepare();  // resolve shapes and bindings outside the capture
    graph_ = backend_.capture_graph([&](Stream s) { enqueue(s); }, stream);
    captured_at_ = changes_;
  }

  void launch_graph(Stream stream) {
    if (!graph_) fail("launch_graph: no graph was captured; call capture_graph first");
    if (dirty_ || captured_at_ != changes_)
      fail("launch_graph: bindings or shapes changed since capture_graph; capture again");
    backend_.launch_graph(graph_.get(), stream);
  }

  void enqueue(Stream stream) {
    auto current = backend_.make_current();  // impls launch on this context's GPU
    if (dirty_) prepare();
    std::fill(sizes_.begin(), sizes_.end(), -1);
    if (profiling_) {
      run_profiled(stream);
    } else {
      for (size_t s = 0; s < plan_.steps.size(); ++s) run_step(s, stream);
    }
    deliver_allocated_outputs(stream);
  }

  void set_logger(Logger* logger) { logger_ = logger; }

  void set_profiling(bool on) {
    profiling_ = on;
    layer_ms_.assign(plan_.steps.size(), 0.0);
    layer_host_ms_.assign(plan_.steps.size(), 0.0);
    profiled_runs_ = 0;
  }
  std::vector<double> const& layer_times_ms() const { return layer_ms_; }
  std::vector<double> const& layer_host_times_ms() const { return layer_host_ms_; }
  int64_t profiled_runs() const { return profiled_runs_; }

 private:
  struct StepTensors {
    std::vector<Tensor> inputs, outputs;
    bool data_dependent = false;
    std::vector<std::vector<int64_t>> values;  // per input: a shape input's host values
  };

  // Evaluates step s's shape inputs into their host buffers (the tensors point at them).
  void evaluate_values(PlanStep const& step, StepTensors& st) const {
    for (size_t k = 0; k < step.input_values.size(); ++k) {
      if (!step.input_values[k]) continue;
      auto& v = st.values[k];
      auto const& elements = step.input_values[k]->elements;
      for (size_t i = 0; i < elements.size(); ++i) v[i] = elements[i].eval(env());
    }
  }

  ShapeEnv env() const { return {input_shapes_, sizes_}; }

  Dims shape_of(PlanTensor const& t, std::string_view name) const {
    Dims d;
    try {
      for (auto const& e : t.shape) d.push_back(e.eval(env()));
    } catch (Error const& e) {
      fail("the shape of '{}' is not known yet: {}", name, e.what());
    }
    return d;
  }

  void* address_of(PlanTensor const& t) const {
    switch (t.storage) {
      case PlanTensor::Storage::Input:
      case PlanTensor::Storage::Output:
        return addresses_[static_cast<size_t>(t.binding)];
      case PlanTensor::Storage::Activation:
        return static_cast<std::byte*>(arena_.data()) + t.offset;
      case PlanTensor::Storage::Constant:
        return engine_.impl().constants[static_cast<size_t>(t.constant)].data();
    }
    return nullptr;
  }

  Tensor tensor_of(int id) const {
    PlanTensor const& pt = plan_.tensors[static_cast<size_t>(id)];
    Tensor t;
    t.data = address_of(pt);
    t.dtype = pt.dtype;
    t.format = pt.format;
    t.device = plan_.device;
    t.constant = pt.storage == PlanTensor::Storage::Constant;
    if (!pt.data_dependent) {
      t.shape = shape_of(pt, pt.name);
      t.strides = dense_strides(t.shape, t.format);
      if (static_cast<int64_t>(t.bytes()) > pt.capacity &&
          pt.storage == PlanTensor::Storage::Activation)
        fail(
            "tensor '{}' needs {} bytes at shape {}, more than the {} planned for the profile's "
            "max shapes",
            pt.name, t.bytes(), to_string(t.shape), pt.capacity);
    }
    return t;
  }

  // A tensor that lives in an output's buffer (a view of it, in place) fits what the caller sized
  // by that output's shape: at these shapes, data-dependent ones at their upper bounds. (Loading
  // checked the profile's max shapes.)
  void check_output_views() const {
    std::vector<int64_t> upper(plan_.sizes.size(), -1);
    bool bounds = false;
    for (size_t t = 0; t < plan_.tensors.size(); ++t) {
      PlanTensor const& pt = plan_.tensors[t];
      if (pt.storage != PlanTensor::Storage::Output) continue;
      auto binding = static_cast<size_t>(pt.binding);
      PlanTensor const& out = plan_.tensors[static_cast<size_t>(plan_.io_tensor[binding])];
      if (&out == &pt || out.data_dependent) continue;  // the latter: sized by max_bytes
      if (pt.data_dependent && !bounds) {
        for (size_t i = 0; i < upper.size(); ++i)
          upper[i] = plan_.sizes[i].upper_bound.eval({input_shapes_, upper});
        bounds = true;
      }
      ShapeEnv e{input_shapes_, upper};
      auto bytes = [&](PlanTensor const& x) {
        int64_t n = static_cast<int64_t>(element_size(x.dtype));
        for (auto const& d : x.shape)
          if (__builtin_mul_overflow(n, d.eval(e), &n)) return std::numeric_limits<int64_t>::max();
        return n;
      };
      int64_t need = bytes(pt), have = bytes(out);
      if (need > have)
        fail(ErrorCode::CorruptFile,
             "tensor '{}' lives in the buffer of output '{}' and takes {} bytes at these shapes, "
             "more than the {} of the output itself: the engine is inconsistent; rebuild it",
             pt.name, plan_.io[binding].name, need, have);
    }
  }

  // Resolves every static shape and address: done once per change of bindings or shapes.
  void prepare() {
    for (size_t i = 0; i < plan_.io.size(); ++i) {
      auto const& io = plan_.io[i];
      if (io.is_input && !shape_set_[i])
        fail("input '{}' has dynamic dimensions: call set_input_shape before enqueue", io.name);
      if (!addresses_[i])
        fail("{} '{}' is not bound: call set_tensor_address before enqueue",
             io.is_input ? "input" : "output", io.name);
    }
    check_output_views();
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      auto const& step = plan_.steps[s];
      StepTensors st;
      st.values.resize(step.input_values.size());
      for (size_t k = 0; k < step.inputs.size(); ++k) {
        int t = step.inputs[k];
        if (t < 0) {  // a shape input: INT64 values on the host, whatever the backend
          auto const& v = *step.input_values[k];
          st.values[k].assign(v.elements.size(), 0);
          for (auto const& e : v.elements) st.data_dependent |= uses_size_values(e);
          Tensor host;
          host.data = st.values[k].data();
          host.dtype = DataType::INT64;
          host.device = Device::CPU;
          host.shape = v.scalar ? Dims{} : Dims{static_cast<int64_t>(v.elements.size())};
          host.strides = dense_strides(host.shape, TensorFormat::LINEAR);
          st.inputs.push_back(host);
          continue;
        }
        st.inputs.push_back(tensor_of(t));
        st.data_dependent |= plan_.tensors[static_cast<size_t>(t)].data_dependent;
      }
      for (int t : step.outputs) {
        st.outputs.push_back(tensor_of(t));
        st.data_dependent |= plan_.tensors[static_cast<size_t>(t)].data_dependent;
      }
      // Values that use a size value are known only during the run (run_step evaluates them).
      if (!st.data_dependent) evaluate_values(step, st);
      step_tensors_[s] = std::move(st);
    }
    dirty_ = false;
    ++changes_;
  }

  // Shapes that use size values known by now. A step's own data-dependent outputs are not
  // known until it has run: it is handed them at their upper bound (what was allocated).
  void refresh_data_dependent(std::vector<int> const& ids, std::vector<Tensor>& tensors,
                              bool outputs) {
    std::vector<int64_t> sizes = sizes_;
    if (outputs)
      for (size_t i = 0; i < sizes.size(); ++i)
        if (sizes[i] < 0) sizes[i] = plan_.sizes[i].upper_bound.eval({input_shapes_, sizes});
    ShapeEnv e{input_shapes_, sizes};
    for (size_t k = 0; k < ids.size(); ++k) {
      PlanTensor const& pt = plan_.tensors[static_cast<size_t>(ids[k])];
      if (!pt.data_dependent) continue;
      Dims d;
      for (auto const& x : pt.shape) d.push_back(x.eval(e));
      tensors[k].shape = d;
      tensors[k].strides = dense_strides(d, pt.format);
    }
  }

  void run_step(size_t s, Stream stream) {
    auto const& step = plan_.steps[s];
    StepTensors& st = step_tensors_[s];
    if (st.data_dependent) {
      refresh_data_dependent(step.inputs, st.inputs, false);
      refresh_data_dependent(step.outputs, st.outputs, true);
      evaluate_values(step, st);
    }
    if (step.kind == PlanStep::Kind::Reformat) {
      backend_.reformat(st.inputs[0], st.outputs[0], stream);
      return;
    }
    if (step.kind == PlanStep::Kind::Values) {
      write_values(st.values[0], st.outputs[0], stream);
      return;
    }
    // An aliased output that could not share its input's memory gets a copy of the input first,
    // and the impl works in the output's memory. The input's own address comes back afterwards,
    // also when the impl throws. (No allocation unless a copy is needed.)
    std::vector<std::pair<size_t, void*>> redirected;
    struct RestoreInputs {
      std::vector<Tensor>& inputs;
      std::vector<std::pair<size_t, void*>>& redirected;
      ~RestoreInputs() {
        for (auto [input, address] : redirected) inputs[input].data = address;
      }
    } restore{st.inputs, redirected};
    for (size_t o = 0; o < step.aliases.size(); ++o) {
      int a = step.aliases[o];
      if (a < 0) continue;
      Tensor& in = st.inputs[static_cast<size_t>(a)];
      Tensor const& out = st.outputs[o];
      // An input larger than its view at these shapes (a Reshape of a dynamic input to a static
      // shape, run at another batch) is not copied: the impl sees both buffers as they are, each
      // with its own shape, and reports the mismatch itself.
      if (in.data != out.data && in.bytes() <= out.bytes()) {
        backend_.copy(out.data, in.data, in.bytes(), stream);
        redirected.emplace_back(static_cast<size_t>(a), in.data);
        in.data = out.data;
      }
    }
    if (logger_ && logger_->enabled(Severity::Verbose)) log_step(step, st);
    // A qdp::Error keeps its code; anything else a user impl throws is a runtime failure. Both
    // name the layer and the plugin (the context is built only when something was thrown).
    try {
      if (step.aot) {
        engine_.impl().kernels[s]->launch(st.inputs, st.outputs, env(), stream);
      } else {
        Workspace ws;
        ws.fault = &faults_[s];
        if (step.workspace_capacity > 0) {
          ws.data = static_cast<std::byte*>(arena_.data()) + step.workspace_offset;
          ws.bytes = workspace_bytes(step);
        }
        engine_.impl().bound[s](st.inputs, st.outputs, stream, Tactic{step.tactic}, ws);
      }
    } catch (...) {
      rethrow_with_context({step.plugin_id, step.name, ""});
    }
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      PlanTensor const& pt = plan_.tensors[static_cast<size_t>(step.outputs[o])];
      if (pt.size_id >= 0) read_size(step, pt, st.outputs[o], stream);
    }
  }

  // A shape value computed at build time, into a tensor a plugin reads as data.
  void write_values(std::vector<int64_t> const& values, Tensor const& out, Stream stream) {
    auto& bytes = value_bytes_;
    bytes.resize(values.size() * element_size(out.dtype));
    for (size_t i = 0; i < values.size(); ++i) {
      int64_t v = values[i];
      switch (out.dtype) {
        case DataType::INT64:
          std::memcpy(bytes.data() + 8 * i, &v, 8);
          break;
        case DataType::INT32: {
          auto w = static_cast<int32_t>(v);
          std::memcpy(bytes.data() + 4 * i, &w, 4);
          break;
        }
        case DataType::BOOL:
          bytes[i] = static_cast<std::byte>(v != 0);
          break;
        default:  // INT8, UINT8 (the engine file's check allows integer types only)
          bytes[i] = static_cast<std::byte>(v);
      }
    }
    backend_.write_from_host(out.data, bytes.data(), bytes.size(), stream);
  }

  // The bytes step's workspace takes at the current shapes: never more than was planned.
  size_t workspace_bytes(PlanStep const& step) const {
    int64_t bytes = step.workspace.eval(env());
    if (bytes < 0 || bytes > step.workspace_capacity)
      fail(
          "layer '{}' (plugin {}) asks for {} bytes of workspace at these shapes, outside the {} "
          "planned for the profile's max shapes",
          step.name, step.plugin_id, bytes, step.workspace_capacity);
    return static_cast<size_t>(bytes);
  }

  // A mark before the first step and after each: device events on the GPU, so the layers run
  // back to back as unprofiled; one synchronization at the end reads them.
  void run_profiled(Stream stream) {
    size_t const steps = plan_.steps.size();
    layer_ms_.resize(steps);
    layer_host_ms_.resize(steps);
    if (!marks_) marks_ = backend_.make_marks(steps + 1);
    marks_->record(0, stream);
    for (size_t s = 0; s < steps; ++s) {
      auto begin = std::chrono::steady_clock::now();
      run_step(s, stream);
      layer_host_ms_[s] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
              .count();
      marks_->record(s + 1, stream);
    }
    backend_.synchronize(stream);
    for (size_t s = 0; s < steps; ++s) layer_ms_[s] += marks_->elapsed_ms(s, s + 1);
    ++profiled_runs_;
  }

  // Hands outputs with an allocator to the caller's memory, now that their shapes are known.
  void deliver_allocated_outputs(Stream stream) {
    for (size_t i = 0; i < plan_.io.size(); ++i) {
      OutputAllocator* allocator = allocators_[i];
      if (!allocator) continue;
      auto const& io = plan_.io[i];
      PlanTensor const& pt = plan_.tensors[static_cast<size_t>(plan_.io_tensor[i])];
      Dims shape = shape_of(pt, io.name);
      size_t bytes = static_cast<size_t>(shape.numel()) * element_size(pt.dtype);
      void* target = allocator->reallocate(io.name, allocated_[i], bytes);
      if (!target && bytes > 0)
        fail("the output allocator returned no memory for '{}' ({} bytes)", io.name, bytes);
      allocated_[i] = target;
      if (bytes > 0) backend_.copy(target, staging_[i].data(), bytes, stream);
      allocator->notify_shape(io.name, shape);
    }
  }

  void read_size(PlanStep const& step, PlanTensor const& pt, Tensor const& t, Stream stream) {
    size_t const bytes = pt.dtype == DataType::INT32 ? sizeof(int32_t) : sizeof(int64_t);
    backend_.read_to_host(size_staging_.get(), t.data, bytes, stream);
    int64_t value = 0;
    if (pt.dtype == DataType::INT32) {
      int32_t v = 0;
      std::memcpy(&v, size_staging_.get(), sizeof v);
      value = v;
    } else {
      std::memcpy(&value, size_staging_.get(), sizeof value);
    }
    int64_t upper = plan_.sizes[static_cast<size_t>(pt.size_id)].upper_bound.eval(env());
    if (value < 0 || value > upper)
      fail(
          "layer '{}' (plugin {}) reported a data-dependent extent of {}, outside [0, {}] (its "
          "upper bound)",
          step.name, step.plugin_id, value, upper);
    sizes_[static_cast<size_t>(pt.size_id)] = value;
  }

  static std::string describe(std::vector<Tensor> const& ts) {
    std::string s;
    for (auto const& t : ts)
      s += fmt::format("{}{} {} {}", s.empty() ? "" : ", ", name(t.dtype), name(t.format),
                       to_string(t.shape));
    return "[" + s + "]";
  }
  void log_step(PlanStep const& step, StepTensors const& st) const {
    logger_->log(
        Severity::Verbose,
        fmt::format("Executing layer '{}' ({}) inputs {} outputs {} tactic {}", step.name,
                    step.plugin_id, describe(st.inputs), describe(st.outputs), step.tactic));
  }

  Engine engine_;
  EnginePlan const& plan_;
  Backend& backend_;
  std::vector<Dims> input_shapes_;
  std::vector<bool> shape_set_;
  std::vector<void*> addresses_;
  std::vector<OutputAllocator*> allocators_;  // per io: outputs delivered through an allocator
  std::vector<void*> allocated_;              // what each allocator returned last
  std::vector<DeviceBuffer> staging_;         // where those outputs are written during the run
  std::vector<int64_t> sizes_;
  DeviceBuffer arena_;
  std::shared_ptr<std::byte[]> size_staging_;  // host memory a size value is read back into
  std::shared_ptr<DeviceFault[]> faults_;      // per step, written by kernels (check_faults)
  std::vector<std::byte> value_bytes_;         // staging for write_values
  std::vector<StepTensors> step_tensors_;
  bool dirty_ = true;
  uint64_t changes_ = 0, captured_at_ = 0;  // prepare() count, and its value at capture
  Logger* logger_ = nullptr;
  std::shared_ptr<void> graph_;
  bool profiling_ = false;
  std::vector<double> layer_ms_;
  std::vector<double> layer_host_ms_;  // the host's time in each step's run_step
  int64_t profiled_runs_ = 0;
  std::unique_ptr<StreamMarks> marks_;  // made on the first profiled run
};

}  // namespace detail

ExecutionContext::ExecutionContext(Engine engine, int gpu)
    : state_(std::make_unique<detail::ContextState>(std::move(engine), gpu)) {}
ExecutionContext::~ExecutionContext() = default;
void ExecutionContext::set_input_shape(std::string_view name, Dims shape) {
  state_->set_input_shape(name, shape);
}
void ExecutionContext::set_tensor_address(std::string_view name, void* data) {
  state_->set_tensor_address(name, data);
}
void ExecutionContext::set_output_allocator(std::string_view name, OutputAllocator* allocator) {
  state_->set_output_allocator(name, allocator);
}
Dims ExecutionContext::tensor_shape(std::string_view name) const {
  return state_->tensor_shape(name);
}
void ExecutionContext::check_faults() {
  state_->check_faults();
}
void ExecutionContext::enqueue(Stream stream) {
  state_->enqueue(stream);
}
Engine const& ExecutionContext::engine() const {
  return state_->engine();
}
void ExecutionContext::set_logger(Logger* logger) {
  state_->set_logger(logger);
}
void ExecutionContext::set_profiling(bool on) {
  state_->set_profiling(on);
}
std::vector<double> const& ExecutionContext::layer_times_ms() const {
  return state_->layer_times_ms();
}
std::vector<double> const& ExecutionContext::layer_host_times_ms() const {
  return state_->layer_host_times_ms();
}
int64_t ExecutionContext::profiled_runs() const {
  return state_->profiled_runs();
}
void ExecutionContext::capture_graph(Stream stream) {
  state_->capture_graph(stream);
}
void ExecutionContext::launch_graph(Stream stream) {
  state_->launch_graph(stream);
}

}  // namespace qdp
