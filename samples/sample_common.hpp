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
int run_non_zero(CommonOptions const& options);

struct CircPadOptions : CommonOptions {
  std::string mode;  // "onnx" or "inetdef"; may be empty with load_engine
  std::string artifacts_dir;
  bool multi_tactic = false, aot = false, save_engine = false, load_engine = false;
};
int run_circ_pad(CircPadOptions const& options);

// A usage error found after parsing: printed like CLI11's, exit code 2.
inline int usage(std::string const& message) {
  std::fprintf(stderr, "usage error: %s\n", message.c_str());
  return 2;
}

}  // namespace qdp::samples
