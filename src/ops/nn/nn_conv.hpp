#pragma once
// onnx::Conv's run-time geometry and its CPU implementation (oneDNN, in conv_cpu.cpp: nvcc's
// C++20 front end cannot parse oneDNN's C++ header, so the oneDNN code lives in a C++ file).
#include <memory>

#include "ops/nn/nn_common.hpp"

namespace qdp::ops::nn {

inline constexpr char kConv[] = "onnx::Conv";

// An activation applied after the bias, fused into the Conv by the builder (builder/fusion.cpp):
// the attributes `activation` ("Relu", "Clip", "Sigmoid", "Tanh"; empty: none) and
// `activation_params` (Clip: min, max), as onnxruntime's FusedConv takes them.
struct ConvActivation {
  enum class Kind { None, Relu, Clip, Sigmoid, Tanh };
  Kind kind = Kind::None;
  float lo = 0, hi = 0;  // Clip's bounds
};
inline ConvActivation conv_activation(std::string const& name, std::vector<float> const& params) {
  using Kind = ConvActivation::Kind;
  ConvActivation a;
  size_t want = 0;
  if (name.empty()) {
    a.kind = Kind::None;
  } else if (name == "Relu") {
    a.kind = Kind::Relu;
  } else if (name == "Sigmoid") {
    a.kind = Kind::Sigmoid;
  } else if (name == "Tanh") {
    a.kind = Kind::Tanh;
  } else if (name == "Clip") {
    a.kind = Kind::Clip;
    want = 2;
  } else {
    fail("{}: attribute activation is '{}'; supported: Relu, Clip, Sigmoid, Tanh (or none)", kConv,
         name);
  }
  if (params.size() != want)
    fail("{}: activation '{}' takes {} activation_params, the layer has {}", kConv, name, want,
         params.size());
  if (want == 2) {
    a.lo = params[0], a.hi = params[1];
    if (!(a.lo <= a.hi)) fail("{}: Clip's bounds [{}, {}] are not ordered", kConv, a.lo, a.hi);
  }
  return a;
}

// What a run needs, from the tensors' shapes.
struct ConvGeom {
  int spatial = 0;
  int64_t n = 0, c = 0, m = 0, group = 1;
  std::vector<int64_t> in, out, kernel, strides, dilations;
  RunPads pads;
  ConvActivation activation;
};

// oneDNN convolution primitives of one bound impl, created once per shape.
class CpuConv {
 public:
  CpuConv();
  ~CpuConv();
  CpuConv(CpuConv const&) = delete;
  CpuConv& operator=(CpuConv const&) = delete;
  // y = activation(conv(x, w) + b) (b absent: no bias), for FP32, FP16 and BF16 tensors: one
  // oneDNN primitive (the activation as a post-op).
  void run(ConvGeom const& g, Tensor const& x, Tensor const& w, Tensor const& b, Tensor const& y);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace qdp::ops::nn
