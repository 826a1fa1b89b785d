// What qdp promises of threads (README "Bad input and thread safety"), each promise exercised on
// four threads at once, and every result checked against a reference computed here:
//   - an Engine is shared between threads, each thread running execution contexts of its own on
//     the same engines: a sample plugin (circ_pad), standard operators (oneDNN's MatMul and Conv,
//     whose primitive caches the contexts of an engine share), a data-dependent plugin;
//   - Conv and MatMul run on a thread other than the one that first ran them (the regression test
//     of a crash this test found in oneDNN's per-thread scratchpad);
//   - builds of one Network share a TimingCache; builds run while another thread registers and
//     removes the plugin they use;
//   - one engine is serialized, deserialized, saved and loaded on several threads, and several
//     threads save engines to one path;
//   - plugin libraries load on two threads at once, and the standard operators load lazily under
//     the first builds that need them, on several threads;
//   - a ConsoleLogger is shared by builds, contexts and direct calls: every line comes out whole.
// scripts/tsan.sh runs this program under ThreadSanitizer (0 reports); the normal suite runs it
// too. QDP_STRESS_ROUNDS=N runs N rounds per thread instead of the default.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <latch>
#include <map>
#include <mutex>
#include <qdp/plugin_library.hpp>
#include <qdp/qdp.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "samples/circ_pad_reference.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;

namespace {

constexpr int kThreads = 4;

int rounds(int normal) {
  if (char const* s = std::getenv("QDP_STRESS_ROUNDS")) return std::max(1, std::atoi(s));
  return normal;
}

std::string beside_this_program(std::string const& file) {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / file).string();
}

// What went wrong on the worker threads, reported on the test's own thread after they joined.
class Problems {
 public:
  void add(std::string what) {  // empty: nothing went wrong
    if (what.empty()) return;
    std::lock_guard lock(mutex_);
    list_.push_back(std::move(what));
  }
  void report() const {
    for (auto const& p : list_) ADD_FAILURE() << p;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
};

// Runs body(thread index) on `n` threads that start together; an exception is a problem.
template <class F>
void on_threads(int n, Problems& problems, F const& body) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t)
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      try {
        body(t);
      } catch (std::exception const& e) {
        problems.add(fmt::format("thread {}: {}", t, e.what()));
      }
    });
  for (auto& th : threads) th.join();
}

// Differences beyond `tol` (relative to max(1, |want|)), described; empty when there are none.
std::string compare(std::span<const float> got, std::span<const float> want, float tol,
                    std::string_view what) {
  if (got.size() != want.size())
    return fmt::format("{}: {} elements, the reference has {}", what, got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tol * std::max(1.0f, std::fabs(want[i]))))
      return fmt::format("{}: element {} is {}, the reference {}", what, i, got[i], want[i]);
  return {};
}
std::span<const float> floats(Array const& a) {
  return {a.data<float>(), static_cast<size_t>(a.numel())};
}

Array random_input(Dims shape, std::mt19937& rng) {
  Array a(DataType::FP32, shape);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = dist(rng);
  return a;
}

std::vector<float> weights(size_t n, float scale, int seed) {
  std::vector<float> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = scale * std::sin(static_cast<float>(i * 7 + seed));
  return w;
}

BuildConfig quick_build(Logger* logger = nullptr, TimingCache* cache = nullptr) {
  BuildConfig config;
  config.strict_types = true;
  config.warmup_runs = 0;
  config.timed_runs = 1;
  config.logger = logger;
  config.timing_cache = cache;
  return config;
}

// The sample plugins and the test library, loaded once per process (the first test that needs
// them on several threads at once loads them itself).
void load_libraries() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!Registry::global().find("sample::circ_pad_plugin"))
      load_plugin_library(beside_this_program("libqdp_sample_plugins.so"));
  });
}

// ---- the engines and their references ----------------------------------------------------------

// A standard-operator MLP: y = relu(x W1 + b1) W2, x (batch 1..8) x 8, W1 8x16, W2 16x4.
struct Mlp {
  static constexpr int64_t kIn = 8, kHidden = 16, kOut = 4, kMaxBatch = 8;
  std::vector<float> w1 = weights(kIn * kHidden, 0.5f, 1), b1 = weights(kHidden, 0.1f, 2),
                     w2 = weights(kHidden * kOut, 0.5f, 3);

