#pragma once
// Network: the graph a user builds through this API (or that ONNX import builds): inputs with
// types and (possibly dynamic) dimensions, plugin layers with attributes, named outputs.
// Mistakes are reported as they are made, naming the layer and plugin.
#include <cstring>
#include <memory>
#include <optional>
#include <qdp/api.hpp>
#include <qdp/attributes.hpp>
#include <qdp/data_type.hpp>
#include <qdp/dims.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

// A tensor of a network: an input or a layer's output.
struct QDP_API TensorRef {
  int id = -1;
};

// The range of shapes a dynamic input takes; the builder autotunes at `opt`.
struct QDP_API Profile {
  Dims min, opt, max;
};

// Which implementation a plugin layer runs: the one it has (Default), or JIT / AOT explicitly.
enum class ImplChoice : uint8_t { Default, JIT, AOT };

struct QDP_API LayerOptions {
  std::string name;  // empty: "<plugin name>_<index>"
  ImplChoice impl = ImplChoice::Default;
};

class QDP_API Network {
 public:
  struct Input {
    std::string name;
    DataType dtype;
    std::vector<int64_t> dims;  // -1: dynamic, needs a profile
    std::optional<Profile> profile;
    int tensor;
  };
  struct Layer {
    std::string name;
    std::string plugin_id;
    std::vector<int> inputs, outputs;  // tensor ids
    Attrs attrs;                       // resolved: every attribute, of its declared type
    ImplChoice impl;
  };
  struct Output {
    std::string name;
    int tensor;
    // What the model says the output is (ONNX's declared type), checked by the builder:
    // the type, and the dimensions (-1: any).
    std::optional<DataType> declared_dtype;
    std::optional<std::vector<int64_t>> declared_dims;
  };
  // A tensor whose elements are known when the network is built (weights, ONNX initializers):
  // stored once in the engine, converted to the type its reader takes at build time, uploaded
  // once per engine. Integer constants of rank <= 1 are also shape values (TensorDesc::value).
  struct Constant {
    std::string name;
    DataType dtype;
    std::vector<int64_t> dims;
    std::shared_ptr<const std::vector<std::byte>> data;  // dense, row-major, little-endian
    int tensor;
  };

  TensorRef add_input(std::string name, DataType dtype, std::vector<int64_t> dims);
  // Shapes for an input with dynamic dimensions: min <= opt <= max, static dims equal.
  void set_profile(std::string_view input, Dims min, Dims opt, Dims max);
  // A constant tensor of `dims` (all static) holding `data` (numel * element size bytes).
  TensorRef add_constant(std::string name, DataType dtype, std::vector<int64_t> dims,
                         std::vector<std::byte> data);
  template <Element T>
  TensorRef add_constant(std::string name, std::vector<int64_t> dims, std::span<const T> values) {
    std::vector<std::byte> bytes(values.size_bytes());
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return add_constant(std::move(name), dtype_v<T>, std::move(dims), std::move(bytes));
  }
  // Adds a layer running plugin `plugin_id` (which must be defined in this process).
  std::vector<TensorRef> add_plugin(std::string_view plugin_id, std::vector<TensorRef> inputs,
                                    Attrs attrs = {}, LayerOptions options = {});
  void mark_output(TensorRef tensor, std::string name);
  // The type and dimensions (-1: any) output `name` must have; building fails naming the output
  // when the network computes something else.
  void declare_output(std::string_view name, std::optional<DataType> dtype,
                      std::optional<std::vector<int64_t>> dims);

  std::vector<Input> const& inputs() const { return inputs_; }
  std::vector<Layer> const& layers() const { return layers_; }
  std::vector<Output> const& outputs() const { return outputs_; }
  std::vector<Constant> const& constants() const { return constants_; }
  // The constant behind `tensor`, or null when it is not a constant.
  Constant const* constant(TensorRef tensor) const;
  int num_tensors() const { return num_tensors_; }

 private:
  void check_new_name(std::string const& name, std::string_view what) const;
  void check_tensor(TensorRef t, std::string_view where) const;

  std::vector<Input> inputs_;
  std::vector<Layer> layers_;
  std::vector<Output> outputs_;
  std::vector<Constant> constants_;
  int num_tensors_ = 0;
};

}  // namespace qdp
