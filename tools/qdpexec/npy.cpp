#include "qdpexec/npy.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <vector>

namespace qdp::tools {
namespace {

struct NpyType {
  char const* descr;
  DataType dtype;
};
// bfloat16 has no NumPy type: it is read and written as float32 by qdpexec.
constexpr NpyType kTypes[] = {{"<f4", DataType::FP32},  {"<f2", DataType::FP16},
                              {"|i1", DataType::INT8},  {"|u1", DataType::UINT8},
                              {"<i4", DataType::INT32}, {"<i8", DataType::INT64},
                              {"|b1", DataType::BOOL}};

}  // namespace

Array read_npy(std::string const& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("cannot open '{}': {}", path, std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto bad = [&](size_t offset, std::string const& what) -> Error {
    return Error(
        fmt::format("'{}' is not a readable .npy file (offset {}): {}", path, offset, what));
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw bad(0, "missing the \\x93NUMPY magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) |
                 static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw bad(8, "truncated header length");
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    throw bad(6, fmt::format("unsupported format version {}", major));
  }
  if (header_start + header_len > bytes.size()) throw bad(header_start, "truncated header");
  std::string header(bytes.data() + header_start, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    throw bad(header_start, "no 'descr' in the header");
  std::string descr = m[1];
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)")))
    throw bad(header_start, "Fortran order is not supported: save a C-contiguous array");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw bad(header_start, "no 'shape' in the header");
  Dims shape;
  std::string dims = m[1];
  std::regex number(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number);
       it != std::sregex_iterator(); ++it)
    shape.push_back(std::stoll(it->str()));
  DataType dtype{};
  bool known = false;
  for (auto const& t : kTypes)
    if (descr == t.descr) dtype = t.dtype, known = true;
  if (!known) throw bad(header_start, fmt::format("element type '{}' is not supported", descr));
  Array array(dtype, shape);
  size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != array.bytes())
    throw bad(data_start,
              fmt::format("{} bytes of data for shape {} of {} ({} expected)",
                          bytes.size() - data_start, to_string(shape), descr, array.bytes()));
  std::memcpy(array.raw(), bytes.data() + data_start, array.bytes());
  return array;
}

void write_npy(std::string const& path, Array const& array) {
  char const* descr = nullptr;
  for (auto const& t : kTypes)
    if (t.dtype == array.dtype()) descr = t.descr;
  if (!descr) fail("cannot write '{}': {} has no NumPy element type", path, name(array.dtype()));
  // A Python tuple: "()", "(5,)", "(2, 3)".
  std::string shape;
  for (int64_t d : array.shape()) {
    if (!shape.empty()) shape += ", ";
    shape += std::to_string(d);
  }
  if (array.shape().rank() == 1) shape += ",";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad so that the data starts on a 64-byte boundary, as NumPy does; end with a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream file(path, std::ios::binary);
  if (!file) fail("cannot write '{}': {}", path, std::strerror(errno));
  char preamble[10] = {'\x93',
                       'N',
                       'U',
                       'M',
                       'P',
                       'Y',
                       1,
                       0,
                       static_cast<char>(header.size() & 0xff),
                       static_cast<char>(header.size() >> 8)};
  file.write(preamble, 10);
  file.write(header.data(), static_cast<std::streamsize>(header.size()));
  file.write(static_cast<char const*>(array.raw()), static_cast<std::streamsize>(array.bytes()));
  if (!file) fail("cannot write '{}': {}", path, std::strerror(errno));
}

}  // namespace qdp::tools
