// AOT kernels on the GPU: compiled with NVRTC at build time, baked into the engine, launched with
// run-time shapes; self-contained engines; and the errors of each step. Skipped without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <qdp/qdp.hpp>
#include <random>

#include "backends/backend.hpp"
#include "plugins/sample_plugins.hpp"
#include "samples/circ_pad_reference.hpp"
#include "test_support.hpp"

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace qdp;
using qdp_test::code_of;
using qdp_test::error_of;

namespace {

// y = x * 2 by an AOT kernel; `kernel` picks a correct one or one of the broken variants.
struct DoubleAttrs {
  std::string kernel = "good";
};
QDP_ATTRS(DoubleAttrs, kernel);

constexpr char kDoubleSource[] = R"(
extern "C" __global__ void twice(float const* x, int n, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = 2.0f * x[i];
}
extern "C" __global__ void twice_missing_n(float const* x, float* y) { y[threadIdx.x] = x[threadIdx.x]; }
extern "C" __global__ void twice_with_scratch(float const* x, int n, float* y, void* global_scratch,
                                              void* profile_scratch) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && !global_scratch && !profile_scratch) y[i] = 2.0f * x[i];
}
)";

void define_twice(std::string id) {
  qdp::define(std::move(id))
      .desc([](TensorDesc const& x, DoubleAttrs const&) { return x.like(); })
      .aot_impl([](TensorDesc const& x, DoubleAttrs const& a, Outputs) {
        AotKernel k;
        k.name = a.kernel == "wrong_arity" ? "twice_missing_n" : "twice";
        k.code = a.kernel == "syntax_error" ? std::string("extern \"C\" __global__ void twice( {")
                                            : kDoubleSource;
        k.grid = {cdiv(x.numel(), ShapeExpr(128)), 1, 1};
        k.block = {128, 1, 1};
        k.extra_args = {x.numel()};
        return k;
      })
      .commit();
}
bool const defined = (define_twice("test_aot::twice"), true);

class Aot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  }
};

Engine double_engine(std::string kernel, std::vector<int64_t> dims,
                     std::optional<Profile> profile = {}, std::string id = "test_aot::twice") {
  Network net;
  auto x = net.add_input("x", DataType::FP32, dims);
  if (profile) net.set_profile("x", profile->min, profile->opt, profile->max);
  net.mark_output(net.add_plugin(id, {x}, {{"kernel", kernel}})[0], "y");
  BuildConfig config;
  config.device = Device::CUDA;
  return build_engine(net, config);
}

Array random_array(Dims shape) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(-100, 100);
  Array a(DataType::FP32, shape);
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = static_cast<float>(dist(rng));
  return a;
}

TEST_F(Aot, KernelRunsAndFollowsDynamicShapes) {
  Engine engine = double_engine("good", {-1, 7}, Profile{{1, 7}, {64, 7}, {4096, 7}});
  auto layers = engine.layers();
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].implementation, "aot");
  Runner runner(engine);
  for (int64_t rows : {3, 4096, 1}) {  // the grid and the extra argument follow the shape
    Array x = random_array({rows, 7});
    auto out = runner.infer({{"x", x}});
    ASSERT_EQ(out.at("y").shape(), (Dims{rows, 7}));
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(out.at("y").data<float>()[i], 2 * x.data<float>()[i]);
  }
}

TEST_F(Aot, EngineRunsWithoutThePluginDefinition) {
  define_twice("test_aot::removable");
  std::vector<std::byte> bytes =
      double_engine("good", {1000}, {}, "test_aot::removable").serialize();
  // Take the definition away: the engine holds the kernel and needs nothing else.
  ASSERT_TRUE(Registry::global().remove("test_aot::removable"));
  Engine loaded = Engine::deserialize(bytes);
  Array x = random_array({1000});
  auto out = Runner(loaded).infer({{"x", x}});
  for (int64_t i = 0; i < x.numel(); ++i)
    ASSERT_EQ(out.at("y").data<float>()[i], 2 * x.data<float>()[i]);
}

TEST_F(Aot, CompileErrorShowsNvrtcLog) {
  std::string e = error_of([] { double_engine("syntax_error", {16}); });
  EXPECT_THAT(e, HasSubstr("plugin test_aot::twice: the AOT kernel 'twice' does not compile"));
  EXPECT_THAT(e, HasSubstr("error"));
}

TEST_F(Aot, ParameterCountMismatchIsNamed) {
  std::string e = error_of([] { double_engine("wrong_arity", {16}); });
  EXPECT_THAT(e, HasSubstr("AOT kernel 'twice_missing_n' takes 2 parameters, but qdp passes 3: 1 "
                           "input pointer(s), 1 "
                           "extra argument(s), 1 output pointer(s)"));
}

