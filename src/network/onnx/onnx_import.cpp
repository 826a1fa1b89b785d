// ONNX import (SPEC §1 "ONNX mapping"): a ModelProto parsed with protobuf, mapped node by node
// onto the network API. See qdp/onnx.hpp for the mapping; every error names the origin, the
// node, its op and, where one is concerned, the attribute.
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <qdp/error.hpp>
#include <qdp/onnx.hpp>
#include <qdp/registry.hpp>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

namespace qdp {
namespace {

std::string data_type_name(int32_t t) {
  if (onnx::TensorProto_DataType_IsValid(t))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t));
  return fmt::format("#{} (not an ONNX type)", t);
}

std::string attribute_type_name(onnx::AttributeProto_AttributeType t) {
  std::string const& s = onnx::AttributeProto_AttributeType_Name(t);
  return s.empty() ? fmt::format("#{}", static_cast<int>(t)) : s;
}

std::optional<DataType> input_data_type(int32_t t) {
  switch (t) {
    case onnx::TensorProto::FLOAT:
      return DataType::FP32;
    case onnx::TensorProto::FLOAT16:
      return DataType::FP16;
    case onnx::TensorProto::BFLOAT16:
      return DataType::BF16;
    case onnx::TensorProto::INT8:
      return DataType::INT8;
    case onnx::TensorProto::UINT8:
      return DataType::UINT8;
    case onnx::TensorProto::INT32:
      return DataType::INT32;
    case onnx::TensorProto::INT64:
      return DataType::INT64;
    case onnx::TensorProto::BOOL:
      return DataType::BOOL;
    default:
      return std::nullopt;
  }
}

// Element i of little-endian raw data, `width` bytes wide, as an unsigned integer.
uint64_t raw_bits(std::string const& raw, size_t i, size_t width) {
  uint64_t v = 0;
  for (size_t b = 0; b < width; ++b)
    v |= uint64_t{static_cast<unsigned char>(raw[i * width + b])} << (8 * b);
  return v;
}

// Reads a 1-D TensorProto attribute into the AttrValue alternative of its element type.
class TensorAttrReader {
 public:
  TensorAttrReader(onnx::TensorProto const& t, std::string where)
      : t_(t), where_(std::move(where)) {}

  AttrValue read() {
    if (t_.data_location() == onnx::TensorProto::EXTERNAL)
      fail(
          "{}: the tensor's data is stored externally; qdp reads tensor attributes only with "
          "their data inside the model (save the model without external data)",
          where_);
    if (t_.has_segment())
      fail("{}: the tensor is segmented; write the whole tensor in one TensorProto", where_);
    if (t_.dims_size() != 1)
      fail(
          "{}: a tensor attribute must be 1-D, but this one has {} dimension(s); reshape it to 1-D",
          where_, t_.dims_size());
    if (t_.dims(0) < 0) fail("{}: the tensor's dimension is negative ({})", where_, t_.dims(0));
    n_ = static_cast<uint64_t>(t_.dims(0));
    switch (t_.data_type()) {
      case onnx::TensorProto::FLOAT:
        return values<float>(4, t_.float_data(), "float_data",
                             [](uint64_t b) { return std::bit_cast<float>(uint32_t(b)); });
      case onnx::TensorProto::DOUBLE:
        return values<double>(8, t_.double_data(), "double_data",
                              [](uint64_t b) { return std::bit_cast<double>(b); });
      case onnx::TensorProto::FLOAT16:
        return values<half>(2, t_.int32_data(), "int32_data", [](uint64_t b) {
          half h;
          h.bits = static_cast<uint16_t>(b);
          return h;
        });
      case onnx::TensorProto::BFLOAT16:  // no bfloat16 attributes: float32 holds them exactly
        return values<float>(2, t_.int32_data(), "int32_data", [](uint64_t b) {
          bfloat16 h;
          h.bits = static_cast<uint16_t>(b);
          return static_cast<float>(h);
        });
      case onnx::TensorProto::BOOL:
        return values<bool>(1, t_.int32_data(), "int32_data", [this](uint64_t b) {
          if (b > 1) fail("{}: {} is not a BOOL value (0 or 1)", where_, b);
          return b == 1;
        });
      case onnx::TensorProto::INT8:
        return integers<int8_t, int8_t>(t_.int32_data(), "int32_data");
      case onnx::TensorProto::INT16:
        return integers<int16_t, int16_t>(t_.int32_data(), "int32_data");
      case onnx::TensorProto::INT32:
        return integers<int32_t, int32_t>(t_.int32_data(), "int32_data");
      case onnx::TensorProto::INT64:
        return integers<int64_t, int64_t>(t_.int64_data(), "int64_data");
      // Unsigned types widen to the next signed type (no unsigned attributes); the plugin's
      // declared type then takes them with a range check.
      case onnx::TensorProto::UINT8:
        return integers<uint8_t, int16_t>(t_.int32_data(), "int32_data");
      case onnx::TensorProto::UINT16:
        return integers<uint16_t, int32_t>(t_.int32_data(), "int32_data");
      case onnx::TensorProto::UINT32:
        return integers<uint32_t, int64_t>(t_.uint64_data(), "uint64_data");
      case onnx::TensorProto::UINT64:
        return integers<uint64_t, int64_t>(t_.uint64_data(), "uint64_data");
      default:
        fail(
            "{}: a tensor attribute of element type {} is not supported (use INT8, INT16, "
            "INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT16, BFLOAT16, FLOAT, DOUBLE or "
            "BOOL)",
            where_, data_type_name(t_.data_type()));
    }
  }

