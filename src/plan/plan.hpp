#pragma once
// The engine's plan: plain data that the builder produces, engine files store, and the
// runtime executes. It sits below the builder, the engine and the backends (which compile and
// load its kernels); engine/engine_impl.hpp adds what is resolved in a process.
#include <array>
#include <memory>
#include <optional>
#include <qdp/engine.hpp>
#include <qdp/plugin_definition.hpp>
#include <qdp/shape_expr.hpp>
#include <string>
#include <vector>

namespace qdp::detail {

// Arena slices (activations, workspaces) start at multiples of this many bytes: the memory
// planner places them so, and the engine loader refuses other offsets (a misaligned one would
// make every typed access of its tensor undefined).
inline constexpr int64_t kArenaAlignment = 256;

struct PlanTensor {
  enum class Storage : uint8_t { Input, Output, Activation, Constant };
  std::string name;
  DataType dtype = DataType::FP32;
  TensorFormat format = TensorFormat::LINEAR;
  std::vector<ShapeExpr> shape;
  Storage storage = Storage::Activation;
  int binding = -1;    // Input / Output: index into EnginePlan::io
  int64_t offset = 0;  // Activation: byte offset in the arena
  int64_t capacity =
      0;  // bytes reserved (at the profile's max shapes, size tensors at their upper bound)
  int size_id = -1;             // a size tensor: the id of its value
  bool data_dependent = false;  // the shape uses a size value
  int constant = -1;            // Constant: its bytes, EnginePlan::constants[constant]
  // Constant: the network's type where the builder converted it (to dtype) for its reader; the
  // type the layers' descs saw, which loading re-derives with.
  std::optional<DataType> converted_from;
};

// Values known as shape expressions: what a step's shape input receives (evaluated on the host
// for the run's shapes), or what a Values step writes into its output.
struct PlanValue {
  std::vector<ShapeExpr> elements;
  bool scalar = false;  // rank 0 (one element), else rank 1
};

// An AOT step's kernel: compiled code and how to launch it, evaluated at run time.
struct PlanKernel {
  std::string name;   // the kernel's (unmangled, extern "C") name
  std::string ptx;    // PTX text, for GPUs newer than the cubin's
  std::string cubin;  // machine code for `arch`
  int arch = 0;       // e.g. 90 for sm_90
  std::array<ShapeExpr, 3> grid{1, 1, 1};
  std::array<ShapeExpr, 3> block{1, 1, 1};
  ShapeExpr shared_memory{0};
  std::vector<ShapeExpr> extra_args;  // int32 scalars between input and output pointers
};

struct PlanStep {
  // Values: writes input_values[0], evaluated, into output 0 (a shape computed at build time that
  // a plugin reads as data, or that is a network output).
  enum class Kind : uint8_t { Plugin, Reformat, Values };
  Kind kind = Kind::Plugin;
  std::string name;
  std::string plugin_id;
  bool aot = false;
  Attrs attrs;                       // JIT: all the layer's (loading runs desc again); AOT: none
  std::vector<int> inputs, outputs;  // plan tensor ids
  std::vector<int> aliases;          // per output: the input it aliases, or -1
  int32_t tactic = 0;
  double autotune_ms = 0;
  std::optional<PlanKernel> kernel;  // AOT steps only
  // Scratch memory the impl asked for (bytes, evaluated at run time); a slice of the arena
  // that lives for this step only.
  ShapeExpr workspace{0};
  int64_t workspace_offset = 0;    // in the arena
  int64_t workspace_capacity = 0;  // bytes reserved, at the profile's max shapes
  // Per input (empty: none): the values of a shape input (PluginDefinition::shape_inputs), whose
  // tensor id in `inputs` is then -1.
  std::vector<std::optional<PlanValue>> input_values;
};

struct SizeValue {
  int tensor;  // the size tensor's plan tensor id
  ShapeExpr upper_bound;
};

struct EnginePlan {
  Device device = Device::CPU;
  std::vector<IOInfo> io;      // inputs first, then outputs
  std::vector<int> io_tensor;  // per io entry: its plan tensor
  std::vector<PlanTensor> tensors;
  std::vector<PlanStep> steps;
  std::vector<SizeValue> sizes;  // by size id
  // Constant tensors' bytes (weights), stored once in the engine and uploaded once per engine.
  std::vector<std::shared_ptr<const std::vector<std::byte>>> constants;
  int64_t arena_bytes = 0;
  double build_seconds = 0;
};

}  // namespace qdp::detail
