// Tests of plugin attributes (SPEC §1 "Attributes"): convert_attr for every AttrType and its
// range checks, resolve_attrs and its errors (which name the plugin, the attribute, the
// expected and the received type), to_string, and the host half/bfloat16 conversions that the
// float16[] attributes rely on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <qdp/attributes.hpp>
#include <qdp/data_type.hpp>
#include <qdp/error.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace qdp {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using qdp_test::error_of;

Bytes bytes_of(std::string const& s) {
  Bytes b;
  for (char c : s) b.value.push_back(static_cast<std::byte>(c));
  return b;
}

// Converts and expects success; the result's alternative is the requested type.
AttrValue converted(AttrValue const& v, AttrType type) {
  std::string why;
  auto out = convert_attr(v, type, &why);
  EXPECT_TRUE(out.has_value()) << "converting " << to_string(v) << " to " << name(type)
                               << " failed: " << why;
  if (!out) return AttrValue{};
  EXPECT_EQ(type_of(*out), type);
  return *out;
}

// Converts and expects failure; returns the reason.
std::string conversion_error(AttrValue const& v, AttrType type) {
  std::string why;
  auto out = convert_attr(v, type, &why);
  EXPECT_FALSE(out.has_value()) << "converting " << to_string(v) << " to " << name(type)
                                << " unexpectedly gave " << to_string(*out);
  EXPECT_THAT(why, Not(IsEmpty()));
  return why;
}

// --- Every AttrType lines up with its C++ type and its name ---------------------------------

TEST(AttrType, AlternativesLineUpWithAttrTypes) {
  EXPECT_EQ(type_of(AttrValue(int32_t{1})), AttrType::INT32);
  EXPECT_EQ(type_of(AttrValue(int64_t{1})), AttrType::INT64);
  EXPECT_EQ(type_of(AttrValue(1.0f)), AttrType::FLOAT32);
  EXPECT_EQ(type_of(AttrValue(1.0)), AttrType::FLOAT64);
  EXPECT_EQ(type_of(AttrValue(true)), AttrType::BOOL);
  EXPECT_EQ(type_of(AttrValue(std::string("x"))), AttrType::STRING);
  EXPECT_EQ(type_of(AttrValue(Bytes{})), AttrType::BYTES);
  EXPECT_EQ(type_of(AttrValue(std::vector<int8_t>{})), AttrType::INT8S);
  EXPECT_EQ(type_of(AttrValue(std::vector<int16_t>{})), AttrType::INT16S);
  EXPECT_EQ(type_of(AttrValue(std::vector<int32_t>{})), AttrType::INT32S);
  EXPECT_EQ(type_of(AttrValue(std::vector<int64_t>{})), AttrType::INT64S);
  EXPECT_EQ(type_of(AttrValue(std::vector<half>{})), AttrType::FLOAT16S);
  EXPECT_EQ(type_of(AttrValue(std::vector<float>{})), AttrType::FLOAT32S);
  EXPECT_EQ(type_of(AttrValue(std::vector<double>{})), AttrType::FLOAT64S);
  EXPECT_EQ(type_of(AttrValue(std::vector<bool>{})), AttrType::BOOLS);
  static_assert(attr_type_of<std::vector<half>>::value == AttrType::FLOAT16S);
  static_assert(AttributeType<std::string>);
  static_assert(!AttributeType<long double>);
}

TEST(AttrType, Names) {
  EXPECT_EQ(name(AttrType::INT32), "int32");
  EXPECT_EQ(name(AttrType::INT64), "int64");
  EXPECT_EQ(name(AttrType::FLOAT32), "float32");
  EXPECT_EQ(name(AttrType::FLOAT64), "float64");
  EXPECT_EQ(name(AttrType::BOOL), "bool");
  EXPECT_EQ(name(AttrType::STRING), "string");
  EXPECT_EQ(name(AttrType::BYTES), "bytes");
  EXPECT_EQ(name(AttrType::INT8S), "int8[]");
  EXPECT_EQ(name(AttrType::INT16S), "int16[]");
  EXPECT_EQ(name(AttrType::INT32S), "int32[]");
  EXPECT_EQ(name(AttrType::INT64S), "int64[]");
  EXPECT_EQ(name(AttrType::FLOAT16S), "float16[]");
  EXPECT_EQ(name(AttrType::FLOAT32S), "float32[]");
  EXPECT_EQ(name(AttrType::FLOAT64S), "float64[]");
  EXPECT_EQ(name(AttrType::BOOLS), "bool[]");
}

