#include "qdpexec/files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <qdp/error.hpp>

namespace qdp::tools {

namespace fs = std::filesystem;

void write_atomically(std::string const& path, std::function<void(std::ostream&)> const& write) {
  std::string temp = fmt::format("{}.tmp{}", path, ::getpid());
  {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    if (!file) fail("cannot write '{}': {}", path, std::strerror(errno));
    try {
      write(file);
      file.flush();
    } catch (...) {
      file.close();
      std::error_code ec;
      fs::remove(temp, ec);
      throw;
    }
    if (!file) {
      int err = errno;
      file.close();
      std::error_code ec;
      fs::remove(temp, ec);
      fail("cannot write '{}': {}", path, std::strerror(err));
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    fail("cannot write '{}': {}", path, ec.message());
  }
}

namespace {
// The status of `path`, failing for anything but "it does not exist" (a name too long, say).
fs::file_status status_of(std::string const& path, std::string_view option) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    fail("{} {}: {}", option, path, ec.message());
  return status;
}
}  // namespace

void check_output_file(std::string const& path, std::string_view option) {
  if (fs::is_directory(status_of(path, option)))
    fail("{} {}: that is a folder; name a file to write", option, path);
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(status_of(parent.string(), option)))
    fail("{} {}: the folder '{}' does not exist", option, path, parent.string());
}

void check_output_dir(std::string const& path, std::string_view option) {
  fs::file_status status = status_of(path, option);
  if (fs::exists(status) && !fs::is_directory(status))
    fail("{} {}: that exists and is not a folder; name a folder to write the outputs to", option,
         path);
}

void prepare_output_dir(std::string const& path, std::string_view option) {
  check_output_dir(path, option);
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail("{} {}: cannot create the folder: {}", option, path, ec.message());
}

std::optional<int64_t> checked_numel(Dims const& shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

std::optional<uint64_t> checked_bytes(Dims const& shape, DataType dtype) {
  auto n = checked_numel(shape);
  uint64_t bytes = 0;
  if (!n || __builtin_mul_overflow(static_cast<uint64_t>(*n), element_size(dtype), &bytes))
    return std::nullopt;
  return bytes;
}

uint64_t host_memory_bytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return UINT64_MAX;  // unknown: let the allocation decide
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

void check_fits_in_memory(std::string const& what, Dims const& shape, DataType dtype) {
  auto bytes = checked_bytes(shape, dtype);
  if (!bytes)
    fail("{} ({} {}) has more elements or bytes than fit in 64 bits", what, name(dtype),
         to_string(shape));
  uint64_t memory = host_memory_bytes();
  auto gib = [](uint64_t b) { return static_cast<double>(b) / (1ull << 30); };
  if (*bytes > memory)
    fail("{} ({} {}) needs {} bytes ({:.1f} GiB), more than this machine's memory ({:.1f} GiB)",
         what, name(dtype), to_string(shape), *bytes, gib(*bytes), gib(memory));
}

}  // namespace qdp::tools
