#pragma once
// Networks that tests and the fuzz seeds (fuzz/make_seeds.cpp) both build. No gtest here: the
// seed generator includes it too.
#include <qdp/network.hpp>
#include <string>
#include <vector>

namespace qdp_test {

// The standard operators' parts of a plan: constants, shape inputs evaluated on the host, a
// Values step. x [batch 1..4, 4] -> e = Expand(c, Shape(x)), r = Range(0, batch, 1).
inline qdp::Network values_network() {
  using namespace qdp;
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 4});
  net.set_profile("x", Dims{1, 4}, Dims{2, 4}, Dims{4, 4});
  auto ints = [&](std::string name, std::vector<int64_t> v, bool scalar = false) {
    std::vector<int64_t> dims;
    if (!scalar) dims.push_back(static_cast<int64_t>(v.size()));
    return net.add_constant<int64_t>(std::move(name), dims, v);
  };
  std::vector<float> row{1, 2, 3, 4};
  auto shape = net.add_plugin("onnx::Shape", {x})[0];
  net.mark_output(
      net.add_plugin("onnx::Expand", {net.add_constant<float>("c", {1, 4}, row), shape})[0], "e");
  auto batch = net.add_plugin(
      "onnx::Slice", {shape, ints("s", {0}), ints("en", {1}), ints("a", {0}), ints("st", {1})})[0];
  auto b = net.add_plugin("onnx::Squeeze", {batch, ints("ax", {0})})[0];
  net.mark_output(
      net.add_plugin("onnx::Range", {ints("zero", {0}, true), b, ints("one", {1}, true)})[0], "r");
  return net;
}

}  // namespace qdp_test
