#pragma once
// ShapeExpr: the small symbolic language of shapes (SPEC §1 "Shape expressions").
// Leaves are constants, dimensions of network inputs and values of size tensors; inner
// nodes are + - * floor-division cdiv min max. Constants fold as expressions are built, so a
// static network's shapes are plain numbers. Expressions evaluate against concrete input
// shapes and serialize to a stable text form that is stored in engines.
#include <cstdint>
#include <memory>
#include <qdp/api.hpp>
#include <qdp/dims.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

// What an expression is evaluated against: the shapes of the network inputs and the values
// of size tensors produced so far (indexed by the size tensor's id; a missing one is an error).
struct QDP_API ShapeEnv {
  std::span<const Dims> inputs;
  std::span<const int64_t> sizes;
};

class QDP_API ShapeExpr {
 public:
  enum class Op : uint8_t {
    Const,
    InputDim,
    Size,
    PendingSize,
    Add,
    Sub,
    Mul,
    FloorDiv,
    CDiv,
    Min,
    Max
  };

  ShapeExpr(int64_t constant = 0);  // NOLINT: a number is an expression
  ShapeExpr(int constant) : ShapeExpr(static_cast<int64_t>(constant)) {}  // NOLINT

  // Dimension `axis` of network input number `input`.
  static ShapeExpr input_dim(int input, int axis);
  // The value of size tensor `id` (ids are assigned by the builder).
  static ShapeExpr size_value(int id);

  bool is_constant() const;
  int64_t constant() const;  // throws qdp::Error unless is_constant()
  Op op() const;

  int64_t eval(ShapeEnv const& env) const;
  std::string to_string() const;  // for people: "(in0[0] * in0[1])"
  std::string serialize() const;  // stable text form, read back by parse()
  static ShapeExpr parse(std::string_view text);

  // Rewrites every leaf through `f` (used to bind size tensors to ids).
  template <class F>
  ShapeExpr map_leaves(F&& f) const;

  friend QDP_API ShapeExpr operator+(ShapeExpr const& a, ShapeExpr const& b);
  friend QDP_API ShapeExpr operator-(ShapeExpr const& a, ShapeExpr const& b);
  friend QDP_API ShapeExpr operator*(ShapeExpr const& a, ShapeExpr const& b);
  friend QDP_API ShapeExpr operator/(ShapeExpr const& a, ShapeExpr const& b);  // floor division
  friend QDP_API ShapeExpr cdiv(ShapeExpr const& a, ShapeExpr const& b);
  friend QDP_API ShapeExpr min(ShapeExpr const& a, ShapeExpr const& b);
  friend QDP_API ShapeExpr max(ShapeExpr const& a, ShapeExpr const& b);
  friend QDP_API bool operator==(ShapeExpr const& a, ShapeExpr const& b);  // structural

  struct Node;
  explicit ShapeExpr(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  Node const& node() const { return *node_; }
  std::shared_ptr<const Node> const& node_ptr() const { return node_; }

  // A size tensor not yet bound to an id: created by size_tensor(), identified by `token`.
  static ShapeExpr pending_size(std::shared_ptr<const void> token);

 private:
  std::shared_ptr<const Node> node_;
};

struct ShapeExpr::Node {
  Op op = Op::Const;
  int64_t value = 0;                     // Const: the value; InputDim: input; Size: id
  int axis = 0;                          // InputDim only
  std::shared_ptr<const void> token;     // PendingSize only
  std::shared_ptr<const Node> lhs, rhs;  // binary ops only
};

namespace detail {
// The qdp::Error for an index past the end of a TensorDesc's shape (`shape`) or value.
[[noreturn]] QDP_API void expr_index_error(bool shape, size_t index, size_t size);

// A std::vector of expressions whose element access (operator[], at, front, back) is
// bounds-checked: descs also run on shapes and values read from engine files (SPEC §5), so
// `x.shape_expr[3]` on a tensor of rank 2 is a qdp::Error, not a stray read.
template <bool Shape>
class CheckedExprs : public std::vector<ShapeExpr> {
 public:
  using Base = std::vector<ShapeExpr>;
  using Base::Base;
  CheckedExprs() = default;
  CheckedExprs(Base v) : Base(std::move(v)) {}  // NOLINT: any vector of expressions

  ShapeExpr& operator[](size_type i) { return Base::operator[](checked(i)); }
  ShapeExpr const& operator[](size_type i) const { return Base::operator[](checked(i)); }
  ShapeExpr& at(size_type i) { return (*this)[i]; }
  ShapeExpr const& at(size_type i) const { return (*this)[i]; }
  ShapeExpr& front() { return (*this)[0]; }
  ShapeExpr const& front() const { return (*this)[0]; }
  ShapeExpr& back() { return (*this)[size() - 1]; }
  ShapeExpr const& back() const { return (*this)[size() - 1]; }

 private:
  size_type checked(size_type i) const {
    if (i >= size()) expr_index_error(Shape, i, size());
    return i;
  }
};
}  // namespace detail

// A TensorDesc's shape, one expression per dimension (TensorDesc::shape_expr), and its value
// (TensorDesc::value): vectors whose indexing past the end throws qdp::Error.
using SymbolicShape = detail::CheckedExprs<true>;
using SymbolicValues = detail::CheckedExprs<false>;

// Also declared here, not only as friends, so that qdp::min(a, b) and friends are found by name.
QDP_API ShapeExpr cdiv(ShapeExpr const& a, ShapeExpr const& b);
QDP_API ShapeExpr min(ShapeExpr const& a, ShapeExpr const& b);
QDP_API ShapeExpr max(ShapeExpr const& a, ShapeExpr const& b);
QDP_API ShapeExpr numel(std::span<const ShapeExpr> shape);
inline ShapeExpr floordiv(ShapeExpr const& a, ShapeExpr const& b) {
  return a / b;
}
// Host-side ceil division, for launch grids.
constexpr int64_t cdiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

template <class F>
ShapeExpr ShapeExpr::map_leaves(F&& f) const {
  auto l = [&] { return ShapeExpr(node_->lhs).map_leaves(f); };
  auto r = [&] { return ShapeExpr(node_->rhs).map_leaves(f); };
  switch (node_->op) {
    case Op::Const:
    case Op::InputDim:
    case Op::Size:
    case Op::PendingSize:
      return f(*this);
    case Op::Add:
      return l() + r();
    case Op::Sub:
      return l() - r();
    case Op::Mul:
      return l() * r();
    case Op::FloorDiv:
      return l() / r();
    case Op::CDiv:
      return cdiv(l(), r());
    case Op::Min:
      return min(l(), r());
    case Op::Max:
      return max(l(), r());
  }
  return *this;
}

// Whether an expression depends on a size tensor's value (known only at run time).
inline bool uses_size_values(ShapeExpr const& e) {
  bool found = false;
  e.map_leaves([&](ShapeExpr const& leaf) {
    found |= leaf.op() == ShapeExpr::Op::Size;
    return leaf;
  });
  return found;
}

}  // namespace qdp
