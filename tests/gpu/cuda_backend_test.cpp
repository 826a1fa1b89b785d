// Tests of the CUDA backend: memory and copies, every reformat against the host reference
// (reformat_on_host), event timing and CUDA error reporting. Skipped where no GPU is usable.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <qdp/device_buffer.hpp>
#include <qdp/error.hpp>
#include <qdp/tensor.hpp>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backends/backend.hpp"

namespace qdp {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr TensorFormat kFormats[] = {TensorFormat::LINEAR, TensorFormat::HWC};

// A dense tensor in host memory that owns its bytes.
class HostTensor {
 public:
  HostTensor(DataType dtype, TensorFormat format, Dims const& shape)
      : bytes_(static_cast<size_t>(shape.numel()) * element_size(dtype)),
        tensor_{bytes_.data(), dtype, format, Device::CPU, shape, dense_strides(shape, format)} {}
  HostTensor(HostTensor&&) = default;  // a moved vector keeps its buffer: tensor_ stays valid

  Tensor const& tensor() const { return tensor_; }
  Tensor& tensor() { return tensor_; }
  std::vector<std::byte> const& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
  Tensor tensor_;
};

// A dense tensor in GPU memory that owns its buffer.
class DeviceTensor {
 public:
  DeviceTensor(DataType dtype, TensorFormat format, Dims const& shape)
      : buffer_(Device::CUDA, static_cast<size_t>(shape.numel()) * element_size(dtype)),
        tensor_{buffer_.data(), dtype, format, Device::CUDA, shape, dense_strides(shape, format)} {}

  Tensor const& tensor() const { return tensor_; }
  DeviceBuffer& buffer() { return buffer_; }

  std::vector<std::byte> download() const {
    std::vector<std::byte> bytes(buffer_.size());
    buffer_.copy_to_host(bytes.data(), bytes.size());
    return bytes;
  }

 private:
  DeviceBuffer buffer_;
  Tensor tensor_;
};

// Integers in [0, 8): exact in every type, so every conversion has one right answer; zeros
// included so that BOOL sees both values.
HostTensor random_tensor(DataType dtype, TensorFormat format, Dims const& shape,
                         std::mt19937& rng) {
  HostTensor values(DataType::FP32, TensorFormat::LINEAR, shape);
  std::uniform_int_distribution<int> digit(0, 7);
  auto* data = static_cast<float*>(values.tensor().data);
  for (int64_t i = 0; i < shape.numel(); ++i) data[i] = static_cast<float>(digit(rng));
  HostTensor result(dtype, format, shape);
  detail::reformat_on_host(values.tensor(), result.tensor());
  return result;
}

void fill(DeviceBuffer& buffer, std::byte value) {
  std::vector<std::byte> const bytes(buffer.size(), value);
  buffer.copy_from_host(bytes.data(), bytes.size());
}

DeviceTensor upload(HostTensor const& host) {
  Tensor const& t = host.tensor();
  DeviceTensor device(t.dtype, t.format, t.shape);
  device.buffer().copy_from_host(host.bytes().data(), host.bytes().size());
  return device;
}

// Reformats on the host what `src` holds into `format` and `dtype`: the expected bytes.
std::vector<std::byte> host_reformat(HostTensor const& src, DataType dtype, TensorFormat format) {
  HostTensor expected(dtype, format, src.tensor().shape);
  detail::reformat_on_host(src.tensor(), expected.tensor());
  return expected.bytes();
}

template <class T>
T read(std::byte const* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// One element as a readable value, for failure messages.
std::string element_string(std::byte const* p, DataType dtype) {
  switch (dtype) {
    case DataType::FP32:
      return fmt::format("{}", read<float>(p));
    case DataType::FP16:
      return fmt::format("{}", static_cast<float>(read<half>(p)));
    case DataType::BF16:
      return fmt::format("{}", static_cast<float>(read<bfloat16>(p)));
    case DataType::INT8:
      return fmt::format("{}", read<int8_t>(p));
    case DataType::UINT8:
      return fmt::format("{}", read<uint8_t>(p));
    case DataType::INT32:
      return fmt::format("{}", read<int32_t>(p));
    case DataType::INT64:
      return fmt::format("{}", read<int64_t>(p));
    case DataType::BOOL:
      return fmt::format("{}", read<uint8_t>(p));  // the byte itself
  }
  return "?";
}

::testing::AssertionResult same_elements(std::vector<std::byte> const& actual,
                                         std::vector<std::byte> const& expected, DataType dtype) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << actual.size() << " bytes, expected " << expected.size();
  }
  size_t const size = element_size(dtype);
  for (size_t i = 0; i < actual.size(); i += size) {
    if (std::memcmp(&actual[i], &expected[i], size) != 0) {
      return ::testing::AssertionFailure() << name(dtype) << " element " << i / size << " is "
                                           << element_string(&actual[i], dtype) << ", expected "
                                           << element_string(&expected[i], dtype);
    }
  }
  return ::testing::AssertionSuccess();
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
  static detail::Backend& gpu() { return detail::backend(Device::CUDA); }

