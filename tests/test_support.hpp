#pragma once
// Helpers every test file shares.
#include <gtest/gtest.h>

#include <qdp/error.hpp>
#include <string>

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

}  // namespace qdp_test
