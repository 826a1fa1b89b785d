// Binary operators with numpy broadcasting: onnx::Add, Sub, Mul, Div, Pow (arithmetic, output of
// the input type), Equal, Less, LessOrEqual, Greater, GreaterOrEqual (BOOL output), And, Or, Xor
// (BOOL in and out). One broadcasting kernel serves them all (elementwise.hpp).
#include "ops/elementwise/elementwise.hpp"

namespace qdp::ops::elementwise {
namespace {

// ---- the operations, on compute values ------------------------------------------------------
struct AddOp {
  static constexpr char const* name = "Add";
  template <class T>
  QDP_HD T operator()(T a, T b) const {
    return wrapping_add(a, b);
  }
};
struct SubOp {
  static constexpr char const* name = "Sub";
  template <class T>
  QDP_HD T operator()(T a, T b) const {
    return wrapping_sub(a, b);
  }
};
struct MulOp {
  static constexpr char const* name = "Mul";
  template <class T>
  QDP_HD T operator()(T a, T b) const {
    return wrapping_mul(a, b);
  }
};
struct DivOp {
  static constexpr char const* name = "Div";
  template <class T>
  QDP_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      // Integers truncate toward zero (ONNX). Division by zero, undefined in ONNX, gives 0
      // instead of a trap; MIN / -1 wraps instead of trapping.
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>)
        if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};
struct EqualOp {
  static constexpr char const* name = "Equal";
  template <class T>
  QDP_HD bool operator()(T a, T b) const {
    return a == b;
  }
};
struct LessOp {
  static constexpr char const* name = "Less";
  template <class T>
  QDP_HD bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LessOrEqualOp {
  static constexpr char const* name = "LessOrEqual";
  template <class T>
  QDP_HD bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct GreaterOp {
  static constexpr char const* name = "Greater";
  template <class T>
  QDP_HD bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GreaterOrEqualOp {
  static constexpr char const* name = "GreaterOrEqual";
  template <class T>
  QDP_HD bool operator()(T a, T b) const {
    return a >= b;
  }
};
struct AndOp {
  static constexpr char const* name = "And";
  QDP_HD bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
  static constexpr char const* name = "Or";
  QDP_HD bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
  static constexpr char const* name = "Xor";
  QDP_HD bool operator()(bool a, bool b) const { return a != b; }
};

// y[i] = op(a[off0], b[off1]) with loads to and stores from the compute type.
template <class Op, class T, class Y>
struct Apply {
  T const* a;
  T const* b;
  Y* y;
  Op op;
  QDP_HD_ANY
  QDP_HD void operator()(int64_t i, int64_t const* off) const {
    y[i] = Num<Y>::store(op(Num<T>::load(a[off[0]]), Num<T>::load(b[off[1]])));
  }
};

BroadcastPlan<2> plan_of(Tensor const& a, Tensor const& b, Tensor const& y, std::string_view op) {
  // Channels-last operands are read in storage order, which is only right without broadcasting.
  bool hwc = a.format == TensorFormat::HWC || b.format == TensorFormat::HWC ||
             y.format == TensorFormat::HWC;
  if (hwc && !(a.shape == y.shape && b.shape == y.shape))
    fail(ErrorCode::Unsupported, "{}: channels-last operands must all have the output's shape", op);
  return make_broadcast_plan<2>({a.shape, b.shape}, y.shape, op);
}

// The network's float types or FP16 (float_type_combinations); channels-last too where both
// operands have the output's rank-4 shape, so that a residual Add runs between channels-last
// convolutions.
std::vector<AutoTuneCombination> arithmetic_combinations(TensorDesc const& a, TensorDesc const& b,
                                                         Outputs outs) {
  bool same = a.rank() == 4 && a.shape_expr == b.shape_expr && a.shape_expr == outs[0].shape_expr;
  TensorDesc ab[] = {a, b};
  return float_type_combinations(ab, outs, same ? kMapLayouts : "LINEAR");
}

// ---- descs --------------------------------------------------------------------------------
TensorDesc binary_desc(TensorDesc const& a, TensorDesc const& b, std::string_view op,
                       std::initializer_list<DataType> allowed, std::optional<DataType> out) {
  check_dtype(a.dtype, allowed, op, "A");
  if (b.dtype != a.dtype)
    fail("{}: inputs A and B must have the same type, got {} and {}", op, name(a.dtype),
         name(b.dtype));
  TensorDesc ab[] = {a, b};
  return from_shape_expr(broadcast_shapes(ab, op), out.value_or(a.dtype));
}

// Add, Sub, Mul, Div: output of the input type.
template <class Op>
Registration arithmetic(std::string id) {
  return define(std::move(id))
      .desc([](TensorDesc const& a, TensorDesc const& b) {
        TensorDesc out = binary_desc(a, b, Op::name, kNumericTypes, std::nullopt);
        out.value = binary_value(Op::name, a, b, out);  // shape arithmetic, folded when built
        return out;
      })
      .autotune(arithmetic_combinations)
      .template impl<qdp::cpu, float, half, bfloat16, int32_t, int64_t>(
          []<class T>(In<T> a, In<T> b, Out<T> y) {
            broadcast_cpu(plan_of(a.tensor(), b.tensor(), y.tensor(), Op::name),
                          Apply<Op, T, T>{a.data(), b.data(), y.data(), Op{}});
          })
#ifdef __CUDACC__
      .template impl<qdp::cuda, float, __half, __nv_bfloat16, int32_t, int64_t>(
          []<class T>(In<T> a, In<T> b, Out<T> y, Stream s) {
            broadcast_cuda(plan_of(a.tensor(), b.tensor(), y.tensor(), Op::name),
                           Apply<Op, T, T>{a.data(), b.data(), y.data(), Op{}}, native(s));
          })
#endif
      ;
}

// Comparisons: BOOL output. Equal also takes BOOL inputs.
template <class Op>
Registration comparison(std::string id) {
  return define(std::move(id))
      .desc([](TensorDesc const& a, TensorDesc const& b) {
        if (std::string_view(Op::name) == "Equal")
          return binary_desc(a, b, Op::name,
                             {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT8,
                              DataType::UINT8, DataType::INT32, DataType::INT64, DataType::BOOL},
                             DataType::BOOL);
        return binary_desc(a, b, Op::name,
                           {DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT8,
                            DataType::UINT8, DataType::INT32, DataType::INT64},
                           DataType::BOOL);
      })
      .template impl<qdp::cpu, float, half, bfloat16, int8_t, uint8_t, int32_t, int64_t, bool>(
          []<class T>(In<T> a, In<T> b, Out<bool> y) {
            broadcast_cpu(plan_of(a.tensor(), b.tensor(), y.tensor(), Op::name),
                          Apply<Op, T, bool>{a.data(), b.data(), y.data(), Op{}});
          })
#ifdef __CUDACC__
      .template impl<qdp::cuda, float, __half, __nv_bfloat16, int8_t, uint8_t, int32_t, int64_t,
                     bool>([]<class T>(In<T> a, In<T> b, Out<bool> y, Stream s) {
        broadcast_cuda(plan_of(a.tensor(), b.tensor(), y.tensor(), Op::name),
                       Apply<Op, T, bool>{a.data(), b.data(), y.data(), Op{}}, native(s));
      })
#endif
      ;
}

// And, Or, Xor: BOOL only.
template <class Op>
Registration logical(std::string id) {
  return define(std::move(id))
      .desc([](TensorDesc const& a, TensorDesc const& b) {
        return binary_desc(a, b, Op::name, {DataType::BOOL}, DataType::BOOL);
      })
      .template impl<qdp::cpu>([](In<bool> a, In<bool> b, Out<bool> y) {
        broadcast_cpu(plan_of(a.tensor(), b.tensor(), y.tensor(), Op::name),
                      Apply<Op, bool, bool>{a.data(), b.data(), y.data(), Op{}});
      })
#ifdef __CUDACC__
      .template impl<qdp::cuda>([](In<bool> a, In<bool> b, Out<bool> y, Stream s) {
        broadcast_cuda(plan_of(a.tensor(), b.tensor(), y.tensor(), Op::name),
                       Apply<Op, bool, bool>{a.data(), b.data(), y.data(), Op{}}, native(s));
      })
#endif
      ;
}

// ---- Pow: the exponent may have another type than the base (ONNX's T and T1) ----------------
template <class T, class E>
struct PowApply {
  T const* a;
  E const* b;
  T* y;
  QDP_HD_ANY
  QDP_HD void operator()(int64_t i, int64_t const* off) const {
    auto x = Num<T>::load(a[off[0]]);
    auto e = Num<E>::load(b[off[1]]);
    if constexpr (std::is_integral_v<Acc<T>>) {
      // Integer base: numpy's power in double, truncated back (exact for the values ints hold;
      // beyond int64, saturated by convert instead of undefined).
      y[i] = convert<T>(pow(static_cast<double>(x), static_cast<double>(e)));
    } else {
      y[i] = Num<T>::store(powf(x, static_cast<float>(e)));
    }
  }
};

constexpr std::initializer_list<DataType> kPowTypes = {
    DataType::FP32, DataType::FP16, DataType::BF16, DataType::INT32, DataType::INT64};

[[maybe_unused]] static Registration const pow_plugin =
    define("onnx::Pow")
        .desc([](TensorDesc const& x, TensorDesc const& y) {
          check_dtype(x.dtype, kPowTypes, "Pow", "X");
          check_dtype(y.dtype, kPowTypes, "Pow", "Y");
          TensorDesc xy[] = {x, y};
          return from_shape_expr(broadcast_shapes(xy, "Pow"), x.dtype);
        })
        .autotune(FloatTypes<2>{})
        .impl<qdp::cpu, float, half, bfloat16, int32_t, int64_t>([]<class T>(In<T> x, In<> e,
                                                                             Out<T> y) {
          auto plan = plan_of(x.tensor(), e.tensor(), y.tensor(), "Pow");
          visit_dtype<half, bfloat16>(e.dtype(), [&]<class E>() {
            if constexpr (std::is_same_v<E, bool> || sizeof(E) == 1)
              fail("Pow: exponent type {} is not supported", name(e.dtype()));
            else
              broadcast_cpu(
                  plan, PowApply<T, E>{x.data(), static_cast<E const*>(e.tensor().data), y.data()});
          });
        })
#ifdef __CUDACC__
        .impl<qdp::cuda, float, __half, __nv_bfloat16, int32_t, int64_t>(
            []<class T>(In<T> x, In<> e, Out<T> y, Stream s) {
              auto plan = plan_of(x.tensor(), e.tensor(), y.tensor(), "Pow");
              visit_dtype<__half, __nv_bfloat16>(e.dtype(), [&]<class E>() {
                if constexpr (std::is_same_v<E, bool> || sizeof(E) == 1)
                  fail("Pow: exponent type {} is not supported", name(e.dtype()));
                else
                  broadcast_cuda(
                      plan,
                      PowApply<T, E>{x.data(), static_cast<E const*>(e.tensor().data), y.data()},
                      native(s));
              });
            })
#endif
    ;

[[maybe_unused]] static Registration const add_plugin = arithmetic<AddOp>("onnx::Add");
[[maybe_unused]] static Registration const sub_plugin = arithmetic<SubOp>("onnx::Sub");
[[maybe_unused]] static Registration const mul_plugin = arithmetic<MulOp>("onnx::Mul");
[[maybe_unused]] static Registration const div_plugin = arithmetic<DivOp>("onnx::Div");
[[maybe_unused]] static Registration const equal_plugin = comparison<EqualOp>("onnx::Equal");
[[maybe_unused]] static Registration const less_plugin = comparison<LessOp>("onnx::Less");
[[maybe_unused]] static Registration const less_equal_plugin =
    comparison<LessOrEqualOp>("onnx::LessOrEqual");
[[maybe_unused]] static Registration const greater_plugin = comparison<GreaterOp>("onnx::Greater");
[[maybe_unused]] static Registration const greater_equal_plugin =
    comparison<GreaterOrEqualOp>("onnx::GreaterOrEqual");
[[maybe_unused]] static Registration const and_plugin = logical<AndOp>("onnx::And");
[[maybe_unused]] static Registration const or_plugin = logical<OrOp>("onnx::Or");
[[maybe_unused]] static Registration const xor_plugin = logical<XorOp>("onnx::Xor");

}  // namespace
}  // namespace qdp::ops::elementwise