 private:
  // Values of element type T from raw_data (`width` bytes each, decoded by from_bits) or from
  // the typed field: floats as they are, integers (bit patterns of FLOAT16 and BFLOAT16, bools)
  // through from_bits after a check that they fit `width` bytes.
  template <class T, class Field, class FromBits>
  std::vector<T> values(size_t width, Field const& typed, std::string_view field_name,
                        FromBits from_bits) {
    std::vector<T> out;
    if (t_.has_raw_data()) {
      std::string const& raw = t_.raw_data();
      if (raw.size() % width != 0 || raw.size() / width != n_)
        fail("{}: raw_data holds {} bytes, but {} elements of {} take {} bytes each", where_,
             raw.size(), n_, data_type_name(t_.data_type()), width);
      out.reserve(n_);
      for (size_t i = 0; i < n_; ++i) out.push_back(from_bits(raw_bits(raw, i, width)));
      return out;
    }
    check_count(typed.size(), field_name);
    out.reserve(n_);
    for (auto v : typed) {
      if constexpr (std::is_floating_point_v<std::remove_cvref_t<decltype(v)>>) {
        out.push_back(static_cast<T>(v));
      } else {
        if (v < 0 || static_cast<uint64_t>(v) >= (uint64_t{1} << (8 * width)))
          fail("{}: {} holds {}, which is not a valid {} value", where_, field_name, v,
               data_type_name(t_.data_type()));
        out.push_back(from_bits(static_cast<uint64_t>(v)));
      }
    }
    return out;
  }

  // Integers stored as Src (raw_data) or in a wider typed field, returned as Dst.
  template <class Src, class Dst, class Field>
  std::vector<Dst> integers(Field const& typed, std::string_view field_name) {
    auto to_dst = [&](auto v) -> Dst {
      if constexpr (std::is_same_v<Src, uint64_t>) {
        if (static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail("{}: the UINT64 value {} does not fit an int64 attribute", where_,
               static_cast<uint64_t>(v));
        return static_cast<Dst>(v);
      } else {
        if (!std::in_range<Src>(v))
          fail("{}: {} holds {}, which is not a valid {} value", where_, field_name, v,
               data_type_name(t_.data_type()));
        return static_cast<Dst>(static_cast<Src>(v));
      }
    };
    std::vector<Dst> out;
    if (t_.has_raw_data()) {
      std::string const& raw = t_.raw_data();
      constexpr size_t width = sizeof(Src);
      if (raw.size() % width != 0 || raw.size() / width != n_)
        fail("{}: raw_data holds {} bytes, but {} elements of {} take {} bytes each", where_,
             raw.size(), n_, data_type_name(t_.data_type()), width);
      out.reserve(n_);
      for (size_t i = 0; i < n_; ++i) {
        using U = std::make_unsigned_t<Src>;
        Src s = static_cast<Src>(static_cast<U>(raw_bits(raw, i, width)));
        out.push_back(to_dst(s));
      }
      return out;
    }
    check_count(typed.size(), field_name);
    out.reserve(n_);
    for (auto v : typed) out.push_back(to_dst(v));
    return out;
  }

  void check_count(int size, std::string_view field_name) const {
    if (static_cast<uint64_t>(size) != n_)
      fail("{}: the tensor's dims say {} element(s), but it holds {} in {} (and no raw_data)",
           where_, n_, size, field_name);
  }

  onnx::TensorProto const& t_;
  std::string where_;
  uint64_t n_ = 0;
};

AttrValue attribute_value(onnx::AttributeProto const& a, std::string const& where) {
  switch (a.type()) {
    case onnx::AttributeProto::INT:
      return int64_t{a.i()};
    case onnx::AttributeProto::FLOAT:
      return a.f();
    case onnx::AttributeProto::STRING:
      return a.s();
    case onnx::AttributeProto::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case onnx::AttributeProto::TENSOR:
      return TensorAttrReader(a.t(), where).read();
    case onnx::AttributeProto::UNDEFINED:
      fail(
          "{}: the attribute has no type; set AttributeProto.type (onnx.helper.make_attribute "
          "does)",
          where);
    default:
      fail(
          "{}: attributes of type {} are not supported; qdp plugins take INT, FLOAT, STRING, "
          "INTS, FLOATS and 1-D TENSOR attributes",
          where, attribute_type_name(a.type()));
  }
}

// The bytes of a TensorProto (an initializer or a Constant node's value) in qdp's layout: dense,
// little-endian, in the element type input_data_type gives. External data is read from the
// model's folder `folder` (empty: the model came from memory and has none).
class TensorReader {
 public:
  TensorReader(std::filesystem::path folder, std::string origin)
      : folder_(std::move(folder)), origin_(std::move(origin)) {}

