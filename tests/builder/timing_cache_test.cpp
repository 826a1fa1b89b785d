// Timing caches (qdp::TimingCache, BuildConfig::timing_cache) on the CPU backend: a second build
// with the cache times nothing and makes the first build's choices; caches of another device,
// qdp version or file format are ignored with a warning; corrupt bytes are errors.
#include "builder/timing_cache.hpp"

#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <qdp/plugin.hpp>
#include <qdp/qdp.hpp>
#include <qdp/version.hpp>

#include "backends/device_identity.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using ::testing::Not;
using namespace qdp;

namespace {

using qdp_test::code_of;
using qdp_test::error_of;

// Every run of tcache::work's impl, at build time (autotuning) or at inference.
std::atomic<int> g_runs{0};

struct WorkAttrs {
  float delta = 1.0f;
};
QDP_ATTRS(WorkAttrs, delta);

// y = x + delta, FP32 or FP16, each position LINEAR or HWC, tactic 1 or 2: 16 candidates.
QDP_PLUGIN(tcache_work, "tcache::work")
    .desc([](TensorDesc const& x, WorkAttrs const&) { return x.like(); })
    .impl<qdp::cpu, float, qdp::half>([]<class T>(In<T> x, Out<T> y, WorkAttrs const& a, Tactic t) {
      g_runs.fetch_add(1, std::memory_order_relaxed);
      int repeat = t == 2 ? 2 : 1;  // tactic 2 does the work twice: slower, same result
      for (int r = 0; r < repeat; ++r)
        for (int64_t i = 0; i < x.numel(); ++i)
          y.data()[i] = static_cast<T>(static_cast<float>(x.data()[i]) + a.delta);
    })
    .autotune([](TensorDesc const&, WorkAttrs const&) {
      return std::vector{AutoTuneCombination("FP32|FP16, FP32|FP16", "LINEAR*HWC", {1, 2})};
    });

// y = x + 1 with tactics 1 to 3, of which 2 and 3 do not apply (Unsupported, as a cuDNN
// algorithm a case does not offer); runs of each tactic are counted.
std::atomic<int> g_tactic_runs[4];
QDP_PLUGIN(tcache_partial, "tcache::partial")
    .desc([](TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](In<float> x, Out<float> y, Tactic t) {
      g_tactic_runs[std::clamp(t.value, 0, 3)].fetch_add(1, std::memory_order_relaxed);
      if (t == 2 || t == 3) fail(ErrorCode::Unsupported, "tactic {} does not apply here", t.value);
      for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] + 1.0f;
    })
    .autotune([](TensorDesc const&) {
      return std::vector{AutoTuneCombination("FP32", "LINEAR", {2, 1, 3})};
    });

// Every tactic of this one is unsupported.
QDP_PLUGIN(tcache_none, "tcache::none")
    .desc([](TensorDesc const& x) { return x.like(); })
    .impl<qdp::cpu>([](In<float>, Out<float>, Tactic t) {
      fail(ErrorCode::Unsupported, "tactic {} does not apply here", t.value);
    })
    .autotune([](TensorDesc const&) {
      return std::vector{AutoTuneCombination("FP32", "LINEAR", {1, 2})};
    });

Network one_layer(std::string const& plugin) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3});
  net.mark_output(net.add_plugin(plugin, {x})[0], "y");
  return net;
}

// Log lines with their severity.
class Log : public Logger {
 public:
  void log(Severity s, std::string_view m) override { lines.push_back({s, std::string(m)}); }
  std::string text(std::optional<Severity> only = std::nullopt) const {
    std::string t;
    for (auto const& [s, m] : lines)
      if (!only || s == *only) t += m + "\n";
    return t;
  }
  size_t count(std::string_view what) const {
    size_t n = 0;
    for (auto const& l : lines) n += l.second.find(what) != std::string::npos;
    return n;
  }
  std::vector<std::pair<Severity, std::string>> lines;
};

