// fuzz_engine_load: engine file bytes, as they are, into Engine::deserialize on the CPU.
//
// Without a reseal nearly every mutation fails the checksum: this target holds the header, the
// size and checksum checks, and whatever a file that passes them (a seed, a crossover of two)
// makes the reader do. A loaded engine must describe itself, serialize, and load again into the
// same bytes; its execution context is created but not run (fuzz_engine_run runs engines).
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qdp_fuzz::register_plugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
  std::optional<qdp::Engine> engine;
  try {
    engine.emplace(qdp::Engine::deserialize(qdp_fuzz::bytes_of(data, size), "fuzz.qdp"));
  } catch (qdp::Error const&) {
    return 0;
  }
  (void)engine->io();
  (void)engine->layers();
  // A loaded engine writes a file that loads again, and writing that one gives the same bytes.
  std::vector<std::byte> again = engine->serialize();
  std::optional<qdp::Engine> reloaded;
  try {
    reloaded.emplace(qdp::Engine::deserialize(again, "fuzz.qdp (written again)"));
  } catch (qdp::Error const& e) {
    qdp_fuzz::finding(std::string("an engine that loaded was written into a file that does not: ") +
                      e.what());
  }
  if (reloaded->serialize() != again)
    qdp_fuzz::finding("writing a reloaded engine gives other bytes than the first write");
  if (engine->activation_bytes() <= qdp_fuzz::kMaxRunBytes) {
    try {
      (void)engine->create_execution_context();
    } catch (qdp::Error const&) {
    }
  }
  return 0;
}
