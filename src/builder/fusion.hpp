#pragma once
// Graph rewrites the builder applies before shape inference (fusion.cpp): for now, a
// BatchNormalization after a Conv folded into the Conv's constants. Returns `net` itself when
// nothing applies.
#include <qdp/logger.hpp>
#include <qdp/network.hpp>

namespace qdp::detail {

Network fuse_layers(Network const& net, Logger* logger);

}  // namespace qdp::detail
