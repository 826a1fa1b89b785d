// Engine files (SPEC §5): writing a plan to bytes and reading it back. The layout is described
// in engine_file.hpp. Reading treats the bytes as hostile: the header, the checksum and the
// FlatBuffers structure are verified before the payload is read, and every enum, index, offset
// and size in the plan is range-checked before the runtime can use it.
#include "engine/engine_file.hpp"

#include <fcntl.h>
#include <flatbuffers/flatbuffers.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <qdp/registry.hpp>
#include <qdp/version.hpp>  // QDP_VERSION_STRING: the library version written into engine files

#include "backends/backend.hpp"
#include "engine/derive.hpp"
#include "engine/engine_impl.hpp"
#include "engine_generated.h"

namespace qdp::detail::engine_file {
namespace {

namespace fbs = flatbuffers;

// The schema's enums are stored as the engine's own codes.
static_assert(static_cast<int>(fb::DataType::MAX) == static_cast<int>(DataType::BOOL));
static_assert(static_cast<int>(fb::TensorFormat::MAX) == static_cast<int>(TensorFormat::HWC));
static_assert(static_cast<int>(fb::Device::MAX) == static_cast<int>(Device::CUDA));
static_assert(static_cast<int>(fb::Storage::MAX) ==
              static_cast<int>(PlanTensor::Storage::Constant));
static_assert(static_cast<int>(fb::StepKind::MAX) == static_cast<int>(PlanStep::Kind::Values));
// The union's type code is the AttrType index + 1 (0 is "no value").
static_assert(static_cast<size_t>(fb::AttrValue::MAX) == std::variant_size_v<AttrValue>);
static_assert(sizeof(QDP_VERSION_STRING) <= kLibraryVersionSize,
              "the version must fit its header field");

// ---------------------------------------------------------------------------------------------
// Header fields and checksum

void put_le(std::span<std::byte> out, size_t offset, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out[offset + i] = std::byte((value >> (8 * i)) & 0xff);
}

uint64_t get_le(std::span<const std::byte> in, size_t offset, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= std::to_integer<uint64_t>(in[offset + i]) << (8 * i);
  return value;
}

uint64_t fnv1a(uint64_t hash, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) {
    hash ^= std::to_integer<uint64_t>(b);
    hash *= 1099511628211ull;  // the 64-bit FNV prime
  }
  return hash;
}

// A fixed-size text field, for messages: trailing NULs dropped, other unprintable bytes escaped.
std::string text_field(std::span<const std::byte> bytes) {
  while (!bytes.empty() && bytes.back() == std::byte{0}) bytes = bytes.first(bytes.size() - 1);
  std::string s;
  for (std::byte b : bytes) {
    auto c = std::to_integer<unsigned char>(b);
    s += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c))
                                 : fmt::format("\\x{:02x}", c);
  }
  return s;
}

std::string first_bytes_hex(std::span<const std::byte> bytes) {
  std::string s;
  for (size_t i = 0; i < std::min<size_t>(bytes.size(), 8); ++i)
    s += fmt::format("{}{:02x}", i ? " " : "", std::to_integer<unsigned>(bytes[i]));
  return s;
}

// The architecture the header records: that of the embedded cubins (the builder compiles all
// of an engine's kernels for one GPU), 0 without any.
uint32_t cubin_arch(EnginePlan const& plan) {
  uint32_t arch = 0;
  for (auto const& step : plan.steps)
    if (step.kernel && !step.kernel->cubin.empty())
      arch = std::max(arch, static_cast<uint32_t>(std::max(step.kernel->arch, 0)));
  return arch;
}

// ---------------------------------------------------------------------------------------------
// Writing: EnginePlan -> FlatBuffers payload

class PlanWriter {
 public:
  std::vector<std::byte> payload(EnginePlan const& plan) {
    auto io = offsets(plan.io, [&](IOInfo const& i) { return write(i); });
    auto io_tensor = fbb_.CreateVector(plan.io_tensor);
    auto tensors = offsets(plan.tensors, [&](PlanTensor const& t) { return write(t); });
    auto steps = offsets(plan.steps, [&](PlanStep const& s) { return write(s); });
    auto sizes = offsets(plan.sizes, [&](SizeValue const& s) {
      auto upper_bound = fbb_.CreateString(s.upper_bound.serialize());
      return fb::CreateSizeValue(fbb_, s.tensor, upper_bound);
    });
    auto constants = offsets(plan.constants, [&](auto const& c) {
      auto bytes = fbb_.CreateVector(reinterpret_cast<uint8_t const*>(c->data()), c->size());
      return fb::CreateConstantData(fbb_, bytes);
    });
    auto root = fb::CreatePlan(fbb_, static_cast<fb::Device>(plan.device), io, io_tensor, tensors,
                               steps, sizes, plan.arena_bytes, plan.build_seconds, constants);
    fb::FinishPlanBuffer(fbb_, root);
    auto const* data = reinterpret_cast<std::byte const*>(fbb_.GetBufferPointer());
    return {data, data + fbb_.GetSize()};
  }

 private:
  // A vector of the tables `write_one` writes for `items`.
  template <class T, class F, class Offset = std::invoke_result_t<F&, T const&>>
  fbs::Offset<fbs::Vector<Offset>> offsets(std::vector<T> const& items, F&& write_one) {
    std::vector<Offset> out;
    out.reserve(items.size());
    for (auto const& item : items) out.push_back(write_one(item));
    return fbb_.CreateVector(out);
  }

  fbs::Offset<fbs::Vector<fbs::Offset<fbs::String>>> exprs(std::span<const ShapeExpr> list) {
    std::vector<fbs::Offset<fbs::String>> out;
    for (auto const& e : list) out.push_back(fbb_.CreateString(e.serialize()));
    return fbb_.CreateVector(out);
  }

  fbs::Offset<fb::IOInfo> write(IOInfo const& io) {
    auto name = fbb_.CreateString(io.name);
    auto dims = fbb_.CreateVector(io.dims);
    fbs::Offset<fb::Profile> profile;
    if (io.profile) {
      auto span = [&](Dims const& d) { return fbb_.CreateVector(d.begin(), d.span().size()); };
      auto min = span(io.profile->min), opt = span(io.profile->opt), max = span(io.profile->max);
      profile = fb::CreateProfile(fbb_, min, opt, max);
    }
    return fb::CreateIOInfo(fbb_, name, static_cast<fb::DataType>(io.dtype),
                            static_cast<fb::TensorFormat>(io.format), dims, profile, io.is_input,
                            io.max_bytes);
  }

  fbs::Offset<fb::Tensor> write(PlanTensor const& t) {
    auto name = fbb_.CreateString(t.name);
    auto shape = exprs(t.shape);
    return fb::CreateTensor(fbb_, name, static_cast<fb::DataType>(t.dtype),
                            static_cast<fb::TensorFormat>(t.format), shape,
                            static_cast<fb::Storage>(t.storage), t.binding, t.offset, t.capacity,
                            t.size_id, t.data_dependent, t.constant, t.converted_from.has_value(),
                            static_cast<fb::DataType>(t.converted_from.value_or(DataType::FP32)));
  }