// x (2x8x6x6) -> work -> Relu -> work -> Add(x) -> work -> Sigmoid -> work -> y: tcache::work
// layers with different attributes between standard operators.
Network model(int64_t batch = 2) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {batch, 8, 6, 6});
  auto h = net.add_plugin("tcache::work", {x}, {{"delta", 1.0}})[0];
  h = net.add_plugin("onnx::Relu", {h})[0];
  h = net.add_plugin("tcache::work", {h}, {{"delta", 2.0}})[0];
  h = net.add_plugin("onnx::Add", {h, x})[0];
  h = net.add_plugin("tcache::work", {h}, {{"delta", 3.0}})[0];
  h = net.add_plugin("onnx::Sigmoid", {h})[0];
  h = net.add_plugin("tcache::work", {h}, {{"delta", 4.0}})[0];
  net.mark_output(h, "y");
  return net;
}

struct Built {
  Engine engine;
  int runs;  // impl runs while building
};

Built build(Network const& net, TimingCache* cache, Logger* log) {
  BuildConfig config;
  config.timing_cache = cache;
  config.logger = log;
  int before = g_runs.load();
  Engine engine = build_engine(net, config);
  return {std::move(engine), g_runs.load() - before};
}

// What the builder chose, layer by layer.
std::vector<std::string> choices(Engine const& engine) {
  std::vector<std::string> out;
  for (auto const& l : engine.layers()) {
    std::vector<std::string_view> types, formats;
    for (auto t : l.types) types.push_back(name(t));
    for (auto f : l.formats) formats.push_back(name(f));
    out.push_back(fmt::format("{} {} {} tactic {} autotune_ms {} types {} formats {}", l.name,
                              l.kind, l.implementation, l.tactic, l.autotune_ms,
                              fmt::join(types, ","), fmt::join(formats, ",")));
  }
  return out;
}

std::string our_device() {
  return detail::device_identity(Device::CPU);
}

TEST(TimingCache, SecondBuildTimesNothingAndChoosesTheSame) {
  Network net = model();
  TimingCache cache;
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.device(), "");
  Log first_log;
  Built first = build(net, &cache, &first_log);
  EXPECT_GT(first.runs, 0);
  EXPECT_GT(first_log.count("Executing layer"), 0u);
  // Four layers of 16 candidates each, and the reformats they were priced with.
  EXPECT_GE(cache.size(), 64u);
  EXPECT_THAT(cache.device(), HasSubstr("cpu: "));
  EXPECT_EQ(cache.version(), QDP_VERSION_STRING);
  EXPECT_THAT(first_log.text(Severity::Info),
              HasSubstr(fmt::format("0 timing(s) reused, {} measured and added", cache.size())));
  size_t held = cache.size();

  Log second_log;
  Built second = build(net, &cache, &second_log);
  EXPECT_EQ(second.runs, 0) << second_log.text();
  EXPECT_EQ(second_log.count("Executing layer"), 0u);
  EXPECT_THAT(second_log.text(), HasSubstr("from the timing cache"));
  EXPECT_THAT(second_log.text(Severity::Info), HasSubstr("0 measured and added"));
  EXPECT_EQ(second_log.text(Severity::Warning), "");
  EXPECT_EQ(cache.size(), held);
  EXPECT_EQ(choices(second.engine), choices(first.engine));

  // And the engine still computes y.
  Array xs(DataType::FP32, {2, 8, 6, 6});
  for (int64_t i = 0; i < xs.numel(); ++i) xs.data<float>()[i] = static_cast<float>(i % 5);
  auto a = Runner(first.engine).infer({{"x", xs}}).at("y");
  auto b = Runner(second.engine).infer({{"x", xs}}).at("y");
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a.data<float>()[i], b.data<float>()[i]);
}