TEST_F(Aot, CubinForAnotherGpuWithoutPtxIsRefused) {
  AotKernel k;
  k.name = "twice";
  k.code = kDoubleSource;
  k.extra_args = {ShapeExpr(1)};
  detail::PlanKernel compiled = detail::backend(Device::CUDA).compile_kernel("test_aot::twice", k);
  EXPECT_FALSE(compiled.ptx.empty());
  EXPECT_NO_THROW(detail::backend(Device::CUDA).load_kernel(compiled, "ok", 1, 1));
  compiled.arch = 10;  // a GPU that does not exist
  compiled.ptx.clear();
  EXPECT_THAT(
      error_of([&] { detail::backend(Device::CUDA).load_kernel(compiled, "layer0", 1, 1); }),
      HasSubstr(
          "layer 'layer0': the engine's AOT kernel 'twice' was compiled for sm_10 and has no PTX"));
  // With PTX, another GPU's cubin is no obstacle: the driver compiles the PTX.
  detail::PlanKernel with_ptx = detail::backend(Device::CUDA).compile_kernel("test_aot::twice", k);
  with_ptx.arch = 10;
  EXPECT_NO_THROW(detail::backend(Device::CUDA).load_kernel(with_ptx, "ptx", 1, 1));
}

TEST_F(Aot, AddSampleAotMatchesJit) {
  if (!Registry::global().find("sample::elemwise_add_plugin"))
    samples::define_elemwise_add(true, true);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {10, 3, 32, 32});
  LayerOptions aot;
  aot.impl = ImplChoice::AOT;
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x}, {}, aot)[0], "y");
  BuildConfig config;
  config.device = Device::CUDA;
  config.strict_types = true;
  Array in = random_array({10, 3, 32, 32});
  auto out = Runner(build_engine(net, config)).infer({{"x", in}});
  for (int64_t i = 0; i < in.numel(); ++i)
    ASSERT_EQ(out.at("y").data<float>()[i], in.data<float>()[i] + 1);
}

// The circ_pad sample's AOT kernels (both block sizes) against the reference, FP32 and FP16.
// The staged kernel's cases: odd widths (rows that are not whole vectors), rows narrower than a
// vector, rows too wide to stage (the straight per-row path), no padding in the row, ranks 1-4.
TEST_F(Aot, CircPadAotKernelsMatchTheReference) {
  if (!Registry::global().find("sample::circ_pad_plugin")) samples::define_circ_pad(true);
  struct Case {
    Dims shape;
    std::vector<int32_t> pads;
  };
  std::vector<Case> cases = {
      {{3, 5, 33, 47}, {1, 2, 3, 0}},
      {{4, 16, 64, 256}, {1, 1, 1, 1}},
      {{2, 3, 31, 33}, {0, 2, 3, 1}},
      {{2, 3, 5, 6}, {0, 0, 2, 1}},
      {{1, 1, 3}, {1, 1}},
      {{2, 9000}, {3, 5, 1, 0}},
      {{1000, 2}, {1, 0}},
      {{7}, {7, 7}},
      {{2, 3, 255, 257}, {3, 1, 2, 2}},
      {{2, 2, 600}, {7, 5, 1, 1}},
  };
  for (DataType dtype : {DataType::FP32, DataType::FP16})
    for (Case const& c : cases) {
      Dims shape = c.shape;
      std::vector<int32_t> pads = c.pads;
      Network net;
      auto x = net.add_input("x", dtype, std::vector<int64_t>(shape.begin(), shape.end()));
      net.mark_output(net.add_plugin("sample::circ_pad_plugin", {x}, {{"pads", pads}},
                                     {.name = "", .impl = ImplChoice::AOT})[0],
                      "y");
      BuildConfig config;
      config.device = Device::CUDA;
      config.strict_types = true;
      Engine engine = build_engine(net, config);
      EXPECT_EQ(engine.layers()[0].implementation, "aot");
      Array in = circ_pad_test::iota(dtype, shape);
      Array want = circ_pad_test::reference(in, pads);
      auto out = Runner(engine).infer({{"x", in}});
      ASSERT_EQ(out.at("y").shape(), want.shape());
      EXPECT_EQ(std::memcmp(out.at("y").raw(), want.raw(), want.bytes()), 0)
          << name(dtype) << " " << to_string(shape) << " pads " << ::testing::PrintToString(pads);
    }
}

}  // namespace

