#include "qdpexec/npy.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

#include "qdpexec/files.hpp"

namespace qdp::tools {
namespace {

struct NpyType {
  char const* descr;
  DataType dtype;
};
// The first entry of a type is the one written. BF16: see npy.hpp.
constexpr NpyType kTypes[] = {{"<f4", DataType::FP32},  {"<f2", DataType::FP16},
                              {"<V2", DataType::BF16},  {"|V2", DataType::BF16},
                              {"<u2", DataType::BF16},  {"|i1", DataType::INT8},
                              {"|u1", DataType::UINT8}, {"<i4", DataType::INT32},
                              {"<i8", DataType::INT64}, {"|b1", DataType::BOOL}};

std::optional<DataType> dtype_of_descr(std::string const& descr) {
  for (auto const& t : kTypes)
    if (descr == t.descr) return t.dtype;
  return std::nullopt;
}

// A .npy file whose header has been read and checked, positioned at its data.
struct NpyFile {
  std::ifstream file;
  std::string descr;
  Dims shape;
  size_t data_offset = 0;
  uint64_t data_bytes = 0;  // what the file holds after the header
};

uint64_t little_endian(unsigned char const* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// The header's 'shape': a Python tuple of non-negative integers, "()", "(5,)", "(2, 3)".
Dims parse_shape(std::string const& tuple, auto const& bad) {
  Dims shape;
  size_t start = 0;
  while (start < tuple.size()) {
    size_t comma = tuple.find(',', start);
    std::string item = tuple.substr(start, comma == std::string::npos ? comma : comma - start);
    start = comma == std::string::npos ? tuple.size() : comma + 1;
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) {
      if (comma == std::string::npos && shape.rank() > 0) break;  // "(5,)": the trailing comma
      throw bad(fmt::format("malformed shape ({})", tuple));
    }
    item = item.substr(b, e - b + 1);
    if (item[0] == '-') throw bad(fmt::format("negative dimension {} in shape ({})", item, tuple));
    int64_t d = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), d);
    if (ec == std::errc::result_out_of_range)
      throw bad(fmt::format("dimension {} in shape ({}) is too large", item, tuple));
    if (ec != std::errc() || end != item.data() + item.size())
      throw bad(fmt::format("dimension '{}' in shape ({}) is not an integer", item, tuple));
    if (shape.rank() == kMaxRank)
      throw bad(fmt::format("shape ({}) has more than {} dimensions, the most qdp supports", tuple,
                            kMaxRank));
    shape.push_back(d);
  }
  return shape;
}

NpyFile open_npy(std::string const& path) {
  NpyFile f;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail("cannot read '{}': it is a folder, not a .npy file", path);
  f.file.open(path, std::ios::binary);
  if (!f.file) fail("cannot open '{}': {}", path, std::strerror(errno));
  auto bad = [&](size_t offset, std::string const& what) {
    return Error(
        fmt::format("'{}' is not a readable .npy file (offset {}): {}", path, offset, what));
  };
  f.file.seekg(0, std::ios::end);
  auto size = static_cast<uint64_t>(f.file.tellg());
  f.file.seekg(0);
  unsigned char preamble[12] = {};
  f.file.read(reinterpret_cast<char*>(preamble),
              static_cast<std::streamsize>(std::min<uint64_t>(size, 12)));
  if (!f.file && size >= 10) fail("cannot read '{}': {}", path, std::strerror(errno));
  if (size < 10 || std::memcmp(preamble, "\x93NUMPY", 6) != 0)
    throw bad(0, "missing the \\x93NUMPY magic");
  int major = preamble[6];
  uint64_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = little_endian(preamble + 8, 2);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw bad(8, "truncated header length");
    header_len = little_endian(preamble + 8, 4);
    header_start = 12;
  } else {
    throw bad(6, fmt::format("unsupported format version {}", major));
  }
  if (header_len > size - header_start)
    throw bad(header_start,
              fmt::format("the header of {} bytes runs past the end of the file", header_len));
  std::string header(header_len, '\0');
  f.file.seekg(static_cast<std::streamoff>(header_start));
  f.file.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!f.file) fail("cannot read '{}': {}", path, std::strerror(errno));
  auto bad_header = [&](std::string const& what) { return bad(header_start, what); };
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    throw bad_header("no 'descr' in the header");
  f.descr = m[1];
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    throw bad_header("no 'fortran_order' in the header");
  if (m[1] == "True") throw bad_header("Fortran order is not supported: save a C-contiguous array");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw bad_header("no 'shape' in the header");
  f.shape = parse_shape(m[1], bad_header);
  f.data_offset = header_start + header_len;
  f.data_bytes = size - f.data_offset;
  return f;
}