  std::mt19937 rng_{2024};
};

TEST_F(CudaBackendTest, AllocatesAndCopiesRoundTrip) {
  EXPECT_EQ(gpu().device(), Device::CUDA);
  auto deallocate = [](void* p) { gpu().deallocate(p); };
  using DeviceMemory = std::unique_ptr<void, decltype(deallocate)>;

  std::vector<uint8_t> host(1000);
  for (uint8_t& b : host) b = static_cast<uint8_t>(rng_());
  DeviceMemory a(gpu().allocate(host.size()), deallocate);
  DeviceMemory b(gpu().allocate(host.size()), deallocate);
  gpu().copy_from_host(a.get(), host.data(), host.size());
  gpu().copy(b.get(), a.get(), host.size(), Stream{});
  gpu().copy(b.get(), b.get(), host.size(), Stream{});  // a no-op
  gpu().synchronize(Stream{});
  std::vector<uint8_t> back(host.size());
  gpu().copy_to_host(back.data(), b.get(), back.size());
  EXPECT_EQ(back, host);

  DeviceMemory empty(gpu().allocate(0), deallocate);
  EXPECT_NE(empty.get(), nullptr);
}

// Every type pair, from every format to every format: on (2,3,5,7), whose 3 channels take the
// slab transpose, and on (2,40,6,7), which takes the tiled one.
class CudaReformatTest
    : public CudaBackendTest,
      public ::testing::WithParamInterface<std::tuple<Dims, TensorFormat, TensorFormat>> {};

