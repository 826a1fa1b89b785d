"""Small real models with random weights and one custom plugin node, written with onnx.helper
(SPEC §9 acceptance 2), for tests/python/test_onnx_models.py:

  mlp          x[N,16] -> Gemm -> Relu -> circ_pad(pads=[2,2]) -> MatMul + Add -> y[N,10]
  cnn          x[N,3,16,16] -> Conv -> BatchNormalization -> Relu -> MaxPool
               -> circ_pad(pads=[1,1,1,1]) -> Conv -> Relu -> GlobalAveragePool -> Flatten
               -> Gemm -> y[N,10]
  transformer  x[B,S,32] -> circ_pad(pads=[0,0,1,1]: the sequence wraps by one token each side)
               -> 2 post-LN encoder layers (4 heads; MatMul, Add, Softmax, LayerNormalization,
               Erf-based Gelu: Div, Erf, Add, Mul; the head split and merge reshape with shapes
               computed the way torch exports them: Shape -> Gather -> Unsqueeze -> Concat ->
               Reshape) -> y[B,S+2,32], B and S dynamic

The plugin node is sample::circ_pad_plugin (op_type circ_pad_plugin, plugin_namespace="sample",
INTS pads in torch's F.pad order: last dimension first). onnxruntime has no such op:
reference_model() replaces each plugin node with the standard subgraph of the same meaning (a
Concat of Slices per padded dimension), which is what onnxruntime runs.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
PLUGIN_OP, PLUGIN_NS = "circ_pad_plugin", "sample"


class GraphBuilder:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, array: np.ndarray) -> str:
        name = self.fresh(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, stem: str, shape: Sequence[int], fan_in: int | None = None) -> str:
        fan_in = fan_in or shape[-1]
        w = self.rng.standard_normal(shape).astype(np.float32) / np.float32(math.sqrt(fan_in))
        return self.const(stem, w)

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, name: str | None = None,
           **attrs) -> str | list[str]:
        name = name or self.fresh(op_type.lower())
        outs = [f"{name}_out{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def circ_pad(self, x: str, pads: Sequence[int]) -> str:
        # aot=0: the sample has an AOT kernel too, which a CUDA build would otherwise ask about.
        return self.op(PLUGIN_OP, [x], name=self.fresh("circ_pad"), plugin_namespace=PLUGIN_NS,
                       pads=list(pads), aot=0)

    def model(self, inputs: Sequence[onnx.ValueInfoProto], outputs: Sequence[onnx.ValueInfoProto],
              ) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, list(inputs), list(outputs), self.inits)
        m = helper.make_model(graph, producer_name="qdp tests/python/onnx_models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8  # what onnxruntime reads for opset 17
        return m


def mlp(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("mlp", seed)
    h = g.op("Gemm", ["x", g.weight("w1", (32, 16)), g.weight("b1", (32,))], transB=1)
    h = g.op("Relu", [h])
    h = g.circ_pad(h, [2, 2])  # [N, 36]
    h = g.op("MatMul", [h, g.weight("w2", (36, 10), fan_in=36)])
    g.op("Add", [h, g.weight("b2", (10,))], name="y_add")
    g.nodes[-1].output[0] = "y"
    return g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])])


def _batchnorm(g: GraphBuilder, x: str, c: int) -> str:
    scale = g.const("bn_scale", (1 + 0.1 * g.rng.standard_normal(c)).astype(np.float32))
    bias = g.const("bn_bias", (0.1 * g.rng.standard_normal(c)).astype(np.float32))
    mean = g.const("bn_mean", (0.1 * g.rng.standard_normal(c)).astype(np.float32))
    var = g.const("bn_var", g.rng.uniform(0.5, 1.5, c).astype(np.float32))
    return g.op("BatchNormalization", [x, scale, bias, mean, var], epsilon=1e-5)


def cnn(seed: int = 1) -> onnx.ModelProto:
    g = GraphBuilder("cnn", seed)
    h = g.op("Conv", ["x", g.weight("conv1_w", (8, 3, 3, 3), 27), g.weight("conv1_b", (8,))],
             kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = g.op("Relu", [_batchnorm(g, h, 8)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])  # [N, 8, 8, 8]
    h = g.circ_pad(h, [1, 1, 1, 1])  # [N, 8, 10, 10]: the next conv sees a torus
    h = g.op("Conv", [h, g.weight("conv2_w", (16, 8, 3, 3), 72), g.weight("conv2_b", (16,))],
             kernel_shape=[3, 3])  # [N, 16, 8, 8]
    h = g.op("Relu", [h])
    h = g.op("GlobalAveragePool", [h])
    h = g.op("Flatten", [h], axis=1)
    g.op("Gemm", [h, g.weight("fc_w", (10, 16)), g.weight("fc_b", (10,))], name="fc", transB=1)
    g.nodes[-1].output[0] = "y"
    return g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])])


D_MODEL, HEADS, D_FF = 32, 4, 64


def _linear(g: GraphBuilder, x: str, d_in: int, d_out: int, stem: str) -> str:
    h = g.op("MatMul", [x, g.weight(f"{stem}_w", (d_in, d_out), d_in)])
    return g.op("Add", [h, g.weight(f"{stem}_b", (d_out,))])


def _dims_of(g: GraphBuilder, x: str) -> tuple[str, str]:
    """[B] and [S] of x as 1-D int64 tensors, the torch exporter's way."""
    shape = g.op("Shape", [x])
    b = g.op("Gather", [shape, g.const("idx0", np.array(0, np.int64))], axis=0)
    s = g.op("Gather", [shape, g.const("idx1", np.array(1, np.int64))], axis=0)
    axes = g.const("axes0", np.array([0], np.int64))
    return g.op("Unsqueeze", [b, axes]), g.op("Unsqueeze", [s, axes])