  Network network() const {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {-1, kIn});
    net.set_profile("x", {1, kIn}, {4, kIn}, {kMaxBatch, kIn});
    auto c1 = net.add_constant<float>("w1", {kIn, kHidden}, w1);
    auto cb = net.add_constant<float>("b1", {kHidden}, b1);
    auto c2 = net.add_constant<float>("w2", {kHidden, kOut}, w2);
    auto h = net.add_plugin("onnx::MatMul", {x, c1})[0];
    h = net.add_plugin("onnx::Add", {h, cb})[0];
    h = net.add_plugin("onnx::Relu", {h})[0];
    net.mark_output(net.add_plugin("onnx::MatMul", {h, c2})[0], "y");
    return net;
  }
  Engine build(Logger* logger = nullptr) const {
    return build_engine(network(), quick_build(logger));
  }
  std::vector<float> reference(Array const& x) const {
    int64_t n = x.shape()[0];
    std::vector<float> y(static_cast<size_t>(n * kOut));
    for (int64_t r = 0; r < n; ++r) {
      double h[kHidden];
      for (int64_t j = 0; j < kHidden; ++j) {
        double acc = b1[static_cast<size_t>(j)];
        for (int64_t k = 0; k < kIn; ++k)
          acc += double(x.data<float>()[r * kIn + k]) * w1[static_cast<size_t>(k * kHidden + j)];
        h[j] = std::max(acc, 0.0);
      }
      for (int64_t j = 0; j < kOut; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < kHidden; ++k) acc += h[k] * w2[static_cast<size_t>(k * kOut + j)];
        y[static_cast<size_t>(r * kOut + j)] = static_cast<float>(acc);
      }
    }
    return y;
  }
};

// A standard-operator Conv: x (batch 1..4) x 3 x 6 x 6, W 4x3x3x3, bias, pads 1: y n x 4 x 6 x 6.
struct Conv {
  static constexpr int64_t kC = 3, kM = 4, kH = 6, kMaxBatch = 4;
  std::vector<float> w = weights(kM * kC * 9, 0.4f, 4), b = weights(kM, 0.2f, 5);

  Engine build() const {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {-1, kC, kH, kH});
    net.set_profile("x", {1, kC, kH, kH}, {2, kC, kH, kH}, {kMaxBatch, kC, kH, kH});
    auto cw = net.add_constant<float>("w", {kM, kC, 3, 3}, w);
    auto cb = net.add_constant<float>("b", {kM}, b);
    net.mark_output(
        net.add_plugin("onnx::Conv", {x, cw, cb}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}})[0],
        "y");
    return build_engine(net, quick_build());
  }
  std::vector<float> reference(Array const& x) const {
    int64_t n = x.shape()[0];
    std::vector<float> y(static_cast<size_t>(n * kM * kH * kH));
    float const* xp = x.data<float>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t m = 0; m < kM; ++m)
        for (int64_t r = 0; r < kH; ++r)
          for (int64_t c = 0; c < kH; ++c) {
            double acc = b[static_cast<size_t>(m)];
            for (int64_t ch = 0; ch < kC; ++ch)
              for (int64_t dr = 0; dr < 3; ++dr)
                for (int64_t dc = 0; dc < 3; ++dc) {
                  int64_t rr = r + dr - 1, cc = c + dc - 1;
                  if (rr < 0 || rr >= kH || cc < 0 || cc >= kH) continue;
                  acc += double(xp[((i * kC + ch) * kH + rr) * kH + cc]) *
                         w[static_cast<size_t>(((m * kC + ch) * 3 + dr) * 3 + dc)];
                }
            y[static_cast<size_t>(((i * kM + m) * kH + r) * kH + c)] = static_cast<float>(acc);
          }
    return y;
  }
};

// The sample's circular padding (both tactics autotuned), x (batch 1..4) x 3 x 5 x 7.
struct Pad {
  static constexpr int64_t kMaxBatch = 4;
  circ_pad_test::Pads pads{1, 2, 0, 1};

