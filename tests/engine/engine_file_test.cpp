// Engine files (SPEC §5): round trips through bytes and files, and every kind of bad file —
// truncated, corrupted, foreign, of another version, with a plugin this process lacks — gives
// a qdp::Error that says what is wrong, never a crash or a partial file.
#include "engine/engine_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/engine_impl.hpp"
#include "plugins/sample_plugins.hpp"
#include "test_networks.hpp"
#include "test_plugins.hpp"
#include "test_support.hpp"

using ::testing::HasSubstr;
using namespace qdp;
namespace ef = qdp::detail::engine_file;
namespace fs = std::filesystem;

namespace {

using qdp_test::code_of;
using qdp_test::error_of;

// Two independent subgraphs: a layout-changing plugin, an in-place one and an autotuned one
// on an image; a data-dependent one on a vector. Reformats are inserted around the HWC plugin.
Engine mixed_engine() {
  Network net;
  auto image = net.add_input("image", DataType::FP32, {1, 3, 4, 4});
  auto hwc = net.add_plugin("test::copy_any_format", {image})[0];
  auto shifted = net.add_plugin("test::add_inplace", {hwc}, {{"delta", 0.5}})[0];
  net.mark_output(net.add_plugin("test::scale", {shifted}, {{"factor", 3.0}})[0], "scaled");
  auto values = net.add_input("values", DataType::FP32, {10});
  auto kept = net.add_plugin("test::filter", {values}, {{"threshold", 4.5}});
  net.mark_output(kept[0], "kept");
  net.mark_output(kept[1], "count");
  return build_engine(net, {});
}

std::map<std::string, Array> mixed_inputs() {
  return {{"image", test_plugins::iota_array({1, 3, 4, 4})},
          {"values", Array::from<float>({10}, {1, 9, 2, 8, 3, 7, 4, 6, 5, 0})}};
}

using test_plugins::dynamic_scale_engine;

void expect_same_outputs(std::map<std::string, Array> const& a,
                         std::map<std::string, Array> const& b) {
  ASSERT_EQ(a.size(), b.size());
  for (auto const& [name, array] : a) {
    SCOPED_TRACE(name);
    Array const& other = b.at(name);
    ASSERT_EQ(array.dtype(), other.dtype());
    ASSERT_EQ(array.shape(), other.shape());
    EXPECT_EQ(std::memcmp(array.raw(), other.raw(), array.bytes()), 0);
  }
}

void expect_same_io(Engine const& a, Engine const& b) {
  ASSERT_EQ(a.io().size(), b.io().size());
  for (size_t i = 0; i < a.io().size(); ++i) {
    IOInfo const &x = a.io()[i], &y = b.io()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.dtype, y.dtype);
    EXPECT_EQ(x.format, y.format);
    EXPECT_EQ(x.dims, y.dims);
    EXPECT_EQ(x.is_input, y.is_input);
    EXPECT_EQ(x.max_bytes, y.max_bytes);
    ASSERT_EQ(x.profile.has_value(), y.profile.has_value());
    if (x.profile) {
      EXPECT_EQ(x.profile->min, y.profile->min);
      EXPECT_EQ(x.profile->opt, y.profile->opt);
      EXPECT_EQ(x.profile->max, y.profile->max);
    }
  }
}

void expect_same_layers(Engine const& a, Engine const& b) {
  auto x = a.layers(), y = b.layers();
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].name, y[i].name);
    EXPECT_EQ(x[i].kind, y[i].kind);
    EXPECT_EQ(x[i].plugin_id, y[i].plugin_id);
    EXPECT_EQ(x[i].implementation, y[i].implementation);
    EXPECT_EQ(x[i].types, y[i].types);
    EXPECT_EQ(x[i].formats, y[i].formats);
    EXPECT_EQ(x[i].tactic, y[i].tactic);
    EXPECT_EQ(x[i].autotune_ms, y[i].autotune_ms);
  }
}

void put_u32(std::vector<std::byte>& file, size_t offset, uint32_t value) {
  for (size_t i = 0; i < 4; ++i) file[offset + i] = std::byte((value >> (8 * i)) & 0xff);
}

// What a deliberate edit of a file looks like: the checksum matches again.
void reseal(std::vector<std::byte>& file) {
  uint64_t sum = ef::checksum_of(file);
  for (size_t i = 0; i < 8; ++i) file[ef::kChecksumOffset + i] = std::byte((sum >> (8 * i)) & 0xff);
}

std::vector<std::byte> bytes_of(std::string_view text) {
  auto const* p = reinterpret_cast<std::byte const*>(text.data());
  return {p, p + text.size()};
}

// The error that loading `plan`, written with a right checksum, gives (it must be CorruptFile).
std::string load_error(detail::EnginePlan const& plan) {
  std::vector<std::byte> file = ef::write_plan(plan);
  EXPECT_EQ(code_of([&] { Engine::deserialize(file); }), ErrorCode::CorruptFile);
  return error_of([&] { Engine::deserialize(file); });
}

detail::PlanStep& step_of(detail::EnginePlan& plan, std::string_view plugin_id) {
  for (auto& step : plan.steps)
    if (step.plugin_id == plugin_id) return step;
  ADD_FAILURE() << "no step runs " << plugin_id;
  return plan.steps.front();
}

