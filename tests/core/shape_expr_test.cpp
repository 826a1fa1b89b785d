// Tests of ShapeExpr, the symbolic shape language (SPEC §1 "Shape expressions"): folding,
// evaluation (python floor division, cdiv, min, max), errors, the human-readable form and the
// serialized form stored in engines (round trip and parse errors), and structural equality.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <qdp/dims.hpp>
#include <qdp/error.hpp>
#include <qdp/shape_expr.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace qdp {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// The message of the qdp::Error that `run` throws; a test failure when it throws none.
using qdp_test::error_of;

// Leaves used throughout: dimensions of two network inputs and a size tensor value.
ShapeExpr const d00 = ShapeExpr::input_dim(0, 0);
ShapeExpr const d01 = ShapeExpr::input_dim(0, 1);
ShapeExpr const d12 = ShapeExpr::input_dim(1, 2);
ShapeExpr const s0 = ShapeExpr::size_value(0);

// Evaluates a constant-only expression (an empty environment).
int64_t value(ShapeExpr const& e) {
  return e.eval(ShapeEnv{});
}

// --- Constants and folding ---------------------------------------------------------------------

TEST(ShapeExpr, NumbersAreConstants) {
  ShapeExpr five = 5;
  EXPECT_TRUE(five.is_constant());
  EXPECT_EQ(five.constant(), 5);
  EXPECT_EQ(five.op(), ShapeExpr::Op::Const);
  EXPECT_EQ(ShapeExpr(int64_t{1} << 40).constant(), int64_t{1} << 40);
  EXPECT_EQ(ShapeExpr().constant(), 0);
  EXPECT_EQ(ShapeExpr(-7).constant(), -7);
}

TEST(ShapeExpr, LeavesAreNotConstants) {
  EXPECT_FALSE(d00.is_constant());
  EXPECT_EQ(d00.op(), ShapeExpr::Op::InputDim);
  EXPECT_FALSE(s0.is_constant());
  EXPECT_EQ(s0.op(), ShapeExpr::Op::Size);
}

TEST(ShapeExpr, OperationsOnConstantsFold) {
  // Unqualified cdiv/min/max: they are found by argument-dependent lookup.
  EXPECT_EQ((ShapeExpr(3) + 4).constant(), 7);
  EXPECT_EQ((ShapeExpr(3) - 4).constant(), -1);
  EXPECT_EQ((ShapeExpr(3) * 4).constant(), 12);
  EXPECT_EQ((ShapeExpr(7) / 2).constant(), 3);
  EXPECT_EQ(cdiv(ShapeExpr(7), 2).constant(), 4);
  EXPECT_EQ(min(ShapeExpr(7), 2).constant(), 2);
  EXPECT_EQ(max(ShapeExpr(7), 2).constant(), 7);
  // Nested constant expressions fold all the way.
  ShapeExpr folded = (ShapeExpr(2) + 3) * cdiv(ShapeExpr(10), 4) - max(ShapeExpr(1), 2);
  ASSERT_TRUE(folded.is_constant());
  EXPECT_EQ(folded.constant(), 13);
}

TEST(ShapeExpr, AddingZeroIsTheIdentity) {
  EXPECT_EQ(d00 + 0, d00);
  EXPECT_EQ(ShapeExpr(0) + d00, d00);
  EXPECT_EQ(d00 - 0, d00);
  EXPECT_EQ((d00 + 0).op(), ShapeExpr::Op::InputDim);
}

TEST(ShapeExpr, MultiplyingByOneIsTheIdentity) {
  EXPECT_EQ(d00 * 1, d00);
  EXPECT_EQ(ShapeExpr(1) * d00, d00);
  EXPECT_EQ((d00 * 1).op(), ShapeExpr::Op::InputDim);
}

TEST(ShapeExpr, DividingByOneIsTheIdentity) {
  EXPECT_EQ(d00 / 1, d00);
  EXPECT_EQ(cdiv(d00, 1), d00);
}

TEST(ShapeExpr, MultiplyingByZeroIsZero) {
  ShapeExpr right = d00 * 0;
  ShapeExpr left = ShapeExpr(0) * d00;
  ASSERT_TRUE(right.is_constant());
  ASSERT_TRUE(left.is_constant());
  EXPECT_EQ(right.constant(), 0);
  EXPECT_EQ(left.constant(), 0);
}

