// Graph rewrites before shape inference (SPEC §9 "The builder fuses what TensorRT fuses first"):
// - a BatchNormalization right after a Conv, both on FP32 constants, is folded into the Conv's
//   weights and bias, as TensorRT and onnxruntime do:
//     w'[o] = w[o] * s[o],  b'[o] = (b[o] - mean[o]) * s[o] + beta[o],  s = scale / sqrt(var + eps)
// - a Relu, Sigmoid, Tanh or Clip (constant bounds) that is the only reader of a Conv's output
//   (after such a fold too) becomes the Conv's `activation` attribute: one library call
//   (src/ops/nn/conv.cu), where the unfused graph writes and reads the tensor once more.
// - an Add of a Conv's output (after such a fold, without an activation) and a tensor z of the
//   same shape (a residual connection, as in ResNet's blocks), and a Relu, Sigmoid, Tanh or Clip
//   that alone reads the sum, become one qdp::ConvAdd: cuDNN adds z (and applies Relu) inside the
//   convolution's call, oneDNN as post-ops. Shapes decide (TensorShapes): an Add that broadcasts
//   stays an Add.
// - a MatMul by a constant matrix B (K, N) whose output only an Add of a constant vector (N)
//   reads, and a Relu, Sigmoid, Tanh or Clip that alone reads the sum, become one
//   qdp::MatMulBias: cuBLASLt adds the bias (and applies Relu) in the product's epilogue
//   (src/ops/nn/matmul.cu), as transformers' linear layers export to MatMul + Add.
// - an Add of two tensors of one shape whose sum only a LayerNormalization reads (a transformer's
//   residual connection and its norm) becomes one qdp::AddLayerNorm, as onnxruntime's
//   SkipLayerNormalization: the sum is never written (src/ops/elementwise/softmax_layernorm.cu).
// - a Softmax over the last axis of an Add of attention's scores and a mask that broadcasts to
//   them, the scores a Mul or Div by a scalar constant (or not), becomes one
//   qdp::ScaleMaskSoftmax: softmax(x * scale + mask) in one read of the scores. A Softmax of a
//   Mul or Div by a scalar alone (attention without a mask) becomes one too, without its mask.
// - the erf form of GELU as exporters write it before opset 20, x * 0.5 * (1 + erf(x / sqrt 2))
//   (Div or Mul by 1/sqrt 2, Erf, Add 1, two Muls in any of the three orders), becomes one
//   onnx::Gelu: one pass over x where the chain writes and reads four intermediate tensors.
#include "builder/fusion.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <qdp/attributes.hpp>

