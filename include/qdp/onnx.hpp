#pragma once
// ONNX import (SPEC §1 "ONNX mapping", §9): an ONNX model becomes a qdp::Network.
//
// - Graph inputs (those that are not initializers) become network inputs. Their element type
//   must be FLOAT, FLOAT16, BFLOAT16, INT8, UINT8, INT32, INT64 or BOOL. A dimension with a
//   dim_value is fixed; one with a dim_param (a symbolic name) or with neither is dynamic (-1).
//   An input with a dynamic dimension needs a profile before the network is built:
//   `network.set_profile("x", min, opt, max)`.
// - Initializers and Constant nodes become constants of the network (Network::add_constant),
//   raw_data or typed fields, checked against their dims (a truncated one is an error). External
//   data is read from files inside the model's folder only (import_onnx(path); a location that
//   leaves the folder, or an absolute one, is refused).
// - A node of the default domain ("" or "ai.onnx") without a plugin_namespace attribute is a
//   standard operator: plugin "onnx::<op_type>" (libqdp_ops). Its attributes map by name
//   (one the operator does not take is an error); an omitted optional input ("" or left off
//   the end) arrives as an empty INT64 tensor of shape [0]. Split becomes one Slice per output;
//   ConstantOfShape's `value` becomes its second input. An operator qdp lacks is an error naming
//   the node, the op type, the opset and the supported list; so is an output qdp does not
//   compute (LayerNormalization's Mean, MaxPool's Indices). The model's default-domain opset
//   may be up to 27; operators whose inputs changed (Squeeze's axes at 13, Clip's bounds at
//   11, ...) are read in their newer form only.
// - Any other node maps to plugin "ns::op_type", where `ns` is its string attribute
//   `plugin_namespace`, or else its domain. The plugin must be defined in this process.
// - A plugin node's int attribute `aot` picks the implementation: 1 asks for the AOT
//   implementation (ImplChoice::AOT), 0 for the JIT one (ImplChoice::JIT); without it the layer
//   uses the one the plugin has, or the network-wide preference (ImplChoice::Default).
// - Every other attribute maps by name to the plugin's attributes and is converted to the
//   declared type with range checks: INT (int64), FLOAT (float32), STRING, INTS (int64[]),
//   FLOATS (float32[]) and TENSOR (a 1-D tensor, as onnx-graphsurgeon writes numpy arrays:
//   INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT16, BFLOAT16, FLOAT, DOUBLE
//   or BOOL, in raw_data or the typed fields). Other attribute types are errors.
// - Node inputs are graph inputs, initializers, or outputs of earlier nodes (ONNX's topological
//   order). A plugin node lists exactly as many outputs as its plugin has ("" for one nothing
//   reads). Layers are named after their nodes ("<op_type>_<index>" for a node without a name).
// - Graph outputs become network outputs, by name, with their declared element type and
//   dimensions: building fails naming the output when the network computes something else.
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
