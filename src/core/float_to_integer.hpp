#pragma once
// How qdp turns a floating-point value into an integer wherever it does (onnx::Cast, the
// reformats of both backends): through int64, where NaN gives 0 and values beyond its range
// saturate (C++ leaves both undefined), then truncated to the target's width as numpy's astype
// does (a conversion C++20 defines as modular).
#include <cstdint>

#ifdef __CUDACC__
#define QDP_FLOAT_TO_INTEGER_HD __host__ __device__
#else
#define QDP_FLOAT_TO_INTEGER_HD
#endif

namespace qdp::detail {

template <class Float>
QDP_FLOAT_TO_INTEGER_HD inline int64_t float_to_int64(Float v) {
  constexpr Float two_63 = Float(9223372036854775808.0);  // exact in float and double
  return v != v ? 0 : v >= two_63 ? INT64_MAX : v < -two_63 ? INT64_MIN : static_cast<int64_t>(v);
}

}  // namespace qdp::detail