namespace qdp::detail {
namespace {

std::vector<float> floats(Network::Constant const& c) {
  std::vector<float> v(c.data->size() / sizeof(float));
  std::memcpy(v.data(), c.data->data(), v.size() * sizeof(float));
  return v;
}

bool is_fp32_constant(Network const& net, int tensor) {
  auto const* c = net.constant({tensor});
  return c && c->dtype == DataType::FP32;
}

// How many layers read each tensor, and which tensors are network outputs.
struct Uses {
  std::vector<int> readers;
  std::vector<bool> output;
};
Uses uses_of(Network const& net) {
  Uses u{std::vector<int>(static_cast<size_t>(net.num_tensors()), 0),
         std::vector<bool>(static_cast<size_t>(net.num_tensors()), false)};
  for (auto const& l : net.layers())
    for (int t : l.inputs) ++u.readers[static_cast<size_t>(t)];
  for (auto const& o : net.outputs()) u.output[static_cast<size_t>(o.tensor)] = true;
  return u;
}

// Whether input k of layer l is an omitted optional input (the importer's empty INT64 constant).
bool is_absent(Network const& net, Network::Layer const& l, size_t k) {
  if (k >= l.inputs.size()) return true;
  auto const* c = net.constant({l.inputs[k]});
  return c && c->dtype == DataType::INT64 && c->dims == std::vector<int64_t>{0};
}

// The folded weights and bias of Conv `conv` followed by BatchNormalization `bn`, or nothing
// when the pair does not qualify.
struct Folded {
  std::vector<float> weights, bias;
  std::vector<int64_t> weight_dims;
};
std::optional<Folded> fold(Network const& net, Network::Layer const& conv,
                           Network::Layer const& bn) {
  if (bn.inputs.size() != 5) return std::nullopt;
  for (size_t k = 1; k < 5; ++k)
    if (!is_fp32_constant(net, bn.inputs[k])) return std::nullopt;
  if (std::get<int64_t>(bn.attrs.at("training_mode")) != 0) return std::nullopt;
  if (!is_fp32_constant(net, conv.inputs[1])) return std::nullopt;
  auto const& w = *net.constant({conv.inputs[1]});
  if (w.dims.empty()) return std::nullopt;
  int64_t channels = w.dims[0];
  auto const* b = net.constant({conv.inputs[2]});
  bool no_bias = is_absent(net, conv, 2);
  if (!no_bias && !is_fp32_constant(net, conv.inputs[2])) return std::nullopt;
  std::vector<std::vector<float>> p;
  for (size_t k = 1; k < 5; ++k) {
    p.push_back(floats(*net.constant({bn.inputs[k]})));
    if (static_cast<int64_t>(p.back().size()) != channels) return std::nullopt;
  }
  auto const &scale = p[0], &beta = p[1], &mean = p[2], &var = p[3];
  float eps = std::get<float>(bn.attrs.at("epsilon"));
  Folded f{floats(w),
           no_bias ? std::vector<float>(static_cast<size_t>(channels), 0.0f) : floats(*b), w.dims};
  if (static_cast<int64_t>(f.bias.size()) != channels) return std::nullopt;
  size_t per_channel = f.weights.size() / static_cast<size_t>(channels);
  for (size_t o = 0; o < static_cast<size_t>(channels); ++o) {
    float s = scale[o] / std::sqrt(var[o] + eps);
    for (size_t i = 0; i < per_channel; ++i) f.weights[o * per_channel + i] *= s;
    f.bias[o] = (f.bias[o] - mean[o]) * s + beta[o];
  }
  return f;
}

// Layer `l` as an activation a Conv can apply: its name and parameters, or nothing.
struct Activation {
  std::string name;
  std::vector<float> params;
};
std::optional<Activation> activation_of(Network const& net, Network::Layer const& l) {
  for (char const* op : {"Relu", "Sigmoid", "Tanh"})
    if (l.plugin_id == fmt::format("onnx::{}", op) && l.inputs.size() == 1)
      return Activation{op, {}};
  if (l.plugin_id != "onnx::Clip" || l.inputs.empty() || l.inputs.size() > 3) return std::nullopt;
  float bounds[2] = {-std::numeric_limits<float>::infinity(),
                     std::numeric_limits<float>::infinity()};
  for (size_t k = 1; k < 3; ++k) {
    if (is_absent(net, l, k)) continue;
    auto const* c = net.constant({l.inputs[k]});
    if (!c || c->dtype != DataType::FP32 || !c->dims.empty()) return std::nullopt;
    bounds[k - 1] = floats(*c)[0];
  }
  if (!(bounds[0] <= bounds[1])) return std::nullopt;  // ONNX's result then is max: leave it
  return Activation{"Clip", {bounds[0], bounds[1]}};
}

// A Conv that applies an activation already (one fused before, or written so).
bool has_activation(Network::Layer const& conv) {
  auto it = conv.attrs.find("activation");
  auto const* name = it == conv.attrs.end() ? nullptr : std::get_if<std::string>(&it->second);
  return name && !name->empty();
}

// The value of a rank-0 FP32 constant (a higher rank could broadcast x to a larger shape).
std::optional<float> scalar_of(Network const& net, int tensor) {
  auto const* c = net.constant({tensor});
  if (!c || c->dtype != DataType::FP32 || !c->dims.empty()) return std::nullopt;
  return floats(*c)[0];
}
bool is_scalar(Network const& net, int tensor, double value) {
  auto v = scalar_of(net, tensor);
  return v && std::fabs(*v - value) <= 1e-6 * std::fabs(value);
}

// A GELU chain ending at layer `last`: its layers (all but `last` dropped) and its input x.
struct GeluChain {
  std::vector<size_t> layers;
  size_t last = 0;
  int x = -1;
};

class GeluMatcher {
 public:
  GeluMatcher(Network const& net, Uses const& uses) : net_(net), uses_(uses) {
    auto const& layers = net.layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      for (int t : layers[l].outputs) writer_[t] = l;
      for (int t : layers[l].inputs) reader_[t] = l;  // kept only where it is the one reader
    }
  }

