#!/usr/bin/python3
"""Writes the ONNX seed corpus of fuzz_onnx (fuzz/corpus/onnx): small models, a few KB each,
that import, build and run on qdp's CPU backend, between them using every group of standard
operators and every sample plugin. Written with onnx.helper (Debian's python3-onnx).

Usage: /usr/bin/python3 fuzz/make_onnx_seeds.py OUT_DIR

  mlp          Gemm, Relu, circ_pad, MatMul, Add; a dynamic batch
  cnn          Conv, BatchNormalization, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm
  shapes       Shape, Gather, Unsqueeze, Concat, Reshape, Transpose, Softmax: a torch-style
               reshape whose shape follows the dynamic batch and sequence
  elementwise  broadcasting Add/Mul/Sub/Div/Pow, Greater, Where, Cast, Abs, Sqrt, Clip, Exp
  movement     Slice, Concat, Pad, Tile, Gather, Expand, DepthToSpace, GatherElements
  reduce       ReduceSum, ReduceMean, ReduceMax, LayerNormalization, LogSoftmax
  generators   ConstantOfShape, Range, Split, Squeeze, Identity, Dropout, Size
  plugins      sample::elemwise_add_plugin, elemwise_add_plugin_ (in place), non_zero_plugin
  logic        Equal, Not, And, Or, Xor on booleans; integer Mul and Cast
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
rng = np.random.default_rng(0)
F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def weights(name, *shape):
    return init(name, (rng.standard_normal(shape) * 0.5).astype(np.float32))


def node(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, **attrs)


def plugin(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, plugin_namespace="sample", aot=0, **attrs)


def model(name, nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(graph, producer_name="qdp fuzz/make_onnx_seeds.py",
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    return m


def mlp():
    return model("mlp", [
        node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        node("Relu", ["h"], ["r"]),
        plugin("circ_pad_plugin", ["r"], ["p"], pads=[1, 1]),
        node("MatMul", ["p", "w2"], ["m"]),
        node("Add", ["m", "b2"], ["y"]),
    ], [vi("x", F, ["N", 8])], [vi("y", F, ["N", 4])],
        [weights("w1", 6, 8), weights("b1", 6), weights("w2", 8, 4), weights("b2", 4)])


def cnn():
    return model("cnn", [
        node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["c", "s", "bb", "mean", "var"], ["n"]),
        node("Relu", ["n"], ["r"]),
        node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        node("GlobalAveragePool", ["p"], ["g"]),
        node("Flatten", ["g"], ["f"]),
        node("Gemm", ["f", "fw"], ["y"], transB=1),
    ], [vi("x", F, ["N", 2, 6, 6])], [vi("y", F, ["N", 3])],
        [weights("cw", 4, 2, 3, 3), weights("cb", 4), init("s", np.ones(4, np.float32)),
         weights("bb", 4), init("mean", np.zeros(4, np.float32)),
         init("var", np.ones(4, np.float32)), weights("fw", 3, 4)])


def shapes():
    return model("shapes", [
        node("Shape", ["x"], ["shape"]),
        node("Gather", ["shape", "zero"], ["batch"], axis=0),
        node("Gather", ["shape", "one"], ["seq"], axis=0),
        node("Unsqueeze", ["batch", "axes0"], ["b1"]),
        node("Unsqueeze", ["seq", "axes0"], ["s1"]),
        node("Concat", ["b1", "s1", "heads"], ["target"], axis=0),
        node("Reshape", ["x", "target"], ["split"]),
        node("Transpose", ["split"], ["t"], perm=[0, 2, 1, 3]),
        node("Softmax", ["t"], ["y"], axis=-1),
    ], [vi("x", F, ["B", "S", 8])], [vi("y", F, ["B", 2, "S", 4])],
        [init("zero", np.array(0, np.int64)), init("one", np.array(1, np.int64)),
         init("axes0", np.array([0], np.int64)), init("heads", np.array([2, 4], np.int64))])


def elementwise():
    return model("elementwise", [
        node("Add", ["a", "b"], ["s"]),
        node("Mul", ["s", "a"], ["m"]),
        node("Sub", ["m", "b"], ["d"]),
        node("Abs", ["d"], ["ab"]),
        node("Sqrt", ["ab"], ["sq"]),
        node("Div", ["sq", "two"], ["q"]),
        node("Pow", ["q", "two"], ["pw"]),
        node("Greater", ["pw", "b"], ["gt"]),
        node("Where", ["gt", "pw", "a"], ["w"]),
        node("Cast", ["w"], ["wi"], to=TensorProto.INT32),
        node("Cast", ["wi"], ["wf"], to=F),
        node("Clip", ["wf", "lo", "hi"], ["c"]),
        node("Exp", ["c"], ["y"]),
    ], [vi("a", F, ["N", 3]), vi("b", F, [3])], [vi("y", F, ["N", 3])],
        [init("two", np.array(2.0, np.float32)), init("lo", np.array(-1.0, np.float32)),
         init("hi", np.array(1.5, np.float32))])


def movement():
    return model("movement", [
        node("Slice", ["x", "starts", "ends", "axes"], ["sl"]),
        node("Concat", ["sl", "x"], ["cat"], axis=2),
        node("Pad", ["cat", "pads"], ["pad"], mode="constant"),
        node("Tile", ["pad", "reps"], ["tile"]),
        node("Gather", ["tile", "idx"], ["g"], axis=1),
        node("Expand", ["g", "eshape"], ["e"]),
        node("Reshape", ["e", "r4"], ["e4"]),
        node("DepthToSpace", ["e4"], ["dts"], blocksize=2),
        node("GatherElements", ["x", "ge_idx"], ["ge"], axis=2),
        node("Identity", ["dts"], ["y"]),
    ], [vi("x", F, [2, 3, 4])], [vi("y", F, None), vi("ge", F, [2, 3, 2])],
        [init("starts", np.array([1], np.int64)), init("ends", np.array([3], np.int64)),
         init("axes", np.array([2], np.int64)),
         init("pads", np.array([0, 0, 1, 0, 0, 1], np.int64)),
         init("reps", np.array([1, 2, 1], np.int64)), init("idx", np.array([0, 2, 1], np.int64)),
         init("eshape", np.array([2, 1, 1], np.int64)), init("r4", np.array([1, 12, 2, 2], np.int64)),
         init("ge_idx", (np.arange(12).reshape(2, 3, 2) % 4).astype(np.int64))])


def reduce():
    return model("reduce", [
        node("ReduceSum", ["x", "axes"], ["s"], keepdims=1),
        node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=1),
        node("ReduceMax", ["x"], ["mx"], axes=[0], keepdims=0),
        node("Sub", ["x", "m"], ["c"]),
        node("LayerNormalization", ["c", "gamma", "beta"], ["ln"], axis=-1, epsilon=1e-5),
        node("LogSoftmax", ["ln"], ["y"], axis=1),
    ], [vi("x", F, ["N", 6])], [vi("y", F, ["N", 6]), vi("s", F, ["N", 1]), vi("mx", F, [6])],
        [init("axes", np.array([1], np.int64)), init("gamma", np.ones(6, np.float32)),
         weights("beta", 6)])


def generators():
    value = helper.make_tensor("value", F, [1], [0.5])
    return model("generators", [
        node("Shape", ["x"], ["shape"]),
        node("ConstantOfShape", ["shape"], ["ones"], value=value),
        node("Add", ["x", "ones"], ["a"]),
        node("Split", ["a"], ["p", "q"], axis=1),
        node("Size", ["p"], ["n"]),
        node("Range", ["zero", "n", "one"], ["r"]),
        node("Unsqueeze", ["q", "ax"], ["u"]),
        node("Squeeze", ["u", "ax"], ["sq"]),
        node("Dropout", ["sq"], ["d"]),
        node("Identity", ["d"], ["y"]),
    ], [vi("x", F, ["N", 4])], [vi("y", F, ["N", 2]), vi("r", I64, None)],
        [init("zero", np.array(0, np.int64)), init("one", np.array(1, np.int64)),
         init("ax", np.array([0], np.int64))])


def plugins():
    return model("plugins", [
        plugin("elemwise_add_plugin", ["x"], ["a"], block_size=128),
        plugin("elemwise_add_plugin_", ["a"], ["b"], delta=3),
        plugin("non_zero_plugin", ["b"], ["idx", "count"]),
    ], [vi("x", F, [3, 4])],
        [vi("b", F, [3, 4]), vi("idx", TensorProto.INT32, None), vi("count", I64, [])])


def logic():
    return model("logic", [
        node("Equal", ["i", "k"], ["eq"]),
        node("Not", ["eq"], ["ne"]),
        node("And", ["ne", "m"], ["an"]),
        node("Or", ["an", "eq"], ["o"]),
        node("Xor", ["o", "m"], ["y"]),
        node("Mul", ["i", "k"], ["prod"]),
        node("Cast", ["prod"], ["pf"], to=F),
    ], [vi("i", I64, [4]), vi("m", BOOL, [4])],
        [vi("y", BOOL, [4]), vi("pf", F, [4])],
        [init("k", np.array([0, 1, 2, 1], np.int64))])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_onnx_seeds.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for make in (mlp, cnn, shapes, elementwise, movement, reduce, generators, plugins, logic):
        path = os.path.join(out, make.__name__ + ".onnx")
        onnx.save(make(), path)
        print(f"make_onnx_seeds: wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
