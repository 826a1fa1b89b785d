#pragma once
// What the fuzz targets share: the plugins they load engines of, engine files resealed after an
// edit, and one CPU run of a loaded engine at its profile's shapes.
//
// A target accepts a qdp::Error as the answer to a bad input; anything else (a sanitizer report,
// another exception, a failed invariant here) is a finding.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <qdp/qdp.hpp>
#include <span>
#include <string>
#include <vector>

namespace qdp_fuzz {

// The harnesses refuse to run what would need more memory than this (the file is legitimate, but
// fuzzing it would spend its time moving megabytes under ASan, at a few runs a second): inputs,
// outputs and the activation arena each.
inline constexpr size_t kMaxRunBytes = size_t{2} << 20;
// BuildConfig::max_tensor_bytes of the targets' builds: a model may ask for a tensor of any size,
// and one of hundreds of MB is no finding (libFuzzer would report the RSS as out of memory).
inline constexpr size_t kMaxBuildTensorBytes = size_t{16} << 20;

// Registers every sample plugin in its full form (as libqdp_sample_plugins.so does) and loads
// the standard operators (libqdp_ops.so), once per process.
void register_plugins();

// Gives every input with dynamic dimensions a profile: each dynamic dimension 1 .. 3, opt 2.
void set_small_profiles(qdp::Network& net);

// Writes the checksum an engine file's header is due (what a deliberate edit does).
// Files shorter than the header are left alone.
void reseal(std::span<std::byte> file);
// Also makes the header say what this qdp reads: magic, format and library version, CPU, no GPU
// architecture, the real payload size; then reseals.
void fix_header(std::span<std::byte> file);

// The inputs of `engine` at one of its profile's shapes (0 min, 1 opt, 2 max; static inputs at
// their dims), filled with small values; nullopt when they would exceed kMaxRunBytes.
std::optional<std::map<std::string, qdp::Array>> inputs_for(qdp::Engine const& engine, int which);

// Runs `engine` once on the CPU with inputs_for(engine, which) and checks what comes back against
// the engine's own description (names, types, bytes within max_bytes). Returns the outputs, or
// nullopt where the engine is too large to run here or the run failed with a qdp::Error.
std::optional<std::map<std::string, qdp::Array>> run_once(qdp::Engine const& engine, int which);

// Aborts with a message: a broken invariant is a finding, like a sanitizer report.
[[noreturn]] void finding(std::string const& what);

inline std::span<const std::byte> bytes_of(uint8_t const* data, size_t size) {
  return {reinterpret_cast<std::byte const*>(data), size};
}

}  // namespace qdp_fuzz
