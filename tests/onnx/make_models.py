#!/usr/bin/python3
"""Writes ONNX models of qdp test plugins with ONNX's own Python package, for
qdp_onnx_python_tests (tests/onnx/onnx_python_test.cpp): the models a user's tools would write.

Usage: /usr/bin/python3 make_models.py OUT_DIR   (Debian's python3-onnx and python3-numpy)

  affine_scale.onnx  x[N,4] -> test_onnx::affine(weights, offsets: 1-D TENSORs from numpy)
                     -> test::scale(factor) -> y
  filter.onnx        x[6] -> test::filter(threshold) -> kept, count
  typed_tensor.onnx  x[3] -> test_onnx::affine(weights: FLOAT16 from numpy,
                     offsets: INT32 in int32_data, not raw_data) -> y
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tensor_attr(name, array):
    """A TENSOR attribute holding a numpy array (raw_data), as onnx-graphsurgeon writes it."""
    return helper.make_attribute(name, numpy_helper.from_array(array, name=name))


def plugin_node(op, ns, inputs, outputs, name, tensor_attrs=(), **attrs):
    """A node of plugin ns::op; keyword arguments become INT, FLOAT, ... attributes."""
    node = helper.make_node(op, inputs, outputs, name=name, plugin_namespace=ns, **attrs)
    node.attribute.extend(tensor_attrs)
    return node


def save(model, out_dir, name):
    # onnx.checker would reject the plugin ops (they have no ONNX schema): not run.
    path = os.path.join(out_dir, name)
    onnx.save(model, path)
    print(f"make_models: wrote {path}")


def affine_scale():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    affine = plugin_node(
        "affine", "test_onnx", ["x"], ["t"], "affine",
        tensor_attrs=[
            tensor_attr("weights", np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)),
            tensor_attr("offsets", np.array([10, 20, 30, 40], dtype=np.int64)),  # -> int32[]
        ])
    scale = plugin_node("scale", "test", ["t"], ["y"], "scale", factor=0.5)
    graph = helper.make_graph([affine, scale], "affine_scale", [x], [y])
    return helper.make_model(graph, producer_name="qdp make_models.py")


def filter_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [6])
    kept = helper.make_tensor_value_info("kept", TensorProto.FLOAT, ["K"])
    count = helper.make_tensor_value_info("count", TensorProto.INT64, [])
    node = plugin_node("filter", "test", ["x"], ["kept", "count"], "filter", threshold=2.5)
    graph = helper.make_graph([node], "filter", [x], [kept, count])
    return helper.make_model(graph, producer_name="qdp make_models.py")


def typed_tensor():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    offsets = helper.make_tensor("offsets", TensorProto.INT32, [3], [-1, 0, 1], raw=False)
    node = plugin_node(
        "affine", "test_onnx", ["x"], ["y"], "affine",
        tensor_attrs=[
            tensor_attr("weights", np.array([0.5, -2.0, 8.0], dtype=np.float16)),
            helper.make_attribute("offsets", offsets),
        ])
    graph = helper.make_graph([node], "typed_tensor", [x], [y])
    return helper.make_model(graph, producer_name="qdp make_models.py")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_models.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    save(affine_scale(), out_dir, "affine_scale.onnx")
    save(filter_model(), out_dir, "filter.onnx")
    save(typed_tensor(), out_dir, "typed_tensor.onnx")


if __name__ == "__main__":
    main()
