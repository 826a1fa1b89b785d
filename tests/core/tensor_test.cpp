// Tests of Tensor (run time) and TensorDesc (build time), SPEC §1: dense strides per format,
// reshaped views, typed data access, and the desc builders like(), aliased(),
// from_shape_expr() and size_tensor().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <qdp/error.hpp>
#include <qdp/tensor.hpp>
#include <qdp/tensor_desc.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace qdp {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using qdp_test::error_of;

std::vector<int64_t> as_vector(Dims const& d) {
  return {d.begin(), d.end()};
}

// --- dense_strides -------------------------------------------------------------------------------

TEST(DenseStrides, LinearIsRowMajor) {
  EXPECT_THAT(as_vector(dense_strides(Dims{2, 3, 4, 5}, TensorFormat::LINEAR)),
              ElementsAre(60, 20, 5, 1));
  EXPECT_THAT(as_vector(dense_strides(Dims{7}, TensorFormat::LINEAR)), ElementsAre(1));
  EXPECT_THAT(as_vector(dense_strides(Dims{3, 1, 2}, TensorFormat::LINEAR)), ElementsAre(2, 2, 1));
}

TEST(DenseStrides, ScalarHasNoStrides) {
  Dims strides = dense_strides(Dims{}, TensorFormat::LINEAR);
  EXPECT_EQ(strides.rank(), 0);
}

TEST(DenseStrides, HwcIsChannelsLastOfNchw) {
  // Logical NCHW = 2x3x4x5 stored as N, H, W, C: C is innermost.
  Dims strides = dense_strides(Dims{2, 3, 4, 5}, TensorFormat::HWC);
  EXPECT_THAT(as_vector(strides), ElementsAre(/*N*/ 60, /*C*/ 1, /*H*/ 15, /*W*/ 3));
}

TEST(DenseStrides, HwcAddressesEveryElementOnce) {
  Dims shape{2, 3, 4, 5};
  Dims s = dense_strides(shape, TensorFormat::HWC);
  std::vector<int> hits(static_cast<size_t>(shape.numel()), 0);
  for (int64_t n = 0; n < shape[0]; ++n)
    for (int64_t c = 0; c < shape[1]; ++c)
      for (int64_t h = 0; h < shape[2]; ++h)
        for (int64_t w = 0; w < shape[3]; ++w)
          ++hits[static_cast<size_t>(n * s[0] + c * s[1] + h * s[2] + w * s[3])];
  for (int count : hits) ASSERT_EQ(count, 1);
}

TEST(DenseStrides, HwcOfRankOtherThanFourFallsBackToLinear) {
  EXPECT_THAT(as_vector(dense_strides(Dims{3, 4, 5}, TensorFormat::HWC)), ElementsAre(20, 5, 1));
  EXPECT_THAT(as_vector(dense_strides(Dims{2, 3}, TensorFormat::HWC)), ElementsAre(3, 1));
  EXPECT_THAT(as_vector(dense_strides(Dims{1, 2, 3, 4, 5}, TensorFormat::HWC)),
              ElementsAre(120, 60, 20, 5, 1));
}

// --- Tensor
// ---------------------------------------------------------------------------------------

Tensor host_tensor(std::vector<float>& data, Dims shape,
                   TensorFormat format = TensorFormat::LINEAR) {
  Tensor t;
  t.data = data.data();
  t.dtype = DataType::FP32;
  t.format = format;
  t.device = Device::CPU;
  t.shape = shape;
  t.strides = dense_strides(shape, format);
  return t;
}