TEST(TimingCache, SurvivesBytesAndFiles) {
  Network net = model();
  TimingCache cache;
  Built first = build(net, &cache, nullptr);
  std::vector<std::byte> bytes = cache.serialize();
  EXPECT_EQ(cache.serialize(), bytes);  // the same timings, the same bytes

  TimingCache from_bytes = TimingCache::deserialize(bytes, "bytes");
  EXPECT_EQ(from_bytes.size(), cache.size());
  EXPECT_EQ(from_bytes.device(), cache.device());
  Built again = build(net, &from_bytes, nullptr);
  EXPECT_EQ(again.runs, 0);
  EXPECT_EQ(choices(again.engine), choices(first.engine));

  auto path = std::filesystem::temp_directory_path() /
              ("qdp_timing_cache_test_" + std::to_string(::getpid()) + ".cache");
  cache.save(path.string());
  TimingCache from_file = TimingCache::load(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(from_file.serialize(), bytes);
  Built third = build(net, &from_file, nullptr);
  EXPECT_EQ(third.runs, 0);
  EXPECT_EQ(choices(third.engine), choices(first.engine));
  for (auto const& entry : std::filesystem::directory_iterator(path.parent_path()))
    EXPECT_THAT(entry.path().filename().string(),
                Not(HasSubstr(path.filename().string() + ".tmp")));
}

TEST(TimingCache, NewShapesAndAttributesAreTimedAndAdded) {
  TimingCache cache;
  build(model(2), &cache, nullptr);
  size_t held = cache.size();
  // Another batch: every layer is timed again (and the old timings stay).
  Built other = build(model(3), &cache, nullptr);
  EXPECT_GT(other.runs, 0);
  EXPECT_GT(cache.size(), held);
  // Both are cached now.
  EXPECT_EQ(build(model(2), &cache, nullptr).runs, 0);
  EXPECT_EQ(build(model(3), &cache, nullptr).runs, 0);

  // Another attribute value is another layer.
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 8, 6, 6});
  net.mark_output(net.add_plugin("tcache::work", {x}, {{"delta", 9.0}})[0], "y");
  EXPECT_GT(build(net, &cache, nullptr).runs, 0);
  EXPECT_EQ(build(net, &cache, nullptr).runs, 0);
}

TEST(TimingCache, IdenticalLayersOfOneBuildAreTimedOnce) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 8, 6, 6});
  auto h = net.add_plugin("tcache::work", {x}, {{"delta", 1.0}})[0];
  h = net.add_plugin("tcache::work", {h}, {{"delta", 1.0}})[0];
  net.mark_output(h, "y");
  TimingCache cache;
  Log log;
  build(net, &cache, &log);
  // The first layer's 16 candidates are timed; the second layer takes their timings.
  EXPECT_EQ(log.count("Executing layer"), 16u) << log.text();
  EXPECT_EQ(log.count("from the timing cache"), 16u) << log.text();
}

// A cache as another machine or qdp would have written it: this build's timings, relabelled.
TimingCache relabelled(TimingCache const& cache, std::string device, std::string version,
                       uint32_t format = detail::timing_cache_file::kFormatVersion) {
  detail::TimingCacheData data;
  data.device = std::move(device);
  data.version = std::move(version);
  data.entries = cache.data().entries;
  std::vector<std::byte> bytes = detail::write_timing_cache(data);
  if (format != detail::timing_cache_file::kFormatVersion) {
    for (int i = 0; i < 4; ++i)
      bytes[detail::timing_cache_file::kFormatVersionOffset + static_cast<size_t>(i)] =
          static_cast<std::byte>(format >> (8 * i));
    uint64_t sum = detail::timing_cache_checksum(bytes);
    for (int i = 0; i < 8; ++i)
      bytes[detail::timing_cache_file::kChecksumOffset + static_cast<size_t>(i)] =
          static_cast<std::byte>(sum >> (8 * i));
  }
  return TimingCache::deserialize(bytes, "relabelled");
}

TEST(TimingCache, ACacheOfAnotherDeviceIsIgnoredWithAWarning) {
  Network net = model();
  TimingCache ours;
  Built first = build(net, &ours, nullptr);
  std::string gpu = "cuda: NVIDIA H200, sm_90, 132 SMs, CUDA runtime 13.0, driver 13.0";
  TimingCache foreign = relabelled(ours, gpu, QDP_VERSION_STRING);
  EXPECT_EQ(foreign.device(), gpu);
  EXPECT_EQ(foreign.size(), ours.size());

  Log log;
  Built built = build(net, &foreign, &log);
  std::string warnings = log.text(Severity::Warning);
  EXPECT_THAT(warnings,
              HasSubstr(fmt::format("Timing cache: ignoring its {} timing(s)", ours.size())));
  EXPECT_THAT(warnings, HasSubstr("measured on '" + gpu + "'"));
  EXPECT_THAT(warnings, HasSubstr("this build runs on '" + our_device() + "'"));
  EXPECT_EQ(built.runs, first.runs);  // everything timed again
  // The cache now holds this device's timings, and the next build uses them. (Not necessarily as
  // many as `ours`: which reformats are priced follows the layouts chosen upstream, timed anew.)
  EXPECT_EQ(foreign.device(), our_device());
  EXPECT_GT(foreign.size(), 0u);
  Log next;
  EXPECT_EQ(build(net, &foreign, &next).runs, 0);
  EXPECT_EQ(next.text(Severity::Warning), "");
}

