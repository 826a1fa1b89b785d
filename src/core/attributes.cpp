#include <cmath>
#include <limits>
#include <qdp/attributes.hpp>
#include <qdp/error.hpp>

namespace qdp {

std::string_view name(AttrType t) {
  switch (t) {
    case AttrType::INT32:
      return "int32";
    case AttrType::INT64:
      return "int64";
    case AttrType::FLOAT32:
      return "float32";
    case AttrType::FLOAT64:
      return "float64";
    case AttrType::BOOL:
      return "bool";
    case AttrType::STRING:
      return "string";
    case AttrType::BYTES:
      return "bytes";
    case AttrType::INT8S:
      return "int8[]";
    case AttrType::INT16S:
      return "int16[]";
    case AttrType::INT32S:
      return "int32[]";
    case AttrType::INT64S:
      return "int64[]";
    case AttrType::FLOAT16S:
      return "float16[]";
    case AttrType::FLOAT32S:
      return "float32[]";
    case AttrType::FLOAT64S:
      return "float64[]";
    case AttrType::BOOLS:
      return "bool[]";
  }
  return "?";
}

namespace {

bool is_array(AttrType t) {
  return t >= AttrType::INT8S;
}

// The value's elements as integers, when it holds integers (scalar or array).
std::optional<std::vector<int64_t>> as_integers(AttrValue const& v) {
  return std::visit(
      [](auto const& x) -> std::optional<std::vector<int64_t>> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>)
          return std::vector<int64_t>{x};
        else if constexpr (std::is_same_v<T, std::vector<int8_t>> ||
                           std::is_same_v<T, std::vector<int16_t>> ||
                           std::is_same_v<T, std::vector<int32_t>> ||
                           std::is_same_v<T, std::vector<int64_t>> ||
                           std::is_same_v<T, std::vector<bool>>)
          return std::vector<int64_t>(x.begin(), x.end());
        else
          return std::nullopt;
      },
      v);
}

// The value's elements as reals, when it holds numbers (integers convert exactly or not at all).
std::optional<std::vector<double>> as_reals(AttrValue const& v) {
  return std::visit(
      [](auto const& x) -> std::optional<std::vector<double>> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
          return std::vector<double>{x};
        else if constexpr (std::is_same_v<T, std::vector<half>>) {
          std::vector<double> out;
          for (half h : x) out.push_back(static_cast<float>(h));
          return out;
        } else if constexpr (std::is_same_v<T, std::vector<float>> ||
                             std::is_same_v<T, std::vector<double>>)
          return std::vector<double>(x.begin(), x.end());
        else
          return std::nullopt;
      },
      v);
}

template <class T>
std::optional<std::vector<T>> narrow_ints(std::vector<int64_t> const& in, std::string* why) {
  std::vector<T> out;
  for (int64_t x : in) {
    if constexpr (std::is_same_v<T, bool>) {
      if (x != 0 && x != 1) {
        if (why) *why = fmt::format("{} is not a bool (0 or 1)", x);
        return std::nullopt;
      }
    } else if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) {
      if (why) *why = fmt::format("{} is out of range", x);
      return std::nullopt;
    }
    out.push_back(static_cast<T>(x));
  }
  return out;
}

template <class T>
std::vector<T> to_reals(std::vector<double> const& in) {
  return std::vector<T>(in.begin(), in.end());
}

}  // namespace

