#pragma once
// Checking outputs, as Polygraphy does: against a second engine (--compare cpu) or saved
// references (--loadOutputs), element by element as numpy.allclose: |a - b| <= atol + rtol * |b|,
// b the reference; NaN is close to nothing (equal_nan=False), an infinity only to itself.
#include <qdp/array.hpp>
#include <string>
#include <vector>

namespace qdp::tools {

struct Tolerance {
  double atol = 1e-5, rtol = 1e-5;
};

struct Comparison {
  std::string output;
  bool pass = false;
  std::string problem;  // a shape mismatch, say; empty when the elements were compared
  double max_abs = 0;   // max |a - b|
  double max_rel = 0;   // max |a - b| / |b| (infinite where b == 0 != a)
  int64_t mismatches = 0, numel = 0;
  int64_t worst = -1;  // flat index of the largest excess over the tolerance
  double worst_actual = 0, worst_expected = 0;
  Dims shape;
};

Comparison compare(std::string const& output, Array const& actual, Dims const& expected_shape,
                   std::vector<double> const& expected, Tolerance tolerance);

// Prints one line per output against `reference` (e.g. "the cpu reference engine"); returns the
// number of outputs that failed.
int report(std::vector<Comparison> const& results, std::string const& reference,
           Tolerance tolerance);

}  // namespace qdp::tools
