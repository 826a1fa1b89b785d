#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/engine_file.hpp"
#include "plugins/sample_plugins.hpp"

namespace qdp_fuzz {

namespace ef = qdp::detail::engine_file;

void finding(std::string const& what) {
  std::fprintf(stderr, "qdp fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void register_plugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    qdp::samples::define_elemwise_add(/*with_autotune=*/true);
    qdp::samples::define_inplace_add();
    qdp::samples::define_non_zero();
    qdp::samples::define_circ_pad(/*multi_tactic=*/true);
    qdp::ensure_standard_operators();
  });
}

namespace {

void put_le(std::span<std::byte> file, size_t offset, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) file[offset + i] = std::byte((value >> (8 * i)) & 0xff);
}

// Small values of every type: many impls read integers as indices or sizes, and these keep the
// runs in range often enough to get past the first check.
void fill(qdp::Array& a) {
  auto n = static_cast<size_t>(a.numel());
  auto* p = static_cast<unsigned char*>(a.raw());
  for (size_t i = 0; i < n; ++i) {
    int v = static_cast<int>(i % 5) - 2;  // -2 .. 2
    switch (a.dtype()) {
      case qdp::DataType::FP32: {
        float f = static_cast<float>(v) * 0.75f;
        std::memcpy(p + 4 * i, &f, 4);
        break;
      }
      case qdp::DataType::FP16: {  // -2, -1, 0, 1, 2
        static constexpr uint16_t bits[] = {0xC000, 0xBC00, 0x0000, 0x3C00, 0x4000};
        std::memcpy(p + 2 * i, &bits[v + 2], 2);
        break;
      }
      case qdp::DataType::BF16: {
        static constexpr uint16_t bits[] = {0xC000, 0xBF80, 0x0000, 0x3F80, 0x4000};
        std::memcpy(p + 2 * i, &bits[v + 2], 2);
        break;
      }
      case qdp::DataType::INT8:
        p[i] = static_cast<unsigned char>(static_cast<int8_t>(v));
        break;
      case qdp::DataType::UINT8:
        p[i] = static_cast<unsigned char>(i % 3);
        break;
      case qdp::DataType::INT32: {
        int32_t x = static_cast<int32_t>(i % 3);
        std::memcpy(p + 4 * i, &x, 4);
        break;
      }
      case qdp::DataType::INT64: {
        int64_t x = static_cast<int64_t>(i % 3);
        std::memcpy(p + 8 * i, &x, 8);
        break;
      }
      case qdp::DataType::BOOL:
        p[i] = static_cast<unsigned char>(i % 2);
        break;
    }
  }
}

// numel * element size, or nullopt past kMaxRunBytes (or on a negative dimension).
std::optional<size_t> bytes_within_limit(std::span<const int64_t> dims, qdp::DataType dtype) {
  size_t n = qdp::element_size(dtype);
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > kMaxRunBytes / static_cast<size_t>(d)) return std::nullopt;
    n *= static_cast<size_t>(d);
  }
  return n;
}

}  // namespace

void set_small_profiles(qdp::Network& net) {
  for (auto const& input : net.inputs()) {
    bool dynamic = false;
    qdp::Dims min, opt, max;
    for (int64_t d : input.dims) {
      dynamic |= d < 0;
      min.push_back(d < 0 ? 1 : d);
      opt.push_back(d < 0 ? 2 : d);
      max.push_back(d < 0 ? 3 : d);
    }
    if (dynamic) net.set_profile(input.name, min, opt, max);
  }
}

void reseal(std::span<std::byte> file) {
  if (file.size() < ef::kHeaderSize) return;
  put_le(file, ef::kChecksumOffset, ef::checksum_of(file), 8);
}

void fix_header(std::span<std::byte> file) {
  if (file.size() < ef::kHeaderSize) return;
  std::memcpy(file.data() + ef::kMagicOffset, ef::kMagic.data(), ef::kMagic.size());
  put_le(file, ef::kFormatVersionOffset, ef::kFormatVersion, 4);
  std::memset(file.data() + ef::kLibraryVersionOffset, 0, ef::kLibraryVersionSize);
  auto version = ef::library_version();
  std::memcpy(file.data() + ef::kLibraryVersionOffset, version.data(),
              std::min(version.size(), ef::kLibraryVersionSize));
  std::memset(file.data() + ef::kDeviceOffset, 0, ef::kPayloadSizeOffset - ef::kDeviceOffset);
  put_le(file, ef::kPayloadSizeOffset, file.size() - ef::kHeaderSize, 8);
  reseal(file);
}

std::optional<std::map<std::string, qdp::Array>> inputs_for(qdp::Engine const& engine, int which) {
  std::map<std::string, qdp::Array> inputs;
  size_t total = 0;
  for (qdp::IOInfo const& io : engine.io()) {
    if (!io.is_input) continue;
    qdp::Dims shape;
    if (io.profile) {
      shape = which == 0 ? io.profile->min : which == 1 ? io.profile->opt : io.profile->max;
    } else {
      if (io.dims.size() > static_cast<size_t>(qdp::kMaxRank)) return std::nullopt;
      for (int64_t d : io.dims) shape.push_back(d);
    }
    auto bytes = bytes_within_limit(shape.span(), io.dtype);
    if (!bytes || (total += *bytes) > kMaxRunBytes) return std::nullopt;
    qdp::Array a(io.dtype, shape);
    fill(a);
    inputs.emplace(io.name, std::move(a));
  }
  return inputs;
}

std::optional<std::map<std::string, qdp::Array>> run_once(qdp::Engine const& engine, int which) {
  if (engine.device() != qdp::Device::CPU || engine.activation_bytes() > kMaxRunBytes)
    return std::nullopt;
  size_t outputs = 0;
  for (qdp::IOInfo const& io : engine.io())
    if (!io.is_input && (outputs += io.max_bytes) > kMaxRunBytes) return std::nullopt;
  auto inputs = inputs_for(engine, which);
  if (!inputs) return std::nullopt;
  std::map<std::string, qdp::Array> out;
  try {
    qdp::Runner runner(engine);
    out = runner.infer(*inputs);
  } catch (qdp::Error const&) {
    return std::nullopt;
  }
  // What came back is what the engine says it returns.
  size_t expected = 0;
  for (qdp::IOInfo const& io : engine.io()) {
    if (io.is_input) continue;
    ++expected;
    auto it = out.find(io.name);
    if (it == out.end()) finding("the run returned no output '" + io.name + "'");
    if (it->second.dtype() != io.dtype)
      finding("output '" + io.name + "' came back as " +
              std::string(qdp::name(it->second.dtype())) + ", not " +
              std::string(qdp::name(io.dtype)));
    if (it->second.bytes() > io.max_bytes)
      finding("output '" + io.name + "' came back with " + std::to_string(it->second.bytes()) +
              " bytes, above its max_bytes " + std::to_string(io.max_bytes));
  }
  if (out.size() != expected) finding("the run returned outputs the engine does not list");
  return out;
}

}  // namespace qdp_fuzz