  Network network() const {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {-1, 3, 5, 7});
    net.set_profile("x", {1, 3, 5, 7}, {2, 3, 5, 7}, {kMaxBatch, 3, 5, 7});
    net.mark_output(net.add_plugin("sample::circ_pad_plugin", {x}, {{"pads", pads}},
                                   {.name = "pad", .impl = ImplChoice::JIT})[0],
                    "y");
    return net;
  }
  Engine build() const { return build_engine(network(), quick_build()); }
  std::vector<float> reference(Array const& x) const {
    Array y = circ_pad_test::reference(x, pads);
    return {y.data<float>(), y.data<float>() + y.numel()};
  }
};

// Runs `engine` through `ctx` with the caller's buffers, as a TensorRT user would.
std::vector<float> run_direct(ExecutionContext& ctx, Array const& x, Dims out_shape) {
  ctx.set_input_shape("x", x.shape());
  ctx.set_tensor_address("x", const_cast<void*>(x.raw()));
  std::vector<float> y(static_cast<size_t>(out_shape.numel()), -12345.0f);
  ctx.set_tensor_address("y", y.data());
  ctx.enqueue();
  if (!(ctx.tensor_shape("y") == out_shape))
    fail("output shape {}, expected {}", to_string(ctx.tensor_shape("y")), to_string(out_shape));
  return y;
}

// A plain definition (no front end): y = x * 3 in FP32, for the registry churn.
PluginDefinition triple(std::string id) {
  PluginDefinition def;
  def.id = std::move(id);
  def.num_inputs = 1;
  def.num_outputs = 1;
  def.desc = [](std::span<const TensorDesc> in, Attrs const&) {
    return std::vector<TensorDesc>{in[0].like()};
  };
  PluginImpl impl;
  impl.bind = [](Attrs const&) -> BoundImpl {
    return [](std::span<const Tensor> in, std::span<Tensor> out, Stream, Tactic) {
      auto const* x = static_cast<float const*>(in[0].data);
      auto* y = static_cast<float*>(out[0].data);
      for (int64_t i = 0; i < in[0].numel(); ++i) y[i] = 3.0f * x[i];
    };
  };
  impl.check_types = [](std::span<const DataType> types) -> std::string {
    for (DataType t : types)
      if (t != DataType::FP32) return "FP32 only";
    return {};
  };
  def.impls.emplace(Device::CPU, std::move(impl));
  return def;
}

// ---- the tests --------------------------------------------------------------------------------

// First in this file, so that a run of the whole program loads the libraries here: the sample
// plugins and a test library on two threads at once, while two more threads build the first
// engines of standard operators (which load libqdp_ops on first use). Every engine runs correctly.
TEST(Concurrency, PluginLibrariesAndTheStandardOperatorsLoadOnSeveralThreadsAtOnce) {
  qdp_test::Unregister negate("test_lib::negate");
  bool samples_loaded = Registry::global().find("sample::circ_pad_plugin") != nullptr;
  Problems problems;
  Mlp mlp;
  on_threads(kThreads, problems, [&](int t) {
    std::mt19937 rng(static_cast<unsigned>(t));
    if (t == 0 && !samples_loaded) {
      auto ids = load_plugin_library(beside_this_program("libqdp_sample_plugins.so"));
      if (std::find(ids.begin(), ids.end(), "sample::circ_pad_plugin") == ids.end())
        problems.add("the sample library did not register sample::circ_pad_plugin");
    }
    if (t == 1) {
      auto ids = load_plugin_library(beside_this_program("libqdp_test_lib_good.so"));
      if (ids != std::vector<std::string>{"test_lib::negate"})
        problems.add(fmt::format("the test library registered {}", fmt::join(ids, ", ")));
    }
    Engine engine = mlp.build();
    Runner runner(engine);
    Array x = random_input({static_cast<int64_t>(t + 1), Mlp::kIn}, rng);
    auto y = runner.infer({{"x", x}}).at("y");
    problems.add(compare(floats(y), mlp.reference(x), 1e-4f, "MLP"));
  });
  problems.report();
  EXPECT_NE(Registry::global().find("sample::circ_pad_plugin"), nullptr);
  EXPECT_NE(Registry::global().find("test_lib::negate"), nullptr);
  EXPECT_NE(Registry::global().find("onnx::Conv"), nullptr);
}

