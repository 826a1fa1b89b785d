// onnx::Where(condition, X, Y) with numpy broadcasting of all three, and onnx::Cast (attribute
// `to`, an ONNX TensorProto data type number).
#include "ops/elementwise/elementwise.hpp"

namespace qdp::ops::elementwise {
namespace {

template <class T>
struct WhereApply {
  bool const* c;
  T const* x;
  T const* y;
  T* out;
  QDP_HD void operator()(int64_t i, int64_t const* off) const {
    out[i] = c[off[0]] ? x[off[1]] : y[off[2]];
  }
};

BroadcastPlan<3> where_plan(Tensor const& c, Tensor const& x, Tensor const& y, Tensor const& out) {
  return make_broadcast_plan<3>({c.shape, x.shape, y.shape}, out.shape, "Where");
}

[[maybe_unused]] static Registration const where =
    define("onnx::Where")
        .desc([](TensorDesc const& c, TensorDesc const& x, TensorDesc const& y) {
          check_dtype(c.dtype, {DataType::BOOL}, "Where", "condition");
          if (x.dtype != y.dtype)
            fail("Where: inputs X and Y must have the same type, got {} and {}", name(x.dtype),
                 name(y.dtype));
          TensorDesc all[] = {c, x, y};
          return from_shape_expr(broadcast_shapes(all, "Where"), x.dtype);
        })
        .autotune(FloatTypes<3>{})
        .impl<qdp::cpu, float, half, bfloat16, int8_t, uint8_t, int32_t, int64_t, bool>(
            []<class T>(In<bool> c, In<T> x, In<T> y, Out<T> out) {
              broadcast_cpu(where_plan(c.tensor(), x.tensor(), y.tensor(), out.tensor()),
                            WhereApply<T>{c.data(), x.data(), y.data(), out.data()});
            })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16, int8_t, uint8_t, int32_t, int64_t, bool>(
            []<class T>(In<bool> c, In<T> x, In<T> y, Out<T> out, Stream s) {
              broadcast_cuda(where_plan(c.tensor(), x.tensor(), y.tensor(), out.tensor()),
                             WhereApply<T>{c.data(), x.data(), y.data(), out.data()}, native(s));
            })
#endif
    ;

// ---- Cast -------------------------------------------------------------------------------------
struct CastAttrs {
  int64_t to = 0;                 // required in ONNX: 0 (UNDEFINED) is refused
  int64_t saturate = 1;           // opset 19: float8 targets only, which qdp has not
  std::string round_mode = "up";  // opset 24: float8/float4 targets only
};
QDP_ATTRS(CastAttrs, to, saturate, round_mode);

// ONNX TensorProto.DataType numbers -> qdp types.
DataType cast_target(int64_t to) {
  switch (to) {
    case 1:
      return DataType::FP32;
    case 2:
      return DataType::UINT8;
    case 3:
      return DataType::INT8;
    case 6:
      return DataType::INT32;
    case 7:
      return DataType::INT64;
    case 9:
      return DataType::BOOL;
    case 10:
      return DataType::FP16;
    case 16:
      return DataType::BF16;
    default:
      break;
  }
  fail(
      "Cast: attribute to = {} is not supported; allowed: 1 (FLOAT), 2 (UINT8), 3 (INT8), "
      "6 (INT32), 7 (INT64), 9 (BOOL), 10 (FLOAT16), 16 (BFLOAT16)",
      to);
}

template <class X, class Y>
struct CastElement {
  QDP_HD_ANY
  QDP_HD Y operator()(X v) const { return convert<Y>(Num<X>::load(v)); }
};

[[maybe_unused]] static Registration const cast =
    define("onnx::Cast")
        .desc([](TensorDesc const& x, CastAttrs const& a) {
          TensorDesc out = from_shape_expr(x.shape_expr, cast_target(a.to));
          // A shape value stays one through an integer cast (torch casts shapes to INT64).
          if (x.value && (out.dtype == DataType::INT64 || out.dtype == DataType::INT32))
            out.value = x.value;
          return out;
        })
        .impl<qdp::cpu>([](In<> x, Out<> y) {
          visit_dtype<half, bfloat16>(x.dtype(), [&]<class X>() {
            visit_dtype<half, bfloat16>(y.dtype(), [&]<class Y>() {
              map_cpu(static_cast<X const*>(x.tensor().data), static_cast<Y*>(y.tensor().data),
                      x.numel(), CastElement<X, Y>{});
            });
          });
        })
#ifdef __CUDACC__
        .impl<qdp::cuda>([](In<> x, Out<> y, Stream s) {
          visit_dtype<__half, __nv_bfloat16>(x.dtype(), [&]<class X>() {
            visit_dtype<__half, __nv_bfloat16>(y.dtype(), [&]<class Y>() {
              map_cuda(static_cast<X const*>(x.tensor().data), static_cast<Y*>(y.tensor().data),
                       x.numel(), CastElement<X, Y>{}, native(s));
            });
          });
        })
#endif
    ;

}  // namespace
}  // namespace qdp::ops::elementwise