  fbs::Offset<fb::Kernel> write(PlanKernel const& k) {
    auto name = fbb_.CreateString(k.name);
    auto ptx = fbb_.CreateString(k.ptx);
    auto cubin =
        fbb_.CreateVector(reinterpret_cast<uint8_t const*>(k.cubin.data()), k.cubin.size());
    auto grid = exprs(k.grid);
    auto block = exprs(k.block);
    auto shared_memory = fbb_.CreateString(k.shared_memory.serialize());
    auto extra_args = exprs(k.extra_args);
    return fb::CreateKernel(fbb_, name, ptx, cubin, k.arch, grid, block, shared_memory, extra_args);
  }

  fbs::Offset<void> write_value(AttrValue const& v) {
    switch (type_of(v)) {
      case AttrType::INT32:
        return fb::CreateInt32Value(fbb_, std::get<int32_t>(v)).Union();
      case AttrType::INT64:
        return fb::CreateInt64Value(fbb_, std::get<int64_t>(v)).Union();
      case AttrType::FLOAT32:
        return fb::CreateFloat32Value(fbb_, std::get<float>(v)).Union();
      case AttrType::FLOAT64:
        return fb::CreateFloat64Value(fbb_, std::get<double>(v)).Union();
      case AttrType::BOOL:
        return fb::CreateBoolValue(fbb_, std::get<bool>(v)).Union();
      case AttrType::STRING:
        return fb::CreateStringValue(fbb_, fbb_.CreateString(std::get<std::string>(v))).Union();
      case AttrType::BYTES: {
        auto const& b = std::get<Bytes>(v).value;
        auto data = fbb_.CreateVector(reinterpret_cast<uint8_t const*>(b.data()), b.size());
        return fb::CreateBytesValue(fbb_, data).Union();
      }
      case AttrType::INT8S:
        return fb::CreateInt8Array(fbb_, fbb_.CreateVector(std::get<std::vector<int8_t>>(v)))
            .Union();
      case AttrType::INT16S:
        return fb::CreateInt16Array(fbb_, fbb_.CreateVector(std::get<std::vector<int16_t>>(v)))
            .Union();
      case AttrType::INT32S:
        return fb::CreateInt32Array(fbb_, fbb_.CreateVector(std::get<std::vector<int32_t>>(v)))
            .Union();
      case AttrType::INT64S:
        return fb::CreateInt64Array(fbb_, fbb_.CreateVector(std::get<std::vector<int64_t>>(v)))
            .Union();
      case AttrType::FLOAT16S: {
        std::vector<uint16_t> bits;
        for (half h : std::get<std::vector<half>>(v)) bits.push_back(h.bits);
        return fb::CreateFloat16Array(fbb_, fbb_.CreateVector(bits)).Union();
      }
      case AttrType::FLOAT32S:
        return fb::CreateFloat32Array(fbb_, fbb_.CreateVector(std::get<std::vector<float>>(v)))
            .Union();
      case AttrType::FLOAT64S:
        return fb::CreateFloat64Array(fbb_, fbb_.CreateVector(std::get<std::vector<double>>(v)))
            .Union();
      case AttrType::BOOLS: {
        auto const& bools = std::get<std::vector<bool>>(v);
        std::vector<uint8_t> bytes(bools.begin(), bools.end());
        return fb::CreateBoolArray(fbb_, fbb_.CreateVector(bytes)).Union();
      }
    }
    fail("cannot serialize an attribute of unknown type {}", v.index());
  }

  fbs::Offset<fb::Step> write(PlanStep const& s) {
    auto name = fbb_.CreateString(s.name);
    auto plugin_id = fbb_.CreateString(s.plugin_id);
    auto attrs = offsets(std::vector(s.attrs.begin(), s.attrs.end()), [&](auto const& attr) {
      auto attr_name = fbb_.CreateString(attr.first);
      auto value = write_value(attr.second);
      return fb::CreateAttr(fbb_, attr_name, static_cast<fb::AttrValue>(attr.second.index() + 1),
                            value);
    });
    auto inputs = fbb_.CreateVector(s.inputs);
    auto outputs = fbb_.CreateVector(s.outputs);
    auto aliases = fbb_.CreateVector(s.aliases);
    fbs::Offset<fb::Kernel> kernel;
    if (s.kernel) kernel = write(*s.kernel);
    auto workspace = fbb_.CreateString(s.workspace.serialize());
    auto values = offsets(s.input_values, [&](std::optional<PlanValue> const& v) {
      if (!v) return fb::CreateValue(fbb_, false);
      auto elements = exprs(v->elements);
      return fb::CreateValue(fbb_, true, elements, v->scalar);
    });
    return fb::CreateStep(fbb_, static_cast<fb::StepKind>(s.kind), name, plugin_id, s.aot, attrs,
                          inputs, outputs, aliases, s.tactic, s.autotune_ms, kernel, workspace,
                          s.workspace_offset, s.workspace_capacity, values);
  }

  fbs::FlatBufferBuilder fbb_;
};

// ---------------------------------------------------------------------------------------------
// Reading: header checks

struct Header {
  Device device;
  uint32_t gpu_arch;
};