// The heart of it: engines built once, each thread running contexts of its own on all of them,
// with shapes and data of its own, every output compared with the reference.
TEST(Concurrency, ContextsOfSharedEnginesRunOnFourThreads) {
  load_libraries();
  Mlp mlp;
  Conv conv;
  Pad pad;
  Engine mlp_engine = mlp.build();
  Engine conv_engine = conv.build();
  Engine pad_engine = pad.build();
  // A second engine from the first one's bytes: two engines of one plan, side by side.
  Engine mlp_copy = Engine::deserialize(mlp_engine.serialize(), "mlp copy");
  Network net;
  auto x = net.add_input("x", DataType::FP32, {10});
  auto outs = net.add_plugin("test::filter", {x}, {{"threshold", 0.25}});
  net.mark_output(outs[0], "values");
  net.mark_output(outs[1], "count");
  Engine filter_engine = build_engine(net, {});

  int const n = rounds(40);
  Problems problems;
  std::atomic<int> inferences = 0;
  on_threads(kThreads, problems, [&](int t) {
    std::mt19937 rng(static_cast<unsigned>(100 + t));
    auto mlp_ctx = mlp_engine.create_execution_context();
    auto mlp_ctx2 = mlp_copy.create_execution_context();
    auto conv_ctx = conv_engine.create_execution_context();
    Runner pad_runner(pad_engine);
    Runner filter_runner(filter_engine);
    if (t == 0) conv_ctx->set_profiling(true);
    auto check = [&](std::string const& why) {
      if (!why.empty()) problems.add(fmt::format("thread {}: {}", t, why));
      inferences.fetch_add(1, std::memory_order_relaxed);
    };
    for (int r = 0; r < n; ++r) {
      auto batch = [&](int64_t max) { return 1 + static_cast<int64_t>(rng() % max); };
      int64_t b = batch(Mlp::kMaxBatch);
      Array xm = random_input({b, Mlp::kIn}, rng);
      auto want = mlp.reference(xm);
      check(compare(run_direct(*mlp_ctx, xm, {b, Mlp::kOut}), want, 1e-4f, "MLP"));
      check(compare(run_direct(*mlp_ctx2, xm, {b, Mlp::kOut}), want, 1e-4f, "MLP copy"));

      b = batch(Conv::kMaxBatch);
      Array xc = random_input({b, Conv::kC, Conv::kH, Conv::kH}, rng);
      check(compare(run_direct(*conv_ctx, xc, {b, Conv::kM, Conv::kH, Conv::kH}),
                    conv.reference(xc), 1e-4f, "Conv"));

      b = batch(Pad::kMaxBatch);
      Array xp = random_input({b, 3, 5, 7}, rng);
      auto yp = pad_runner.infer({{"x", xp}}).at("y");
      check(compare(floats(yp), pad.reference(xp), 0.0f, "circ_pad"));

      Array xf = random_input({10}, rng);
      auto out = filter_runner.infer({{"x", xf}});
      std::vector<float> kept;
      for (int64_t i = 0; i < 10; ++i)
        if (xf.data<float>()[i] > 0.25f) kept.push_back(xf.data<float>()[i]);
      check(compare(floats(out.at("values")), kept, 0.0f, "filter values"));
      if (out.at("count").data<int64_t>()[0] != static_cast<int64_t>(kept.size()))
        check(fmt::format("filter count {}, expected {}", out.at("count").data<int64_t>()[0],
                          kept.size()));

      // Contexts come and go while the other threads run theirs.
      if (r % 4 == 3) mlp_ctx = mlp_engine.create_execution_context();
    }
    if (t == 0 && conv_ctx->layer_times_ms().size() != conv_engine.layers().size())
      problems.add("the profiled context has no time per layer");
  });
  problems.report();
  EXPECT_EQ(inferences.load(), kThreads * n * 5);
}