  struct Result {
    DataType dtype;
    std::vector<int64_t> dims;
    std::vector<std::byte> bytes;
  };

  Result read(onnx::TensorProto const& t, std::string const& where) const {
    auto dtype = input_data_type(t.data_type());
    if (!dtype)
      fail(ErrorCode::Unsupported,
           "{}: element type {} is not supported; qdp's tensors are FLOAT, FLOAT16, BFLOAT16, "
           "INT8, UINT8, INT32, INT64 or BOOL",
           where, data_type_name(t.data_type()));
    if (t.has_segment()) fail("{}: the tensor is segmented; write it in one TensorProto", where);
    Result r{*dtype, {}, {}};
    uint64_t numel = 1;
    for (int64_t d : t.dims()) {
      if (d < 0) fail("{}: dimension {} is negative", where, d);
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
        fail("{}: the element count overflows", where);
      r.dims.push_back(d);
    }
    size_t width = element_size(*dtype);
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, width, &bytes)) fail("{}: its size overflows", where);
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      r.bytes = external(t, bytes, where);
      return r;
    }
    if (t.has_raw_data()) {
      std::string const& raw = t.raw_data();
      if (raw.size() != bytes)
        fail(ErrorCode::CorruptFile,
             "{}: raw_data holds {} bytes, but {} elements of {} take {} bytes (the initializer "
             "is truncated or its dims are wrong)",
             where, raw.size(), numel, data_type_name(t.data_type()), bytes);
      auto const* first = reinterpret_cast<std::byte const*>(raw.data());
      r.bytes.assign(first, first + raw.size());
      return r;
    }
    // The typed field must hold the dims' count before anything is allocated for it: dims of a
    // huge tensor with no data are a corrupt file, not an allocation.
    int held = t.data_type() == onnx::TensorProto::FLOAT   ? t.float_data_size()
               : t.data_type() == onnx::TensorProto::INT64 ? t.int64_data_size()
                                                           : t.int32_data_size();
    std::string_view field = t.data_type() == onnx::TensorProto::FLOAT   ? "float_data"
                             : t.data_type() == onnx::TensorProto::INT64 ? "int64_data"
                                                                         : "int32_data";
    if (static_cast<uint64_t>(held) != numel)
      fail(ErrorCode::CorruptFile,
           "{}: the dims say {} element(s), but {} holds {} (the initializer is truncated or its "
           "dims are wrong)",
           where, numel, field, held);
    r.bytes.resize(bytes);
    auto put = [&](size_t i, auto v) { std::memcpy(r.bytes.data() + i * width, &v, width); };
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        for (int i = 0; i < t.float_data_size(); ++i) put(static_cast<size_t>(i), t.float_data(i));
        break;
      case onnx::TensorProto::INT64:
        for (int i = 0; i < t.int64_data_size(); ++i) put(static_cast<size_t>(i), t.int64_data(i));
        break;
      default:  // INT32 and the narrower types (and 16-bit floats' bit patterns) in int32_data
        for (int i = 0; i < t.int32_data_size(); ++i) {
          int32_t v = t.int32_data(i);
          if (width == 4) {
            put(static_cast<size_t>(i), v);
          } else if (width == 2) {
            put(static_cast<size_t>(i), static_cast<uint16_t>(v));
          } else {
            put(static_cast<size_t>(i), static_cast<uint8_t>(v));
          }
        }
    }
    return r;
  }

 private:
  // Bytes of an external-data tensor: a file in the model's folder, never outside it.
  std::vector<std::byte> external(onnx::TensorProto const& t, uint64_t bytes,
                                  std::string const& where) const {
    std::string location;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
    for (auto const& e : t.external_data()) {
      auto number = [&] {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(e.value().c_str(), &end, 10);
        if (errno || e.value().empty() || *end || e.value()[0] == '-')
          fail("{}: external data '{}' is not a byte count: '{}'", where, e.key(), e.value());
        return static_cast<uint64_t>(v);
      };
      if (e.key() == "location")
        location = e.value();
      else if (e.key() == "offset")
        offset = number();
      else if (e.key() == "length")
        length = number();
    }
    if (folder_.empty())
      fail(
          "{}: the tensor's data is in an external file, but the model was given as bytes; import "
          "it from its file (import_onnx(path)) so that its folder is known",
          where);
    if (location.empty()) fail("{}: external data without a 'location'", where);
    std::filesystem::path rel(location);
    std::filesystem::path base = std::filesystem::weakly_canonical(folder_);
    std::filesystem::path file = std::filesystem::weakly_canonical(base / rel);
    auto [b, f] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
    if (rel.is_absolute() || b != base.end())
      fail(ErrorCode::InvalidArgument,
           "{}: external data location '{}' leaves the model's folder {}; qdp reads external data "
           "only from files inside the model's folder",
           where, location, base.string());
    if (length && *length != bytes)
      fail(ErrorCode::CorruptFile, "{}: external data length {} but the tensor takes {} bytes",
           where, *length, bytes);
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
    if (!in)
      fail(ErrorCode::NotFound, "{}: cannot open external data file '{}': {}", where, file.string(),
           std::strerror(errno));
    // The file must hold the bytes before they are allocated (the dims may be a hostile file's).
    std::error_code size_error;
    uint64_t file_bytes = std::filesystem::file_size(file, size_error);
    if (size_error || offset > file_bytes || file_bytes - offset < bytes)
      fail(ErrorCode::CorruptFile,
           "{}: external data file '{}' is too short: {} bytes at offset {} do not fit", where,
           file.string(), bytes, offset);
    std::vector<std::byte> data(bytes);
    if (std::fseek(in.get(), static_cast<long>(offset), SEEK_SET) != 0 ||
        std::fread(data.data(), 1, data.size(), in.get()) != data.size())
      fail(ErrorCode::CorruptFile,
           "{}: external data file '{}' is too short: {} bytes at offset {} do not fit", where,
           file.string(), bytes, offset);
    return data;
  }

  std::filesystem::path folder_;
  std::string origin_;
};

