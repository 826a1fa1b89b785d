#pragma once
#include <qdp/logger.hpp>
#include <vector>

#include "plan/plan.hpp"

namespace qdp::detail {

// Assigns storage to every plan tensor: aliased outputs share their input's storage where that
// is safe, a group that holds a network output lives in the caller's buffer, and activations are
// packed into one arena by lifetime. Sets each tensor's capacity and the plan's arena size.
void plan_memory(EnginePlan& plan, std::vector<Dims> const& max_input_shapes,
                 size_t max_tensor_bytes, Logger* logger);

}  // namespace qdp::detail
