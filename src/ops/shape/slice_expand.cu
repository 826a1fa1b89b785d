// Slice, Expand, ConstantOfShape, Range: outputs whose shapes come from values known when the
// engine is built (shape inputs), and whose elements are a strided copy of the input (Slice,
// Expand, ConstantOfShape's fill) or an arithmetic sequence (Range). Each passes shape values
// through where its inputs have them, so torch's shape arithmetic folds at build time.
#include <algorithm>
#include <limits>

#include "ops/common.hpp"
#include "ops/shape/strided_copy.hpp"

namespace qdp::ops {
namespace {

void strided_copy(StridedCopy const& p, Tensor const& in, Tensor const& out, Stream stream) {
  if (out.device == Device::CPU)
    return strided_copy_cpu(p, element_size(in.dtype), in.data, out.data);
#ifdef __CUDACC__
  strided_copy_cuda(p, element_size(in.dtype), in.data, out.data, stream);
#else
  (void)stream;
#endif
}

std::vector<int64_t> host_values(Tensor const& t) {
  auto const* v = static_cast<int64_t const*>(t.data);  // shape inputs: INT64 on the host
  return {v, v + t.numel()};
}

// ---- Slice ----------------------------------------------------------------------------------
// One axis of a slice, ONNX's clamping: start and end in [0, extent] for a positive step, in
// [-1, extent - 1] for a negative one.
struct AxisSlice {
  int64_t start, length, step;
};
AxisSlice slice_axis(int64_t start, int64_t end, int64_t step, int64_t extent) {
  if (extent == 0) return {0, 0, step};  // (and [0, -1] below would be no range)
  if (start < 0) start += extent;
  if (end < 0) end += extent;
  // ceil(span / |step|) without overflow, for any step (INT64_MIN included).
  auto count = [](int64_t span, uint64_t magnitude) -> int64_t {
    return span <= 0 ? 0 : static_cast<int64_t>((static_cast<uint64_t>(span) - 1) / magnitude + 1);
  };
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, extent);
    end = std::clamp<int64_t>(end, 0, extent);
    return {start, count(end - start, static_cast<uint64_t>(step)), step};
  }
  start = std::clamp<int64_t>(start, 0, extent - 1);
  end = std::clamp<int64_t>(end, -1, extent - 1);
  return {start, count(start - end, uint64_t{0} - static_cast<uint64_t>(step)), step};
}

// The same on a symbolic extent: starts and ends that are symbolic are taken as non-negative
// (what exporters write: x[:, :seq_len]); the impl recomputes it all from the run's values.
ShapeExpr slice_length(ShapeExpr const& start_e, ShapeExpr const& end_e, int64_t step,
                       ShapeExpr const& extent) {
  if (extent.is_constant() && start_e.is_constant() && end_e.is_constant())
    return slice_axis(start_e.constant(), end_e.constant(), step, extent.constant()).length;
  auto clamp_pos = [&](ShapeExpr const& e) -> ShapeExpr {  // into [0, extent]
    if (!e.is_constant()) return min(e, extent);
    int64_t v = e.constant();
    if (v >= std::numeric_limits<int32_t>::max()) return extent;  // "to the end"
    return v < 0 ? max(extent + ShapeExpr(v), ShapeExpr(0)) : min(ShapeExpr(v), extent);
  };
  if (step < 0)
    fail(
        "Slice: a negative step on a dimension not known when the engine is built ({}) is not "
        "supported",
        extent.to_string());
  ShapeExpr s = clamp_pos(start_e), e = clamp_pos(end_e);
  return max(cdiv(e - s, ShapeExpr(step)), ShapeExpr(0));
}

struct SlicePlan {
  std::vector<int> axes;
  std::vector<ShapeExpr> starts, ends;
  std::vector<int64_t> steps;
};