// --- convert_attr: the exact type always passes unchanged --------------------------------------

class ConvertAttrExactType : public ::testing::TestWithParam<AttrValue> {};

TEST_P(ConvertAttrExactType, PassesUnchanged) {
  AttrValue const& v = GetParam();
  auto out = convert_attr(v, type_of(v));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, v);
}

INSTANTIATE_TEST_SUITE_P(
    EveryAttrType, ConvertAttrExactType,
    ::testing::Values(
        AttrValue(int32_t{-5}), AttrValue(std::numeric_limits<int64_t>::max()), AttrValue(0.25f),
        AttrValue(1e300), AttrValue(false), AttrValue(std::string("hello")),
        AttrValue(bytes_of("\x01\x02")), AttrValue(std::vector<int8_t>{-128, 127}),
        AttrValue(std::vector<int16_t>{-300, 300}), AttrValue(std::vector<int32_t>{1, 2, 3}),
        AttrValue(std::vector<int64_t>{int64_t{1} << 40}),
        AttrValue(std::vector<half>{half(0.5f), half(-2.0f)}), AttrValue(std::vector<float>{1.5f}),
        AttrValue(std::vector<double>{0.1, 0.2}), AttrValue(std::vector<bool>{true, false})),
    [](::testing::TestParamInfo<AttrValue> const& info) {
      std::string n(name(type_of(info.param)));  // "int8[]" -> "int8_array"
      if (n.ends_with("[]")) n.replace(n.size() - 2, 2, "_array");
      return n;
    });

// --- convert_attr: scalars
// -------------------------------------------------------------------------

TEST(ConvertAttr, Int64ToInt32InRange) {
  EXPECT_EQ(converted(int64_t{42}, AttrType::INT32), AttrValue(int32_t{42}));
  EXPECT_EQ(converted(int64_t{std::numeric_limits<int32_t>::max()}, AttrType::INT32),
            AttrValue(std::numeric_limits<int32_t>::max()));
  EXPECT_EQ(converted(int64_t{std::numeric_limits<int32_t>::min()}, AttrType::INT32),
            AttrValue(std::numeric_limits<int32_t>::min()));
}

TEST(ConvertAttr, Int64ToInt32OutOfRangeNamesTheValue) {
  EXPECT_THAT(conversion_error(int64_t{3000000000}, AttrType::INT32),
              AllOf(HasSubstr("3000000000"), HasSubstr("out of range")));
  EXPECT_THAT(conversion_error(int64_t{-2147483649}, AttrType::INT32), HasSubstr("-2147483649"));
}

TEST(ConvertAttr, Int32ToInt64) {
  EXPECT_EQ(converted(int32_t{-7}, AttrType::INT64), AttrValue(int64_t{-7}));
}

TEST(ConvertAttr, IntToFloat) {
  EXPECT_EQ(converted(int32_t{3}, AttrType::FLOAT32), AttrValue(3.0f));
  EXPECT_EQ(converted(int64_t{-4}, AttrType::FLOAT32), AttrValue(-4.0f));
  EXPECT_EQ(converted(int64_t{1} << 40, AttrType::FLOAT64), AttrValue(1099511627776.0));
}

TEST(ConvertAttr, BetweenFloatAndDouble) {
  EXPECT_EQ(converted(0.5, AttrType::FLOAT32), AttrValue(0.5f));
  EXPECT_EQ(converted(0.25f, AttrType::FLOAT64), AttrValue(0.25));
}

