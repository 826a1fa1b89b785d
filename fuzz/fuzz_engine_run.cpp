// fuzz_engine_run: engine files edited on purpose. The harness rewrites each input's header as
// this qdp writes it (magic, versions, CPU, payload size) and recomputes the checksum, so every
// edit of the payload reaches the loader's checks; a custom mutator edits the payload with
// libFuzzer's byte mutations or FlatBuffers-aware ones (an aligned 32- or 64-bit word, where
// FlatBuffers keeps its scalars, offsets and vector lengths, set to a boundary value or moved by
// a little). Whatever loads is run once on the CPU with inputs of one of its profile's shapes
// (min, opt or max, chosen by the checksum), and its outputs are checked against the
// engine's own description.
//
// This is the hostile-file case: the checksum is no defence, only the loader's checks are.
#include <algorithm>
#include <cstring>
#include <random>

#include "engine/engine_file.hpp"
#include "fuzz_support.hpp"

namespace ef = qdp::detail::engine_file;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qdp_fuzz::register_plugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
  if (size <= ef::kHeaderSize) return 0;
  auto bytes = qdp_fuzz::bytes_of(data, size);
  std::vector<std::byte> file(bytes.begin(), bytes.end());
  qdp_fuzz::fix_header(file);
  std::optional<qdp::Engine> engine;
  try {
    engine.emplace(qdp::Engine::deserialize(file, "fuzz.qdp"));
  } catch (qdp::Error const&) {
    return 0;
  }
  (void)qdp_fuzz::run_once(*engine, std::to_integer<int>(file[ef::kChecksumOffset]) % 3);
  return 0;
}

#ifdef QDP_LIBFUZZER
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// T is unsigned: steps wrap.
template <class T>
T boundary_or_step(T old, std::minstd_rand& rng) {
  static constexpr int64_t boundaries[] = {0,   1,    2,     3,       4,          7,
                                           8,   16,   -1,    -2,      64,         255,
                                           256, 4096, 65535, 1 << 20, 0x7fffffff, -0x7fffffff - 1};
  switch (rng() % 4) {
    case 0:
      return static_cast<T>(old + 1);
    case 1:
      return static_cast<T>(old - 1);
    case 2:
      return static_cast<T>(old << 1);
    default: {
      if constexpr (sizeof(T) == 8)
        if (rng() % 4 == 0) return static_cast<T>(int64_t{1} << (rng() % 63));
      return static_cast<T>(boundaries[rng() % std::size(boundaries)]);
    }
  }
}

template <class T>
void edit_word(uint8_t* payload, size_t size, std::minstd_rand& rng) {
  if (size < sizeof(T)) return;
  size_t at = (rng() % (size / sizeof(T))) * sizeof(T);
  T value;
  std::memcpy(&value, payload + at, sizeof(T));
  value = boundary_or_step(value, rng);
  std::memcpy(payload + at, &value, sizeof(T));
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::minstd_rand rng(seed);
  if (size < ef::kHeaderSize || max_size <= ef::kHeaderSize)
    return LLVMFuzzerMutate(data, size, max_size);
  uint8_t* payload = data + ef::kHeaderSize;
  size_t payload_size = size - ef::kHeaderSize;
  switch (rng() % 8) {
    case 0:
    case 1:
      edit_word<uint32_t>(payload, payload_size, rng);
      break;
    case 2:
      edit_word<uint64_t>(payload, payload_size, rng);
      break;
    default:
      payload_size = LLVMFuzzerMutate(payload, payload_size, max_size - ef::kHeaderSize);
  }
  // The header as the harness will make it, so that the corpus holds loadable files.
  size = ef::kHeaderSize + payload_size;
  qdp_fuzz::fix_header({reinterpret_cast<std::byte*>(data), size});
  return size;
}
#endif
