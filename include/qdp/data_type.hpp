#pragma once
// Element types, tensor formats and devices: the vocabulary shared by every layer.
#include <cstdint>
#include <cstring>
#include <optional>
#include <qdp/api.hpp>
#include <string>
#include <string_view>
#include <type_traits>

namespace qdp {

enum class DataType : uint8_t { FP32, FP16, BF16, INT8, UINT8, INT32, INT64, BOOL };
inline constexpr DataType kAllDataTypes[] = {DataType::FP32,  DataType::FP16,  DataType::BF16,
                                             DataType::INT8,  DataType::UINT8, DataType::INT32,
                                             DataType::INT64, DataType::BOOL};

// LINEAR is the dense row-major layout of the logical shape; HWC is channels-last of a
// rank-4 NCHW tensor (memory order N, H, W, C).
enum class TensorFormat : uint8_t { LINEAR, HWC };

enum class Device : uint8_t { CPU, CUDA };

constexpr size_t element_size(DataType t) {
  switch (t) {
    case DataType::FP32:
    case DataType::INT32:
      return 4;
    case DataType::FP16:
    case DataType::BF16:
      return 2;
    case DataType::INT8:
    case DataType::UINT8:
    case DataType::BOOL:
      return 1;
    case DataType::INT64:
      return 8;
  }
  return 0;
}

constexpr bool is_floating_point(DataType t) {
  return t == DataType::FP32 || t == DataType::FP16 || t == DataType::BF16;
}

QDP_API std::string_view name(DataType t);      // "FP32", ... (the autotune grammar's names)
QDP_API std::string_view name(TensorFormat f);  // "LINEAR", "HWC"
QDP_API std::string_view name(Device d);        // "cpu", "cuda"
QDP_API std::optional<DataType> parse_data_type(std::string_view s);
QDP_API std::optional<TensorFormat> parse_format(std::string_view s);
QDP_API std::optional<Device> parse_device(std::string_view s);

// A device and, on CUDA, which GPU: what "cpu", "cuda" and "cuda:1" name (as in torch.device).
struct DeviceSpec {
  Device device = Device::CPU;
  int index = 0;
  friend bool operator==(DeviceSpec const&, DeviceSpec const&) = default;
};
// "cpu", "cuda", "cuda:N"; nullopt for anything else ("cpu:1" included).
QDP_API std::optional<DeviceSpec> parse_device_spec(std::string_view s);
QDP_API std::string to_string(DeviceSpec const& d);  // "cpu", "cuda:1"

// Host-side 16-bit floats. Layout-compatible with CUDA's __half / __nv_bfloat16 so a
// buffer can be viewed as either; conversions round to nearest even.
struct QDP_API half {
  uint16_t bits = 0;
  half() = default;
  half(float f);  // NOLINT: implicit like a built-in float type
  operator float() const;
};
struct QDP_API bfloat16 {
  uint16_t bits = 0;
  bfloat16() = default;
  bfloat16(float f);  // NOLINT
  operator float() const;
};

// The DataType of a C++ element type; specialised for CUDA's types in qdp/cuda.hpp.
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DataType value = DataType::FP32;
};
template <>
struct dtype_of<half> {
  static constexpr DataType value = DataType::FP16;
};
template <>
struct dtype_of<bfloat16> {
  static constexpr DataType value = DataType::BF16;
};
template <>
struct dtype_of<int8_t> {
  static constexpr DataType value = DataType::INT8;
};
template <>
struct dtype_of<uint8_t> {
  static constexpr DataType value = DataType::UINT8;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DataType value = DataType::INT32;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DataType value = DataType::INT64;
};
template <>
struct dtype_of<bool> {
  static constexpr DataType value = DataType::BOOL;
};

template <class T>
concept Element = requires {
  dtype_of<std::remove_cv_t<T>>::value;
};

template <class T>
inline constexpr DataType dtype_v = dtype_of<std::remove_cv_t<T>>::value;

}  // namespace qdp
