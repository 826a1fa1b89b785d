// Data types, ShapeExpr arithmetic and TensorDesc (SPEC §1 "TensorDesc", "Shape expressions").
#include "shapes.hpp"

#include <nanobind/operators.h>
#include <nanobind/stl/vector.h>

namespace qdp::py {

namespace {

// desc.shape_expr: a live view of the desc's dimensions, so that `out.shape_expr[3] += 2`
// changes `out`, as the seed's circ_pad desc does.
struct ShapeExprs {
  nb::object owner;  // the PyTensorDesc
  PyTensorDesc& desc() const { return nb::cast<PyTensorDesc&>(owner); }
  size_t index(int64_t i) const {
    int64_t n = static_cast<int64_t>(desc().desc.shape_expr.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) throw nb::index_error("shape_expr index out of range");
    return static_cast<size_t>(i);
  }
};

std::string repr(ShapeExpr const& e) {
  return "ShapeExpr(" + e.to_string() + ")";
}
std::string repr(TensorDesc const& d) {
  std::string dims;
  for (auto const& e : d.shape_expr) dims += (dims.empty() ? "" : ", ") + e.to_string();
  if (d.rank() == 1) dims += ",";
  std::string s = fmt::format("TensorDesc(dtype={}, format={}, shape_expr=({})", name(d.dtype),
                              name(d.format), dims);
  if (d.is_size_tensor()) s += ", size_tensor";
  if (d.aliased_input() >= 0) s += fmt::format(", aliased to input {}", d.aliased_input());
  return s + ")";
}

}  // namespace

nb::object desc_to_python(TensorDesc const& d, bool read_only) {
  return nb::cast(PyTensorDesc{d, read_only});
}

nb::list descs_to_python(std::span<const TensorDesc> descs, bool read_only) {
  nb::list out;
  for (auto const& d : descs) out.append(desc_to_python(d, read_only));
  return out;
}

TensorDesc const& desc_from_python(nb::handle h, std::string_view where) {
  PyTensorDesc* p = nullptr;
  if (!nb::try_cast<PyTensorDesc*>(h, p) || !p)
    fail("{}: expected a qdp.plugin.TensorDesc, got {}", where, nb::type_name(h.type()).c_str());
  return p->desc;
}

void bind_shapes(nb::module_& m) {
  // TensorRT's names: the seed prints "DataType.FLOAT" and "DataType.HALF".
  nb::enum_<DataType>(m, "DataType")
      .value("FLOAT", DataType::FP32)
      .value("HALF", DataType::FP16)
      .value("BF16", DataType::BF16)
      .value("INT8", DataType::INT8)
      .value("UINT8", DataType::UINT8)
      .value("INT32", DataType::INT32)
      .value("INT64", DataType::INT64)
      .value("BOOL", DataType::BOOL)
      .def_prop_ro("itemsize", [](DataType t) { return element_size(t); });
  nb::enum_<TensorFormat>(m, "TensorFormat")
      .value("LINEAR", TensorFormat::LINEAR)
      .value("HWC", TensorFormat::HWC);

  nb::class_<ShapeExpr>(m, "ShapeExpr",
                        "A symbolic extent: constants, input dimensions and size-tensor values "
                        "combined with + - * // cdiv min max")
      .def(nb::init_implicit<int64_t>(), "value"_a)
      .def(nb::self + nb::self)
      .def(nb::self - nb::self)
      .def(nb::self * nb::self)
      .def("__floordiv__", [](ShapeExpr const& a, ShapeExpr const& b) { return a / b; })
      .def("__radd__", [](ShapeExpr const& a, ShapeExpr const& b) { return b + a; })
      .def("__rsub__", [](ShapeExpr const& a, ShapeExpr const& b) { return b - a; })
      .def("__rmul__", [](ShapeExpr const& a, ShapeExpr const& b) { return b * a; })
      .def("__rfloordiv__", [](ShapeExpr const& a, ShapeExpr const& b) { return b / a; })
      .def("__eq__", [](ShapeExpr const& a, ShapeExpr const& b) { return a == b; })
      .def("__ne__", [](ShapeExpr const& a, ShapeExpr const& b) { return !(a == b); })
      .def_prop_ro("is_constant", &ShapeExpr::is_constant)
      .def_prop_ro("constant_value", &ShapeExpr::constant)
      .def("__int__", &ShapeExpr::constant)
      .def("__repr__", [](ShapeExpr const& e) { return repr(e); })
      .def("__str__", &ShapeExpr::to_string);
  // Hashing a mutable-looking structural value would surprise: ShapeExprs compare, not hash.
  m.attr("ShapeExpr").attr("__hash__") = nb::none();

  // Integers stay integers (launch grids computed at run time); expressions stay symbolic.
  m.def("cdiv", [](int64_t a, int64_t b) { return qdp::cdiv(a, b); }, "a"_a, "b"_a);
  m.def("cdiv", [](ShapeExpr const& a, ShapeExpr const& b) { return qdp::cdiv(a, b); }, "a"_a,
        "b"_a, "Ceiling division: (a + b - 1) // b");
  m.def("max", [](int64_t a, int64_t b) { return std::max(a, b); }, "a"_a, "b"_a);
  m.def("max", [](ShapeExpr const& a, ShapeExpr const& b) { return qdp::max(a, b); }, "a"_a, "b"_a);
  m.def("min", [](int64_t a, int64_t b) { return std::min(a, b); }, "a"_a, "b"_a);
  m.def("min", [](ShapeExpr const& a, ShapeExpr const& b) { return qdp::min(a, b); }, "a"_a, "b"_a);

  nb::class_<ShapeExprs>(m, "ShapeExprs", "The dimensions of a TensorDesc, indexable and assignable")
      .def("__len__", [](ShapeExprs const& s) { return s.desc().desc.shape_expr.size(); })
      .def("__getitem__",
           [](ShapeExprs const& s, int64_t i) { return s.desc().desc.shape_expr[s.index(i)]; })
      .def("__setitem__",
           [](ShapeExprs const& s, int64_t i, ShapeExpr const& e) {
             s.desc().check_writable("shape_expr[i] = ...");
             s.desc().desc.shape_expr[s.index(i)] = e;
           })
      .def("__iter__",
           [](ShapeExprs const& s) {
             // A snapshot list (of the vector: SymbolicShape has no caster of its own).
             std::vector<ShapeExpr> const& dims = s.desc().desc.shape_expr;
             return nb::iter(nb::cast(dims));
           })
      .def("numel", [](ShapeExprs const& s) { return s.desc().desc.numel(); })
      .def("__repr__", [](ShapeExprs const& s) {
        std::string dims;
        for (auto const& e : s.desc().desc.shape_expr) dims += (dims.empty() ? "" : ", ") + e.to_string();
        return "ShapeExprs(" + dims + ")";
      });

  nb::class_<PyTensorDesc>(m, "TensorDesc",
                           "What a tensor looks like at build time: type, format, symbolic shape")
      .def(
          "__init__",
          [](PyTensorDesc* self, std::vector<ShapeExpr> shape_expr, DataType dtype,
             TensorFormat format) {
            new (self) PyTensorDesc{TensorDesc(dtype, std::move(shape_expr)).with_format(format)};
          },
          "shape_expr"_a = std::vector<ShapeExpr>{}, "dtype"_a = DataType::FP32,
          "format"_a = TensorFormat::LINEAR)
      .def_prop_rw(
          "dtype", [](PyTensorDesc const& d) { return d.desc.dtype; },
          [](PyTensorDesc& d, DataType t) {
            d.check_writable("dtype");
            d.desc.dtype = t;
          })
      .def_prop_rw(
          "format", [](PyTensorDesc const& d) { return d.desc.format; },
          [](PyTensorDesc& d, TensorFormat f) {
            d.check_writable("format");
            d.desc.format = f;
          })
      .def_prop_ro("ndim", [](PyTensorDesc const& d) { return d.desc.rank(); })
      .def_prop_rw(
          "shape_expr", [](nb::object self) { return ShapeExprs{std::move(self)}; },
          [](PyTensorDesc& d, std::vector<ShapeExpr> dims) {
            d.check_writable("shape_expr");
            d.desc.shape_expr = std::move(dims);
          })
      .def("numel", [](PyTensorDesc const& d) { return d.desc.numel(); })
      .def("like", [](PyTensorDesc const& d) { return PyTensorDesc{d.desc.like()}; },
           "An output desc of the same type, format and shape")
      .def("aliased", [](PyTensorDesc const& d) { return PyTensorDesc{d.desc.aliased()}; },
           "An output that is this input (in place): it shares the input's memory")
      .def_prop_ro("is_aliased", [](PyTensorDesc const& d) { return d.desc.aliased_input() >= 0; })
      .def_prop_ro("is_size_tensor", [](PyTensorDesc const& d) { return d.desc.is_size_tensor(); })
      .def("expr", [](PyTensorDesc const& d) { return d.desc.expr(); },
           "A size tensor's value, usable as a dimension")
      .def("__repr__", [](PyTensorDesc const& d) { return repr(d.desc); });

  m.def(
      "from_shape_expr",
      [](std::vector<ShapeExpr> shape, DataType dtype, TensorFormat format) {
        return PyTensorDesc{from_shape_expr(std::move(shape), dtype).with_format(format)};
      },
      "shape_expr"_a, "dtype"_a, "format"_a = TensorFormat::LINEAR,
      "An output desc of the given symbolic shape and type");
  m.def(
      "size_tensor",
      [](ShapeExpr opt, ShapeExpr upper_bound, DataType dtype) {
        return PyTensorDesc{size_tensor(std::move(opt), std::move(upper_bound), dtype)};
      },
      "opt"_a, "upper_bound"_a, "dtype"_a = DataType::INT64,
      "A scalar output whose value is a data-dependent extent: autotuned at opt, at most "
      "upper_bound. Return it among the outputs too.");
}

}  // namespace qdp::py