detail::PlanTensor& output_tensor(detail::EnginePlan& plan, std::string_view name) {
  for (size_t i = 0; i < plan.io.size(); ++i)
    if (plan.io[i].name == name) return plan.tensors[static_cast<size_t>(plan.io_tensor[i])];
  ADD_FAILURE() << "no output " << name;
  return plan.tensors.front();
}

IOInfo& io_of(detail::EnginePlan& plan, std::string_view name) {
  for (auto& io : plan.io)
    if (io.name == name) return io;
  ADD_FAILURE() << "no input or output " << name;
  return plan.io.front();
}

BuildConfig strict() {
  BuildConfig config;
  config.strict_types = true;
  return config;
}

// A fresh directory per test, removed afterwards.
class EngineFileOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    auto const* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("qdp_engine_file_test_{}_{}", ::getpid(), test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> files_in(fs::path const& dir) const {
    std::vector<std::string> names;
    for (auto const& entry : fs::directory_iterator(dir))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

// --- Round trips ------------------------------------------------------------------------------

TEST(EngineFile, RoundTripRunsLikeTheOriginal) {
  Engine original = mixed_engine();
  std::vector<std::byte> bytes = original.serialize();
  Engine loaded = Engine::deserialize(bytes);

  expect_same_io(original, loaded);
  expect_same_layers(original, loaded);
  EXPECT_EQ(loaded.device(), Device::CPU);
  EXPECT_EQ(loaded.activation_bytes(), original.activation_bytes());
  EXPECT_EQ(loaded.build_seconds(), original.build_seconds());
  // Writing is deterministic, so a second round trip gives the same bytes.
  EXPECT_EQ(loaded.serialize(), bytes);

  auto expected = Runner(original).infer(mixed_inputs());
  auto actual = Runner(loaded).infer(mixed_inputs());
  expect_same_outputs(expected, actual);
  EXPECT_EQ(actual.at("count").data<int64_t>()[0], 5);
  EXPECT_EQ(actual.at("kept").shape(), (Dims{5}));
}

TEST(EngineFile, DynamicShapeEngineKeepsItsProfile) {
  Engine original = dynamic_scale_engine();
  Engine loaded = Engine::deserialize(original.serialize());
  expect_same_io(original, loaded);
  ASSERT_TRUE(loaded.io("x").profile.has_value());
  EXPECT_EQ(loaded.io("x").profile->max, (Dims{16, 4}));

  Runner before(original), after(loaded);
  for (int64_t rows : {1, 7, 16}) {
    SCOPED_TRACE(rows);
    auto x = test_plugins::iota_array({rows, 4});
    expect_same_outputs(before.infer({{"x", x}}), after.infer({{"x", x}}));
  }
  auto ctx = loaded.create_execution_context();
  EXPECT_THAT(error_of([&] {
                ctx->set_input_shape("x", {17, 4});
              }),
              HasSubstr("outside its profile: dimension 0 must be within [1, 16]"));
}

// The plan level: every attribute type and an AOT kernel survive a round trip, even though
// no test plugin stores them.
bool same_value(AttrValue const& a, AttrValue const& b) {
  if (type_of(a) != type_of(b)) return false;
  return std::visit(
      [&](auto const& x) {
        using T = std::decay_t<decltype(x)>;
        auto const& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, std::vector<half>>)
          return std::equal(x.begin(), x.end(), y.begin(), y.end(),
                            [](half p, half q) { return p.bits == q.bits; });
        else
          return x == y;
      },
      a);
}

TEST(EngineFile, EveryAttributeTypeAndKernelFieldRoundTrips) {
  detail::EnginePlan plan = mixed_engine().impl().plan;
  Attrs attrs{{"i32", int32_t{-7}},
              {"i64", int64_t{1} << 40},
              {"f32", 1.5f},
              {"f64", 2.25},
              {"flag", true},
              {"text", std::string("a\0b", 3)},
              {"blob", Bytes{{std::byte{0}, std::byte{255}}}},
              {"i8s", std::vector<int8_t>{-1, 2}},
              {"i16s", std::vector<int16_t>{-300, 300}},
              {"i32s", std::vector<int32_t>{1, 2, 3}},
              {"i64s", std::vector<int64_t>{-(int64_t{1} << 50)}},
              {"f16s", std::vector<half>{half(0.5f), half(-2.0f)}},
              {"f32s", std::vector<float>{0.25f}},
              {"f64s", std::vector<double>{1e300}},
              {"bools", std::vector<bool>{true, false, true}},
              {"empty", std::vector<float>{}}};
  ASSERT_EQ(attrs.size(), std::variant_size_v<AttrValue> + 1);
  plan.steps[0].attrs = attrs;
  detail::PlanKernel kernel;
  kernel.name = "k";
  kernel.ptx = ".version 8.0";
  kernel.cubin = std::string(
      "\x7f"
      "ELF\0\1\2",
      7);
  kernel.arch = 90;
  kernel.grid = {cdiv(ShapeExpr::input_dim(0, 2), 16), 1, 2};
  kernel.block = {128, 1, 1};
  kernel.shared_memory = ShapeExpr::input_dim(0, 3) * 4;
  kernel.extra_args = {ShapeExpr::input_dim(1, 0)};
  plan.steps[0].kernel = kernel;

  std::vector<std::byte> file = ef::write_plan(plan);
  EXPECT_EQ(std::to_integer<int>(file[ef::kGpuArchOffset]), 90);
  detail::EnginePlan back = ef::read_plan(file, "test");
  ASSERT_EQ(back.steps[0].attrs.size(), attrs.size());
  for (auto const& [name, value] : attrs)
    EXPECT_TRUE(same_value(back.steps[0].attrs.at(name), value)) << name;
  ASSERT_TRUE(back.steps[0].kernel.has_value());
  detail::PlanKernel const& k = *back.steps[0].kernel;
  EXPECT_EQ(k.name, kernel.name);
  EXPECT_EQ(k.ptx, kernel.ptx);
  EXPECT_EQ(k.cubin, kernel.cubin);
  EXPECT_EQ(k.arch, 90);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(k.grid[i], kernel.grid[i]);
    EXPECT_EQ(k.block[i], kernel.block[i]);
  }
  EXPECT_EQ(k.shared_memory, kernel.shared_memory);
  EXPECT_EQ(k.extra_args, kernel.extra_args);
  EXPECT_FALSE(back.steps[1].kernel.has_value());
}

