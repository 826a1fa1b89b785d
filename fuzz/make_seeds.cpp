// qdp_fuzz_make_seeds ENGINE_DIR [ONNX_DIR]: writes the engine seed corpus of fuzz_engine_load and
// fuzz_engine_run. Engines of the sample plugins (the add sample, in place with aliasing, the
// data-dependent non_zero with its size tensor, circ_pad with a dynamic profile and two tactics),
// of the standard operators' parts of a plan (constants, shape values, a Values step, a
// reformat), and one engine per ONNX model in ONNX_DIR (fuzz/corpus/onnx).
//
// Engine files carry the library version that wrote them, so scripts/sanitize.sh writes these
// afresh before each fuzz run; the checked-in copy (fuzz/corpus/engine) seeds a manual run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <qdp/onnx.hpp>

#include "fuzz_support.hpp"
#include "test_networks.hpp"

namespace fs = std::filesystem;
using namespace qdp;

namespace {

Engine add_engine() {  // the add sample's network, small: FP32 or FP16 by autotune
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 8, 8});
  net.mark_output(
      net.add_plugin("sample::elemwise_add_plugin", {x}, {{"block_size", int32_t{256}}})[0], "y");
  return build_engine(net, {});
}

Engine inplace_engine() {  // two in-place layers: outputs aliased to inputs
  Network net;
  auto x = net.add_input("x", DataType::FP32, {1, 3, 4, 4});
  auto t = net.add_plugin("sample::elemwise_add_plugin_", {x}, {{"delta", int32_t{2}}})[0];
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin_", {t}, {{"delta", int32_t{4}}})[0],
                  "y");
  return build_engine(net, {});
}

Engine non_zero_engine() {  // a size tensor with an upper bound; data-dependent output shape
  Network net;
  auto x = net.add_input("X", DataType::FP32, {4, 4});
  auto outs = net.add_plugin("sample::non_zero_plugin", {x});
  net.mark_output(outs[0], "indices");
  net.mark_output(outs[1], "count");
  return build_engine(net, {});
}

Engine circ_pad_engine() {  // a dynamic profile, two tactics
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 2, 4, 4});
  net.set_profile("x", Dims{1, 2, 4, 4}, Dims{2, 2, 4, 4}, Dims{3, 2, 4, 4});
  net.mark_output(net.add_plugin("sample::circ_pad_plugin", {x},
                                 {{"pads", std::vector<int32_t>{1, 1, 2, 0}}})[0],
                  "y");
  return build_engine(net, {});
}

Engine values_engine() {  // constants, shape inputs evaluated on the host, a Values step
  return build_engine(qdp_test::values_network(), {});
}

Engine mixed_engine() {  // standard operators with weights, a reformat into FP16 and back
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 4});
  net.set_profile("x", Dims{1, 4}, Dims{2, 4}, Dims{3, 4});
  std::vector<float> w(4 * 3), bias{0.5f, -0.5f, 1.0f};
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 5) - 2.0f;
  auto m = net.add_plugin("onnx::MatMul", {x, net.add_constant<float>("w", {4, 3}, w)})[0];
  auto a = net.add_plugin("onnx::Add", {m, net.add_constant<float>("b", {3}, bias)})[0];
  auto r = net.add_plugin("onnx::Relu", {a})[0];
  auto h = net.add_plugin("onnx::Cast", {r}, {{"to", int64_t{10}}})[0];  // FP16
  auto s = net.add_plugin("onnx::Softmax", {h}, {{"axis", int64_t{-1}}})[0];
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {s})[0], "y");
  return build_engine(net, {});
}

void write(fs::path const& path, std::vector<std::byte> const& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<char const*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
  std::printf("make_seeds: wrote %s (%zu bytes)\n", path.c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: qdp_fuzz_make_seeds ENGINE_DIR [ONNX_DIR]\n");
    return 2;
  }
  try {
    qdp_fuzz::register_plugins();
    fs::path out = argv[1];
    fs::create_directories(out);
    std::pair<char const*, Engine (*)()> const engines[] = {
        {"add", add_engine},           {"inplace_add", inplace_engine},
        {"non_zero", non_zero_engine}, {"circ_pad", circ_pad_engine},
        {"values", values_engine},     {"mixed", mixed_engine},
    };
    for (auto const& [name, make] : engines)
      write(out / (std::string(name) + ".qdp"), make().serialize());
    if (argc == 3) {
      std::vector<fs::path> models;
      for (auto const& entry : fs::directory_iterator(argv[2]))
        if (entry.path().extension() == ".onnx") models.push_back(entry.path());
      std::sort(models.begin(), models.end());
      for (auto const& model : models) {
        Network net = import_onnx(model.string());
        qdp_fuzz::set_small_profiles(net);
        write(out / (model.stem().string() + ".qdp"), build_engine(net, {}).serialize());
      }
    }
  } catch (std::exception const& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
