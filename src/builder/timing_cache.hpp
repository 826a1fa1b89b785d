#pragma once
// Timing caches (qdp::TimingCache in include/qdp/builder.hpp): what the object holds, its file
// format, and the keys the builder files timings under. Internal to qdp; exported (QDP_API) for
// qdp's tests of the file format.
//
// File layout (little-endian):
//   offset  0  magic           8 bytes  "QDPTCACH"
//   offset  8  format version  u32      kFormatVersion
//   offset 12  reserved        u32      zero
//   offset 16  payload size    u64      bytes after the header
//   offset 24  checksum        u64      FNV-1a 64 of header bytes [0, 24) and the payload
//   offset 32  payload: string qdp version, string device, u64 count, count x (string key,
//              f64 milliseconds, +inf where the candidate does not apply on the device); a
//              string is a u32 byte count and the bytes (UTF-8, no NUL).
// Every format version keeps the header and starts its payload with the two strings, so that
// a cache of another format version can still be named in the warning that ignores it.
#include <cstdint>
#include <mutex>
#include <qdp/attributes.hpp>
#include <qdp/builder.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qdp::detail {

namespace timing_cache_file {
inline constexpr std::string_view kMagic{"QDPTCACH", 8};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kFormatVersionOffset = 8;
inline constexpr size_t kPayloadSizeOffset = 16;
inline constexpr size_t kChecksumOffset = 24;
inline constexpr size_t kHeaderSize = 32;
}  // namespace timing_cache_file

struct TimingCacheData {
  mutable std::mutex mutex;
  uint32_t format_version = timing_cache_file::kFormatVersion;  // of the bytes it came from
  std::string version;  // the qdp version that measured the timings ("" while empty)
  std::string device;   // device_identity() of where they were measured ("" while empty)
  std::unordered_map<std::string, double> entries;  // key -> milliseconds
};

// The bytes of a cache (header, checksum and payload as above) and back. Reading errors name
// `origin`; a cache of another format version comes back with its version and device and no
// entries, and format_version set to what the bytes say.
QDP_API std::vector<std::byte> write_timing_cache(TimingCacheData const& data);
QDP_API void read_timing_cache(std::span<const std::byte> bytes, std::string_view origin,
                               TimingCacheData& data);
// The checksum due for a cache file (at least kHeaderSize bytes): header before the checksum
// field, then the payload.
QDP_API uint64_t timing_cache_checksum(std::span<const std::byte> file);

// A digest of attribute values (names, types and values; 16 hex digits) for timing keys: the
// same values always give the same digest, on every machine.
std::string attrs_digest(Attrs const& attrs);

}  // namespace qdp::detail
