#pragma once
// The non_zero tests' inputs, reference and checks, shared by the CPU and GPU tests.
#include <gtest/gtest.h>

#include <qdp/qdp.hpp>
#include <random>
#include <vector>

namespace non_zero_test {

using namespace qdp;
inline constexpr char kPlugin[] = "sample::non_zero_plugin";

enum class Fill { Random, AllZero, NoZero };

// Values in ±[0.5, 2): exact in FP16 and far from zero, so that any type the autotuner picks
// keeps the zero pattern. Random: each entry zeroed with one random probability in [0, 1]
// (or `fraction` when given).
inline Array make_input(DataType dtype, int64_t rows, int64_t cols, Fill fill, std::mt19937& rng,
                        float fraction = -1.0f) {
  std::uniform_real_distribution<float> mag(0.5f, 2.0f), unit(0.0f, 1.0f);
  float zero_fraction = fill == Fill::AllZero  ? 1.0f
                        : fill == Fill::NoZero ? 0.0f
                        : fraction >= 0        ? fraction
                                               : unit(rng);
  Array a(dtype, {rows, cols});
  for (int64_t i = 0; i < a.numel(); ++i) {
    float v = mag(rng) * (rng() % 2 ? 1.0f : -1.0f);
    if (unit(rng) < zero_fraction) v = (rng() % 2) ? 0.0f : -0.0f;
    if (dtype == DataType::FP32)
      a.data<float>()[i] = v;
    else
      a.data<half>()[i] = half(v);
  }
  return a;
}

inline float value(Array const& a, int64_t i) {
  return a.dtype() == DataType::FP32 ? a.data<float>()[i] : static_cast<float>(a.data<half>()[i]);
}

// The expected pairs, flattened: row, column, row, column, ...
inline std::vector<int32_t> reference(Array const& x) {
  std::vector<int32_t> r;
  int64_t cols = x.shape()[1];
  for (int64_t i = 0; i < x.numel(); ++i)
    if (value(x, i) != 0.0f) {
      r.push_back(static_cast<int32_t>(i / cols));
      r.push_back(static_cast<int32_t>(i % cols));
    }
  return r;
}

inline Engine non_zero_engine(Device device, DataType dtype, int64_t rows, int64_t cols,
                              bool strict = true) {
  Network net;
  auto x = net.add_input("X", dtype, {rows, cols});
  auto out = net.add_plugin(kPlugin, {x});
  net.mark_output(out[0], "indices");
  net.mark_output(out[1], "count");
  BuildConfig config;
  config.device = device;
  config.strict_types = strict;
  return build_engine(net, config);
}

// Compares pairs with the reference; reports the first mismatch.
inline void expect_pairs(int32_t const* got, std::vector<int32_t> const& expected) {
  for (size_t k = 0; k < expected.size(); k += 2)
    if (got[k] != expected[k] || got[k + 1] != expected[k + 1]) {
      ADD_FAILURE() << "pair " << k / 2 << " is (" << got[k] << ", " << got[k + 1]
                    << "), expected (" << expected[k] << ", " << expected[k + 1] << ")";
      return;
    }
}

// Runs and compares with the host reference; returns N.
inline int64_t check(Runner& runner, Array const& x) {
  auto out = runner.infer({{"X", x}});
  auto expected = reference(x);
  int64_t n = static_cast<int64_t>(expected.size() / 2);
  Array const& count = out.at("count");
  Array const& indices = out.at("indices");
  EXPECT_EQ(count.dtype(), DataType::INT64);
  EXPECT_EQ(count.data<int64_t>()[0], n);
  EXPECT_EQ(indices.dtype(), DataType::INT32);
  EXPECT_EQ(indices.shape(), (Dims{n, 2}));
  if (indices.shape() == Dims{n, 2}) expect_pairs(indices.data<int32_t>(), expected);
  return n;
}

}  // namespace non_zero_test
