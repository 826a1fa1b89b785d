"""Writes the example's ONNX model (one example::scale_plugin node) and an input."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
node = helper.make_node("scale_plugin", ["x"], ["y"], name="scale", plugin_namespace="example",
                        factor=2.5, bias=-1.0)
graph = helper.make_graph([node], "example", [x], [y])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), f"{out}/model.onnx")
np.save(f"{out}/x.npy", np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32))
