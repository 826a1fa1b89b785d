// Shape values and views: Shape, Size, Reshape, Squeeze, Unsqueeze, Flatten, Identity.
//
// Shape and Size give their output's elements as shape expressions (TensorDesc::value), so the
// builder computes them when the engine is built and nothing runs for them at run time; what
// reads them (Reshape's shape, Slice's starts, ...) is a shape input. The views change only a
// tensor's shape: their output is their input (aliased), so their impls move no data (the
// runtime copies the input first where the memory cannot be shared), and a shape value passes
// through them unchanged.
#include <algorithm>
#include <limits>

#include "ops/common.hpp"

#ifdef __CUDACC__
#include <qdp/cuda.hpp>
#endif

namespace qdp::ops {
namespace {

// The output of a view: the input's memory with another shape, and its value if it has one.
TensorDesc view(TensorDesc const& in, std::vector<ShapeExpr> shape) {
  TensorDesc out = in.aliased();
  out.shape_expr = std::move(shape);
  if (in.value && out.rank() <= 1) out.value = in.value;
  return out;
}

// A view's impl: nothing to compute, but the run's shapes must agree (a Reshape to a shape whose
// size differs at run time is an error, not a wild read).
void check_view(std::string_view op, Tensor const& in, Tensor const& out) {
  if (in.numel() != out.numel())
    fail("{}: cannot view a tensor of shape {} ({} elements) as {} ({} elements)", op,
         to_string(in.shape), in.numel(), to_string(out.shape), out.numel());
}

std::vector<int64_t> constants(TensorDesc const& values, std::string_view op,
                               std::string_view what) {
  std::vector<int64_t> out;
  for (auto const& e : *values.value) {
    if (!e.is_constant())
      fail("{}: {} must be constants when the engine is built, but element {} is {}", op, what,
           out.size(), e.to_string());
    out.push_back(e.constant());
  }
  return out;
}

// ---- Shape, Size -----------------------------------------------------------------------------
struct ShapeAttrs {
  int64_t start = 0;
  int64_t end = std::numeric_limits<int64_t>::max();  // ONNX: absent means the rank
};
QDP_ATTRS(ShapeAttrs, start, end);

// Writes a shape's extents into an INT64 output (used only when the builder did not fold it).
void write_extents(Dims const& d, int first, Tensor const& out, Stream stream, Device device) {
  std::vector<int64_t> v;
  for (int i = 0; i < static_cast<int>(out.numel()); ++i) v.push_back(d[first + i]);
  if (v.empty()) return;
  if (device == Device::CPU) {
    std::memcpy(out.data, v.data(), v.size() * 8);
    return;
  }
#ifdef __CUDACC__
  QDP_CUDA_CHECK(
      cudaMemcpyAsync(out.data, v.data(), v.size() * 8, cudaMemcpyHostToDevice, native(stream)));
  QDP_CUDA_CHECK(cudaStreamSynchronize(native(stream)));  // `v` is a local: wait for the copy
#else
  (void)stream;
#endif
}

int clamp_axis(int64_t a, int rank) {
  if (a < 0) a += rank;
  return static_cast<int>(std::clamp<int64_t>(a, 0, rank));
}

QDP_PLUGIN(shape_op, "onnx::Shape")
    .desc([](TensorDesc const& data, ShapeAttrs const& a) {
      int first = clamp_axis(a.start, data.rank()), last = clamp_axis(a.end, data.rank());
      std::vector<ShapeExpr> extents;
      for (int i = first; i < last; ++i) extents.push_back(data.shape_expr[static_cast<size_t>(i)]);
      return TensorDesc(DataType::INT64, {}).with_value(std::move(extents));
    })
    .impl<qdp::cpu>([](In<> data, Out<int64_t> out, ShapeAttrs const& a) {
      write_extents(data.shape(), clamp_axis(a.start, data.rank()), out.tensor(), {}, Device::CPU);
    })
    .impl<qdp::cuda>([](In<> data, Out<int64_t> out, ShapeAttrs const& a, Stream s) {
      write_extents(data.shape(), clamp_axis(a.start, data.rank()), out.tensor(), s, Device::CUDA);
    });

QDP_PLUGIN(size_op, "onnx::Size")
    .desc([](TensorDesc const& data) {
      return TensorDesc(DataType::INT64, {}).with_value({data.numel()}, /*scalar=*/true);
    })
    .impl<qdp::cpu>([](In<> data, Out<int64_t> out) { *out.data() = data.numel(); })
    .impl<qdp::cuda>([](In<> data, Out<int64_t> out, Stream s) {
      Dims d{data.numel()};
      write_extents(d, 0, out.tensor(), s, Device::CUDA);
    });

// ---- Reshape -----------------------------------------------------------------------------------
struct ReshapeAttrs {
  int64_t allowzero = 0;
};
QDP_ATTRS(ReshapeAttrs, allowzero);

std::vector<ShapeExpr> reshaped(TensorDesc const& data, TensorDesc const& shape, bool allowzero) {
  if (shape.rank() != 1) fail("Reshape: the shape input must be 1-D, it has rank {}", shape.rank());
  std::vector<ShapeExpr> out;
  int infer = -1;
  ShapeExpr known = 1;
  for (size_t i = 0; i < shape.value->size(); ++i) {
    ShapeExpr e = (*shape.value)[i];
    if (e.is_constant() && e.constant() == 0 && !allowzero) {
      if (i >= data.shape_expr.size())
        fail("Reshape: shape element {} is 0 (copy the input's extent), but the input has rank {}",
             i, data.rank());
      e = data.shape_expr[i];
    } else if (e.is_constant() && e.constant() == -1) {
      if (infer >= 0)
        fail("Reshape: the shape has more than one -1 (elements {} and {})", infer, i);
      infer = static_cast<int>(i);
      out.emplace_back(1);
      continue;
    } else if (e.is_constant() && e.constant() < -1) {
      fail("Reshape: shape element {} is {}; extents are >= 0, or -1 (inferred) or 0 (copied)", i,
           e.constant());
    }
    known = known * e;
    out.push_back(e);
  }
  ShapeExpr total = data.numel();
  if (infer >= 0) {
    if (total.is_constant() && known.is_constant() &&
        (known.constant() == 0 || total.constant() % known.constant() != 0))
      fail("Reshape: cannot infer the -1 extent: {} elements are not a multiple of {}",
           total.constant(), known.constant());
    out[static_cast<size_t>(infer)] = total / known;
  } else if (total.is_constant() && known.is_constant() && total.constant() != known.constant()) {
    std::string dims;
    for (auto const& e : out) dims += (dims.empty() ? "" : ", ") + e.to_string();
    fail("Reshape: cannot reshape {} elements into [{}] ({} elements)", total.constant(), dims,
         known.constant());
  }
  return out;
}

QDP_PLUGIN(reshape_op, "onnx::Reshape")
    .desc([](TensorDesc const& data, TensorDesc const& shape, ReshapeAttrs const& a) {
      if (a.allowzero != 0 && a.allowzero != 1)
        fail("Reshape: attribute allowzero must be 0 or 1, not {}", a.allowzero);
      return view(data, reshaped(data, shape, a.allowzero == 1));
    })
    .autotune(FloatTypes<2>{})
    .shape_inputs({1})
    .impl<qdp::cpu>([](In<> data, In<>, Out<> out) {
      check_view("Reshape", data.tensor(), out.tensor());
    })
    .impl<qdp::cuda>([](In<> data, In<>, Out<> out) {
      check_view("Reshape", data.tensor(), out.tensor());
    });

// ---- Squeeze, Unsqueeze, Flatten, Identity -------------------------------------------------
QDP_PLUGIN(squeeze_op, "onnx::Squeeze")
    .desc([](TensorDesc const& data, TensorDesc const& axes_in) {
      std::vector<bool> drop(static_cast<size_t>(data.rank()), false);
      if (absent(axes_in)) {  // every extent of 1
        for (int i = 0; i < data.rank(); ++i) {
          auto const& e = data.shape_expr[static_cast<size_t>(i)];
          if (!e.is_constant())
            fail(
                "Squeeze without axes: dimension {} ({}) is not known when the engine is built; "
                "give the axes",
                i, e.to_string());
          drop[static_cast<size_t>(i)] = e.constant() == 1;
        }
      } else {
        for (int64_t a : constants(axes_in, "Squeeze", "the axes")) {
          int axis = normalize_axis(a, data.rank(), "Squeeze: axis");
          auto const& e = data.shape_expr[static_cast<size_t>(axis)];
          if (e.is_constant() && e.constant() != 1)
            fail("Squeeze: dimension {} has extent {}; only extents of 1 can be squeezed", axis,
                 e.constant());
          drop[static_cast<size_t>(axis)] = true;
        }
      }
      std::vector<ShapeExpr> shape;
      for (int i = 0; i < data.rank(); ++i)
        if (!drop[static_cast<size_t>(i)]) shape.push_back(data.shape_expr[static_cast<size_t>(i)]);
      return view(data, std::move(shape));
    })
    .autotune(FloatTypes<2>{})
    .shape_inputs({1})
    .impl<qdp::cpu>([](In<> data, In<>, Out<> out) {
      check_view("Squeeze", data.tensor(), out.tensor());
    })
    .impl<qdp::cuda>([](In<> data, In<>, Out<> out) {
      check_view("Squeeze", data.tensor(), out.tensor());
    });

QDP_PLUGIN(unsqueeze_op, "onnx::Unsqueeze")
    .desc([](TensorDesc const& data, TensorDesc const& axes_in) {
      if (absent(axes_in)) fail("Unsqueeze: the axes input is required");
      auto axes = constants(axes_in, "Unsqueeze", "the axes");
      int rank = data.rank() + static_cast<int>(axes.size());
      if (rank > kMaxRank)
        fail("Unsqueeze: the output would have rank {} (at most {})", rank, kMaxRank);
      std::vector<bool> inserted(static_cast<size_t>(rank), false);
      for (int64_t a : axes) {
        int axis = normalize_axis(a, rank, "Unsqueeze: axis");
        if (inserted[static_cast<size_t>(axis)]) fail("Unsqueeze: axis {} is given twice", a);
        inserted[static_cast<size_t>(axis)] = true;
      }
      std::vector<ShapeExpr> shape;
      size_t next = 0;
      for (int i = 0; i < rank; ++i)
        shape.push_back(inserted[static_cast<size_t>(i)] ? ShapeExpr(1) : data.shape_expr[next++]);
      return view(data, std::move(shape));
    })
    .autotune(FloatTypes<2>{})
    .shape_inputs({1})
    .impl<qdp::cpu>([](In<> data, In<>, Out<> out) {
      check_view("Unsqueeze", data.tensor(), out.tensor());
    })
    .impl<qdp::cuda>([](In<> data, In<>, Out<> out) {
      check_view("Unsqueeze", data.tensor(), out.tensor());
    });

struct FlattenAttrs {
  int64_t axis = 1;
};
QDP_ATTRS(FlattenAttrs, axis);

QDP_PLUGIN(flatten_op, "onnx::Flatten")
    .desc([](TensorDesc const& data, FlattenAttrs const& a) {
      int r = data.rank();
      if (a.axis < -r || a.axis > r)
        fail("Flatten: axis {} is out of range for rank {} (valid: {}..{})", a.axis, r, -r, r);
      size_t axis = static_cast<size_t>(a.axis < 0 ? a.axis + r : a.axis);
      std::span<const ShapeExpr> dims(data.shape_expr);
      return view(data, {numel(dims.first(axis)), numel(dims.subspan(axis))});
    })
    .autotune(FloatTypes<1>{})
    .impl<qdp::cpu>([](In<> data, Out<> out) {
      check_view("Flatten", data.tensor(), out.tensor());
    })
    .impl<qdp::cuda>([](In<> data, Out<> out) {
      check_view("Flatten", data.tensor(), out.tensor());
    });

// Dropout at inference: the identity. Training mode (a mask, random drops) is not supported.
struct DropoutAttrs {
  int64_t seed = 0;  // used in training mode only
};
QDP_ATTRS(DropoutAttrs, seed);

QDP_PLUGIN(dropout_op, "onnx::Dropout")
    .desc([](TensorDesc const& data, TensorDesc const& ratio, TensorDesc const& training_mode,
             DropoutAttrs const&) {
      (void)ratio;  // only scales in training mode
      bool training =
          !absent(training_mode) &&
          (!training_mode.value ||
           std::any_of(training_mode.value->begin(), training_mode.value->end(),
                       [](ShapeExpr const& e) { return !e.is_constant() || e.constant() != 0; }));
      if (training)
        fail(ErrorCode::Unsupported,
             "Dropout in training mode is not supported: qdp runs inference, where Dropout is the "
             "identity (training_mode must be absent or a constant false)");
      return view(data, data.shape_expr);
    })
    .autotune(FloatTypes<3>{})
    .impl<qdp::cpu>([](In<>, In<>, In<>, Out<>) {})
    .impl<qdp::cuda>([](In<>, In<>, In<>, Out<>) {});

QDP_PLUGIN(identity_op, "onnx::Identity")
    .desc([](TensorDesc const& data) { return view(data, data.shape_expr); })
    .autotune(FloatTypes<1>{})
    .impl<qdp::cpu>([](In<>, Out<>) {})
    .impl<qdp::cuda>([](In<>, Out<>) {});

}  // namespace
}  // namespace qdp::ops
