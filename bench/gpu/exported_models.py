#!/usr/bin/env python3
"""Real exported architectures through qdp's ONNX importer, on the GPU machine (torch,
torchvision and transformers are there): torchvision's ResNet-50 and MobileNetV2 and a
transformers BERT encoder, random weights, exported by torch.onnx at opset 17. For each: the
operators the export holds, and qdp's CUDA result against onnxruntime's on the CPU (max relative
error, relative to the output's largest magnitude). For ResNet-50 also the timing cache: a
first build with an empty cache (the autotuner's default runs), a second with the filled one,
their times and whether they made the same choices. Usage: PYTHONPATH=BUILD/python python3
bench/gpu/exported_models.py [OUT_DIR]"""
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "python"))
import onnx_node_runner as R  # noqa: E402  (its build_engine: import, profile, build)


def export(model, args, path, input_names):
    model.eval()
    kwargs = dict(opset_version=17, input_names=input_names, do_constant_folding=True)
    try:
        torch.onnx.export(model, args, path, dynamo=False, **kwargs)
    except TypeError:  # a torch without the dynamo switch
        torch.onnx.export(model, args, path, **kwargs)


def check(name, path, feed):
    m = onnx.load(path)
    ops = sorted({n.op_type for n in m.graph.node})
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    print(f"{name}: opset {opset}, {len(m.graph.node)} nodes, ops: {' '.join(ops)}", flush=True)
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feed)
    from qdp.runner import TrtRunner

    start = time.perf_counter()
    engine = R.build_engine(path, "cuda", [feed])
    build_s = time.perf_counter() - start
    with TrtRunner(engine) as runner:
        got = runner.infer(feed)
    for vi, w in zip(m.graph.output, want):
        g = got[vi.name]
        err = float(np.max(np.abs(g.astype(np.float64) - w)) / max(np.max(np.abs(w)), 1e-30))
        print(f"  {vi.name} {tuple(g.shape)}: max error {err:.2e} of the largest magnitude "
              f"(qdp CUDA vs onnxruntime CPU); build {build_s:.1f} s", flush=True)
        assert err < 1e-2, f"{name}: {vi.name} differs from onnxruntime by {err}"


def timing_cache_check(name, path):
    """Builds `path` twice for CUDA sharing one timing cache: the second build should time
    nothing and make the first one's choices (layer names, implementations, types, formats,
    tactics). Prints both build times; fails only where the choices differ."""
    from qdp.runner import CreateConfig, network_from_onnx_path

    cache = None

    def build():
        nonlocal cache
        builder, network, _ = network_from_onnx_path(path)
        config = CreateConfig(strict_types=True, device="cuda")(builder, network)
        cache = cache or config.create_timing_cache()
        config.set_timing_cache(cache)
        start = time.perf_counter()
        engine = builder.build_engine_with_config(network, config)
        seconds = time.perf_counter() - start
        choices = [(l["name"], l["implementation"], tuple(map(str, l["types"])),
                    tuple(map(str, l["formats"])), l["tactic"]) for l in engine.layers]
        return seconds, choices

    first_s, first = build()
    entries = cache._core.size if hasattr(cache, "_core") else "?"
    second_s, second = build()
    same = first == second
    print(f"{name} timing cache: first build {first_s * 1e3:.0f} ms ({entries} timings cached), "
          f"second build {second_s * 1e3:.0f} ms, {first_s / second_s:.1f}x faster; "
          f"{len(first)} layers, {'the same' if same else 'DIFFERENT'} choices", flush=True)
    assert same, f"{name}: the build from the timing cache chose differently"


def main():
    torch.manual_seed(0)
    tmp = tempfile.mkdtemp()
    import torchvision

    for name, ctor in [("resnet50", torchvision.models.resnet50),
                       ("mobilenet_v2", torchvision.models.mobilenet_v2)]:
        path = os.path.join(tmp, name + ".onnx")
        x = torch.randn(2, 3, 224, 224)
        export(ctor(weights=None), (x,), path, ["x"])
        check(name, path, {"x": x.numpy()})
        if name == "resnet50":
            timing_cache_check(name, path)

    from transformers import BertConfig, BertModel

    config = BertConfig(num_hidden_layers=2, hidden_size=256, num_attention_heads=4,
                        intermediate_size=1024)
    bert = BertModel(config)
    ids = torch.randint(0, config.vocab_size, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.int64)
    path = os.path.join(tmp, "bert.onnx")
    export(bert, (ids, mask), path, ["input_ids", "attention_mask"])
    check("bert", path, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})


if __name__ == "__main__":
    main()
