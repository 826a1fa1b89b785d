// Unary operators: onnx::Relu, Neg, Abs (float and integer types), Sigmoid, Tanh, Erf, Sqrt, Exp,
// Log, Sin, Cos, Reciprocal, Floor, Ceil, Gelu, LeakyRelu, HardSigmoid, HardSwish (float types),
// Not (BOOL), and Clip (opset 13: optional scalar min and max inputs).
#include <cfloat>

#include "ops/elementwise/elementwise.hpp"

namespace qdp::ops::elementwise {
namespace {

// ---- the operations, on compute values (float for the float types) --------------------------
#define QDP_FLOAT_UNARY(Name, expr)                         \
  struct Name##Op {                                         \
    static constexpr char const* name = #Name;              \
    QDP_HD float operator()(float x) const { return expr; } \
  }
QDP_FLOAT_UNARY(Sigmoid, 1.0f / (1.0f + expf(-x)));
QDP_FLOAT_UNARY(Tanh, tanhf(x));
struct ErfOp {
  static constexpr char const* name = "Erf";
  QDP_HD float operator()(float x) const { return erff(x); }
  float cpu(float x) const { return erf_cpu(x); }  // vectorizable
};
QDP_FLOAT_UNARY(Sqrt, sqrtf(x));
QDP_FLOAT_UNARY(Exp, expf(x));
QDP_FLOAT_UNARY(Log, logf(x));
QDP_FLOAT_UNARY(Reciprocal, 1.0f / x);
QDP_FLOAT_UNARY(Floor, floorf(x));
QDP_FLOAT_UNARY(Ceil, ceilf(x));
QDP_FLOAT_UNARY(HardSwish, x* fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f)));
QDP_FLOAT_UNARY(Sin, sinf(x));  // rotary position embeddings
QDP_FLOAT_UNARY(Cos, cosf(x));
#undef QDP_FLOAT_UNARY

struct ReluOp {
  static constexpr char const* name = "Relu";
  template <class T>
  QDP_HD T operator()(T x) const {
    return x > T(0) ? x : T(0);
  }
};
struct NegOp {
  static constexpr char const* name = "Neg";
  template <class T>
  QDP_HD T operator()(T x) const {
    return wrapping_neg(x);
  }
};
struct AbsOp {
  static constexpr char const* name = "Abs";
  template <class T>
  QDP_HD T operator()(T x) const {
    return x < T(0) ? wrapping_neg(x) : x;  // Abs(INT_MIN) is INT_MIN, as in numpy
  }
};
struct NotOp {
  QDP_HD bool operator()(bool x) const { return !x; }
};

