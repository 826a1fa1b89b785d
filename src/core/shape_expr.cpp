#include <algorithm>
#include <charconv>
#include <limits>
#include <qdp/error.hpp>
#include <qdp/shape_expr.hpp>

namespace qdp {
namespace {

using Op = ShapeExpr::Op;
using NodePtr = std::shared_ptr<const ShapeExpr::Node>;

NodePtr make_leaf(Op op, int64_t value, int axis = 0) {
  auto n = std::make_shared<ShapeExpr::Node>();
  n->op = op;
  n->value = value;
  n->axis = axis;
  return n;
}

int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) fail("shape expression divides by zero");
  if (a == std::numeric_limits<int64_t>::min() && b == -1)
    fail("shape expression overflows 64 bits in //");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Not -floor_div(-a, b): -a overflows for the most negative a.
int64_t ceil_div(int64_t a, int64_t b) {
  if (b == 0) fail("shape expression divides by zero");
  if (a == std::numeric_limits<int64_t>::min() && b == -1)
    fail("shape expression overflows 64 bits in cdiv");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) == (b < 0))) ++q;
  return q;
}

// Overflow is an error, never a wrapped extent (expressions also come from engine files).
[[noreturn]] void overflow(char const* what) {
  fail("shape expression overflows 64 bits in {}", what);
}

int64_t apply(Op op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case Op::Add:
      if (__builtin_add_overflow(a, b, &r)) overflow("+");
      return r;
    case Op::Sub:
      if (__builtin_sub_overflow(a, b, &r)) overflow("-");
      return r;
    case Op::Mul:
      if (__builtin_mul_overflow(a, b, &r)) overflow("*");
      return r;
    case Op::FloorDiv:
      return floor_div(a, b);
    case Op::CDiv:
      return ceil_div(a, b);
    case Op::Min:
      return std::min(a, b);
    case Op::Max:
      return std::max(a, b);
    default:
      break;
  }
  fail("internal error: {} is not a binary shape operator", static_cast<int>(op));
}

char const* symbol(Op op) {
  switch (op) {
    case Op::Add:
      return "+";
    case Op::Sub:
      return "-";
    case Op::Mul:
      return "*";
    case Op::FloorDiv:
      return "//";
    case Op::CDiv:
      return "cdiv";
    case Op::Min:
      return "min";
    case Op::Max:
      return "max";
    default:
      return "?";
  }
}

bool is_const(ShapeExpr const& e, int64_t v) {
  return e.is_constant() && e.constant() == v;
}

// Builds a binary node, folding constants and the identities that keep static shapes plain.
ShapeExpr binary(Op op, ShapeExpr const& a, ShapeExpr const& b) {
  if (a.is_constant() && b.is_constant()) return ShapeExpr(apply(op, a.constant(), b.constant()));
  switch (op) {
    case Op::Add:
      if (is_const(a, 0)) return b;
      if (is_const(b, 0)) return a;
      break;
    case Op::Sub:
      if (is_const(b, 0)) return a;
      break;
    case Op::Mul:
      if (is_const(a, 1)) return b;
      if (is_const(b, 1)) return a;
      if (is_const(a, 0) || is_const(b, 0)) return ShapeExpr(0);
      break;
    case Op::FloorDiv:
    case Op::CDiv:
      if (is_const(b, 1)) return a;
      break;
    default:
      break;
  }
  auto n = std::make_shared<ShapeExpr::Node>();
  n->op = op;
  n->lhs = a.node_ptr();
  n->rhs = b.node_ptr();
  return ShapeExpr(NodePtr(std::move(n)));
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  ShapeExpr parse_all() {
    ShapeExpr e = parse();
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the expression");
    return e;
  }

 private:
  [[noreturn]] void error(std::string_view what) const {
    fail("bad shape expression '{}' at offset {}: {}", text_, pos_, what);
  }
  void skip_space() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  int64_t number() {
    skip_space();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), v);
    if (ec != std::errc()) error("expected a number");
    pos_ = static_cast<size_t>(end - text_.data());
    return v;
  }
  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) error(std::string("expected '") + c + "'");
    ++pos_;
  }
  ShapeExpr parse() {
    skip_space();
    if (pos_ >= text_.size()) error("unexpected end");
    char c = text_[pos_];
    if (c == 'd') {  // d<input>.<axis>
      ++pos_;
      int64_t input = number();
      expect('.');
      int64_t axis = number();
      if (input < 0 || input > std::numeric_limits<int>::max() || axis < 0 || axis >= kMaxRank)
        error("input dimension out of range");
      return ShapeExpr::input_dim(static_cast<int>(input), static_cast<int>(axis));
    }
    if (c == 's') {
      ++pos_;
      int64_t id = number();
      if (id < 0 || id > std::numeric_limits<int>::max()) error("size tensor id out of range");
      return ShapeExpr::size_value(static_cast<int>(id));
    }
    if (c == '(') {
      // Engine files are untrusted input: bound the recursion.
      if (++depth_ > kMaxDepth) error("expression nested too deeply");
      ++pos_;
      skip_space();
      size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != ' ') ++pos_;
      std::string_view name = text_.substr(start, pos_ - start);
      static constexpr Op kOps[] = {Op::Add,  Op::Sub, Op::Mul, Op::FloorDiv,
                                    Op::CDiv, Op::Min, Op::Max};
      auto it =
          std::find_if(std::begin(kOps), std::end(kOps), [&](Op op) { return name == symbol(op); });
      if (it == std::end(kOps)) error("unknown operator");
      ShapeExpr a = parse();
      ShapeExpr b = parse();
      expect(')');
      --depth_;
      return binary(*it, a, b);
    }
    return ShapeExpr(number());
  }

  static constexpr int kMaxDepth = 256;
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

