// Tests of AutoTuneCombination's grammar (SPEC §1): every rule and every error it raises.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <qdp/autotune.hpp>
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
using ::testing::SizeIs;

// "FP32,FP16 LINEAR,HWC t2": one candidate, readable in a failing expectation.
std::string show(AutoTuneCombination::Candidate const& candidate) {
  std::vector<std::string_view> types, formats;
  for (DataType t : candidate.types) types.push_back(name(t));
  for (TensorFormat f : candidate.formats) formats.push_back(name(f));
  return fmt::format("{} {} t{}", fmt::join(types, ","), fmt::join(formats, ","), candidate.tactic);
}

std::vector<std::string> expand(AutoTuneCombination const& combination, int num_positions) {
  std::vector<std::string> shown;
  for (auto const& candidate : combination.expand(num_positions)) shown.push_back(show(candidate));
  return shown;
}

// The message of the qdp::Error that `run` throws; a test failure when it throws none.
using qdp_test::error_of;

// --- Building combinations from the constructor's strings -----------------------------------

TEST(AutoTune, SingleNameAppliesToEveryPosition) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32"), 3),
              ElementsAre("FP32,FP32,FP32 LINEAR,LINEAR,LINEAR t0"));
}

TEST(AutoTune, DependentEntriesFormKCombinations) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16, FP32|FP16"), 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t0", "FP16,FP16 LINEAR,LINEAR t0"));
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16|BF16, INT8|UINT8|BOOL"), 2),
              ElementsAre("FP32,INT8 LINEAR,LINEAR t0", "FP16,UINT8 LINEAR,LINEAR t0",
                          "BF16,BOOL LINEAR,LINEAR t0"));
}

TEST(AutoTune, DependentSingleEntryIsReplicatedToEveryPosition) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16"), 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t0", "FP16,FP16 LINEAR,LINEAR t0"));
}

TEST(AutoTune, DependentEntriesWithSingleNames) {
  // The non_zero sample: the single names apply to both dependent combinations.
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16, INT32, INT64"), 3),
              ElementsAre("FP32,INT32,INT64 LINEAR,LINEAR,LINEAR t0",
                          "FP16,INT32,INT64 LINEAR,LINEAR,LINEAR t0"));
}

TEST(AutoTune, IndependentEntryRepeatsEveryCombination) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32*FP16, INT32"), 2),
              ElementsAre("FP32,INT32 LINEAR,LINEAR t0", "FP16,INT32 LINEAR,LINEAR t0"));
  // Two independent entries give the cartesian product, the earlier position varying slowest.
  EXPECT_THAT(expand(AutoTuneCombination("FP32*FP16, INT32*INT64"), 2),
              ElementsAre("FP32,INT32 LINEAR,LINEAR t0", "FP32,INT64 LINEAR,LINEAR t0",
                          "FP16,INT32 LINEAR,LINEAR t0", "FP16,INT64 LINEAR,LINEAR t0"));
}

TEST(AutoTune, IndependentSingleEntryIsReplicatedToEveryPosition) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32*FP16"), 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t0", "FP32,FP16 LINEAR,LINEAR t0",
                          "FP16,FP32 LINEAR,LINEAR t0", "FP16,FP16 LINEAR,LINEAR t0"));
}

TEST(AutoTune, DependentAndIndependentEntriesInOneString) {
  // Each of the 2 dependent combinations is repeated once per independent option.
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16, INT8*UINT8, FP32|FP16"), 3),
              ElementsAre("FP32,INT8,FP32 LINEAR,LINEAR,LINEAR t0",
                          "FP32,UINT8,FP32 LINEAR,LINEAR,LINEAR t0",
                          "FP16,INT8,FP16 LINEAR,LINEAR,LINEAR t0",
                          "FP16,UINT8,FP16 LINEAR,LINEAR,LINEAR t0"));
}

TEST(AutoTune, EveryTypeNameIsAccepted) {
  auto const candidates =
      expand(AutoTuneCombination("FP32|FP16|BF16|INT8|UINT8|INT32|INT64|BOOL"), 1);
  EXPECT_THAT(candidates, ElementsAre("FP32 LINEAR t0", "FP16 LINEAR t0", "BF16 LINEAR t0",
                                      "INT8 LINEAR t0", "UINT8 LINEAR t0", "INT32 LINEAR t0",
                                      "INT64 LINEAR t0", "BOOL LINEAR t0"));
}

// --- Layouts ---------------------------------------------------------------------------------