// Every complaint about a file starts the same way: which file, then what is wrong with it.
template <class... Args>
[[noreturn]] void bad_file(ErrorCode code, std::string_view origin,
                           fmt::format_string<Args...> format, Args&&... args) {
  fail(code, "cannot load engine '{}': {}", origin,
       fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
[[noreturn]] void bad_file(std::string_view origin, fmt::format_string<Args...> format,
                           Args&&... args) {
  bad_file(ErrorCode::CorruptFile, origin, format, std::forward<Args>(args)...);
}

constexpr std::string_view kRebuild = "rebuild the engine with this qdp";

void check_magic(std::span<const std::byte> file, std::string_view origin) {
  if (file.empty()) bad_file(origin, "the file is empty: not a qdp engine file");
  size_t n = std::min(file.size(), kMagic.size());
  if (std::memcmp(file.data(), kMagic.data(), n) != 0)
    bad_file(origin,
             "not a qdp engine file: it does not start with the tag \"QDPENGN\" (its first bytes "
             "are {}); give the path of an engine saved by qdp (qdpexec --saveEngine)",
             first_bytes_hex(file));
  if (file.size() < kHeaderSize)
    bad_file(origin,
             "the file is truncated: it has {} bytes, less than the {}-byte header; copy or "
             "save it again",
             file.size(), kHeaderSize);
}

void check_versions(std::span<const std::byte> file, std::string_view origin) {
  auto format_version = get_le(file, kFormatVersionOffset, 4);
  if (format_version != kFormatVersion)
    bad_file(ErrorCode::VersionMismatch, origin,
             "its engine format version is {}, but this qdp ({}) reads version {} only; {}",
             format_version, library_version(), kFormatVersion, kRebuild);
  auto field = file.subspan(kLibraryVersionOffset, kLibraryVersionSize);
  std::array<std::byte, kLibraryVersionSize> ours{};
  std::memcpy(ours.data(), library_version().data(), library_version().size());
  if (!std::equal(field.begin(), field.end(), ours.begin()))
    bad_file(ErrorCode::VersionMismatch, origin,
             "it was built by qdp {}, but this is qdp {}: engines are specific to the version "
             "that built them; {}",
             text_field(field), library_version(), kRebuild);
}

std::string expected_size(uint64_t payload_size) {
  if (payload_size > std::numeric_limits<uint64_t>::max() - kHeaderSize) return "over 2^64";
  return std::to_string(kHeaderSize + payload_size);
}

// Returns the payload once its size and checksum are right.
std::span<const std::byte> checked_payload(std::span<const std::byte> file,
                                           std::string_view origin) {
  uint64_t payload_size = get_le(file, kPayloadSizeOffset, 8);
  uint64_t available = file.size() - kHeaderSize;
  if (payload_size > available)
    bad_file(origin,
             "the file is truncated: it ends at byte offset {}, but its header says a {}-byte "
             "payload follows the {}-byte header (expected size {} bytes); copy or save it again",
             file.size(), payload_size, kHeaderSize, expected_size(payload_size));
  if (payload_size < available)
    bad_file(origin,
             "the file has unexpected trailing data ({} bytes) after byte offset {}, where the "
             "engine ends (expected size {} bytes); copy or save it again",
             available - payload_size, kHeaderSize + payload_size, kHeaderSize + payload_size);
  uint64_t stored = get_le(file, kChecksumOffset, 8);
  uint64_t computed = checksum_of(file);
  if (stored != computed)
    bad_file(origin,
             "corrupted: checksum mismatch (stored {:016x}, computed {:016x} over the header and "
             "the payload at byte offsets {}..{}); the file was damaged: copy or save it again",
             stored, computed, kHeaderSize, file.size());
  return file.subspan(kHeaderSize);
}

Header read_header(std::span<const std::byte> file, std::string_view origin) {
  uint64_t device = get_le(file, kDeviceOffset, 1);
  if (device > static_cast<uint64_t>(Device::CUDA))
    bad_file(origin, "the header names an unknown device (code {} at byte offset {}); {}", device,
             kDeviceOffset, kRebuild);
  return {static_cast<Device>(device), static_cast<uint32_t>(get_le(file, kGpuArchOffset, 4))};
}

// ---------------------------------------------------------------------------------------------
// Reading: FlatBuffers payload -> EnginePlan, every value range-checked

class PlanReader {
 public:
  explicit PlanReader(std::string_view origin) : origin_(origin) {}

  EnginePlan read(fb::Plan const& p) {
    EnginePlan plan;
    plan.device = enum_value<Device>(p.device(), fb::Device::MAX, "the plan", "device");
    for (auto const* io : items(p.io())) plan.io.push_back(read(*io, plan.io.size()));
    plan.io_tensor = to_vector<int>(p.io_tensor());
    for (auto const* t : items(p.tensors())) plan.tensors.push_back(read(*t, plan.tensors.size()));
    for (auto const* s : items(p.steps())) plan.steps.push_back(read(*s, plan.steps.size()));
    for (auto const* s : items(p.sizes())) {
      std::string where = fmt::format("size value {}", plan.sizes.size());
      plan.sizes.push_back({s->tensor(), expr(s->upper_bound(), where, "upper bound")});
    }
    plan.arena_bytes = p.arena_bytes();
    plan.build_seconds = p.build_seconds();
    for (auto const* c : items(p.constants())) {
      auto const* bytes = c->data();
      auto data = std::make_shared<std::vector<std::byte>>();
      if (bytes) {
        auto const* first = reinterpret_cast<std::byte const*>(bytes->data());
        data->assign(first, first + bytes->size());
      }
      plan.constants.push_back(std::move(data));
    }
    return plan;
  }

 private:
  template <class... Args>
  [[noreturn]] void bad(std::string_view where, fmt::format_string<Args...> format,
                        Args&&... args) const {
    bad_file(origin_, "{}: {}; the file was not written by a compatible qdp: {}", where,
             fmt::format(format, std::forward<Args>(args)...), kRebuild);
  }

  // The tables of a vector (an absent vector is an empty one).
  template <class T>
  static std::vector<T const*> items(fbs::Vector<fbs::Offset<T>> const* v) {
    std::vector<T const*> out;
    if (v)
      for (auto const* item : *v) out.push_back(item);
    return out;
  }

  // Element by element through memcpy: the verifier checks bounds, not that an 8-byte element
  // is 8-byte aligned, and a misaligned load is undefined behaviour (UBSan saw one).
  template <class U, class T>
  static std::vector<U> to_vector(fbs::Vector<T> const* v) {
    std::vector<U> out;
    if (!v) return out;
    out.reserve(v->size());
    auto const* bytes = reinterpret_cast<unsigned char const*>(v->Data());
    for (fbs::uoffset_t i = 0; i < v->size(); ++i) {
      T x;
      std::memcpy(&x, bytes + static_cast<size_t>(i) * sizeof(T), sizeof(T));
      out.push_back(static_cast<U>(x));
    }
    return out;
  }

  static std::string str(fbs::String const* s) { return s ? s->str() : std::string(); }

  template <class E, class F>
  E enum_value(F code, F max, std::string_view where, std::string_view field) const {
    if (static_cast<unsigned>(code) > static_cast<unsigned>(max))
      bad(where, "unknown {} code {}", field, static_cast<unsigned>(code));
    return static_cast<E>(code);
  }

  ShapeExpr expr(fbs::String const* text, std::string_view where, std::string_view what) const {
    if (!text) bad(where, "the {} is missing", what);
    try {
      return ShapeExpr::parse(text->string_view());
    } catch (Error const& e) {
      bad(where, "{}: {}", what, e.what());
    }
  }

  std::vector<ShapeExpr> exprs(fbs::Vector<fbs::Offset<fbs::String>> const* list,
                               std::string_view where, std::string_view what) const {
    std::vector<ShapeExpr> out;
    for (auto const* text : items(list))
      out.push_back(expr(text, where, fmt::format("{} {}", what, out.size())));
    return out;
  }

  std::array<ShapeExpr, 3> three_exprs(fbs::Vector<fbs::Offset<fbs::String>> const* list,
                                       std::string_view where, std::string_view what) const {
    auto v = exprs(list, where, what);
    if (v.size() != 3) bad(where, "the kernel's {} has {} values, not 3", what, v.size());
    return {v[0], v[1], v[2]};
  }

  IOInfo read(fb::IOInfo const& p, size_t index) const {
    std::string where = fmt::format("input/output {} ('{}')", index, str(p.name()));
    IOInfo io;
    io.name = str(p.name());
    io.dtype = enum_value<DataType>(p.dtype(), fb::DataType::MAX, where, "data type");
    io.format = enum_value<TensorFormat>(p.format(), fb::TensorFormat::MAX, where, "format");
    io.dims = to_vector<int64_t>(p.dims());
    if (auto const* profile = p.profile())
      io.profile = Profile{dims(profile->min(), where), dims(profile->opt(), where),
                           dims(profile->max(), where)};
    io.is_input = p.is_input();
    io.max_bytes = p.max_bytes();
    return io;
  }

  Dims dims(fbs::Vector<int64_t> const* v, std::string_view where) const {
    auto values = to_vector<int64_t>(v);
    if (values.size() > static_cast<size_t>(kMaxRank))
      bad(where, "a profile shape has {} dimensions, more than {}", values.size(), kMaxRank);
    return Dims(std::span<const int64_t>(values));
  }

  PlanTensor read(fb::Tensor const& p, size_t index) const {
    std::string where = fmt::format("tensor {} ('{}')", index, str(p.name()));
    PlanTensor t;
    t.name = str(p.name());
    t.dtype = enum_value<DataType>(p.dtype(), fb::DataType::MAX, where, "data type");
    t.format = enum_value<TensorFormat>(p.format(), fb::TensorFormat::MAX, where, "format");
    t.shape = exprs(p.shape(), where, "dimension");
    t.storage = enum_value<PlanTensor::Storage>(p.storage(), fb::Storage::MAX, where, "storage");
    t.binding = p.binding();
    t.offset = p.offset();
    t.capacity = p.capacity();
    t.size_id = p.size_id();
    t.data_dependent = p.data_dependent();
    t.constant = p.constant();
    if (p.converted())
      t.converted_from = enum_value<DataType>(p.converted_from(), fb::DataType::MAX, where,
                                              "converted-from data type");
    return t;
  }

  AttrValue read_value(fb::Attr const& a, std::string_view where) const {
    auto need = [&](auto const* table) {
      if (!table) bad(where, "the value is missing");
      return table;
    };
    switch (a.value_type()) {
      case fb::AttrValue::Int32Value:
        return need(a.value_as_Int32Value())->value();
      case fb::AttrValue::Int64Value:
        return need(a.value_as_Int64Value())->value();
      case fb::AttrValue::Float32Value:
        return need(a.value_as_Float32Value())->value();
      case fb::AttrValue::Float64Value:
        return need(a.value_as_Float64Value())->value();
      case fb::AttrValue::BoolValue:
        return need(a.value_as_BoolValue())->value();
      case fb::AttrValue::StringValue:
        return str(need(a.value_as_StringValue())->value());
      case fb::AttrValue::BytesValue:
        return Bytes{to_vector<std::byte>(need(a.value_as_BytesValue())->value())};
      case fb::AttrValue::Int8Array:
        return to_vector<int8_t>(need(a.value_as_Int8Array())->value());
      case fb::AttrValue::Int16Array:
        return to_vector<int16_t>(need(a.value_as_Int16Array())->value());
      case fb::AttrValue::Int32Array:
        return to_vector<int32_t>(need(a.value_as_Int32Array())->value());
      case fb::AttrValue::Int64Array:
        return to_vector<int64_t>(need(a.value_as_Int64Array())->value());
      case fb::AttrValue::Float16Array: {
        std::vector<half> values;
        for (uint16_t bits : to_vector<uint16_t>(need(a.value_as_Float16Array())->bits()))
          values.emplace_back().bits = bits;
        return values;
      }
      case fb::AttrValue::Float32Array:
        return to_vector<float>(need(a.value_as_Float32Array())->value());
      case fb::AttrValue::Float64Array:
        return to_vector<double>(need(a.value_as_Float64Array())->value());
      case fb::AttrValue::BoolArray:
        return to_vector<bool>(need(a.value_as_BoolArray())->value());
      case fb::AttrValue::NONE:
        break;
    }
    bad(where, "unknown attribute type code {}", static_cast<unsigned>(a.value_type()));
  }

  Attrs read_attrs(fbs::Vector<fbs::Offset<fb::Attr>> const* list, std::string_view where) const {
    Attrs attrs;
    for (auto const* a : items(list)) {
      std::string name = str(a->name());
      std::string attr_where = fmt::format("{} attribute '{}'", where, name);
      if (!attrs.emplace(name, read_value(*a, attr_where)).second)
        bad(attr_where, "the attribute appears twice");
    }
    return attrs;
  }

  PlanKernel read(fb::Kernel const& p, std::string_view where) const {
    PlanKernel k;
    k.name = str(p.name());
    k.ptx = str(p.ptx());
    if (auto const* cubin = p.cubin())
      k.cubin.assign(reinterpret_cast<char const*>(cubin->data()), cubin->size());
    k.arch = p.arch();
    k.grid = three_exprs(p.grid(), where, "grid");
    k.block = three_exprs(p.block(), where, "block");
    k.shared_memory = expr(p.shared_memory(), where, "shared memory size");
    k.extra_args = exprs(p.extra_args(), where, "extra argument");
    return k;
  }

  PlanStep read(fb::Step const& p, size_t index) const {
    std::string where = fmt::format("layer {} ('{}')", index, str(p.name()));
    PlanStep s;
    s.kind = enum_value<PlanStep::Kind>(p.kind(), fb::StepKind::MAX, where, "step kind");
    s.name = str(p.name());
    s.plugin_id = str(p.plugin_id());
    s.aot = p.aot();
    s.attrs = read_attrs(p.attrs(), where);
    s.inputs = to_vector<int>(p.inputs());
    s.outputs = to_vector<int>(p.outputs());
    s.aliases = to_vector<int>(p.aliases());
    s.tactic = p.tactic();
    s.autotune_ms = p.autotune_ms();
    if (auto const* kernel = p.kernel()) s.kernel = read(*kernel, where);
    s.workspace = expr(p.workspace(), where, "workspace size");
    s.workspace_offset = p.workspace_offset();
    s.workspace_capacity = p.workspace_capacity();
    for (auto const* v : items(p.input_values())) {
      if (!v->present()) {
        s.input_values.emplace_back();
        continue;
      }
      s.input_values.push_back(PlanValue{exprs(v->elements(), where, "value"), v->scalar()});
    }
    return s;
  }

  std::string_view origin_;
};

// ---------------------------------------------------------------------------------------------
// Reading: the plan's indices, offsets and sizes, checked before the runtime indexes with them

class PlanChecker {
 public:
  PlanChecker(EnginePlan const& plan, std::string_view origin) : plan_(plan), origin_(origin) {}

  void check() const {
    size_t inputs = 0;
    for (size_t i = 0; i < plan_.io.size(); ++i) {
      check_io(i, inputs);
      inputs += plan_.io[i].is_input;
    }
    if (plan_.io_tensor.size() != plan_.io.size())
      bad("the plan", "{} tensors for {} inputs and outputs", plan_.io_tensor.size(),
          plan_.io.size());
    for (size_t i = 0; i < plan_.io_tensor.size(); ++i)
      tensor_id(plan_.io_tensor[i], fmt::format("input/output {}", i));
    if (plan_.arena_bytes < 0) bad("the plan", "negative arena size {}", plan_.arena_bytes);
    for (size_t t = 0; t < plan_.tensors.size(); ++t) check_tensor(t);
    for (size_t s = 0; s < plan_.steps.size(); ++s) check_step(s);
    check_arena_size();  // after the steps: their workspaces are known to fit by then
    for (size_t v = 0; v < plan_.sizes.size(); ++v) {
      std::string where = fmt::format("size value {}", v);
      tensor_id(plan_.sizes[v].tensor, where);
      check_expr(plan_.sizes[v].upper_bound, where);
    }
    check_capacities();
    check_lifetimes();
  }

 private:
  template <class... Args>
  [[noreturn]] void bad(std::string_view where, fmt::format_string<Args...> format,
                        Args&&... args) const {
    bad_file(origin_, "{}: {}; the file was not written by a compatible qdp: {}", where,
             fmt::format(format, std::forward<Args>(args)...), kRebuild);
  }

  void in_range(int64_t value, int64_t lo, size_t end, std::string_view where,
                std::string_view what) const {
    if (value < lo || value >= static_cast<int64_t>(end))
      bad(where, "{} {} is out of range [{}, {})", what, value, lo, end);
  }
  void tensor_id(int id, std::string_view where) const {
    in_range(id, 0, plan_.tensors.size(), where, "tensor id");
  }

  // Inputs come first: the runtime numbers input shapes by their io index.
  void check_io(size_t i, size_t inputs_before) const {
    IOInfo const& io = plan_.io[i];
    std::string where = fmt::format("input/output {} ('{}')", i, io.name);
    if (io.is_input && inputs_before != i) bad(where, "an input after an output");
    if (io.dims.size() > static_cast<size_t>(kMaxRank))
      bad(where, "{} dimensions, more than {}", io.dims.size(), kMaxRank);
    for (int64_t d : io.dims)
      if (d < -1) bad(where, "dimension {} is negative", d);
    bool dynamic = std::find(io.dims.begin(), io.dims.end(), -1) != io.dims.end();
    if (io.is_input && dynamic && !io.profile) bad(where, "dynamic dimensions without a profile");
    if (!io.profile) return;
    Profile const& p = *io.profile;
    for (Dims const* d : {&p.min, &p.opt, &p.max})
      if (static_cast<size_t>(d->rank()) != io.dims.size())
        bad(where, "a profile shape of rank {} for {} dimensions", d->rank(), io.dims.size());
    for (int k = 0; k < p.min.rank(); ++k)
      if (p.min[k] < 0 || p.min[k] > p.opt[k] || p.opt[k] > p.max[k])
        bad(where, "profile dimension {} is not 0 <= min <= opt <= max", k);
  }

  void check_tensor(size_t t) const {
    PlanTensor const& pt = plan_.tensors[t];
    std::string where = fmt::format("tensor {} ('{}')", t, pt.name);
    if (pt.shape.size() > static_cast<size_t>(kMaxRank))
      bad(where, "{} dimensions, more than {}", pt.shape.size(), kMaxRank);
    if (pt.format == TensorFormat::HWC && pt.shape.size() != 4)
      bad(where, "HWC format on a tensor of rank {}", pt.shape.size());
    bool uses_sizes = false;
    for (auto const& e : pt.shape) uses_sizes |= check_expr(e, where);
    if (pt.data_dependent != uses_sizes)
      bad(where, "marked {}data-dependent, but its shape {} size values",
          pt.data_dependent ? "" : "not ", uses_sizes ? "uses" : "uses no");
    in_range(pt.size_id, -1, plan_.sizes.size(), where, "size id");
    // The runtime reads a size value as an int32 or int64 scalar.
    if (pt.size_id >= 0 && pt.dtype != DataType::INT32 && pt.dtype != DataType::INT64)
      bad(where, "a size tensor of type {}", name(pt.dtype));
    if (pt.converted_from && pt.storage != PlanTensor::Storage::Constant)
      bad(where, "converted at build time, but it is not a constant");
    if (pt.storage == PlanTensor::Storage::Constant) {
      in_range(pt.constant, 0, plan_.constants.size(), where, "constant");
      uint64_t numel = 1;
      for (auto const& e : pt.shape) {
        if (!e.is_constant() || e.constant() < 0) bad(where, "a constant of a non-constant shape");
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(e.constant()), &numel))
          bad(where, "its size overflows");
      }
      uint64_t bytes = 0;
      if (__builtin_mul_overflow(numel, element_size(pt.dtype), &bytes) ||
          bytes != plan_.constants[static_cast<size_t>(pt.constant)]->size())
        bad(where, "a constant of {} elements of {} stored in {} bytes", numel, name(pt.dtype),
            plan_.constants[static_cast<size_t>(pt.constant)]->size());
      return;
    }
    if (pt.storage == PlanTensor::Storage::Activation) {
      // Both non-negative, so the subtraction cannot overflow.
      if (pt.offset < 0 || pt.capacity < 0 || pt.capacity > plan_.arena_bytes - pt.offset)
        bad(where, "{} bytes at offset {} do not fit the {}-byte arena", pt.capacity, pt.offset,
            plan_.arena_bytes);
      if (pt.offset % kArenaAlignment != 0)
        bad(where, "offset {} in the arena is not a multiple of {}", pt.offset, kArenaAlignment);
      return;
    }
    check_binding(pt, where);
  }

  // A network input or output is exactly what the caller's buffer holds.
  void check_binding(PlanTensor const& pt, std::string_view where) const {
    in_range(pt.binding, 0, plan_.io.size(), where, "binding");
    IOInfo const& io = plan_.io[static_cast<size_t>(pt.binding)];
    bool is_input = pt.storage == PlanTensor::Storage::Input;
    if (io.is_input != is_input)
      bad(where, "an {} bound to an {}", is_input ? "input" : "output",
          is_input ? "output" : "input");
    // An in-place view (Reshape, Squeeze) of an output lives in the output's buffer with a shape
    // of its own: an output's tensors agree on the type only; their bytes are checked below.
    if (pt.dtype != io.dtype || pt.format != io.format ||
        (is_input && pt.shape.size() != io.dims.size()))
      bad(where, "{} {} of rank {}, bound to '{}', which is {} {} of rank {}", name(pt.dtype),
          name(pt.format), pt.shape.size(), io.name, name(io.dtype), name(io.format),
          io.dims.size());
    if (!is_input) return;
    for (size_t k = 0; k < pt.shape.size(); ++k) {
      int64_t fixed = io.dims[k];
      auto expected =
          fixed >= 0 ? ShapeExpr(fixed) : ShapeExpr::input_dim(pt.binding, static_cast<int>(k));
      if (!(pt.shape[k] == expected))
        bad(where, "dimension {} is {}, not the input's {}", k, pt.shape[k].to_string(),
            expected.to_string());
    }
  }

  // Every execution context allocates the arena: it holds the activations, plus at most
  // alignment padding, and no more.
  void check_arena_size() const {
    constexpr int64_t kMaxPadding = 4096;
    int64_t used = 0;
    for (auto const& pt : plan_.tensors)
      if (pt.storage == PlanTensor::Storage::Activation)
        used = std::max(used, pt.offset + pt.capacity);  // each fits the arena: no overflow
    for (auto const& step : plan_.steps)
      used = std::max(used, step.workspace_offset + step.workspace_capacity);
    if (plan_.arena_bytes - used > kMaxPadding)
      bad("the plan", "an arena of {} bytes for {} bytes of activations", plan_.arena_bytes, used);
  }

  void check_step(size_t s) const {
    PlanStep const& step = plan_.steps[s];
    std::string where = fmt::format("layer {} ('{}')", s, step.name);
    if (!step.input_values.empty() && step.input_values.size() != step.inputs.size())
      bad(where, "{} input values for {} inputs", step.input_values.size(), step.inputs.size());
    for (size_t k = 0; k < step.inputs.size(); ++k) {
      bool value = k < step.input_values.size() && step.input_values[k];
      if (value) {
        if (step.inputs[k] != -1) bad(where, "input {} is both a value and a tensor", k);
        auto const& v = *step.input_values[k];
        if (v.scalar && v.elements.size() != 1)
          bad(where, "a scalar value of {} elements", v.elements.size());
        for (auto const& e : v.elements) check_expr(e, where);
      } else {
        tensor_id(step.inputs[k], where);
      }
    }
    for (int t : step.outputs) tensor_id(t, where);
    if (step.kind == PlanStep::Kind::Values) {
      if (step.inputs.size() != 1 || step.input_values.size() != 1 || !step.input_values[0] ||
          step.outputs.size() != 1)
        bad(where, "a values step needs one value and one output");
      auto const& out = plan_.tensors[static_cast<size_t>(step.outputs[0])];
      auto const& v = *step.input_values[0];
      ShapeExpr count =
          v.scalar ? ShapeExpr(1) : ShapeExpr(static_cast<int64_t>(v.elements.size()));
      if (out.shape.size() != (v.scalar ? 0u : 1u) || (!v.scalar && !(out.shape[0] == count)))
        bad(where, "{} values written into a tensor of rank {}", v.elements.size(),
            out.shape.size());
      if (out.dtype != DataType::INT64 && out.dtype != DataType::INT32 &&
          out.dtype != DataType::INT8 && out.dtype != DataType::UINT8 &&
          out.dtype != DataType::BOOL)
        bad(where, "values written into a {} tensor", name(out.dtype));
    }
    for (int t : step.outputs)
      if (plan_.tensors[static_cast<size_t>(t)].storage == PlanTensor::Storage::Constant)
        bad(where, "it writes into a constant");
    if (step.aliases.size() > step.outputs.size())
      bad(where, "{} aliases for {} outputs", step.aliases.size(), step.outputs.size());
    for (int a : step.aliases) in_range(a, -1, step.inputs.size(), where, "aliased input");
    for (int a : step.aliases)
      if (a >= 0 && step.inputs[static_cast<size_t>(a)] < 0)
        bad(where, "an output aliases input {}, a value", a);
    if (step.kind == PlanStep::Kind::Reformat &&
        (step.inputs.size() != 1 || step.outputs.size() != 1))
      bad(where, "a reformat with {} inputs and {} outputs", step.inputs.size(),
          step.outputs.size());
    check_plugin_signature(step, where);
    check_expr(step.workspace, where);
    if (step.workspace_offset < 0 || step.workspace_capacity < 0 ||
        step.workspace_capacity > plan_.arena_bytes - step.workspace_offset)
      bad(where, "a workspace of {} bytes at offset {} does not fit the {}-byte arena",
          step.workspace_capacity, step.workspace_offset, plan_.arena_bytes);
    if (step.workspace_offset % kArenaAlignment != 0)
      bad(where, "workspace offset {} in the arena is not a multiple of {}", step.workspace_offset,
          kArenaAlignment);
    if (step.aot && step.workspace_capacity != 0) bad(where, "an AOT step with a workspace");
    if (!step.kernel) return;
    PlanKernel const& k = *step.kernel;
    for (auto const* list : {&k.grid, &k.block})
      for (auto const& e : *list) check_expr(e, where);
    check_expr(k.shared_memory, where);
    for (auto const& e : k.extra_args) check_expr(e, where);
  }

  // Impls index their inputs and outputs by position and decode attributes by their declared
  // type. A plugin not defined here is left to make_engine_impl, which says how to provide it.
  void check_plugin_signature(PlanStep const& step, std::string_view where) const {
    if (step.kind != PlanStep::Kind::Plugin) return;
    auto def = find_for_load(step.plugin_id);
    if (!def) return;
    size_t least = static_cast<size_t>(def->num_inputs);
    if ((def->variadic ? step.inputs.size() < least : step.inputs.size() != least) ||
        step.outputs.size() != static_cast<size_t>(def->num_outputs))
      bad(where, "plugin {} takes {}{} inputs and {} outputs, the layer has {} and {}",
          step.plugin_id, def->variadic ? "at least " : "", def->num_inputs, def->num_outputs,
          step.inputs.size(), step.outputs.size());
    for (auto const& entry : step.attrs) {
      // Not a structured binding: clang 14 cannot capture one in the lambda below.
      std::string const& attr = entry.first;
      AttrValue const& value = entry.second;
      auto spec = std::find_if(def->attrs.begin(), def->attrs.end(),
                               [&](AttrSpec const& a) { return a.name == attr; });
      if (spec == def->attrs.end())
        bad(where, "plugin {} has no attribute '{}'", step.plugin_id, attr);
      if (spec->type != type_of(value))
        bad(where, "attribute '{}' is {}, but plugin {} declares it {}", attr, name(type_of(value)),
            step.plugin_id, name(spec->type));
    }
  }

  // The leaves of a shape expression name an existing input dimension or size value. Returns
  // whether it uses a size value.
  bool check_expr(ShapeExpr const& e, std::string_view where) const {
    ShapeExpr::Node const& n = e.node();
    switch (n.op) {
      case ShapeExpr::Op::Const:
        return false;
      case ShapeExpr::Op::InputDim: {
        size_t input = static_cast<size_t>(n.value);
        if (input >= plan_.io.size() || !plan_.io[input].is_input ||
            n.axis >= static_cast<int>(plan_.io[input].dims.size()))
          bad(where, "shape expression {} names an input dimension the engine does not have",
              e.to_string());
        return false;
      }
      case ShapeExpr::Op::Size:
        in_range(n.value, 0, plan_.sizes.size(), where, "size value id");
        return true;
      case ShapeExpr::Op::PendingSize:
        bad(where, "an unbound size tensor");
      default: {
        bool lhs = check_expr(ShapeExpr(n.lhs), where);
        bool rhs = check_expr(ShapeExpr(n.rhs), where);
        return lhs || rhs;
      }
    }
  }

  // Every tensor fits the bytes reserved for it at the profile's max shapes, size values at
  // their upper bounds: the builder's memory plan, recomputed, so that no run writes past an
  // arena slot or an output buffer sized by max_bytes.
  void check_capacities() const {
    std::vector<Dims> max_inputs;
    for (auto const& io : plan_.io)
      if (io.is_input) max_inputs.push_back(io.profile ? io.profile->max : Dims(io.dims));
    std::vector<int64_t> sizes(plan_.sizes.size(), -1);
    ShapeEnv env{max_inputs, sizes};
    for (auto const& step : plan_.steps)
      for (int t : step.outputs) {
        int id = plan_.tensors[static_cast<size_t>(t)].size_id;
        if (id >= 0)
          sizes[static_cast<size_t>(id)] =
              eval(plan_.sizes[static_cast<size_t>(id)].upper_bound, env, "a size upper bound");
      }
    for (size_t t = 0; t < plan_.tensors.size(); ++t) {
      PlanTensor const& pt = plan_.tensors[t];
      if (pt.storage == PlanTensor::Storage::Input) continue;  // the caller's buffer, exactly
      std::string where = fmt::format("tensor {} ('{}')", t, pt.name);
      int64_t bytes = max_bytes_of(pt, env, where);
      if (bytes > reserved_bytes(pt))
        bad(where, "it takes up to {} bytes, but only {} are reserved for it", bytes,
            reserved_bytes(pt));
    }
    // An aliased output that cannot share its input's memory receives a copy of the input: the
    // runtime checks that copy against the output's bytes at the run's shapes (an input larger
    // than its view, a Reshape of a dynamic input to a static shape, is legal until it runs).
  }

  // Every tensor a step reads is there when it runs (a network input, a constant, or written by an
  // earlier step); every other tensor is written by one step, and every network output by some
  // step; no step writes into a network input. Tensors that share bytes of the arena are never
  // in use at the same time, unless they are one in-place group (an aliased output in its input's
  // memory); a step's workspace is its own while it runs.
  void check_lifetimes() const {
    size_t n = plan_.tensors.size();
    std::vector<int> writer(n, -1), last(n, -1);
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      PlanStep const& step = plan_.steps[s];
      std::string where = fmt::format("layer {} ('{}')", s, step.name);
      int si = static_cast<int>(s);
      for (int t : step.inputs) {
        if (t < 0) continue;  // a value, evaluated on the host
        auto const& pt = plan_.tensors[static_cast<size_t>(t)];
        bool given =
            pt.storage == PlanTensor::Storage::Input || pt.storage == PlanTensor::Storage::Constant;
        if (!given && writer[static_cast<size_t>(t)] < 0)
          bad(where, "it reads tensor {} ('{}') before any step writes it", t, pt.name);
        last[static_cast<size_t>(t)] = si;
      }
      for (int t : step.outputs) {
        auto const& pt = plan_.tensors[static_cast<size_t>(t)];
        if (pt.storage == PlanTensor::Storage::Input)
          bad(where, "it writes into network input '{}'", pt.name);
        if (writer[static_cast<size_t>(t)] >= 0)
          bad(where, "tensor {} ('{}') was written by layer {} already", t, pt.name,
              writer[static_cast<size_t>(t)]);
        writer[static_cast<size_t>(t)] = si;
        last[static_cast<size_t>(t)] = si;
      }
    }
    for (size_t i = 0; i < plan_.io.size(); ++i)
      if (!plan_.io[i].is_input && writer[static_cast<size_t>(plan_.io_tensor[i])] < 0)
        bad(fmt::format("output '{}'", plan_.io[i].name), "no step writes it");

    // Arena slices: in-place groups (an aliased output at its input's offset) share theirs.
    std::vector<size_t> group(n);
    std::iota(group.begin(), group.end(), size_t{0});
    auto root = [&](size_t t) {
      while (group[t] != t) t = group[t] = group[group[t]];
      return t;
    };
    auto in_arena = [&](int t) {
      return plan_.tensors[static_cast<size_t>(t)].storage == PlanTensor::Storage::Activation;
    };
    for (auto const& step : plan_.steps)
      for (size_t o = 0; o < step.aliases.size(); ++o) {
        if (step.aliases[o] < 0) continue;
        int in = step.inputs[static_cast<size_t>(step.aliases[o])], out = step.outputs[o];
        if (in_arena(in) && in_arena(out) &&
            plan_.tensors[static_cast<size_t>(in)].offset ==
                plan_.tensors[static_cast<size_t>(out)].offset)
          group[root(static_cast<size_t>(out))] = root(static_cast<size_t>(in));
      }
    struct Slice {
      int64_t begin, end;
      int first, last;
      std::string what;
    };
    std::map<size_t, Slice> by_group;
    for (size_t t = 0; t < n; ++t) {
      PlanTensor const& pt = plan_.tensors[t];
      if (pt.storage != PlanTensor::Storage::Activation || pt.capacity == 0 || writer[t] < 0)
        continue;
      auto [it, fresh] = by_group.try_emplace(
          root(t), Slice{pt.offset, pt.offset + pt.capacity, writer[t], last[t],
                         fmt::format("tensor {} ('{}')", t, pt.name)});
      if (fresh) continue;
      Slice& g = it->second;
      g.begin = std::min(g.begin, pt.offset);
      g.end = std::max(g.end, pt.offset + pt.capacity);
      g.first = std::min(g.first, writer[t]);
      g.last = std::max(g.last, last[t]);
    }
    std::vector<Slice> slices;
    for (auto& [root_id, slice] : by_group) slices.push_back(std::move(slice));
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      PlanStep const& step = plan_.steps[s];
      if (step.workspace_capacity > 0)
        slices.push_back({step.workspace_offset, step.workspace_offset + step.workspace_capacity,
                          static_cast<int>(s), static_cast<int>(s),
                          fmt::format("the workspace of layer {} ('{}')", s, step.name)});
    }
    // A sweep over the steps: each slice against those still in use when it is first written
    // (a few at any step, however long the network).
    std::sort(slices.begin(), slices.end(),
              [](Slice const& a, Slice const& b) { return a.first < b.first; });
    std::vector<Slice const*> in_use;
    for (Slice const& b : slices) {
      std::erase_if(in_use, [&](Slice const* a) { return a->last < b.first; });
      for (Slice const* a : in_use)
        if (a->begin < b.end && b.begin < a->end)
          bad("the plan",
              "{} and {} share arena bytes {}..{} while both are in use (layers {}..{} and "
              "{}..{})",
              a->what, b.what, std::max(a->begin, b.begin), std::min(a->end, b.end), a->first,
              a->last, b.first, b.last);
      in_use.push_back(&b);
    }
  }

  int64_t reserved_bytes(PlanTensor const& pt) const {
    switch (pt.storage) {
      case PlanTensor::Storage::Activation:
        return pt.capacity;
      case PlanTensor::Storage::Output:
        return static_cast<int64_t>(
            std::min<size_t>(plan_.io[static_cast<size_t>(pt.binding)].max_bytes,
                             std::numeric_limits<int64_t>::max()));
      case PlanTensor::Storage::Constant:
        return static_cast<int64_t>(plan_.constants[static_cast<size_t>(pt.constant)]->size());
      case PlanTensor::Storage::Input:
        break;
    }
    return std::numeric_limits<int64_t>::max();  // the caller's buffer: checked by its shape
  }

  int64_t eval(ShapeExpr const& e, ShapeEnv const& env, std::string_view where) const {
    try {
      return e.eval(env);
    } catch (Error const& error) {
      bad(where, "{}", error.what());
    }
  }

  // An empty tensor takes 0 bytes whatever its other extents (the builder planned it so: a
  // 2^63-1 x 0 tensor is empty, not an overflow).
  int64_t max_bytes_of(PlanTensor const& pt, ShapeEnv const& env, std::string_view where) const {
    std::vector<int64_t> extents;
    for (auto const& d : pt.shape) {
      int64_t extent = eval(d, env, where);
      if (extent < 0) bad(where, "a negative extent {} at the profile's max shapes", extent);
      extents.push_back(extent);
    }
    int64_t bytes = 0;
    auto count = element_count(extents);
    if (!count ||
        __builtin_mul_overflow(*count, static_cast<int64_t>(element_size(pt.dtype)), &bytes))
      bad(where, "its size overflows");
    return bytes;
  }

  EnginePlan const& plan_;
  std::string_view origin_;
};

