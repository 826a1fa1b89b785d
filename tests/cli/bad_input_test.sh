#!/usr/bin/env bash
# Bad files given to the command-line tools (README "Bad input and thread safety"): plugin
# libraries that are not what they claim, damaged engine files and unusable ONNX models. Each is
# exit code 1 and one line "<program>: error: ..." naming the file and what is wrong with it.
# (Bad options, paths, shapes and .npy files: qdpexec_errors_test.sh and qdp_runner_test.sh.)
# Usage: bad_input_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"
quick=(--iterations 1 --duration 0 --warmUp 0)

# Damaged copies of dyn.engine, and models qdp cannot import.
$py - "$work" <<'PY'
import sys
from onnx import helper, TensorProto
import onnx
work = sys.argv[1]
data = open(f"{work}/dyn.engine", "rb").read()
open(f"{work}/truncated.engine", "wb").write(data[: len(data) // 2])
flipped = bytearray(data)
flipped[len(data) - 8] ^= 0x01  # a byte of the payload: only the checksum can tell
open(f"{work}/flipped.engine", "wb").write(bytes(flipped))
open(f"{work}/empty.engine", "wb").close()
open(f"{work}/not_a_library.so", "w").write("not a shared library, only text\n" * 8)
def model(path, node, opset=17, dims=(2, 3)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    onnx.save(helper.make_model(helper.make_graph([node], "g", [x], [y]),
                                opset_imports=[helper.make_opsetid("", opset)]), path)
model(f"{work}/unsupported_op.onnx", helper.make_node("Einsum", ["x"], ["y"], name="mix", equation="ij->ji"))
model(f"{work}/old_opset.onnx", helper.make_node("Squeeze", ["x"], ["y"], name="sq", axes=[0]), opset=11, dims=(1, 3))
model(f"{work}/dangling_input.onnx", helper.make_node("Relu", ["nowhere"], ["y"], name="relu"))
x4 = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])
def pad_model(path, x=x4, **attrs):
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("circ_pad_plugin", ["x"], ["y"], name="pad", plugin_namespace="sample", aot=0, **attrs)
    onnx.save(helper.make_model(helper.make_graph([node], "g", [x], [y]),
                                opset_imports=[helper.make_opsetid("", 17)]), path)
pad_model(f"{work}/big_pads.onnx", pads=[1, 2**40, 0, 3])
pad_model(f"{work}/bogus_attr.onnx", pads=[1, 1, 0, 3], bogus=1)
pad_model(f"{work}/double.onnx", x=helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2, 3, 8, 8]), pads=[1, 1, 0, 3])
data = open(f"{work}/python.onnx", "rb").read()
open(f"{work}/truncated.onnx", "wb").write(data[: len(data) // 2])
PY

# Plugin libraries.
expect_error plugins.not_a_library 1 "cannot load plugin library '$work/not_a_library.so': .*invalid ELF header" -- --plugins "$work/not_a_library.so" --loadEngine "$work/dyn.engine"
expect_error plugins.no_entry_point 1 "cannot load plugin library '$bin/libqdp_test_lib_not_qdp.so': it is not a qdp plugin library: it exports no qdp_plugin_library entry point \(add QDP_PLUGIN_LIBRARY\(\);" -- --plugins "$bin/libqdp_test_lib_not_qdp.so" --loadEngine "$work/dyn.engine"
expect_error plugins.abi_mismatch 1 "libqdp_test_lib_abi_mismatch.so': it was built for qdp ABI [0-9]+ \(qdp 99.0.0\), this is qdp .* rebuild the library against this qdp" -- --plugins "$bin/libqdp_test_lib_abi_mismatch.so" --loadEngine "$work/dyn.engine"
expect_error plugins.throwing_definition 1 "libqdp_test_lib_throwing.so': a definition failed: .*the library's own setup failed.*; nothing was registered" -- --plugins "$bin/libqdp_test_lib_throwing.so" --loadEngine "$work/dyn.engine"

# Engine files.
expect_error engine.empty 1 "cannot load engine '$work/empty.engine': .*the file is empty" -- --loadEngine "$work/empty.engine" --plugins "$plugins"
expect_error engine.truncated 1 "cannot load engine '$work/truncated.engine': the file is truncated: it ends at byte offset [0-9]+, but its header says a [0-9]+-byte payload follows the 56-byte header \(expected size [0-9]+ bytes\); copy or save it again" -- --loadEngine "$work/truncated.engine" --plugins "$plugins"
expect_error engine.flipped_byte 1 "cannot load engine '$work/flipped.engine': .*corrupted: checksum mismatch" -- --loadEngine "$work/flipped.engine" --plugins "$plugins"

# ONNX models.
expect_error onnx.truncated 1 "not a valid ONNX model: $work/truncated.onnx" -- --onnx "$work/truncated.onnx" --plugins "$plugins" --device cpu "${quick[@]}"
expect_error onnx.unsupported_op 1 "node 'mix' \(op Einsum\): operator Einsum \(opset 17\) is not supported by qdp; the standard operators it supports are: " -- --onnx "$work/unsupported_op.onnx" --device cpu "${quick[@]}"
expect_error onnx.old_opset 1 "node 'sq' \(op Squeeze\) at opset 11 of the default ONNX domain is not supported: qdp reads Squeeze at opsets 13 to [0-9]+ \(convert the model with onnx.version_converter.convert_version\)" -- --onnx "$work/old_opset.onnx" --device cpu "${quick[@]}"
expect_error onnx.dangling_input 1 "node 'relu' \(op Relu\): input 'nowhere' is not defined by any" -- --onnx "$work/dangling_input.onnx" --device cpu "${quick[@]}"
expect_error onnx.attribute_out_of_range 1 "node 'pad' \(op circ_pad_plugin\): layer 'pad': plugin sample::circ_pad_plugin: attribute 'pads' expects int32\[\] but received int64\[\] \(\[1, 1099511627776, 0, 3\]\): 1099511627776 is out of range" -- --onnx "$work/big_pads.onnx" --plugins "$plugins" --device cpu "${quick[@]}"
expect_error onnx.unknown_attribute 1 "node 'pad' \(op circ_pad_plugin\): layer 'pad': plugin sample::circ_pad_plugin: unknown attribute 'bogus' \(the plugin's attributes are: pads\)" -- --onnx "$work/bogus_attr.onnx" --plugins "$plugins" --device cpu "${quick[@]}"
expect_error onnx.input_type 1 "graph input 'x': element type DOUBLE is not supported; use FLOAT, FLOAT16, BFLOAT16, INT8, UINT8, INT32, INT64 or BOOL" -- --onnx "$work/double.onnx" --plugins "$plugins" --device cpu "${quick[@]}"
expect_error onnx.plugin_not_loaded 1 "plugin sample::circ_pad_plugin is not defined in this process: .*--plugins" -- --onnx "$work/python.onnx" --device cpu --shapes x:2x3x8x8 "${quick[@]}"

# qdp_runner loads the engine it saved: a damaged one is an error too.
program=$bin/qdp_runner
mkdir -p "$work/runner"
cp "$work/truncated.engine" "$work/runner/circ_pad.engine"
expect_error runner.truncated_engine 1 "circ_pad.engine': .*the file is truncated" -- circ_pad --load_engine --artifacts_dir "$work/runner"

finish