// The regression test of the crash the test above found: oneDNN's primitives (cached by the
// Conv and MatMul impls, per engine) used a scratchpad of the thread that created them, so a
// context run on another thread than the first one's crashed in oneDNN (SIGSEGV).
TEST(Concurrency, ConvAndMatMulRunOnAThreadOtherThanTheOneThatFirstRanThem) {
  load_libraries();
  Mlp mlp;
  Conv conv;
  Engine mlp_engine = mlp.build();
  Engine conv_engine = conv.build();
  std::mt19937 rng(7);
  Array xm = random_input({3, Mlp::kIn}, rng);
  Array xc = random_input({2, Conv::kC, Conv::kH, Conv::kH}, rng);
  auto mlp_ctx = mlp_engine.create_execution_context();
  auto conv_ctx = conv_engine.create_execution_context();
  EXPECT_EQ(compare(run_direct(*mlp_ctx, xm, {3, Mlp::kOut}), mlp.reference(xm), 1e-4f, "MLP"), "");
  EXPECT_EQ(compare(run_direct(*conv_ctx, xc, {2, Conv::kM, Conv::kH, Conv::kH}),
                    conv.reference(xc), 1e-4f, "Conv"),
            "");
  Problems problems;
  on_threads(1, problems, [&](int) {
    auto other = mlp_engine.create_execution_context();
    problems.add(compare(run_direct(*other, xm, {3, Mlp::kOut}), mlp.reference(xm), 1e-4f,
                         "MLP on another thread"));
    problems.add(compare(run_direct(*conv_ctx, xc, {2, Conv::kM, Conv::kH, Conv::kH}),
                         conv.reference(xc), 1e-4f, "Conv on another thread"));
  });
  problems.report();
}

// Builds of one Network on four threads at once, sharing one TimingCache: every engine is
// right, and the cache holds the timings they measured, once.
TEST(Concurrency, BuildsOfOneNetworkOnFourThreadsShareATimingCache) {
  load_libraries();
  Pad pad;  // circ_pad's two tactics are timed
  Network const net = pad.network();
  TimingCache cache;
  int const n = rounds(6);
  Problems problems;
  on_threads(kThreads, problems, [&](int t) {
    std::mt19937 rng(static_cast<unsigned>(400 + t));
    for (int r = 0; r < n; ++r) {
      Engine engine = build_engine(net, quick_build(nullptr, &cache));
      Array x = random_input({1 + static_cast<int64_t>(rng() % Pad::kMaxBatch), 3, 5, 7}, rng);
      auto y = Runner(engine).infer({{"x", x}}).at("y");
      problems.add(compare(floats(y), pad.reference(x), 0.0f, "an engine of the shared cache"));
    }
  });
  problems.report();
  EXPECT_EQ(cache.size(), 2u);  // the layer's two tactics
}

