// The engine API for Python (SPEC §8 `qdp`): the network, the builder, engines, execution
// contexts, ONNX import, device buffers. Engine and context carry TensorRT's Python names; the
// rest is wrapped under those names in qdp/_engine.py.
#include <nanobind/ndarray.h>
#include <nanobind/stl/unique_ptr.h>

#include <map>
#include <qdp/builder.hpp>
#include <qdp/device_buffer.hpp>
#include <qdp/engine.hpp>
#include <qdp/execution_context.hpp>
#include <qdp/network.hpp>
#include <qdp/onnx.hpp>

#if defined(QDP_WITH_CUDA)
#include <cuda_runtime.h>
#endif

#include "common.hpp"

namespace qdp::py {

namespace {

// TensorRT's severities count from INTERNAL_ERROR = 0; qdp's from Error = 0.
int trt_severity(Severity s) {
  return static_cast<int>(s) + 1;
}

// A qdp::Logger that hands messages at or above the Python logger's min_severity to its
// log(severity, message) (qdp.Logger prints them; a subclass may do anything).
class PyLogger : public Logger {
 public:
  explicit PyLogger(nb::handle logger)
      : logger_(logger), min_(nb::cast<int>(nb::int_(logger.attr("min_severity")))) {}
  void log(Severity s, std::string_view message) override {
    int severity = trt_severity(s);
    if (severity > min_) return;
    nb::gil_scoped_acquire gil;
    try {
      logger_.get().attr("log")(severity, message);
    } catch (nb::python_error& e) {
      e.discard_as_unraisable("qdp: the logger's log()");
    }
  }

 private:
  PyRef logger_;
  int min_;
};

std::unique_ptr<PyLogger> make_logger(nb::handle logger) {
  return logger.is_none() ? nullptr : std::make_unique<PyLogger>(logger);
}

// The counterpart of TensorRT's IOutputAllocator: calls the Python object's
// reallocate_output(name, memory, size, alignment) -> address and notify_shape(name, shape).
class PyOutputAllocator : public OutputAllocator {
 public:
  explicit PyOutputAllocator(nb::handle allocator) : allocator_(allocator) {}
  void* reallocate(std::string_view name, void* current, size_t bytes) override {
    nb::gil_scoped_acquire gil;
    try {
      nb::object r = allocator_.get().attr("reallocate_output")(
          name, reinterpret_cast<uintptr_t>(current), bytes, 256);
      return reinterpret_cast<void*>(nb::cast<uintptr_t>(r));
    } catch (nb::python_error const& e) {
      throw error_from_python(e, "output allocator reallocate_output", {});
    }
  }
  void notify_shape(std::string_view name, Dims const& shape) override {
    nb::gil_scoped_acquire gil;
    try {
      allocator_.get().attr("notify_shape")(name, std::vector<int64_t>(shape.begin(), shape.end()));
    } catch (nb::python_error const& e) {
      throw error_from_python(e, "output allocator notify_shape", {});
    }
  }
  nb::handle object() const { return allocator_.get(); }

