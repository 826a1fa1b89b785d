#pragma once
// onnx::Conv's run-time geometry and its CPU implementation (oneDNN, in conv_cpu.cpp: nvcc's
// C++20 front end cannot parse oneDNN's C++ header, so the oneDNN code lives in a C++ file).
#include <memory>

#include "ops/nn/nn_activation.hpp"
#include "ops/nn/nn_common.hpp"

namespace qdp::ops::nn {

inline constexpr char kConv[] = "onnx::Conv";

// What a run needs, from the tensors' shapes.
struct ConvGeom {
  int spatial = 0;
  int64_t n = 0, c = 0, m = 0, group = 1;
  std::vector<int64_t> in, out, kernel, strides, dilations;
  RunPads pads;
  Activation activation;  // fused by the builder (nn_activation.hpp)
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
