// Attribute values between Python and the core (SPEC §1 "Attributes").
#include <nanobind/ndarray.h>

#include <cstring>

#include "common.hpp"

namespace qdp::py {

namespace {

using HostArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

template <class T>
std::vector<T> copy_elements(HostArray const& a) {
  auto const* p = static_cast<T const*>(a.data());
  return std::vector<T>(p, p + a.size());
}

AttrValue from_numpy(HostArray const& a, std::string_view where) {
  if (a.ndim() != 1)
    fail("{}: an array attribute is 1-D; this array has {} dimensions", where, a.ndim());
  auto dt = a.dtype();
  using Code = nb::dlpack::dtype_code;
  auto is = [&](Code code, int bits) {
    return dt.code == static_cast<uint8_t>(code) && dt.bits == bits && dt.lanes == 1;
  };
  if (is(Code::Int, 8)) return copy_elements<int8_t>(a);
  if (is(Code::Int, 16)) return copy_elements<int16_t>(a);
  if (is(Code::Int, 32)) return copy_elements<int32_t>(a);
  if (is(Code::Int, 64)) return copy_elements<int64_t>(a);
  if (is(Code::Float, 32)) return copy_elements<float>(a);
  if (is(Code::Float, 64)) return copy_elements<double>(a);
  if (is(Code::Float, 16)) {
    std::vector<half> h(a.size());
    std::memcpy(h.data(), a.data(), a.size() * sizeof(half));
    return h;
  }
  if (is(Code::Bool, 8)) {
    auto const* p = static_cast<uint8_t const*>(a.data());
    return std::vector<bool>(p, p + a.size());
  }
  if (is(Code::UInt, 8) || is(Code::UInt, 16) || is(Code::UInt, 32)) {
    // Unsigned arrays have no attribute type of their own: their values go as int64.
    std::vector<int64_t> v;
    for (size_t i = 0; i < a.size(); ++i) {
      auto const* base = static_cast<std::byte const*>(a.data()) + i * dt.bits / 8;
      uint32_t x = 0;
      std::memcpy(&x, base, dt.bits / 8);
      v.push_back(x);
    }
    return v;
  }
  fail("{}: a numpy array of this dtype is no attribute value (use int8, int16, int32, int64, "
       "float16, float32, float64 or bool)",
       where);
}

AttrValue from_sequence(nb::sequence seq, std::string_view where) {
  bool all_bool = true, all_int = true;
  std::vector<nb::handle> items;
  for (nb::handle h : seq) {
    items.push_back(h);
    bool b = nb::isinstance<nb::bool_>(h);
    all_bool &= b;
    all_int &= !b && PyIndex_Check(h.ptr());
    if (!b && !PyIndex_Check(h.ptr()) && !nb::isinstance<nb::float_>(h))
      fail("{}: a list attribute holds numbers; element {} is a {}", where, items.size() - 1,
           nb::type_name(h.type()).c_str());
  }
  if (all_bool && !items.empty()) {
    std::vector<bool> v;
    for (auto h : items) v.push_back(nb::cast<bool>(h));
    return v;
  }
  if (all_int) {
    std::vector<int64_t> v;
    for (auto h : items) v.push_back(nb::cast<int64_t>(nb::int_(h)));
    return v;
  }
  std::vector<double> v;
  for (auto h : items) v.push_back(nb::cast<double>(nb::float_(h)));
  return v;
}

template <class T>
nb::object array_to_python(std::vector<T> const& v, nb::dlpack::dtype dtype) {
  // The values live in a heap copy that the numpy array owns; the array is read-only so that an
  // impl cannot change what the engine stored.
  auto* copy = new std::vector<T>(v);
  nb::capsule owner(copy, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  size_t shape[1] = {v.size()};
  return nb::cast(nb::ndarray<nb::numpy, nb::ro>(copy->data(), 1, shape, owner, nullptr, dtype));
}

}  // namespace

AttrValue attr_from_python(nb::handle value, std::string_view where) {
  if (nb::isinstance<nb::bool_>(value)) return nb::cast<bool>(value);
  if (nb::isinstance<nb::int_>(value)) {
    int64_t v = 0;
    if (!nb::try_cast(value, v))
      fail("{}: the integer {} does not fit in 64 bits", where,
           nb::cast<std::string>(nb::str(value)));
    return v;
  }
  if (nb::isinstance<nb::float_>(value)) return nb::cast<double>(value);
  if (nb::isinstance<nb::str>(value)) return nb::cast<std::string>(value);
  if (nb::isinstance<nb::bytes>(value)) {
    auto b = nb::borrow<nb::bytes>(value);
    Bytes out;
    out.value.resize(b.size());
    std::memcpy(out.value.data(), b.c_str(), b.size());
    return out;
  }
  if (nb::isinstance<nb::list>(value) || nb::isinstance<nb::tuple>(value))
    return from_sequence(nb::borrow<nb::sequence>(value), where);
  // A numpy scalar (np.int32(3), a 0-d array) is the Python scalar it holds.
  if (nb::hasattr(value, "ndim") && nb::hasattr(value, "item") &&
      nb::cast<int>(value.attr("ndim")) == 0)
    return attr_from_python(value.attr("item")(), where);
  HostArray array;
  if (nb::try_cast(value, array)) return from_numpy(array, where);
  fail("{}: a {} is no attribute value (give an int, float, bool, str, bytes, a 1-D numpy array "
       "or a list of numbers)",
       where, nb::type_name(value.type()).c_str());
}

nb::object attr_to_python(AttrValue const& value) {
  using Code = nb::dlpack::dtype_code;
  auto dt = [](Code c, uint8_t bits) { return nb::dlpack::dtype{static_cast<uint8_t>(c), bits, 1}; };
  return std::visit(
      [&](auto const& x) -> nb::object {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Bytes>)
          return nb::bytes(reinterpret_cast<char const*>(x.value.data()), x.value.size());
        else if constexpr (std::is_same_v<T, std::vector<half>>)
          return array_to_python(x, dt(Code::Float, 16));
        else if constexpr (std::is_same_v<T, std::vector<bool>>)
          return array_to_python(std::vector<uint8_t>(x.begin(), x.end()), dt(Code::Bool, 8));
        else if constexpr (std::is_same_v<T, std::vector<float>> ||
                           std::is_same_v<T, std::vector<double>>)
          return array_to_python(x, dt(Code::Float, sizeof(typename T::value_type) * 8));
        else if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>)
          return array_to_python(x, dt(Code::Int, sizeof(typename T::value_type) * 8));
        else
          return nb::cast(x);
      },
      value);
}