struct GeluAttrs {
  std::string approximate = "none";
};
QDP_ATTRS(GeluAttrs, approximate);
struct GeluOp {
  bool tanh_approx = false;
  QDP_HD float operator()(float x) const {
    if (tanh_approx) {
      constexpr float kSqrt2OverPi = 0.7978845608028654f;
      return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
    return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
  }
};
// The erf form on the CPU, vectorizable (a type of its own: a choice inside the loop would keep
// the compiler from vectorizing it).
struct GeluErfCpuOp {
  float cpu(float x) const { return 0.5f * x * (1.0f + erf_cpu(x * 0.7071067811865476f)); }
};

struct LeakyReluAttrs {
  float alpha = 0.01f;
};
QDP_ATTRS(LeakyReluAttrs, alpha);
struct LeakyReluOp {
  float alpha;
  QDP_HD float operator()(float x) const { return x >= 0.0f ? x : alpha * x; }
};

struct HardSigmoidAttrs {
  float alpha = 0.2f;
  float beta = 0.5f;
};
QDP_ATTRS(HardSigmoidAttrs, alpha, beta);
struct HardSigmoidOp {
  float alpha, beta;
  QDP_HD float operator()(float x) const { return fmaxf(0.0f, fminf(1.0f, alpha * x + beta)); }
};

// Element functor: load, op, store.
template <class T, class Op>
struct OnElement {
  Op op;
  QDP_HD_ANY
  QDP_HD T operator()(T x) const { return Num<T>::store(op(Num<T>::load(x))); }
};

// On the CPU, an op's cpu() form where it has one (a vectorizable approximation of libm's).
template <class Op>
struct CpuForm {
  Op op;
  float operator()(float x) const { return op.cpu(x); }
};
template <class T, class Op>
void run_cpu(In<T> x, Out<T> y, Op op) {
  if constexpr (requires(float v) { op.cpu(v); })
    map_cpu(x.data(), y.data(), x.numel(), OnElement<T, CpuForm<Op>>{{op}});
  else
    map_cpu(x.data(), y.data(), x.numel(), OnElement<T, Op>{op});
}
#ifdef __CUDACC__
template <class T, class Op>
void run_cuda(In<T> x, Out<T> y, Op op, Stream s) {
  map_cuda(x.data(), y.data(), x.numel(), OnElement<T, Op>{op}, native(s));
}
#endif

TensorDesc unary_desc(TensorDesc const& x, std::string_view op,
                      std::initializer_list<DataType> allowed) {
  check_dtype(x.dtype, allowed, op, "X");
  return from_shape_expr(x.shape_expr, x.dtype);
}

// Float-only ops without attributes.
template <class Op>
Registration float_unary(std::string id) {
  return define(std::move(id))
      .desc([](TensorDesc const& x) { return unary_desc(x, Op::name, kFloatTypes); })
      .autotune(FloatTypes<1>{kMapLayouts})
      .template impl<qdp::cpu, float, half, bfloat16>(
          []<class T>(In<T> x, Out<T> y) { run_cpu(x, y, Op{}); })
#ifdef __CUDACC__
      .template impl<qdp::cuda, float, __half, __nv_bfloat16>(
          []<class T>(In<T> x, Out<T> y, Stream s) { run_cuda(x, y, Op{}, s); })
#endif
      ;
}

// Ops on float and signed integer types.
template <class Op>
Registration signed_unary(std::string id) {
  return define(std::move(id))
      .desc([](TensorDesc const& x) {
        return unary_desc(x, Op::name,
                          {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT8,
                           DataType::INT32, DataType::INT64});
      })
      .autotune(FloatTypes<1>{kMapLayouts})
      .template impl<qdp::cpu, float, half, bfloat16, int8_t, int32_t, int64_t>(
          []<class T>(In<T> x, Out<T> y) { run_cpu(x, y, Op{}); })
#ifdef __CUDACC__
      .template impl<qdp::cuda, float, __half, __nv_bfloat16, int8_t, int32_t, int64_t>(
          []<class T>(In<T> x, Out<T> y, Stream s) { run_cuda(x, y, Op{}, s); })
#endif
      ;
}

[[maybe_unused]] static Registration const relu = signed_unary<ReluOp>("onnx::Relu");
[[maybe_unused]] static Registration const neg = signed_unary<NegOp>("onnx::Neg");
[[maybe_unused]] static Registration const abs_plugin = signed_unary<AbsOp>("onnx::Abs");
[[maybe_unused]] static Registration const sigmoid = float_unary<SigmoidOp>("onnx::Sigmoid");
[[maybe_unused]] static Registration const tanh_plugin = float_unary<TanhOp>("onnx::Tanh");
[[maybe_unused]] static Registration const erf_plugin = float_unary<ErfOp>("onnx::Erf");
[[maybe_unused]] static Registration const sqrt_plugin = float_unary<SqrtOp>("onnx::Sqrt");
[[maybe_unused]] static Registration const exp_plugin = float_unary<ExpOp>("onnx::Exp");
[[maybe_unused]] static Registration const sin_plugin = float_unary<SinOp>("onnx::Sin");
[[maybe_unused]] static Registration const cos_plugin = float_unary<CosOp>("onnx::Cos");
[[maybe_unused]] static Registration const log_plugin = float_unary<LogOp>("onnx::Log");
[[maybe_unused]] static Registration const reciprocal =
    float_unary<ReciprocalOp>("onnx::Reciprocal");
[[maybe_unused]] static Registration const floor_plugin = float_unary<FloorOp>("onnx::Floor");
[[maybe_unused]] static Registration const ceil_plugin = float_unary<CeilOp>("onnx::Ceil");
[[maybe_unused]] static Registration const hard_swish = float_unary<HardSwishOp>("onnx::HardSwish");

[[maybe_unused]] static Registration const not_plugin =
    define("onnx::Not")
        .desc([](TensorDesc const& x) { return unary_desc(x, "Not", {DataType::BOOL}); })
        .impl<qdp::cpu>([](In<bool> x, Out<bool> y) { run_cpu(x, y, NotOp{}); })
#ifdef __CUDACC__
        .impl<qdp::cuda>([](In<bool> x, Out<bool> y, Stream s) { run_cuda(x, y, NotOp{}, s); })
#endif
    ;

// IsNaN, IsInf: a BOOL per element (IsInf's detect_negative / detect_positive pick the signs).
struct IsInfAttrs {
  int64_t detect_negative = 1;
  int64_t detect_positive = 1;
};
QDP_ATTRS(IsInfAttrs, detect_negative, detect_positive);

template <class T>
struct IsNanOf {
  QDP_HD_ANY
  QDP_HD bool operator()(T x) const {
    auto v = Num<T>::load(x);
    return v != v;
  }
};
template <class T>
struct IsInfOf {
  bool negative, positive;
  QDP_HD_ANY
  QDP_HD bool operator()(T x) const {
    float v = static_cast<float>(Num<T>::load(x));
    return (positive && v > FLT_MAX) || (negative && v < -FLT_MAX);  // only an infinity is beyond
  }
};

[[maybe_unused]] static Registration const is_nan =
    define("onnx::IsNaN")
        .desc([](TensorDesc const& x) {
          check_dtype(x.dtype, kFloatTypes, "IsNaN", "X");
          return from_shape_expr(x.shape_expr, DataType::BOOL);
        })
        .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, Out<bool> y) {
          map_cpu(x.data(), y.data(), x.numel(), IsNanOf<T>{});
        })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>([]<class T>(In<T> x, Out<bool> y, Stream s) {
          map_cuda(x.data(), y.data(), x.numel(), IsNanOf<T>{}, native(s));
        })
