// The CPU backend's reformats: every type pair converts like a C++ cast, and LINEAR <-> HWC
// round trips restore the input for every type.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "backends/backend.hpp"

namespace {

using namespace qdp;

Tensor host_tensor(std::vector<std::byte>& storage, DataType dtype, TensorFormat format,
                   Dims shape) {
  storage.assign(static_cast<size_t>(shape.numel()) * element_size(dtype), std::byte{0});
  return Tensor{storage.data(), dtype, format, Device::CPU, shape, dense_strides(shape, format)};
}

class HostLayoutRoundTrip : public ::testing::TestWithParam<DataType> {};

TEST_P(HostLayoutRoundTrip, LinearToHwcAndBackRestoresTheInput) {
  DataType dtype = GetParam();
  Dims shape{2, 5, 3, 7};
  std::vector<std::byte> a, b, c, values_storage;
  // Small integers: exact in every type.
  Tensor values = host_tensor(values_storage, DataType::FP32, TensorFormat::LINEAR, shape);
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(0, 100);
  for (int64_t i = 0; i < shape.numel(); ++i)
    static_cast<float*>(values.data)[i] = static_cast<float>(dist(rng));
  Tensor linear = host_tensor(a, dtype, TensorFormat::LINEAR, shape);
  Tensor hwc = host_tensor(b, dtype, TensorFormat::HWC, shape);
  Tensor back = host_tensor(c, dtype, TensorFormat::LINEAR, shape);
  detail::reformat_on_host(values, linear);
  detail::reformat_on_host(linear, hwc);
  detail::reformat_on_host(hwc, back);
  EXPECT_EQ(a, c);
  // In HWC memory order, element (n, c, h, w) sits at ((n * H + h) * W + w) * C + c.
  std::vector<std::byte> f;
  Tensor hwc_as_float = host_tensor(f, DataType::FP32, TensorFormat::HWC, shape);
  detail::reformat_on_host(hwc, hwc_as_float);
  auto const* v = static_cast<float const*>(values.data);
  auto const* h = static_cast<float const*>(hwc_as_float.data);
  auto expected = [&](float x) { return dtype == DataType::BOOL ? (x != 0 ? 1.0f : 0.0f) : x; };
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t ch = 0; ch < 5; ++ch)
      for (int64_t y = 0; y < 3; ++y)
        for (int64_t x = 0; x < 7; ++x)
          ASSERT_EQ(h[((n * 3 + y) * 7 + x) * 5 + ch], expected(v[((n * 5 + ch) * 3 + y) * 7 + x]));
}

INSTANTIATE_TEST_SUITE_P(EveryType, HostLayoutRoundTrip, ::testing::ValuesIn(kAllDataTypes),
                         [](auto const& info) { return std::string(name(info.param)); });

TEST(HostReformat, CastsLikeCpp) {
  std::vector<std::byte> a, b;
  Tensor src = host_tensor(a, DataType::FP32, TensorFormat::LINEAR, {4});
  Tensor dst = host_tensor(b, DataType::INT8, TensorFormat::LINEAR, {4});
  float in[] = {-3.7f, 0.2f, 5.9f, 100.0f};
  std::copy(in, in + 4, static_cast<float*>(src.data));
  detail::reformat_on_host(src, dst);
  auto const* out = static_cast<int8_t const*>(dst.data);
  EXPECT_EQ(out[0], -3);
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], 5);
  EXPECT_EQ(out[3], 100);
}

// The same type moves bit for bit between layouts: INT64 beyond 2^53 (not exact as a double).
TEST(HostReformat, Int64BeyondTwoToThe53MovesExactly) {
  std::vector<std::byte> a, b, c;
  Dims shape{1, 3, 2, 2};
  Tensor linear = host_tensor(a, DataType::INT64, TensorFormat::LINEAR, shape);
  Tensor hwc = host_tensor(b, DataType::INT64, TensorFormat::HWC, shape);
  Tensor back = host_tensor(c, DataType::INT64, TensorFormat::LINEAR, shape);
  auto* v = static_cast<int64_t*>(linear.data);
  for (int64_t i = 0; i < shape.numel(); ++i) v[i] = (int64_t{1} << 53) + 2 * i + 1;
  detail::reformat_on_host(linear, hwc);
  detail::reformat_on_host(hwc, back);
  EXPECT_EQ(static_cast<int64_t const*>(hwc.data)[1], v[4]);  // (0, 1, 0, 0) follows (0, 0, 0, 0)
  EXPECT_EQ(a, c);
}

// Out of the target's range, a float converts as onnx::Cast converts it
// (core/float_to_integer.hpp): through int64 (NaN 0, saturated beyond int64), then truncated; C++'s
// cast is undefined there (a fuzz_onnx finding: UBSan, -1 to UINT8).
TEST(HostReformat, OutOfRangeFloatsConvertAsCastDoes) {
  std::vector<std::byte> a, b, c;
  Tensor src = host_tensor(a, DataType::FP32, TensorFormat::LINEAR, {5});
  Tensor u8 = host_tensor(b, DataType::UINT8, TensorFormat::LINEAR, {5});
  Tensor i32 = host_tensor(c, DataType::INT32, TensorFormat::LINEAR, {5});
  float in[] = {-1.0f, 300.0f, std::numeric_limits<float>::quiet_NaN(), 1e30f, -1e30f};
  std::copy(in, in + 5, static_cast<float*>(src.data));
  detail::reformat_on_host(src, u8);
  detail::reformat_on_host(src, i32);
  auto const* o8 = static_cast<uint8_t const*>(u8.data);
  EXPECT_EQ(o8[0], 255);  // -1 -> int64 -1 -> 0xff
  EXPECT_EQ(o8[1], 44);   // 300 mod 256
  EXPECT_EQ(o8[2], 0);
  EXPECT_EQ(o8[3], 255);  // INT64_MAX's low byte
  EXPECT_EQ(o8[4], 0);    // INT64_MIN's low byte
  auto const* o32 = static_cast<int32_t const*>(i32.data);
  EXPECT_EQ(o32[0], -1);
  EXPECT_EQ(o32[1], 300);
  EXPECT_EQ(o32[2], 0);
  EXPECT_EQ(o32[3], -1);  // INT64_MAX's low 32 bits
  EXPECT_EQ(o32[4], 0);
}

}  // namespace
