#pragma once
// What the standard ONNX operators (plugins in the `onnx` namespace) share: axis handling and
// numpy-style broadcasting of symbolic shapes. Each operator lives in its own file beside this
// one and is defined with the C++ front end like any user plugin.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <qdp/plugin.hpp>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "ops/cpu_dispatch.hpp"

namespace qdp::ops {

// Whether an extent is known and small enough for a value of that many elements
// (kMaxValueElements, include/qdp/tensor_desc.hpp).
inline bool is_value_extent(ShapeExpr const& e) {
  return e.is_constant() && e.constant() >= 0 && e.constant() <= kMaxValueElements;
}

// An ONNX axis in [-rank, rank) as a dimension index in [0, rank).
inline int normalize_axis(int64_t axis, int rank, std::string_view what = "axis") {
  if (axis < -rank || axis >= std::max(rank, 1))
    fail("{} {} is out of range for a tensor of rank {} (valid: {}..{})", what, axis, rank, -rank,
         std::max(rank, 1) - 1);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// The broadcast of two extents (numpy rules): equal, or one of them 1. Symbolic extents that
// cannot be told apart at build time broadcast to their max; the impl checks the run's shapes.
inline ShapeExpr broadcast_extent(ShapeExpr const& a, ShapeExpr const& b, std::string_view op) {
  if (a.is_constant() && a.constant() == 1) return b;
  if (b.is_constant() && b.constant() == 1) return a;
  if (a == b) return a;
  if (a.is_constant() && b.is_constant())
    fail("{}: shapes do not broadcast: extents {} and {} differ and neither is 1", op, a.constant(),
         b.constant());
  return max(a, b);
}

// The numpy broadcast of several shapes, aligned at their last dimension.
inline std::vector<ShapeExpr> broadcast_shapes(std::span<const TensorDesc> inputs,
                                               std::string_view op) {
  size_t rank = 0;
  for (auto const& d : inputs) rank = std::max(rank, d.shape_expr.size());
  std::vector<ShapeExpr> out(rank, ShapeExpr(1));
  for (auto const& d : inputs) {
    size_t shift = rank - d.shape_expr.size();
    for (size_t i = 0; i < d.shape_expr.size(); ++i)
      out[shift + i] = broadcast_extent(out[shift + i], d.shape_expr[i], op);
  }
  return out;
}

// The same at run time, with the check the symbolic form defers.
inline Dims broadcast_dims(std::span<const Dims> shapes, std::string_view op) {
  int rank = 0;
  for (auto const& s : shapes) rank = std::max(rank, s.rank());
  Dims out;
  for (int i = 0; i < rank; ++i) out.push_back(1);
  for (auto const& s : shapes) {
    int shift = rank - s.rank();
    for (int i = 0; i < s.rank(); ++i) {
      int64_t& o = out[shift + i];
      if (s[i] == o || s[i] == 1) continue;
      if (o != 1)
        fail("{}: shapes do not broadcast: extents {} and {} differ and neither is 1", op, o, s[i]);
      o = s[i];
    }
  }
  return out;
}

// An omitted optional ONNX input: the importer passes an empty INT64 tensor of shape [0] in its
// place. Ops take optional inputs as In<void> / untyped descs and test with these.
inline bool absent(TensorDesc const& d) {
  return d.rank() == 1 && d.shape_expr[0].is_constant() && d.shape_expr[0].constant() == 0;
}
inline bool absent(Tensor const& t) {
  return t.rank() == 1 && t.shape[0] == 0;
}

// Whether two descs can have one shape: the same rank and equal extents wherever both are known
// (a symbolic extent is checked when the impl runs). For operands that must not broadcast.
inline bool same_known_shape(TensorDesc const& a, TensorDesc const& b) {
  if (a.rank() != b.rank()) return false;
  for (size_t i = 0; i < a.shape_expr.size(); ++i) {
    auto const &ai = a.shape_expr[i], &bi = b.shape_expr[i];
    if (ai.is_constant() && bi.is_constant() && ai.constant() != bi.constant()) return false;
  }
  return true;
}

// Whether `in` broadcasts to `out` itself (numpy rules, aligned at the last dimension: each
// extent of `in` equal to out's or 1), at run time...
inline bool broadcasts_to(Dims const& in, Dims const& out) {
  int shift = out.rank() - in.rank();
  bool ok = shift >= 0;
  for (int i = 0; ok && i < in.rank(); ++i) ok = in[i] == out[shift + i] || in[i] == 1;
  return ok;
}
// ... and at build time, wherever both extents are known (a symbolic one is checked then).
inline bool may_broadcast_to(TensorDesc const& in, TensorDesc const& out) {
  if (in.rank() > out.rank()) return false;
  size_t shift = out.shape_expr.size() - in.shape_expr.size();
  for (size_t i = 0; i < in.shape_expr.size(); ++i) {
    auto const &a = in.shape_expr[i], &b = out.shape_expr[shift + i];
    if (a.is_constant() && b.is_constant() && a.constant() != 1 && a.constant() != b.constant())
      return false;
  }
  return true;
}

// Shape values through element-wise arithmetic (what torch exports compute on shapes: a batch
// times a head count, a sequence length minus one): the elements of `out` when both inputs are
// values and `out` is a small integer vector. Integer division truncates as ONNX's does; with a
// symbolic operand the dividend is an extent (>= 0), where truncation is floor division.
inline std::optional<std::vector<ShapeExpr>> binary_value(std::string_view op, TensorDesc const& a,
                                                          TensorDesc const& b,
                                                          TensorDesc const& out) {
  bool integer = out.dtype == DataType::INT64 || out.dtype == DataType::INT32;
  if (!a.value || !b.value || !integer || out.rank() > 1) return std::nullopt;
  size_t n = std::max(a.value->size(), b.value->size());
  if ((a.value->size() != n && a.value->size() != 1) ||
      (b.value->size() != n && b.value->size() != 1))
    return std::nullopt;
  std::vector<ShapeExpr> v;
  for (size_t i = 0; i < n; ++i) {
    ShapeExpr const& x = (*a.value)[a.value->size() == 1 ? 0 : i];
    ShapeExpr const& y = (*b.value)[b.value->size() == 1 ? 0 : i];
    if (op == "Add") {
      v.push_back(x + y);
    } else if (op == "Sub") {
      v.push_back(x - y);
    } else if (op == "Mul") {
      v.push_back(x * y);
    } else if (op == "Div") {
      if (y.is_constant() && y.constant() == 0) return std::nullopt;
      if (x.is_constant() && y.is_constant())
        v.emplace_back(x.constant() / y.constant());
      else
        v.push_back(x / y);
    } else {
      return std::nullopt;
    }
  }
  return v;
}

// ---- autotune: the float type an operator computes in ------------------------------------
// The combinations of an operator that computes in whichever float type it is given: the
// network's types, and the same with every FP32 position in FP16, and in BF16. Integer and bool
// positions (indices, shapes, conditions) keep their types, so a reduced-precision build never
// converts between integers and floats. The builder times the FP16 one only with
// BuildConfig::fp16 (qdpexec --fp16), the BF16 one only with BuildConfig::bf16 (--bf16); other
// builds keep the network's types. `layouts` as in AutoTuneCombination.
inline std::vector<AutoTuneCombination> float_type_combinations(
    std::span<const TensorDesc> ins, Outputs outs, std::string_view layouts = "LINEAR") {
  std::vector<DataType> natural;
  for (auto const& d : ins) natural.push_back(d.dtype);
  for (auto const& d : outs) natural.push_back(d.dtype);
  auto with_fp32_as = [&](DataType t) {
    std::string types;
    for (size_t p = 0; p < natural.size(); ++p)
      types +=
          fmt::format("{}{}", p ? ", " : "", name(natural[p] == DataType::FP32 ? t : natural[p]));
    return AutoTuneCombination(types, layouts);
  };
  std::vector<AutoTuneCombination> combinations{with_fp32_as(DataType::FP32)};
  if (std::find(natural.begin(), natural.end(), DataType::FP32) != natural.end()) {
    combinations.push_back(with_fp32_as(DataType::FP16));
    combinations.push_back(with_fp32_as(DataType::BF16));
  }
  return combinations;
}

// float_type_combinations as an autotune callable of an operator with `N` inputs:
// `.autotune(FloatTypes<2>{})`; `FloatTypes<1>{"LINEAR|HWC"}` for one that reads and writes
// every element alike (a unary map), where channels-last is as good as the network's layout.
template <size_t N, class = std::make_index_sequence<N>>
struct FloatTypes;
template <size_t N, size_t... I>
struct FloatTypes<N, std::index_sequence<I...>> {
  template <size_t>
  using Desc = TensorDesc;
  std::string_view layouts = "LINEAR";
  std::vector<AutoTuneCombination> operator()(Desc<I> const&... ins, Outputs outs) const {
    std::array<TensorDesc, N> all{ins...};
    return float_type_combinations(all, outs, layouts);
  }
};

}  // namespace qdp::ops
