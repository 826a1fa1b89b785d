// What the architecture promises callers: typed errors with context said once, scratch memory
// for impls, candidates the impl cannot take dropped rather than fatal, device names with a GPU
// index, and definitions that stay valid while in use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <qdp/qdp.hpp>
#include <stdexcept>

#include "backends/backend.hpp"
#include "test_plugins.hpp"
#include "test_support.hpp"

namespace {

using namespace qdp;
using qdp_test::code_of;
using qdp_test::error_of;
using qdp_test::Unregister;
using test_plugins::CaptureLogger;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// ---- typed errors ------------------------------------------------------------------------------

TEST(Errors, EveryCodeHasAName) {
  EXPECT_EQ(name(ErrorCode::InvalidArgument), "invalid argument");
  EXPECT_EQ(name(ErrorCode::NotFound), "not found");
  EXPECT_EQ(name(ErrorCode::CorruptFile), "corrupt file");
  EXPECT_EQ(name(ErrorCode::VersionMismatch), "version mismatch");
  EXPECT_EQ(name(ErrorCode::Unsupported), "unsupported");
  EXPECT_EQ(name(ErrorCode::OutOfMemory), "out of memory");
  EXPECT_EQ(name(ErrorCode::RuntimeFailure), "runtime failure");
}

TEST(Errors, ContextIsAddedOnceAndNeverRepeated) {
  Error inner("it broke", ErrorCode::RuntimeFailure, {"", "", "impl"});
  Error outer = inner.with_context({"a::b", "layer0", "desc"});
  EXPECT_STREQ(outer.what(), "layer 'layer0' (plugin a::b): impl: it broke");
  EXPECT_EQ(outer.code(), ErrorCode::RuntimeFailure);
  EXPECT_EQ(outer.message(), "it broke");
  EXPECT_EQ(outer.context().phase, "impl");  // the inner phase is kept
  Error again = outer.with_context({"a::b", "layer0", "run"});
  EXPECT_STREQ(again.what(), outer.what());
}

TEST(Errors, WithErrorContextWrapsForeignExceptions) {
  EXPECT_THROW(with_error_context({}, [] { throw std::runtime_error("x"); }), Error);
  try {
    with_error_context({"p::q", "l", ""}, [] { throw std::runtime_error("user code failed"); });
  } catch (Error const& e) {
    EXPECT_EQ(e.code(), ErrorCode::RuntimeFailure);
    EXPECT_STREQ(e.what(), "layer 'l' (plugin p::q): user code failed");
  }
  EXPECT_EQ(code_of([] { with_error_context({}, [] { throw std::bad_alloc(); }); }),
            ErrorCode::OutOfMemory);
}

TEST(Errors, CodesFromEachLayer) {
  Network net;
  EXPECT_EQ(code_of([&] { net.add_plugin("test::never_defined", {}); }), ErrorCode::NotFound);
  EXPECT_EQ(code_of([] { Engine::deserialize(std::vector<std::byte>(100, std::byte{'Q'})); }),
            ErrorCode::CorruptFile);
  EXPECT_EQ(code_of([] { Engine::load("/nonexistent/model.engine"); }), ErrorCode::NotFound);
  EXPECT_EQ(code_of([] { DeviceBuffer(Device::CPU, size_t{1} << 63); }), ErrorCode::OutOfMemory);
  EXPECT_EQ(code_of([] { detail::backend(Device::CPU).compile_kernel("a::b", AotKernel{}); }),
            ErrorCode::Unsupported);
}

// ---- a user impl that throws ------------------------------------------------------------------

void define_thrower(std::string const& id, bool with_autotune) {
  auto def = define(id)
                 .desc([](TensorDesc const& x) { return x.like(); })
                 .impl<qdp::cpu, float, half>(
                     []<class T>(In<T>, Out<T>) { throw std::runtime_error("the impl gave up"); });
  if (with_autotune)
    (void)std::move(def)
        .autotune([](TensorDesc const&) {
          return std::vector{AutoTuneCombination("FP32|FP16, FP32|FP16")};
        })
        .commit();
  else
    (void)std::move(def).commit();
}

TEST(Errors, ImplThrowingAtRunTimeNamesLayerAndPlugin) {
  Unregister guard("test_arch::thrower");
  define_thrower("test_arch::thrower", false);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test_arch::thrower", {x})[0], "y");
  Runner runner(build_engine(net, {}));
  auto run = [&] { runner.infer({{"x", test_plugins::iota_array({4})}}); };
  EXPECT_EQ(error_of(run), "layer 'thrower_0' (plugin test_arch::thrower): the impl gave up");
  EXPECT_EQ(code_of(run), ErrorCode::RuntimeFailure);
}

TEST(Errors, ImplThrowingWhileTimedNamesItsLayer) {
  Unregister guard("test_arch::timed_thrower");
  define_thrower("test_arch::timed_thrower", true);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test_arch::timed_thrower", {x})[0], "y");
  EXPECT_EQ(error_of([&] { build_engine(net, {}); }),
            "layer 'timed_thrower_0' (plugin test_arch::timed_thrower): impl (while autotuning): "
            "the impl gave up");
}

// ---- candidates the impl cannot take ----------------------------------------------------------

TEST(Builder, CandidateOfATypeTheImplDoesNotListIsDropped) {
  Unregister guard("test_arch::fp32_only");
  (void)define("test_arch::fp32_only")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<qdp::cpu, float>([]<class T>(In<T> x, Out<T> y) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] + 1;
      })
      .autotune([](TensorDesc const&) {
        return std::vector{AutoTuneCombination("FP32|FP16, FP32|FP16")};
      })
      .commit();
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test_arch::fp32_only", {x})[0], "y");
  CaptureLogger log;
  BuildConfig config;
  config.logger = &log;
  Engine engine = build_engine(net, config);
  EXPECT_THAT(log.text(), AllOf(HasSubstr("dropping candidate types [FP16, FP16]"),
                                HasSubstr("the cpu impl cannot take it: with T = FP32: input 0 "
                                          "is FP16, the impl takes FP32")));
  EXPECT_EQ(engine.layers()[0].types[0], DataType::FP32);
  auto out = Runner(engine).infer({{"x", test_plugins::iota_array({4})}});
  EXPECT_EQ(out.at("y").data<float>()[0], 2.0f);
}