// A finite value that would become infinite in the declared type is out of range.
TEST(ConvertAttr, FloatingPointOverflowIsOutOfRange) {
  EXPECT_THAT(conversion_error(1e300, AttrType::FLOAT32),
              AllOf(HasSubstr("1e+300"), HasSubstr("out of range")));
  EXPECT_THAT(conversion_error(std::vector<float>{1.0f, 1e6f}, AttrType::FLOAT16S),
              HasSubstr("out of range"));
  EXPECT_THAT(conversion_error(std::vector<int32_t>{100000}, AttrType::FLOAT16S),
              HasSubstr("out of range"));
}

TEST(ConvertAttr, ZeroAndOneToBool) {
  EXPECT_EQ(converted(int32_t{0}, AttrType::BOOL), AttrValue(false));
  EXPECT_EQ(converted(int32_t{1}, AttrType::BOOL), AttrValue(true));
  EXPECT_EQ(converted(int64_t{1}, AttrType::BOOL), AttrValue(true));
}

TEST(ConvertAttr, OtherIntegersToBoolFail) {
  EXPECT_THAT(conversion_error(int32_t{2}, AttrType::BOOL),
              AllOf(HasSubstr("2"), HasSubstr("not a bool")));
  EXPECT_THAT(conversion_error(int64_t{-1}, AttrType::BOOL), HasSubstr("-1 is not a bool"));
}

TEST(ConvertAttr, StringAndBytesConvertBothWays) {
  EXPECT_EQ(converted(std::string("ab\0c", 4), AttrType::BYTES),
            AttrValue(bytes_of(std::string("ab\0c", 4))));
  EXPECT_EQ(converted(bytes_of("xyz"), AttrType::STRING), AttrValue(std::string("xyz")));
  EXPECT_EQ(converted(std::string(), AttrType::BYTES), AttrValue(Bytes{}));
}

TEST(ConvertAttr, IncompatibleScalarsFailWithBothTypeNames) {
  EXPECT_THAT(conversion_error(std::string("12"), AttrType::INT32),
              HasSubstr("a string cannot be converted to int32"));
  EXPECT_THAT(conversion_error(1.0f, AttrType::INT32),
              HasSubstr("a float32 cannot be converted to int32"));
  EXPECT_THAT(conversion_error(2.5, AttrType::INT64),
              HasSubstr("a float64 cannot be converted to int64"));
  EXPECT_THAT(conversion_error(int32_t{1}, AttrType::STRING),
              HasSubstr("a int32 cannot be converted to string"));
  EXPECT_THAT(conversion_error(std::string("1"), AttrType::BOOL),
              HasSubstr("cannot be converted to bool"));
  EXPECT_THAT(conversion_error(std::string("1.5"), AttrType::FLOAT32),
              HasSubstr("cannot be converted to float32"));
  EXPECT_THAT(conversion_error(1.0, AttrType::BYTES), HasSubstr("cannot be converted to bytes"));
}

TEST(ConvertAttr, ScalarsAndArraysDoNotMix) {
  EXPECT_THAT(conversion_error(int32_t{3}, AttrType::INT32S),
              HasSubstr("a int32 cannot be converted to int32[]"));
  EXPECT_THAT(conversion_error(std::vector<int32_t>{3}, AttrType::INT32),
              HasSubstr("a int32[] cannot be converted to int32"));
  EXPECT_THAT(conversion_error(std::vector<float>{1.0f}, AttrType::FLOAT32),
              HasSubstr("cannot be converted to float32"));
  EXPECT_THAT(conversion_error(1.0f, AttrType::FLOAT32S),
              HasSubstr("cannot be converted to float32[]"));
}

TEST(ConvertAttr, ReasonIsOptional) {
  EXPECT_FALSE(convert_attr(std::string("x"), AttrType::INT32).has_value());
  EXPECT_FALSE(convert_attr(int64_t{1} << 40, AttrType::INT32).has_value());
  EXPECT_TRUE(convert_attr(int64_t{1}, AttrType::INT32).has_value());
}

// --- convert_attr: arrays
// -----------------------------------------------------------------------------