// --- Files --------------------------------------------------------------------------------------

TEST_F(EngineFileOnDisk, SaveAndLoadLeaveOnlyTheEngineFile) {
  std::string path = (dir_ / "mixed.qdp").string();
  Engine original = mixed_engine();
  original.save(path);
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{"mixed.qdp"});
  original.save(path);  // over an existing file
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{"mixed.qdp"});
  EXPECT_EQ(fs::file_size(path), original.serialize().size());

  Engine loaded = Engine::load(path);
  expect_same_outputs(Runner(original).infer(mixed_inputs()), Runner(loaded).infer(mixed_inputs()));
}

TEST_F(EngineFileOnDisk, SaveIntoAMissingDirectoryLeavesNothing) {
  std::string path = (dir_ / "no_such_dir" / "e.qdp").string();
  std::string message = error_of([&] { mixed_engine().save(path); });
  EXPECT_THAT(message, HasSubstr("cannot save the engine to '" + path + "'"));
  EXPECT_THAT(message, HasSubstr("cannot create the temporary file"));
  EXPECT_THAT(message, HasSubstr("No such file or directory"));
  EXPECT_THAT(message, HasSubstr("No such file or directory; check that the directory exists and "
                                 "is writable; nothing was written to"));
  EXPECT_TRUE(files_in(dir_).empty());
}

TEST_F(EngineFileOnDisk, SaveOverADirectoryRemovesTheTemporaryFile) {
  fs::create_directory(dir_ / "taken");
  std::string path = (dir_ / "taken").string();
  std::string message = error_of([&] { mixed_engine().save(path); });
  EXPECT_THAT(message, HasSubstr("cannot save the engine to '" + path + "': renaming"));
  EXPECT_THAT(message, HasSubstr("Is a directory"));
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{"taken"});
}

TEST_F(EngineFileOnDisk, LoadingAMissingFileOrADirectoryFails) {
  std::string missing = (dir_ / "missing.qdp").string();
  EXPECT_THAT(
      error_of([&] { Engine::load(missing); }),
      HasSubstr("cannot load engine '" + missing + "': cannot open it: No such file or directory"));
  EXPECT_THAT(error_of([&] { Engine::load(dir_.string()); }),
              HasSubstr("it is a directory, not an engine file"));
}

TEST_F(EngineFileOnDisk, ForeignFileOnDiskNamesThePath) {
  std::string path = (dir_ / "model.onnx").string();
  std::ofstream(path) << "not an engine at all\n";
  std::string message = error_of([&] { Engine::load(path); });
  EXPECT_THAT(message, HasSubstr("cannot load engine '" + path + "': not a qdp engine file"));
  EXPECT_THAT(message, HasSubstr("qdpexec --saveEngine"));
}

// --- Bad bytes ------------------------------------------------------------------------------

TEST(EngineFile, EveryTruncationIsAnError) {
  std::vector<std::byte> file = dynamic_scale_engine().serialize();
  for (size_t n = 0; n < file.size(); ++n) {
    std::string message = error_of([&] { Engine::deserialize(std::span(file).first(n)); });
    std::string expected = n == 0                ? "the file is empty"
                           : n < ef::kHeaderSize ? "less than the 56-byte header"
                                                 : "the file is truncated: it ends at byte offset";
    EXPECT_THAT(message, HasSubstr(expected)) << "prefix of " << n << " bytes";
    if (::testing::Test::HasFailure()) break;
  }
  std::string message =
      error_of([&] { Engine::deserialize(std::span(file).first(file.size() - 1)); });
  EXPECT_THAT(message, HasSubstr(fmt::format("it ends at byte offset {}", file.size() - 1)));
  EXPECT_THAT(message, HasSubstr(fmt::format("(expected size {} bytes)", file.size())));
}

TEST(EngineFile, TrailingDataIsAnError) {
  std::vector<std::byte> file = dynamic_scale_engine().serialize();
  size_t size = file.size();
  file.resize(size + 3);
  EXPECT_THAT(error_of([&] { Engine::deserialize(file); }),
              HasSubstr(fmt::format("unexpected trailing data (3 bytes) after byte offset {}, "
                                    "where the engine ends (expected size {} bytes)",
                                    size, size)));
}