TEST(ShapeExpr, NonIdentityOperationsOnLeavesBuildNodes) {
  EXPECT_EQ((d00 + 1).op(), ShapeExpr::Op::Add);
  EXPECT_EQ((d00 - 1).op(), ShapeExpr::Op::Sub);
  EXPECT_EQ((d00 * 2).op(), ShapeExpr::Op::Mul);
  EXPECT_EQ((d00 / 2).op(), ShapeExpr::Op::FloorDiv);
  EXPECT_EQ(floordiv(d00, 2).op(), ShapeExpr::Op::FloorDiv);
  EXPECT_EQ(cdiv(d00, 2).op(), ShapeExpr::Op::CDiv);
  EXPECT_EQ(min(d00, 2).op(), ShapeExpr::Op::Min);
  EXPECT_EQ(max(d00, 2).op(), ShapeExpr::Op::Max);
  EXPECT_EQ((ShapeExpr(0) - d00).op(), ShapeExpr::Op::Sub);  // 0 - x is not x
}

TEST(ShapeExpr, ConstantDivisionByZeroFailsWhenBuilt) {
  // Both sides constant: the expression folds at once, so the error comes at construction.
  EXPECT_THAT(error_of([] { (void)(ShapeExpr(4) / 0); }), HasSubstr("divides by zero"));
  EXPECT_THAT(error_of([] { (void)cdiv(ShapeExpr(4), 0); }), HasSubstr("divides by zero"));
}

// --- Floor division, cdiv, min, max: python semantics --------------------------------------------

TEST(ShapeExpr, FloorDivisionRoundsTowardNegativeInfinity) {
  // Python: 7 // 2 == 3, -7 // 2 == -4, 7 // -2 == -4, -7 // -2 == 3, -8 // 2 == -4.
  EXPECT_EQ(value(ShapeExpr(7) / 2), 3);
  EXPECT_EQ(value(ShapeExpr(-7) / 2), -4);
  EXPECT_EQ(value(ShapeExpr(7) / -2), -4);
  EXPECT_EQ(value(ShapeExpr(-7) / -2), 3);
  EXPECT_EQ(value(ShapeExpr(-8) / 2), -4);
  EXPECT_EQ(value(ShapeExpr(0) / -3), 0);
  EXPECT_EQ(value(ShapeExpr(-1) / 3), -1);
}

TEST(ShapeExpr, FloorDivisionOfEvaluatedLeavesMatchesPython) {
  std::vector<Dims> inputs = {Dims{-7, 2}};
  ShapeEnv env{inputs, {}};
  EXPECT_EQ((d00 / d01).eval(env), -4);
  EXPECT_EQ((d01 / d00).eval(env), -1);  // 2 // -7 == -1
}

TEST(ShapeExpr, CeilDivisionRoundsTowardPositiveInfinity) {
  // Python: -(-a // b).
  EXPECT_EQ(value(cdiv(ShapeExpr(7), 2)), 4);
  EXPECT_EQ(value(cdiv(ShapeExpr(8), 2)), 4);
  EXPECT_EQ(value(cdiv(ShapeExpr(1), 256)), 1);
  EXPECT_EQ(value(cdiv(ShapeExpr(0), 256)), 0);
  EXPECT_EQ(value(cdiv(ShapeExpr(-7), 2)), -3);
  EXPECT_EQ(value(cdiv(ShapeExpr(7), -2)), -3);
  EXPECT_EQ(value(cdiv(ShapeExpr(-7), -2)), 4);
  EXPECT_EQ(value(cdiv(ShapeExpr(-4), 2)), -2);
}

TEST(ShapeExpr, HostCeilDivisionForLaunchGrids) {
  static_assert(cdiv(int64_t{1000}, int64_t{256}) == 4);
  EXPECT_EQ(cdiv(int64_t{1024}, int64_t{256}), 4);
  EXPECT_EQ(cdiv(int64_t{1}, int64_t{256}), 1);
  EXPECT_EQ(cdiv(int64_t{0}, int64_t{256}), 0);
}

TEST(ShapeExpr, MinAndMax) {
  EXPECT_EQ(value(min(ShapeExpr(-3), 2)), -3);
  EXPECT_EQ(value(max(ShapeExpr(-3), 2)), 2);
  std::vector<Dims> inputs = {Dims{5, 9}};
  ShapeEnv env{inputs, {}};
  EXPECT_EQ(min(d00, d01).eval(env), 5);
  EXPECT_EQ(max(d00, d01).eval(env), 9);
  EXPECT_EQ(min(d00, 3).eval(env), 3);
  EXPECT_EQ(max(d00, 30).eval(env), 30);
}

