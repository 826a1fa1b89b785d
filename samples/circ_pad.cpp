// The circ_pad sample (SPEC §3): circular padding through sample::circ_pad_plugin, with the network
// from the API (inetdef) or from an ONNX file the sample writes with ONNX's library; multiple
// tactics; saving the engine and loading it in a later run.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <qdp/onnx.hpp>
#include <random>

#include "plugins/sample_plugins.hpp"
#include "sample_common.hpp"

namespace qdp::samples {
namespace {

constexpr int64_t kShape[] = {10, 3, 32, 32};
const std::vector<int32_t> kPads = {1, 1, 1, 1};

// Writes a one-node model: x -> circ_pad_plugin(pads, plugin_namespace="sample", aot) -> y, with
// pads as a 1-D int32 TENSOR attribute, the way onnx-graphsurgeon writes a numpy array.
void write_onnx(std::string const& path, bool aot) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("qdp_runner");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(16);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("circ_pad");
  auto add_value = [](onnx::ValueInfoProto* v, char const* name, std::vector<int64_t> const& dims) {
    v->set_name(name);
    auto* tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tensor->mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  };
  add_value(graph->add_input(), "x", {kShape[0], kShape[1], kShape[2], kShape[3]});
  add_value(
      graph->add_output(), "y",
      {kShape[0], kShape[1], kShape[2] + kPads[2] + kPads[3], kShape[3] + kPads[0] + kPads[1]});
  onnx::NodeProto* node = graph->add_node();
  node->set_name(aot ? "circ_pad_plugin_aot" : "circ_pad_plugin");
  node->set_op_type("circ_pad_plugin");
  node->add_input("x");
  node->add_output("y");
  auto* pads = node->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::TENSOR);
  pads->mutable_t()->set_data_type(onnx::TensorProto::INT32);
  pads->mutable_t()->add_dims(static_cast<int64_t>(kPads.size()));
  for (int32_t p : kPads) pads->mutable_t()->add_int32_data(p);
  auto* ns = node->add_attribute();
  ns->set_name("plugin_namespace");
  ns->set_type(onnx::AttributeProto::STRING);
  ns->set_s("sample");
  auto* aot_attr = node->add_attribute();
  aot_attr->set_name("aot");
  aot_attr->set_type(onnx::AttributeProto::INT);
  aot_attr->set_i(aot ? 1 : 0);
  std::ofstream file(path, std::ios::binary);
  if (!file || !model.SerializeToOstream(&file)) fail("cannot write the ONNX model '{}'", path);
}

Network api_network(bool aot) {
  Network network;
  TensorRef x =
      network.add_input("x", DataType::FP32, {kShape[0], kShape[1], kShape[2], kShape[3]});
  LayerOptions layer;
  layer.impl = aot ? ImplChoice::AOT : ImplChoice::JIT;
  auto y = network.add_plugin("sample::circ_pad_plugin", {x}, {{"pads", kPads}}, layer);
  network.mark_output(y[0], "y");
  return network;
}

// numpy.pad(x, ((0,0),(0,0),(1,1),(1,1)), mode="wrap") for the sample's shape.
bool check(Array const& x, Array const& y) {
  int64_t n = kShape[0], c = kShape[1], h = kShape[2], w = kShape[3];
  int64_t ho = h + kPads[2] + kPads[3], wo = w + kPads[0] + kPads[1];
  if (!(y.shape() == Dims{n, c, ho, wo})) return false;
  float const* in = x.data<float>();
  float const* out = y.data<float>();
  for (int64_t img = 0; img < n * c; ++img)
    for (int64_t i = 0; i < ho; ++i)
      for (int64_t j = 0; j < wo; ++j) {
        int64_t si = ((i - kPads[2]) % h + h) % h, sj = ((j - kPads[0]) % w + w) % w;
        if (out[(img * ho + i) * wo + j] != in[(img * h + si) * w + sj]) return false;
      }
  return true;
}

}  // namespace

int run_circ_pad(CircPadOptions const& o) {
  ConsoleLogger logger(o.verbose ? Severity::Verbose : Severity::Warning);
  namespace fs = std::filesystem;
  if (o.save_engine && o.load_engine)
    return usage("--save_engine and --load_engine cannot be used together");
  if (!o.load_engine && o.mode.empty())
    return usage("--mode {onnx,inetdef} is required unless --load_engine is given");
  if ((o.mode == "onnx" || o.save_engine || o.load_engine) && o.artifacts_dir.empty())
    return usage(o.mode == "onnx"
                     ? "--mode onnx needs --artifacts_dir (the ONNX file is written there)"
                     : "--save_engine and --load_engine need --artifacts_dir");
  if (!o.artifacts_dir.empty() && !fs::is_directory(o.artifacts_dir))
    return usage("--artifacts_dir '" + o.artifacts_dir + "' does not exist or is not a folder");
  std::string engine_path = (fs::path(o.artifacts_dir) / "circ_pad.engine").string();

  define_circ_pad(o.multi_tactic && !o.load_engine);  // loading needs desc and impl, not autotune
  Engine engine = [&] {
    if (o.load_engine) {
      if (o.multi_tactic || o.aot || !o.mode.empty() || !o.device.empty())
        logger.log(Severity::Warning,
                   "--load_engine ignores --mode, --multi_tactic, --aot and --device");
      return Engine::load(engine_path);
    }
    Network network = [&] {
      if (o.mode == "inetdef") return api_network(o.aot);
      std::string onnx_path = (fs::path(o.artifacts_dir) / "circ_pad.onnx").string();
      write_onnx(onnx_path, o.aot);
      return import_onnx(onnx_path);
    }();
    BuildConfig config;
    config.device = pick_device(o);
    config.logger = &logger;
    config.strict_types = true;  // the sample's FP32 network stays FP32
    return build_engine(network, config);
  }();
  if (o.save_engine) {
    engine.save(engine_path);
    logger.log(Severity::Info, "Saved the engine to " + engine_path);
  }

  Array x(DataType::FP32, {kShape[0], kShape[1], kShape[2], kShape[3]});
  std::mt19937 rng(std::random_device{}());
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng);
  Runner runner(engine);
  runner.context().set_logger(&logger);
  auto outputs = runner.infer({{"x", x}});
  return verdict(check(x, outputs.at("y")));
}

}  // namespace qdp::samples