// Each bit of the file flipped in turn: the field it lands in decides the error.
TEST(EngineFile, EveryFlippedBitIsCaught) {
  std::vector<std::byte> const file = dynamic_scale_engine().serialize();
  auto expected_error = [](size_t offset) -> std::string {
    if (offset < ef::kFormatVersionOffset) return "not a qdp engine file";
    if (offset < ef::kLibraryVersionOffset) return "engine format version is";
    if (offset < ef::kDeviceOffset) return "it was built by qdp";
    if (offset >= ef::kPayloadSizeOffset && offset < ef::kChecksumOffset) return "the file ";
    return "corrupted: checksum mismatch";  // device, architecture, reserved, checksum, payload
  };
  for (size_t bit = 0; bit < file.size() * 8; ++bit) {
    std::vector<std::byte> bad = file;
    bad[bit / 8] ^= std::byte(1 << (bit % 8));
    std::string message = error_of([&] { Engine::deserialize(bad); });
    EXPECT_THAT(message, HasSubstr(expected_error(bit / 8))) << "bit " << bit;
    if (::testing::Test::HasFailure()) break;
  }
}

// Deliberate edits that keep the checksum right: the FlatBuffers verifier and the plan checks
// stand between them and the runtime. Each edit either loads, or fails with a qdp::Error. (A plan
// can still lie about what a plugin computes, say by feeding it another input: that is beyond
// what loading can check, so the loaded engines are not run.)
// An engine that lacks a required attribute its impl uses is refused before the impl is bound
// (the attribute removed from the plan and the file written again, so its checksum is right).
TEST(EngineFile, MissingAttributeTheImplUsesIsRefused) {
  qdp_test::Unregister guard("test_file::required");
  PluginDefinition def;
  def.id = "test_file::required";
  def.num_inputs = 1;
  def.num_outputs = 1;
  def.attrs = {{"k", AttrType::INT32, std::nullopt}};  // required: no default
  def.desc = [](std::span<const TensorDesc> in, Attrs const&) {
    return std::vector<TensorDesc>{in[0].like()};
  };
  PluginImpl impl;
  impl.attrs_used = {"k"};
  impl.bind = [](Attrs const& a) -> BoundImpl {
    int32_t k = std::get<int32_t>(a.at("k"));
    return [k](std::span<const Tensor>, std::span<Tensor>, Stream, Tactic) { (void)k; };
  };
  def.impls.emplace(Device::CPU, std::move(impl));
  Registry::global().add(std::move(def));
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2});
  net.mark_output(net.add_plugin("test_file::required", {x}, {{"k", int32_t{3}}})[0], "y");
  detail::EnginePlan plan = ef::read_plan(build_engine(net, {}).serialize(), "<memory>");
  ASSERT_TRUE(plan.steps[0].attrs.erase("k"));
  std::vector<std::byte> edited = ef::write_plan(plan);
  EXPECT_THAT(error_of([&] { Engine::deserialize(edited); }),
              HasSubstr("the engine lacks attribute 'k', which the impl uses"));
  EXPECT_EQ(code_of([&] { Engine::deserialize(edited); }), ErrorCode::CorruptFile);
}

TEST(EngineFile, ResealedEditsLoadOrFailCleanly) {
  std::vector<std::byte> const file = mixed_engine().serialize();
  int loaded = 0, rejected = 0;
  for (size_t offset = ef::kHeaderSize; offset < file.size(); ++offset)
    for (int pattern : {0x01, 0x80, 0xff}) {
      std::vector<std::byte> edited = file;
      edited[offset] ^= std::byte(pattern);
      reseal(edited);
      try {
        Engine::deserialize(edited).create_execution_context();
        ++loaded;
      } catch (Error const& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot load engine '<memory>': "));
        ++rejected;
      }
    }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(rejected, 0);
}

// The same with the standard operators' parts of a plan: constants, shape inputs evaluated on
// the host, a Values step. Every edited byte either loads and runs or is a clean qdp::Error.
TEST(EngineFile, ResealedEditsOfConstantsAndValuesLoadAndRunOrFailCleanly) {
  std::vector<std::byte> const file =
      build_engine(qdp_test::values_network(), BuildConfig{}).serialize();
  Array input = Array::from<float>({3, 4}, std::vector<float>(12, 1.0f));
  int ran = 0, rejected = 0;
  for (size_t offset = ef::kHeaderSize; offset < file.size(); ++offset)
    for (int pattern : {0x01, 0x80}) {
      std::vector<std::byte> edited = file;
      edited[offset] ^= std::byte(pattern);
      reseal(edited);
      try {
        Runner(Engine::deserialize(edited)).infer({{"x", input}});
        ++ran;
      } catch (Error const&) {
        ++rejected;
      }
    }
  EXPECT_GT(ran, 0);
  EXPECT_GT(rejected, 0);
}

