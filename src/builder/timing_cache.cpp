// qdp::TimingCache and its file format (builder/timing_cache.hpp). Reading treats the bytes as
// hostile: magic, sizes and checksum are verified before the payload is read, and every count
// and length in the payload is checked against what is left.
#include "builder/timing_cache.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <qdp/error.hpp>
#include <type_traits>
#include <utility>
#include <variant>

#include "engine/engine_file.hpp"

namespace qdp {
namespace detail {
namespace {

namespace file = timing_cache_file;

constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ull;

uint64_t fnv1a(uint64_t hash, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) {
    hash ^= std::to_integer<uint64_t>(b);
    hash *= 1099511628211ull;  // the 64-bit FNV prime
  }
  return hash;
}

// Little-endian writes and reads of fixed-width values.
void put(std::vector<std::byte>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}
void put_at(std::vector<std::byte>& out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out[at + static_cast<size_t>(i)] = static_cast<std::byte>(v >> (8 * i));
}
uint64_t get(std::span<const std::byte> in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= std::to_integer<uint64_t>(in[at + static_cast<size_t>(i)]) << (8 * i);
  return v;
}
void put_bytes(std::vector<std::byte>& out, void const* data, size_t n) {
  auto const* p = static_cast<std::byte const*>(data);
  out.insert(out.end(), p, p + n);
}
void put_string(std::vector<std::byte>& out, std::string_view s) {
  put(out, s.size(), 4);
  put_bytes(out, s.data(), s.size());
}

// The payload, read front to back; a read past its end is the file's fault.
class Reader {
 public:
  Reader(std::span<const std::byte> payload, std::string_view origin)
      : payload_(payload), origin_(origin) {}

  uint64_t number(int bytes, std::string_view what) {
    need(static_cast<size_t>(bytes), what);
    uint64_t v = get(payload_, at_, bytes);
    at_ += static_cast<size_t>(bytes);
    return v;
  }
  std::string string(std::string_view what) {
    uint64_t n = number(4, what);
    need(n, what);
    std::string s(reinterpret_cast<char const*>(payload_.data() + at_), n);
    at_ += n;
    return s;
  }
  size_t left() const { return payload_.size() - at_; }
  size_t offset() const { return file::kHeaderSize + at_; }

  [[noreturn]] void corrupt(std::string_view what) const {
    fail(
        "cannot load timing cache '{}': corrupted: {} at offset {}; delete the file (the next "
        "build times every layer again and writes a new one)",
        origin_, what, offset());
  }

 private:
  void need(uint64_t n, std::string_view what) const {
    if (n > left()) corrupt(fmt::format("{} needs {} bytes, {} are left", what, n, left()));
  }
  std::span<const std::byte> payload_;
  std::string_view origin_;
  size_t at_ = 0;
};

// Attribute values as bytes, for attrs_digest(): names, type tags, then each value's bytes
// (sizes first for strings, bytes and arrays).
void put_value(std::vector<std::byte>& out, AttrValue const& value) {
  std::visit(
      [&](auto const& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          put(out, v.size(), 8);
          put_bytes(out, v.data(), v.size());
        } else if constexpr (std::is_same_v<T, Bytes>) {
          put(out, v.value.size(), 8);
          put_bytes(out, v.value.data(), v.value.size());
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          put(out, v.size(), 8);
          for (bool b : v) out.push_back(std::byte{b});
        } else if constexpr (std::is_same_v<T, std::vector<half>>) {
          put(out, v.size(), 8);
          for (half h : v) put(out, h.bits, 2);
        } else if constexpr (requires { v.size(); }) {
          put(out, v.size(), 8);
          put_bytes(out, v.data(), v.size() * sizeof(typename T::value_type));
        } else {
          put_bytes(out, &v, sizeof v);
        }
      },
      value);
}

}  // namespace

uint64_t timing_cache_checksum(std::span<const std::byte> file) {
  uint64_t hash = fnv1a(kFnvOffsetBasis, file.first(file::kChecksumOffset));
  return fnv1a(hash, file.subspan(file::kHeaderSize));
}

std::vector<std::byte> write_timing_cache(TimingCacheData const& data) {
  std::vector<std::byte> out(file::kHeaderSize);  // zeroed: reserved, payload size, checksum
  std::memcpy(out.data(), file::kMagic.data(), file::kMagic.size());
  put_at(out, file::kFormatVersionOffset, file::kFormatVersion, 4);
  put_string(out, data.version);
  put_string(out, data.device);
  // Sorted by key: the same timings always give the same bytes.
  std::vector<std::pair<std::string_view, double>> entries(data.entries.begin(),
                                                           data.entries.end());
  std::sort(entries.begin(), entries.end());
  put(out, entries.size(), 8);
  for (auto const& [key, ms] : entries) {
    put_string(out, key);
    uint64_t bits;
    std::memcpy(&bits, &ms, 8);
    put(out, bits, 8);
  }
  put_at(out, file::kPayloadSizeOffset, out.size() - file::kHeaderSize, 8);
  put_at(out, file::kChecksumOffset, timing_cache_checksum(out), 8);
  return out;
}