  // The chain whose Erf is layer `e`, or nothing.
  std::optional<GeluChain> at(size_t e) const {
    auto const& layers = net_.layers();
    auto const& erf = layers[e];
    if (erf.plugin_id != "onnx::Erf" || erf.inputs.size() != 1) return std::nullopt;
    // x / sqrt 2, or x * (1 / sqrt 2).
    auto scale = private_writer(erf.inputs[0]);
    if (!scale) return std::nullopt;
    GeluChain c;
    auto const& s = layers[*scale];
    if (s.plugin_id == "onnx::Div" && s.inputs.size() == 2 &&
        is_scalar(net_, s.inputs[1], std::sqrt(2.0)))
      c.x = s.inputs[0];
    else if (s.plugin_id == "onnx::Mul")
      c.x = other_than(s, [&](int t) { return is_scalar(net_, t, std::sqrt(0.5)); });
    if (c.x < 0) return std::nullopt;
    // 1 + erf.
    auto add = sole_reader(erf.outputs[0]);
    if (!add || layers[*add].plugin_id != "onnx::Add" ||
        other_than(layers[*add], [&](int t) { return t == erf.outputs[0]; }) < 0 ||
        !is_scalar(net_, other_than(layers[*add], [&](int t) { return t == erf.outputs[0]; }), 1.0))
      return std::nullopt;
    // (x * (1 + erf)) * 0.5, (0.5 * (1 + erf)) * x, or (x * 0.5) * (1 + erf).
    auto m1 = sole_reader(layers[*add].outputs[0]);
    if (!m1 || layers[*m1].plugin_id != "onnx::Mul") return std::nullopt;
    int other = other_than(layers[*m1], [&](int t) { return t == layers[*add].outputs[0]; });
    c.layers = {*scale, e, *add, *m1};
    if (other == c.x || is_scalar(net_, other, 0.5)) {
      auto m2 = sole_reader(layers[*m1].outputs[0]);
      if (!m2 || layers[*m2].plugin_id != "onnx::Mul") return std::nullopt;
      int rest = other_than(layers[*m2], [&](int t) { return t == layers[*m1].outputs[0]; });
      if (!(other == c.x ? is_scalar(net_, rest, 0.5) : rest == c.x)) return std::nullopt;
      c.layers.push_back(*m2);
      c.last = *m2;
    } else {
      auto half = private_writer(other);
      if (!half || layers[*half].plugin_id != "onnx::Mul" ||
          other_than(layers[*half], [&](int t) { return t == c.x; }) < 0 ||
          !is_scalar(net_, other_than(layers[*half], [&](int t) { return t == c.x; }), 0.5))
        return std::nullopt;
      c.layers.insert(c.layers.begin(), *half);
      c.last = *m1;
    }
    return c;
  }

 private:
  // The layer that writes `t`, when t is an intermediate only that layer's reader reads.
  std::optional<size_t> private_writer(int t) const {
    auto it = writer_.find(t);
    if (it == writer_.end() || uses_.readers[static_cast<size_t>(t)] != 1 ||
        uses_.output[static_cast<size_t>(t)])
      return std::nullopt;
    return it->second;
  }
  // The one layer that reads `t`, when t is not a network output.
  std::optional<size_t> sole_reader(int t) const {
    if (uses_.readers[static_cast<size_t>(t)] != 1 || uses_.output[static_cast<size_t>(t)])
      return std::nullopt;
    return reader_.at(t);
  }
  // The input of two-input layer `l` that is not the one `is_known` picks (either order), or -1.
  template <class F>
  static int other_than(Network::Layer const& l, F const& is_known) {
    if (l.inputs.size() != 2) return -1;
    if (is_known(l.inputs[0])) return l.inputs[1];
    if (is_known(l.inputs[1])) return l.inputs[0];
    return -1;
  }

  Network const& net_;
  Uses const& uses_;
  std::map<int, size_t> writer_, reader_;
};

}  // namespace

