// libqdp_sample_plugins.so: loading it (qdpexec --plugins, qdp::load_plugin_library) registers
// every sample plugin in its full form.
#include "plugins/sample_plugins.hpp"

namespace {
[[maybe_unused]] bool const registered = [] {
  qdp::samples::define_elemwise_add(/*with_autotune=*/true);
  qdp::samples::define_inplace_add();
  qdp::samples::define_non_zero();
  qdp::samples::define_circ_pad(/*multi_tactic=*/true);
  return true;
}();
}  // namespace
