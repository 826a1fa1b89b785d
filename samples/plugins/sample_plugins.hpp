#pragma once
// The sample plugins of SPEC §3. Each define_* registers one plugin; the samples call them
// with their options (as the seed's decorators run when its script runs), and the plugin
// library (libqdp_sample_plugins.so) registers every one in its full form when loaded.
namespace qdp::samples {

// sample::elemwise_add_plugin: y = x + 1. With autotune: "FP32|FP16, FP32|FP16".
void define_elemwise_add(bool with_autotune);

}  // namespace qdp::samples