// --- numel
// -----------------------------------------------------------------------------------------

TEST(ShapeExpr, NumelOfConstantShapeIsAConstant) {
  std::vector<ShapeExpr> shape = {2, 3, 4};
  ShapeExpr n = numel(shape);
  ASSERT_TRUE(n.is_constant());
  EXPECT_EQ(n.constant(), 24);
}

TEST(ShapeExpr, NumelOfScalarShapeIsOne) {
  std::vector<ShapeExpr> shape;
  ShapeExpr n = numel(shape);
  ASSERT_TRUE(n.is_constant());
  EXPECT_EQ(n.constant(), 1);
}

TEST(ShapeExpr, NumelOfSymbolicShapeEvaluates) {
  std::vector<ShapeExpr> shape = {d00, 3, d01};
  ShapeExpr n = numel(shape);
  EXPECT_FALSE(n.is_constant());
  std::vector<Dims> inputs = {Dims{10, 7}};
  EXPECT_EQ(n.eval(ShapeEnv{inputs, {}}), 210);
  EXPECT_EQ(n, d00 * 3 * d01);  // the leading 1 folds away
}

TEST(ShapeExpr, NumelWithAZeroExtentIsZero) {
  std::vector<ShapeExpr> shape = {d00, 0, d01};
  ShapeExpr n = numel(shape);
  ASSERT_TRUE(n.is_constant());
  EXPECT_EQ(n.constant(), 0);
}

// --- Evaluation
// -------------------------------------------------------------------------------------

TEST(ShapeExpr, EvaluatesInputDimensions) {
  std::vector<Dims> inputs = {Dims{10, 3, 32, 32}, Dims{4, 5, 6}};
  ShapeEnv env{inputs, {}};
  EXPECT_EQ(d00.eval(env), 10);
  EXPECT_EQ(d01.eval(env), 3);
  EXPECT_EQ(d12.eval(env), 6);
  EXPECT_EQ((d00 * d01 + d12).eval(env), 36);
}

TEST(ShapeExpr, EvaluatesSizeTensorValues) {
  std::vector<int64_t> sizes = {17, 4};
  ShapeEnv env{{}, sizes};
  EXPECT_EQ(s0.eval(env), 17);
  EXPECT_EQ((ShapeExpr::size_value(1) * s0).eval(env), 68);
}

TEST(ShapeExpr, EvaluatesAMixedNestedExpression) {
  std::vector<Dims> inputs = {Dims{10, 3}, Dims{1, 1, 100}};
  std::vector<int64_t> sizes = {7};
  ShapeEnv env{inputs, sizes};
  // cdiv(10 * 3, 4) + min(100, 7) - max(3 // 2, 5) = 8 + 7 - 5
  ShapeExpr e = cdiv(d00 * d01, 4) + min(d12, s0) - max(d01 / 2, 5);
  EXPECT_EQ(e.eval(env), 10);
}

TEST(ShapeExpr, EvaluationDividingByZeroFails) {
  std::vector<Dims> inputs = {Dims{8, 0}};
  ShapeEnv env{inputs, {}};
  ShapeExpr quotient = d00 / d01;
  ShapeExpr ceiling = cdiv(d00, d01);
  ShapeExpr by_zero = d00 / 0;  // not folded: the numerator is symbolic
  EXPECT_THAT(error_of([&] { (void)quotient.eval(env); }), HasSubstr("divides by zero"));
  EXPECT_THAT(error_of([&] { (void)ceiling.eval(env); }), HasSubstr("divides by zero"));
  EXPECT_THAT(error_of([&] { (void)by_zero.eval(env); }), HasSubstr("divides by zero"));
}

TEST(ShapeExpr, EvaluationWithUnknownSizeValueFails) {
  ShapeExpr s3 = ShapeExpr::size_value(3);
  std::vector<int64_t> too_few = {1, 2};
  EXPECT_THAT(error_of([&] {
                (void)s3.eval(ShapeEnv{{}, too_few});
              }),
              AllOf(HasSubstr("size3"), HasSubstr("s3"), HasSubstr("not known")));
  // A negative entry is a size tensor whose value is not produced yet.
  std::vector<int64_t> not_yet = {-1};
  EXPECT_THAT(error_of([&] { (void)s0.eval(ShapeEnv{{}, not_yet}); }), HasSubstr("not known"));
}

