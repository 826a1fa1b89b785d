#pragma once
// qdpexec's options and the parsing of their values. A malformed value is a UsageError (exit
// code 2); a well-formed one the engine or the machine cannot honour is a qdp::Error (exit 1).
#include <cstdint>
#include <map>
#include <optional>
#include <qdp/data_type.hpp>
#include <qdp/dims.hpp>
#include <qdp/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qdp::tools {

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(std::string const& message) : std::runtime_error(message) {}
};

struct Options {
  std::string onnx, load_engine, save_engine, save_outputs, export_layer_info, export_times,
      export_profile, device, compare;
  std::vector<std::string> plugins, shapes, min_shapes, opt_shapes, max_shapes, load_inputs,
      load_outputs, val_ranges;
  bool fp16 = false, bf16 = false, prefer_aot = false, prefer_jit = false, use_cuda_graph = false,
       no_data_transfers = false, dump_layer_info = false, dump_profile = false, verbose = false,
       skip_inference = false;
  int iterations = 10, inf_streams = 1;
  double warm_up_ms = 200, duration_s = 3, percentile = 99, atol = 1e-5, rtol = 1e-5;
  uint64_t seed = 42;
  std::string timing_cache_file;                   // --timingCacheFile
  std::string sign_key, verify_key, gen_key_pair;  // --signKey, --verifyKey, --genKeyPair
};

// --device: cpu, cuda or cuda:N (qdp::parse_device_spec), or a usage error.
DeviceSpec parse_device_arg(std::string_view text);

// "name:AxBxC" entries, also comma-separated within one argument.
std::map<std::string, Dims> parse_shapes(std::vector<std::string> const& args,
                                         std::string_view option);
// "name:file" entries (--loadInputs, --loadOutputs).
std::map<std::string, std::string> parse_named_files(std::vector<std::string> const& args,
                                                     std::string_view option);

// --valRange: "lo:hi" for every input or "name:lo:hi" for one (the name may hold colons).
struct ValRange {
  double lo = 0, hi = 0;
};
struct ValRanges {
  std::optional<ValRange> all;
  std::map<std::string, ValRange> by_name;
};
ValRanges parse_val_ranges(std::vector<std::string> const& args);

}  // namespace qdp::tools
