#pragma once
// ONNX import (SPEC §1 "ONNX mapping"): an ONNX model whose nodes are qdp plugins becomes a
// qdp::Network.
//
// - Graph inputs (those that are not initializers) become network inputs. Their element type
//   must be FLOAT, FLOAT16, BFLOAT16, INT8, UINT8, INT32, INT64 or BOOL. A dimension with a
//   dim_value is fixed; one with a dim_param (a symbolic name) or with neither is dynamic (-1).
//   An input with a dynamic dimension needs a profile before the network is built:
//   `network.set_profile("x", min, opt, max)`.
// - A node maps to plugin "ns::op_type" where `ns` is the node's string attribute
//   `plugin_namespace` (required). The plugin must be defined in this process.
// - The node's int attribute `aot` picks the implementation: 1 asks for the AOT implementation
//   (ImplChoice::AOT), 0 for the JIT one (ImplChoice::JIT); without it the layer uses the one
//   the plugin has, or the network-wide preference (ImplChoice::Default).
// - Every other attribute maps by name to the plugin's attributes and is converted to the
//   declared type with range checks: INT (int64), FLOAT (float32), STRING, INTS (int64[]),
//   FLOATS (float32[]) and TENSOR (a 1-D tensor, as onnx-graphsurgeon writes numpy arrays:
//   INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT16, BFLOAT16, FLOAT, DOUBLE
//   or BOOL, in raw_data or the typed fields). Other attribute types are errors.
// - Node inputs are graph inputs or outputs of earlier nodes (ONNX's topological order); an
//   initializer cannot feed a plugin (give constants as attributes). A node lists exactly as
//   many outputs as its plugin has ("" for one nothing reads). Layers are named after their
//   nodes ("<op_type>_<index>" for a node without a name).
// - Graph outputs become network outputs, by name.
//
// Every mistake is a qdp::Error naming the file (or `origin`), the node, its op and the
// attribute where one is concerned.
#include <cstddef>
#include <qdp/api.hpp>
#include <qdp/network.hpp>
#include <span>
#include <string>
#include <string_view>

namespace qdp {

// Reads and imports the ONNX model file at `path`.
QDP_API Network import_onnx(std::string const& path);

// Imports a serialized ONNX ModelProto; `origin` names it in messages (a path, "<memory>").
QDP_API Network import_onnx_bytes(std::span<const std::byte> bytes, std::string_view origin);

}  // namespace qdp