TEST(ShapeExpr, EvaluationWithMissingInputFails) {
  std::vector<Dims> one_input = {Dims{2, 2, 2}};
  EXPECT_THAT(error_of([&] {
                (void)d12.eval(ShapeEnv{one_input, {}});
              }),
              AllOf(HasSubstr("in1[2]"), HasSubstr("not known")));
}

TEST(ShapeExpr, EvaluationWithMissingAxisFails) {
  std::vector<Dims> rank_one = {Dims{5}};
  EXPECT_THAT(error_of([&] {
                (void)d01.eval(ShapeEnv{rank_one, {}});
              }),
              AllOf(HasSubstr("in0[1]"), HasSubstr("not known")));
}

// Negative indices are refused where the expression is made, never read out of bounds later.
TEST(ShapeExpr, NegativeIndicesAreRefused) {
  std::vector<Dims> inputs = {Dims{2, 3}};
  std::vector<int64_t> sizes = {4};
  ShapeEnv env{inputs, sizes};
  EXPECT_THAT(error_of([&] { (void)ShapeExpr::input_dim(-1, 0).eval(env); }),
              HasSubstr("input_dim(-1, 0): input and axis must be >= 0"));
  EXPECT_THAT(error_of([&] { (void)ShapeExpr::input_dim(0, -1).eval(env); }),
              HasSubstr("input_dim(0, -1): input and axis must be >= 0"));
  EXPECT_THAT(error_of([&] { (void)ShapeExpr::size_value(-1).eval(env); }),
              HasSubstr("size_value(-1): a size tensor id is >= 0"));
}

TEST(ShapeExpr, ConstantOfANonConstantFails) {
  EXPECT_THAT(error_of([] { (void)(d00 + 1).constant(); }),
              AllOf(HasSubstr("(in0[0] + 1)"), HasSubstr("is not a constant")));
  EXPECT_THAT(error_of([] { (void)s0.constant(); }), HasSubstr("is not a constant"));
}

// --- Human-readable form
// ----------------------------------------------------------------------------

TEST(ShapeExpr, ToStringOfLeaves) {
  EXPECT_EQ(ShapeExpr(42).to_string(), "42");
  EXPECT_EQ(ShapeExpr(-3).to_string(), "-3");
  EXPECT_EQ(d01.to_string(), "in0[1]");
  EXPECT_EQ(d12.to_string(), "in1[2]");
  EXPECT_EQ(s0.to_string(), "size0");
}

TEST(ShapeExpr, ToStringOfOperators) {
  EXPECT_EQ((d00 * d01).to_string(), "(in0[0] * in0[1])");
  EXPECT_EQ((d00 + 1).to_string(), "(in0[0] + 1)");
  EXPECT_EQ((d00 - 1).to_string(), "(in0[0] - 1)");
  EXPECT_EQ((d00 / 2).to_string(), "(in0[0] // 2)");
  EXPECT_EQ(cdiv(d00, 256).to_string(), "cdiv(in0[0], 256)");
  EXPECT_EQ(min(d00, s0).to_string(), "min(in0[0], size0)");
  EXPECT_EQ(max(d00, 1).to_string(), "max(in0[0], 1)");
}

TEST(ShapeExpr, ToStringOfNestedExpression) {
  EXPECT_EQ((cdiv(d00 * d01, 256) + max(d12, 1)).to_string(),
            "(cdiv((in0[0] * in0[1]), 256) + max(in1[2], 1))");
}

// --- Serialized form
// ------------------------------------------------------------------------------

TEST(ShapeExpr, SerializeOfLeavesAndOperators) {
  EXPECT_EQ(ShapeExpr(42).serialize(), "42");
  EXPECT_EQ(d12.serialize(), "d1.2");
  EXPECT_EQ(s0.serialize(), "s0");
  EXPECT_EQ((d00 + 1).serialize(), "(+ d0.0 1)");
  EXPECT_EQ((d00 / 2).serialize(), "(// d0.0 2)");
  EXPECT_EQ(cdiv(d00 * d01, 256).serialize(), "(cdiv (* d0.0 d0.1) 256)");
}

class ShapeExprRoundTrip : public ::testing::TestWithParam<ShapeExpr> {};

TEST_P(ShapeExprRoundTrip, ParseOfSerializeIsTheSameExpression) {
  ShapeExpr const& e = GetParam();
  std::string text = e.serialize();
  ShapeExpr back = ShapeExpr::parse(text);
  EXPECT_EQ(back, e) << text << " came back as " << back.serialize();
  EXPECT_EQ(back.serialize(), text);
  EXPECT_EQ(back.to_string(), e.to_string());
}