Network fuse_layers(Network const& net, Logger* logger, TensorShapes const& tensor_shapes) {
  Uses uses = uses_of(net);
  auto const& layers = net.layers();
  // The BatchNormalization each Conv output feeds, when it is the output's only reader.
  std::map<int, size_t> bn_of;  // conv output tensor -> bn layer
  for (size_t l = 0; l < layers.size(); ++l)
    if (layers[l].plugin_id == "onnx::BatchNormalization") bn_of[layers[l].inputs[0]] = l;
  std::map<size_t, Folded> folded;  // conv layer -> its new constants
  std::vector<bool> dropped(layers.size(), false);
  std::map<int, int> alias;  // bn output -> conv output (in the old numbering)
  for (size_t l = 0; l < layers.size(); ++l) {
    auto const& conv = layers[l];
    if (conv.plugin_id != "onnx::Conv" || conv.inputs.size() != 3) continue;
    int out = conv.outputs[0];
    auto it = bn_of.find(out);
    if (it == bn_of.end() || uses.readers[static_cast<size_t>(out)] != 1 ||
        uses.output[static_cast<size_t>(out)])
      continue;
    auto f = fold(net, conv, layers[it->second]);
    if (!f) continue;
    folded.emplace(l, std::move(*f));
    dropped[it->second] = true;
    alias[layers[it->second].outputs[0]] = out;
    if (logger && logger->enabled(Severity::Verbose))
      logger->log(Severity::Verbose, fmt::format("Folded layer '{}' (BatchNormalization) into '{}'",
                                                 layers[it->second].name, conv.name));
  }
  // Activations: the Conv each reads (through a folded BatchNormalization), when it is the only
  // reader of what it reads.
  std::map<int, size_t> conv_writing;  // conv output tensor -> conv layer
  for (size_t l = 0; l < layers.size(); ++l)
    if (layers[l].plugin_id == "onnx::Conv" && layers[l].inputs.size() == 3)
      conv_writing[layers[l].outputs[0]] = l;
  auto conv_of = [&](int t) -> std::optional<size_t> {
    while (alias.count(t)) t = alias[t];
    auto it = conv_writing.find(t);
    return it == conv_writing.end() ? std::nullopt : std::optional<size_t>(it->second);
  };
  std::map<size_t, std::pair<size_t, Activation>> activation;  // conv layer -> (layer, what)
  for (size_t l = 0; l < layers.size(); ++l) {
    auto act = activation_of(net, layers[l]);
    if (!act) continue;
    int in = layers[l].inputs[0];
    if (uses.readers[static_cast<size_t>(in)] != 1 || uses.output[static_cast<size_t>(in)])
      continue;
    auto conv = conv_of(in);
    if (!conv || activation.count(*conv) || has_activation(layers[*conv])) continue;
    activation.emplace(*conv, std::pair{l, std::move(*act)});
    dropped[l] = true;
    alias[layers[l].outputs[0]] = in;
    if (logger && logger->enabled(Severity::Verbose))
      logger->log(Severity::Verbose,
                  fmt::format("Fused layer '{}' ({}) into '{}'", layers[l].name,
                              activation.at(*conv).second.name, layers[*conv].name));
  }
  // A Conv's residual Add [+ activation] into qdp::ConvAdd, emitted where the Add was (z may be
  // computed after the Conv).
  struct ConvAdd {
    size_t conv = 0;
    int z = -1;
    std::optional<Activation> act;
    std::vector<std::string> names;  // the fused layers'
  };
  std::map<size_t, ConvAdd> conv_add;  // Add layer -> its Conv, z and activation
  std::optional<std::vector<std::vector<ShapeExpr>>> shapes;
  // Whether both inputs of the two-input layer `add` have its output's shape (shape inference of
  // the unfused network, run once, when a rewrite first asks).
  auto broadcasts_nothing = [&](Network::Layer const& add) {
    if (!shapes) shapes = tensor_shapes();
    auto const& shape = (*shapes)[static_cast<size_t>(add.outputs[0])];
    return (*shapes)[static_cast<size_t>(add.inputs[0])] == shape &&
           (*shapes)[static_cast<size_t>(add.inputs[1])] == shape;
  };
  // Each tensor's writer, and its reader where one layer alone reads it (not a network output).
  std::map<int, size_t> writer, sole_reader;
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int t : layers[l].outputs) writer[t] = l;
    for (int t : layers[l].inputs)
      if (uses.readers[static_cast<size_t>(t)] == 1 && !uses.output[static_cast<size_t>(t)])
        sole_reader[t] = l;
  }
  std::vector<bool> conv_in_add(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    auto const& add = layers[l];
    if (add.plugin_id != "onnx::Add" || add.inputs.size() != 2 || dropped[l]) continue;
    for (size_t k = 0; k < 2; ++k) {
      int sum = add.inputs[k], z = add.inputs[1 - k];
      if (!sole_reader.count(sum) || sum == z) continue;
      auto conv = conv_of(sum);
      if (!conv || conv_in_add[*conv] || activation.count(*conv) || has_activation(layers[*conv]))
        continue;
      if (!broadcasts_nothing(add)) continue;
      ConvAdd f{*conv, z, std::nullopt, {layers[*conv].name, add.name}};
      conv_in_add[*conv] = true;
      dropped[*conv] = true;
      if (auto it = sole_reader.find(add.outputs[0]);
          it != sole_reader.end() && !dropped[it->second]) {
        size_t r = it->second;
        if (auto act = activation_of(net, layers[r])) {
          f.act = std::move(act);
          f.names.push_back(layers[r].name);
          dropped[r] = true;
          alias[layers[r].outputs[0]] = add.outputs[0];
        }
      }
      if (logger && logger->enabled(Severity::Verbose))
        logger->log(Severity::Verbose,
                    fmt::format("Fused layers '{}' into one ConvAdd", fmt::join(f.names, "', '")));
      conv_add.emplace(l, std::move(f));
      break;
    }
  }
  // GELU chains into onnx::Gelu.
  auto names_of = [&](GeluChain const& c) {
    std::vector<std::string> names;
    for (size_t k : c.layers) names.push_back(layers[k].name);
    return names;
  };
  GeluMatcher gelu_matcher(net, uses);
  std::map<size_t, GeluChain> gelu;  // the chain's last layer -> the chain
  for (size_t l = 0; l < layers.size(); ++l) {
    auto chain = gelu_matcher.at(l);
    if (!chain) continue;
    bool free = true;  // no layer of it taken by another rewrite
    for (size_t k : chain->layers)
      free &= !dropped[k] && !activation.count(k) && !folded.count(k) && !conv_add.count(k);
    if (!free) continue;
    for (size_t k : chain->layers)
      if (k != chain->last) dropped[k] = true;
    if (logger && logger->enabled(Severity::Verbose))
      logger->log(Severity::Verbose, fmt::format("Fused layers '{}' into one Gelu",
                                                 fmt::join(names_of(*chain), "', '")));
    gelu.emplace(chain->last, std::move(*chain));
  }
  // MatMul + Add(bias) [+ activation] into qdp::MatMulBias.
  struct MatMulBias {
    int bias = -1;
    std::optional<Activation> act;
    std::vector<std::string> names;  // the fused layers'
  };
  std::map<size_t, MatMulBias> matmul_bias;  // MatMul layer -> its bias and activation
  // Whether layer `l` alone reads tensor `t`.
  auto only_reader = [&](int t, size_t l) {
    auto r = sole_reader.find(t);
    return r != sole_reader.end() && r->second == l;
  };
  auto taken = [&](size_t l) {
    return dropped[l] || gelu.count(l) || activation.count(l) || conv_add.count(l);
  };
  // The two-input Add, not taken by another rewrite, whose sum layer `l` alone reads (as its
  // first input).
  auto add_read_only_by = [&](size_t l) -> std::optional<size_t> {
    int sum = layers[l].inputs[0];
    auto w = writer.find(sum);
    if (w == writer.end() || !only_reader(sum, l)) return std::nullopt;
    auto const& add = layers[w->second];
    if (add.plugin_id != "onnx::Add" || add.inputs.size() != 2 || taken(w->second))
      return std::nullopt;
    return w->second;
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    auto const& add = layers[l];
    if (add.plugin_id != "onnx::Add" || add.inputs.size() != 2 || taken(l)) continue;
    for (size_t k = 0; k < 2; ++k) {
      int product = add.inputs[k], bias = add.inputs[1 - k];
      auto const* vector = net.constant({bias});
      if (!vector || vector->dtype != DataType::FP32 || vector->dims.size() != 1) continue;
      auto w = writer.find(product);
      if (w == writer.end() || !sole_reader.count(product)) continue;
      auto const& mm = layers[w->second];
      if (mm.plugin_id != "onnx::MatMul" || mm.inputs.size() != 2 || taken(w->second)) continue;
      auto const* b = net.constant({mm.inputs[1]});
      if (!b || b->dtype != DataType::FP32 || b->dims.size() != 2 || b->dims[1] != vector->dims[0])
        continue;
      MatMulBias f{bias, std::nullopt, {mm.name, add.name}};
      dropped[l] = true;
      alias[add.outputs[0]] = product;
      if (auto r = sole_reader.find(add.outputs[0]); r != sole_reader.end() && !taken(r->second)) {
        if (auto act = activation_of(net, layers[r->second])) {
          f.act = std::move(act);
          f.names.push_back(layers[r->second].name);
          dropped[r->second] = true;
          alias[layers[r->second].outputs[0]] = add.outputs[0];
        }
      }
      if (logger && logger->enabled(Severity::Verbose))
        logger->log(Severity::Verbose, fmt::format("Fused layers '{}' into one MatMulBias",
                                                   fmt::join(f.names, "', '")));
      matmul_bias.emplace(w->second, std::move(f));
      break;
    }
  }
  // An Add of two tensors of one shape (a transformer's residual) that only a
  // LayerNormalization reads into qdp::AddLayerNorm, emitted where the norm was.
  struct AddLayerNorm {
    size_t add = 0;
    std::vector<std::string> names;  // the fused layers'
  };
  std::map<size_t, AddLayerNorm> add_layer_norm;  // LayerNormalization layer -> its Add
  for (size_t l = 0; l < layers.size(); ++l) {
    auto const& ln = layers[l];
    if (ln.plugin_id != "onnx::LayerNormalization" || ln.outputs.size() != 1 || taken(l)) continue;
    auto add_layer = add_read_only_by(l);
    if (!add_layer) continue;
    auto const& add = layers[*add_layer];
    if (!broadcasts_nothing(add)) continue;
    dropped[*add_layer] = true;
    AddLayerNorm f{*add_layer, {add.name, ln.name}};
    if (logger && logger->enabled(Severity::Verbose))
      logger->log(Severity::Verbose, fmt::format("Fused layers '{}' into one AddLayerNorm",
                                                 fmt::join(f.names, "', '")));
    add_layer_norm.emplace(l, std::move(f));
  }
  // Attention's scores: a Softmax over the last axis that alone reads an Add of the scores X and
  // a mask that broadcasts to them, X a Mul (or Div) by a scalar constant that only the Add reads
  // (or X itself, scale 1), into qdp::ScaleMaskSoftmax, emitted where the Softmax was; without
  // the Add, a Softmax that alone reads such a Mul or Div, into one without a mask.
  struct ScaleMaskSoftmax {
    int x = -1, mask = -1;  // mask -1: none (a scaled Softmax)
    float scale = 1.0f;
    std::vector<std::string> names;  // the fused layers'
  };
  std::map<size_t, ScaleMaskSoftmax> scale_mask_softmax;  // Softmax layer -> its parts
  // The Mul or Div by a scalar that writes `scores` for `add` alone: that layer, its x, the scale.
  struct Scaling {
    size_t layer = 0;
    int x = -1;
    float scale = 1.0f;
  };
  auto scaled = [&](int scores, size_t add) -> std::optional<Scaling> {
    auto w = writer.find(scores);
    if (w == writer.end() || !only_reader(scores, add) || taken(w->second)) return std::nullopt;
    auto const& op = layers[w->second];
    if (op.inputs.size() != 2) return std::nullopt;
    auto const& shape = (*shapes)[static_cast<size_t>(scores)];
    for (size_t j = 0; j < 2; ++j) {
      if (op.plugin_id == "onnx::Div" && j == 1) break;
      auto c = scalar_of(net, op.inputs[1 - j]);
      int x = op.inputs[j];
      if (!c || (*shapes)[static_cast<size_t>(x)] != shape) continue;
      if (op.plugin_id == "onnx::Mul") return Scaling{w->second, x, *c};
      if (op.plugin_id == "onnx::Div" && *c != 0.0f) return Scaling{w->second, x, 1.0f / *c};
    }
    return std::nullopt;
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    auto const& sm = layers[l];
    if (sm.plugin_id != "onnx::Softmax" || sm.inputs.size() != 1 || taken(l)) continue;
    if (!shapes) shapes = tensor_shapes();
    auto const& shape = (*shapes)[static_cast<size_t>(sm.inputs[0])];
    auto a = sm.attrs.find("axis");
    auto const* axis = a == sm.attrs.end() ? nullptr : std::get_if<int64_t>(&a->second);
    int64_t last = static_cast<int64_t>(shape.size()) - 1;
    if (shape.empty() || (a != sm.attrs.end() && !axis) || (axis && *axis != -1 && *axis != last))
      continue;
    std::optional<ScaleMaskSoftmax> found;
    if (auto add_layer = add_read_only_by(l)) {
      auto const& add = layers[*add_layer];
      for (size_t k = 0; k < 2; ++k) {
        int scores = add.inputs[k], mask = add.inputs[1 - k];
        if ((*shapes)[static_cast<size_t>(scores)] != shape || scores == mask) continue;
        if (auto s = scaled(scores, *add_layer)) {
          dropped[s->layer] = true;
          found =
              ScaleMaskSoftmax{s->x, mask, s->scale, {layers[s->layer].name, add.name, sm.name}};
          break;
        }
        if (!found) found = ScaleMaskSoftmax{scores, mask, 1.0f, {add.name, sm.name}};
      }
      if (found) dropped[*add_layer] = true;
    } else if (auto s = scaled(sm.inputs[0], l)) {  // no mask: softmax(x * scale)
      dropped[s->layer] = true;
      found = ScaleMaskSoftmax{s->x, -1, s->scale, {layers[s->layer].name, sm.name}};
    }
    if (!found) continue;
    if (logger && logger->enabled(Severity::Verbose))
      logger->log(Severity::Verbose, fmt::format("Fused layers '{}' into one ScaleMaskSoftmax",
                                                 fmt::join(found->names, "', '")));
    scale_mask_softmax.emplace(l, std::move(*found));
  }
  if (folded.empty() && activation.empty() && gelu.empty() && matmul_bias.empty() &&
      conv_add.empty() && add_layer_norm.empty() && scale_mask_softmax.empty())
    return net;

  // The same network again, with the folded Convs' new constants and without their
  // BatchNormalizations; tensor ids are renumbered as they are added.
  Network out;
  std::map<int, TensorRef> ref;
  auto get = [&](int t) {
    while (alias.count(t)) t = alias[t];
    return ref.at(t);
  };
  for (auto const& in : net.inputs()) {
    ref[in.tensor] = out.add_input(in.name, in.dtype, in.dims);
    if (in.profile) out.set_profile(in.name, in.profile->min, in.profile->opt, in.profile->max);
  }
  for (auto const& c : net.constants())
    ref[c.tensor] = out.add_constant(c.name, c.dtype, c.dims, *c.data);
  // A Conv's inputs, with its folded constants.
  auto conv_inputs = [&](size_t l) {
    auto const& layer = layers[l];
    std::vector<TensorRef> inputs;
    for (int t : layer.inputs) inputs.push_back(get(t));
    if (auto f = folded.find(l); f != folded.end()) {
      auto bytes = [](std::vector<float> const& v) {
        std::vector<std::byte> b(v.size() * sizeof(float));
        std::memcpy(b.data(), v.data(), b.size());
        return b;
      };
      inputs[1] = out.add_constant(layer.name + "_folded_w", DataType::FP32, f->second.weight_dims,
                                   bytes(f->second.weights));
      inputs[2] =
          out.add_constant(layer.name + "_folded_b", DataType::FP32,
                           {static_cast<int64_t>(f->second.bias.size())}, bytes(f->second.bias));
    }
    return inputs;
  };
  auto activation_attrs = [](Attrs& attrs, std::optional<Activation> const& act) {
    if (!act) return;
    attrs["activation"] = act->name;
    if (!act->params.empty()) attrs["activation_params"] = act->params;
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    auto const& layer = layers[l];
    if (auto c = conv_add.find(l); c != conv_add.end()) {
      auto const& conv = layers[c->second.conv];
      auto inputs = conv_inputs(c->second.conv);
      inputs.push_back(get(c->second.z));
      Attrs attrs = conv.attrs;
      activation_attrs(attrs, c->second.act);
      LayerOptions options{.name = fmt::format("{}", fmt::join(c->second.names, " + ")),
                           .impl = conv.impl};
      auto outs = out.add_plugin("qdp::ConvAdd", std::move(inputs), std::move(attrs), options);
      ref[layer.outputs[0]] = outs[0];
      continue;
    }
    if (dropped[l]) continue;
    if (auto g = gelu.find(l); g != gelu.end()) {
      LayerOptions options{.name = fmt::format("{}", fmt::join(names_of(g->second), " + ")),
                           .impl = layer.impl};
      auto outs = out.add_plugin("onnx::Gelu", {get(g->second.x)},
                                 {{"approximate", std::string("none")}}, options);
      ref[layer.outputs[0]] = outs[0];
      continue;
    }
    if (auto m = matmul_bias.find(l); m != matmul_bias.end()) {
      Attrs attrs;
      activation_attrs(attrs, m->second.act);
      LayerOptions options{.name = fmt::format("{}", fmt::join(m->second.names, " + ")),
                           .impl = layer.impl};
      auto outs = out.add_plugin("qdp::MatMulBias",
                                 {get(layer.inputs[0]), get(layer.inputs[1]), get(m->second.bias)},
                                 std::move(attrs), options);
      ref[layer.outputs[0]] = outs[0];
      continue;
    }
    if (auto n = add_layer_norm.find(l); n != add_layer_norm.end()) {
      auto const& add = layers[n->second.add];
      std::vector<TensorRef> inputs{get(add.inputs[0]), get(add.inputs[1])};
      for (size_t k = 1; k < layer.inputs.size(); ++k) inputs.push_back(get(layer.inputs[k]));
      LayerOptions options{.name = fmt::format("{}", fmt::join(n->second.names, " + ")),
                           .impl = layer.impl};
      auto outs = out.add_plugin("qdp::AddLayerNorm", std::move(inputs), layer.attrs, options);
      ref[layer.outputs[0]] = outs[0];
      continue;
    }
    if (auto f = scale_mask_softmax.find(l); f != scale_mask_softmax.end()) {
      LayerOptions options{.name = fmt::format("{}", fmt::join(f->second.names, " + ")),
                           .impl = layer.impl};
      TensorRef mask = f->second.mask >= 0
                           ? get(f->second.mask)
                           : out.add_constant(layer.name + "_no_mask", DataType::INT64, {0}, {});
      auto outs = out.add_plugin("qdp::ScaleMaskSoftmax", {get(f->second.x), mask},
                                 {{"scale", f->second.scale}}, options);
      ref[layer.outputs[0]] = outs[0];
      continue;
    }
    std::vector<TensorRef> inputs;
    if (folded.count(l)) {
      inputs = conv_inputs(l);
    } else {
      for (int t : layer.inputs) inputs.push_back(get(t));
    }
    LayerOptions options;
    options.name = layer.name;
    options.impl = layer.impl;
    Attrs attrs = layer.attrs;
    if (auto a = activation.find(l); a != activation.end()) {
      // Named as TensorRT names a fused layer: its parts joined by " + ".
      options.name = fmt::format("{} + {}", layer.name, layers[a->second.first].name);
      attrs["activation"] = a->second.second.name;
      if (!a->second.second.params.empty()) attrs["activation_params"] = a->second.second.params;
    }
    auto outs = out.add_plugin(layer.plugin_id, std::move(inputs), attrs, options);
    for (size_t o = 0; o < outs.size(); ++o) ref[layer.outputs[o]] = outs[o];
  }
  for (auto const& o : net.outputs()) {
    out.mark_output(get(o.tensor), o.name);
    if (o.declared_dtype || o.declared_dims)
      out.declare_output(o.name, o.declared_dtype, o.declared_dims);
  }
  return out;
}

}  // namespace qdp::detail
