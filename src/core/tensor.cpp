#include <qdp/tensor.hpp>
#include <qdp/tensor_desc.hpp>

namespace qdp {

namespace {
int64_t stride_product(Dims const& shape, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    fail("shape {} has strides beyond what a 64-bit count holds", to_string(shape));
  return r;
}
}  // namespace

Dims dense_strides(Dims const& shape, TensorFormat format) {
  Dims strides = shape;
  if (format == TensorFormat::HWC && shape.rank() == 4) {
    int64_t c = shape[1], h = shape[2], w = shape[3];
    strides[0] = stride_product(shape, h, stride_product(shape, w, c));
    strides[1] = 1;
    strides[2] = stride_product(shape, w, c);
    strides[3] = c;
    return strides;
  }
  int64_t s = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    strides[i] = s;
    if (i > 0) s = stride_product(shape, s, shape[i]);
  }
  return strides;
}

Tensor Tensor::reshaped(Dims new_shape) const {
  for (int64_t d : new_shape)
    if (d < 0) fail("cannot view a tensor as {}: extents are >= 0", to_string(new_shape));
  if (new_shape.numel() > shape.numel())
    fail("cannot view a tensor of shape {} as {}: that needs more elements than it has",
         to_string(shape), to_string(new_shape));
  Tensor t = *this;
  t.shape = new_shape;
  t.strides = dense_strides(new_shape, format);
  return t;
}

TensorDesc TensorDesc::like() const {
  return TensorDesc(dtype, shape_expr).with_format(format);
}

TensorDesc TensorDesc::aliased() const {
  if (input_index_ < 0)
    fail("aliased() is only for a plugin's input descs: an output can alias only an input");
  TensorDesc out = like();
  out.aliased_input_ = input_index_;
  return out;
}

SizeTensorInfo const& TensorDesc::size_info() const {
  if (!size_) fail("this tensor desc is not a size tensor");
  return *size_;
}

ShapeExpr TensorDesc::expr() const {
  if (!size_) fail("expr() is only for size tensors made by size_tensor()");
  return ShapeExpr::pending_size(size_);
}

TensorDesc from_shape_expr(std::vector<ShapeExpr> shape, DataType dtype) {
  return TensorDesc(dtype, std::move(shape));
}

TensorDesc size_tensor(ShapeExpr opt, ShapeExpr upper_bound, DataType dtype) {
  if (dtype != DataType::INT32 && dtype != DataType::INT64)
    fail("a size tensor is INT32 or INT64, not {}", name(dtype));
  TensorDesc d(dtype, {});
  d.size_ =
      std::make_shared<SizeTensorInfo>(SizeTensorInfo{std::move(opt), std::move(upper_bound)});
  return d;
}

}  // namespace qdp
