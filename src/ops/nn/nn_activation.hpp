#pragma once
// An activation applied after a bias, fused by the builder (builder/fusion.cpp) into onnx::Conv
// and qdp::MatMulBias: the attributes `activation` ("Relu", "Clip", "Sigmoid", "Tanh"; empty:
// none) and `activation_params` (Clip: min, max), as onnxruntime's FusedConv takes them.
#include <math.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ops/common.hpp"

#ifdef __CUDACC__
#define QDP_NN_HOST_DEVICE __host__ __device__
#else
#define QDP_NN_HOST_DEVICE
#endif

namespace qdp::ops::nn {

struct Activation {
  enum class Kind { None, Relu, Clip, Sigmoid, Tanh };
  Kind kind = Kind::None;
  float lo = 0, hi = 0;  // Clip's bounds
};

// The attributes decoded once; `op` names the layer's operator in errors.
inline Activation activation_from(std::string_view op, std::string const& name,
                                  std::vector<float> const& params) {
  using Kind = Activation::Kind;
  Activation a;
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
    fail("{}: attribute activation is '{}'; supported: Relu, Clip, Sigmoid, Tanh (or none)", op,
         name);
  }
  if (params.size() != want)
    fail("{}: activation '{}' takes {} activation_params, the layer has {}", op, name, want,
         params.size());
  if (want == 2) {
    a.lo = params[0], a.hi = params[1];
    if (!(a.lo <= a.hi)) fail("{}: Clip's bounds [{}, {}] are not ordered", op, a.lo, a.hi);
  }
  return a;
}

// The activation of kind K (a's bounds for Clip): a CPU loop that applies one kind, chosen once
// with with_activation_kind, vectorizes where a switch per element would keep it scalar.
template <Activation::Kind K>
QDP_NN_HOST_DEVICE inline float activate_as(Activation const& a, float v) {
  using Kind = Activation::Kind;
  if constexpr (K == Kind::Relu)
    return v > 0.0f ? v : 0.0f;
  else if constexpr (K == Kind::Clip)
    return fminf(fmaxf(v, a.lo), a.hi);
  else if constexpr (K == Kind::Sigmoid)
    return 1.0f / (1.0f + expf(-v));
  else if constexpr (K == Kind::Tanh)
    return tanhf(v);
  else
    return v;
}
// f(std::integral_constant<Activation::Kind, a.kind>{}).
template <class F>
decltype(auto) with_activation_kind(Activation const& a, F&& f) {
  using Kind = Activation::Kind;
  switch (a.kind) {
    case Kind::Relu:
      return f(std::integral_constant<Kind, Kind::Relu>{});
    case Kind::Clip:
      return f(std::integral_constant<Kind, Kind::Clip>{});
    case Kind::Sigmoid:
      return f(std::integral_constant<Kind, Kind::Sigmoid>{});
    case Kind::Tanh:
      return f(std::integral_constant<Kind, Kind::Tanh>{});
    case Kind::None:
      break;
  }
  return f(std::integral_constant<Kind, Kind::None>{});
}

// The activation of v, in float, on the host or the device.
QDP_NN_HOST_DEVICE inline float activate(Activation const& a, float v) {
  using Kind = Activation::Kind;
  switch (a.kind) {
    case Kind::Relu:
      return activate_as<Kind::Relu>(a, v);
    case Kind::Clip:
      return activate_as<Kind::Clip>(a, v);
    case Kind::Sigmoid:
      return activate_as<Kind::Sigmoid>(a, v);
    case Kind::Tanh:
      return activate_as<Kind::Tanh>(a, v);
    case Kind::None:
      break;
  }
  return v;
}

}  // namespace qdp::ops::nn