std::optional<AttrValue> convert_attr(AttrValue const& value, AttrType type, std::string* why) {
  if (type_of(value) == type) return value;
  AttrType from = type_of(value);
  auto ints = as_integers(value);
  auto reals = as_reals(value);
  switch (type) {
    case AttrType::STRING:
      if (auto const* b = std::get_if<Bytes>(&value))
        return std::string(reinterpret_cast<char const*>(b->value.data()), b->value.size());
      break;
    case AttrType::BYTES:
      if (auto const* s = std::get_if<std::string>(&value)) {
        Bytes b;
        for (char c : *s) b.value.push_back(static_cast<std::byte>(c));
        return b;
      }
      break;
    case AttrType::BOOL:
      if (ints && !is_array(from)) {
        if (auto v = narrow_ints<bool>(*ints, why)) return bool((*v)[0]);
        return std::nullopt;
      }
      break;
    case AttrType::INT32:
      if (ints && !is_array(from)) {
        if (auto v = narrow_ints<int32_t>(*ints, why)) return (*v)[0];
        return std::nullopt;
      }
      break;
    case AttrType::INT64:
      if (ints && !is_array(from)) return (*ints)[0];
      break;
    case AttrType::FLOAT32:
    case AttrType::FLOAT64:
      if (!is_array(from) && (reals || ints)) {
        double d = reals ? (*reals)[0] : static_cast<double>((*ints)[0]);
        if (type == AttrType::FLOAT64) return d;
        if (std::isfinite(d) && !std::isfinite(static_cast<float>(d))) {
          if (why) *why = fmt::format("{} is out of range", d);
          return std::nullopt;
        }
        return static_cast<float>(d);
      }
      break;
    case AttrType::INT8S:
      if (ints && is_array(from)) {
        if (auto v = narrow_ints<int8_t>(*ints, why)) return *v;
        return std::nullopt;
      }
      break;
    case AttrType::INT16S:
      if (ints && is_array(from)) {
        if (auto v = narrow_ints<int16_t>(*ints, why)) return *v;
        return std::nullopt;
      }
      break;
    case AttrType::INT32S:
      if (ints && is_array(from)) {
        if (auto v = narrow_ints<int32_t>(*ints, why)) return *v;
        return std::nullopt;
      }
      break;
    case AttrType::INT64S:
      if (ints && is_array(from)) return *ints;
      break;
    case AttrType::BOOLS:
      if (ints && is_array(from)) {
        if (auto v = narrow_ints<bool>(*ints, why)) return *v;
        return std::nullopt;
      }
      break;
    case AttrType::FLOAT16S:
    case AttrType::FLOAT32S:
    case AttrType::FLOAT64S: {
      if (!is_array(from)) break;
      std::vector<double> r;
      if (reals)
        r = *reals;
      else if (ints)
        r.assign(ints->begin(), ints->end());
      else
        break;
      if (type == AttrType::FLOAT64S) return r;
      double limit = type == AttrType::FLOAT32S ? std::numeric_limits<float>::max() : 65504.0;
      for (double d : r)
        if (std::isfinite(d) && std::abs(d) > limit) {
          if (why) *why = fmt::format("{} is out of range", d);
          return std::nullopt;
        }
      if (type == AttrType::FLOAT32S) return to_reals<float>(r);
      std::vector<half> h;
      for (double d : r) h.emplace_back(static_cast<float>(d));
      return h;
    }
  }
  if (why && why->empty())
    *why = fmt::format("a {} cannot be converted to {}", name(from), name(type));
  return std::nullopt;
}

Attrs resolve_attrs(std::string_view plugin_id, std::vector<AttrSpec> const& schema,
                    Attrs const& given) {
  for (auto const& [key, value] : given) {
    bool known = false;
    for (auto const& spec : schema) known |= spec.name == key;
    if (!known) {
      std::string names;
      for (auto const& spec : schema) names += (names.empty() ? "" : ", ") + spec.name;
      fail("plugin {}: unknown attribute '{}' (the plugin's attributes are: {})", plugin_id, key,
           names.empty() ? "none" : names);
    }
  }
  Attrs out;
  for (auto const& spec : schema) {
    auto it = given.find(spec.name);
    if (it == given.end()) {
      if (!spec.default_value)
        fail("plugin {}: attribute '{}' ({}) is required", plugin_id, spec.name, name(spec.type));
      out.emplace(spec.name, *spec.default_value);
      continue;
    }
    std::string why;
    auto converted = convert_attr(it->second, spec.type, &why);
    if (!converted)
      fail("plugin {}: attribute '{}' expects {} but received {} ({}): {}", plugin_id, spec.name,
           name(spec.type), name(type_of(it->second)), to_string(it->second), why);
    out.emplace(spec.name, std::move(*converted));
  }
  return out;
}

std::string to_string(AttrValue const& v) {
  return std::visit(
      [](auto const& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          return fmt::format("\"{}\"", x);
        else if constexpr (std::is_same_v<T, Bytes>)
          return fmt::format("<{} bytes>", x.value.size());
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_arithmetic_v<T>)
          return fmt::format("{}", x);
        else {
          std::string s = "[";
          bool first = true;
          for (auto e : x) {
            s += first ? "" : ", ";
            first = false;
            if constexpr (std::is_same_v<typename T::value_type, half>)
              s += fmt::format("{}", static_cast<float>(e));
            else if constexpr (std::is_same_v<typename T::value_type, bool>)
              s += e ? "true" : "false";
            else
              s += fmt::format("{}", +e);
          }
          return s + "]";
        }
      },
      v);
}

}  // namespace qdp
