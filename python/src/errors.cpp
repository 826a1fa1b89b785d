// Errors across the boundary. qdp::Error becomes the Python class of its code (the table is in
// qdp/_errors.py, the one place that maps codes to classes); a Python exception raised inside a
// plugin callable becomes a qdp::Error carrying its traceback.
#include "common.hpp"

namespace qdp::py {

namespace {
nb::object errors_module() {
  return nb::module_::import_("qdp._errors");
}
}  // namespace

qdp::Error error_from_python(nb::python_error const& e, std::string_view what,
                             ErrorContext context) {
  nb::handle value = e.value();
  nb::object errors = errors_module();
  if (nb::isinstance(value, errors.attr("Error"))) {
    // One of ours (raised by qdp's own checks in Python): its text is already the message.
    ErrorContext inner{nb::cast<std::string>(value.attr("plugin")),
                       nb::cast<std::string>(value.attr("layer")),
                       nb::cast<std::string>(value.attr("phase"))};
    qdp::Error err(nb::cast<std::string>(value.attr("message")),
                   nb::cast<ErrorCode>(value.attr("code")), inner);
    // Its message already names the function it is about: the phase would say it twice.
    context.phase.clear();
    return err.with_context(context);
  }
  std::string trace = nb::cast<std::string>(errors.attr("format_exception")(value));
  return qdp::Error(std::string(what) + " raised " + trace, ErrorCode::RuntimeFailure,
                    std::move(context));
}

void bind_errors(nb::module_& m) {
  nb::enum_<ErrorCode>(m, "ErrorCode")
      .value("InvalidArgument", ErrorCode::InvalidArgument)
      .value("NotFound", ErrorCode::NotFound)
      .value("CorruptFile", ErrorCode::CorruptFile)
      .value("VersionMismatch", ErrorCode::VersionMismatch)
      .value("Unsupported", ErrorCode::Unsupported)
      .value("OutOfMemory", ErrorCode::OutOfMemory)
      .value("RuntimeFailure", ErrorCode::RuntimeFailure);

  nb::register_exception_translator([](std::exception_ptr const& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (qdp::Error const& e) {
      auto const& c = e.context();
      nb::object exc = errors_module().attr("from_core")(e.code(), e.message(), c.plugin,
                                                        c.layer, c.phase, e.what());
      PyErr_SetObject(exc.type().ptr(), exc.ptr());
    }
  });
}

}  // namespace qdp::py