TEST(EngineFile, ForeignBytesAreNotAnEngine) {
  std::vector<std::byte> png = bytes_of("\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
  png.resize(64);
  EXPECT_THAT(error_of([&] { Engine::deserialize(png, "picture.png"); }),
              HasSubstr("cannot load engine 'picture.png': not a qdp engine file: it does not "
                        "start with the tag \"QDPENGN\" (its first bytes are 89 50 4e 47 0d 0a "
                        "1a 0a)"));
  EXPECT_THAT(error_of([&] { Engine::deserialize(bytes_of("hello")); }),
              HasSubstr("cannot load engine '<memory>': not a qdp engine file"));
  EXPECT_THAT(error_of([&] { Engine::deserialize(bytes_of(std::string(100, 'Q'))); }),
              HasSubstr("not a qdp engine file"));
}

TEST(EngineFile, VersionMismatchesSayToRebuild) {
  std::vector<std::byte> file = dynamic_scale_engine().serialize();
  std::vector<std::byte> newer = file;
  put_u32(newer, ef::kFormatVersionOffset, ef::kFormatVersion + 1);
  EXPECT_THAT(
      error_of([&] { Engine::deserialize(newer); }),
      HasSubstr(fmt::format("its engine format version is {}, but this qdp ({}) reads "
                            "version {} only; rebuild the engine with this qdp",
                            ef::kFormatVersion + 1, ef::library_version(), ef::kFormatVersion)));
  EXPECT_EQ(code_of([&] { Engine::deserialize(newer); }), ErrorCode::VersionMismatch);

  std::vector<std::byte> other = file;
  std::memset(other.data() + ef::kLibraryVersionOffset, 0, ef::kLibraryVersionSize);
  std::memcpy(other.data() + ef::kLibraryVersionOffset, "9.9.9", 5);
  EXPECT_THAT(error_of([&] { Engine::deserialize(other); }),
              HasSubstr(fmt::format("it was built by qdp 9.9.9, but this is qdp {}",
                                    ef::library_version())));
}

TEST(EngineFile, UnknownPluginIsNamedWithHowToProvideIt) {
  detail::EnginePlan plan = dynamic_scale_engine().impl().plan;
  ASSERT_EQ(plan.steps.size(), 1u);
  plan.steps[0].plugin_id = "custom::not_linked";
  std::string message = error_of([&] { Engine::deserialize(ef::write_plan(plan), "x.qdp"); });
  EXPECT_THAT(message, HasSubstr("cannot load engine 'x.qdp'"));
  EXPECT_THAT(message, HasSubstr("runs plugin custom::not_linked, which is not defined in this "
                                 "process"));
  EXPECT_THAT(message, HasSubstr("--plugins"));
}

// Plans whose indices or sizes disagree (what a buggy or hostile writer produces).
TEST(EngineFile, InconsistentPlansAreRejected) {
  detail::EnginePlan const good = mixed_engine().impl().plan;
  auto error_for = [&](auto&& edit) {
    detail::EnginePlan plan = good;
    edit(plan);
    return error_of([&] { Engine::deserialize(ef::write_plan(plan)); });
  };
  EXPECT_THAT(error_for([](auto& p) { p.steps[0].inputs[0] = 99; }),
              HasSubstr("tensor id 99 is out of range"));
  EXPECT_THAT(error_for([](auto& p) { p.steps[0].aliases = {5}; }),
              HasSubstr("aliased input 5 is out of range [-1, 1)"));
  EXPECT_THAT(error_for([](auto& p) { p.io_tensor.pop_back(); }),
              HasSubstr("tensors for 5 inputs and outputs"));
  EXPECT_THAT(error_for([](auto& p) { p.tensors[0].binding = 7; }),
              HasSubstr("binding 7 is out of range [0, 5)"));
  EXPECT_THAT(error_for([](auto& p) { p.tensors[0].size_id = 3; }),
              HasSubstr("size id 3 is out of range [-1, 1)"));
  EXPECT_THAT(error_for([](auto& p) { p.sizes[0].upper_bound = ShapeExpr::input_dim(5, 0); }),
              HasSubstr("shape expression in5[0] names an input dimension the engine does not "
                        "have"));
  EXPECT_THAT(error_for([](auto& p) { std::swap(p.io[0], p.io[4]); }),
              HasSubstr("an input after an output"));
  EXPECT_THAT(error_for([](auto& p) {
                for (auto& step : p.steps)
                  if (step.plugin_id == "test::filter") step.outputs.pop_back(), step.aliases = {};
              }),
              HasSubstr("plugin test::filter takes 1 inputs and 2 outputs, the layer has 1 and 1"));
  EXPECT_THAT(error_for([](auto& p) {
                for (auto& step : p.steps)
                  if (step.plugin_id == "test::filter") step.attrs["threshold"] = std::string("4");
              }),
              HasSubstr("attribute 'threshold' is string, but plugin test::filter declares it "
                        "float32"));
  // Memory: an arena slot or an output buffer smaller than the tensor at its max shape.
  EXPECT_THAT(error_for([](auto& p) {
                for (auto& t : p.tensors)
                  if (t.storage == detail::PlanTensor::Storage::Activation)
                    t.offset = p.arena_bytes;
              }),
              HasSubstr("-byte arena"));
  EXPECT_THAT(error_for([](auto& p) { p.arena_bytes += int64_t{1} << 40; }),
              HasSubstr("an arena of 1099511"));
  // An offset the planner never writes: typed accesses of the tensor would be misaligned.
  EXPECT_THAT(error_for([](auto& p) {
                for (auto& t : p.tensors)
                  if (t.storage == detail::PlanTensor::Storage::Activation && t.capacity > 0)
                    t.offset += 4;
              }),
              HasSubstr("in the arena is not a multiple of 256"));
  EXPECT_THAT(error_for([](auto& p) {
                for (auto& io : p.io) io.max_bytes = 4;
              }),
              HasSubstr("bytes, but only 4 are reserved for it"));
}

TEST(EngineFile, BadShapeExpressionTextIsReportedWithContext) {
  std::vector<std::byte> file = dynamic_scale_engine().serialize();
  // The input's dynamic dimension is stored as the text "d0.0"; make it unparseable.
  std::vector<std::byte> needle = bytes_of("d0.0");
  auto it = std::search(file.begin() + ef::kHeaderSize, file.end(), needle.begin(), needle.end());
  ASSERT_NE(it, file.end());
  it[2] = std::byte{'?'};
  reseal(file);
  std::string message = error_of([&] { Engine::deserialize(file); });
  EXPECT_THAT(message, HasSubstr("cannot load engine '<memory>': tensor "));
  EXPECT_THAT(message, HasSubstr("dimension 0: bad shape expression 'd0?0' at offset 2"));
  EXPECT_THAT(message, HasSubstr("rebuild the engine"));
}

TEST(EngineFile, BrokenPayloadStructureFailsVerification) {
  std::vector<std::byte> file = dynamic_scale_engine().serialize();
  // The root offset points past the end of the payload.
  put_u32(file, ef::kHeaderSize, 0x7fffffff);
  reseal(file);
  EXPECT_THAT(error_of([&] { Engine::deserialize(file); }),
              HasSubstr(fmt::format("corrupted: the payload at byte offsets 56..{} is not a "
                                    "valid engine plan",
                                    file.size())));
}

// --- Re-derived at load (SPEC §5) --------------------------------------------------------------
// A checksum catches accidents, not intent: each plan below is edited and written again with a
// right checksum, as a deliberate edit would be. Loading runs every JIT plugin's desc again on the
// stored inputs and attributes and refuses the plan where it disagrees, naming layer and field.

// What makes running descs on shapes from a file safe: indexing a desc's shape past its rank is
// a qdp::Error, which loading turns into CorruptFile naming the layer (below).
TEST(EngineFileRederive, TensorDescShapeAccessIsBoundsChecked) {
  TensorDesc d(DataType::FP32, {2, 3});
  EXPECT_EQ(d.shape_expr[1].constant(), 3);
  EXPECT_EQ(d.shape_expr.back().constant(), 3);
  EXPECT_THAT(error_of([&] { (void)d.shape_expr[2]; }),
              HasSubstr("shape_expr[2] is out of range: the tensor has rank 2 (dimensions 0..1)"));
  int axis = -1;
  EXPECT_THAT(error_of([&] { (void)d.shape_expr[axis]; }), HasSubstr("shape_expr[-1]"));
  EXPECT_THAT(error_of([&] { (void)d.shape_expr.at(7); }), HasSubstr("shape_expr[7]"));
  TensorDesc const scalar(DataType::INT64, {});
  EXPECT_THAT(error_of([&] { (void)scalar.shape_expr.front(); }),
              HasSubstr("the tensor has rank 0 (no dimensions)"));
  EXPECT_THAT(error_of([&] { (void)scalar.shape_expr.back(); }), HasSubstr("rank 0"));
  // Values too (what Range, Slice or Reshape read from their inputs).
  TensorDesc shape = TensorDesc(DataType::INT64, {}).with_value({4}, /*scalar=*/true);
  EXPECT_EQ((*shape.value)[0].constant(), 4);
  EXPECT_THAT(error_of([&] { (void)(*shape.value)[1]; }),
              HasSubstr("value[1] is out of range: the value has 1 element(s)"));
}

// The first reproducer: an elemwise_add output declared 1x3x8x8 for a 2x3x8x8 input
// (768 bytes for the 1536 the impl writes).
TEST(EngineFileRederive, OutputShorterThanItsDescSaysIsRefused) {
  if (!Registry::global().find("sample::elemwise_add_plugin")) samples::define_elemwise_add(true);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3, 8, 8});
  net.mark_output(net.add_plugin("sample::elemwise_add_plugin", {x})[0], "y");
  detail::EnginePlan plan = build_engine(net, strict()).impl().plan;
  output_tensor(plan, "y").shape[0] = 1;
  io_of(plan, "y").dims[0] = 1;
  io_of(plan, "y").max_bytes = 768;
  std::string layer = step_of(plan, "sample::elemwise_add_plugin").name;
  EXPECT_THAT(load_error(plan),
              HasSubstr(fmt::format("cannot load engine '<memory>': layer 0 ('{}', plugin "
                                    "sample::elemwise_add_plugin): output 0 ('y') shape: the "
                                    "engine says [1, 3, 8, 8], but the plugin's desc gives [2, 3, "
                                    "8, 8]",
                                    layer)));
  EXPECT_THAT(load_error(plan), HasSubstr("rebuild the engine"));
}