ShapeExpr::ShapeExpr(int64_t constant) : node_(make_leaf(Op::Const, constant)) {}
ShapeExpr ShapeExpr::input_dim(int input, int axis) {
  if (input < 0 || axis < 0 || axis >= kMaxRank)
    fail("input_dim({}, {}): input and axis must be >= 0, axis < {}", input, axis, kMaxRank);
  return ShapeExpr(make_leaf(Op::InputDim, input, axis));
}
ShapeExpr ShapeExpr::size_value(int id) {
  if (id < 0) fail("size_value({}): a size tensor id is >= 0", id);
  return ShapeExpr(make_leaf(Op::Size, id));
}
ShapeExpr ShapeExpr::pending_size(std::shared_ptr<const void> token) {
  auto n = std::make_shared<Node>();
  n->op = Op::PendingSize;
  n->token = std::move(token);
  return ShapeExpr(NodePtr(std::move(n)));
}

bool ShapeExpr::is_constant() const {
  return node_->op == Op::Const;
}
ShapeExpr::Op ShapeExpr::op() const {
  return node_->op;
}

int64_t ShapeExpr::constant() const {
  if (!is_constant()) fail("shape expression {} is not a constant", to_string());
  return node_->value;
}

int64_t ShapeExpr::eval(ShapeEnv const& env) const {
  Node const& n = *node_;
  switch (n.op) {
    case Op::Const:
      return n.value;
    case Op::InputDim:
      if (n.value >= static_cast<int64_t>(env.inputs.size()) ||
          n.axis >= env.inputs[static_cast<size_t>(n.value)].rank())
        fail("shape expression {} refers to a dimension that is not known", to_string());
      return env.inputs[static_cast<size_t>(n.value)][n.axis];
    case Op::Size:
      if (n.value >= static_cast<int64_t>(env.sizes.size()) ||
          env.sizes[static_cast<size_t>(n.value)] < 0)
        fail("shape expression {} needs size tensor s{}, whose value is not known yet", to_string(),
             n.value);
      return env.sizes[static_cast<size_t>(n.value)];
    case Op::PendingSize:
      fail("shape expression uses a size tensor that was not returned as an output of its plugin");
    default:
      return apply(n.op, ShapeExpr(n.lhs).eval(env), ShapeExpr(n.rhs).eval(env));
  }
}

std::string ShapeExpr::to_string() const {
  Node const& n = *node_;
  switch (n.op) {
    case Op::Const:
      return std::to_string(n.value);
    case Op::InputDim:
      return fmt::format("in{}[{}]", n.value, n.axis);
    case Op::Size:
      return fmt::format("size{}", n.value);
    case Op::PendingSize:
      return "size?";
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::FloorDiv:
      return fmt::format("({} {} {})", ShapeExpr(n.lhs).to_string(), symbol(n.op),
                         ShapeExpr(n.rhs).to_string());
    default:
      return fmt::format("{}({}, {})", symbol(n.op), ShapeExpr(n.lhs).to_string(),
                         ShapeExpr(n.rhs).to_string());
  }
}

std::string ShapeExpr::serialize() const {
  Node const& n = *node_;
  switch (n.op) {
    case Op::Const:
      return std::to_string(n.value);
    case Op::InputDim:
      return fmt::format("d{}.{}", n.value, n.axis);
    case Op::Size:
      return fmt::format("s{}", n.value);
    case Op::PendingSize:
      fail("cannot serialize a size tensor that was not returned as a plugin output");
    default:
      return fmt::format("({} {} {})", symbol(n.op), ShapeExpr(n.lhs).serialize(),
                         ShapeExpr(n.rhs).serialize());
  }
}

ShapeExpr ShapeExpr::parse(std::string_view text) {
  return Parser(text).parse_all();
}

ShapeExpr operator+(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::Add, a, b);
}
ShapeExpr operator-(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::Sub, a, b);
}
ShapeExpr operator*(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::Mul, a, b);
}
ShapeExpr operator/(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::FloorDiv, a, b);
}
ShapeExpr cdiv(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::CDiv, a, b);
}
ShapeExpr min(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::Min, a, b);
}
ShapeExpr max(ShapeExpr const& a, ShapeExpr const& b) {
  return binary(Op::Max, a, b);
}

bool operator==(ShapeExpr const& a, ShapeExpr const& b) {
  ShapeExpr::Node const& x = a.node();
  ShapeExpr::Node const& y = b.node();
  if (x.op != y.op) return false;
  switch (x.op) {
    case Op::Const:
    case Op::Size:
      return x.value == y.value;
    case Op::InputDim:
      return x.value == y.value && x.axis == y.axis;
    case Op::PendingSize:
      return x.token == y.token;
    default:
      return ShapeExpr(x.lhs) == ShapeExpr(y.lhs) && ShapeExpr(x.rhs) == ShapeExpr(y.rhs);
  }
}

void detail::expr_index_error(bool shape, size_t index, size_t size) {
  auto i = static_cast<std::ptrdiff_t>(index);  // a negative int index wrapped around: show it
  if (!shape) fail("value[{}] is out of range: the value has {} element(s)", i, size);
  fail("shape_expr[{}] is out of range: the tensor has rank {}{}", i, size,
       size == 0 ? " (no dimensions)" : fmt::format(" (dimensions 0..{})", size - 1));
}

ShapeExpr numel(std::span<const ShapeExpr> shape) {
  ShapeExpr n(1);
  for (auto const& d : shape) n = n * d;
  return n;
}

}  // namespace qdp