SlicePlan slice_plan(int rank, std::vector<ShapeExpr> const& starts,
                     std::vector<ShapeExpr> const& ends, std::vector<int64_t> axes,
                     std::vector<int64_t> steps) {
  if (starts.size() != ends.size())
    fail("Slice: starts has {} elements but ends has {}", starts.size(), ends.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    fail("Slice: starts, ends, axes and steps need the same length ({}, {}, {}, {})", starts.size(),
         ends.size(), axes.size(), steps.size());
  if (rank == 0 && !axes.empty()) fail("Slice: the data is a scalar; it has no axis to slice");
  SlicePlan p;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    int axis = normalize_axis(axes[i], rank, "Slice: axis");
    if (seen[static_cast<size_t>(axis)]) fail("Slice: axis {} is given twice", axes[i]);
    seen[static_cast<size_t>(axis)] = true;
    if (steps[i] == 0) fail("Slice: step {} is 0; steps must not be 0", i);
    p.axes.push_back(axis);
  }
  p.starts = starts;
  p.ends = ends;
  p.steps = std::move(steps);
  return p;
}

std::vector<int64_t> constants_of(TensorDesc const& d, std::string_view what) {
  std::vector<int64_t> out;
  if (absent(d)) return out;
  for (auto const& e : *d.value) {
    if (!e.is_constant())
      fail("Slice: {} must be constants when the engine is built, element {} is {}", what,
           out.size(), e.to_string());
    out.push_back(e.constant());
  }
  return out;
}

TensorDesc slice_desc(TensorDesc const& data, TensorDesc const& starts, TensorDesc const& ends,
                      TensorDesc const& axes, TensorDesc const& steps) {
  SlicePlan p = slice_plan(data.rank(), *starts.value, *ends.value, constants_of(axes, "the axes"),
                           constants_of(steps, "the steps"));
  TensorDesc out = data.like();
  for (size_t i = 0; i < p.axes.size(); ++i) {
    auto& extent = out.shape_expr[static_cast<size_t>(p.axes[i])];
    extent = slice_length(p.starts[i], p.ends[i], p.steps[i], extent);
  }
  // A slice of a shape value (shape[1:3]) is a shape value.
  if (data.value && data.rank() == 1 && !p.axes.empty() && out.shape_expr[0].is_constant() &&
      p.starts[0].is_constant() && p.ends[0].is_constant()) {
    auto a = slice_axis(p.starts[0].constant(), p.ends[0].constant(), p.steps[0],
                        static_cast<int64_t>(data.value->size()));
    std::vector<ShapeExpr> v;
    for (int64_t i = 0; i < a.length; ++i)
      v.push_back((*data.value)[static_cast<size_t>(a.start + i * a.step)]);
    out.value = std::move(v);
  }
  return out;
}

// The strided copy a slice is, at the run's shapes and values.
StridedCopy slice_copy(Tensor const& data, Tensor const& starts, Tensor const& ends,
                       Tensor const& axes, Tensor const& steps, Tensor const& out) {
  auto to_exprs = [](std::vector<int64_t> const& v) {
    return std::vector<ShapeExpr>(v.begin(), v.end());
  };
  SlicePlan p = slice_plan(data.rank(), to_exprs(host_values(starts)), to_exprs(host_values(ends)),
                           absent(axes) ? std::vector<int64_t>{} : host_values(axes),
                           absent(steps) ? std::vector<int64_t>{} : host_values(steps));
  StridedCopy c;
  c.rank = data.rank();
  Dims strides = dense_strides(data.shape, TensorFormat::LINEAR);
  for (int d = 0; d < c.rank; ++d) {
    c.out_shape[d] = data.shape[d];
    c.in_stride[d] = strides[d];
  }
  for (size_t i = 0; i < p.axes.size(); ++i) {
    int d = p.axes[i];
    auto a = slice_axis(p.starts[i].constant(), p.ends[i].constant(), p.steps[i], data.shape[d]);
    c.out_shape[d] = a.length;
    c.offset += a.start * strides[d];
    // One element or none: the step is never taken (and may be huge).
    c.in_stride[d] = a.length > 1 ? strides[d] * a.step : strides[d];
  }
  c.numel = 1;
  for (int d = 0; d < c.rank; ++d) {
    if (c.out_shape[d] != out.shape[d])
      fail("Slice: at these shapes dimension {} has {} elements, but the output has {}", d,
           c.out_shape[d], out.shape[d]);
    c.numel *= c.out_shape[d];
  }
  return c;
}

