#pragma once
// The builder: network -> engine. Infers shapes through each plugin's desc, picks JIT or AOT,
// autotunes every plugin on the target device, inserts reformats, plans memory.
#include <cstddef>
#include <memory>
#include <qdp/engine.hpp>
#include <qdp/logger.hpp>
#include <qdp/network.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qdp {

// For layers whose plugin has both implementations and that don't say which to use.
enum class ImplPreference : uint8_t { None, PreferJIT, PreferAOT };

namespace detail {
struct TimingCacheData;
}

// The autotuner's timings, kept from one build to the next (TensorRT's ITimingCache): per
// candidate of a layer, keyed by the layer's signature (plugin, attributes, implementation, the
// shapes it is timed at, the candidate's types, formats and tactic), and per reformat. A build
// given a cache takes each timing it holds instead of running the candidate, and adds the ones
// it measures; the same timings make the same choices, so a second build of a model picks what
// the first one picked without timing anything.
//
// A cache belongs to one device and one qdp version (device(), version()): a build on another
// device (another GPU model, SM architecture, CUDA runtime or driver; on the CPU another
// processor model or thread count) or with another qdp ignores its timings with a warning, and
// the cache then holds this build's. A plugin whose implementation changed under the same ID
// and attributes keeps its old timings: clear() the cache (or delete its file) after such a
// change.
class QDP_API TimingCache {
 public:
  TimingCache();  // empty: belongs to the device of the first build that uses it
  ~TimingCache();
  TimingCache(TimingCache const&);
  TimingCache(TimingCache&&) noexcept;
  TimingCache& operator=(TimingCache const&);
  TimingCache& operator=(TimingCache&&) noexcept;

  // Bytes from serialize(). Bytes that are not a timing cache, or a truncated or corrupted one
  // (its checksum catches that) are a qdp::Error that names `origin`. A cache written by
  // another qdp version or in another format version loads, and its timings are ignored by the
  // build (with a warning).
  static TimingCache deserialize(std::span<const std::byte> bytes,
                                 std::string_view origin = "<memory>");
  std::vector<std::byte> serialize() const;
  // Files: load() as deserialize(); save() writes a temporary file next to `path` and renames it,
  // so a failure leaves no partial file behind.
  static TimingCache load(std::string const& path);
  void save(std::string const& path) const;

  size_t size() const;          // the number of timings held
  std::string device() const;   // "" until a build has used it
  std::string version() const;  // the qdp version that measured the timings
  void clear();                 // no timings, no device
  // Adds `other`'s timings (same device and version; an empty cache takes `other`'s); entries
  // both hold keep this cache's value. A mismatch is a qdp::Error.
  void combine(TimingCache const& other);

  detail::TimingCacheData& data() const { return *data_; }

 private:
  std::unique_ptr<detail::TimingCacheData> data_;
};

struct QDP_API BuildConfig {
  Device device = Device::CPU;
  int gpu = 0;  // which GPU, when device is CUDA (cuda:N)
  // Keep the network's declared types: autotune only formats and tactics.
  bool strict_types = false;
  // TensorRT's FP16 flag: the standard operators (is_standard_operator: onnx::, qdp::) may
  // run in FP16 where they offer it, with reformats where a neighbour keeps FP32. Without it they
  // keep the network's float types; a user plugin's precision-changing combinations are its
  // author's promise and are timed either way (strict_types keeps every type).
  bool fp16 = false;
  // TensorRT's BF16 flag, the same for BF16 (FP32's range with FP16's width); with both flags
  // both candidates are timed and the faster kept.
  bool bf16 = false;
  ImplPreference preference = ImplPreference::None;
  // Autotuning: warm-up runs and timed runs per candidate (the median is kept).
  int warmup_runs = 1;
  int timed_runs = 3;
  Logger* logger = nullptr;  // null: no logging
  // Timings reused and added by the build (see TimingCache); null: every candidate is timed.
  // The build reads and updates it; it must outlive the build.
  TimingCache* timing_cache = nullptr;
  // The most bytes one tensor may take, as TensorRT's memory-pool limits bound a build: a tensor
  // that the build would allocate (to time a candidate or to fold constants) or that the engine
  // would reserve (at the profile's max shapes) beyond it fails the build with
  // ErrorCode::OutOfMemory, naming the layer, before it is allocated. 0: no limit.
  size_t max_tensor_bytes = 0;
};

QDP_API Engine build_engine(Network const& network, BuildConfig const& config);

}  // namespace qdp
