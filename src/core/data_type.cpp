#include <bit>
#include <qdp/data_type.hpp>

namespace qdp {

std::string_view name(DataType t) {
  switch (t) {
    case DataType::FP32:
      return "FP32";
    case DataType::FP16:
      return "FP16";
    case DataType::BF16:
      return "BF16";
    case DataType::INT8:
      return "INT8";
    case DataType::UINT8:
      return "UINT8";
    case DataType::INT32:
      return "INT32";
    case DataType::INT64:
      return "INT64";
    case DataType::BOOL:
      return "BOOL";
  }
  return "?";
}

std::string_view name(TensorFormat f) {
  return f == TensorFormat::LINEAR ? "LINEAR" : "HWC";
}
std::string_view name(Device d) {
  return d == Device::CPU ? "cpu" : "cuda";
}

std::optional<DataType> parse_data_type(std::string_view s) {
  for (DataType t : kAllDataTypes)
    if (name(t) == s) return t;
  return std::nullopt;
}

std::optional<TensorFormat> parse_format(std::string_view s) {
  if (s == "LINEAR") return TensorFormat::LINEAR;
  if (s == "HWC") return TensorFormat::HWC;
  return std::nullopt;
}

std::optional<Device> parse_device(std::string_view s) {
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  return std::nullopt;
}

std::optional<DeviceSpec> parse_device_spec(std::string_view s) {
  if (auto d = parse_device(s)) return DeviceSpec{*d, 0};
  constexpr std::string_view kCuda = "cuda:";
  if (!s.starts_with(kCuda)) return std::nullopt;
  std::string_view digits = s.substr(kCuda.size());
  if (digits.empty() || digits.size() > 4) return std::nullopt;  // no machine has 10^4 GPUs
  int index = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + (c - '0');
  }
  return DeviceSpec{Device::CUDA, index};
}

std::string to_string(DeviceSpec const& d) {
  return d.device == Device::CPU ? "cpu" : "cuda:" + std::to_string(d.index);
}

namespace {
// Round-to-nearest-even truncation of a float's bits to 16 bits, shared by half and bfloat16.
uint16_t float_to_half_bits(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));  // inf / nan
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow to inf
  if (e <= 0) {                                                 // subnormal or zero
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half_mant = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_mant & 1u))) ++half_mant;
    return static_cast<uint16_t>(sign | half_mant);
  }
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: correct
  return static_cast<uint16_t>(h);
}

float half_bits_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    float f = static_cast<float>(mant) * (1.0f / 16777216.0f);  // mant * 2^-24
    return sign ? -f : f;
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}
}  // namespace

half::half(float f) : bits(float_to_half_bits(f)) {}
half::operator float() const {
  return half_bits_to_float(bits);
}

bfloat16::bfloat16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu)) {
    bits = static_cast<uint16_t>((x >> 16) | 0x40u);  // keep NaN a NaN
    return;
  }
  x += 0x7fffu + ((x >> 16) & 1u);
  bits = static_cast<uint16_t>(x >> 16);
}
bfloat16::operator float() const {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

}  // namespace qdp
