#pragma once
// What the nn operators share: per-bound-impl state (library handles, primitives cached per
// shape), the sliding-window geometry of Conv and the pools (ONNX's auto_pad, pads, strides,
// dilations, ceil_mode), and float conversions for the CPU paths.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ops/common.hpp"

namespace qdp::ops::nn {

// State owned by one bound impl. The front end copies an impl's callable into every BoundImpl
// it binds, so a capture of this type gives each bound impl its own fresh State: copying yields
// an empty one (a cache is never shared between engines), moving transfers it. The contexts of
// one engine share its bound impls, from any thread: a State is used under a lock of its own.
template <class State>
class PerBind {
 public:
  PerBind() : s_(std::make_unique<State>()) {}
  PerBind(PerBind const&) : s_(std::make_unique<State>()) {}
  PerBind(PerBind&&) noexcept = default;
  PerBind& operator=(PerBind const&) = delete;
  PerBind& operator=(PerBind&&) noexcept = default;
  State& operator*() const { return *s_; }
  State* operator->() const { return s_.get(); }

 private:
  std::unique_ptr<State> s_;
};

// The key of a cache of plans (oneDNN primitives, cuDNN descriptors, cuBLASLt layouts): each
// tensor's shape, type and layout. One bound impl serves every candidate the autotuner times,
// so a plan made for FP32 must not be found for FP16 data of the same shape.
inline std::vector<int64_t> plan_key(std::initializer_list<Tensor const*> tensors) {
  std::vector<int64_t> key;
  for (Tensor const* t : tensors) {
    key.push_back(t->shape.rank());
    key.insert(key.end(), t->shape.begin(), t->shape.end());
    key.push_back(static_cast<int64_t>(t->dtype));
    key.push_back(static_cast<int64_t>(t->format));
  }
  return key;
}

// ---- sliding windows (Conv, MaxPool, AveragePool) -----------------------------------------

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

inline AutoPad parse_auto_pad(std::string_view op, std::string const& s) {
  if (s == "NOTSET") return AutoPad::NotSet;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  if (s == "VALID") return AutoPad::Valid;
  fail("{}: attribute auto_pad is '{}'; allowed: NOTSET, SAME_UPPER, SAME_LOWER, VALID", op, s);
}

// A window's attributes, checked and with ONNX's defaults filled in (1s, 0s).
struct Window {
  AutoPad auto_pad = AutoPad::NotSet;
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins, then ends
  bool ceil_mode = false;
  int spatial() const { return static_cast<int>(kernel.size()); }
  int64_t extent(int i) const { return dilations[i] * (kernel[i] - 1) + 1; }
};

// The largest kernel extent, stride, dilation or pad a window takes: far beyond any real model,
// small enough that dilation * (kernel - 1) + 1 and the padded spans fit in 64 bits.
inline constexpr int64_t kMaxWindowValue = int64_t{1} << 30;

inline Window make_window(std::string_view op, int spatial, std::string const& auto_pad,
                          std::vector<int64_t> kernel, std::vector<int64_t> const& strides,
                          std::vector<int64_t> const& dilations, std::vector<int64_t> const& pads,
                          int64_t ceil_mode) {
  Window w;
  w.auto_pad = parse_auto_pad(op, auto_pad);
  auto sized = [&](char const* name, std::vector<int64_t> const& v, size_t n, int64_t fill,
                   int64_t least) {
    if (v.empty()) return std::vector<int64_t>(n, fill);
    if (v.size() != n)
      fail("{}: attribute {} has {} values; the input has {} spatial dimensions, so {} are needed",
           op, name, v.size(), spatial, n);
    // Bounded so that extents and padded spans are computed without overflow.
    for (int64_t x : v)
      if (x < least || x > kMaxWindowValue)
        fail("{}: attribute {} holds {}; each value must be in [{}, {}]", op, name, x, least,
             kMaxWindowValue);
    return v;
  };
  w.kernel = sized("kernel_shape", kernel, static_cast<size_t>(spatial), 1, 1);
  w.strides = sized("strides", strides, static_cast<size_t>(spatial), 1, 1);
  w.dilations = sized("dilations", dilations, static_cast<size_t>(spatial), 1, 1);
  w.pads = sized("pads", pads, static_cast<size_t>(2 * spatial), 0, 0);
  if (ceil_mode != 0 && ceil_mode != 1)
    fail("{}: attribute ceil_mode is {}; allowed: 0 or 1", op, ceil_mode);
  w.ceil_mode = ceil_mode == 1;
  return w;
}

// Output extent of spatial dimension i for an input extent `in` (symbolic).
inline ShapeExpr window_output(Window const& w, int i, ShapeExpr const& in) {
  ShapeExpr s(w.strides[i]);
  switch (w.auto_pad) {
    case AutoPad::SameUpper:
    case AutoPad::SameLower:
      return cdiv(in, s);
    case AutoPad::Valid:
      return (in - ShapeExpr(w.extent(i))) / s + ShapeExpr(1);
    case AutoPad::NotSet:
      break;
  }
  ShapeExpr span = in + ShapeExpr(w.pads[i] + w.pads[w.spatial() + i] - w.extent(i));
  if (!w.ceil_mode) return span / s + ShapeExpr(1);
  // Ceil mode, less the last window when it would start in the end padding.
  return min(cdiv(span, s) + ShapeExpr(1), cdiv(in + ShapeExpr(w.pads[i]), s));
}

// The output shape of a windowed op over x (N, C, spatial...) with `channels` output channels.
inline std::vector<ShapeExpr> window_shape(Window const& w, TensorDesc const& x,
                                           ShapeExpr channels) {
  std::vector<ShapeExpr> out{x.shape_expr[0], std::move(channels)};
  for (int i = 0; i < w.spatial(); ++i) {
    ShapeExpr o = window_output(w, i, x.shape_expr[static_cast<size_t>(2 + i)]);
    if (o.is_constant() && o.constant() < 1) fail("the window is larger than the padded input");
    out.push_back(o);
  }
  return out;
}

// The begin and end pads of a run (SAME's depend on the input extents).
struct RunPads {
  std::vector<int64_t> begin, end;
};
inline RunPads run_pads(Window const& w, Dims const& x, Dims const& y) {
  int n = w.spatial();
  RunPads p;
  for (int i = 0; i < n; ++i) {
    if (w.auto_pad == AutoPad::NotSet) {
      p.begin.push_back(w.pads[i]);
      p.end.push_back(w.pads[n + i]);
    } else if (w.auto_pad == AutoPad::Valid) {
      p.begin.push_back(0);
      p.end.push_back(0);
    } else {
      int64_t total = std::max<int64_t>(0, (y[2 + i] - 1) * w.strides[i] + w.extent(i) - x[2 + i]);
      int64_t small = total / 2;
      p.begin.push_back(w.auto_pad == AutoPad::SameUpper ? small : total - small);
      p.end.push_back(total - p.begin.back());
    }
  }
  return p;
}

// ---- float conversions for the CPU paths ----------------------------------------------------
template <class T>
QDP_CPU_KERNEL void to_float(T const* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i]);
}
template <class T>
QDP_CPU_KERNEL void from_float(float const* x, T* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(x[i]);
}

// A float type's name, for messages.
inline void check_same_type(std::string_view op, std::string_view what, Tensor const& t,
                            DataType expected) {
  if (t.dtype != expected)
    fail("{}: input {} is {}, the other inputs are {}", op, what, name(t.dtype), name(expected));
}

}  // namespace qdp::ops::nn
