#pragma once
// The core, type-erased plugin definition (SPEC §2, layer 1). The C++ front end
// (qdp/plugin.hpp) builds these from typed callables; the network, builder and runtime read
// only this.
#include <array>
#include <functional>
#include <map>
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
using BoundImpl = std::function<void(std::span<const Tensor> inputs, std::span<Tensor> outputs,
                                     Stream stream, Tactic tactic)>;
using ImplFactory = std::function<BoundImpl(Attrs const& attrs)>;
using AutotuneFn = std::function<std::vector<AutoTuneCombination>(
    std::span<const TensorDesc> inputs, Attrs const& attrs, std::span<const TensorDesc> outputs)>;
using AotImplFn = std::function<AotKernel(std::span<const TensorDesc> inputs, Attrs const& attrs,
                                          std::span<const TensorDesc> outputs, Tactic tactic)>;

struct PluginImpl {
  ImplFactory bind;
  std::vector<std::string> attrs_used;  // only these are stored in an engine
};

struct PluginDefinition {
  std::string id;  // "namespace::name"
  int num_inputs = 0;
  int num_outputs = 0;
  std::vector<AttrSpec> attrs;
  DescFn desc;
  std::map<Device, PluginImpl> impls;  // the JIT implementations, per backend
  AotImplFn aot_impl;                  // optional
  AutotuneFn autotune;                 // optional

  PluginImpl const* impl(Device d) const {
    auto it = impls.find(d);
    return it == impls.end() ? nullptr : &it->second;
  }
};

}  // namespace qdp
