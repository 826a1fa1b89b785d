#pragma once
// onnx::Conv's run-time geometry and its CPU implementation (oneDNN, in conv_cpu.cpp: nvcc's
// C++20 front end cannot parse oneDNN's C++ header, so the oneDNN code lives in a C++ file).
#include <memory>

#include "ops/nn/nn_activation.hpp"
#include "ops/nn/nn_common.hpp"

namespace qdp::ops::nn {

inline constexpr char kConv[] = "onnx::Conv";
// onnx::Conv followed by an Add of a tensor of its output's shape (a residual connection) and an
// optional activation: y = activation(conv(x, w) + b + z), what the builder makes of ResNet's
// blocks (builder/fusion.cpp).
inline constexpr char kConvAdd[] = "qdp::ConvAdd";

// What a run needs, from the tensors' shapes.
struct ConvGeom {
  int spatial = 0;
  int64_t n = 0, c = 0, m = 0, group = 1;
  std::vector<int64_t> in, out, kernel, strides, dilations;
  RunPads pads;
  Activation activation;  // fused by the builder (nn_activation.hpp)
  bool residual = false;  // qdp::ConvAdd: z is added before the activation
};

// oneDNN convolution primitives of one bound impl, created once per shape.
class CpuConv {
 public:
  CpuConv();
  ~CpuConv();
  CpuConv(CpuConv const&) = delete;
  CpuConv& operator=(CpuConv const&) = delete;
  // y = activation(conv(x, w) + b [+ z]) (b absent: no bias; z null: none), for FP32, FP16 and
  // BF16 tensors: one oneDNN primitive (z a sum post-op, the activation an eltwise one).
  void run(ConvGeom const& g, Tensor const& x, Tensor const& w, Tensor const& b, Tensor const& y,
           Tensor const* z = nullptr);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace qdp::ops::nn