TEST(TimingCache, ACacheOfAnotherCpuOrThreadCountIsIgnored) {
  Network net = model();
  TimingCache ours;
  build(net, &ours, nullptr);
  TimingCache other = relabelled(ours, "cpu: Some Other Processor, 64 threads", QDP_VERSION_STRING);
  Log log;
  EXPECT_GT(build(net, &other, &log).runs, 0);
  EXPECT_THAT(log.text(Severity::Warning), HasSubstr("'cpu: Some Other Processor, 64 threads'"));
}

TEST(TimingCache, ACacheOfAnotherVersionIsIgnoredWithAWarning) {
  Network net = model();
  TimingCache ours;
  build(net, &ours, nullptr);
  TimingCache old = relabelled(ours, our_device(), "0.0.1");
  Log log;
  EXPECT_GT(build(net, &old, &log).runs, 0);
  EXPECT_THAT(log.text(Severity::Warning),
              HasSubstr(fmt::format("with qdp 0.0.1, and this build runs on '{}' with qdp {}",
                                    our_device(), QDP_VERSION_STRING)));
  EXPECT_EQ(old.version(), QDP_VERSION_STRING);
}

TEST(TimingCache, ACacheOfAnotherFileFormatIsIgnoredWithAWarning) {
  Network net = model();
  TimingCache ours;
  build(net, &ours, nullptr);
  TimingCache future = relabelled(ours, our_device(), QDP_VERSION_STRING, 99);
  EXPECT_EQ(future.size(), 0u);  // its timings cannot be read
  EXPECT_EQ(future.device(), our_device());
  Log log;
  EXPECT_GT(build(net, &future, &log).runs, 0);
  EXPECT_THAT(log.text(Severity::Warning), HasSubstr("in file format 99 (this qdp writes 1)"));
}

TEST(TimingCache, CorruptBytesAreErrors) {
  TimingCache cache;
  build(model(), &cache, nullptr);
  std::vector<std::byte> good = cache.serialize();

  std::vector<std::byte> text(good.size(), std::byte{'x'});
  EXPECT_THAT(error_of([&] { TimingCache::deserialize(text, "t.cache"); }),
              HasSubstr("cannot load timing cache 't.cache': it is not a qdp timing cache"));
  EXPECT_THAT(error_of([&] { TimingCache::deserialize({}, "t.cache"); }),
              HasSubstr("not a qdp timing cache"));

  auto truncated = std::span(good).first(good.size() - 5);
  EXPECT_THAT(error_of([&] { TimingCache::deserialize(truncated, "t.cache"); }),
              HasSubstr("truncated: the header announces"));
  auto header_only = std::span(good).first(12);
  EXPECT_THAT(error_of([&] { TimingCache::deserialize(header_only, "t.cache"); }),
              HasSubstr("truncated: 12 bytes"));

  std::vector<std::byte> flipped = good;
  flipped[flipped.size() - 3] ^= std::byte{0x40};
  EXPECT_THAT(error_of([&] { TimingCache::deserialize(flipped, "t.cache"); }),
              HasSubstr("corrupted: checksum mismatch"));

  // A payload whose checksum is right but whose counts lie: still an error, never a crash.
  detail::TimingCacheData data;
  data.device = "cpu";
  data.version = "v";
  data.entries["k"] = 1.0;
  std::vector<std::byte> lying = detail::write_timing_cache(data);
  // The count (after the two strings: 4 + 1 and 4 + 3 bytes) says a billion timings.
  size_t at = detail::timing_cache_file::kHeaderSize + 5 + 7;
  lying[at + 3] = std::byte{0x40};
  uint64_t sum = detail::timing_cache_checksum(lying);
  for (int i = 0; i < 8; ++i)
    lying[detail::timing_cache_file::kChecksumOffset + static_cast<size_t>(i)] =
        static_cast<std::byte>(sum >> (8 * i));
  EXPECT_THAT(error_of([&] { TimingCache::deserialize(lying, "t.cache"); }),
              HasSubstr("timings cannot fit"));

  EXPECT_EQ(code_of([] { TimingCache::load("/nonexistent/qdp.cache"); }), ErrorCode::NotFound);
  EXPECT_THAT(error_of([] { TimingCache::load("/nonexistent/qdp.cache"); }),
              HasSubstr("cannot load timing cache '/nonexistent/qdp.cache': cannot open it"));
  EXPECT_THAT(error_of([&] { cache.save("/nonexistent/dir/qdp.cache"); }),
              HasSubstr("cannot save timing cache to '/nonexistent/dir/qdp.cache'"));
}