TEST(Tensor, SizeQueries) {
  std::vector<float> data(24);
  Tensor t = host_tensor(data, Dims{2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.bytes(), 96u);
  EXPECT_EQ(t.rank(), 3);
}

TEST(Tensor, ScalarHasOneElement) {
  std::vector<float> data(1);
  Tensor t = host_tensor(data, Dims{});
  EXPECT_EQ(t.numel(), 1);
  EXPECT_EQ(t.bytes(), 4u);
  EXPECT_EQ(t.rank(), 0);
}

TEST(Tensor, ReshapedToFewerElementsSharesMemory) {
  std::vector<float> data(24);
  Tensor t = host_tensor(data, Dims{2, 3, 4});
  Tensor view = t.reshaped(Dims{5, 2});
  EXPECT_EQ(view.data, t.data);
  EXPECT_EQ(view.dtype, t.dtype);
  EXPECT_EQ(view.device, t.device);
  EXPECT_EQ(view.shape, (Dims{5, 2}));
  EXPECT_EQ(view.strides, (Dims{2, 1}));
  EXPECT_EQ(view.numel(), 10);
  EXPECT_EQ(t.shape, (Dims{2, 3, 4}));  // the original is unchanged
}

TEST(Tensor, ReshapedToTheSameCountAndToZero) {
  std::vector<float> data(24);
  Tensor t = host_tensor(data, Dims{2, 3, 4});
  EXPECT_EQ(t.reshaped(Dims{24}).numel(), 24);
  EXPECT_EQ(t.reshaped(Dims{0, 4}).numel(), 0);  // a data-dependent output with no rows
}

TEST(Tensor, ReshapedKeepsTheFormatsStrides) {
  std::vector<float> data(120);
  Tensor t = host_tensor(data, Dims{2, 3, 4, 5}, TensorFormat::HWC);
  Tensor view = t.reshaped(Dims{1, 3, 4, 5});
  EXPECT_EQ(view.format, TensorFormat::HWC);
  EXPECT_EQ(view.strides, dense_strides(Dims{1, 3, 4, 5}, TensorFormat::HWC));
}

TEST(Tensor, ReshapedToMoreElementsFails) {
  std::vector<float> data(6);
  Tensor t = host_tensor(data, Dims{2, 3});
  EXPECT_THAT(error_of([&] { (void)t.reshaped(Dims{7}); }),
              AllOf(HasSubstr("2x3"), HasSubstr("as 7"), HasSubstr("more elements")));
  EXPECT_THAT(error_of([&] { (void)t.reshaped(Dims{3, 3}); }), HasSubstr("3x3"));
}

// Negative extents are refused.
TEST(Tensor, ReshapedToANegativeExtentFails) {
  std::vector<float> data(6);
  Tensor t = host_tensor(data, Dims{2, 3});
  EXPECT_THAT(error_of([&] { (void)t.reshaped(Dims{-1, 3}); }), HasSubstr("-1x3"));
  EXPECT_THAT(error_of([&] { (void)t.reshaped(Dims{-2, -3}); }), HasSubstr("-2x-3"));
}

TEST(Tensor, DataAsTheRightType) {
  std::vector<float> data = {1.5f, 2.5f};
  Tensor t = host_tensor(data, Dims{2});
  float* p = t.data_as<float>();
  EXPECT_EQ(p, data.data());
  EXPECT_EQ(p[1], 2.5f);
  EXPECT_EQ(t.data_as<float const>(), data.data());
}

TEST(Tensor, DataAsTheWrongTypeFails) {
  std::vector<float> data(4);
  Tensor t = host_tensor(data, Dims{4});
  EXPECT_THAT(error_of([&] { (void)t.data_as<half>(); }), HasSubstr("tensor holds FP32, not FP16"));
  EXPECT_THAT(error_of([&] { (void)t.data_as<int32_t>(); }),
              HasSubstr("tensor holds FP32, not INT32"));
  t.dtype = DataType::BF16;
  EXPECT_THAT(error_of([&] { (void)t.data_as<float>(); }),
              HasSubstr("tensor holds BF16, not FP32"));
}

// --- Dims
// ------------------------------------------------------------------------------------------

TEST(Dims, RankNumelAndText) {
  Dims d{10, 3, 32, 32};
  EXPECT_EQ(d.rank(), 4);
  EXPECT_EQ(d.numel(), 30720);
  EXPECT_EQ(to_string(d), "10x3x32x32");
  EXPECT_EQ(Dims{}.numel(), 1);
  EXPECT_EQ(to_string(Dims{}), "scalar");
  EXPECT_EQ((Dims{0, 5}).numel(), 0);
  // Empty whatever the other extents (fuzz_onnx: an Add of a 2^63-1 x 5 x 0 tensor); a
  // non-empty count that does not fit is still an error.
  int64_t const huge = std::numeric_limits<int64_t>::max();
  EXPECT_EQ((Dims{huge, 5, 0}).numel(), 0);
  EXPECT_THAT(error_of([&] {
                (void)Dims{huge, 5}.numel();
              }),
              HasSubstr("more elements than a 64-bit count holds"));
}

TEST(Dims, ElementCountIsZeroForAnyEmptyShapeAndNothingOnOverflow) {
  int64_t const huge = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> empty_huge{huge, 5, 0}, too_many{huge, 5}, negative{3, -1}, none{};
  EXPECT_EQ(element_count(empty_huge), 0);
  EXPECT_EQ(element_count(too_many), std::nullopt);
  EXPECT_EQ(element_count(negative), std::nullopt);
  EXPECT_EQ(element_count(none), 1);
  EXPECT_THAT(error_of([] {
                (void)Dims{3, -1}.numel();
              }),
              HasSubstr("shape 3x-1 has a negative extent"));
}

TEST(Dims, AtMostMaxRankDimensions) {
  Dims d;
  for (int i = 0; i < kMaxRank; ++i) d.push_back(1);
  EXPECT_EQ(d.rank(), kMaxRank);
  EXPECT_THAT(error_of([&] { d.push_back(1); }),
              AllOf(HasSubstr("more than 8 dimensions"), HasSubstr("most qdp supports")));
  EXPECT_THAT(error_of([] { (void)Dims{1, 2, 3, 4, 5, 6, 7, 8, 9}; }),
              HasSubstr("more than 8 dimensions"));
}

TEST(Dims, EqualityComparesRankAndExtents) {
  EXPECT_EQ((Dims{2, 3}), (Dims{2, 3}));
  EXPECT_NE((Dims{2, 3}), (Dims{3, 2}));
  EXPECT_NE((Dims{2, 3}), (Dims{2, 3, 1}));
  EXPECT_NE(Dims{}, (Dims{1}));
}

// --- TensorDesc
// -----------------------------------------------------------------------------------

ShapeExpr const d00 = ShapeExpr::input_dim(0, 0);
ShapeExpr const d01 = ShapeExpr::input_dim(0, 1);

TensorDesc input_desc(int index, DataType dtype, std::vector<ShapeExpr> shape) {
  TensorDesc d(dtype, std::move(shape));
  d.set_input_index(index);
  return d;
}

TEST(TensorDesc, Defaults) {
  TensorDesc d;
  EXPECT_EQ(d.dtype, DataType::FP32);
  EXPECT_EQ(d.format, TensorFormat::LINEAR);
  EXPECT_EQ(d.rank(), 0);
  EXPECT_EQ(d.input_index(), -1);
  EXPECT_EQ(d.aliased_input(), -1);
  EXPECT_FALSE(d.is_size_tensor());
}

TEST(TensorDesc, RankAndNumel) {
  TensorDesc d(DataType::FP16, {d00, 3, d01});
  EXPECT_EQ(d.rank(), 3);
  EXPECT_EQ(d.numel(), d00 * 3 * d01);
}

TEST(TensorDesc, LikeCopiesTypeFormatAndShape) {
  TensorDesc in = input_desc(1, DataType::FP16, {d00, 3, 8, d01}).with_format(TensorFormat::HWC);
  TensorDesc out = in.like();
  EXPECT_EQ(out.dtype, DataType::FP16);
  EXPECT_EQ(out.format, TensorFormat::HWC);
  EXPECT_EQ(out.shape_expr, in.shape_expr);
  // An output made by like() is a new tensor: not an input, not an alias.
  EXPECT_EQ(out.input_index(), -1);
  EXPECT_EQ(out.aliased_input(), -1);
}

TEST(TensorDesc, WithFormatLeavesTheOriginal) {
  TensorDesc d(DataType::FP32, {1, 2, 3, 4});
  TensorDesc hwc = d.with_format(TensorFormat::HWC);
  EXPECT_EQ(hwc.format, TensorFormat::HWC);
  EXPECT_EQ(d.format, TensorFormat::LINEAR);
}

TEST(TensorDesc, AliasedOfAnInputRemembersTheInput) {
  TensorDesc in = input_desc(2, DataType::INT32, {d00, d01});
  TensorDesc out = in.aliased();
  EXPECT_EQ(out.aliased_input(), 2);
  EXPECT_EQ(out.dtype, DataType::INT32);
  EXPECT_EQ(out.shape_expr, in.shape_expr);
  EXPECT_EQ(out.input_index(), -1);
}

TEST(TensorDesc, AliasedOfANonInputFails) {
  TensorDesc not_input(DataType::FP32, {4});
  EXPECT_THAT(error_of([&] { (void)not_input.aliased(); }),
              AllOf(HasSubstr("aliased() is only for a plugin's input descs"),
                    HasSubstr("alias only an input")));
  TensorDesc output = input_desc(0, DataType::FP32, {4}).like();
  EXPECT_THAT(error_of([&] { (void)output.aliased(); }), HasSubstr("aliased() is only for"));
}

TEST(TensorDesc, FromShapeExpr) {
  TensorDesc d = from_shape_expr({d00 + 2, cdiv(d01, 2)}, DataType::BF16);
  EXPECT_EQ(d.dtype, DataType::BF16);
  EXPECT_EQ(d.format, TensorFormat::LINEAR);
  ASSERT_EQ(d.rank(), 2);
  EXPECT_EQ(d.shape_expr[0], d00 + 2);
  EXPECT_EQ(d.shape_expr[1], cdiv(d01, 2));
  EXPECT_FALSE(d.is_size_tensor());
  EXPECT_EQ(from_shape_expr({}, DataType::INT64).rank(), 0);
}

TEST(TensorDesc, SizeTensorIsAScalarOfInt32OrInt64) {
  TensorDesc s64 = size_tensor(d00 / 2, d00 * d01);
  EXPECT_TRUE(s64.is_size_tensor());
  EXPECT_EQ(s64.dtype, DataType::INT64);  // the default
  EXPECT_EQ(s64.rank(), 0);
  EXPECT_EQ(s64.size_info().opt, d00 / 2);
  EXPECT_EQ(s64.size_info().upper_bound, d00 * d01);
  TensorDesc s32 = size_tensor(4, 16, DataType::INT32);
  EXPECT_TRUE(s32.is_size_tensor());
  EXPECT_EQ(s32.dtype, DataType::INT32);
  EXPECT_EQ(s32.size_info().upper_bound.constant(), 16);
}

TEST(TensorDesc, SizeTensorOfOtherTypesFails) {
  EXPECT_THAT(error_of([] { (void)size_tensor(1, 2, DataType::FP32); }),
              AllOf(HasSubstr("INT32 or INT64"), HasSubstr("not FP32")));
  EXPECT_THAT(error_of([] { (void)size_tensor(1, 2, DataType::UINT8); }), HasSubstr("not UINT8"));
}

TEST(TensorDesc, SizeTensorExprIsAPendingDimension) {
  TensorDesc s = size_tensor(8, 64);
  ShapeExpr e = s.expr();
  EXPECT_EQ(e.op(), ShapeExpr::Op::PendingSize);
  EXPECT_FALSE(e.is_constant());
  // The same size tensor gives the same dimension; another one a different dimension.
  EXPECT_EQ(s.expr(), e);
  TensorDesc copy = s;
  EXPECT_EQ(copy.expr(), e);
  EXPECT_NE(size_tensor(8, 64).expr(), e);
  // It is usable as a dimension of another output.
  TensorDesc out = from_shape_expr({e, 2}, DataType::FP32);
  EXPECT_EQ(out.numel(), e * 2);
  EXPECT_EQ(out.numel().to_string(), "(size? * 2)");
}

TEST(TensorDesc, PendingSizeCannotBeEvaluatedOrSerialized) {
  ShapeExpr e = size_tensor(8, 64).expr();
  EXPECT_THAT(error_of([&] { (void)e.eval(ShapeEnv{}); }), HasSubstr("not returned as an output"));
  EXPECT_THAT(error_of([&] { (void)e.serialize(); }), HasSubstr("not returned as a plugin output"));
}

TEST(TensorDesc, ExprOfANonSizeTensorFails) {
  TensorDesc d(DataType::INT64, {});
  EXPECT_THAT(error_of([&] { (void)d.expr(); }),
              HasSubstr("expr() is only for size tensors made by size_tensor()"));
  EXPECT_THAT(error_of([&] { (void)d.size_info(); }), HasSubstr("not a size tensor"));
}

TEST(TensorDesc, LikeOfASizeTensorIsNotASizeTensor) {
  TensorDesc s = size_tensor(1, 2);
  EXPECT_FALSE(s.like().is_size_tensor());
  EXPECT_THAT(s.like().shape_expr, IsEmpty());
}

}  // namespace
}  // namespace qdp