// Checks that the file holds exactly the data its header describes, before it is allocated.
void check_data_size(NpyFile const& f, std::string const& path, size_t element_bytes) {
  auto n = checked_numel(f.shape);
  uint64_t bytes = 0;
  bool overflow = !n || __builtin_mul_overflow(static_cast<uint64_t>(*n), element_bytes, &bytes);
  if (overflow || bytes != f.data_bytes)
    fail(
        "'{}' is not a readable .npy file (offset {}): {} bytes of data for shape {} of {} ({} "
        "expected)",
        path, f.data_offset, f.data_bytes, to_string(f.shape), f.descr,
        overflow ? std::string("more than 2^64") : std::to_string(bytes));
}

void read_data(NpyFile& f, std::string const& path, void* data, uint64_t bytes) {
  f.file.seekg(static_cast<std::streamoff>(f.data_offset));
  f.file.read(static_cast<char*>(data), static_cast<std::streamsize>(bytes));
  if (!f.file) fail("cannot read the data of '{}': {}", path, std::strerror(errno));
}

}  // namespace

Array read_npy(std::string const& path) {
  NpyFile f = open_npy(path);
  auto dtype = dtype_of_descr(f.descr);
  if (!dtype)
    fail(
        "'{}' is not a readable .npy file (offset {}): element type '{}' is not supported (qdp "
        "takes <f4, <f2, <V2 or <u2 for BF16, |i1, |u1, <i4, <i8, |b1)",
        path, f.data_offset, f.descr);
  check_data_size(f, path, element_size(*dtype));
  Array array(*dtype, f.shape);
  read_data(f, path, array.raw(), array.bytes());
  return array;
}

NpyValues read_npy_values(std::string const& path) {
  NpyFile f = open_npy(path);
  auto dtype = dtype_of_descr(f.descr);
  if (!dtype && f.descr != "<f8")
    fail(
        "'{}' is not a readable .npy file (offset {}): element type '{}' is not supported as a "
        "reference (use <f8, <f4, <f2, <V2/<u2 for BF16, |i1, |u1, <i4, <i8 or |b1)",
        path, f.data_offset, f.descr);
  size_t element = dtype ? element_size(*dtype) : sizeof(double);
  check_data_size(f, path, element);
  NpyValues out{f.descr, f.shape, {}};
  if (!dtype) {
    out.values.resize(f.data_bytes / element);
    read_data(f, path, out.values.data(), f.data_bytes);
    return out;
  }
  Array array(*dtype, f.shape);
  read_data(f, path, array.raw(), array.bytes());
  out.values = to_doubles(array);
  return out;
}

std::vector<double> to_doubles(Array const& a) {
  std::vector<double> out(static_cast<size_t>(a.numel()));
  auto convert = [&]<class T>(T const*) {
    auto const* p = static_cast<T const*>(a.raw());
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(static_cast<float>(p[i]));
  };
  auto exact = [&]<class T>(T const*) {
    auto const* p = static_cast<T const*>(a.raw());
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  };
  switch (a.dtype()) {
    case DataType::FP32:
      exact(static_cast<float const*>(nullptr));
      break;
    case DataType::FP16:
      convert(static_cast<half const*>(nullptr));
      break;
    case DataType::BF16:
      convert(static_cast<bfloat16 const*>(nullptr));
      break;
    case DataType::INT8:
      exact(static_cast<int8_t const*>(nullptr));
      break;
    case DataType::UINT8:
      exact(static_cast<uint8_t const*>(nullptr));
      break;
    case DataType::INT32:
      exact(static_cast<int32_t const*>(nullptr));
      break;
    case DataType::INT64:
      exact(static_cast<int64_t const*>(nullptr));
      break;
    case DataType::BOOL:
      exact(static_cast<bool const*>(nullptr));
      break;
  }
  return out;
}

void write_npy(std::string const& path, Array const& array) {
  char const* descr = nullptr;
  for (auto const& t : kTypes)
    if (t.dtype == array.dtype() && !descr) descr = t.descr;
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
  char const preamble[10] = {'\x93',
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             static_cast<char>(header.size() & 0xff),
                             static_cast<char>(header.size() >> 8)};
  write_atomically(path, [&](std::ostream& file) {
    file.write(preamble, 10);
    file.write(header.data(), static_cast<std::streamsize>(header.size()));
    file.write(static_cast<char const*>(array.raw()), static_cast<std::streamsize>(array.bytes()));
  });
}

}  // namespace qdp::tools
