#pragma once
// test::scale, test::fp16_only, test::add_inplace, test::sum2, test::filter,
// test::copy_any_format, test::cuda_only, test::both_impls, test::picky: see test_plugins.cpp.
#include <qdp/qdp.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace test_plugins {

// Collects log lines for assertions.
class CaptureLogger : public qdp::Logger {
 public:
  void log(qdp::Severity, std::string_view message) override { lines.emplace_back(message); }
  std::string text() const {
    std::string s;
    for (auto const& l : lines) {
      s += l;
      s += '\n';
    }
    return s;
  }
  std::vector<std::string> lines;
};

inline qdp::Array iota_array(qdp::Dims shape, float start = 1.0f) {
  qdp::Array a(qdp::DataType::FP32, shape);
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = start + static_cast<float>(i % 97);
  return a;
}

// x (dynamic rows, 4; profile 1..16, opt 8) -> test::scale(factor 2) -> y, types kept.
inline qdp::Engine dynamic_scale_engine() {
  qdp::Network net;
  auto x = net.add_input("x", qdp::DataType::FP32, {-1, 4});
  net.set_profile("x", {1, 4}, {8, 4}, {16, 4});
  net.mark_output(net.add_plugin("test::scale", {x}, {{"factor", 2.0}})[0], "y");
  qdp::BuildConfig config;
  config.strict_types = true;
  return qdp::build_engine(net, config);
}

}  // namespace test_plugins