// Builds on three threads while a fourth registers and removes plugins, one of them the plugin
// the builds use. A build either succeeds, and its engine computes the right result (even after
// its plugin has left the registry), or fails saying the plugin is not defined: never a crash.
TEST(Concurrency, BuildsWhilePluginsAreRegisteredAndRemoved) {
  constexpr char kStable[] = "test_concurrency::triple";
  constexpr char kVolatile[] = "test_concurrency::volatile_triple";
  qdp_test::Unregister stable_guard(kStable), volatile_guard(kVolatile);
  std::deque<qdp_test::Unregister> churn_guards;
  for (int k = 0; k < 4; ++k)
    churn_guards.emplace_back(fmt::format("test_concurrency::churn{}", k));
  Registry::global().add(triple(kStable));
  Registry::global().add(triple(kVolatile));
  auto network = [&] {
    Network net;
    auto x = net.add_input("x", DataType::FP32, {5});
    auto h = net.add_plugin(kVolatile, {x})[0];
    net.mark_output(net.add_plugin(kStable, {h})[0], "y");
    return net;
  };
  std::vector<std::byte> bytes = build_engine(network(), quick_build()).serialize();
  Array x = Array::from<float>({5}, {1, -2, 3, -4, 5});
  std::vector<float> const want = {9, -18, 27, -36, 45};
  auto is_absence = [&](Error const& e) {
    return e.code() == ErrorCode::NotFound &&
           std::string_view(e.what()).find(fmt::format("{}", kVolatile)) != std::string::npos &&
           std::string_view(e.what()).find("not defined in this process") != std::string::npos;
  };

  int const n = rounds(150);
  Problems problems;
  std::atomic<int> builders_done = 0;
  std::mutex engines_mutex;
  std::vector<Engine> engines;
  std::atomic<int> built = 0, refused = 0, churns = 0;
  on_threads(kThreads, problems, [&](int t) {
    if (t == kThreads - 1) {  // the churn: until the builders are done, and at least n cycles
      for (int i = 0; i < n || builders_done.load() < kThreads - 1; ++i) {
        Registry::global().remove(kVolatile);
        std::string id = fmt::format("test_concurrency::churn{}", i % 4);
        Registry::global().add(triple(id));
        (void)Registry::global().ids();
        std::this_thread::sleep_for(std::chrono::microseconds(20));  // absent for a while
        Registry::global().add(triple(kVolatile));
        if (!Registry::global().find(id)) problems.add("a plugin just added is not found");
        Registry::global().remove(id);
        churns.fetch_add(1);
        // Present for a while; every eighth cycle long enough for whole builds to fit even on a
        // loaded machine (CI found every build refused when each window was 20 us).
        std::this_thread::sleep_for(std::chrono::microseconds(i % 8 == 7 ? 2000 : 20));
      }
      return;
    }
    for (int r = 0; r < n; ++r) {
      // Start while the plugin is registered (it may still go during the build): on a loaded
      // machine the churn's "absent" sleeps stretch, and refused attempts take no time, so
      // without this every round could be spent in one absence (CI saw 0 builds in 450).
      for (int spin = 0; spin < 100000 && !Registry::global().find(kVolatile); ++spin)
        std::this_thread::yield();
      try {
        Engine engine = build_engine(network(), quick_build());
        auto y = Runner(engine).infer({{"x", x}}).at("y");
        problems.add(compare(floats(y), want, 0.0f, "a build during the churn"));
        built.fetch_add(1);
        std::lock_guard lock(engines_mutex);
        engines.push_back(engine);
      } catch (Error const& e) {
        if (!is_absence(e)) problems.add(fmt::format("build: unexpected error: {}", e.what()));
        refused.fetch_add(1);
      }
      try {
        Engine loaded = Engine::deserialize(bytes, "churned.engine");
        auto y = Runner(loaded).infer({{"x", x}}).at("y");
        problems.add(compare(floats(y), want, 0.0f, "a load during the churn"));
      } catch (Error const& e) {
        if (!is_absence(e)) problems.add(fmt::format("load: unexpected error: {}", e.what()));
      }
    }
    builders_done.fetch_add(1);
  });
  problems.report();
  EXPECT_EQ(built + refused, (kThreads - 1) * n);
  EXPECT_GT(built.load(), 0);
  EXPECT_GE(churns.load(), n);
  std::printf(
      "[ INFO     ] %d builds, %d refused (their plugin was out of the registry), %d churns\n",
      built.load(), refused.load(), churns.load());
  // Every engine built during the churn keeps running once its plugin is gone.
  Registry::global().remove(kVolatile);
  for (Engine const& engine : engines) {
    auto y = Runner(engine).infer({{"x", x}}).at("y");
    EXPECT_EQ(compare(floats(y), want, 0.0f, "an engine whose plugin left"), "");
  }
  EXPECT_THAT(qdp_test::error_of([&] { Engine::deserialize(bytes, "churned.engine"); }),
              HasSubstr("runs plugin test_concurrency::volatile_triple, which is not defined"));
}

// One engine, serialized and deserialized on four threads at once (the same bytes every time),
// saved to a file of each thread's own and loaded back; every copy runs correctly.
TEST(Concurrency, AnEngineSerializesDeserializesSavesAndLoadsOnFourThreads) {
  load_libraries();
  Pad pad;
  Engine engine = pad.build();
  std::vector<std::byte> const bytes = engine.serialize();
  auto dir =
      std::filesystem::path(::testing::TempDir()) / fmt::format("qdp_concurrency_{}", ::getpid());
  std::filesystem::create_directories(dir);
  int const n = rounds(20);
  Problems problems;
  on_threads(kThreads, problems, [&](int t) {
    std::mt19937 rng(static_cast<unsigned>(200 + t));
    std::string path = (dir / fmt::format("thread{}.engine", t)).string();
    for (int r = 0; r < n; ++r) {
      if (engine.serialize() != bytes) problems.add("serialize() gave other bytes");
      Engine copy = r % 2 ? Engine::deserialize(bytes, "bytes") : [&] {
        engine.save(path);
        return Engine::load(path);
      }();
      Array x = random_input({1 + static_cast<int64_t>(rng() % Pad::kMaxBatch), 3, 5, 7}, rng);
      auto y = Runner(copy).infer({{"x", x}}).at("y");
      problems.add(compare(floats(y), pad.reference(x), 0.0f, "a copy"));
    }
  });
  problems.report();
  std::filesystem::remove_all(dir);
}