// FlatBuffers reads its scalars in place: give it 8-byte aligned memory, copying if needed.
class AlignedPayload {
 public:
  explicit AlignedPayload(std::span<const std::byte> payload) : bytes_(payload) {
    if (reinterpret_cast<uintptr_t>(payload.data()) % alignof(uint64_t) == 0) return;
    copy_.resize((payload.size() + 7) / 8);
    std::memcpy(copy_.data(), payload.data(), payload.size());
    bytes_ = {reinterpret_cast<std::byte const*>(copy_.data()), payload.size()};
  }
  uint8_t const* data() const { return reinterpret_cast<uint8_t const*>(bytes_.data()); }
  size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  std::vector<uint64_t> copy_;
};

fb::Plan const& verified_root(AlignedPayload const& payload, std::string_view origin) {
  auto region = [&] {
    return fmt::format("the payload at byte offsets {}..{}", kHeaderSize,
                       kHeaderSize + payload.size());
  };
  if (payload.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    bad_file(origin, "{} is larger than the {} bytes an engine plan may have", region(),
             FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  fbs::Verifier verifier(payload.data(), payload.size());
  if (!fb::VerifyPlanBuffer(verifier))
    bad_file(origin,
             "corrupted: {} is not a valid engine plan (its FlatBuffers structure does not "
             "verify); {}",
             region(), kRebuild);
  return *fb::GetPlan(payload.data());
}

// The header's device requirements agree with the plan and can be met in this process.
void check_device(Header const& header, EnginePlan const& plan, std::string_view origin) {
  if (header.device != plan.device)
    bad_file(origin, "the header says {} but the plan says {}; {}", name(header.device),
             name(plan.device), kRebuild);
  if (header.gpu_arch != cubin_arch(plan))
    bad_file(origin, "the header says its kernels are for sm_{} but they are for sm_{}; {}",
             header.gpu_arch, cubin_arch(plan), kRebuild);
  try {
    backend(plan.device);
  } catch (Error const& e) {
    bad_file(ErrorCode::Unsupported, origin, "it was built for the {} backend: {}",
             name(plan.device), e.what());
  }
}

}  // namespace

std::string_view library_version() {
  return QDP_VERSION_STRING;
}

uint64_t checksum_of(std::span<const std::byte> file) {
  constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ull;
  uint64_t hash = fnv1a(kFnvOffsetBasis, file.first(kChecksumOffset));
  return fnv1a(hash, file.subspan(kHeaderSize));
}

std::vector<std::byte> write_plan(EnginePlan const& plan) {
  std::vector<std::byte> payload = PlanWriter().payload(plan);
  std::vector<std::byte> file(kHeaderSize);
  std::memcpy(file.data() + kMagicOffset, kMagic.data(), kMagic.size());
  put_le(file, kFormatVersionOffset, kFormatVersion, 4);
  std::memcpy(file.data() + kLibraryVersionOffset, library_version().data(),
              library_version().size());
  put_le(file, kDeviceOffset, static_cast<uint64_t>(plan.device), 1);
  put_le(file, kGpuArchOffset, cubin_arch(plan), 4);
  put_le(file, kPayloadSizeOffset, payload.size(), 8);
  file.insert(file.end(), payload.begin(), payload.end());
  put_le(file, kChecksumOffset, checksum_of(file), 8);
  return file;
}

EnginePlan read_plan(std::span<const std::byte> file, std::string_view origin) {
  check_magic(file, origin);
  check_versions(file, origin);
  std::span<const std::byte> payload = checked_payload(file, origin);
  Header header = read_header(file, origin);
  AlignedPayload aligned(payload);
  EnginePlan plan = PlanReader(origin).read(verified_root(aligned, origin));
  PlanChecker(plan, origin).check();
  check_device(header, plan, origin);
  rederive_plan(plan, origin);
  return plan;
}

}  // namespace qdp::detail::engine_file

