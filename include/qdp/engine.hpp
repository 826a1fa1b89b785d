#pragma once
// Engine: an immutable, built network (SPEC §1): per node the chosen implementation, types,
// formats and tactic; the memory plan; the attributes its JIT impls need. Engines are cheap to
// copy (shared, immutable); each ExecutionContext holds the per-run state.
#include <cstddef>
#include <memory>
#include <qdp/data_type.hpp>
#include <qdp/dims.hpp>
#include <qdp/network.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

class ExecutionContext;
namespace detail {
struct EngineImpl;
}

// An engine's input or output as a caller sees it.
struct QDP_API IOInfo {
  std::string name;
  DataType dtype;
  TensorFormat format;
  std::vector<int64_t> dims;       // -1 where dynamic or data-dependent
  std::optional<Profile> profile;  // inputs with dynamic dimensions
  bool is_input = true;
  size_t max_bytes = 0;  // the most bytes it takes (profile max, size tensors at their upper bound)
};

// One step of the engine, for --dumpLayerInfo and the verbose log.
struct QDP_API LayerInfo {
  std::string name;
  std::string kind;             // "plugin", "reformat" or "copy"
  std::string plugin_id;        // plugins only
  std::string implementation;   // "jit" / "aot" / "builtin"
  std::vector<DataType> types;  // inputs then outputs
  std::vector<TensorFormat> formats;
  int32_t tactic = 0;
  double autotune_ms = 0;  // the winner's time while autotuning (0: not timed)
};

class QDP_API Engine {
 public:
  explicit Engine(std::shared_ptr<const detail::EngineImpl> impl);

  Device device() const;
  std::vector<IOInfo> const& io() const;
  IOInfo const& io(std::string_view name) const;  // throws for an unknown name
  std::vector<LayerInfo> layers() const;
  // Bytes of activation memory an execution context allocates (at the profile's max shapes).
  size_t activation_bytes() const;
  double build_seconds() const;

  // A context that runs on GPU `gpu` of the engine's backend (CUDA; ignored on the CPU).
  std::unique_ptr<ExecutionContext> create_execution_context(int gpu = 0) const;

  // Engine files (SPEC §5). The bytes carry a header (magic, format and library version, device,
  // GPU architecture, checksum) that loading verifies before anything else is read. Loading
  // resolves the engine's JIT plugins in this process and fails, naming the plugin, for one
  // that is not defined. `origin` names the bytes in error messages (a path, say).
  std::vector<std::byte> serialize() const;
  // `gpu`: where its AOT kernels are loaded first (they run on any GPU of the same kind).
  static Engine deserialize(std::span<const std::byte> bytes, std::string_view origin = "<memory>",
                            int gpu = 0);
  // Written to a temporary file in the same directory, flushed, then renamed over `path`: a
  // failure leaves no partial file behind.
  void save(std::string const& path) const;
  static Engine load(std::string const& path, int gpu = 0);

  detail::EngineImpl const& impl() const { return *impl_; }

 private:
  std::shared_ptr<const detail::EngineImpl> impl_;
};

}  // namespace qdp
