#pragma once
// The inputs qdpexec runs with: loaded from .npy files (--loadInputs) or random (--seed,
// --valRange), each checked against the engine's types, static dimensions and profile before
// any memory is allocated for it.
#include <map>
#include <qdp/array.hpp>
#include <qdp/engine.hpp>
#include <qdp/network.hpp>
#include <string>

#include "qdpexec/args.hpp"

namespace qdp::tools {

std::map<std::string, Array> make_inputs(Engine const& engine, Options const& options);

// Before a build: every input of `network`, at the largest shape the build uses (its static
// dimensions or its profile's max), fits in this machine's memory.
void check_network_inputs(Network const& network);

}  // namespace qdp::tools