#endif
    ;

[[maybe_unused]] static Registration const is_inf =
    define("onnx::IsInf")
        .desc([](TensorDesc const& x, IsInfAttrs const&) {
          check_dtype(x.dtype, kFloatTypes, "IsInf", "X");
          return from_shape_expr(x.shape_expr, DataType::BOOL);
        })
        .impl<qdp::cpu, float, half, bfloat16>(
            []<class T>(In<T> x, Out<bool> y, IsInfAttrs const& a) {
              map_cpu(x.data(), y.data(), x.numel(),
                      IsInfOf<T>{a.detect_negative != 0, a.detect_positive != 0});
            })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, Out<bool> y, IsInfAttrs const& a, Stream s) {
              map_cuda(x.data(), y.data(), x.numel(),
                       IsInfOf<T>{a.detect_negative != 0, a.detect_positive != 0}, native(s));
            })
#endif
    ;

[[maybe_unused]] static Registration const gelu =
    define("onnx::Gelu")
        .desc([](TensorDesc const& x, GeluAttrs const& a) {
          if (a.approximate != "none" && a.approximate != "tanh")
            fail("Gelu: attribute approximate is '{}'; allowed: 'none', 'tanh'", a.approximate);
          return unary_desc(x, "Gelu", kFloatTypes);
        })
        .autotune(FloatTypes<1>{kMapLayouts})
        .impl<qdp::cpu, float, half, bfloat16>([]<class T>(In<T> x, Out<T> y, GeluAttrs const& a) {
          if (a.approximate == "tanh")
            run_cpu(x, y, GeluOp{true});
          else
            run_cpu(x, y, GeluErfCpuOp{});
        })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, Out<T> y, GeluAttrs const& a, Stream s) {
              run_cuda(x, y, GeluOp{a.approximate == "tanh"}, s);
            })
#endif
    ;

[[maybe_unused]] static Registration const leaky_relu =
    define("onnx::LeakyRelu")
        .desc([](TensorDesc const& x, LeakyReluAttrs const&) {
          return unary_desc(x, "LeakyRelu", kFloatTypes);
        })
        .autotune(FloatTypes<1>{kMapLayouts})
        .impl<qdp::cpu, float, half, bfloat16>(
            []<class T>(In<T> x, Out<T> y, LeakyReluAttrs const& a) {
              run_cpu(x, y, LeakyReluOp{a.alpha});
            })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, Out<T> y, LeakyReluAttrs const& a, Stream s) {
              run_cuda(x, y, LeakyReluOp{a.alpha}, s);
            })
