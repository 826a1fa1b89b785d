#!/usr/bin/env python3
"""SPEC §9's CPU comparison: a ResNet-18 and a small BERT-style encoder (random weights, built
with onnx.helper as torchvision and transformers lay them out, opset 17), run by qdp's CPU
backend and by onnxruntime with the same thread count. Prints, per model, the median latency of
each over the same inputs and qdp's largest error against onnxruntime.

Usage: PYTHONPATH=build/python .venv-py/bin/python bench/cpu/onnx_models_bench.py
       [--threads N] [--runs N]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import onnx  # noqa: E402
import onnx_models as M  # noqa: E402  (GraphBuilder, the transformer encoder layer)
from onnx import TensorProto, helper  # noqa: E402


def resnet18(batch: int) -> onnx.ModelProto:
    """torchvision's resnet18 at inference, with its BatchNormalizations kept as nodes."""
    g = M.GraphBuilder("resnet18", 3)

    def conv_bn(x, c_in, c_out, k, stride, relu=True):
        h = g.op("Conv", [x, g.weight("w", (c_out, c_in, k, k), c_in * k * k)],
                 kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
        h = M._batchnorm(g, h, c_out)
        return g.op("Relu", [h]) if relu else h

    h = conv_bn("x", 3, 64, 7, 2)
    h = g.op("MaxPool", [h], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for c_out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for block in range(2):
            s = stride if block == 0 else 1
            y = conv_bn(conv_bn(h, c_in, c_out, 3, s), c_out, c_out, 3, 1, relu=False)
            skip = conv_bn(h, c_in, c_out, 1, s, relu=False) if (s != 1 or c_in != c_out) else h
            h = g.op("Relu", [g.op("Add", [y, skip])])
            c_in = c_out
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])], axis=1)
    g.op("Gemm", [h, g.weight("fc_w", (1000, 512)), g.weight("fc_b", (1000,))], transB=1)
    g.nodes[-1].output[0] = "y"
    return g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 224, 224])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 1000])])


def small_bert(batch: int, seq: int, layers: int = 4) -> onnx.ModelProto:
    """The tests' transformer encoder layer at BERT-small's width (onnx_models.D_MODEL etc.)."""
    M.D_MODEL, M.HEADS, M.D_FF = 256, 4, 1024
    g = M.GraphBuilder("small_bert", 4)
    h = "x"
    for _ in range(layers):
        h = M._encoder_layer(g, h)
    g.op("Identity", [h])
    g.nodes[-1].output[0] = "y"
    return g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, seq, 256])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, seq, 256])])


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))  # qdp's CPU impls and oneDNN

    import onnxruntime as ort

    from qdp.runner import CreateConfig, TrtRunner, engine_from_network, network_from_onnx_path

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    print(f"CPU, {args.threads} threads (qdp: OMP_NUM_THREADS; onnxruntime: intra_op_num_threads), "
          f"median of {args.runs} runs after one warm-up")
    print(f"{'model':<28} {'qdp ms':>9} {'ort ms':>9} {'qdp/ort':>8} {'max err':>9}")
    rng = np.random.default_rng(0)
    for name, model, shape in [("resnet18 b1 224", resnet18(1), (1, 3, 224, 224)),
                               ("small_bert b1 s128 4 layers", small_bert(1, 128), (1, 128, 256))]:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.onnx")
            onnx.save(model, path)
            x = rng.standard_normal(shape).astype(np.float32)
            session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            want = session.run(None, {"x": x})[0]
            builder, network, _ = network_from_onnx_path(path)
            engine = engine_from_network((builder, network),
                                         CreateConfig(strict_types=True, device="cpu")(builder,
                                                                                       network))
            with TrtRunner(engine) as runner:
                got = runner.infer({"x": x})["y"]
                err = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))
                q = median_ms(lambda: runner.infer({"x": x}), args.runs)
            o = median_ms(lambda: session.run(None, {"x": x}), args.runs)
            print(f"{name:<28} {q:9.2f} {o:9.2f} {q / o:8.2f} {err:9.1e}", flush=True)


if __name__ == "__main__":
    main()
