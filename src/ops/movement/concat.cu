// onnx::Concat(inputs...; axis): the inputs joined along `axis`, for every element type.
//
// Concat takes any number of inputs, which the C++ front end cannot declare (its callables'
// signatures fix the count), so it is a core PluginDefinition with `variadic` set, registered
// once like the front end's commit() does.
//
// Along the axis, the output is (outer, sum of the inputs' blocks) and each input a
// (outer, block) slab of it: on the CPU a row copy per (outer, input), on CUDA one strided 2-D
// copy per input (cudaMemcpy2DAsync, which the driver runs as a copy kernel).
#include <qdp/plugin.hpp>

#include "ops/common.hpp"
#include "ops/movement/movement.hpp"

namespace qdp::ops {
namespace {

constexpr char kOp[] = "onnx::Concat";

int64_t axis_of(Attrs const& attrs) {
  return std::get<int64_t>(attrs.find("axis")->second);
}

std::vector<TensorDesc> concat_desc(std::span<const TensorDesc> in, Attrs const& attrs) {
  TensorDesc const& first = in[0];
  if (first.rank() < 1) fail("{}: inputs must have rank 1 or more, input 0 has rank 0", kOp);
  int axis = normalize_axis(axis_of(attrs), first.rank(), "onnx::Concat: attribute 'axis'");
  std::vector<ShapeExpr> shape = first.shape_expr;
  for (size_t i = 1; i < in.size(); ++i) {
    TensorDesc const& d = in[i];
    if (d.dtype != first.dtype)
      fail("{}: input {} is {}, input 0 {}; all inputs must have one type", kOp, i, name(d.dtype),
           name(first.dtype));
    if (d.rank() != first.rank())
      fail("{}: input {} has rank {}, input 0 rank {}; all inputs must have one rank", kOp, i,
           d.rank(), first.rank());
    for (int k = 0; k < first.rank(); ++k) {
      auto& out = shape[static_cast<size_t>(k)];
      ShapeExpr const& e = d.shape_expr[static_cast<size_t>(k)];
      if (k == axis) {
        out = out + e;
      } else if (out.is_constant() && e.is_constant()) {
        if (out.constant() != e.constant())
          fail("{}: input {} has extent {} on axis {}, input 0 {}; only axis {} may differ", kOp, i,
               e.constant(), k, out.constant(), axis);
      } else if (e.is_constant()) {
        out = e;  // the more precise of two extents the run checks equal
      }
    }
  }
  TensorDesc out = from_shape_expr(shape, first.dtype);
  // Shape tensors with known values (dims gathered from a Shape, constants) join at build time.
  bool known = first.rank() == 1;
  for (auto const& d : in) known = known && d.has_value();
  if (known) {
    std::vector<ShapeExpr> values;
    for (auto const& d : in) values.insert(values.end(), d.value->begin(), d.value->end());
    return {out.with_value(std::move(values))};
  }
  return {out};
}

// The run's shapes, checked: the inputs agree on every axis but `axis`.
struct ConcatShape {
  int axis;
  int64_t outer, inner;
};
ConcatShape concat_shape(std::span<const Tensor> in, Tensor const& out, int64_t axis_attr) {
  ConcatShape c{};
  c.axis = normalize_axis(axis_attr, out.rank(), "onnx::Concat: attribute 'axis'");
  for (size_t i = 0; i < in.size(); ++i) {
    bool same = in[i].rank() == out.rank();
    for (int k = 0; same && k < out.rank(); ++k)
      same = k == c.axis || in[i].shape[k] == out.shape[k];
    if (!same)
      fail("{}: input {} has shape {}, input 0 {}; only axis {} may differ", kOp, i,
           to_string(in[i].shape), to_string(in[0].shape), c.axis);
  }
  c.outer = extent_product(out.shape, 0, c.axis);
  c.inner = extent_product(out.shape, c.axis + 1, out.rank());
  return c;
}

void concat_cpu(std::span<const Tensor> in, Tensor const& out, int64_t axis_attr) {
  ConcatShape c = concat_shape(in, out, axis_attr);
  size_t esize = element_size(out.dtype);
  size_t row = static_cast<size_t>(out.shape[c.axis] * c.inner) * esize;
  auto* dst = static_cast<unsigned char*>(out.data);
  size_t column = 0;  // where input i starts in an output row, in bytes
  for (auto const& x : in) {
    size_t block = static_cast<size_t>(x.shape[c.axis] * c.inner) * esize;
    auto const* src = static_cast<unsigned char const*>(x.data);
#pragma omp parallel for schedule(static) if (static_cast <size_t>(c.outer) * block >= (1u << 18))
    for (int64_t o = 0; o < c.outer; ++o)
      std::copy_n(src + static_cast<size_t>(o) * block, block,
                  dst + static_cast<size_t>(o) * row + column);
    column += block;
  }
}

#ifdef __CUDACC__
void concat_cuda(std::span<const Tensor> in, Tensor const& out, int64_t axis_attr,
                 cudaStream_t stream) {
  ConcatShape c = concat_shape(in, out, axis_attr);
  size_t esize = element_size(out.dtype);
  size_t row = static_cast<size_t>(out.shape[c.axis] * c.inner) * esize;
  auto* dst = static_cast<unsigned char*>(out.data);
  size_t column = 0;
  for (auto const& x : in) {
    size_t block = static_cast<size_t>(x.shape[c.axis] * c.inner) * esize;
    if (block > 0 && c.outer > 0)
      QDP_CUDA_CHECK(cudaMemcpy2DAsync(dst + column, row, x.data, block, block,
                                       static_cast<size_t>(c.outer), cudaMemcpyDeviceToDevice,
                                       stream));
    column += block;
  }
}
#endif

PluginImpl concat_impl(Device device) {
  PluginImpl impl;
  impl.attrs_used = {"axis"};
  impl.bind = [device](Attrs const& attrs) -> BoundImpl {
    return [device, axis = axis_of(attrs)](std::span<const Tensor> in, std::span<Tensor> out,
                                           [[maybe_unused]] Stream stream, Tactic) {
      if (device == Device::CPU) return concat_cpu(in, out[0], axis);
#ifdef __CUDACC__
      concat_cuda(in, out[0], axis, native(stream));
#endif
    };
  };
  return impl;
}

PluginDefinition concat_definition() {
  PluginDefinition def;
  def.id = "onnx::Concat";
  def.num_inputs = 1;
  def.num_outputs = 1;
  def.variadic = true;
  def.attrs = {AttrSpec{"axis", AttrType::INT64, std::nullopt}};  // required, as in ONNX
  def.desc = concat_desc;
  def.impls.emplace(Device::CPU, concat_impl(Device::CPU));
#ifdef __CUDACC__
  def.impls.emplace(Device::CUDA, concat_impl(Device::CUDA));
#endif
  return def;
}

[[maybe_unused]] Registration const concat = [] {
  detail::commit_definition(concat_definition(), nullptr);
  return Registration{"onnx::Concat"};
}();

}  // namespace
}  // namespace qdp::ops