nb::dict attrs_to_python(Attrs const& attrs) {
  nb::dict d;
  for (auto const& [name, value] : attrs) d[nb::str(name.data(), name.size())] = attr_to_python(value);
  return d;
}

void bind_attrs(nb::module_& m) {
  nb::enum_<AttrType>(m, "AttrType")
      .value("INT32", AttrType::INT32)
      .value("INT64", AttrType::INT64)
      .value("FLOAT32", AttrType::FLOAT32)
      .value("FLOAT64", AttrType::FLOAT64)
      .value("BOOL", AttrType::BOOL)
      .value("STRING", AttrType::STRING)
      .value("BYTES", AttrType::BYTES)
      .value("INT8S", AttrType::INT8S)
      .value("INT16S", AttrType::INT16S)
      .value("INT32S", AttrType::INT32S)
      .value("INT64S", AttrType::INT64S)
      .value("FLOAT16S", AttrType::FLOAT16S)
      .value("FLOAT32S", AttrType::FLOAT32S)
      .value("FLOAT64S", AttrType::FLOAT64S)
      .value("BOOLS", AttrType::BOOLS)
      .def_prop_ro("type_name", [](AttrType t) { return std::string(name(t)); });

  // A set of attribute values checked against a plugin's schema: what op.<ns>.<name>(...) holds
  // and the network stores in a layer.
  nb::class_<Attrs>(m, "AttrSet")
      .def("to_dict", &attrs_to_python)
      .def("__len__", &Attrs::size)
      .def("__repr__", [](Attrs const& a) {
        std::string s;
        for (auto const& [k, v] : a) s += (s.empty() ? "" : ", ") + k + "=" + to_string(v);
        return "AttrSet(" + s + ")";
      });
}

}  // namespace qdp::py