// The second: a non_zero engine whose size tensor's upper bound is 1 (8 bytes of indices for the
// 128 a 4x4 input of non-zeros takes).
TEST(EngineFileRederive, UpperBoundBelowWhatThePluginWritesIsRefused) {
  if (!Registry::global().find("sample::non_zero_plugin")) samples::define_non_zero();
  Network net;
  auto x = net.add_input("x", DataType::FP32, {4, 4});
  auto outs = net.add_plugin("sample::non_zero_plugin", {x});
  net.mark_output(outs[0], "indices");
  net.mark_output(outs[1], "count");
  detail::EnginePlan plan = build_engine(net, strict()).impl().plan;
  ASSERT_EQ(plan.sizes.size(), 1u);
  plan.sizes[0].upper_bound = 1;
  io_of(plan, "indices").max_bytes = 8;
  EXPECT_THAT(load_error(plan),
              HasSubstr("plugin sample::non_zero_plugin): output 1 ('count') size-tensor upper "
                        "bound: the engine says 1, but the plugin's desc gives 16"));

  // Its workspace, likewise: what the plugin asks for, not what the file says.
  plan = build_engine(net, strict()).impl().plan;
  step_of(plan, "sample::non_zero_plugin").workspace = 0;
  EXPECT_THAT(load_error(plan), HasSubstr("workspace: the engine says 0 bytes, but the plugin "
                                          "asks for "));
}

