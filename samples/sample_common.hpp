#pragma once
// What every sample of qdp_runner shares: common options, the verdict, the logger.
#include <cstdio>
#include <optional>
#include <qdp/qdp.hpp>
#include <string>

namespace qdp::samples {

struct CommonOptions {
  bool verbose = false;
  std::string device;  // "", "cpu" or "cuda"
};

inline Device pick_device(CommonOptions const& o) {
  if (o.device.empty()) return default_device();
  auto d = parse_device(o.device);
  if (!d) fail("--device must be cpu or cuda, not '{}'", o.device);
  return *d;
}

// Prints the sample's verdict and returns its exit code.
inline int verdict(bool correct) {
  std::puts(correct ? "Inference result is correct!" : "Inference result is incorrect!");
  return correct ? 0 : 1;
}

struct AddOptions : CommonOptions {
  bool autotune = false;
  bool aot = false;
};
int run_add(AddOptions const& options);
int run_inplace_add(CommonOptions const& options);

}  // namespace qdp::samples