// ---------------------------------------------------------------------------------------------
// Files: engine files, and (libqdp_signing) their signatures and keys

namespace qdp::detail::engine_file {
namespace {

[[noreturn]] void fail_saving(std::string const& path, std::string_view what, std::string_view how,
                              int error, std::string_view advice = "") {
  fail("cannot save {} to '{}': {}: {}{}; nothing was written to '{}'", what, path, how,
       std::strerror(error), advice, path);
}

// A file descriptor that is closed, and a file that is removed, unless the save succeeds.
class TempFile {
 public:
  TempFile(std::string path, std::string const& target, std::string_view what, unsigned mode)
      : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd_ < 0)
      fail_saving(target, what, fmt::format("cannot create the temporary file '{}'", path_), errno,
                  "; check that the directory exists and is writable");
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(TempFile const&) = delete;
  TempFile& operator=(TempFile const&) = delete;

  // Writes everything and flushes it to the disk; returns 0 or the errno of the failure.
  int write_durably(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), std::min<size_t>(bytes.size(), 1 << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
    if (::fsync(fd_) != 0) return errno;
    int fd = std::exchange(fd_, -1);
    return ::close(fd) == 0 ? 0 : errno;
  }

  std::string const& path() const { return path_; }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// After a rename, the directory entry itself must reach the disk (best effort).
void sync_directory_of(std::string const& path) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::vector<std::byte> read_file(std::string const& path, std::string_view noun) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
         "cannot load {} '{}': cannot open it: {}", noun, path, std::strerror(errno));
  std::vector<std::byte> bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    bool vowel = !noun.empty() && std::string_view("aeiou").find(noun[0]) != std::string::npos;
    fail("cannot load {} '{}': it is a directory, not {} {} file", noun, path, vowel ? "an" : "a",
         noun);
  }
  std::byte chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      fail("cannot load {} '{}': reading it failed: {}", noun, path, std::strerror(error));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  ::close(fd);
  return bytes;
}