// A Constant node: its value (a tensor, or one of the value_* shorthands) becomes a constant.
void import_constant(onnx::NodeProto const& node, std::string const& where, Network& net,
                     std::map<std::string, TensorRef, std::less<>>& tensors,
                     std::map<std::string, std::string, std::less<>>& defined_by,
                     TensorReader const& reader) {
  if (node.output_size() != 1 || node.output(0).empty())
    fail("{}: a Constant node has exactly one output", where);
  if (node.attribute_size() != 1)
    fail(
        "{}: a Constant node has exactly one attribute (value, value_float, value_floats, "
        "value_int or value_ints), this one has {}",
        where, node.attribute_size());
  auto const& a = node.attribute(0);
  std::string attr_where = fmt::format("{}, attribute '{}'", where, a.name());
  TensorReader::Result r;
  auto of = [&](DataType t, std::vector<int64_t> dims, auto const& values) {
    r.dtype = t;
    r.dims = std::move(dims);
    r.bytes.resize(values.size() * sizeof(values[0]));
    if (!r.bytes.empty()) std::memcpy(r.bytes.data(), values.data(), r.bytes.size());
  };
  if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
    r = reader.read(a.t(), attr_where);
  } else if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
    of(DataType::FP32, {}, std::vector<float>{a.f()});
  } else if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
    of(DataType::FP32, {a.floats_size()}, std::vector<float>(a.floats().begin(), a.floats().end()));
  } else if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
    of(DataType::INT64, {}, std::vector<int64_t>{a.i()});
  } else if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
    of(DataType::INT64, {a.ints_size()}, std::vector<int64_t>(a.ints().begin(), a.ints().end()));
  } else {
    fail(ErrorCode::Unsupported,
         "{}: a Constant given as {} ({}) is not supported; use value (a tensor), value_float, "
         "value_floats, value_int or value_ints",
         attr_where, a.name(), attribute_type_name(a.type()));
  }
  std::string const& name = node.output(0);
  if (defined_by.count(name))
    fail("{}: output '{}' is already defined by {}; ONNX names each tensor once", where, name,
         defined_by[name]);
  tensors.emplace(name, net.add_constant(name, r.dtype, r.dims, std::move(r.bytes)));
  defined_by.emplace(name, fmt::format("a Constant node"));
}

