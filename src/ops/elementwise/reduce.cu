// onnx::ReduceSum, ReduceMean, ReduceMax: inputs (data, axes), axes an optional INT64 input
// (opset 18) that must be known at build time; the opset-13 `axes` attribute is taken too.
// Attributes keepdims (1) and noop_with_empty_axes (0).
#include <algorithm>

#include "ops/elementwise/elementwise.hpp"

namespace qdp::ops::elementwise {
namespace {

struct ReduceAttrs {
  int64_t keepdims = 1;
  int64_t noop_with_empty_axes = 0;
  std::vector<int64_t> axes;  // opset 13's attribute; opset 18 passes input 1 instead
};
QDP_ATTRS(ReduceAttrs, keepdims, noop_with_empty_axes, axes);

// The reduced axes, sorted, from the attribute or the given values of input 1; empty with
// noop_with_empty_axes means none, otherwise empty means all.
std::vector<int> reduced_axes(std::vector<int64_t> const& given, int rank, ReduceAttrs const& a,
                              std::string_view op) {
  std::vector<int> axes;
  for (int64_t g : given) axes.push_back(normalize_axis(g, rank, fmt::format("{}: axis", op)));
  if (given.empty() && !a.noop_with_empty_axes)
    for (int d = 0; d < rank; ++d) axes.push_back(d);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    fail("{}: axes name a dimension twice", op);
  return axes;
}

std::vector<int64_t> axes_from_desc(TensorDesc const& axes, ReduceAttrs const& a,
                                    std::string_view op) {
  if (absent(axes)) return a.axes;
  if (!a.axes.empty()) fail("{}: axes given both as the attribute and as input 1", op);
  if (axes.dtype != DataType::INT64)
    fail("{}: input axes is {}, it must be INT64", op, name(axes.dtype));
  if (!axes.has_value())
    fail("{}: input axes must be a constant (known when the network is built)", op);
  std::vector<int64_t> v;
  for (auto const& e : *axes.value) {
    if (!e.is_constant()) fail("{}: input axes must be a constant, not {}", op, e.to_string());
    v.push_back(e.constant());
  }
  return v;
}

// What one output element sums over: the reduced dimensions' extents and input strides, and the
// kept dimensions' extents and input strides (in output order).
struct ReducePlan {
  int kept_rank = 0, red_rank = 0;
  int64_t kept_dims[kMaxRank] = {}, kept_strides[kMaxRank] = {};
  int64_t red_dims[kMaxRank] = {}, red_strides[kMaxRank] = {};
  int64_t outputs = 1, count = 1;
};
ReducePlan make_plan(Dims const& in, std::vector<int> const& axes) {
  ReducePlan p;
  int64_t stride = 1;
  int64_t strides[kMaxRank];
  for (int d = in.rank() - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= in[d];
  }
  for (int d = 0; d < in.rank(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (reduced) {
      p.red_dims[p.red_rank] = in[d];
      p.red_strides[p.red_rank++] = strides[d];
      p.count *= in[d];
    } else {
      p.kept_dims[p.kept_rank] = in[d];
      p.kept_strides[p.kept_rank++] = strides[d];
      p.outputs *= in[d];
    }
  }
  return p;
}

enum class Kind { Sum, Mean, Max };

template <class T>
using ReduceAcc = std::conditional_t<std::is_floating_point_v<Acc<T>>, float,
                                     std::conditional_t<std::is_same_v<T, bool>, bool, int64_t>>;

// Output element o of the reduction.
QDP_HD_ANY
template <Kind K, class T>
QDP_HD T reduce_one(T const* x, ReducePlan const& p, int64_t o) {
  using A = ReduceAcc<T>;
  int64_t base = 0, rem = o;
  for (int d = p.kept_rank - 1; d >= 0; --d) {
    base += (rem % p.kept_dims[d]) * p.kept_strides[d];
    rem /= p.kept_dims[d];
  }
  A acc;
  if constexpr (K == Kind::Max) {
    if constexpr (std::is_floating_point_v<A>)
      acc = -INFINITY;
    else if constexpr (std::is_same_v<A, bool>)
      acc = false;
    else
      acc = static_cast<A>(std::numeric_limits<T>::lowest());
  } else {
    acc = A(0);
  }
  for (int64_t r = 0; r < p.count; ++r) {
    int64_t off = base, q = r;
    for (int d = p.red_rank - 1; d >= 0; --d) {
      off += (q % p.red_dims[d]) * p.red_strides[d];
      q /= p.red_dims[d];
    }
    A v = static_cast<A>(Num<T>::load(x[off]));
    if constexpr (K == Kind::Max)
      acc = v > acc ? v : acc;
    else
      acc = wrapping_add(acc, v);
  }
  if constexpr (K == Kind::Mean) {
    if constexpr (std::is_floating_point_v<A>)
      acc = acc / static_cast<float>(p.count);  // an empty set gives NaN, as numpy's mean
    else
      acc = p.count ? acc / p.count : 0;
  }
  return Num<T>::store(static_cast<Acc<T>>(acc));
}

#ifdef __CUDACC__
template <Kind K, class T>
__global__ void reduce_kernel(T const* __restrict__ x, T* __restrict__ y, ReducePlan p) {
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < p.outputs;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[o] = reduce_one<K>(x, p, o);
}
#endif

// The axes at run time: the attribute, or input 1 (a shape input: INT64 in host memory).
std::vector<int64_t> axes_at_run(Tensor const& axes, ReduceAttrs const& a) {
  if (absent(axes)) return a.axes;
  std::vector<int64_t> v(static_cast<size_t>(axes.numel()));
  std::copy_n(static_cast<int64_t const*>(axes.data), v.size(), v.begin());
  return v;
}

template <Kind K>
Registration reduce(std::string id, std::string_view op) {
  return define(std::move(id))
      .desc([op](TensorDesc const& x, TensorDesc const& axes_in, ReduceAttrs const& a) {
        if (K == Kind::Max)
          check_dtype(x.dtype,
                      {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT8,
                       DataType::UINT8, DataType::INT32, DataType::INT64, DataType::BOOL},
                      op, "data");
        else
          check_dtype(x.dtype, kNumericTypes, op, "data");
        if (a.keepdims != 0 && a.keepdims != 1)
          fail("{}: attribute keepdims is {}; allowed: 0, 1", op, a.keepdims);
        if (a.noop_with_empty_axes != 0 && a.noop_with_empty_axes != 1)
          fail("{}: attribute noop_with_empty_axes is {}; allowed: 0, 1", op,
               a.noop_with_empty_axes);
        auto axes = reduced_axes(axes_from_desc(axes_in, a, op), x.rank(), a, op);
        std::vector<ShapeExpr> shape;
        for (int d = 0; d < x.rank(); ++d) {
          bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
          if (!reduced)
            shape.push_back(x.shape_expr[static_cast<size_t>(d)]);
          else if (a.keepdims)
            shape.push_back(1);
        }
        return from_shape_expr(shape, x.dtype);
      })
      .autotune(FloatTypes<2>{})
      .shape_inputs({1})
      .template impl<qdp::cpu, float, half, bfloat16, int8_t, uint8_t, int32_t, int64_t, bool>(
          [op]<class T>(In<T> x, In<> axes_in, Out<T> y, ReduceAttrs const& a) {
            auto p = make_plan(x.shape(),
                               reduced_axes(axes_at_run(axes_in.tensor(), a), x.rank(), a, op));
            T const* xs = x.data();
            T* ys = y.data();
#pragma omp parallel for schedule(static) if (p.outputs * p.count >= kParallelThreshold)
            for (int64_t o = 0; o < p.outputs; ++o) ys[o] = reduce_one<K>(xs, p, o);
          })
#ifdef __CUDACC__
      .template impl<qdp::cuda, float, __half, __nv_bfloat16, int8_t, uint8_t, int32_t, int64_t,
                     bool>([op]<class T>(In<T> x, In<> axes_in, Out<T> y, ReduceAttrs const& a,
                                         Stream s) {
        auto p =
            make_plan(x.shape(), reduced_axes(axes_at_run(axes_in.tensor(), a), x.rank(), a, op));
        if (p.outputs == 0) return;
        reduce_kernel<K><<<grid_for(p.outputs), kBlock, 0, native(s)>>>(x.data(), y.data(), p);
        QDP_CUDA_CHECK(cudaGetLastError());
      })
#endif
      ;
}

[[maybe_unused]] static Registration const reduce_sum =
    reduce<Kind::Sum>("onnx::ReduceSum", "ReduceSum");
[[maybe_unused]] static Registration const reduce_mean =
    reduce<Kind::Mean>("onnx::ReduceMean", "ReduceMean");
[[maybe_unused]] static Registration const reduce_max =
    reduce<Kind::Max>("onnx::ReduceMax", "ReduceMax");

}  // namespace
}  // namespace qdp::ops::elementwise
