#pragma once
// What a timing measured on a backend's device depends on, as one line: the key by which timing
// caches (builder/timing_cache.hpp) tell one device from another. Internal to qdp.
#include <qdp/api.hpp>
#include <qdp/tensor.hpp>
#include <string>

namespace qdp::detail {

// The CPU: "cpu: <processor model>, <threads> threads" (the threads a parallel loop gets).
// A GPU: "cuda: <name>, sm_<arch>, <SMs> SMs, CUDA runtime <x.y>, driver <x.y>". Which GPU of
// several identical ones is not part of it. A clear qdp::Error when the device cannot be read.
QDP_API std::string device_identity(Device device, int index = 0);

#ifdef QDP_WITH_CUDA
std::string cuda_device_identity(int index);  // backends/cuda/device_identity.cpp
#endif

}  // namespace qdp::detail
