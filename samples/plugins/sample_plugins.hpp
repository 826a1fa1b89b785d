#pragma once
// The sample plugins of SPEC §3. Each define_* registers one plugin; the samples call them
// with their options (as the seed's decorators run when its script runs), and the plugin
// library (libqdp_sample_plugins.so) registers every one in its full form when loaded.
namespace qdp::samples {

// sample::elemwise_add_plugin: y = x + 1. With autotune: "FP32|FP16, FP32|FP16". With aot: also
// an aot_impl (a CUDA kernel compiled at build time and baked into the engine).
void define_elemwise_add(bool with_autotune, bool with_aot = false);

// sample::elemwise_add_plugin_(x, delta): x += delta in place (output aliased to x).
// Combinations ("FP32, FP32", "LINEAR*HWC") and ("FP32|FP16, FP32|FP16", "LINEAR").
void define_inplace_add();

// sample::non_zero_plugin(X): int32 (N, 2) row/column indices of X's non-zeros, and N (int64).
void define_non_zero();

// sample::circ_pad_plugin(x, pads): circular padding, pads in torch F.pad order.
// With multi_tactic: two tactics (two genuinely different kernels per backend), timed.
void define_circ_pad(bool multi_tactic);

}  // namespace qdp::samples
