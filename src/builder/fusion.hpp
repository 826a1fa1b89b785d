#pragma once
// Graph rewrites the builder applies before shape inference (fusion.cpp): a BatchNormalization
// after a Conv folded into the Conv's constants, an activation after a Conv fused into it, the
// erf form of GELU as one Gelu, a Conv's residual Add (and activation) into qdp::ConvAdd, a
// MatMul's bias Add (and activation) into qdp::MatMulBias, a residual Add and the
// LayerNormalization after it into qdp::AddLayerNorm. Returns `net` itself when nothing applies.
#include <functional>
#include <qdp/logger.hpp>
#include <qdp/network.hpp>
#include <qdp/shape_expr.hpp>

namespace qdp::detail {

// The shape of every tensor of `net` (by id), as shape inference gives it: what a rewrite that
// must not change a broadcast asks (fuse_layers calls it at most once, only when it needs it).
using TensorShapes = std::function<std::vector<std::vector<ShapeExpr>>()>;

Network fuse_layers(Network const& net, Logger* logger, TensorShapes const& shapes);

}  // namespace qdp::detail