namespace {

// An extra argument is an int32 parameter: a value past its range is refused, never wrapped.
TEST_F(Aot, ExtraArgumentsOutsideInt32AreRefused) {
  AotKernel k;
  k.name = "twice";
  k.code = kDoubleSource;
  k.grid = {1, 1, 1};
  k.block = {32, 1, 1};
  k.extra_args = {ShapeExpr::input_dim(0, 0) * ShapeExpr(int64_t{1} << 31)};
  auto& cuda = detail::backend(Device::CUDA);
  auto kernel = cuda.load_kernel(cuda.compile_kernel("test_aot::twice", k), "big", 1, 1);
  DeviceBuffer x(Device::CUDA, 64), y(Device::CUDA, 64);
  Tensor tx{x.data(), DataType::FP32, TensorFormat::LINEAR, Device::CUDA, {1}, {1}};
  Tensor ty{y.data(), DataType::FP32, TensorFormat::LINEAR, Device::CUDA, {1}, {1}};
  std::vector<Tensor> in{tx}, out{ty};
  std::vector<Dims> shapes{Dims{1}};
  ShapeEnv env{shapes, {}};
  EXPECT_THAT(error_of([&] { kernel->launch(in, out, env, {}); }),
              AllOf(HasSubstr("extra argument 0"), HasSubstr("is 2147483648, outside the int32")));
  EXPECT_EQ(code_of([&] { kernel->launch(in, out, env, {}); }), ErrorCode::InvalidArgument);
}

// Triton's PTX declares two scratch pointers after the outputs: accepted, and passed null.
TEST_F(Aot, TrailingScratchPointersAsTritonDeclaresThemAreNull) {
  AotKernel k;
  k.name = "twice_with_scratch";
  k.code = kDoubleSource;
  k.grid = {1, 1, 1};
  k.block = {32, 1, 1};
  k.extra_args = {ShapeExpr(4)};
  auto& cuda = detail::backend(Device::CUDA);
  auto kernel = cuda.load_kernel(cuda.compile_kernel("test_aot::scratch", k), "scratch", 1, 1);
  std::vector<float> host = {1, 2, 3, 4}, back(4, 0);
  DeviceBuffer x(Device::CUDA, 16), y(Device::CUDA, 16);
  x.copy_from_host(host.data(), 16);
  Tensor tx{x.data(), DataType::FP32, TensorFormat::LINEAR, Device::CUDA, {4}, {1}};
  Tensor ty{y.data(), DataType::FP32, TensorFormat::LINEAR, Device::CUDA, {4}, {1}};
  std::vector<Tensor> in{tx}, out{ty};
  kernel->launch(in, out, ShapeEnv{}, {});
  y.copy_to_host(back.data(), 16);
  EXPECT_EQ(back, (std::vector<float>{2, 4, 6, 8}));
}

// On the GPU both implementations are usable: without a choice the build says every way to make
// one; each choice then works.
TEST_F(Aot, BothImplementationsWithoutAChoiceNameEveryWay) {
  if (!Registry::global().find("sample::elemwise_add_plugin"))
    samples::define_elemwise_add(true, true);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4, 8});
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x})[0], "y");
  BuildConfig config;
  config.device = Device::CUDA;
  std::string e = error_of([&] { build_engine(net, config); });
  EXPECT_THAT(e, AllOf(HasSubstr("has both a JIT impl and an aot_impl: say which to use"),
                       HasSubstr("LayerOptions::impl"), HasSubstr("aot=0/1"),
                       HasSubstr("BuildConfig::preference"), HasSubstr("--preferAOT / --preferJIT"),
                       HasSubstr("PREFER_AOT_PYTHON_PLUGINS")));
  config.preference = ImplPreference::PreferAOT;
  EXPECT_EQ(build_engine(net, config).layers()[0].implementation, "aot");
  config.preference = ImplPreference::PreferJIT;
  EXPECT_EQ(build_engine(net, config).layers()[0].implementation, "jit");
}

// A context names its GPU; this machine's only GPU is cuda:0 (a second GPU would run the same
// engine there: its memory and launches go through backend(CUDA, 1)).
TEST_F(Aot, ContextsNameTheirGpu) {
  if (!Registry::global().find("sample::elemwise_add_plugin"))
    samples::define_elemwise_add(true, true);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4, 8});
  LayerOptions jit;
  jit.impl = ImplChoice::JIT;
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x}, {}, jit)[0], "y");
  BuildConfig config;
  config.device = Device::CUDA;
  config.gpu = 0;
  Engine engine = build_engine(net, config);
  EXPECT_NO_THROW(engine.create_execution_context(0));
  EXPECT_THAT(error_of([&] { engine.create_execution_context(4096); }),
              HasSubstr("there is no GPU cuda:4096"));
}

}  // namespace