// An attribute desc reads: the impl would write a 6x6 padding into a 4x4 buffer.
TEST(EngineFileRederive, AttributeThatChangesTheShapeIsCaught) {
  if (!Registry::global().find("sample::circ_pad_plugin")) samples::define_circ_pad(true);
  Network net;
  auto x = net.add_input("x", DataType::FP32, {1, 1, 4, 4});
  net.mark_output(net.add_plugin("sample::circ_pad_plugin", {x},
                                 {{"pads", std::vector<int32_t>{0, 0, 0, 0}}})[0],
                  "y");
  detail::EnginePlan plan = build_engine(net, strict()).impl().plan;
  step_of(plan, "sample::circ_pad_plugin").attrs["pads"] = std::vector<int32_t>{1, 1, 1, 1};
  EXPECT_THAT(load_error(plan), HasSubstr("output 0 ('y') shape: the engine says [1, 1, 4, 4], "
                                          "but the plugin's desc gives [1, 1, 6, 6]"));
}

// Descs run on shapes from the file: one that indexes past the rank of an input the file made
// smaller gets a qdp::Error from TensorDesc, which refuses the engine.
TEST(EngineFileRederive, DescIndexingPastAHostileRankIsAnError) {
  qdp_test::Unregister guard("test_file::last_dim");
  PluginDefinition def;
  def.id = "test_file::last_dim";
  def.num_inputs = 1;
  def.num_outputs = 1;
  def.desc = [](std::span<const TensorDesc> in, Attrs const&) {
    return std::vector<TensorDesc>{from_shape_expr({in[0].shape_expr[3]}, in[0].dtype)};
  };
  PluginImpl impl;
  impl.bind = [](Attrs const&) -> BoundImpl {
    return [](std::span<const Tensor>, std::span<Tensor>, Stream, Tactic) {};
  };
  def.impls.emplace(Device::CPU, std::move(impl));
  Registry::global().add(std::move(def));
  Network net;
  auto x = net.add_input("x", DataType::FP32, {1, 2, 3, 4});
  net.mark_output(net.add_plugin("test_file::last_dim", {x})[0], "y");
  detail::EnginePlan plan = build_engine(net, {}).impl().plan;
  io_of(plan, "x").dims = {4};
  plan.tensors[static_cast<size_t>(plan.io_tensor[0])].shape = {4};
  EXPECT_THAT(load_error(plan),
              HasSubstr("plugin test_file::last_dim): its desc fails on the engine's inputs and "
                        "attributes: shape_expr[3] is out of range: the tensor has rank 1"));
}

TEST(EngineFileRederive, TypesAliasingAndCombinationsAreChecked) {
  {  // A standard operator without autotune: its output type is the desc's.
    Network net;
    auto x = net.add_input("x", DataType::BOOL, {4});
    net.mark_output(net.add_plugin("onnx::Not", {x})[0], "y");
    detail::EnginePlan plan = build_engine(net, {}).impl().plan;
    output_tensor(plan, "y").dtype = DataType::UINT8;
    io_of(plan, "y").dtype = DataType::UINT8;
    EXPECT_THAT(load_error(plan), HasSubstr("plugin onnx::Not): output 0 type: the engine says "
                                            "UINT8, but the plugin's desc gives BOOL"));
  }
  {  // One with autotune (FP32 or FP16 throughout): a mixed combination is not among them.
    Network net;
    auto x = net.add_input("x", DataType::FP32, {4});
    net.mark_output(net.add_plugin("onnx::Relu", {x})[0], "y");
    detail::EnginePlan plan = build_engine(net, {}).impl().plan;
    output_tensor(plan, "y").dtype = DataType::FP16;
    io_of(plan, "y").dtype = DataType::FP16;
    EXPECT_THAT(load_error(plan), HasSubstr("plugin onnx::Relu): the engine runs it with types "
                                            "[FP32, FP16] formats [LINEAR, LINEAR], a combination "
                                            "its autotune does not offer"));
  }
  {  // In place: the desc says the output aliases its input.
    Network net;
    auto x = net.add_input("x", DataType::FP32, {4});
    net.mark_output(net.add_plugin("test::add_inplace", {x})[0], "y");
    detail::EnginePlan plan = build_engine(net, {}).impl().plan;
    step_of(plan, "test::add_inplace").aliases = {-1};
    EXPECT_THAT(load_error(plan),
                HasSubstr("output 0 ('y') aliasing: the engine says it aliases no input, but the "
                          "plugin's desc says input 0"));
  }
  {  // Types the plugin's autotune does not offer together ("FP32|FP16, FP32|FP16").
    detail::EnginePlan plan = test_plugins::dynamic_scale_engine().impl().plan;
    output_tensor(plan, "y").dtype = DataType::FP16;
    io_of(plan, "y").dtype = DataType::FP16;
    EXPECT_THAT(load_error(plan),
                HasSubstr("plugin test::scale): the engine runs it with types [FP32, FP16] "
                          "formats [LINEAR, LINEAR], a combination its autotune does not offer"));
  }
}