def _split_heads(g: GraphBuilder, x: str, b: str, s: str, perm: Sequence[int]) -> str:
    shape = g.op("Concat", [b, s, g.const("heads", np.array([HEADS], np.int64)),
                            g.const("dh", np.array([D_MODEL // HEADS], np.int64))], axis=0)
    return g.op("Transpose", [g.op("Reshape", [x, shape])], perm=list(perm))


def _layer_norm(g: GraphBuilder, x: str) -> str:
    scale = g.const("ln_scale", (1 + 0.1 * g.rng.standard_normal(D_MODEL)).astype(np.float32))
    bias = g.const("ln_bias", (0.1 * g.rng.standard_normal(D_MODEL)).astype(np.float32))
    return g.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-5)


def _gelu(g: GraphBuilder, x: str) -> str:
    """x * 0.5 * (1 + erf(x / sqrt(2))), as torch exports nn.GELU before opset 20."""
    e = g.op("Erf", [g.op("Div", [x, g.const("sqrt2", np.array(math.sqrt(2), np.float32))])])
    e = g.op("Add", [e, g.const("one", np.array(1, np.float32))])
    return g.op("Mul", [g.op("Mul", [x, e]), g.const("half", np.array(0.5, np.float32))])


def _encoder_layer(g: GraphBuilder, x: str) -> str:
    b, s = _dims_of(g, x)
    q = _split_heads(g, _linear(g, x, D_MODEL, D_MODEL, "q"), b, s, (0, 2, 1, 3))  # [B,H,S,dh]
    k = _split_heads(g, _linear(g, x, D_MODEL, D_MODEL, "k"), b, s, (0, 2, 3, 1))  # [B,H,dh,S]
    v = _split_heads(g, _linear(g, x, D_MODEL, D_MODEL, "v"), b, s, (0, 2, 1, 3))
    scores = g.op("Div", [g.op("MatMul", [q, k]),
                          g.const("sqrt_dh", np.array(math.sqrt(D_MODEL // HEADS), np.float32))])
    ctx = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])  # [B,H,S,dh]
    ctx = g.op("Transpose", [ctx], perm=[0, 2, 1, 3])
    merged = g.op("Concat", [b, s, g.const("d", np.array([D_MODEL], np.int64))], axis=0)
    attn = _linear(g, g.op("Reshape", [ctx, merged]), D_MODEL, D_MODEL, "o")
    h = _layer_norm(g, g.op("Add", [x, attn]))
    ff = _linear(g, _gelu(g, _linear(g, h, D_MODEL, D_FF, "ff1")), D_FF, D_MODEL, "ff2")
    return _layer_norm(g, g.op("Add", [h, ff]))


def transformer(seed: int = 2, layers: int = 2) -> onnx.ModelProto:
    g = GraphBuilder("transformer", seed)
    h = g.circ_pad("x", [0, 0, 1, 1])  # [B, S+2, D]
    for _ in range(layers):
        h = _encoder_layer(g, h)
    g.op("Identity", [h], name="y_identity")
    g.nodes[-1].output[0] = "y"
    return g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "S", D_MODEL])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", "S2", D_MODEL])])


MODELS = {"mlp": mlp, "cnn": cnn, "transformer": transformer}
# Input shapes to run each model with (the first is the profile's opt), and its profile.
RUN_SHAPES = {
    "mlp": [(2, 16), (5, 16)],
    "cnn": [(2, 3, 16, 16), (3, 3, 16, 16)],
    "transformer": [(2, 8, D_MODEL), (3, 5, D_MODEL)],
}
PROFILES = {
    "mlp": ((1, 16), (2, 16), (8, 16)),
    "cnn": ((1, 3, 16, 16), (2, 3, 16, 16), (4, 3, 16, 16)),
    "transformer": ((1, 2, D_MODEL), (2, 8, D_MODEL), (4, 16, D_MODEL)),
}


# ---- the reference: plugin nodes replaced by standard subgraphs -------------------------------

def _circ_pad_subgraph(node: onnx.NodeProto, rank: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Concat(x[..., -begin:], x, x[..., :end]) along each padded dimension, last first."""
    pads = list(next(a for a in node.attribute if a.name == "pads").ints)
    nodes, inits = [], []
    cur = node.input[0]
    base = node.name or "circ_pad"

    def c(name: str, v: Sequence[int]) -> str:
        inits.append(numpy_helper.from_array(np.array(v, np.int64), f"{base}_{name}"))
        return inits[-1].name

    n_dims = len(pads) // 2
    for j in range(n_dims):
        begin, end = pads[2 * j], pads[2 * j + 1]
        axis = rank - 1 - j
        pieces = []
        if begin:
            out = f"{base}_head{j}"
            nodes.append(helper.make_node("Slice", [cur, c(f"hs{j}", [-begin]), c(f"he{j}", [2**62]),
                                                    c(f"ax{j}a", [axis])], [out]))
            pieces.append(out)
        pieces.append(cur)
        if end:
            out = f"{base}_tail{j}"
            nodes.append(helper.make_node("Slice", [cur, c(f"ts{j}", [0]), c(f"te{j}", [end]),
                                                    c(f"ax{j}b", [axis])], [out]))
            pieces.append(out)
        last = j == n_dims - 1
        out = node.output[0] if last else f"{base}_padded{j}"
        nodes.append(helper.make_node("Concat", pieces, [out], axis=axis))
        cur = out
    if n_dims == 0:
        nodes.append(helper.make_node("Identity", [cur], [node.output[0]]))
    return nodes, inits


def _rank_of(partial: onnx.ModelProto, name: str) -> int:
    """The rank of `name` in a model of standard ops, by ONNX's shape inference."""
    inferred = onnx.shape_inference.infer_shapes(partial)
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        if vi.name == name:
            return len(vi.type.tensor_type.shape.dim)
    raise ValueError(f"cannot tell the rank of '{name}'")


def reference_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with every circ_pad_plugin node replaced by its standard subgraph (shape
    inference over the nodes before it, all standard by then, tells its input's rank)."""
    ref = onnx.ModelProto()
    ref.CopyFrom(model)
    del ref.graph.node[:]
    for n in model.graph.node:
        if n.op_type == PLUGIN_OP and any(a.name == "plugin_namespace" and a.s == PLUGIN_NS.encode()
                                          for a in n.attribute):
            partial = onnx.ModelProto()
            partial.CopyFrom(ref)
            partial.graph.output.clear()
            rank = _rank_of(partial, n.input[0])
            nodes, inits = _circ_pad_subgraph(n, rank)
            ref.graph.node.extend(nodes)
            ref.graph.initializer.extend(inits)
        else:
            ref.graph.node.append(n)
    return ref


def circ_pad_numpy(x: np.ndarray, pads: Sequence[int]) -> np.ndarray:
    """The plugin's meaning: np.pad mode="wrap", pads in torch's order (last dimension first)."""
    width = [(0, 0)] * x.ndim
    for j in range(len(pads) // 2):
        width[x.ndim - 1 - j] = (pads[2 * j], pads[2 * j + 1])
    return np.pad(x, width, mode="wrap")