TEST(AutoTune, OmittedLayoutsMeanLinear) {
  EXPECT_THAT(expand(AutoTuneCombination("FP16"), 2), ElementsAre("FP16,FP16 LINEAR,LINEAR t0"));
  // An empty layout string is read as omitted, like the seed's layouts=None.
  EXPECT_THAT(expand(AutoTuneCombination("FP16", ""), 2),
              ElementsAre("FP16,FP16 LINEAR,LINEAR t0"));
  AutoTuneCombination by_position;
  by_position.pos({0, 1}, "FP16");
  EXPECT_THAT(expand(by_position, 2), ElementsAre("FP16,FP16 LINEAR,LINEAR t0"));
}

TEST(AutoTune, SingleIndependentLayoutAppliesToEveryPosition) {
  // The inplace_add sample's first combination.
  EXPECT_THAT(expand(AutoTuneCombination("FP32, FP32", "LINEAR*HWC"), 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t0", "FP32,FP32 LINEAR,HWC t0",
                          "FP32,FP32 HWC,LINEAR t0", "FP32,FP32 HWC,HWC t0"));
}

TEST(AutoTune, LayoutsPerPositionAndDependentLayouts) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32", "HWC, LINEAR"), 2),
              ElementsAre("FP32,FP32 HWC,LINEAR t0"));
  EXPECT_THAT(expand(AutoTuneCombination("FP32", "LINEAR|HWC"), 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t0", "FP32,FP32 HWC,HWC t0"));
}

TEST(AutoTune, TypesAreCrossedWithLayouts) {
  // Dependent '|' in types and in layouts are separate strings: crossed, not zipped.
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16, FP32|FP16", "LINEAR|HWC"), 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t0", "FP32,FP32 HWC,HWC t0",
                          "FP16,FP16 LINEAR,LINEAR t0", "FP16,FP16 HWC,HWC t0"));
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16", "LINEAR*HWC"), 2), SizeIs(2 * 4));
}

// --- Tactics ---------------------------------------------------------------------------------

TEST(AutoTune, NoTacticsMeansTacticZero) {
  auto const candidates = AutoTuneCombination("FP32").expand(1);
  ASSERT_THAT(candidates, SizeIs(1));
  EXPECT_EQ(candidates[0].tactic, 0);
  EXPECT_THAT(candidates[0].types, ElementsAre(DataType::FP32));
  EXPECT_THAT(candidates[0].formats, ElementsAre(TensorFormat::LINEAR));
}

TEST(AutoTune, TacticsMultiplyTheCandidates) {
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16", "LINEAR", {3, 1}), 1),
              ElementsAre("FP32 LINEAR t3", "FP32 LINEAR t1", "FP16 LINEAR t3", "FP16 LINEAR t1"));
  AutoTuneCombination combination("FP32", "LINEAR*HWC");
  combination.tactics({7});
  EXPECT_THAT(expand(combination, 1), ElementsAre("FP32 LINEAR t7", "FP32 HWC t7"));
}

TEST(AutoTune, LaterTacticsCallReplacesTheList) {
  AutoTuneCombination combination("FP32", "LINEAR", {1, 2});
  combination.tactics({5});
  EXPECT_THAT(expand(combination, 1), ElementsAre("FP32 LINEAR t5"));
  combination.tactics({});
  EXPECT_THAT(expand(combination, 1), ElementsAre("FP32 LINEAR t0"));
}

TEST(AutoTune, NonPositiveTacticIsError) {
  EXPECT_THAT(error_of([] {
                AutoTuneCombination("FP32", "LINEAR", {1, 0});
              }),
              AllOf(HasSubstr("[1, 0]"), HasSubstr("tactic 0 is not positive"),
                    HasSubstr("positive integers")));
  AutoTuneCombination combination("FP32");
  EXPECT_THAT(error_of([&] { combination.tactics({-3}); }), HasSubstr("tactic -3 is not positive"));
}

TEST(AutoTune, DuplicateTacticIsError) {
  AutoTuneCombination combination("FP32");
  EXPECT_THAT(error_of([&] {
                combination.tactics({1, 2, 1});
              }),
              AllOf(HasSubstr("[1, 2, 1]"), HasSubstr("tactic 1 is given more than once")));
}

// --- Building position by position with pos() -----------------------------------------------