TEST(Frontend, GenericImplDispatchesOnEveryTensorsType) {
  Unregister guard("test_arch::mixed");
  // T is the input's type; the output is always INT32: an INT32 input must pick T = int32_t
  // even though the output alone would also fit T = float's signature ... and an FP16 output
  // with an FP32 input fits no T.
  (void)define("test_arch::mixed")
      .desc([](TensorDesc const& x) { return from_shape_expr(x.shape_expr, DataType::INT32); })
      .impl<qdp::cpu, float, int32_t>([]<class T>(In<T> x, Out<int32_t> y) {
        for (int64_t i = 0; i < x.numel(); ++i)
          y.data()[i] = static_cast<int32_t>(x.data()[i]) + (std::is_same_v<T, float> ? 100 : 200);
      })
      .commit();
  auto def = Registry::global().get("test_arch::mixed");
  BoundImpl bound = def->impl(Device::CPU)->bind({});
  int32_t xi = 5, yi = 0;
  Tensor in{&xi, DataType::INT32, TensorFormat::LINEAR, Device::CPU, Dims{1}, Dims{1}};
  Tensor out{&yi, DataType::INT32, TensorFormat::LINEAR, Device::CPU, Dims{1}, Dims{1}};
  std::vector<Tensor> ins{in}, outs{out};
  bound(ins, outs);
  EXPECT_EQ(yi, 205);
  std::vector<DataType> bad = {DataType::FP32, DataType::FP16};
  EXPECT_THAT(def->impl(Device::CPU)->check_types(bad), HasSubstr("output 0 is FP16"));
}

// ---- workspace
// -----------------------------------------------------------------------------------

struct ScratchSeen {
  size_t bytes = 0;
  bool inside_arena = false;
};
ScratchSeen seen;  // what the impl saw on its last call (tests run one at a time)

// y = 2x, computed in the workspace first: needs numel * 4 bytes of scratch.
void define_scratch() {
  (void)define("test_arch::scratch")
      .desc([](TensorDesc const& x) { return x.like(); })
      .workspace([](TensorDesc const& x) { return numel(x.shape_expr) * 4; })
      .impl<qdp::cpu>([](In<float> x, Out<float> y, Workspace ws) {
        seen.bytes = ws.bytes;
        if (ws.bytes < static_cast<size_t>(x.numel()) * 4) fail("workspace too small");
        float* tmp = ws.as<float>();
        for (int64_t i = 0; i < x.numel(); ++i) tmp[i] = 2 * x.data()[i];
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = tmp[i];
      })
      .commit();
}