// A Split node becomes one Slice per output (qdp's plugins have fixed output counts). The sizes
// are the `split` input or attribute (a constant), or equal chunks of the axis' extent, which
// the Slices take from shape values (Shape, Gather, arithmetic: all folded when the engine is
// built, and symbolic where the extent is dynamic).
void import_split(onnx::NodeProto const& node, std::string const& where,
                  std::string const& layer_name, Network& net,
                  std::map<std::string, TensorRef, std::less<>>& tensors,
                  std::map<std::string, std::string, std::less<>>& defined_by) {
  auto input = [&](int k) -> std::optional<TensorRef> {
    if (k >= node.input_size() || node.input(k).empty()) return std::nullopt;
    auto it = tensors.find(node.input(k));
    if (it == tensors.end())
      fail("{}: input '{}' is not defined by any graph input or earlier node", where,
           node.input(k));
    return it->second;
  };
  TensorRef x = *input(0);
  int64_t axis = 0, num_outputs = node.output_size();
  std::optional<std::vector<int64_t>> sizes;
  for (auto const& a : node.attribute()) {
    if (a.name() == "axis" && a.type() == onnx::AttributeProto::INT)
      axis = a.i();
    else if (a.name() == "num_outputs" && a.type() == onnx::AttributeProto::INT)
      num_outputs = a.i();
    else if (a.name() == "split" && a.type() == onnx::AttributeProto::INTS)
      sizes = std::vector<int64_t>(a.ints().begin(), a.ints().end());
    else
      fail("{}, attribute '{}': Split takes axis, num_outputs and split", where, a.name());
  }
  if (num_outputs != node.output_size() || num_outputs < 1)
    fail("{}: num_outputs is {}, but the node lists {} outputs", where, num_outputs,
         node.output_size());
  if (auto split = input(1)) {
    Network::Constant const* c = net.constant(*split);
    if (!c || c->dtype != DataType::INT64)
      fail(ErrorCode::Unsupported,
           "{}: the split sizes must be an INT64 constant (an initializer or Constant node)",
           where);
    sizes.emplace(c->data->size() / 8);
    std::memcpy(sizes->data(), c->data->data(), c->data->size());
  }
  if (sizes && static_cast<int64_t>(sizes->size()) != num_outputs)
    fail("{}: {} split sizes for {} outputs", where, sizes->size(), num_outputs);
  auto scalar = [&](std::string name, int64_t v) {
    return net.add_constant<int64_t>(layer_name + "_" + name, {}, std::span<const int64_t>(&v, 1));
  };
  auto vec = [&](std::string name, int64_t v) {
    return net.add_constant<int64_t>(layer_name + "_" + name, {1}, std::span<const int64_t>(&v, 1));
  };
  auto layer = [&](std::string_view id, std::vector<TensorRef> in, std::string name,
                   Attrs attrs = {}) {
    LayerOptions o;
    o.name = layer_name + "_" + name;
    try {
      return net.add_plugin(id, std::move(in), std::move(attrs), o)[0];
    } catch (Error const& e) {
      fail("{}: {}", where, e.what());
    }
  };
  // Equal chunks: ceil(extent / n) each, the last one what is left (Slice clamps its end).
  std::optional<TensorRef> chunk;
  if (!sizes) {
    auto shape = layer("onnx::Shape", {x}, "shape");
    auto extent = layer("onnx::Gather", {shape, scalar("axis", axis)}, "extent");
    auto padded = layer("onnx::Add", {extent, scalar("n_minus_1", num_outputs - 1)}, "padded");
    chunk = layer("onnx::Div", {padded, scalar("n", num_outputs)}, "chunk");
  }
  int64_t begin = 0;
  for (int k = 0; k < num_outputs; ++k) {
    std::string part = fmt::format("part{}", k);
    TensorRef start, end;
    if (sizes) {
      start = vec(part + "_start", begin);
      begin += (*sizes)[static_cast<size_t>(k)];
      end = vec(part + "_end", begin);
    } else {
      auto s = layer("onnx::Mul", {*chunk, scalar(part + "_k", k)}, part + "_s");
      auto e = layer("onnx::Mul", {*chunk, scalar(part + "_k1", k + 1)}, part + "_e");
      start = layer("onnx::Unsqueeze", {s, vec(part + "_axes0", 0)}, part + "_start");
      end = layer("onnx::Unsqueeze", {e, vec(part + "_axes1", 0)}, part + "_end");
    }
    auto out = layer("onnx::Slice",
                     {x, start, end, vec(part + "_axis", axis), vec(part + "_step", 1)}, part);
    std::string const& name = node.output(k);
    if (name.empty()) continue;
    if (defined_by.count(name))
      fail("{}: output '{}' is already defined by {}; ONNX names each tensor once", where, name,
           defined_by[name]);
    tensors.emplace(name, out);
    defined_by.emplace(name, fmt::format("node '{}'", layer_name));
  }
}

