#pragma once
// The core, type-erased plugin definition (SPEC §2, layer 1). The C++ front end
// (qdp/plugin.hpp) builds these from typed callables; the network, builder and runtime read
// only this.
#include <array>
#include <functional>
#include <map>
#include <qdp/api.hpp>
#include <qdp/attributes.hpp>
#include <qdp/autotune.hpp>
#include <qdp/shape_expr.hpp>
#include <qdp/tensor.hpp>
#include <qdp/tensor_desc.hpp>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace qdp {

// The stream an impl runs on: a cudaStream_t on the CUDA backend, null on the CPU. It
// converts to any pointer type so `kernel<<<g, b, 0, stream>>>` reads naturally.
struct Stream {
  void* handle = nullptr;
  template <class P>
  requires std::is_pointer_v<P>
  operator P() const {  // NOLINT: implicit by design
    return static_cast<P>(handle);
  }
};

// What a kernel records when it meets data it cannot throw about (a Gather index out of range):
// it skips the bad element and records the first fault here; the run's context raises it as an
// error, naming the layer, once the run is synchronized (ExecutionContext::check_faults).
struct DeviceFault {
  enum Code : uint32_t { None = 0, IndexOutOfRange = 1 };
  uint32_t code = None;
  uint32_t reserved = 0;
  int64_t value = 0;  // the offending index
};

// Scratch memory an impl asked for (PluginDefinition::workspace): a slice of the execution
// context's arena, valid for the call only, not zeroed. Empty when the impl asked for none.
// `fault`: where the step's kernels record a DeviceFault (host memory the GPU writes into);
// null outside an execution context.
struct Workspace {
  void* data = nullptr;
  size_t bytes = 0;
  DeviceFault* fault = nullptr;
  template <class T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

// The tactic the autotuner chose (0: no custom tactic).
struct Tactic {
  int32_t value = 0;
  operator int32_t() const { return value; }  // NOLINT
};

// What an AOT implementation returns: a kernel and how to launch it (SPEC §1 "AOT kernels").
struct AotKernel {
  enum class CodeKind : uint8_t { CUDA_SOURCE, PTX, CUBIN };
  std::string name;
  CodeKind kind = CodeKind::CUDA_SOURCE;
  std::string code;
  std::array<ShapeExpr, 3> grid{1, 1, 1};
  std::array<ShapeExpr, 3> block{1, 1, 1};
  ShapeExpr shared_memory{0};
  std::vector<ShapeExpr> extra_args;  // 32-bit integer scalars after the input pointers
};

using DescFn =
    std::function<std::vector<TensorDesc>(std::span<const TensorDesc> inputs, Attrs const& attrs)>;
// An impl with its attributes already decoded: what runs at every enqueue.
class BoundImpl {
 public:
  using Fn = std::function<void(std::span<const Tensor> inputs, std::span<Tensor> outputs,
                                Stream stream, Tactic tactic, Workspace workspace)>;
  BoundImpl() = default;
  // From a callable of (inputs, outputs, stream, tactic, workspace), or of the first four when
  // the impl takes no workspace.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, BoundImpl>)
      BoundImpl(F f) {  // NOLINT: implicit, so that impls are written as plain lambdas
    if constexpr (std::is_invocable_v<F&, std::span<const Tensor>, std::span<Tensor>, Stream,
                                      Tactic, Workspace>)
      fn_ = std::move(f);
    else
      fn_ = [f = std::move(f)](std::span<const Tensor> in, std::span<Tensor> out, Stream s,
                               Tactic t, Workspace) mutable { f(in, out, s, t); };
  }
  void operator()(std::span<const Tensor> inputs, std::span<Tensor> outputs, Stream stream = {},
                  Tactic tactic = {}, Workspace workspace = {}) const {
    fn_(inputs, outputs, stream, tactic, workspace);
  }
  explicit operator bool() const { return static_cast<bool>(fn_); }

 private:
  Fn fn_;
};
using ImplFactory = std::function<BoundImpl(Attrs const& attrs)>;
using AutotuneFn = std::function<std::vector<AutoTuneCombination>(
    std::span<const TensorDesc> inputs, Attrs const& attrs, std::span<const TensorDesc> outputs)>;
using AotImplFn = std::function<AotKernel(std::span<const TensorDesc> inputs, Attrs const& attrs,
                                          std::span<const TensorDesc> outputs, Tactic tactic)>;

// Bytes of scratch memory a plugin's impl needs for these descs and tactic (per backend's impl
// alike); a shape expression, so that it follows the run-time shapes.
using WorkspaceFn = std::function<ShapeExpr(std::span<const TensorDesc> inputs, Attrs const& attrs,
                                            std::span<const TensorDesc> outputs, Tactic tactic)>;
// Why an impl cannot take these element types (inputs, then outputs); empty when it can.
using TypeCheckFn = std::function<std::string(std::span<const DataType> types)>;

struct PluginImpl {
  ImplFactory bind;
  std::vector<std::string> attrs_used;  // only these are stored in an engine
  TypeCheckFn check_types;              // optional: null takes any types
};

struct PluginDefinition {
  std::string id;      // "namespace::name"
  int num_inputs = 0;  // with `variadic`: the least number of inputs
  int num_outputs = 0;
  bool variadic = false;  // the last input repeats (Concat, Sum): a layer takes num_inputs or more
  // Inputs read as values, not data (a Reshape's shape, a Slice's starts): each must be known at
  // build time as shape expressions (TensorDesc::value); the impl receives them as INT64 host
  // tensors, evaluated for the run's shapes, whatever the backend.
  std::vector<int> shape_inputs;
  std::vector<AttrSpec> attrs;
  DescFn desc;
  std::map<Device, PluginImpl> impls;  // the JIT implementations, per backend
  AotImplFn aot_impl;                  // optional
  AutotuneFn autotune;                 // optional
  WorkspaceFn workspace;               // optional: no scratch memory

  PluginImpl const* impl(Device d) const {
    auto it = impls.find(d);
    return it == impls.end() ? nullptr : &it->second;
  }
};

}  // namespace qdp