INSTANTIATE_TEST_SUITE_P(EveryOperatorAndNesting, ShapeExprRoundTrip,
                         ::testing::Values(ShapeExpr(0), ShapeExpr(7), ShapeExpr(-12),
                                           ShapeExpr(int64_t{1} << 62), ShapeExpr(INT64_MIN), d00,
                                           d12, ShapeExpr::input_dim(3, 7), s0,
                                           ShapeExpr::size_value(12), d00 + d01, d00 - 1,
                                           ShapeExpr(1) - d00, d00 * 3, d00 / 2, cdiv(d00, 256),
                                           min(d00, s0), max(d12, -1), cdiv(d00* d01* d12, 256) + 1,
                                           max(min(d00, d01), cdiv(s0, 3)) - d12 / 4,
                                           ((d00 + 1) * (d01 - 2)) / (max(d12, 1) + min(s0, 5)),
                                           min(min(min(d00, d01), d12), s0)));

TEST(ShapeExprParse, AcceptsExtraSpaces) {
  EXPECT_EQ(ShapeExpr::parse("  (+   d0.0    1 )  "), d00 + 1);
}

TEST(ShapeExprParse, FoldsConstantsAsItBuilds) {
  ShapeExpr folded = ShapeExpr::parse("(* (+ 2 3) 4)");
  ASSERT_TRUE(folded.is_constant());
  EXPECT_EQ(folded.constant(), 20);
  EXPECT_EQ(ShapeExpr::parse("(+ 0 d0.0)"), d00);
}

TEST(ShapeExprParse, GarbageTextFailsAtOffsetZero) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("hello"); }),
              AllOf(HasSubstr("bad shape expression 'hello'"), HasSubstr("at offset 0"),
                    HasSubstr("expected a number")));
}

TEST(ShapeExprParse, EmptyTextFails) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse(""); }),
              AllOf(HasSubstr("at offset 0"), HasSubstr("unexpected end")));
}

TEST(ShapeExprParse, UnknownOperatorFails) {
  // The offset is where the operator's name ends.
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(% d0.0 2)"); }),
              AllOf(HasSubstr("at offset 2"), HasSubstr("unknown operator")));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(mod d0.0 2)"); }),
              AllOf(HasSubstr("at offset 4"), HasSubstr("unknown operator")));
}

TEST(ShapeExprParse, TrailingTextFails) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(+ d0.0 1) 3"); }),
              AllOf(HasSubstr("at offset 11"), HasSubstr("unexpected text after the expression")));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(+ 1 2))"); }),
              AllOf(HasSubstr("at offset 7"), HasSubstr("unexpected text after the expression")));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("d0.0x"); }),
              AllOf(HasSubstr("at offset 4"), HasSubstr("unexpected text")));
}

TEST(ShapeExprParse, MissingClosingParenFails) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(+ d0.0 1"); }),
              AllOf(HasSubstr("at offset 9"), HasSubstr("expected ')'")));
}

TEST(ShapeExprParse, MissingOperandFails) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(+ d0.0)"); }),
              AllOf(HasSubstr("at offset 7"), HasSubstr("expected a number")));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(+"); }),
              AllOf(HasSubstr("at offset 2"), HasSubstr("unexpected end")));
}

TEST(ShapeExprParse, MalformedInputDimensionFails) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("d0"); }), HasSubstr("expected '.'"));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("d0.9"); }),
              HasSubstr("input dimension out of range"));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("d-1.0"); }),
              HasSubstr("input dimension out of range"));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("s-1"); }), HasSubstr("size tensor id out of range"));
}

// Engine files are untrusted: an index that does not fit an int is an error, never wrapped.
TEST(ShapeExprParse, IndicesThatDoNotFitAnIntFail) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("d4294967296.0"); }), HasSubstr("out of range"));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("s4294967297"); }), HasSubstr("out of range"));
}

// Engine files are untrusted: absurd nesting is an error, not a stack overflow.
TEST(ShapeExprParse, DeeplyNestedTextFailsInsteadOfCrashing) {
  constexpr int kDepth = 1000000;
  std::string text;
  for (int i = 0; i < kDepth; ++i) text += "(+ d0.0 ";
  text += "1";
  text += std::string(kDepth, ')');
  EXPECT_THAT(error_of([&] { ShapeExpr::parse(text); }), HasSubstr("bad shape expression"));
}

TEST(ShapeExprParse, NumberTooLargeFails) {
  EXPECT_THAT(error_of([] { ShapeExpr::parse("99999999999999999999"); }),
              HasSubstr("expected a number"));
}

