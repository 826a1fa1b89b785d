#pragma once
// Graph rewrites the builder applies before shape inference (fusion.cpp): a BatchNormalization
// after a Conv folded into the Conv's constants, an activation after a Conv fused into it, the
// erf form of GELU as one Gelu. Returns `net` itself when nothing applies.
#include <qdp/logger.hpp>
#include <qdp/network.hpp>

namespace qdp::detail {

Network fuse_layers(Network const& net, Logger* logger);

}  // namespace qdp::detail