void write_file(std::string const& path, std::span<const std::byte> bytes, std::string_view what,
                unsigned mode) {
  // A name of its own per save, also for threads of one process saving to one path at once: the
  // last rename wins, and the file is always one whole write.
  static std::atomic<uint64_t> saves{0};
  TempFile temp(fmt::format("{}.tmp-{}-{}", path, ::getpid(), saves++), path, what, mode);
  if (int error = temp.write_durably(bytes))
    fail_saving(path, what, fmt::format("writing '{}' failed", temp.path()), error);
  if (std::rename(temp.path().c_str(), path.c_str()) != 0)
    fail_saving(path, what, fmt::format("renaming '{}' to it failed", temp.path()), errno);
  temp.commit();
  sync_directory_of(path);
}

}  // namespace qdp::detail::engine_file

// ---------------------------------------------------------------------------------------------
// The public API

namespace qdp {

std::vector<std::byte> Engine::serialize() const {
  return detail::engine_file::write_plan(impl_->plan);
}

Engine Engine::deserialize(std::span<const std::byte> bytes, std::string_view origin, int gpu) {
  detail::EnginePlan plan = detail::engine_file::read_plan(bytes, origin);
  try {
    return Engine(detail::make_engine_impl(std::move(plan), gpu));
  } catch (Error const& e) {
    throw Error(fmt::format("cannot load engine '{}': {}", origin, e.what()), e.code());
  }
}

void Engine::save(std::string const& path) const {
  // Serialized before touching the disk, so that a failure here leaves nothing behind.
  detail::engine_file::write_file(path, serialize(), "the engine");
}

Engine Engine::load(std::string const& path, int gpu) {
  return deserialize(detail::engine_file::read_file(path, "engine"), path, gpu);
}

}  // namespace qdp