TEST(ShapeExprParse, ParseErrorIsAQdpError) {
  EXPECT_THROW(ShapeExpr::parse("(+ 1"), Error);
}

// --- Structural equality
// --------------------------------------------------------------------------

TEST(ShapeExpr, StructurallyEqualExpressionsCompareEqual) {
  // Built separately: different nodes, the same structure.
  EXPECT_EQ(ShapeExpr::input_dim(0, 0) * ShapeExpr::input_dim(0, 1) + 1, d00 * d01 + 1);
  EXPECT_EQ(cdiv(s0, 4), cdiv(ShapeExpr::size_value(0), 4));
  EXPECT_EQ(ShapeExpr(5), ShapeExpr(2) + 3);
}

TEST(ShapeExpr, DifferentExpressionsCompareUnequal) {
  EXPECT_NE(d00, d01);                         // another axis
  EXPECT_NE(d01, ShapeExpr::input_dim(1, 1));  // another input
  EXPECT_NE(s0, ShapeExpr::size_value(1));     // another size tensor
  EXPECT_NE(d00, s0);                          // another kind of leaf
  EXPECT_NE(ShapeExpr(0), d00);                // a constant and a leaf
  EXPECT_NE(ShapeExpr::input_dim(0, 0), ShapeExpr::size_value(0));
  EXPECT_NE(d00 + d01, d01 + d00);  // operands are ordered
  EXPECT_NE(d00 + 1, d00 - 1);      // another operator
  EXPECT_NE(min(d00, 1), max(d00, 1));
  EXPECT_NE(d00 / 2, cdiv(d00, 2));
  EXPECT_NE((d00 + 1) * 2, d00 + 1 * 2);
}

TEST(ShapeExpr, MapLeavesRewritesEveryLeaf) {
  ShapeExpr e = cdiv(d00 * d01, 4) + s0;
  // Bind input 0 to input 1 and the size tensor to a constant.
  ShapeExpr mapped = e.map_leaves([](ShapeExpr const& leaf) -> ShapeExpr {
    if (leaf.op() == ShapeExpr::Op::InputDim) return ShapeExpr::input_dim(1, leaf.node().axis);
    if (leaf.op() == ShapeExpr::Op::Size) return ShapeExpr(3);
    return leaf;
  });
  EXPECT_EQ(mapped, cdiv(ShapeExpr::input_dim(1, 0) * ShapeExpr::input_dim(1, 1), 4) + 3);
}

}  // namespace
TEST(ShapeExpr, OverflowIsAnError) {
  ShapeExpr big(std::numeric_limits<int64_t>::max());
  EXPECT_THAT(error_of([&] { (void)(big + 1); }), HasSubstr("overflows 64 bits in +"));
  EXPECT_THAT(error_of([&] { (void)(big * 2); }), HasSubstr("overflows 64 bits in *"));
  EXPECT_THAT(error_of([&] { (void)(ShapeExpr(std::numeric_limits<int64_t>::min()) / -1); }),
              HasSubstr("overflows"));
  EXPECT_THAT(error_of([] { ShapeExpr::parse("(// -9223372036854775808 -1)"); }),
              HasSubstr("overflows"));
  // cdiv of the most negative value (fuzz_onnx: a Range of limit - start = INT64_MIN): exact
  // where it fits, an error where it does not, never a negation's overflow.
  ShapeExpr most_negative(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(cdiv(most_negative, 2).constant(), std::numeric_limits<int64_t>::min() / 2);
  EXPECT_EQ(cdiv(most_negative, 1).constant(), std::numeric_limits<int64_t>::min());
  EXPECT_THAT(error_of([&] { (void)cdiv(most_negative, -1); }), HasSubstr("overflows"));
}

TEST(ShapeExpr, CeilDivisionRoundsUpForEitherSign) {
  EXPECT_EQ(cdiv(ShapeExpr(7), 2).constant(), 4);
  EXPECT_EQ(cdiv(ShapeExpr(-7), 2).constant(), -3);
  EXPECT_EQ(cdiv(ShapeExpr(7), -2).constant(), -3);
  EXPECT_EQ(cdiv(ShapeExpr(-7), -2).constant(), 4);
  EXPECT_EQ(cdiv(ShapeExpr(-8), -2).constant(), 4);
  EXPECT_EQ(cdiv(ShapeExpr(0), -3).constant(), 0);
}

}  // namespace qdp
