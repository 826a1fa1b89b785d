#pragma once
// Helpers every test file shares.
#include <gtest/gtest.h>

#include <qdp/engine.hpp>
#include <qdp/error.hpp>
#include <qdp/registry.hpp>
#include <string>
#include <vector>

namespace qdp_test {

// The message of the qdp::Error that `run` throws; a test failure when it throws none.
template <class F>
std::string error_of(F&& run) {
  try {
    run();
  } catch (qdp::Error const& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a qdp::Error, but nothing was thrown";
  return "no error";
}

// The code of the qdp::Error that `run` throws; a test failure when it throws none.
template <class F>
qdp::ErrorCode code_of(F&& run) {
  try {
    run();
  } catch (qdp::Error const& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected a qdp::Error, but nothing was thrown";
  return qdp::ErrorCode::InvalidArgument;
}

// An engine's plugin layers, without the reformats the autotuner put between them (a layout or
// type it found faster, with the conversion counted).
inline std::vector<qdp::LayerInfo> plugin_layers(qdp::Engine const& engine) {
  std::vector<qdp::LayerInfo> layers;
  for (auto& l : engine.layers())
    if (l.kind == "plugin") layers.push_back(l);
  return layers;
}

// Removes a plugin ID from the global registry when the test ends, however it ends (and before
// it starts, so that --gtest_repeat works).
struct Unregister {
  std::string id;
  explicit Unregister(std::string i) : id(std::move(i)) { qdp::Registry::global().remove(id); }
  ~Unregister() { qdp::Registry::global().remove(id); }
  Unregister(Unregister const&) = delete;
  Unregister& operator=(Unregister const&) = delete;
};

}  // namespace qdp_test