// The default domain's opsets this importer reads: up to onnx 1.22's newest. Operators whose
// inputs or meaning changed at an opset take their newer form only: before it, a node of theirs
// is refused (Squeeze's axes became an input at 13, Softmax's axis the one
// normalized axis at 13, Clip's bounds inputs at 11, Slice's starts inputs at 10, Pad's pads an
// input at 11); the others read any opset (Reduce* take their axes as attribute or input).
constexpr int64_t kMaxOpset = 27;
int64_t first_opset(std::string_view op) {
  static constexpr std::pair<std::string_view, int64_t> kChanged[] = {
      {"Squeeze", 13}, {"Unsqueeze", 13}, {"Softmax", 13}, {"LogSoftmax", 13},
      {"Clip", 11},    {"Slice", 10},     {"Pad", 11},     {"Reshape", 5},
      {"Expand", 8},   {"Tile", 6},       {"Gelu", 20},    {"LayerNormalization", 17},
      {"Dropout", 12},
  };
  for (auto const& [name, opset] : kChanged)
    if (name == op) return opset;
  return 1;
}

std::string supported_operators() {
  std::vector<std::string> ops;
  for (auto const& id : Registry::global().ids())
    if (id.starts_with("onnx::")) ops.push_back(id.substr(6));
  ops.insert(ops.end(), {"Constant", "Split"});  // the importer's own: constants, Slices
  std::sort(ops.begin(), ops.end());
  return fmt::format("{}", fmt::join(ops, ", "));
}

