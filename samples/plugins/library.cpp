// libqdp_sample_plugins.so: loading it (qdpexec --plugins, qdp::load_plugin_library) registers
// every sample plugin in its full form, through the library's entry point.
#include <qdp/plugin_library.hpp>

#include "plugins/sample_plugins.hpp"

QDP_PLUGIN_LIBRARY([] {
  qdp::samples::define_elemwise_add(/*with_autotune=*/true);
  qdp::samples::define_inplace_add();
  qdp::samples::define_non_zero();
  qdp::samples::define_circ_pad(/*multi_tactic=*/true);
});