TEST(AutoTune, PosSeedExample) {
  // The circ_pad sample: c.pos([0, 1], "FP32|FP16"); c.tactics([1, 2]).
  AutoTuneCombination c;
  c.pos({0, 1}, "FP32|FP16");
  c.tactics({1, 2});
  EXPECT_THAT(expand(c, 2),
              ElementsAre("FP32,FP32 LINEAR,LINEAR t1", "FP32,FP32 LINEAR,LINEAR t2",
                          "FP16,FP16 LINEAR,LINEAR t1", "FP16,FP16 LINEAR,LINEAR t2"));
}

TEST(AutoTune, PosGroupsAreCrossedWithEachOther) {
  // '|' in different pos() calls is not zipped: each group is its own string.
  AutoTuneCombination c;
  c.pos(0, "FP32|FP16").pos(1, "INT32|INT64");
  EXPECT_THAT(expand(c, 2),
              ElementsAre("FP32,INT32 LINEAR,LINEAR t0", "FP32,INT64 LINEAR,LINEAR t0",
                          "FP16,INT32 LINEAR,LINEAR t0", "FP16,INT64 LINEAR,LINEAR t0"));
}

TEST(AutoTune, PosEntriesPerListedIndex) {
  // One entry per listed index, in the order of the list; '|' zips within the call.
  AutoTuneCombination c;
  c.pos({2, 0}, "INT64|INT32, FP32|FP16").pos(1, "BOOL", "HWC");
  EXPECT_THAT(expand(c, 3), ElementsAre("FP32,BOOL,INT64 LINEAR,HWC,LINEAR t0",
                                        "FP16,BOOL,INT32 LINEAR,HWC,LINEAR t0"));
}

TEST(AutoTune, PosLayouts) {
  AutoTuneCombination c;
  c.pos({0, 1}, "FP16", "LINEAR*HWC").pos(2, "INT32");
  EXPECT_THAT(
      expand(c, 3),
      ElementsAre("FP16,FP16,INT32 LINEAR,LINEAR,LINEAR t0", "FP16,FP16,INT32 LINEAR,HWC,LINEAR t0",
                  "FP16,FP16,INT32 HWC,LINEAR,LINEAR t0", "FP16,FP16,INT32 HWC,HWC,LINEAR t0"));
}

TEST(AutoTune, PosNegativeIndexIsError) {
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] {
                c.pos({0, -1}, "FP32");
              }),
              AllOf(HasSubstr("pos({0, -1}, \"FP32\")"), HasSubstr("position -1 is negative")));
  EXPECT_THAT(error_of([&] { c.pos(-2, "FP32"); }), HasSubstr("position -2 is negative"));
}

TEST(AutoTune, PosIndexOutOfRangeIsError) {
  AutoTuneCombination c;
  c.pos({0, 2}, "FP32").pos(1, "FP16");
  EXPECT_THAT(expand(c, 3), SizeIs(1));
  EXPECT_THAT(error_of([&] { c.expand(2); }),
              AllOf(HasSubstr("pos({0, 2}, \"FP32\")"), HasSubstr("position 2 is out of range"),
                    HasSubstr("2 positions (0 to 1")));
}

TEST(AutoTune, PosWithoutIndicesIsError) {
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] { c.pos(std::vector<int>{}, "FP32"); }),
              HasSubstr("no positions given"));
}

TEST(AutoTune, PositionGivenTwiceIsError) {
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] { c.pos({1, 1}, "FP32"); }), HasSubstr("position 1 is listed twice"));
  c.pos({0, 1}, "FP32|FP16");
  EXPECT_THAT(error_of([&] {
                c.pos({2, 1}, "INT32");
              }),
              AllOf(HasSubstr("pos({2, 1}, \"INT32\")"),
                    HasSubstr("position 1 already has types from pos({0, 1}, \"FP32|FP16\")")));
  // The failed call changed nothing.
  EXPECT_THAT(expand(c, 2), SizeIs(2));
}

TEST(AutoTune, PosAfterConstructorTypesIsError) {
  AutoTuneCombination c("FP32|FP16");
  EXPECT_THAT(error_of([&] { c.pos(0, "FP32"); }),
              AllOf(HasSubstr("pos({0}, \"FP32\")"),
                    HasSubstr("every position already has types from the constructor's "
                              "io_types \"FP32|FP16\"")));
}

TEST(AutoTune, PositionNeverCoveredIsError) {
  AutoTuneCombination c;
  c.pos({0, 1}, "FP32");
  EXPECT_THAT(error_of([&] { c.expand(3); }),
              AllOf(HasSubstr("position 2 of the plugin's 3"), HasSubstr("has no types")));
  EXPECT_THAT(error_of([&] { c.expand(5); }), HasSubstr("positions 2, 3, 4 of the plugin's 5"));
}

