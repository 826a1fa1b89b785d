#pragma once
// What every part of the extension shares: nanobind, the core's headers and the few helpers
// that cross between Python and C++ (errors both ways, attribute values).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>

#include <qdp/attributes.hpp>
#include <qdp/error.hpp>
#include <qdp/plugin_definition.hpp>
#include <string>
#include <string_view>

namespace qdp::py {

namespace nb = nanobind;
using namespace nb::literals;

// A reference to a Python object that the core may keep beyond the interpreter's life (the
// registry is a static that outlives Py_Finalize): it is released with the GIL held, and simply
// dropped once the interpreter is gone.
class PyRef {
 public:
  PyRef() = default;
  explicit PyRef(nb::handle h) : p_(h.ptr()) { Py_XINCREF(p_); }  // with the GIL held
  PyRef(PyRef const& o) : p_(o.p_) {
    // The core copies definitions as it likes, on any thread.
    if (p_) {
      PyGILState_STATE s = PyGILState_Ensure();
      Py_INCREF(p_);
      PyGILState_Release(s);
    }
  }
  PyRef(PyRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  PyRef& operator=(PyRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~PyRef() {
    if (p_ && Py_IsInitialized()) {
      PyGILState_STATE s = PyGILState_Ensure();
      Py_DECREF(p_);
      PyGILState_Release(s);
    }
  }
  nb::handle get() const { return p_; }
  PyObject* ptr() const { return p_; }

 private:
  PyObject* p_ = nullptr;
};

// The Python exception being handled, as a qdp::Error for the core: a qdp.Error keeps its code
// and message; any other exception becomes a RuntimeFailure whose message is `what` followed by
// the exception and its traceback.
qdp::Error error_from_python(nb::python_error const& e, std::string_view what,
                             ErrorContext context);

// Attribute values between Python and the core. from_python takes a value as Python gives it
// (int, float, bool, str, bytes, a 1-D numpy array or a list of numbers) with the type it
// naturally has; the core converts it to the declared type (resolve_attrs). `where` prefixes the
// message of a value that is no attribute value at all.
AttrValue attr_from_python(nb::handle value, std::string_view where);
nb::object attr_to_python(AttrValue const& value);
nb::dict attrs_to_python(Attrs const& attrs);

void bind_errors(nb::module_& m);
void bind_attrs(nb::module_& m);
void bind_shapes(nb::module_& m);
void bind_tensor(nb::module_& m);
void bind_plugin(nb::module_& m);
void bind_engine(nb::module_& m);

}  // namespace qdp::py
