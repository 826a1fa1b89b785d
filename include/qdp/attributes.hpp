#pragma once
// Plugin attributes: typed, named values fixed when the network is built (SPEC §1).
// A plugin's schema lists each attribute's name, type and default; values coming from the
// network API or ONNX are converted to the declared type with range checks.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <qdp/api.hpp>
#include <qdp/data_type.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace qdp {

struct QDP_API Bytes {
  std::vector<std::byte> value;
  friend bool operator==(Bytes const&, Bytes const&) = default;
};

enum class AttrType : uint8_t {
  INT32,
  INT64,
  FLOAT32,
  FLOAT64,
  BOOL,
  STRING,
  BYTES,
  INT8S,
  INT16S,
  INT32S,
  INT64S,
  FLOAT16S,
  FLOAT32S,
  FLOAT64S,
  BOOLS
};

// One attribute value. The alternatives line up with AttrType, one to one.
using AttrValue =
    std::variant<int32_t, int64_t, float, double, bool, std::string, Bytes, std::vector<int8_t>,
                 std::vector<int16_t>, std::vector<int32_t>, std::vector<int64_t>,
                 std::vector<half>, std::vector<float>, std::vector<double>, std::vector<bool>>;

inline AttrType type_of(AttrValue const& v) {
  return static_cast<AttrType>(v.index());
}
QDP_API std::string_view name(AttrType t);  // "int32", "float32[]", ...

// The C++ type that holds an attribute of a given AttrType, and back.
template <class T>
struct attr_type_of;
template <class T>
concept AttributeType = requires {
  attr_type_of<T>::value;
};
#define QDP_ATTR_TYPE(CPP, TAG)                      \
  template <>                                        \
  struct attr_type_of<CPP> {                         \
    static constexpr AttrType value = AttrType::TAG; \
  }
QDP_ATTR_TYPE(int32_t, INT32);
QDP_ATTR_TYPE(int64_t, INT64);
QDP_ATTR_TYPE(float, FLOAT32);
QDP_ATTR_TYPE(double, FLOAT64);
QDP_ATTR_TYPE(bool, BOOL);
QDP_ATTR_TYPE(std::string, STRING);
QDP_ATTR_TYPE(Bytes, BYTES);
QDP_ATTR_TYPE(std::vector<int8_t>, INT8S);
QDP_ATTR_TYPE(std::vector<int16_t>, INT16S);
QDP_ATTR_TYPE(std::vector<int32_t>, INT32S);
QDP_ATTR_TYPE(std::vector<int64_t>, INT64S);
QDP_ATTR_TYPE(std::vector<half>, FLOAT16S);
QDP_ATTR_TYPE(std::vector<float>, FLOAT32S);
QDP_ATTR_TYPE(std::vector<double>, FLOAT64S);
QDP_ATTR_TYPE(std::vector<bool>, BOOLS);
#undef QDP_ATTR_TYPE

struct QDP_API AttrSpec {
  std::string name;
  AttrType type;
  std::optional<AttrValue> default_value;  // none: the attribute is required
};

// Attribute values by name, as given to a layer or stored in an engine.
using Attrs = std::map<std::string, AttrValue, std::less<>>;

// Converts `value` to `type` where no information is lost (int64 -> int32 in range, an int
// array -> float array, double -> float, ...); otherwise nullopt. `why` says what failed.
QDP_API std::optional<AttrValue> convert_attr(AttrValue const& value, AttrType type,
                                              std::string* why = nullptr);

// Checks `given` against `schema`: unknown names, wrong types and missing required values are
// errors that name the plugin, the attribute, the expected and the received type. Returns the
// complete set, defaults filled in, each value of its declared type.
QDP_API Attrs resolve_attrs(std::string_view plugin_id, std::vector<AttrSpec> const& schema,
                            Attrs const& given);

QDP_API std::string to_string(AttrValue const& v);  // for logs: "256", "[1, 1, 1, 1]"

}  // namespace qdp