// What the memory plan assumes about step order: a tensor is written before it is read, once,
// and tensors that share arena bytes are not in use at the same time.
TEST(EngineFileRederive, LifetimesAreCheckedAgainstStepOrder) {
  detail::EnginePlan const good = mixed_engine().impl().plan;
  detail::EnginePlan plan = good;
  std::swap(plan.steps[0], plan.steps[1]);
  EXPECT_THAT(load_error(plan), HasSubstr("before any step writes it"));

  plan = good;
  plan.steps.push_back(plan.steps.back());
  EXPECT_THAT(load_error(plan), HasSubstr("already"));

  plan = good;
  for (auto& t : plan.tensors)
    if (t.storage == detail::PlanTensor::Storage::Activation) t.offset = 0;
  EXPECT_THAT(load_error(plan), HasSubstr("share arena bytes"));
}

// A tensor placed in an output's buffer must fit what the caller allocates for that output at the
// run's shapes, not only at the profile's max shapes (which loading checks).
TEST(EngineFileRederive, TensorsInAnOutputsBufferFitItAtTheRunsShapes) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1});
  net.set_profile("x", Dims{1}, Dims{4}, Dims{16});
  auto z = net.add_input("z", DataType::FP32, {16});
  net.mark_output(net.add_plugin("onnx::Relu", {x})[0], "y");
  auto b = net.add_plugin("onnx::Relu", {z})[0];
  net.mark_output(net.add_plugin("onnx::Relu", {b})[0], "w");
  detail::EnginePlan plan = build_engine(net, {}).impl().plan;
  ASSERT_EQ(plan.io[2].name, "y");
  for (auto& t : plan.tensors)
    if (t.storage == detail::PlanTensor::Storage::Activation) {
      t.storage = detail::PlanTensor::Storage::Output;  // 16 floats in y's buffer
      t.binding = 2;
    }
  Engine engine = Engine::deserialize(ef::write_plan(plan));  // it fits y at the max shapes
  std::string message = error_of([&] {
    Runner(engine).infer(
        {{"x", test_plugins::iota_array({1})}, {"z", test_plugins::iota_array({16})}});
  });
  EXPECT_THAT(message, HasSubstr("lives in the buffer of output 'y' and takes 64 bytes at these "
                                 "shapes, more than the 4 of the output itself"));
}

// Engines as the builder makes them load as before: user plugins, standard operators with
// constants, shape inputs and Values steps, data-dependent shapes, in-place outputs, reformats.
// A constant the builder converts for its reader (FP32 -> FP16 for test::fp16_only) is, for the
// re-derivation, of the network's type: the FP32 reader downstream of the reformat agrees (a
// fuzz_onnx finding: the loader took the stored FP16 type and refused the engine).
TEST(EngineFileRederive, ConstantConvertedAtBuildTimeKeepsItsNetworkType) {
  Network net;
  auto x = net.add_input("x", DataType::FP32, {2, 3});
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  auto c = net.add_constant<float>("c", {2, 3}, values);
  auto plus_one = net.add_plugin("test::fp16_only", {c})[0];
  net.mark_output(net.add_plugin("test::sum2", {plus_one, x})[0], "y");
  Engine built = build_engine(net, {});
  Engine loaded = Engine::deserialize(built.serialize());
  Array in = test_plugins::iota_array({2, 3});
  auto out = Runner(loaded).infer({{"x", in}});
  expect_same_outputs(Runner(built).infer({{"x", in}}), out);
  EXPECT_EQ(out.at("y").data<float>()[5], (6.0f + 1.0f) + 6.0f);  // c + 1 + x
}

TEST(EngineFileRederive, BuiltEnginesStillLoadAndRun) {
  Engine mixed = mixed_engine();
  expect_same_outputs(Runner(mixed).infer(mixed_inputs()),
                      Runner(Engine::deserialize(mixed.serialize())).infer(mixed_inputs()));

  Network net;
  auto x = net.add_input("x", DataType::FP32, {-1, 4});
  net.set_profile("x", Dims{1, 4}, Dims{2, 4}, Dims{4, 4});
  auto ints = [&](std::string name, std::vector<int64_t> v) {
    return net.add_constant<int64_t>(std::move(name), {static_cast<int64_t>(v.size())}, v);
  };
  auto shape = net.add_plugin("onnx::Shape", {x})[0];
  auto flat = net.add_plugin("onnx::Reshape", {x, ints("flat", {-1})})[0];
  net.mark_output(net.add_plugin("onnx::Relu", {flat})[0], "relu");
  auto rows = net.add_plugin(
      "onnx::Slice", {shape, ints("s", {0}), ints("e", {1}), ints("a", {0}), ints("st", {1})})[0];
  net.mark_output(
      net.add_plugin("onnx::Expand", {x, net.add_plugin("onnx::Concat", {rows, ints("four", {4})},
                                                        {{"axis", int64_t{0}}})[0]})[0],
      "expanded");
  Engine onnx = build_engine(net, {});
  Engine loaded = Engine::deserialize(onnx.serialize());
  Array in = test_plugins::iota_array({3, 4});
  expect_same_outputs(Runner(onnx).infer({{"x", in}}), Runner(loaded).infer({{"x", in}}));
}

}  // namespace