// Threads saving engines to one path at once: each save succeeds or fails with a message, and
// the file is always one whole engine, never a mix of two.
TEST(Concurrency, SavesToOnePathFromSeveralThreadsLeaveOneWholeEngine) {
  load_libraries();
  Pad pad;
  Mlp mlp;
  std::vector<Engine> engines = {pad.build(), mlp.build()};
  auto dir = std::filesystem::path(::testing::TempDir()) /
             fmt::format("qdp_concurrency_save_{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::string path = (dir / "shared.engine").string();
  int const n = rounds(20);
  Problems problems;
  on_threads(kThreads, problems, [&](int t) {
    for (int r = 0; r < n; ++r) {
      try {
        engines[static_cast<size_t>(t % 2)].save(path);
      } catch (Error const& e) {
        problems.add(fmt::format("save: {}", e.what()));
      }
    }
  });
  problems.report();
  // One whole engine, of either kind, and no temporary file left behind.
  Engine loaded = Engine::load(path);
  std::mt19937 rng(5);
  if (loaded.io("x").dims.size() == 4) {
    Array x = random_input({2, 3, 5, 7}, rng);
    EXPECT_EQ(compare(floats(Runner(loaded).infer({{"x", x}}).at("y")), pad.reference(x), 0.0f,
                      "the circ_pad engine saved last"),
              "");
  } else {
    Array x = random_input({2, Mlp::kIn}, rng);
    EXPECT_EQ(compare(floats(Runner(loaded).infer({{"x", x}}).at("y")), mlp.reference(x), 1e-4f,
                      "the MLP engine saved last"),
              "");
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

// One ConsoleLogger for everything: builds logging progress, contexts logging each step
// (Verbose), and plain calls, on four threads. Every line comes out whole, once, with its tag.
TEST(Concurrency, AConsoleLoggerSharedByFourThreadsKeepsEveryLineWhole) {
  load_libraries();
  ConsoleLogger logger(Severity::Verbose);
  Pad pad;
  Engine engine = pad.build();
  int const n = rounds(20);
  Problems problems;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  on_threads(kThreads, problems, [&](int t) {
    Mlp mlp;
    Engine built = mlp.build(&logger);  // "[I] Finished engine building in ..."
    auto ctx = engine.create_execution_context();
    ctx->set_logger(&logger);
    std::mt19937 rng(static_cast<unsigned>(300 + t));
    for (int r = 0; r < n; ++r) {
      logger.log(Severity::Info, fmt::format("thread {} line {}", t, r));
      logger.log(Severity::Warning, fmt::format("thread {} warning {}", t, r));
      Array x = random_input({2, 3, 5, 7}, rng);
      (void)run_direct(*ctx, x, {2, 3, 6, 10});
    }
  });
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  problems.report();
  std::map<std::string, int> seen;
  std::regex const line_re(R"(\[[EWIV]\] .*)");
  for (std::string const* text : {&out, &err}) {
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_TRUE(std::regex_match(line, line_re)) << "a torn line: '" << line << "'";
      ++seen[line];
    }
  }
  int finished = 0, steps = 0;
  for (auto const& [line, count] : seen) {
    if (line.starts_with("[I] Finished engine building in ")) finished += count;
    if (line.starts_with("[V] Executing layer 'pad' (sample::circ_pad_plugin)")) steps += count;
  }
  EXPECT_EQ(finished, kThreads);
  EXPECT_EQ(steps, kThreads * n);
  for (int t = 0; t < kThreads; ++t)
    for (int r = 0; r < n; ++r) {
      EXPECT_EQ(seen[fmt::format("[I] thread {} line {}", t, r)], 1);
      EXPECT_EQ(seen[fmt::format("[W] thread {} warning {}", t, r)], 1);
    }
}

}  // namespace
