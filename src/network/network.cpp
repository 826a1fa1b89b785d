#include <fmt/ranges.h>

#include <algorithm>
#include <qdp/network.hpp>
#include <qdp/registry.hpp>

namespace qdp {

void Network::check_new_name(std::string const& name, std::string_view what) const {
  if (name.empty()) fail("a network {} needs a name", what);
  auto taken = [&](auto const& list) {
    return std::any_of(list.begin(), list.end(), [&](auto const& e) { return e.name == name; });
  };
  if (taken(inputs_) || taken(outputs_))
    fail("network {} '{}': the name is already used by another input or output", what, name);
}

void Network::check_tensor(TensorRef t, std::string_view where) const {
  if (t.id < 0 || t.id >= num_tensors_)
    fail("{}: tensor #{} does not belong to this network", where, t.id);
}

TensorRef Network::add_input(std::string name, DataType dtype, std::vector<int64_t> dims) {
  check_new_name(name, "input");
  if (static_cast<int>(dims.size()) > kMaxRank)
    fail("network input '{}' has {} dimensions; qdp supports up to {}", name, dims.size(),
         kMaxRank);
  for (int64_t d : dims)
    if (d < -1)
      fail("network input '{}': dimension {} is invalid (use -1 for a dynamic dimension)", name, d);
  inputs_.push_back({std::move(name), dtype, std::move(dims), std::nullopt, num_tensors_});
  return {num_tensors_++};
}

TensorRef Network::add_constant(std::string name, DataType dtype, std::vector<int64_t> dims,
                                std::vector<std::byte> data) {
  if (static_cast<int>(dims.size()) > kMaxRank)
    fail("constant '{}' has {} dimensions; qdp supports up to {}", name, dims.size(), kMaxRank);
  int64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0)
      fail("constant '{}': dimension {} is invalid (a constant's shape is static)", name, d);
    if (__builtin_mul_overflow(numel, d, &numel))
      fail("constant '{}': its element count overflows", name);
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), element_size(dtype), &bytes) ||
      bytes != data.size())
    fail("constant '{}' of {} and shape [{}] takes {} bytes, but {} were given", name,
         qdp::name(dtype), fmt::join(dims, ", "),
         static_cast<uint64_t>(numel) * element_size(dtype), data.size());
  constants_.push_back({std::move(name), dtype, std::move(dims),
                        std::make_shared<const std::vector<std::byte>>(std::move(data)),
                        num_tensors_});
  return {num_tensors_++};
}

Network::Constant const* Network::constant(TensorRef tensor) const {
  for (auto const& c : constants_)
    if (c.tensor == tensor.id) return &c;
  return nullptr;
}

void Network::set_profile(std::string_view input, Dims min, Dims opt, Dims max) {
  auto it =
      std::find_if(inputs_.begin(), inputs_.end(), [&](Input const& i) { return i.name == input; });
  if (it == inputs_.end()) fail("set_profile: the network has no input '{}'", input);
  size_t rank = it->dims.size();
  if (static_cast<size_t>(min.rank()) != rank || static_cast<size_t>(opt.rank()) != rank ||
      static_cast<size_t>(max.rank()) != rank)
    fail("profile of input '{}': min, opt and max must have {} dimensions", input, rank);
  for (size_t d = 0; d < rank; ++d) {
    int i = static_cast<int>(d);
    if (!(0 <= min[i] && min[i] <= opt[i] && opt[i] <= max[i]))
      fail("profile of input '{}', dimension {}: need 0 <= min <= opt <= max, got {}, {}, {}",
           input, d, min[i], opt[i], max[i]);
    if (it->dims[d] >= 0 && (min[i] != it->dims[d] || max[i] != it->dims[d]))
      fail(
          "profile of input '{}', dimension {}: the dimension is static ({}) but the profile gives "
          "{}..{}",
          input, d, it->dims[d], min[i], max[i]);
  }
  it->profile = Profile{min, opt, max};
}

std::vector<TensorRef> Network::add_plugin(std::string_view plugin_id,
                                           std::vector<TensorRef> inputs, Attrs attrs,
                                           LayerOptions options) {
  auto def_ptr = Registry::global().get(plugin_id);
  PluginDefinition const& def = *def_ptr;
  std::string layer_name =
      options.name.empty()
          ? fmt::format("{}_{}", plugin_id.substr(plugin_id.find("::") + 2), layers_.size())
          : options.name;
  for (auto const& l : layers_)
    if (l.name == layer_name) fail("layer name '{}' is used twice", layer_name);
  if (def.variadic ? static_cast<int>(inputs.size()) < def.num_inputs
                   : static_cast<int>(inputs.size()) != def.num_inputs)
    fail("layer '{}' (plugin {}): the plugin takes {}{} input(s), {} given", layer_name, plugin_id,
         def.variadic ? "at least " : "", def.num_inputs, inputs.size());
  Layer layer;
  layer.name = layer_name;
  layer.plugin_id = std::string(plugin_id);
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_tensor(inputs[i], fmt::format("layer '{}' input {}", layer_name, i));
    layer.inputs.push_back(inputs[i].id);
  }
  try {
    layer.attrs = resolve_attrs(plugin_id, def.attrs, attrs);
  } catch (Error const& e) {
    fail("layer '{}': {}", layer_name, e.what());
  }
  if (options.impl == ImplChoice::AOT && !def.aot_impl)
    fail("layer '{}' asks for the AOT implementation of plugin {}, which has no aot_impl",
         layer_name, plugin_id);
  if (options.impl == ImplChoice::JIT && def.impls.empty())
    fail("layer '{}' asks for a JIT implementation of plugin {}, which has only an aot_impl",
         layer_name, plugin_id);
  layer.impl = options.impl;
  std::vector<TensorRef> outs;
  for (int o = 0; o < def.num_outputs; ++o) {
    layer.outputs.push_back(num_tensors_);
    outs.push_back({num_tensors_++});
  }
  layers_.push_back(std::move(layer));
  return outs;
}

void Network::mark_output(TensorRef tensor, std::string name) {
  check_tensor(tensor, fmt::format("mark_output('{}')", name));
  check_new_name(name, "output");
  for (auto const& in : inputs_)
    if (in.tensor == tensor.id)
      fail("network output '{}' is the network input '{}' itself; an output must come from a layer",
           name, in.name);
  for (auto const& out : outputs_)
    if (out.tensor == tensor.id)
      fail("network output '{}': the tensor is already the output '{}'", name, out.name);
  outputs_.push_back({std::move(name), tensor.id, std::nullopt, std::nullopt});
}

void Network::declare_output(std::string_view name, std::optional<DataType> dtype,
                             std::optional<std::vector<int64_t>> dims) {
  auto it = std::find_if(outputs_.begin(), outputs_.end(),
                         [&](Output const& o) { return o.name == name; });
  if (it == outputs_.end()) fail("declare_output: the network has no output '{}'", name);
  it->declared_dtype = dtype;
  it->declared_dims = std::move(dims);
}

}  // namespace qdp
