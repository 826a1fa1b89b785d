// AOT kernels without CUDA: every entry point says why it cannot work here.
#include <qdp/error.hpp>

#include "backends/cuda/aot.hpp"

namespace qdp::detail {

PlanKernel compile_aot_kernel(std::string_view plugin_id, AotKernel const&) {
  fail("plugin {}: AOT kernels need qdp built with CUDA (nvcc was not found when it was built)",
       plugin_id);
}

std::shared_ptr<const AotModule> load_aot_kernel(PlanKernel const&, std::string_view step, size_t,
                                                 size_t) {
  fail(
      "layer '{}' is an AOT kernel, which needs qdp built with CUDA (nvcc was not found when it "
      "was built)",
      step);
}

}  // namespace qdp::detail