void read_timing_cache(std::span<const std::byte> bytes, std::string_view origin,
                       TimingCacheData& data) {
  auto bad = [&](std::string const& what) {
    fail("cannot load timing cache '{}': {}", origin, what);
  };
  if (bytes.size() < file::kMagic.size() ||
      std::memcmp(bytes.data(), file::kMagic.data(), file::kMagic.size()) != 0)
    bad(
        fmt::format("it is not a qdp timing cache (its first bytes are not \"{}\"); give the file "
                    "that a build with a timing cache (qdpexec --timingCacheFile) wrote",
                    file::kMagic));
  if (bytes.size() < file::kHeaderSize)
    bad(fmt::format("truncated: {} bytes, shorter than the {}-byte header", bytes.size(),
                    file::kHeaderSize));
  uint64_t payload = get(bytes, file::kPayloadSizeOffset, 8);
  if (payload != bytes.size() - file::kHeaderSize)
    bad(fmt::format("{}: the header announces {} payload bytes, the file holds {}",
                    payload > bytes.size() - file::kHeaderSize ? "truncated" : "corrupted", payload,
                    bytes.size() - file::kHeaderSize));
  uint64_t stored = get(bytes, file::kChecksumOffset, 8);
  uint64_t computed = timing_cache_checksum(bytes);
  if (stored != computed)
    bad(
        fmt::format("corrupted: checksum mismatch (stored {:016x}, computed {:016x}); delete the "
                    "file (the next build times every layer again and writes a new one)",
                    stored, computed));
  Reader in(bytes.subspan(file::kHeaderSize), origin);
  data.format_version = static_cast<uint32_t>(get(bytes, file::kFormatVersionOffset, 4));
  data.version = in.string("the qdp version");
  data.device = in.string("the device");
  data.entries.clear();
  if (data.format_version != file::kFormatVersion) return;  // the build warns and ignores it
  uint64_t count = in.number(8, "the number of timings");
  if (count > in.left() / 12)  // each takes at least a 4-byte length and an 8-byte time
    in.corrupt(fmt::format("{} timings cannot fit in the {} bytes left", count, in.left()));
  data.entries.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string key = in.string("a timing's key");
    uint64_t bits = in.number(8, "a timing");
    double ms;
    std::memcpy(&ms, &bits, 8);
    // +inf: a candidate that does not apply on this device (the builder skips it).
    if (std::isnan(ms) || ms < 0) in.corrupt(fmt::format("timing {} of '{}' is {} ms", i, key, ms));
    if (!data.entries.emplace(std::move(key), ms).second)
      in.corrupt(fmt::format("timing {} repeats a key", i));
  }
  if (in.left() != 0) in.corrupt(fmt::format("{} bytes after the last timing", in.left()));
}

std::string attrs_digest(Attrs const& attrs) {
  std::vector<std::byte> bytes;
  for (auto const& [name, value] : attrs) {
    put(bytes, name.size(), 8);
    put_bytes(bytes, name.data(), name.size());
    put(bytes, value.index(), 1);
    put_value(bytes, value);
  }
  return fmt::format("{:016x}", fnv1a(kFnvOffsetBasis, bytes));
}

}  // namespace detail

// ---- qdp::TimingCache -------------------------------------------------------------------------

TimingCache::TimingCache() : data_(std::make_unique<detail::TimingCacheData>()) {}
TimingCache::~TimingCache() = default;
TimingCache::TimingCache(TimingCache&&) noexcept = default;
TimingCache& TimingCache::operator=(TimingCache&&) noexcept = default;

TimingCache::TimingCache(TimingCache const& other) : TimingCache() {
  *this = other;
}

TimingCache& TimingCache::operator=(TimingCache const& other) {
  if (this == &other) return *this;
  if (!data_) data_ = std::make_unique<detail::TimingCacheData>();
  std::scoped_lock lock(data_->mutex, other.data_->mutex);
  data_->format_version = other.data_->format_version;
  data_->version = other.data_->version;
  data_->device = other.data_->device;
  data_->entries = other.data_->entries;
  return *this;
}

TimingCache TimingCache::deserialize(std::span<const std::byte> bytes, std::string_view origin) {
  TimingCache cache;
  detail::read_timing_cache(bytes, origin, *cache.data_);
  return cache;
}

std::vector<std::byte> TimingCache::serialize() const {
  std::lock_guard lock(data_->mutex);
  return detail::write_timing_cache(*data_);
}

TimingCache TimingCache::load(std::string const& path) {
  return deserialize(detail::engine_file::read_file(path, "timing cache"), path);
}

void TimingCache::save(std::string const& path) const {
  // Serialized before touching the disk; written to a temporary file, then renamed over `path`.
  detail::engine_file::write_file(path, serialize(), "timing cache");
}

size_t TimingCache::size() const {
  std::lock_guard lock(data_->mutex);
  return data_->entries.size();
}

std::string TimingCache::device() const {
  std::lock_guard lock(data_->mutex);
  return data_->device;
}

std::string TimingCache::version() const {
  std::lock_guard lock(data_->mutex);
  return data_->version;
}

void TimingCache::clear() {
  std::lock_guard lock(data_->mutex);
  data_->format_version = detail::timing_cache_file::kFormatVersion;
  data_->version.clear();
  data_->device.clear();
  data_->entries.clear();
}

void TimingCache::combine(TimingCache const& other) {
  if (this == &other) return;
  std::scoped_lock lock(data_->mutex, other.data_->mutex);
  auto const& from = *other.data_;
  if (from.device.empty() && from.entries.empty()) return;
  auto& to = *data_;
  if (to.device.empty() && to.entries.empty()) {
    to.format_version = from.format_version;
    to.version = from.version;
    to.device = from.device;
  } else if (to.device != from.device || to.version != from.version ||
             to.format_version != from.format_version) {
    fail(
        "cannot combine timing caches: one holds timings of '{}' (qdp {}), the other of '{}' "
        "(qdp {})",
        to.device, to.version, from.device, from.version);
  }
  for (auto const& [key, ms] : from.entries) to.entries.emplace(key, ms);
}

}  // namespace qdp
