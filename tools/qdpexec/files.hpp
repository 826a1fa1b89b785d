#pragma once
// File helpers of qdpexec: writes that leave no partial file, checks of output paths made before
// the (possibly long) build and run, and sizes checked against this machine's memory.
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <qdp/data_type.hpp>
#include <qdp/dims.hpp>
#include <string>
#include <string_view>

namespace qdp::tools {

// Writes `path` through a temporary file in the same folder, renamed over `path` once complete.
void write_atomically(std::string const& path, std::function<void(std::ostream&)> const& write);

// `path` can be written as a file: not a folder, and its folder exists.
void check_output_file(std::string const& path, std::string_view option);
// `path` is a folder or does not exist yet.
void check_output_dir(std::string const& path, std::string_view option);
// `path` is a folder, created if missing.
void prepare_output_dir(std::string const& path, std::string_view option);

// The elements and bytes of a tensor of `shape`, or nullopt where they overflow 64 bits.
std::optional<int64_t> checked_numel(Dims const& shape);
std::optional<uint64_t> checked_bytes(Dims const& shape, DataType dtype);
// The machine's physical memory: no tensor qdpexec makes on the host can be larger.
uint64_t host_memory_bytes();
// Fails unless a `dtype` tensor of `shape` fits in this machine's memory; `what` names it.
void check_fits_in_memory(std::string const& what, Dims const& shape, DataType dtype);

}  // namespace qdp::tools
