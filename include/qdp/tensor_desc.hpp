#pragma once
// TensorDesc: what a tensor looks like at build time (SPEC §1). Shapes are symbolic; a desc
// callable receives its inputs' descs (read-only) and returns its outputs' descs, built with
// like(), aliased(), from_shape_expr() and size_tensor().
#include <memory>
#include <optional>
#include <qdp/api.hpp>
#include <qdp/data_type.hpp>
#include <qdp/error.hpp>
#include <qdp/shape_expr.hpp>
#include <vector>

namespace qdp {

// The most elements a shape value holds: integer tensors of rank <= 1 and at most this many
// elements are also shape values; a larger tensor is data, and a huge extent never becomes a host
// vector.
inline constexpr int64_t kMaxValueElements = 64;

// Opt and upper bound of a data-dependent extent.
struct QDP_API SizeTensorInfo {
  ShapeExpr opt;
  ShapeExpr upper_bound;
};

class QDP_API TensorDesc {
 public:
  DataType dtype = DataType::FP32;
  TensorFormat format = TensorFormat::LINEAR;
  SymbolicShape shape_expr;  // indexing past the rank throws qdp::Error
  // A shape tensor's elements (rank 0 or 1, integer), known at build time as shape expressions:
  // Shape's output, an integer constant, arithmetic on them. What Reshape, Expand or Slice read
  // from their shape inputs; empty when the values are only computed at run time. A desc may set
  // it on an output (with_value): a layer whose outputs all have values runs at build time.
  std::optional<SymbolicValues> value;  // indexing past the end throws qdp::Error

  TensorDesc() = default;
  TensorDesc(DataType type, std::vector<ShapeExpr> shape)
      : dtype(type), shape_expr(std::move(shape)) {}

  int rank() const { return static_cast<int>(shape_expr.size()); }
  TensorDesc with_format(TensorFormat f) const {
    TensorDesc d = *this;
    d.format = f;
    return d;
  }
  ShapeExpr numel() const { return qdp::numel(shape_expr); }
  bool has_value() const { return value.has_value(); }
  // This desc with its elements known: a 1-D tensor of v.size() elements (rank 0 when `scalar`).
  TensorDesc with_value(std::vector<ShapeExpr> v, bool scalar = false) const {
    TensorDesc d = *this;
    if (scalar && v.size() != 1) fail("a scalar value needs exactly one element");
    d.shape_expr = scalar ? std::vector<ShapeExpr>{}
                          : std::vector<ShapeExpr>{ShapeExpr(static_cast<int64_t>(v.size()))};
    d.value = std::move(v);
    return d;
  }

  // An output of the same type, format and shape as this tensor.
  TensorDesc like() const;
  // An output that *is* this input: it shares its memory (in-place). Only for input descs.
  TensorDesc aliased() const;

  // -- filled in by qdp --
  int input_index() const { return input_index_; }  // position among the plugin's inputs, or -1
  int aliased_input() const {
    return aliased_input_;
  }  // for an output: the input it aliases, or -1
  bool is_size_tensor() const { return size_ != nullptr; }
  SizeTensorInfo const& size_info() const;
  // A size tensor's value as a dimension expression (only for size_tensor() descs).
  ShapeExpr expr() const;
  void set_input_index(int i) { input_index_ = i; }

 private:
  friend QDP_API TensorDesc size_tensor(ShapeExpr opt, ShapeExpr upper_bound, DataType dtype);
  int input_index_ = -1;
  int aliased_input_ = -1;
  std::shared_ptr<const SizeTensorInfo> size_;  // also the identity of a pending size value
};

QDP_API TensorDesc from_shape_expr(std::vector<ShapeExpr> shape, DataType dtype);

// A scalar output whose value is an output extent known only after the plugin runs:
// autotuned at `opt`, at most `upper_bound`. It must also be returned as an output.
QDP_API TensorDesc size_tensor(ShapeExpr opt, ShapeExpr upper_bound,
                               DataType dtype = DataType::INT64);

}  // namespace qdp
