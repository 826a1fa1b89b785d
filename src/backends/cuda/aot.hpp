#pragma once
// Ahead-of-time kernels (SPEC §1 "AOT kernels"): what an aot_impl returns is compiled for the GPU
// at build time (NVRTC for CUDA source), stored in the engine as a PlanKernel, and at run time
// loaded once per engine and launched with its expressions evaluated against the actual shapes.
// Kernel parameters: input pointers, then the extra int32 arguments, then output pointers.
#include <memory>
#include <qdp/plugin_definition.hpp>
#include <span>
#include <string_view>

#include "engine/plan.hpp"

namespace qdp::detail {

// Compiles `kernel` for the GPU of this process: CUDA source through NVRTC (cubin and PTX), PTX
// kept as PTX, a cubin kept as is. Errors name the plugin and show NVRTC's log.
PlanKernel compile_aot_kernel(std::string_view plugin_id, AotKernel const& kernel);

// A compiled kernel loaded into this process's CUDA context.
class AotModule {
 public:
  virtual ~AotModule() = default;
  virtual void launch(std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                      ShapeEnv const& env, Stream stream) const = 0;
};

// Loads `kernel` (the cubin when it matches this GPU, else its PTX) and checks that the kernel
// takes `inputs` + extra args + `outputs` parameters of the right sizes; errors name `step`.
std::shared_ptr<const AotModule> load_aot_kernel(PlanKernel const& kernel, std::string_view step,
                                                 size_t inputs, size_t outputs);

}  // namespace qdp::detail
