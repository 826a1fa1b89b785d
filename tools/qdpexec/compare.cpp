#include "qdpexec/compare.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "qdpexec/npy.hpp"

namespace qdp::tools {
namespace {

// "[1, 0, 3]" for a flat index into `shape`.
std::string index_of(int64_t flat, Dims const& shape) {
  std::vector<int64_t> idx(static_cast<size_t>(shape.rank()));
  for (int d = shape.rank() - 1; d >= 0; --d) {
    int64_t extent = shape[d] > 0 ? shape[d] : 1;
    idx[static_cast<size_t>(d)] = flat % extent;
    flat /= extent;
  }
  std::string s;
  for (auto i : idx) s += (s.empty() ? "" : ", ") + std::to_string(i);
  return "[" + s + "]";
}

}  // namespace

Comparison compare(std::string const& output, Array const& actual, Dims const& expected_shape,
                   std::vector<double> const& expected, Tolerance tol) {
  Comparison c;
  c.output = output;
  c.shape = actual.shape();
  c.numel = actual.numel();
  if (!(actual.shape() == expected_shape)) {
    c.problem = fmt::format("shape {} but the reference has {}", to_string(actual.shape()),
                            to_string(expected_shape));
    return c;
  }
  std::vector<double> a = to_doubles(actual);
  double worst_excess = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < a.size(); ++i) {
    double x = a[i], y = expected[i];
    bool close;
    double diff, excess;
    if (std::isnan(x) || std::isnan(y)) {
      close = false;
      diff = std::numeric_limits<double>::quiet_NaN();
      excess = std::numeric_limits<double>::infinity();
    } else if (std::isinf(x) || std::isinf(y)) {
      close = x == y;
      diff = close ? 0 : std::numeric_limits<double>::infinity();
      excess = close ? 0 : std::numeric_limits<double>::infinity();
    } else {
      diff = std::abs(x - y);
      double allowed = tol.atol + tol.rtol * std::abs(y);
      close = diff <= allowed;
      excess = diff - allowed;
    }
    double rel = diff == 0 ? 0 : diff / std::abs(y);  // inf where y == 0, NaN stays NaN
    // NaN propagates into the maxima: a NaN anywhere must show.
    if (std::isnan(diff) || diff > c.max_abs) c.max_abs = diff;
    if (std::isnan(rel) || rel > c.max_rel) c.max_rel = rel;
    c.mismatches += !close;
    if (!close && excess > worst_excess) {
      worst_excess = excess;
      c.worst = static_cast<int64_t>(i);
      c.worst_actual = x;
      c.worst_expected = y;
    }
  }
  c.pass = c.mismatches == 0;
  return c;
}

int report(std::vector<Comparison> const& results, std::string const& reference, Tolerance tol) {
  int failed = 0;
  std::printf(
      "[I] Comparing against %s (atol = %g, rtol = %g: |out - ref| <= atol + rtol * |ref|)\n",
      reference.c_str(), tol.atol, tol.rtol);
  for (auto const& c : results) {
    failed += !c.pass;
    if (!c.problem.empty()) {
      std::printf("[E]   %s: FAIL: %s\n", c.output.c_str(), c.problem.c_str());
      continue;
    }
    std::printf("[%s]   %s: max abs error = %g, max rel error = %g: %s", c.pass ? "I" : "E",
                c.output.c_str(), c.max_abs, c.max_rel, c.pass ? "PASS" : "FAIL");
    if (!c.pass)
      std::printf(
          " (%lld of %lld elements outside the tolerance; worst at %s: %.9g, reference %.9g)",
          static_cast<long long>(c.mismatches), static_cast<long long>(c.numel),
          index_of(c.worst, c.shape).c_str(), c.worst_actual, c.worst_expected);
    std::printf("\n");
  }
  return failed;
}

}  // namespace qdp::tools
