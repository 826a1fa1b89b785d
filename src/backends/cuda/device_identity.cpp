// A GPU's identity for timing caches (backends/device_identity.hpp): its name, architecture and
// SM count, and the CUDA runtime and driver versions, as the CUDA runtime reports them.
#include "backends/device_identity.hpp"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <qdp/error.hpp>

namespace qdp::detail {
namespace {

void check(cudaError_t status, char const* what, int index) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();
  fail(ErrorCode::Unsupported, "cannot read the properties of GPU cuda:{}: {} failed: {}", index,
       what, cudaGetErrorString(status));
}

std::string cuda_version(int v) {  // 12040 -> "12.4"
  return fmt::format("{}.{}", v / 1000, v % 1000 / 10);
}

}  // namespace

std::string cuda_device_identity(int index) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties", index);
  int runtime = 0, driver = 0;
  check(cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion", index);
  check(cudaDriverGetVersion(&driver), "cudaDriverGetVersion", index);
  return fmt::format("cuda: {}, sm_{}{}, {} SMs, CUDA runtime {}, driver {}", prop.name, prop.major,
                     prop.minor, prop.multiProcessorCount, cuda_version(runtime),
                     cuda_version(driver));
}

}  // namespace qdp::detail
