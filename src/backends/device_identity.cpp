// device_identity() (backends/device_identity.hpp): the CPU's here, a GPU's in backends/cuda.
#include "backends/device_identity.hpp"

#include <fmt/format.h>

#include <fstream>
#include <qdp/error.hpp>
#include <qdp/parallel.hpp>
#include <string_view>

namespace qdp::detail {
namespace {

// The first "model name" of /proc/cpuinfo (Linux, x86 and most others), else "unknown".
std::string processor_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    std::string_view l(line);
    if (!l.starts_with("model name")) continue;
    auto colon = l.find(':');
    if (colon == std::string_view::npos) continue;
    l.remove_prefix(colon + 1);
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    if (!l.empty()) return std::string(l);
  }
  return "unknown processor";
}

}  // namespace

std::string device_identity(Device device, int index) {
  if (device == Device::CPU) {
    static std::string const model = processor_model();
    int threads = num_threads();
    return fmt::format("cpu: {}, {} thread{}", model, threads, threads == 1 ? "" : "s");
  }
#ifdef QDP_WITH_CUDA
  return cuda_device_identity(index);
#else
  (void)index;
  fail(ErrorCode::Unsupported,
       "the CUDA backend is not available: this qdp was built without CUDA (use --device cpu)");
#endif
}

}  // namespace qdp::detail
