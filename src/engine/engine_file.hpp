#pragma once
// Engine files (SPEC §5): a fixed little-endian header, then the plan as a FlatBuffers payload
// (schema: engine.fbs). Internal to qdp; users call Engine::serialize / deserialize / save / load.
//
// Header layout (kHeaderSize bytes, every field at its natural alignment so that the payload
// starts 8-byte aligned):
//   offset  0  magic            8 bytes  "QDPENGN\0"
//   offset  8  format version   u32      kFormatVersion
//   offset 12  library version  16 bytes the qdp version that wrote it, NUL-padded
//   offset 28  device           u8       0 cpu, 1 cuda
//   offset 29  reserved         3 bytes  zero
//   offset 32  GPU architecture u32      of the embedded cubins (e.g. 90), 0 if none
//   offset 36  reserved         4 bytes  zero
//   offset 40  payload size     u64      bytes after the header
//   offset 48  checksum         u64      FNV-1a 64 of header bytes [0, 48) and the payload
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.hpp"

// Exported (QDP_API) for qdp's tests of the file format; not public API.
namespace qdp::detail::engine_file {

inline constexpr std::string_view kMagic{"QDPENGN\0", 8};
// 2: steps have a workspace; 3: constants, values; 4: JIT steps store all their attributes (desc
// runs again when the engine is loaded)
inline constexpr uint32_t kFormatVersion = 4;

inline constexpr size_t kMagicOffset = 0;
inline constexpr size_t kFormatVersionOffset = 8;
inline constexpr size_t kLibraryVersionOffset = 12;
inline constexpr size_t kLibraryVersionSize = 16;
inline constexpr size_t kDeviceOffset = 28;
inline constexpr size_t kGpuArchOffset = 32;
inline constexpr size_t kPayloadSizeOffset = 40;
inline constexpr size_t kChecksumOffset = 48;
inline constexpr size_t kHeaderSize = 56;

// The version of the qdp library that writes engine files (the CMake project version).
QDP_API std::string_view library_version();

// The checksum stored in (or due for) a complete engine file: header bytes before the checksum
// field, then the payload. `file` must hold at least kHeaderSize bytes.
QDP_API uint64_t checksum_of(std::span<const std::byte> file);

// Plan <-> file bytes. Reading checks the header, the checksum, the FlatBuffers structure and
// every index in the plan; errors say "cannot load engine '<origin>': ..." and what to do.
// Plugins are not resolved here: make_engine_impl does that.
QDP_API std::vector<std::byte> write_plan(EnginePlan const& plan);
QDP_API EnginePlan read_plan(std::span<const std::byte> file, std::string_view origin);

// Files, for engines and (libqdp_signing) their signatures and keys. read_file: the whole file,
// errors "cannot load <noun> '<path>': ...". write_file: written to a temporary file in the same
// directory (created with `mode`), flushed, then renamed over `path`, so that a failure leaves no
// partial file behind; errors "cannot save <what> to '<path>': ...".
QDP_API std::vector<std::byte> read_file(std::string const& path, std::string_view noun);
QDP_API void write_file(std::string const& path, std::span<const std::byte> bytes,
                        std::string_view what, unsigned mode = 0644);

}  // namespace qdp::detail::engine_file