TEST_P(CudaReformatTest, MatchesTheHostForEveryTypePair) {
  auto const& [shape, src_format, dst_format] = GetParam();
  for (DataType from : kAllDataTypes) {
    HostTensor const src = random_tensor(from, src_format, shape, rng_);
    DeviceTensor const device_src = upload(src);
    for (DataType to : kAllDataTypes) {
      SCOPED_TRACE(fmt::format("{} -> {}", name(from), name(to)));
      DeviceTensor dst(to, dst_format, shape);
      fill(dst.buffer(), std::byte{0xA5});  // so that an element left unwritten shows
      gpu().reformat(device_src.tensor(), dst.tensor(), Stream{});
      gpu().synchronize(Stream{});
      EXPECT_TRUE(same_elements(dst.download(), host_reformat(src, to, dst_format), to));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ShapesAndFormats, CudaReformatTest,
                         ::testing::Combine(::testing::Values(Dims{2, 3, 5, 7}, Dims{2, 40, 6, 7}),
                                            ::testing::ValuesIn(kFormats),
                                            ::testing::ValuesIn(kFormats)),
                         [](auto const& info) {  // "2x3x5x7_LINEAR_to_HWC"
                           return fmt::format("{}_{}_to_{}", to_string(std::get<0>(info.param)),
                                              name(std::get<1>(info.param)),
                                              name(std::get<2>(info.param)));
                         });

// LINEAR -> HWC -> LINEAR per type: slabs, partial and whole tiles,
// and C == 1 (both formats stored alike).
class CudaLayoutRoundTripTest : public CudaBackendTest,
                                public ::testing::WithParamInterface<Dims> {};

TEST_P(CudaLayoutRoundTripTest, MatchesTheHostAndRestoresTheInput) {
  Dims const shape = GetParam();
  for (DataType dtype : kAllDataTypes) {
    SCOPED_TRACE(name(dtype));
    HostTensor const linear = random_tensor(dtype, TensorFormat::LINEAR, shape, rng_);
    DeviceTensor const device_linear = upload(linear);
    DeviceTensor const hwc(dtype, TensorFormat::HWC, shape);
    DeviceTensor const back(dtype, TensorFormat::LINEAR, shape);
    gpu().reformat(device_linear.tensor(), hwc.tensor(), Stream{});
    gpu().reformat(hwc.tensor(), back.tensor(), Stream{});
    gpu().synchronize(Stream{});
    EXPECT_TRUE(
        same_elements(hwc.download(), host_reformat(linear, dtype, TensorFormat::HWC), dtype));
    EXPECT_TRUE(same_elements(back.download(), linear.bytes(), dtype));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaLayoutRoundTripTest,
                         ::testing::Values(Dims{2, 3, 5, 7}, Dims{4, 64, 33, 31},
                                           Dims{2, 128, 16, 8}, Dims{2, 1, 5, 7}),
                         [](auto const& info) { return to_string(info.param); });  // "2x3x5x7"

// Bytes for a LINEAR tensor of `shape` stored one element past the buffer's start.
size_t device_bytes_with_offset(Dims const& shape, DataType dtype) {
  return static_cast<size_t>(shape.numel() + 1) * element_size(dtype);
}

TEST_F(CudaBackendTest, CastsFromUnalignedPointersLikeTheHost) {
  // One element past an aligned start: the cast kernel cannot use its vector accesses.
  Dims const shape{1003};
  for (auto [from, to] :
       {std::pair{DataType::FP32, DataType::FP16}, std::pair{DataType::INT8, DataType::UINT8},
        std::pair{DataType::INT64, DataType::BF16}}) {
    SCOPED_TRACE(fmt::format("{} -> {}", name(from), name(to)));
    HostTensor const src = random_tensor(from, TensorFormat::LINEAR, shape, rng_);
    DeviceBuffer src_buffer(Device::CUDA, device_bytes_with_offset(shape, from));
    DeviceBuffer dst_buffer(Device::CUDA, device_bytes_with_offset(shape, to));
    src_buffer.copy_from_host(src.bytes().data(), src.bytes().size(), element_size(from));
    Tensor device_src = src.tensor();
    device_src.data = static_cast<std::byte*>(src_buffer.data()) + element_size(from);
    device_src.device = Device::CUDA;
    Tensor device_dst{static_cast<std::byte*>(dst_buffer.data()) + element_size(to),
                      to,
                      TensorFormat::LINEAR,
                      Device::CUDA,
                      shape,
                      dense_strides(shape, TensorFormat::LINEAR)};
    gpu().reformat(device_src, device_dst, Stream{});
    std::vector<std::byte> actual(device_dst.bytes());
    dst_buffer.copy_to_host(actual.data(), actual.size(), element_size(to));
    EXPECT_TRUE(same_elements(actual, host_reformat(src, to, TensorFormat::LINEAR), to));
  }
}

TEST_F(CudaBackendTest, ReformatsArbitraryStridesLikeTheHost) {
  // Column-major storage of a (2,3,5,7) tensor: neither LINEAR nor HWC, so the strided kernel.
  Dims const shape{2, 3, 5, 7};
  for (auto [from, to] :
       {std::pair{DataType::FP32, DataType::INT32}, std::pair{DataType::INT64, DataType::FP16}}) {
    SCOPED_TRACE(fmt::format("{} -> {}", name(from), name(to)));
    HostTensor src = random_tensor(from, TensorFormat::LINEAR, shape, rng_);
    src.tensor().strides = Dims{1, 2, 6, 30};
    DeviceTensor const device_src_storage = upload(src);
    Tensor device_src = device_src_storage.tensor();
    device_src.strides = src.tensor().strides;
    DeviceTensor const dst(to, TensorFormat::LINEAR, shape);
    gpu().reformat(device_src, dst.tensor(), Stream{});
    EXPECT_TRUE(same_elements(dst.download(), host_reformat(src, to, TensorFormat::LINEAR), to));
  }
}

TEST_F(CudaBackendTest, RejectsReformatsBetweenShapes) {
  DeviceTensor const a(DataType::FP32, TensorFormat::LINEAR, Dims{2, 3});
  DeviceTensor const b(DataType::FP32, TensorFormat::LINEAR, Dims{3, 2});
  EXPECT_THAT([&] { gpu().reformat(a.tensor(), b.tensor(), Stream{}); },
              ThrowsMessage<Error>(HasSubstr("different shapes")));
}

TEST_F(CudaBackendTest, TimesARunWithAPositiveMedian) {
  Dims const shape{4, 64, 33, 31};
  DeviceTensor const src = upload(random_tensor(DataType::FP32, TensorFormat::LINEAR, shape, rng_));
  DeviceTensor const dst(DataType::FP16, TensorFormat::HWC, shape);
  int runs = 0;
  double const ms = gpu().time_ms(
      [&](Stream stream) {
        EXPECT_NE(stream.handle, nullptr);  // its own stream, not the default one
        gpu().reformat(src.tensor(), dst.tensor(), stream);
        ++runs;
      },
      /*warmup_runs=*/2, /*timed_runs=*/5);
  EXPECT_GT(ms, 0.0);
  EXPECT_EQ(runs, 7);
}

TEST_F(CudaBackendTest, AbsurdAllocationThrowsNamingCudaMalloc) {
  EXPECT_THAT([] { gpu().deallocate(gpu().allocate(size_t{1} << 62)); },
              ThrowsMessage<Error>(HasSubstr("cudaMalloc")));
  // The failure is not reported again by the next kernel launch's check.
  Dims const shape{2, 3, 5, 7};
  DeviceTensor const src(DataType::FP32, TensorFormat::LINEAR, shape);
  DeviceTensor const dst(DataType::FP16, TensorFormat::HWC, shape);
  EXPECT_NO_THROW(gpu().reformat(src.tensor(), dst.tensor(), Stream{}));
  EXPECT_NO_THROW(gpu().synchronize(Stream{}));
}

}  // namespace
}  // namespace qdp