TEST(AutoTune, NoTypesAtAllIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination().expand(2); }),
              AllOf(HasSubstr("has no types"), HasSubstr("pos()")));
}

TEST(AutoTune, NonPositivePositionCountIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32").expand(0); }),
              HasSubstr("a plugin has 0 positions; expected at least 1"));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32").expand(-1); }),
              HasSubstr("a plugin has -1 positions"));
}

// --- Grammar errors --------------------------------------------------------------------------

TEST(AutoTune, MixingBarAndStarInOneEntryIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32, FP32|FP16*INT8"); }),
              AllOf(HasSubstr("\"FP32, FP32|FP16*INT8\""),
                    HasSubstr("entry 2 \"FP32|FP16*INT8\" mixes '|' and '*'")));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32", "LINEAR*HWC|LINEAR"); }),
              AllOf(HasSubstr("layouts \"LINEAR*HWC|LINEAR\""), HasSubstr("mixes '|' and '*'")));
  // '|' and '*' in different entries of one string are fine.
  EXPECT_THAT(expand(AutoTuneCombination("FP32|FP16, INT8*UINT8"), 2), SizeIs(4));
}

TEST(AutoTune, DependentEntriesOfUnequalLengthIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32|FP16, FP32|FP16|INT8"); }),
              AllOf(HasSubstr("\"FP32|FP16, FP32|FP16|INT8\""),
                    HasSubstr("dependent entries ('|') must have the same number of options "
                              "(2 vs 3)"),
                    HasSubstr("entry 1 \"FP32|FP16\" has 2, entry 2 \"FP32|FP16|INT8\" has 3")));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32", "LINEAR|HWC|LINEAR, HWC|LINEAR"); }),
              HasSubstr("same number of options (3 vs 2)"));
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] {
                c.pos({0, 1}, "FP32|FP16, INT8|UINT8|BOOL");
              }),
              AllOf(HasSubstr("pos({0, 1}) types"), HasSubstr("(2 vs 3)")));
}

TEST(AutoTune, UnknownTypeNameIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32, FP32|FP61"); }),
              AllOf(HasSubstr("entry 2 \"FP32|FP61\""), HasSubstr("unknown type \"FP61\""),
                    HasSubstr("FP32, FP16, BF16, INT8, UINT8, INT32, INT64, BOOL")));
  EXPECT_THAT(error_of([] { AutoTuneCombination("float32"); }),
              HasSubstr("unknown type \"float32\""));
}

TEST(AutoTune, UnknownLayoutNameIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32", "LINEAR*CHW"); }),
              AllOf(HasSubstr("layouts \"LINEAR*CHW\""), HasSubstr("unknown layout \"CHW\""),
                    HasSubstr("LINEAR, HWC")));
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] { c.pos(0, "FP32", "NCHW"); }), HasSubstr("unknown layout \"NCHW\""));
}

TEST(AutoTune, EmptyEntryIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32,,FP16"); }),
              AllOf(HasSubstr("\"FP32,,FP16\""), HasSubstr("entry 2 of 3 is empty")));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32, "); }), HasSubstr("entry 2 of 2 is empty"));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32", ",HWC"); }),
              AllOf(HasSubstr("layouts"), HasSubstr("entry 1 of 2 is empty")));
}

TEST(AutoTune, EmptyOptionIsError) {
  EXPECT_THAT(
      error_of([] { AutoTuneCombination("FP32|"); }),
      AllOf(HasSubstr("entry 1 \"FP32|\" has an empty option"), HasSubstr("on each side of '|'")));
  EXPECT_THAT(
      error_of([] { AutoTuneCombination("FP32, *FP16"); }),
      AllOf(HasSubstr("entry 2 \"*FP16\" has an empty option"), HasSubstr("on each side of '*'")));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32| |FP16"); }),
              HasSubstr("has an empty option"));
}

TEST(AutoTune, EmptyTypeStringIsError) {
  EXPECT_THAT(error_of([] { AutoTuneCombination(""); }),
              AllOf(HasSubstr("types \"\""), HasSubstr("no types given")));
  EXPECT_THAT(error_of([] { AutoTuneCombination(" \t"); }), HasSubstr("no types given"));
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] { c.pos(0, ""); }), HasSubstr("no types given"));
}

