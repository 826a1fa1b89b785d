#pragma once
// test_onnx::affine, the plugin with array attributes that the ONNX import tests use:
// y[i] = x[i] * weights[i % |weights|] + offsets[i % |offsets|], FP32; with mode
// "offsets_only", y[i] = x[i] + offsets[i % |offsets|].
// Registered by an AffinePlugin object and removed from the registry when it is destroyed.
#include <qdp/plugin.hpp>
#include <qdp/registry.hpp>
#include <string>
#include <vector>

namespace test_onnx {

struct AffineAttrs {
  std::vector<float> weights = {1.0f};
  std::vector<int32_t> offsets = {0};
  std::string mode = "affine";
};
QDP_ATTRS(AffineAttrs, weights, offsets, mode);

inline constexpr char kAffineId[] = "test_onnx::affine";

class AffinePlugin {
 public:
  AffinePlugin() {
    qdp::define(kAffineId)
        .desc([](qdp::TensorDesc const& x, AffineAttrs const&) { return x.like(); })
        .impl<qdp::cpu>([](qdp::In<float> x, qdp::Out<float> y, AffineAttrs const& a) {
          if (a.weights.empty() || a.offsets.empty())
            qdp::fail("test_onnx::affine: weights and offsets must not be empty");
          bool weighted = a.mode != "offsets_only";
          for (int64_t i = 0; i < x.numel(); ++i) {
            auto k = static_cast<size_t>(i);
            y.data()[i] = x.data()[i] * (weighted ? a.weights[k % a.weights.size()] : 1.0f) +
                          static_cast<float>(a.offsets[k % a.offsets.size()]);
          }
        })
        .commit();
  }
  ~AffinePlugin() { qdp::Registry::global().remove(kAffineId); }
  AffinePlugin(AffinePlugin const&) = delete;
  AffinePlugin& operator=(AffinePlugin const&) = delete;
};

}  // namespace test_onnx
