#pragma once
// Integer +, -, * and negation that wrap around (two's complement), as numpy's do: signed
// overflow is undefined in C++, and a model's data must not make it so. Other types (floats,
// bool) compute as they are. Used by the element-wise operators and the integer MatMul/Gemm.
#include <type_traits>

#ifdef __CUDACC__
#define QDP_WRAPPING_HD __host__ __device__
#else
#define QDP_WRAPPING_HD
#endif

namespace qdp::detail {

template <class T>
constexpr bool kWraps = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
QDP_WRAPPING_HD T wrapping_add(T a, T b) {
  if constexpr (kWraps<T>)
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) +
                          static_cast<std::make_unsigned_t<T>>(b));
  else
    return static_cast<T>(a + b);
}
template <class T>
QDP_WRAPPING_HD T wrapping_sub(T a, T b) {
  if constexpr (kWraps<T>)
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) -
                          static_cast<std::make_unsigned_t<T>>(b));
  else
    return static_cast<T>(a - b);
}
template <class T>
QDP_WRAPPING_HD T wrapping_mul(T a, T b) {
  if constexpr (kWraps<T>)
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) *
                          static_cast<std::make_unsigned_t<T>>(b));
  else
    return static_cast<T>(a * b);
}
template <class T>
QDP_WRAPPING_HD T wrapping_neg(T a) {
  if constexpr (kWraps<T>)
    return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(a));
  else
    return static_cast<T>(-a);
}

}  // namespace qdp::detail