TEST(Workspace, ImplGetsScratchSizedForTheRunShapeFromTheArena) {
  Unregister guard("test_arch::scratch");
  define_scratch();
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 4});
  net.set_profile("x", {1, 4}, {4, 4}, {16, 4});
  // Two layers so that the first's output lives in the arena beside the second's scratch.
  auto mid = net.add_plugin("test_arch::scratch", {x})[0];
  net.mark_output(net.add_plugin("test_arch::scratch", {mid})[0], "y");
  Engine engine = build_engine(net, {});
  // Arena: the intermediate (16 x 4 floats) and one workspace at a time (16 x 4 floats), each
  // 256-byte aligned; the two layers' workspaces share memory (their lifetimes do not overlap).
  EXPECT_EQ(engine.activation_bytes(), 512u);
  Runner runner(engine);
  for (int64_t rows : {int64_t{3}, int64_t{16}}) {
    auto out = runner.infer({{"x", test_plugins::iota_array({rows, 4})}});
    EXPECT_EQ(seen.bytes, static_cast<size_t>(rows * 4 * 4));
    for (int64_t i = 0; i < rows * 4; ++i)
      ASSERT_EQ(out.at("y").data<float>()[i], 4 * (1.0f + static_cast<float>(i % 97)));
  }
  // And it survives an engine file.
  Engine loaded = Engine::deserialize(engine.serialize());
  auto out = Runner(loaded).infer({{"x", test_plugins::iota_array({2, 4})}});
  EXPECT_EQ(out.at("y").data<float>()[1], 8.0f);
  EXPECT_EQ(seen.bytes, 32u);
}

TEST(Workspace, NegativeWorkspaceIsTheirMistake) {
  Unregister guard("test_arch::bad_scratch");
  (void)define("test_arch::bad_scratch")
      .desc([](TensorDesc const& x) { return x.like(); })
      .workspace([](TensorDesc const&) { return ShapeExpr(-8); })
      .impl<qdp::cpu>([](In<float>, Out<float>, Workspace) {})
      .commit();
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test_arch::bad_scratch", {x})[0], "y");
  EXPECT_THAT(error_of([&] { build_engine(net, {}); }),
              HasSubstr("the workspace of step 'bad_scratch_0' needs -8 elements"));
}

// ---- devices
// ---------------------------------------------------------------------------------------

TEST(Devices, SpecsParseAsTorchWritesThem) {
  EXPECT_EQ(parse_device_spec("cpu"), (DeviceSpec{Device::CPU, 0}));
  EXPECT_EQ(parse_device_spec("cuda"), (DeviceSpec{Device::CUDA, 0}));
  EXPECT_EQ(parse_device_spec("cuda:0"), (DeviceSpec{Device::CUDA, 0}));
  EXPECT_EQ(parse_device_spec("cuda:13"), (DeviceSpec{Device::CUDA, 13}));
  for (char const* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "cpu:1", "cuda:99999", " cuda"})
    EXPECT_EQ(parse_device_spec(bad), std::nullopt) << bad;
  EXPECT_EQ(to_string(DeviceSpec{Device::CUDA, 2}), "cuda:2");
  EXPECT_EQ(to_string(DeviceSpec{Device::CPU, 0}), "cpu");
}

TEST(Devices, AMissingGpuIsAClearError) {
  if (cuda_available()) {
    EXPECT_THAT(error_of([] { detail::backend(Device::CUDA, 4096); }),
                HasSubstr("there is no GPU cuda:4096"));
    EXPECT_EQ(code_of([] { detail::backend(Device::CUDA, 4096); }), ErrorCode::NotFound);
  } else {
    EXPECT_THAT(error_of([] { detail::backend(Device::CUDA, 1); }),
                HasSubstr("the CUDA backend is not available"));
    EXPECT_EQ(code_of([] { detail::backend(Device::CUDA, 1); }), ErrorCode::Unsupported);
  }
  EXPECT_THAT(error_of([] { detail::backend(Device::CUDA, -1); }), HasSubstr("negative"));
  BuildConfig config;
  config.device = Device::CUDA;
  config.gpu = 4096;
  Network net;
  EXPECT_THROW(build_engine(net, config), Error);
}