#endif
    ;

[[maybe_unused]] static Registration const hard_sigmoid =
    define("onnx::HardSigmoid")
        .desc([](TensorDesc const& x, HardSigmoidAttrs const&) {
          return unary_desc(x, "HardSigmoid", kFloatTypes);
        })
        .autotune(FloatTypes<1>{kMapLayouts})
        .impl<qdp::cpu, float, half, bfloat16>(
            []<class T>(In<T> x, Out<T> y, HardSigmoidAttrs const& a) {
              run_cpu(x, y, HardSigmoidOp{a.alpha, a.beta});
            })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16>(
            []<class T>(In<T> x, Out<T> y, HardSigmoidAttrs const& a, Stream s) {
              run_cuda(x, y, HardSigmoidOp{a.alpha, a.beta}, s);
            })
#endif
    ;

// ---- Clip(x, min, max): min and max are optional scalars of x's type ------------------------
// The bounds are read where they live: on the host for the CPU impl, by each GPU thread (one
// cached load) for the CUDA impl, so the enqueue never waits for a copy.
template <class T>
struct ClipApply {
  T const* lo;  // null: no bound
  T const* hi;
  QDP_HD_ANY
  QDP_HD T operator()(T v) const {
    auto x = Num<T>::load(v);
    if (lo) {
      auto l = Num<T>::load(*lo);
      x = x < l ? l : x;
    }
    if (hi) {
      auto h = Num<T>::load(*hi);
      x = x > h ? h : x;
    }
    return Num<T>::store(x);
  }
};

constexpr std::initializer_list<DataType> kClipTypes = {
    DataType::FP32,  DataType::FP16,  DataType::BF16, DataType::INT8,
    DataType::UINT8, DataType::INT32, DataType::INT64};

void check_bound(TensorDesc const& x, TensorDesc const& bound, std::string_view which) {
  if (absent(bound)) return;
  if (bound.dtype != x.dtype)
    fail("Clip: input {} is {}, it must have the type of input (X: {})", which, name(bound.dtype),
         name(x.dtype));
  bool scalar = bound.rank() == 0 || (bound.rank() == 1 && bound.shape_expr[0].is_constant() &&
                                      bound.shape_expr[0].constant() == 1);
  if (!scalar)
    fail("Clip: input {} must be a scalar (rank 0), it has rank {}", which, bound.rank());
}

template <class T>
T const* bound_of(In<> b) {
  if (absent(b.tensor())) return nullptr;
  if (b.numel() != 1) fail("Clip: min and max must be scalars, got {} elements", b.numel());
  return static_cast<T const*>(b.tensor().data);
}

[[maybe_unused]] static Registration const clip =
    define("onnx::Clip")
        .desc([](TensorDesc const& x, TensorDesc const& lo, TensorDesc const& hi) {
          check_dtype(x.dtype, kClipTypes, "Clip", "input");
          check_bound(x, lo, "min");
          check_bound(x, hi, "max");
          return from_shape_expr(x.shape_expr, x.dtype);
        })
        .autotune(FloatTypes<3>{})  // min and max are scalars: LINEAR only
        .impl<qdp::cpu, float, half, bfloat16, int8_t, uint8_t, int32_t, int64_t>([]<class T>(
                                                                                      In<T> x,
                                                                                      In<> lo,
                                                                                      In<> hi,
                                                                                      Out<T> y) {
          map_cpu(x.data(), y.data(), x.numel(), ClipApply<T>{bound_of<T>(lo), bound_of<T>(hi)});
        })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16, int8_t, uint8_t, int32_t, int64_t>(
            []<class T>(In<T> x, In<> lo, In<> hi, Out<T> y, Stream s) {
              map_cuda(x.data(), y.data(), x.numel(),
                       ClipApply<T>{bound_of<T>(lo), bound_of<T>(hi)}, native(s));
            })
#endif
    ;

}  // namespace
}  // namespace qdp::ops::elementwise