Network import_graph(onnx::GraphProto const& graph, std::string_view origin, int64_t opset,
                     std::filesystem::path const& folder) {
  Network net;
  TensorReader reader(folder, std::string(origin));
  // Every tensor defined so far, and what defined it (for messages).
  std::map<std::string, TensorRef, std::less<>> tensors;
  std::map<std::string, std::string, std::less<>> defined_by;

  std::set<std::string, std::less<>> initializers;
  for (auto const& t : graph.initializer()) initializers.insert(t.name());
  for (auto const& t : graph.sparse_initializer()) {
    initializers.insert(t.values().name());
    fail(ErrorCode::Unsupported,
         "{}: sparse initializer '{}' is not supported; store it as a dense initializer", origin,
         t.values().name());
  }
  // Weights: constants of the network (a graph input of the same name is their default).
  for (auto const& t : graph.initializer()) {
    std::string where = fmt::format("{}: initializer '{}'", origin, t.name());
    if (tensors.count(t.name())) fail("{}: the name is used twice", where);
    auto r = reader.read(t, where);
    tensors.emplace(t.name(), net.add_constant(t.name(), r.dtype, r.dims, std::move(r.bytes)));
    defined_by.emplace(t.name(), "an initializer");
  }
  // An omitted optional input of a standard operator: an empty INT64 tensor (ops::absent).
  std::optional<TensorRef> absent;
  auto absent_input = [&] {
    if (!absent) absent = net.add_constant("absent", DataType::INT64, {0}, {});
    return *absent;
  };

  // ---- graph inputs
  for (auto const& in : graph.input()) {
    if (initializers.count(in.name())) continue;  // a constant with a default value
    std::string where = fmt::format("{}: graph input '{}'", origin, in.name());
    if (!in.type().has_tensor_type())
      fail("{}: only tensor inputs are supported (this one is a sequence, map or optional)", where);
    auto const& tt = in.type().tensor_type();
    auto dtype = input_data_type(tt.elem_type());
    if (!dtype)
      fail(
          "{}: element type {} is not supported; use FLOAT, FLOAT16, BFLOAT16, INT8, UINT8, "
          "INT32, INT64 or BOOL",
          where, data_type_name(tt.elem_type()));
    if (!tt.has_shape())
      fail(
          "{}: the input has no shape; qdp needs its rank (give each dimension a dim_value, or a "
          "dim_param for a dynamic one)",
          where);
    std::vector<int64_t> dims;
    for (auto const& d : tt.shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    try {
      tensors.emplace(in.name(), net.add_input(in.name(), *dtype, std::move(dims)));
    } catch (Error const& e) {
      fail("{}: {}", where, e.what());
    }
    defined_by.emplace(in.name(), "a graph input");
  }

  // Which node produces each tensor, to tell an out-of-order graph from a missing tensor.
  std::map<std::string, int, std::less<>> producer;
  for (int i = 0; i < graph.node_size(); ++i)
    for (auto const& o : graph.node(i).output())
      if (!o.empty()) producer.emplace(o, i);

  // ---- nodes
  for (int i = 0; i < graph.node_size(); ++i) {
    auto const& node = graph.node(i);
    std::string const& op = node.op_type();
    std::string layer_name = node.name().empty() ? fmt::format("{}_{}", op, i) : node.name();
    std::string where = fmt::format("{}: node '{}' (op {})", origin, layer_name, op);
    if (op.empty()) fail("{}: the node has no op_type", where);

    // A node of the default domain is a standard operator, unless it names its plugin's
    // namespace (how plugin nodes are written); another domain is a plugin namespace.
    bool named = std::any_of(node.attribute().begin(), node.attribute().end(),
                             [](auto const& a) { return a.name() == "plugin_namespace"; });
    bool standard = (node.domain().empty() || node.domain() == "ai.onnx") && !named;
    if (standard) ensure_standard_operators();
    if (standard && op == "Constant") {
      import_constant(node, where, net, tensors, defined_by, reader);
      continue;
    }
    if (standard && op == "Split") {
      import_split(node, where, layer_name, net, tensors, defined_by);
      continue;
    }
    std::optional<std::string> ns;
    if (standard) ns = "onnx";
    if (!standard && !named) ns = node.domain();
    LayerOptions options;
    options.name = layer_name;
    Attrs attrs;
    std::set<std::string, std::less<>> seen;
    std::optional<TensorRef> fill_value;  // ConstantOfShape's value: an input, for its type
    for (auto const& a : node.attribute()) {
      std::string attr_where = fmt::format("{}, attribute '{}'", where, a.name());
      if (!seen.insert(a.name()).second) fail("{}: the attribute is given twice", attr_where);
      if (standard && op == "ConstantOfShape" && a.name() == "value" &&
          a.type() == onnx::AttributeProto::TENSOR) {
        auto r = reader.read(a.t(), attr_where);
        fill_value = net.add_constant(layer_name + "_value", r.dtype, r.dims, std::move(r.bytes));
      } else if (standard) {
        attrs.emplace(a.name(), attribute_value(a, attr_where));
      } else if (a.name() == "plugin_namespace") {
        if (a.type() != onnx::AttributeProto::STRING)
          fail("{}: must be a STRING (the plugin's namespace), not {}", attr_where,
               attribute_type_name(a.type()));
        ns = a.s();
      } else if (a.name() == "aot") {
        if (a.type() != onnx::AttributeProto::INT)
          fail("{}: must be an INT (1: the AOT implementation, 0: the JIT one), not {}", attr_where,
               attribute_type_name(a.type()));
        if (a.i() != 0 && a.i() != 1)
          fail("{}: must be 1 (the AOT implementation) or 0 (the JIT one), not {}", attr_where,
               a.i());
        options.impl = a.i() == 1 ? ImplChoice::AOT : ImplChoice::JIT;
      } else {
        attrs.emplace(a.name(), attribute_value(a, attr_where));
      }
    }
    if (!ns)
      fail(
          "{}: the node has no 'plugin_namespace' attribute; add a STRING attribute "
          "plugin_namespace with the plugin's namespace (for plugin ns::{}: "
          "plugin_namespace=\"ns\")",
          where, op);
    std::string plugin_id = fmt::format("{}::{}", *ns, op);
    std::shared_ptr<const PluginDefinition> def;
    if (standard) {
      def = Registry::global().find(plugin_id);
      if (!def)
        fail(ErrorCode::Unsupported,
             "{}: operator {} (opset {}) is not supported by qdp; the standard operators it "
             "supports are: {}",
             where, op, opset, supported_operators());
    }

    std::vector<TensorRef> inputs;
    for (int k = 0; k < node.input_size(); ++k) {
      std::string const& name = node.input(k);
      if (name.empty() && standard) {  // an omitted optional input
        inputs.push_back(absent_input());
        continue;
      }
      if (name.empty())
        fail(
            "{}: input #{} is empty (an omitted optional input); qdp plugins take a fixed number "
            "of inputs, give each one",
            where, k);
      auto it = tensors.find(name);
      if (it != tensors.end()) {
        inputs.push_back(it->second);
        continue;
      }
      auto p = producer.find(name);
      if (p != producer.end()) {
        auto const& later = graph.node(p->second);
        fail(
            "{}: input '{}' is produced by node '{}', which comes later; nodes must be in "
            "topological order (onnx.utils or onnx-graphsurgeon's toposort() can sort them)",
            where, name,
            later.name().empty() ? fmt::format("{}_{}", later.op_type(), p->second) : later.name());
      }
      fail("{}: input '{}' is not defined by any graph input or earlier node", where, name);
    }

    if (fill_value) inputs.push_back(*fill_value);
    // Trailing optional inputs the node leaves out.
    if (standard && !def->variadic)
      while (static_cast<int>(inputs.size()) < def->num_inputs) inputs.push_back(absent_input());
    std::vector<TensorRef> outputs;
    try {
      validate_plugin_id(plugin_id);
      outputs = net.add_plugin(plugin_id, std::move(inputs), std::move(attrs), options);
    } catch (Error const& e) {
      fail("{}: {}", where, e.what());
    }
    if (standard && static_cast<size_t>(node.output_size()) > outputs.size()) {
      for (size_t k = outputs.size(); k < static_cast<size_t>(node.output_size()); ++k)
        if (!node.output(static_cast<int>(k)).empty())
          fail(ErrorCode::Unsupported,
               "{}: output {} ('{}') is not supported: qdp computes the first {} output(s) of {}",
               where, k, node.output(static_cast<int>(k)), outputs.size(), op);
    } else if (!standard && static_cast<size_t>(node.output_size()) != outputs.size())
      fail(
          "{}: the node lists {} output(s), but plugin {} has {}; list one name per output "
          "(\"\" for one nothing reads)",
          where, node.output_size(), plugin_id, outputs.size());
    for (int k = 0; k < node.output_size() && k < static_cast<int>(outputs.size()); ++k) {
      std::string const& name = node.output(k);
      if (name.empty()) continue;
      auto d = defined_by.find(name);
      if (d != defined_by.end())
        fail("{}: output '{}' is already defined by {}; ONNX names each tensor once", where, name,
             d->second);
      if (initializers.count(name))
        fail("{}: output '{}' has the name of an initializer; ONNX names each tensor once", where,
             name);
      tensors.emplace(name, outputs[static_cast<size_t>(k)]);
      defined_by.emplace(name, fmt::format("node '{}'", layer_name));
    }
  }

  // ---- graph outputs
  for (auto const& out : graph.output()) {
    std::string where = fmt::format("{}: graph output '{}'", origin, out.name());
    auto it = tensors.find(out.name());
    if (it == tensors.end())
      fail("{}: no node produces it{}", where,
           initializers.count(out.name()) ? " (it is an initializer)" : "");
    try {
      net.mark_output(it->second, out.name());
      if (out.type().has_tensor_type()) {
        auto const& tt = out.type().tensor_type();
        std::optional<DataType> dtype;
        if (tt.elem_type() != onnx::TensorProto::UNDEFINED) {
          dtype = input_data_type(tt.elem_type());
          if (!dtype)
            fail(ErrorCode::Unsupported, "element type {} is not supported",
                 data_type_name(tt.elem_type()));
        }
        std::optional<std::vector<int64_t>> dims;
        if (tt.has_shape()) {
          dims.emplace();
          for (auto const& d : tt.shape().dim())
            dims->push_back(d.has_dim_value() ? d.dim_value() : -1);
        }
        net.declare_output(out.name(), dtype, dims);
      }
    } catch (Error const& e) {
      fail(e.code(), "{}: {}", where, e.what());
    }
  }
  return net;
}

Network import_model(std::span<const std::byte> bytes, std::string_view origin,
                     std::filesystem::path const& folder) {
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    fail(
        "{}: the ONNX model is {} bytes; protobuf reads at most 2 GiB (store large tensors as "
        "external data)",
        origin, bytes.size());
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail(
        "not a valid ONNX model: {} (protobuf cannot parse it as an onnx.ModelProto: the file is "
        "truncated or not an ONNX model)",
        origin);
  if (!model.has_graph())
    fail("{}: the ONNX model has no graph (is it an ONNX model file?)", origin);
  int64_t opset = -1;
  for (auto const& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  for (auto const& n : model.graph().node()) {
    bool standard = (n.domain().empty() || n.domain() == "ai.onnx") &&
                    std::none_of(n.attribute().begin(), n.attribute().end(),
                                 [](auto const& a) { return a.name() == "plugin_namespace"; });
    if (!standard) continue;
    int64_t first = first_opset(n.op_type());
    if (opset < first || opset > kMaxOpset)
      fail(ErrorCode::Unsupported,
           "{}: node '{}' (op {}) at opset {} of the default ONNX domain is not supported: qdp "
           "reads {} at opsets {} to {} (convert the model with "
           "onnx.version_converter.convert_version)",
           origin, n.name(), n.op_type(),
           opset < 0 ? std::string("(none given)") : std::to_string(opset), n.op_type(), first,
           kMaxOpset);
  }
  return import_graph(model.graph(), origin, opset, folder);
}

}  // namespace

Network import_onnx(std::string const& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail("cannot open ONNX model '{}': {}", path, std::strerror(errno));
  std::vector<std::byte> bytes;
  std::byte buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file.get())) > 0)
    bytes.insert(bytes.end(), buffer, buffer + got);
  if (std::ferror(file.get())) fail("cannot read ONNX model '{}': {}", path, std::strerror(errno));
  return import_model(bytes, path, std::filesystem::absolute(path).parent_path());
}

Network import_onnx_bytes(std::span<const std::byte> bytes, std::string_view origin) {
  return import_model(bytes, origin, {});
}

}  // namespace qdp