TEST(ConvertAttr, IntArraysNarrowInRange) {
  std::vector<int64_t> v = {-128, 0, 127};
  EXPECT_EQ(converted(v, AttrType::INT8S), AttrValue(std::vector<int8_t>{-128, 0, 127}));
  EXPECT_EQ(converted(v, AttrType::INT16S), AttrValue(std::vector<int16_t>{-128, 0, 127}));
  EXPECT_EQ(converted(v, AttrType::INT32S), AttrValue(std::vector<int32_t>{-128, 0, 127}));
  EXPECT_EQ(converted(std::vector<int8_t>{-1, 2}, AttrType::INT64S),
            AttrValue(std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(converted(std::vector<int32_t>{}, AttrType::INT8S), AttrValue(std::vector<int8_t>{}));
}

TEST(ConvertAttr, IntArrayOutOfInt8RangeFailsNamingTheValue) {
  EXPECT_THAT(conversion_error(std::vector<int32_t>{1, 200, 3}, AttrType::INT8S),
              AllOf(HasSubstr("200"), HasSubstr("out of range")));
  EXPECT_THAT(conversion_error(std::vector<int64_t>{-129}, AttrType::INT8S),
              HasSubstr("-129 is out of range"));
  EXPECT_THAT(conversion_error(std::vector<int32_t>{40000}, AttrType::INT16S),
              HasSubstr("40000 is out of range"));
  EXPECT_THAT(conversion_error(std::vector<int64_t>{int64_t{1} << 31}, AttrType::INT32S),
              HasSubstr("2147483648 is out of range"));
}

TEST(ConvertAttr, IntArrayToBoolArray) {
  EXPECT_EQ(converted(std::vector<int32_t>{0, 1, 1}, AttrType::BOOLS),
            AttrValue(std::vector<bool>{false, true, true}));
  EXPECT_THAT(conversion_error(std::vector<int32_t>{0, 2}, AttrType::BOOLS),
              HasSubstr("2 is not a bool"));
}

TEST(ConvertAttr, IntArrayToFloatArrays) {
  std::vector<int32_t> v = {1, -2, 3};
  EXPECT_EQ(converted(v, AttrType::FLOAT32S), AttrValue(std::vector<float>{1.0f, -2.0f, 3.0f}));
  EXPECT_EQ(converted(v, AttrType::FLOAT64S), AttrValue(std::vector<double>{1.0, -2.0, 3.0}));
  AttrValue h = converted(v, AttrType::FLOAT16S);
  auto const& halves = std::get<std::vector<half>>(h);
  ASSERT_EQ(halves.size(), 3u);
  EXPECT_EQ(static_cast<float>(halves[0]), 1.0f);
  EXPECT_EQ(static_cast<float>(halves[1]), -2.0f);
  EXPECT_EQ(static_cast<float>(halves[2]), 3.0f);
}

TEST(ConvertAttr, BetweenFloatArrays) {
  EXPECT_EQ(converted(std::vector<double>{0.5, -1.25}, AttrType::FLOAT32S),
            AttrValue(std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(converted(std::vector<float>{0.5f}, AttrType::FLOAT64S),
            AttrValue(std::vector<double>{0.5}));
  AttrValue h = converted(std::vector<float>{0.5f, 1024.0f}, AttrType::FLOAT16S);
  auto const& halves = std::get<std::vector<half>>(h);
  ASSERT_EQ(halves.size(), 2u);
  EXPECT_EQ(static_cast<float>(halves[0]), 0.5f);
  EXPECT_EQ(static_cast<float>(halves[1]), 1024.0f);
  EXPECT_EQ(converted(std::vector<half>{half(0.75f)}, AttrType::FLOAT32S),
            AttrValue(std::vector<float>{0.75f}));
}

TEST(ConvertAttr, FloatArrayToIntArrayFails) {
  EXPECT_THAT(conversion_error(std::vector<float>{1.0f}, AttrType::INT32S),
              HasSubstr("a float32[] cannot be converted to int32[]"));
  EXPECT_THAT(conversion_error(std::vector<double>{1.0}, AttrType::BOOLS),
              HasSubstr("cannot be converted to bool[]"));
}

// --- resolve_attrs
// ----------------------------------------------------------------------------------

std::vector<AttrSpec> circ_pad_schema() {
  return {
      AttrSpec{"pads", AttrType::INT32S, AttrValue(std::vector<int32_t>{1, 1, 1, 1})},
      AttrSpec{"block_size", AttrType::INT32, AttrValue(int32_t{256})},
      AttrSpec{"mode", AttrType::STRING, AttrValue(std::string("circular"))},
  };
}

TEST(ResolveAttrs, DefaultsAreFilledIn) {
  Attrs out = resolve_attrs("test_attrs::circ_pad", circ_pad_schema(), {});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.at("pads"), AttrValue(std::vector<int32_t>{1, 1, 1, 1}));
  EXPECT_EQ(out.at("block_size"), AttrValue(int32_t{256}));
  EXPECT_EQ(out.at("mode"), AttrValue(std::string("circular")));
}

TEST(ResolveAttrs, GivenValuesOverrideDefaultsAndAreConvertedToTheDeclaredType) {
  Attrs given;
  given.emplace("block_size", int64_t{128});                // ONNX INT is int64
  given.emplace("pads", std::vector<int64_t>{0, 2, 0, 2});  // ONNX INTS is int64
  Attrs out = resolve_attrs("test_attrs::circ_pad", circ_pad_schema(), given);
  EXPECT_EQ(out.at("block_size"), AttrValue(int32_t{128}));
  EXPECT_EQ(out.at("pads"), AttrValue(std::vector<int32_t>{0, 2, 0, 2}));
  EXPECT_EQ(out.at("mode"), AttrValue(std::string("circular")));
}

TEST(ResolveAttrs, EmptySchemaAndNoValues) {
  EXPECT_THAT(resolve_attrs("test_attrs::none", {}, {}), IsEmpty());
}

TEST(ResolveAttrs, UnknownAttributeNamesPluginAttributeAndKnownNames) {
  Attrs given;
  given.emplace("blok_size", int32_t{1});
  EXPECT_THAT(
      error_of([&] { resolve_attrs("test_attrs::circ_pad", circ_pad_schema(), given); }),
      AllOf(HasSubstr("plugin test_attrs::circ_pad"), HasSubstr("unknown attribute 'blok_size'"),
            HasSubstr("pads, block_size, mode")));
}

TEST(ResolveAttrs, UnknownAttributeOfPluginWithoutAttributes) {
  Attrs given;
  given.emplace("x", int32_t{1});
  EXPECT_THAT(error_of([&] { resolve_attrs("test_attrs::none", {}, given); }),
              AllOf(HasSubstr("test_attrs::none"), HasSubstr("'x'"), HasSubstr("none")));
}

TEST(ResolveAttrs, WrongTypeNamesPluginAttributeExpectedAndReceivedType) {
  Attrs given;
  given.emplace("block_size", std::string("big"));
  EXPECT_THAT(
      error_of([&] { resolve_attrs("test_attrs::circ_pad", circ_pad_schema(), given); }),
      AllOf(HasSubstr("plugin test_attrs::circ_pad"), HasSubstr("attribute 'block_size'"),
            HasSubstr("expects int32"), HasSubstr("received string"), HasSubstr("\"big\"")));
}

TEST(ResolveAttrs, OutOfRangeValueNamesTheValue) {
  Attrs given;
  given.emplace("pads", std::vector<int64_t>{1, int64_t{1} << 33});
  EXPECT_THAT(error_of([&] { resolve_attrs("test_attrs::circ_pad", circ_pad_schema(), given); }),
              AllOf(HasSubstr("attribute 'pads'"), HasSubstr("expects int32[]"),
                    HasSubstr("received int64[]"), HasSubstr("8589934592 is out of range")));
}

TEST(ResolveAttrs, MissingRequiredAttributeIsAnError) {
  std::vector<AttrSpec> schema = {AttrSpec{"axis", AttrType::INT64, std::nullopt},
                                  AttrSpec{"scale", AttrType::FLOAT32, AttrValue(1.0f)}};
  EXPECT_THAT(error_of([&] { resolve_attrs("test_attrs::required", schema, {}); }),
              AllOf(HasSubstr("plugin test_attrs::required"), HasSubstr("attribute 'axis'"),
                    HasSubstr("int64"), HasSubstr("required")));
  Attrs given;
  given.emplace("axis", int32_t{2});
  Attrs out = resolve_attrs("test_attrs::required", schema, given);
  EXPECT_EQ(out.at("axis"), AttrValue(int64_t{2}));
  EXPECT_EQ(out.at("scale"), AttrValue(1.0f));
}

// --- to_string
// ---------------------------------------------------------------------------------------

TEST(AttrToString, Scalars) {
  EXPECT_EQ(to_string(AttrValue(int32_t{256})), "256");
  EXPECT_EQ(to_string(AttrValue(int64_t{-3})), "-3");
  EXPECT_EQ(to_string(AttrValue(0.5f)), "0.5");
  EXPECT_EQ(to_string(AttrValue(2.25)), "2.25");
  EXPECT_EQ(to_string(AttrValue(true)), "true");
  EXPECT_EQ(to_string(AttrValue(false)), "false");
  EXPECT_EQ(to_string(AttrValue(std::string("circular"))), "\"circular\"");
  EXPECT_EQ(to_string(AttrValue(bytes_of("abc"))), "<3 bytes>");
}

TEST(AttrToString, Arrays) {
  EXPECT_EQ(to_string(AttrValue(std::vector<int32_t>{1, 1, 1, 1})), "[1, 1, 1, 1]");
  EXPECT_EQ(to_string(AttrValue(std::vector<int8_t>{-1, 65})),
            "[-1, 65]");  // numbers, not characters
  EXPECT_EQ(to_string(AttrValue(std::vector<int16_t>{300})), "[300]");
  EXPECT_EQ(to_string(AttrValue(std::vector<int64_t>{})), "[]");
  EXPECT_EQ(to_string(AttrValue(std::vector<half>{half(0.5f), half(2.0f)})), "[0.5, 2]");
  EXPECT_EQ(to_string(AttrValue(std::vector<float>{1.5f, -2.0f})), "[1.5, -2]");
  EXPECT_EQ(to_string(AttrValue(std::vector<double>{0.125})), "[0.125]");
  EXPECT_EQ(to_string(AttrValue(std::vector<bool>{true, false})), "[true, false]");
}

// --- half and bfloat16
// --------------------------------------------------------------------------------

TEST(Half, SmallIntegersRoundTripExactly) {
  for (int i = -2048; i <= 2048; ++i) {
    float f = static_cast<float>(i);
    ASSERT_EQ(static_cast<float>(half(f)), f) << i;
  }
}

TEST(Half, KnownBitPatterns) {
  EXPECT_EQ(half(0.0f).bits, 0x0000);
  EXPECT_EQ(half(-0.0f).bits, 0x8000);
  EXPECT_EQ(half(1.0f).bits, 0x3c00);
  EXPECT_EQ(half(-2.0f).bits, 0xc000);
  EXPECT_EQ(half(0.5f).bits, 0x3800);
  EXPECT_EQ(half(65504.0f).bits, 0x7bff);  // the largest finite half
}

TEST(Half, OneThirdRoundsToNearest) {
  half third(1.0f / 3.0f);
  EXPECT_EQ(third.bits, 0x3555);
  EXPECT_EQ(static_cast<float>(third), 0.333251953125f);
}

TEST(Half, TiesRoundToEven) {
  // Above 2048 halves are spaced by 2: 2049 and 2051 are ties.
  EXPECT_EQ(static_cast<float>(half(2049.0f)), 2048.0f);
  EXPECT_EQ(static_cast<float>(half(2051.0f)), 2052.0f);
  EXPECT_EQ(static_cast<float>(half(2050.5f)), 2050.0f);  // not a tie: nearest
}

TEST(Half, InfinityAndNan) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(half(inf).bits, 0x7c00);
  EXPECT_EQ(half(-inf).bits, 0xfc00);
  EXPECT_EQ(static_cast<float>(half(inf)), inf);
  EXPECT_EQ(static_cast<float>(half(-inf)), -inf);
  half nan(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan.bits & 0x7c00, 0x7c00);
  EXPECT_NE(nan.bits & 0x03ff, 0);
  EXPECT_TRUE(std::isnan(static_cast<float>(nan)));
}

TEST(Half, OverflowBecomesInfinity) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(static_cast<float>(half(1e6f)), inf);
  EXPECT_EQ(static_cast<float>(half(-1e6f)), -inf);
  EXPECT_EQ(static_cast<float>(half(65520.0f)), inf);       // rounds up past the largest finite
  EXPECT_EQ(static_cast<float>(half(65519.0f)), 65504.0f);  // rounds down to it
  EXPECT_EQ(half(std::numeric_limits<float>::max()).bits, 0x7c00);
}

TEST(Half, Subnormals) {
  float smallest = std::ldexp(1.0f, -24);  // 2^-24, the smallest subnormal half
  EXPECT_EQ(half(smallest).bits, 0x0001);
  EXPECT_EQ(static_cast<float>(half(smallest)), smallest);
  half largest_subnormal;
  largest_subnormal.bits = 0x03ff;
  EXPECT_EQ(static_cast<float>(largest_subnormal), 1023.0f * smallest);
  EXPECT_EQ(half(1023.0f * smallest).bits, 0x03ff);
  EXPECT_EQ(half(std::ldexp(1.0f, -14)).bits, 0x0400);  // the smallest normal
  EXPECT_EQ(half(-3.0f * smallest).bits, 0x8003);
  // Below half the smallest subnormal: zero; exactly half: a tie, to even (zero); above: rounds up.
  EXPECT_EQ(half(std::ldexp(1.0f, -26)).bits, 0x0000);
  EXPECT_EQ(half(std::ldexp(1.0f, -25)).bits, 0x0000);
  EXPECT_EQ(half(1.5f * std::ldexp(1.0f, -25)).bits, 0x0001);
  EXPECT_EQ(half(2.5f * smallest).bits, 0x0002);  // tie between 2 and 3: even
  EXPECT_EQ(half(std::numeric_limits<float>::denorm_min()).bits, 0x0000);
}

TEST(BFloat16, SmallIntegersRoundTripExactly) {
  for (int i = -256; i <= 256; ++i) {
    float f = static_cast<float>(i);
    ASSERT_EQ(static_cast<float>(bfloat16(f)), f) << i;
  }
}

TEST(BFloat16, OneThirdRoundsToNearest) {
  bfloat16 third(1.0f / 3.0f);
  EXPECT_EQ(third.bits, 0x3eab);
  EXPECT_EQ(static_cast<float>(third), 0.333984375f);
}

TEST(BFloat16, TiesRoundToEven) {
  EXPECT_EQ(static_cast<float>(bfloat16(257.0f)), 256.0f);
  EXPECT_EQ(static_cast<float>(bfloat16(259.0f)), 260.0f);
}

TEST(BFloat16, InfinityNanAndOverflow) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(bfloat16(inf).bits, 0x7f80);
  EXPECT_EQ(bfloat16(-inf).bits, 0xff80);
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low 16 bits must not become infinity.
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(std::bit_cast<float>(0x7f800001u)))));
  EXPECT_EQ(static_cast<float>(bfloat16(std::numeric_limits<float>::max())), inf);
  EXPECT_EQ(bfloat16(1e38f).bits, 0x7e96);
}

TEST(BFloat16, Subnormals) {
  float tiny = std::bit_cast<float>(0x00010000u);  // a subnormal bfloat16 represents exactly
  EXPECT_EQ(bfloat16(tiny).bits, 0x0001);
  EXPECT_EQ(static_cast<float>(bfloat16(tiny)), tiny);
}

}  // namespace
}  // namespace qdp