QDP_PLUGIN(slice_op, "onnx::Slice")
    .desc([](TensorDesc const& data, TensorDesc const& starts, TensorDesc const& ends,
             TensorDesc const& axes,
             TensorDesc const& steps) { return slice_desc(data, starts, ends, axes, steps); })
    .autotune(FloatTypes<5>{})
    .shape_inputs({1, 2, 3, 4})
    .impl<qdp::cpu>([](In<> data, In<> starts, In<> ends, In<> axes, In<> steps, Out<> out) {
      auto c = slice_copy(data.tensor(), starts.tensor(), ends.tensor(), axes.tensor(),
                          steps.tensor(), out.tensor());
      strided_copy(c, data.tensor(), out.tensor(), {});
    })
    .impl<qdp::cuda>([](In<> data, In<> starts, In<> ends, In<> axes, In<> steps, Out<> out,
                        Stream s) {
      auto c = slice_copy(data.tensor(), starts.tensor(), ends.tensor(), axes.tensor(),
                          steps.tensor(), out.tensor());
      strided_copy(c, data.tensor(), out.tensor(), s);
    });

// ---- Expand ----------------------------------------------------------------------------------
// Input elements repeated along the dimensions where the input has extent 1 (numpy
// broadcasting of the input to the shape; the shape's 1s keep the input's extents).
StridedCopy broadcast_copy(Dims const& in, Dims const& out) {
  StridedCopy c;
  c.rank = out.rank();
  Dims strides = dense_strides(in, TensorFormat::LINEAR);
  int shift = out.rank() - in.rank();
  c.numel = out.numel();
  for (int d = 0; d < c.rank; ++d) {
    c.out_shape[d] = out[d];
    int k = d - shift;
    c.in_stride[d] = (k < 0 || in[k] == 1) ? 0 : strides[k];
  }
  return c;
}

QDP_PLUGIN(expand_op, "onnx::Expand")
    .desc([](TensorDesc const& input, TensorDesc const& shape) {
      if (shape.rank() != 1)
        fail("Expand: the shape input must be 1-D, it has rank {}", shape.rank());
      TensorDesc target(input.dtype, *shape.value);
      std::vector<TensorDesc> both{input, target};
      TensorDesc out = input.like();
      out.shape_expr = broadcast_shapes(both, "Expand");
      if (input.value && out.rank() <= 1 && out.shape_expr.empty() == false &&
          is_value_extent(out.shape_expr[0]) && input.value->size() == 1) {
        out.value = std::vector<ShapeExpr>(static_cast<size_t>(out.shape_expr[0].constant()),
                                           (*input.value)[0]);
      }
      return out;
    })
    .autotune(FloatTypes<2>{})
    .shape_inputs({1})
    .impl<qdp::cpu>([](In<> input, In<>, Out<> out) {
      Dims target = broadcast_dims(std::vector<Dims>{input.shape(), out.shape()}, "Expand");
      if (!(target == out.shape())) fail("Expand: the output shape does not match at run time");
      strided_copy(broadcast_copy(input.shape(), out.shape()), input.tensor(), out.tensor(), {});
    })
    .impl<qdp::cuda>([](In<> input, In<>, Out<> out, Stream s) {
      Dims target = broadcast_dims(std::vector<Dims>{input.shape(), out.shape()}, "Expand");
      if (!(target == out.shape())) fail("Expand: the output shape does not match at run time");
      strided_copy(broadcast_copy(input.shape(), out.shape()), input.tensor(), out.tensor(), s);
    });

// ---- ConstantOfShape ----------------------------------------------------------------------------
// The importer passes the node's `value` attribute (a one-element tensor) as input 1: its type is
// the output's. Absent: FP32 zeros.
QDP_PLUGIN(constant_of_shape_op, "onnx::ConstantOfShape")
    .desc([](TensorDesc const& shape, TensorDesc const& value) {
      if (shape.rank() != 1)
        fail("ConstantOfShape: the shape input must be 1-D, it has rank {}", shape.rank());
      bool zero = absent(value);
      if (!zero && !(value.numel() == ShapeExpr(1)))
        fail("ConstantOfShape: the value must hold exactly one element");
      TensorDesc out(zero ? DataType::FP32 : value.dtype, *shape.value);
      if (value.value && out.rank() == 1 && is_value_extent(out.shape_expr[0]))
        out.value = std::vector<ShapeExpr>(static_cast<size_t>(out.shape_expr[0].constant()),
                                           (*value.value)[0]);
      return out;
    })
    .shape_inputs({0})
    .impl<qdp::cpu>([](In<>, In<> value, Out<> out) {
      if (absent(value.tensor())) {
        if (out.tensor().bytes() > 0) std::memset(out.data(), 0, out.tensor().bytes());  // non-null
        return;
      }
      StridedCopy c;
      c.rank = 1;
      c.out_shape[0] = c.numel = out.numel();
      strided_copy(c, value.tensor(), out.tensor(), {});
    })
    .impl<qdp::cuda>([](In<>, In<> value, Out<> out, Stream s) {
#ifdef __CUDACC__
      if (absent(value.tensor())) {
        QDP_CUDA_CHECK(cudaMemsetAsync(out.data(), 0, out.tensor().bytes(), native(s)));
        return;
      }
#endif
      StridedCopy c;
      c.rank = 1;
      c.out_shape[0] = c.numel = out.numel();
      strided_copy(c, value.tensor(), out.tensor(), s);
    });

