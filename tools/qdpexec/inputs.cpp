#include "qdpexec/inputs.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "qdpexec/files.hpp"
#include "qdpexec/npy.hpp"

namespace qdp::tools {
namespace {

bool is_float(DataType t) {
  return t == DataType::FP32 || t == DataType::FP16 || t == DataType::BF16;
}

// The values an integer type holds, as doubles (exact for these bounds).
ValRange type_limits(DataType t) {
  switch (t) {
    case DataType::INT8:
      return {-128, 127};
    case DataType::UINT8:
      return {0, 255};
    case DataType::INT32:
      return {-2147483648.0, 2147483647.0};
    case DataType::INT64:
      return {-9223372036854775808.0, 9223372036854774784.0};  // the largest double below 2^63
    case DataType::BOOL:
      return {0, 1};
    default:
      return {-INFINITY, INFINITY};
  }
}

// Defaults: floats in [-1, 1], integers in [0, 9], booleans either.
ValRange default_range(DataType t) {
  if (is_float(t)) return {-1, 1};
  if (t == DataType::BOOL) return {0, 1};
  return {0, 9};
}

template <class T>
void fill(Array& a, auto&& next) {
  auto* p = static_cast<T*>(a.raw());
  for (int64_t i = 0; i < a.numel(); ++i) p[i] = static_cast<T>(next());
}

Array random_array(std::string const& name, DataType dtype, Dims shape, ValRange range,
                   std::mt19937_64& rng) {
  if (!is_float(dtype)) {
    ValRange limits = type_limits(dtype);
    double lo = std::ceil(range.lo), hi = std::floor(range.hi);
    if (lo > hi)
      fail("--valRange {}:{} holds no integer for the {} input '{}'", range.lo, range.hi,
           qdp::name(dtype), name);
    if (lo < limits.lo || hi > limits.hi)
      fail("--valRange {}:{} is outside what the {} input '{}' holds ([{}, {}])", range.lo,
           range.hi, qdp::name(dtype), name, limits.lo, limits.hi);
    range = {lo, hi};
  }
  Array a(dtype, shape);
  std::uniform_real_distribution<double> real(range.lo, range.hi);
  std::uniform_int_distribution<int64_t> integer(static_cast<int64_t>(range.lo),
                                                 static_cast<int64_t>(range.hi));
  auto r = [&] { return real(rng); };
  auto i = [&] { return integer(rng); };
  switch (dtype) {
    case DataType::FP32:
      fill<float>(a, r);
      break;
    case DataType::FP16:
      fill<half>(a, [&] { return half(static_cast<float>(real(rng))); });
      break;
    case DataType::BF16:
      fill<bfloat16>(a, [&] { return bfloat16(static_cast<float>(real(rng))); });
      break;
    case DataType::INT8:
      fill<int8_t>(a, i);
      break;
    case DataType::UINT8:
      fill<uint8_t>(a, i);
      break;
    case DataType::INT32:
      fill<int32_t>(a, i);
      break;
    case DataType::INT64:
      fill<int64_t>(a, i);
      break;
    case DataType::BOOL:
      fill<bool>(a, [&] { return integer(rng) != 0; });
      break;
  }
  return a;
}

// `shape` is one that input `io` takes: its rank, its static dimensions, its profile's range.
void check_shape(IOInfo const& io, Dims const& shape, std::string const& what) {
  if (static_cast<size_t>(shape.rank()) != io.dims.size())
    fail("{}: input '{}' has {} dimensions, not {}", what, io.name, io.dims.size(), shape.rank());
  for (int d = 0; d < shape.rank(); ++d) {
    int64_t fixed = io.dims[static_cast<size_t>(d)];
    if (fixed >= 0 && shape[d] != fixed)
      fail("{}: dimension {} of input '{}' is static ({}), not {}", what, d, io.name, fixed,
           shape[d]);
    if (io.profile && (shape[d] < io.profile->min[d] || shape[d] > io.profile->max[d]))
      fail(
          "{}: dimension {} of input '{}' is {}, outside the engine's profile [{}, {}] (built "
          "with --minShapes={}:{} --maxShapes={}:{})",
          what, d, io.name, shape[d], io.profile->min[d], io.profile->max[d], io.name,
          to_string(io.profile->min), io.name, to_string(io.profile->max));
  }
}

std::string input_names(Engine const& engine) {
  std::string s;
  for (auto const& io : engine.io())
    if (io.is_input) s += (s.empty() ? "" : ", ") + io.name;
  return s;
}

bool is_input(Engine const& engine, std::string const& name) {
  return std::any_of(engine.io().begin(), engine.io().end(),
                     [&](IOInfo const& io) { return io.is_input && io.name == name; });
}

}  // namespace

std::map<std::string, Array> make_inputs(Engine const& engine, Options const& o) {
  auto files = parse_named_files(o.load_inputs, "--loadInputs");
  auto shapes = parse_shapes(o.shapes, "--shapes");
  auto ranges = parse_val_ranges(o.val_ranges);
  auto known = [&](auto const& map, char const* option) {
    for (auto const& [name, value] : map)
      if (!is_input(engine, name))
        fail("{}: the engine has no input '{}' (its inputs: {})", option, name,
             input_names(engine));
  };
  known(files, "--loadInputs");
  known(shapes, "--shapes");
  known(ranges.by_name, "--valRange");

  std::mt19937_64 rng(o.seed);
  std::map<std::string, Array> inputs;
  for (auto const& io : engine.io()) {
    if (!io.is_input) continue;
    auto shape_arg = shapes.find(io.name);
    if (auto f = files.find(io.name); f != files.end()) {
      std::string what = fmt::format("--loadInputs {}:{}", io.name, f->second);
      Array a;
      try {
        a = read_npy(f->second);
      } catch (Error const& e) {
        fail("{}: {}", what, e.what());
      }
      if (a.dtype() != io.dtype)
        fail("{}: the file holds {}, but the engine's input '{}' is {}", what, name(a.dtype()),
             io.name, name(io.dtype));
      check_shape(io, a.shape(), what);
      if (shape_arg != shapes.end() && !(shape_arg->second == a.shape()))
        fail("{}: the file's shape {} is not the {} that --shapes gives", what,
             to_string(a.shape()), to_string(shape_arg->second));
      inputs[io.name] = std::move(a);
      continue;
    }
    Dims shape;
    std::string what;
    if (shape_arg != shapes.end()) {
      shape = shape_arg->second;
      what = fmt::format("--shapes {}:{}", io.name, to_string(shape));
    } else if (io.profile) {
      shape = io.profile->opt;
      what = fmt::format("input '{}' at its profile's opt shape", io.name);
    } else {
      shape = Dims(std::span<const int64_t>(io.dims));
      what = fmt::format("input '{}'", io.name);
    }
    check_shape(io, shape, what);
    check_fits_in_memory(what, shape, io.dtype);
    ValRange range = default_range(io.dtype);
    if (auto r = ranges.by_name.find(io.name); r != ranges.by_name.end())
      range = r->second;
    else if (ranges.all)
      range = *ranges.all;
    inputs[io.name] = random_array(io.name, io.dtype, shape, range, rng);
  }
  return inputs;
}

void check_network_inputs(Network const& network) {
  for (auto const& in : network.inputs()) {
    bool dynamic = std::find(in.dims.begin(), in.dims.end(), -1) != in.dims.end();
    if (dynamic && !in.profile) continue;  // the build reports it
    if (dynamic)
      check_fits_in_memory(fmt::format("input '{}' at its profile's max shape", in.name),
                           in.profile->max, in.dtype);
    else
      check_fits_in_memory(fmt::format("input '{}'", in.name),
                           Dims(std::span<const int64_t>(in.dims)), in.dtype);
  }
}

}  // namespace qdp::tools
