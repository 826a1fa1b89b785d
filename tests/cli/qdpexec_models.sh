# Sourced by the qdpexec tests after `bin` is set: a scratch folder $work (removed on exit) with
# the models and files they share, written by the circ_pad sample (ONNX's C++ classes) and by
# ONNX's Python package with numpy (Debian's /usr/bin/python3, python3-numpy and python3-onnx).
#   circ_pad.onnx  the sample's model: x FP32 10x3x32x32 -> circ_pad (pads 1,1,1,1) -> y
#   python.onnx    x FP32 batchx3x8x8 (dynamic) -> circ_pad (pads 2,1,0,3) -> y
#   huge.onnx      as python.onnx with a static x of 1024x1024x1024x1024 = 2^40 elements
#   bf16.onnx      as python.onnx with a static BF16 x of 2x3x8x8
#   dyn.engine     python.onnx built for the cpu with the profile 1..4 x3x8x8 (opt 2)
#   x.npy, x_sample.npy  float32 inputs of python.onnx (2x3x8x8) and circ_pad.onnx
#   x_bf16.npy     BF16 input of bf16.onnx as np.save writes 2-byte voids ('|V2'), the bits of
#                  float32 values that bfloat16 holds exactly; x_bf16_u2.npy the same as uint16
qdpexec=$bin/qdpexec
plugins=$bin/libqdp_sample_plugins.so
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/qdp_runner" circ_pad --mode onnx --artifacts_dir "$work" --device cpu >/dev/null
$py - "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
work = sys.argv[1]
def pad_model(path, elem, dims, **aot):
    x = helper.make_tensor_value_info("x", elem, dims)
    y = helper.make_tensor_value_info("y", elem, None)
    pads = numpy_helper.from_array(np.array([2, 1, 0, 3], dtype=np.int32))
    node = helper.make_node("circ_pad_plugin", ["x"], ["y"], name="pad", plugin_namespace="sample", pads=pads, **(aot or {"aot": 0}))
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 16)])
    onnx.save(model, path)
pad_model(f"{work}/python.onnx", TensorProto.FLOAT, ["batch", 3, 8, 8])
pad_model(f"{work}/huge.onnx", TensorProto.FLOAT, [1024, 1024, 1024, 1024])
pad_model(f"{work}/bf16.onnx", TensorProto.BFLOAT16, [2, 3, 8, 8])
# As onnx-graphsurgeon writes a plugin node: no aot attribute at all.
pad_model(f"{work}/no_aot.onnx", TensorProto.FLOAT, [2, 3, 8, 8], **{})
rng = np.random.default_rng(0)
np.save(f"{work}/x.npy", rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
np.save(f"{work}/x_sample.npy", rng.standard_normal((10, 3, 32, 32)).astype(np.float32))
bits = (rng.standard_normal((2, 3, 8, 8)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
np.save(f"{work}/x_bf16.npy", bits.view("V2"))
np.save(f"{work}/x_bf16_u2.npy", bits)
PY
"$qdpexec" --onnx "$work/python.onnx" --plugins "$plugins" --device cpu --minShapes x:1x3x8x8 \
  --optShapes x:2x3x8x8 --maxShapes x:4x3x8x8 --saveEngine "$work/dyn.engine" --skipInference >/dev/null

# Short runs: one timed iteration, no warm-up.
quick=(--iterations 1 --duration 0 --warmUp 0)
