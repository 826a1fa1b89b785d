// Tensor and Shape (SPEC §1 "Tensor"): zero-copy views through __array_interface__ (CPU),
// __cuda_array_interface__ (CUDA) and DLPack.
#include "tensor.hpp"

#include <nanobind/ndarray.h>

namespace qdp::py {

Tensor const& PyTensor::get() const {
  if (!is_alive()) {
    PyErr_SetString(PyExc_ReferenceError,
                    "this qdp.plugin.Tensor was handed to a plugin impl and used after the impl "
                    "returned; its memory belongs to the engine. Copy what you need inside the "
                    "impl (np.array(t), torch.as_tensor(t).clone())");
    throw nb::python_error();
  }
  return tensor;
}

namespace {

// The concrete shape of a Tensor: a sequence of ints.
struct Shape {
  Dims dims;
};

nb::tuple to_tuple(Dims const& d) {
  nb::list l;
  for (int64_t x : d) l.append(x);
  return nb::tuple(l);
}

nb::tuple byte_strides(Tensor const& t) {
  nb::list l;
  for (int64_t s : t.strides) l.append(s * static_cast<int64_t>(element_size(t.dtype)));
  return nb::tuple(l);
}

char const* typestr(DataType t) {
  switch (t) {
    case DataType::FP32:
      return "<f4";
    case DataType::FP16:
      return "<f2";
    case DataType::INT8:
      return "|i1";
    case DataType::UINT8:
      return "|u1";
    case DataType::INT32:
      return "<i4";
    case DataType::INT64:
      return "<i8";
    case DataType::BOOL:
      return "|b1";
    case DataType::BF16:
      break;
  }
  throw nb::type_error(
      "a BF16 tensor has no array-interface type (numpy lacks bfloat16): view it through DLPack "
      "(torch.from_dlpack(t))");
}

nb::dict array_interface(PyTensor const& self) {
  Tensor const& t = self.get();
  nb::dict d;
  d["shape"] = to_tuple(t.shape);
  d["typestr"] = typestr(t.dtype);
  d["data"] = nb::make_tuple(reinterpret_cast<uintptr_t>(t.data), !self.writable);
  d["strides"] = byte_strides(t);
  d["version"] = 3;
  return d;
}

nb::dlpack::dtype dl_dtype(DataType t) {
  using Code = nb::dlpack::dtype_code;
  auto make = [](Code c, size_t bytes) {
    return nb::dlpack::dtype{static_cast<uint8_t>(c), static_cast<uint8_t>(bytes * 8), 1};
  };
  switch (t) {
    case DataType::FP32:
    case DataType::FP16:
      return make(Code::Float, element_size(t));
    case DataType::BF16:
      return make(Code::Bfloat, 2);
    case DataType::INT8:
    case DataType::INT32:
    case DataType::INT64:
      return make(Code::Int, element_size(t));
    case DataType::UINT8:
      return make(Code::UInt, 1);
    case DataType::BOOL:
      return make(Code::Bool, 1);
  }
  return make(Code::Float, 4);
}

int dl_device(Device d) {
  return d == Device::CUDA ? nb::device::cuda::value : nb::device::cpu::value;
}

// A DLPack capsule over the tensor's memory, owned by (and keeping alive) the view `self`.
nb::object dlpack_capsule(nb::handle self) {
  PyTensor const& v = nb::cast<PyTensor const&>(self);
  Tensor const& t = v.get();
  size_t shape[kMaxRank];
  int64_t strides[kMaxRank];
  for (int i = 0; i < t.rank(); ++i) {
    shape[i] = static_cast<size_t>(t.shape[i]);
    strides[i] = t.strides[i];
  }
  nb::ndarray<> a(t.data, static_cast<size_t>(t.rank()), shape, self, strides, dl_dtype(t.dtype),
                  dl_device(t.device), 0);
  return nb::cast(a);
}

}  // namespace

void bind_tensor(nb::module_& m) {
  nb::class_<Shape>(m, "Shape", "The concrete shape of a Tensor")
      .def("__len__", [](Shape const& s) { return s.dims.rank(); })
      .def("__getitem__",
           [](Shape const& s, int64_t i) {
             int64_t n = s.dims.rank();
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw nb::index_error("Shape index out of range");
             return s.dims[static_cast<int>(i)];
           })
      .def("__iter__", [](Shape const& s) { return nb::iter(to_tuple(s.dims)); })
      .def("__eq__",
           [](Shape const& s, nb::handle other) {
             std::vector<int64_t> v;
             if (auto const* o = nb::inst_ptr<Shape>(other); nb::isinstance<Shape>(other) && o)
               return s.dims == o->dims;
             if (!nb::try_cast(other, v)) return false;
             return s.dims == Dims(std::span<const int64_t>(v));
           })
      .def("numel", [](Shape const& s) { return s.dims.numel(); })
      .def("__repr__",
           [](Shape const& s) { return "Shape(" + nb::cast<std::string>(nb::repr(to_tuple(s.dims))) + ")"; });
  m.attr("Shape").attr("__hash__") = nb::none();

  nb::class_<PyTensor>(m, "Tensor",
                       "A tensor handed to a plugin impl: its memory, type, format and shape. "
                       "Valid only during the impl call.")
      .def_prop_ro("dtype", [](PyTensor const& v) { return v.get().dtype; })
      .def_prop_ro("format", [](PyTensor const& v) { return v.get().format; })
      .def_prop_ro("ndim", [](PyTensor const& v) { return v.get().rank(); })
      .def_prop_ro("shape", [](PyTensor const& v) { return Shape{v.get().shape}; })
      .def_prop_ro("strides", [](PyTensor const& v) { return to_tuple(v.get().strides); },
                   "Strides in elements, per logical dimension")
      .def("numel", [](PyTensor const& v) { return v.get().numel(); })
      .def_prop_ro("data_ptr",
                   [](PyTensor const& v) { return reinterpret_cast<uintptr_t>(v.get().data); })
      .def_prop_ro("device", [](PyTensor const& v) { return std::string(name(v.get().device)); })
      .def(
          "aliased",
          [](nb::object self, std::optional<std::vector<int64_t>> shape) {
            PyTensor const& v = nb::cast<PyTensor const&>(self);
            Tensor t = v.get();
            if (shape) t = t.reshaped(Dims(std::span<const int64_t>(*shape)));
            return PyTensor{t, v.writable, true, self};
          },
          "shape"_a = nb::none(),
          "The same memory seen with `shape`: how an impl states the actual extent of a "
          "data-dependent output (at most what was allocated for its upper bound)")
      .def_prop_ro("__array_interface__",
                   [](PyTensor const& v) {
                     if (v.get().device != Device::CPU)
                       throw nb::attribute_error("a CUDA tensor has __cuda_array_interface__");
                     return array_interface(v);
                   })
      .def_prop_ro("__cuda_array_interface__",
                   [](PyTensor const& v) {
                     if (v.get().device != Device::CUDA)
                       throw nb::attribute_error("a CPU tensor has __array_interface__");
                     nb::dict d = array_interface(v);
                     // torch refuses read-only CUDA memory; CUDA arrays are shared writable
                     // (numpy views of CPU inputs stay read-only).
                     d["data"] = nb::make_tuple(reinterpret_cast<uintptr_t>(v.get().data), false);
                     d["stream"] = nb::none();  // the impl runs on the stream it was given
                     return d;
                   })
      .def("__dlpack__",
           [](nb::handle self, nb::kwargs) {
             // stream, max_version, dl_device, copy: the impl's buffers are already on the
             // impl's stream and device, and an unversioned capsule is what every consumer reads.
             return dlpack_capsule(self);
           })
      .def("__dlpack_device__",
           [](PyTensor const& v) { return nb::make_tuple(dl_device(v.get().device), 0); })
      .def("__repr__", [](PyTensor const& v) {
        if (!v.is_alive()) return std::string("Tensor(<released: its impl call has returned>)");
        Tensor const& t = v.tensor;
        return fmt::format("Tensor(dtype={}, format={}, shape={}, device={})", name(t.dtype),
                           name(t.format), to_string(t.shape), name(t.device));
      });
}

}  // namespace qdp::py
