// Must compile: cdiv, min and max of ShapeExprs are found with the qdp:: prefix.
#include <qdp/shape_expr.hpp>

int main() {
  qdp::ShapeExpr n = qdp::ShapeExpr::input_dim(0, 0);
  qdp::ShapeExpr grid = qdp::cdiv(n, 256);
  qdp::ShapeExpr lo = qdp::min(n, 1);
  qdp::ShapeExpr hi = qdp::max(n, 1);
  qdp::ShapeExpr q = qdp::floordiv(n, 2);  // declared at namespace scope: already works
  return (grid == lo && hi == q) ? 1 : 0;
}
