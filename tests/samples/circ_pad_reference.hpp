#pragma once
// The circ_pad tests' reference and inputs, shared by the CPU and GPU tests.
#include <gtest/gtest.h>

#include <cstring>
#include <qdp/array.hpp>
#include <vector>

namespace circ_pad_test {

using namespace qdp;
using Pads = std::vector<int32_t>;

// numpy.pad(x, mode="wrap"), the pads in torch F.pad order (last dimension first), on raw
// elements: y[o] = x[(o - begin) mod n] in every dimension.
inline Array reference(Array const& x, Pads const& pads) {
  int rank = x.shape().rank();
  Dims out = x.shape();
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0);
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    int d = rank - 1 - static_cast<int>(k);
    begin[static_cast<size_t>(d)] = pads[2 * k];
    out[d] += pads[2 * k] + pads[2 * k + 1];
  }
  Array y(x.dtype(), out);
  size_t size = element_size(x.dtype());
  auto const* src = static_cast<std::byte const*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  for (int64_t i = 0; i < y.numel(); ++i) {
    int64_t rest = i, at = 0, stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t o = rest % out[d], n = x.shape()[d];
      rest /= out[d];
      at += ((o - begin[static_cast<size_t>(d)]) % n + n) % n * stride;
      stride *= n;
    }
    std::memcpy(dst + static_cast<size_t>(i) * size, src + static_cast<size_t>(at) * size, size);
  }
  return y;
}

// Distinct values that every type holds exactly (so that a misplaced element shows).
inline Array iota(DataType dtype, Dims shape) {
  Array a(dtype, shape);
  for (int64_t i = 0; i < a.numel(); ++i) {
    float v = static_cast<float>(i % 1999) - 999.0f;
    switch (dtype) {
      case DataType::FP32:
        a.data<float>()[i] = v;
        break;
      case DataType::FP16:
        a.data<half>()[i] = half(v);
        break;
      case DataType::INT8:
        a.data<int8_t>()[i] = static_cast<int8_t>(i % 251 - 125);
        break;
      case DataType::INT64:
        a.data<int64_t>()[i] = i * 1000003;
        break;
      default:
        ADD_FAILURE() << "iota: no values for " << name(dtype);
    }
  }
  return a;
}

}  // namespace circ_pad_test