TEST(AutoTune, WrongNumberOfEntriesIsError) {
  AutoTuneCombination three_types("FP32, FP32, FP32");
  EXPECT_THAT(expand(three_types, 3), SizeIs(1));
  EXPECT_THAT(error_of([&] { three_types.expand(2); }),
              AllOf(HasSubstr("types \"FP32, FP32, FP32\""),
                    HasSubstr("3 entries for 2 positions; expected 1 entry for all of them or 2")));
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32", "LINEAR, HWC").expand(3); }),
              AllOf(HasSubstr("layouts \"LINEAR, HWC\""), HasSubstr("2 entries for 3 positions")));
  AutoTuneCombination c;
  EXPECT_THAT(error_of([&] {
                c.pos({0, 1}, "FP32, FP16, INT8");
              }),
              AllOf(HasSubstr("pos({0, 1}) types"), HasSubstr("3 entries for 2 positions")));
  EXPECT_THAT(error_of([&] {
                c.pos({0, 1, 2}, "FP32", "HWC, LINEAR");
              }),
              AllOf(HasSubstr("pos({0, 1, 2}) layouts"), HasSubstr("2 entries for 3 positions")));
}

TEST(AutoTune, TooManyCandidatesIsError) {
  // 4 options on each of 9 positions: 262144 candidates, more than anyone means to time.
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP32*FP16*BF16*INT8").expand(9); }),
              HasSubstr("more than 65536"));
}

// --- Whitespace, duplicates, to_string -------------------------------------------------------

TEST(AutoTune, WhitespaceAroundEntriesAndNamesIsIgnored) {
  EXPECT_EQ(AutoTuneCombination("  FP32 | FP16 ,\tFP32|FP16\n").expand(2),
            AutoTuneCombination("FP32|FP16,FP32|FP16").expand(2));
  EXPECT_EQ(AutoTuneCombination("FP32", " LINEAR * HWC ").expand(2),
            AutoTuneCombination("FP32", "LINEAR*HWC").expand(2));
  AutoTuneCombination c;
  c.pos({0, 1}, " FP16 ,INT8 ", " HWC");
  EXPECT_THAT(expand(c, 2), ElementsAre("FP16,INT8 HWC,HWC t0"));
  // Whitespace inside a name is not ignored.
  EXPECT_THAT(error_of([] { AutoTuneCombination("FP 32"); }), HasSubstr("unknown type \"FP 32\""));
}

TEST(AutoTune, DuplicateCandidatesAreRemovedKeepingTheFirst) {
  EXPECT_THAT(expand(AutoTuneCombination("FP16|FP32|FP16"), 1),
              ElementsAre("FP16 LINEAR t0", "FP32 LINEAR t0"));
  EXPECT_THAT(expand(AutoTuneCombination("FP32*FP16*FP32, INT32"), 2),
              ElementsAre("FP32,INT32 LINEAR,LINEAR t0", "FP16,INT32 LINEAR,LINEAR t0"));
  EXPECT_THAT(expand(AutoTuneCombination("FP32", "HWC*LINEAR*HWC", {2}), 1),
              ElementsAre("FP32 HWC t2", "FP32 LINEAR t2"));
}

TEST(AutoTune, ToStringShowsStringsAndTactics) {
  EXPECT_EQ(AutoTuneCombination("FP32|FP16, FP32|FP16", "LINEAR", {1, 2}).to_string(),
            "types \"FP32|FP16, FP32|FP16\" layouts \"LINEAR\" tactics [1, 2]");
  AutoTuneCombination c;
  c.pos({0, 1}, "FP32|FP16").pos(2, "INT32", "HWC");
  EXPECT_EQ(c.to_string(),
            "pos({0, 1}) types \"FP32|FP16\" layouts \"LINEAR\"; "
            "pos({2}) types \"INT32\" layouts \"HWC\" tactics none");
  EXPECT_EQ(AutoTuneCombination().to_string(), "no types tactics none");
}

TEST(AutoTune, EveryCandidateHasOneTypeAndFormatPerPosition) {
  for (auto const& candidate : AutoTuneCombination("FP32|FP16", "LINEAR*HWC", {1}).expand(4)) {
    EXPECT_THAT(candidate.types, SizeIs(4));
    EXPECT_THAT(candidate.formats, SizeIs(4));
    EXPECT_THAT(show(candidate), Not(IsEmpty()));
  }
}

}  // namespace
}  // namespace qdp