// ---- shared definitions -------------------------------------------------------------------------

TEST(Registry, DefinitionInUseSurvivesRemoval) {
  Unregister guard("test_arch::scratch");
  define_scratch();
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4});
  net.mark_output(net.add_plugin("test_arch::scratch", {x})[0], "y");
  Engine engine = build_engine(net, {});
  auto held = Registry::global().find("test_arch::scratch");
  ASSERT_TRUE(Registry::global().remove("test_arch::scratch"));
  EXPECT_EQ(held->id, "test_arch::scratch");  // still valid: shared
  auto out = Runner(engine).infer({{"x", test_plugins::iota_array({4})}});
  EXPECT_EQ(out.at("y").data<float>()[0], 2.0f);
}

}  // namespace

namespace {

// ---- no silent precision loss -------------------------------------------------------------------

void define_float_or_int() {
  (void)define("test_arch::float_or_int")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<qdp::cpu, float, int32_t>([]<class T>(In<T> x, Out<T> y) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i];
      })
      .autotune([](TensorDesc const&) {
        return std::vector{AutoTuneCombination("FP32|INT32, FP32|INT32")};
      })
      .commit();
}

// A plugin offering FP32|INT32 is never handed FP32 data converted to INT32 (values truncated),
// even if that candidate were faster; and an INT32 network stays INT32.
TEST(Builder, FloatDataIsNeverConvertedToIntegersBehindTheNetworksBack) {
  Unregister guard("test_arch::float_or_int");
  define_float_or_int();
  for (DataType type : {DataType::FP32, DataType::INT32}) {
    Network net;
    auto x = net.add_input("x", type, {8});
    net.mark_output(net.add_plugin("test_arch::float_or_int", {x})[0], "y");
    CaptureLogger log;
    BuildConfig config;
    config.logger = &log;
    Engine engine = build_engine(net, config);
    EXPECT_THAT(log.text(), HasSubstr("setting aside candidate"));
    for (auto const& layer : engine.layers()) {
      ASSERT_EQ(layer.kind, "plugin");  // no reformat: the network's type throughout
      EXPECT_EQ(layer.types[0], type);
    }
  }
  Network net;
  auto x = net.add_input("x", DataType::FP32, {3});
  net.mark_output(net.add_plugin("test_arch::float_or_int", {x})[0], "y");
  Array in = Array::from<float>(Dims{3}, {0.25f, 1.5f, -2.75f});
  auto out = Runner(build_engine(net, {})).infer({{"x", in}});
  EXPECT_EQ(out.at("y").data<float>()[2], -2.75f);  // not truncated to -2
}

// Where the plugin takes only another kind of type, the conversion the network demands is made,
// with a warning.
TEST(Builder, ConversionThePluginDemandsIsMadeWithAWarning) {
  Unregister guard("test_arch::int_only");
  (void)define("test_arch::int_only")
      .desc([](TensorDesc const& x) { return x.like(); })
      .impl<qdp::cpu, int32_t>([]<class T>(In<T> x, Out<T> y) {
        for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * 2;
      })
      .autotune([](TensorDesc const&) { return std::vector{AutoTuneCombination("INT32, INT32")}; })
      .commit();
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  net.mark_output(net.add_plugin("test_arch::int_only", {x})[0], "y");
  CaptureLogger log;
  BuildConfig config;
  config.logger = &log;
  Engine engine = build_engine(net, config);
  EXPECT_THAT(log.text(), HasSubstr("no candidate takes the network's types; converting"));
  auto out = Runner(engine).infer({{"x", Array::from<float>(Dims{2}, {3.0f, 4.0f})}});
  EXPECT_EQ(out.at("y").data<float>()[1], 8.0f);
}

}  // namespace

namespace {

// A count past int64 is an error, not a wrapped (negative or small) element count.
TEST(Dims, NumelOverflowIsAnError) {
  EXPECT_EQ((Dims{int64_t{1} << 31, int64_t{1} << 31}).numel(), int64_t{1} << 62);
  EXPECT_THAT(error_of([] {
                (void)Dims({int64_t{1} << 40, int64_t{1} << 40}).numel();
              }),
              HasSubstr("has more elements than a 64-bit count holds"));
}

}  // namespace