// ---- Range ------------------------------------------------------------------------------------
// start + i * delta for i < max(ceil((limit - start) / delta), 0). The length must be known when
// the engine is built: integer scalars with values (constants, or shape arithmetic).
ShapeExpr range_length(TensorDesc const& start, TensorDesc const& limit, TensorDesc const& delta) {
  for (auto const* d : {&start, &limit, &delta})
    if (!d->value)
      fail(
          "Range: start, limit and delta must be integers known when the engine is built "
          "(constants or computed from shapes); a {} input computed at run time gives a length "
          "qdp cannot plan",
          name(d->dtype));
  for (auto const* d : {&start, &limit, &delta})
    if (d->value->size() != 1)
      fail("Range: start, limit and delta must be scalars (one element); one has {}",
           d->value->size());
  ShapeExpr s = (*start.value)[0], l = (*limit.value)[0], d = (*delta.value)[0];
  if (!d.is_constant() || d.constant() == 0) fail("Range: delta must be a non-zero constant");
  // ONNX: max(ceil((limit - start) / delta), 0), for either sign of delta.
  return max(cdiv(l - s, d), ShapeExpr(0));
}

template <class T>
void range_cpu(T const* start, T const* delta, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(*start + static_cast<T>(i) * *delta);
}

#ifdef __CUDACC__
template <class T>
__global__ void range_kernel(T const* start, T const* delta, T* out, int64_t n) {
  int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i < n) out[i] = static_cast<T>(*start + static_cast<T>(i) * *delta);
}
#endif

QDP_PLUGIN(range_op, "onnx::Range")
    .desc([](TensorDesc const& start, TensorDesc const& limit, TensorDesc const& delta) {
      if (start.dtype != limit.dtype || start.dtype != delta.dtype)
        fail("Range: start, limit and delta must have one type, not {}, {} and {}",
             name(start.dtype), name(limit.dtype), name(delta.dtype));
      if (start.dtype != DataType::INT64 && start.dtype != DataType::INT32)
        fail(ErrorCode::Unsupported,
             "Range of {} is not supported: qdp plans Range's length at build time, for INT32 "
             "and INT64 inputs",
             name(start.dtype));
      TensorDesc out(start.dtype, {range_length(start, limit, delta)});
      auto const& n = out.shape_expr[0];
      if (is_value_extent(n) && (*start.value)[0].is_constant()) {
        std::vector<ShapeExpr> v;
        for (int64_t i = 0; i < n.constant(); ++i)
          v.push_back((*start.value)[0] + ShapeExpr(i) * (*delta.value)[0]);
        out.value = std::move(v);
      }
      return out;
    })
    .impl<qdp::cpu, int32_t, int64_t>([]<class T>(In<T> start, In<T>, In<T> delta, Out<T> out) {
      range_cpu(start.data(), delta.data(), out.data(), out.numel());
    })
    .impl<qdp::cuda, int32_t, int64_t>([]<class T>(In<T> start, In<T>, In<T> delta, Out<T> out,
                                                   Stream s) {
#ifdef __CUDACC__
      int64_t n = out.numel();
      if (n == 0) return;
      range_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, native(s)>>>(
          start.data(), delta.data(), out.data(), n);
      QDP_CUDA_CHECK(cudaGetLastError());
#else
      (void)start, (void)delta, (void)out, (void)s;
#endif
    });

}  // namespace
}  // namespace qdp::ops