 private:
  PyRef allocator_;
};

nb::tuple dims_tuple(std::span<const int64_t> d) {
  nb::list l;
  for (int64_t x : d) l.append(x);
  return nb::tuple(l);
}

Dims to_dims(std::vector<int64_t> const& v) {
  if (v.size() > static_cast<size_t>(kMaxRank))
    fail("a shape has at most {} dimensions; {} given", kMaxRank, v.size());
  return Dims(std::span<const int64_t>(v));
}

enum class TensorIOMode { NONE, INPUT, OUTPUT };

struct PyContext {
  std::unique_ptr<ExecutionContext> context;
  std::unique_ptr<PyLogger> logger;
  std::map<std::string, std::unique_ptr<PyOutputAllocator>, std::less<>> allocators;
};

std::vector<std::byte> buffer_bytes(nb::bytes b) {
  auto const* p = reinterpret_cast<std::byte const*>(b.c_str());
  return std::vector<std::byte>(p, p + b.size());
}

}  // namespace

void bind_engine(nb::module_& m) {
  nb::enum_<Device>(m, "Device").value("CPU", Device::CPU).value("CUDA", Device::CUDA);
  nb::enum_<ImplChoice>(m, "ImplChoice")
      .value("DEFAULT", ImplChoice::Default)
      .value("JIT", ImplChoice::JIT)
      .value("AOT", ImplChoice::AOT);
  nb::enum_<ImplPreference>(m, "ImplPreference")
      .value("NONE", ImplPreference::None)
      .value("PREFER_JIT", ImplPreference::PreferJIT)
      .value("PREFER_AOT", ImplPreference::PreferAOT);
  nb::enum_<TensorIOMode>(m, "TensorIOMode")
      .value("NONE", TensorIOMode::NONE)
      .value("INPUT", TensorIOMode::INPUT)
      .value("OUTPUT", TensorIOMode::OUTPUT);

  m.def("cuda_available", &cuda_available);
  m.def("default_device", &default_device);
  m.def(
      "synchronize",
      [](uintptr_t stream) {
#if defined(QDP_WITH_CUDA)
        if (cuda_available() &&
            cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)) != cudaSuccess)
          fail(ErrorCode::RuntimeFailure, "cudaStreamSynchronize: {}",
               cudaGetErrorString(cudaGetLastError()));
#else
        (void)stream;  // the CPU backend runs synchronously
#endif
      },
      "stream"_a = 0,
      "Waits for the work enqueued on a CUDA stream (nothing to wait for on the CPU)");

  nb::class_<TensorRef>(m, "TensorRef").def_ro("id", &TensorRef::id);

  nb::class_<Network>(m, "Network",
                      "A network of plugin layers (the core's; see qdp.INetworkDefinition)")
      .def(nb::init<>())
      .def("copy", [](Network const& n) { return Network(n); })
      .def(
          "add_input",
          [](Network& n, std::string name, DataType dtype, std::vector<int64_t> dims) {
            return n.add_input(std::move(name), dtype, std::move(dims));
          },
          "name"_a, "dtype"_a, "shape"_a)
      .def(
          "set_profile",
          [](Network& n, std::string_view input, std::vector<int64_t> const& min,
             std::vector<int64_t> const& opt, std::vector<int64_t> const& max) {
            n.set_profile(input, to_dims(min), to_dims(opt), to_dims(max));
          },
          "input"_a, "min"_a, "opt"_a, "max"_a)
      .def(
          "add_plugin",
          [](Network& n, std::string_view plugin_id, std::vector<TensorRef> inputs,
             Attrs const& attrs, std::string name, ImplChoice impl) {
            return n.add_plugin(plugin_id, std::move(inputs), attrs, {std::move(name), impl});
          },
          "plugin_id"_a, "inputs"_a, "attrs"_a, "name"_a = "", "impl"_a = ImplChoice::Default)
      .def("mark_output", &Network::mark_output, "tensor"_a, "name"_a)
      .def_prop_ro("inputs",
                   [](Network const& n) {
                     nb::list l;
                     for (auto const& in : n.inputs())
                       l.append(nb::make_tuple(in.name, in.dtype, dims_tuple(in.dims),
                                               TensorRef{in.tensor}));
                     return l;
                   })
      .def_prop_ro("outputs",
                   [](Network const& n) {
                     nb::list l;
                     for (auto const& out : n.outputs())
                       l.append(nb::make_tuple(out.name, TensorRef{out.tensor}));
                     return l;
                   })
      .def_prop_ro("layers", [](Network const& n) {
        nb::list l;
        for (auto const& layer : n.layers())
          l.append(nb::make_tuple(layer.name, layer.plugin_id, layer.inputs, layer.outputs));
        return l;
      });

  m.def("import_onnx", &import_onnx, "path"_a);
  m.def(
      "import_onnx_bytes",
      [](nb::bytes model, std::string_view origin) {
        return import_onnx_bytes(buffer_bytes(model), origin);
      },
      "model"_a, "origin"_a = "<memory>");

  nb::class_<BuildConfig>(m, "BuildConfig")
      .def(nb::init<>())
      .def_rw("device", &BuildConfig::device)
      .def_rw("strict_types", &BuildConfig::strict_types)
      .def_rw("fp16", &BuildConfig::fp16)
      .def_rw("bf16", &BuildConfig::bf16)
      .def_rw("preference", &BuildConfig::preference)
      .def_rw("warmup_runs", &BuildConfig::warmup_runs)
      .def_rw("timed_runs", &BuildConfig::timed_runs);

  nb::class_<TimingCache>(m, "TimingCache")
      .def(nb::init<>())
      .def_static(
          "deserialize",
          [](nb::bytes data, std::string_view origin) {
            return TimingCache::deserialize(buffer_bytes(data), origin);
          },
          "data"_a, "origin"_a = "<memory>")
      .def("serialize",
           [](TimingCache const& c) {
             std::vector<std::byte> bytes = c.serialize();
             return nb::bytes(reinterpret_cast<char const*>(bytes.data()), bytes.size());
           })
      .def_static("load", &TimingCache::load, "path"_a)
      .def("save", &TimingCache::save, "path"_a)
      .def_prop_ro("size", &TimingCache::size)
      .def_prop_ro("device", &TimingCache::device)
      .def_prop_ro("version", &TimingCache::version)
      .def("combine", &TimingCache::combine, "other"_a)
      .def("clear", &TimingCache::clear);

  m.def(
      "build_engine",
      [](Network const& network, BuildConfig config, nb::handle logger, TimingCache* cache) {
        auto log = make_logger(logger);
        config.logger = log.get();
        config.timing_cache = cache;
        return build_engine(network, config);
      },
      "network"_a, "config"_a, "logger"_a = nb::none(), "timing_cache"_a.none() = nb::none());

  nb::class_<Engine>(m, "ICudaEngine",
                     "A built engine (the name is TensorRT's; it runs on the CPU too)")
      .def_prop_ro("device", [](Engine const& e) { return std::string(name(e.device())); })
      .def_prop_ro("num_io_tensors", [](Engine const& e) { return e.io().size(); })
      .def(
          "get_tensor_name",
          [](Engine const& e, int64_t i) {
            if (i < 0 || i >= static_cast<int64_t>(e.io().size()))
              throw nb::index_error(
                  fmt::format("I/O tensor index {} out of range (the engine has {})", i,
                              e.io().size())
                      .c_str());
            return e.io()[static_cast<size_t>(i)].name;
          },
          "index"_a)
      .def(
          "get_tensor_mode",
          [](Engine const& e, std::string_view name) {
            for (auto const& io : e.io())
              if (io.name == name) return io.is_input ? TensorIOMode::INPUT : TensorIOMode::OUTPUT;
            return TensorIOMode::NONE;
          },
          "name"_a)
      .def(
          "get_tensor_shape",
          [](Engine const& e, std::string_view n) { return dims_tuple(e.io(n).dims); }, "name"_a,
          "The shape, -1 where dynamic or data-dependent")
      .def(
          "get_tensor_dtype", [](Engine const& e, std::string_view n) { return e.io(n).dtype; },
          "name"_a)
      .def(
          "get_tensor_format", [](Engine const& e, std::string_view n) { return e.io(n).format; },
          "name"_a)
      .def(
          "get_tensor_profile_shape",
          [](Engine const& e, std::string_view n, int profile_index) {
            IOInfo const& io = e.io(n);
            if (profile_index != 0) fail("qdp engines have one optimization profile (index 0)");
            if (!io.profile) {
              nb::tuple d = dims_tuple(io.dims);
              return nb::make_tuple(d, d, d);
            }
            return nb::make_tuple(dims_tuple(io.profile->min.span()),
                                  dims_tuple(io.profile->opt.span()),
                                  dims_tuple(io.profile->max.span()));
          },
          "name"_a, "profile_index"_a = 0)
      .def(
          "get_tensor_max_bytes",
          [](Engine const& e, std::string_view n) { return e.io(n).max_bytes; }, "name"_a,
          "The most bytes the tensor takes (profile max, size tensors at their upper bound)")
      .def_prop_ro("num_layers", [](Engine const& e) { return e.layers().size(); })
      .def_prop_ro("layers",
                   [](Engine const& e) {
                     nb::list l;
                     for (auto const& info : e.layers()) {
                       nb::dict d;
                       d["name"] = info.name;
                       d["kind"] = info.kind;
                       d["plugin_id"] = info.plugin_id;
                       d["implementation"] = info.implementation;
                       d["types"] = info.types;
                       d["formats"] = info.formats;
                       d["tactic"] = info.tactic;
                       l.append(d);
                     }
                     return l;
                   })
      .def_prop_ro("build_seconds", &Engine::build_seconds)
      .def("serialize",
           [](Engine const& e) {
             auto bytes = e.serialize();
             return nb::bytes(reinterpret_cast<char const*>(bytes.data()), bytes.size());
           })
      .def_static(
          "deserialize",
          [](nb::bytes data, std::string_view origin) {
            return Engine::deserialize(buffer_bytes(data), origin);
          },
          "data"_a, "origin"_a = "<memory>")
      .def("save", &Engine::save, "path"_a,
           "Writes the engine file atomically (temporary name, then rename)")
      .def_static("load", &Engine::load, "path"_a, "gpu"_a = 0)
      .def(
          "create_execution_context",
          [](Engine const& e, nb::handle logger) {
            auto ctx = std::make_unique<PyContext>();
            ctx->context = e.create_execution_context();
            ctx->logger = make_logger(logger);
            if (ctx->logger) ctx->context->set_logger(ctx->logger.get());
            return ctx;
          },
          "logger"_a = nb::none());

  nb::class_<PyContext>(m, "IExecutionContext", "Runs an engine: bind tensors, set shapes, enqueue")
      .def_prop_ro("engine", [](PyContext const& c) { return c.context->engine(); })
      .def(
          "set_input_shape",
          [](PyContext& c, std::string_view name, std::vector<int64_t> const& shape) {
            c.context->set_input_shape(name, to_dims(shape));
            return true;
          },
          "name"_a, "shape"_a)
      .def(
          "set_tensor_address",
          [](PyContext& c, std::string_view name, uintptr_t address) {
            c.context->set_tensor_address(name, reinterpret_cast<void*>(address));
            return true;
          },
          "name"_a, "memory"_a)
      .def(
          "get_tensor_shape",
          [](PyContext const& c, std::string_view name) {
            Dims d = c.context->tensor_shape(name);
            return dims_tuple(d.span());
          },
          "name"_a)
      .def(
          "set_output_allocator",
          [](PyContext& c, std::string_view name, nb::handle allocator) {
            auto a = std::make_unique<PyOutputAllocator>(allocator);
            c.context->set_output_allocator(name, a.get());
            c.allocators.insert_or_assign(std::string(name), std::move(a));
            return true;
          },
          "name"_a, "output_allocator"_a)
      .def(
          "get_output_allocator",
          [](PyContext const& c, std::string_view name) -> nb::object {
            auto it = c.allocators.find(name);
            return it == c.allocators.end() ? nb::none() : nb::borrow(it->second->object());
          },
          "name"_a)
      .def(
          "execute_async_v3",
          [](PyContext& c, uintptr_t stream_handle) {
            c.context->enqueue(Stream{reinterpret_cast<void*>(stream_handle)});
            return true;
          },
          "stream_handle"_a = 0)
      .def(
          "check_faults", [](PyContext& c) { c.context->check_faults(); },
          "After a synchronized run: raises the first fault a kernel recorded (a Gather index "
          "out of range on the GPU)")
      .def(
          "set_profiling", [](PyContext& c, bool on) { c.context->set_profiling(on); }, "on"_a)
      .def_prop_ro("layer_times_ms", [](PyContext const& c) { return c.context->layer_times_ms(); })
      .def_prop_ro("layer_host_times_ms",
                   [](PyContext const& c) { return c.context->layer_host_times_ms(); });

  using HostIn = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;
  using HostOut = nb::ndarray<nb::c_contig, nb::device::cpu>;
  nb::class_<DeviceBuffer>(m, "DeviceBuffer", "Memory on a device (host memory for the CPU)")
      .def(nb::init<Device, size_t>(), "device"_a, "nbytes"_a)
      .def_prop_ro("ptr",
                   [](DeviceBuffer const& b) { return reinterpret_cast<uintptr_t>(b.data()); })
      .def_prop_ro("nbytes", &DeviceBuffer::size)
      .def_prop_ro("device", &DeviceBuffer::device)
      .def(
          "copy_from_host",
          [](DeviceBuffer& b, HostIn const& src) { b.copy_from_host(src.data(), src.nbytes()); },
          "array"_a, "Copies a contiguous host array into the start of the buffer (synchronous)")
      .def(
          "copy_to_host",
          [](DeviceBuffer const& b, HostOut& dst) { b.copy_to_host(dst.data(), dst.nbytes()); },
          "array"_a, "Fills a contiguous host array from the start of the buffer (synchronous)");
}

}  // namespace qdp::py
