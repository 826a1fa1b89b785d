#include "qdpexec/args.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace qdp::tools {
namespace {

std::vector<std::string> split(std::string const& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

double parse_number(std::string const& text, std::string const& arg) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    throw UsageError(fmt::format("--valRange: '{}' in '{}' is not a finite number", text, arg));
  return v;
}

}  // namespace

DeviceSpec parse_device_arg(std::string_view text) {
  if (auto spec = parse_device_spec(text)) return *spec;
  throw UsageError(
      fmt::format("--device: expected cpu, cuda or cuda:N (N = 0, 1, ...), got '{}'", text));
}

std::map<std::string, Dims> parse_shapes(std::vector<std::string> const& args,
                                         std::string_view option) {
  std::map<std::string, Dims> out;
  for (auto const& arg : args) {
    for (auto const& item : split(arg, ',')) {
      size_t colon = item.rfind(':');
      if (colon == std::string::npos || colon == 0)
        throw UsageError(fmt::format("{}: expected name:AxBxC, got '{}'", option, item));
      Dims dims;
      for (auto const& d : split(item.substr(colon + 1), 'x')) {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
        if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos ||
            end != d.data() + d.size())
          throw UsageError(fmt::format("{}: bad dimension '{}' in '{}'", option, d, item));
        if (ec == std::errc::result_out_of_range)
          throw UsageError(fmt::format("{}: dimension {} in '{}' is too large (at most {})", option,
                                       d, item, INT64_MAX));
        if (dims.rank() == kMaxRank)
          throw UsageError(
              fmt::format("{}: '{}' has more than {} dimensions, the most qdp supports", option,
                          item, kMaxRank));
        dims.push_back(v);
      }
      std::string name = item.substr(0, colon);
      if (out.count(name))
        throw UsageError(fmt::format("{}: input '{}' is given twice", option, name));
      out[name] = dims;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_named_files(std::vector<std::string> const& args,
                                                     std::string_view option) {
  std::map<std::string, std::string> out;
  for (auto const& arg : args) {
    size_t colon = arg.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == arg.size())
      throw UsageError(fmt::format("{}: expected name:file.npy, got '{}'", option, arg));
    std::string name = arg.substr(0, colon);
    if (out.count(name)) throw UsageError(fmt::format("{}: '{}' is given twice", option, name));
    out[name] = arg.substr(colon + 1);
  }
  return out;
}

ValRanges parse_val_ranges(std::vector<std::string> const& args) {
  ValRanges out;
  for (auto const& arg : args) {
    // lo and hi are the last two fields: what comes before is the name.
    size_t hi_colon = arg.rfind(':');
    size_t lo_colon = hi_colon == 0 || hi_colon == std::string::npos ? std::string::npos
                                                                     : arg.rfind(':', hi_colon - 1);
    if (hi_colon == std::string::npos)
      throw UsageError(fmt::format("--valRange: expected lo:hi or name:lo:hi, got '{}'", arg));
    size_t lo_start = lo_colon == std::string::npos ? 0 : lo_colon + 1;
    ValRange r{parse_number(arg.substr(lo_start, hi_colon - lo_start), arg),
               parse_number(arg.substr(hi_colon + 1), arg)};
    if (!(r.lo <= r.hi))
      throw UsageError(fmt::format("--valRange: '{}': lo must not be above hi", arg));
    if (lo_colon == std::string::npos) {
      if (out.all) throw UsageError("--valRange: the range for every input is given twice");
      out.all = r;
    } else {
      std::string name = arg.substr(0, lo_colon);
      if (name.empty() || out.by_name.count(name))
        throw UsageError(fmt::format("--valRange: '{}': a missing or repeated input name", arg));
      out.by_name[name] = r;
    }
  }
  return out;
}

}  // namespace qdp::tools