TEST(TimingCache, CombineAndClear) {
  TimingCache a, b;
  build(model(2), &a, nullptr);
  build(model(3), &b, nullptr);
  size_t held = a.size();
  TimingCache c = a;  // a copy is independent
  c.combine(b);
  c.combine(a);                              // what both hold is held once
  EXPECT_EQ(c.size(), a.size() + b.size());  // the batches share no shape
  EXPECT_EQ(a.size(), held);
  EXPECT_EQ(build(model(3), &c, nullptr).runs, 0);
  EXPECT_EQ(build(model(2), &c, nullptr).runs, 0);
  TimingCache other = relabelled(a, "cpu: elsewhere, 1 thread", QDP_VERSION_STRING);
  EXPECT_THAT(error_of([&] { c.combine(other); }), HasSubstr("cannot combine timing caches"));
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.device(), "");
  EXPECT_GT(build(model(2), &c, nullptr).runs, 0);
}

TEST(TimingCache, WithoutACacheNothingChanges) {
  Log log;
  Built built = build(model(), nullptr, &log);
  EXPECT_GT(built.runs, 0);
  EXPECT_EQ(log.count("Timing cache"), 0u);
  EXPECT_EQ(log.count("from the timing cache"), 0u);
}

TEST(TimingCache, UnsupportedTacticsAreSkippedAndRememberedAsSuch) {
  Network net = one_layer("tcache::partial");
  TimingCache cache;
  Log log;
  for (auto& r : g_tactic_runs) r = 0;
  Built first = build(net, &cache, &log);
  EXPECT_EQ(first.engine.layers().at(0).tactic, 1);
  EXPECT_GT(g_tactic_runs[1].load(), 0);
  EXPECT_EQ(g_tactic_runs[2].load(), 1);  // tried once, then skipped
  EXPECT_EQ(g_tactic_runs[3].load(), 1);
  EXPECT_THAT(log.text(), HasSubstr("skipped, it does not apply here"));
  EXPECT_THAT(log.text(), HasSubstr("tactic 2 does not apply here"));
  EXPECT_EQ(cache.size(), 3u);  // the skipped ones too (+inf), so the next build does not try

  // The cache survives its bytes, +inf included; the second build runs no tactic.
  TimingCache copy = TimingCache::deserialize(cache.serialize(), "test");
  for (auto& r : g_tactic_runs) r = 0;
  Log second_log;
  Built second = build(net, &copy, &second_log);
  EXPECT_EQ(g_tactic_runs[1].load() + g_tactic_runs[2].load() + g_tactic_runs[3].load(), 0);
  EXPECT_THAT(second_log.text(), HasSubstr("the timing cache says so"));
  EXPECT_EQ(choices(second.engine), choices(first.engine));

  Array xs(DataType::FP32, {2, 3});
  for (int64_t i = 0; i < xs.numel(); ++i) xs.data<float>()[i] = static_cast<float>(i);
  auto y = Runner(second.engine).infer({{"x", xs}}).at("y");
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_EQ(y.data<float>()[i], static_cast<float>(i) + 1);
}

TEST(TimingCache, ALayerWithNoApplicableTacticIsAnError) {
  Network net = one_layer("tcache::none");
  EXPECT_EQ(code_of([&] { (void)build(net, nullptr, nullptr); }), ErrorCode::Unsupported);
  EXPECT_THAT(error_of([&] { (void)build(net, nullptr, nullptr); }),
              HasSubstr("none of its 2 candidates applies on this device (the last: "));
}

}  // namespace
