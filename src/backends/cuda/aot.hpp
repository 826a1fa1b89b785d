#pragma once
// AOT kernels on CUDA, used by the CUDA backend only: NVRTC at build time (loaded on first use,
// so that running an engine never needs it) and the runtime's library API at run time.
// Kernel parameters: input pointers, then the extra int32 arguments, then output pointers.
#include <memory>
#include <string_view>

#include "backends/backend.hpp"

namespace qdp::detail {

// Compiles `kernel` for a GPU of compute capability `arch` (e.g. 90).
PlanKernel compile_aot_kernel(std::string_view plugin_id, AotKernel const& kernel, int arch);

// Loads `kernel` (the cubin when it was built for `arch`, else its PTX) for the current GPU.
std::shared_ptr<const LoadedKernel> load_aot_kernel(PlanKernel const& kernel, std::string_view step,
                                                    size_t inputs, size_t outputs, int arch);

}  // namespace qdp::detail
