// Positive control for the compile-failure tests: a correct definition using every part of the
// front end must compile (with -Wall -Wextra -Werror), so that each failure above is caused by
// its one mistake and not by the harness.
#include <cstdint>
#include <qdp/plugin.hpp>
#include <string>
#include <tuple>
#include <vector>

struct PadAttrs {
  std::vector<int32_t> pads = {1, 1, 1, 1};
  std::string mode = "circular";
  float scale = 1.0f;
};
QDP_ATTRS(PadAttrs, pads, mode, scale);

struct ScaleOnly {
  float scale = 1.0f;
};
QDP_ATTRS(ScaleOnly, scale);

QDP_PLUGIN(pad, "compile_ok::pad")
    .desc([](qdp::TensorDesc const& x, PadAttrs const& a) {
      return qdp::from_shape_expr(
          {x.shape_expr[0] + a.pads[0] + a.pads[1], max(x.shape_expr[1], 1)}, x.dtype);
    })
    .impl<qdp::cpu, float, qdp::half>([]<class T>(qdp::In<T> x, qdp::Out<T> y, ScaleOnly const& a,
                                                  qdp::Stream, qdp::Tactic) {
      for (int64_t i = 0; i < y.numel() && i < x.numel(); ++i)
        y.data()[i] = T(static_cast<float>(x.data()[i]) * a.scale);
    })
    .impl<qdp::cuda>([](qdp::In<> x, qdp::Out<> y, qdp::Stream s) {
      (void)x;
      (void)y;
      (void)s;
    })
    .autotune([](qdp::TensorDesc const&, PadAttrs const&, qdp::Outputs) {
      return std::vector<qdp::AutoTuneCombination>{
          qdp::AutoTuneCombination("FP32|FP16, FP32|FP16")};
    })
    .aot_impl([](qdp::TensorDesc const& x, PadAttrs const&, qdp::Outputs outs, qdp::Tactic t) {
      qdp::AotKernel k;
      k.name = "pad_" + std::to_string(t.value);
      k.grid = {cdiv(x.numel(), 256), 1, 1};
      k.block = {256, 1, 1};
      k.extra_args = {outs[0].numel()};
      return k;
    });

QDP_PLUGIN(split, "compile_ok::split")
    .desc([](qdp::TensorDesc const& a, qdp::TensorDesc const& b) {
      qdp::TensorDesc n = qdp::size_tensor(a.shape_expr[0] / 2, a.shape_expr[0]);
      return std::tuple{qdp::from_shape_expr({n.expr()}, b.dtype), n};
    })
    .impl<qdp::cpu>([](qdp::In<float>, qdp::In<float>, qdp::Out<float>, qdp::Out<int64_t>) {});

int main() {
  return pad.id.empty() || split.id.empty();
}
