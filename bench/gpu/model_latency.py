#!/usr/bin/env python3
"""Whole models on the GPU, side by side (SPEC section 9, "Performance"): torchvision's ResNet-50
at batch 32 and batch 1 and a transformers BERT-base encoder at batch 8 x 128 tokens, random
weights, FP16, through

  torch_eager     the model in FP16 (ResNet channels_last; BERT with SDPA attention)
  torch_compile   torch.compile of the same, once per mode of QDP_TORCH_COMPILE_MODES (default
                  "default max-autotune"; rows torch_compile and torch_compile_max); "vs
                  compile" is against the faster of them
  qdp             qdpexec --fp16 on the FP32 ONNX export (opset 17): the builder picks FP16 and
                  channels-last per layer; inputs and outputs stay FP32, converted in the engine
  qdp_graph       the same engine replayed as a CUDA graph (--useCudaGraph)

Times are GPU time per inference: for torch, CUDA events around 50 back-to-back runs after a
warm-up; for qdp, qdpexec's median GPU compute time (CUDA events, --noDataTransfers). Beside
them: the sum of the medians of qdp's Conv / MatMul / Gemm / MatMulBias layers (cuDNN and
cuBLASLt with their epilogues: the floor that the rest of the graph adds to), the host's time per
step of the plain enqueue (qdpexec's per-layer profile), how many layers ran in FP16 and
in HWC, the reformats, and qdp's output against onnxruntime's on the CPU (FP32) on the same
inputs, relative to the output's largest magnitude.

Usage: python3 bench/gpu/model_latency.py BUILD_DIR [OUT_DIR] [MODEL...]
  MODEL: resnet50_b32, resnet50_b1, bert_base (default: all three).
  QDP_BENCH_DEVICE=cpu: qdp on the CPU and no torch peers (a dry run of the script without a GPU).
  QDP_BENCH_PRECISIONS="fp16 bf16": qdp built with --fp16 and again with --bf16 (default fp16)."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch

ITERS = 50
DEVICE = os.environ.get("QDP_BENCH_DEVICE", "cuda")
# qdp's reduced precisions, one engine and row each: fp16 ("qdp"), bf16 ("qdp_bf16").
PRECISIONS = os.environ.get("QDP_BENCH_PRECISIONS", "fp16").split()


def export(model, args, path, names, output):
    kwargs = dict(opset_version=17, input_names=names, output_names=[output],
                  do_constant_folding=True)
    try:
        torch.onnx.export(model, args, path, dynamo=False, **kwargs)
    except TypeError:  # a torch without the dynamo switch
        torch.onnx.export(model, args, path, **kwargs)


def gpu_ms(fn):
    """Mean GPU time of fn() over ITERS back-to-back runs, after a warm-up."""
    with torch.inference_mode():
        for _ in range(10):
            fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(ITERS):
            fn()
        end.record()
        torch.cuda.synchronize()
    return start.elapsed_time(end) / ITERS


def torch_peers(name, model, inputs):
    """Eager and torch.compile times of `model` (already FP16 on the GPU) on `inputs`."""
    rows = [(name, "torch_eager", gpu_ms(lambda: model(*inputs)), "")]
    progress(rows)
    for mode in os.environ.get("QDP_TORCH_COMPILE_MODES", "default max-autotune").split():
        torch._dynamo.reset()  # each mode compiles the model afresh
        begin = time.perf_counter()
        compiled = torch.compile(model, mode=mode)
        with torch.inference_mode():
            compiled(*inputs)  # compiles
        compile_s = time.perf_counter() - begin
        impl = "torch_compile" if mode == "default" else "torch_compile_" + mode.split("-")[0]
        rows.append((name, impl, gpu_ms(lambda: compiled(*inputs)),
                     f"mode {mode}, compiled in {compile_s:.0f} s"))
        progress(rows[-1:])
    return rows


def qdp_runs(name, qdpexec, path, feeds, out_dir, precision="fp16"):
    """qdpexec --fp16 (or --bf16) builds an engine from the ONNX file once; it runs plain and with
    CUDA-graph replay. Returns the rows and the outputs (from the plain run)."""
    suffix = "" if precision == "fp16" else "_" + precision
    work = os.path.join(out_dir, name + suffix)
    os.makedirs(work, exist_ok=True)
    load = []
    for k, v in feeds.items():
        np.save(os.path.join(work, k + ".npy"), v)
        load += ["--loadInputs", f"{k}:{os.path.join(work, k + '.npy')}"]
    engine = os.path.join(work, "engine.qdp")
    build = subprocess.run([qdpexec, "--onnx", path, "--" + precision, "--device", DEVICE, "--saveEngine",
                            engine, "--skipInference", "--exportLayerInfo",
                            os.path.join(work, "layers.json")], capture_output=True, text=True)
    with open(os.path.join(work, "build.log"), "w") as f:
        f.write(build.stdout + build.stderr)
    if build.returncode != 0:
        raise RuntimeError(f"{name}: the qdp build failed ({build.returncode}):\n"
                           f"{build.stdout[-3000:]}\n{build.stderr[-3000:]}")
    built_s = float(re.search(rf"Engine built for the {DEVICE} in ([0-9.]+) ms", build.stdout).group(1)) / 1e3
    layers = json.load(open(os.path.join(work, "layers.json")))["layers"]
    plugins = [l for l in layers if l["kind"] == "plugin"]
    reduced = sum(precision.upper() in l["types"] for l in plugins)
    hwc = sum("HWC" in l["formats"] for l in plugins)
    reformats = sum(l["kind"] == "reformat" for l in layers)
    products = ("onnx::Conv", "onnx::MatMul", "onnx::Gemm", "qdp::MatMulBias")
    heavy = {l["name"] for l in plugins if l.get("plugin") in products}
    rows, outputs = [], {}
    runs = [("qdp" + suffix, [])] + ([("qdp_graph" + suffix, ["--useCudaGraph"])]
                                     if DEVICE == "cuda" else [])
    for label, extra in runs:
        prefix = os.path.join(work, label)
        cmd = [qdpexec, "--loadEngine", engine, "--duration", "1", "--iterations", "50", *load,
               "--exportTimes", prefix + ".times.json"]
        if DEVICE == "cuda":
            cmd.append("--noDataTransfers")
        if label == "qdp" + suffix:
            cmd += ["--exportProfile", prefix + ".profile.json", "--saveOutputs", work]
        run = subprocess.run(cmd + extra, capture_output=True, text=True)
        with open(prefix + ".log", "w") as f:
            f.write(run.stdout + run.stderr)
        if run.returncode != 0:
            raise RuntimeError(f"{name}: qdpexec failed ({run.returncode}):\n{run.stdout[-3000:]}"
                               f"\n{run.stderr[-3000:]}")
        times = json.load(open(prefix + ".times.json"))
        compute = float(np.median([t["computeMs"] for t in times]))
        enqueue = float(np.median([t["enqueueMs"] for t in times]))
        note = f"host enqueue {enqueue * 1e3:.0f} us"
        if label == "qdp" + suffix:
            profile = json.load(open(prefix + ".profile.json"))[1:]
            floor = sum(p["medianMs"] for p in profile if p["name"] in heavy)
            host_us = [p["averageHostMs"] * 1e3 for p in profile]
            note = (f"build {built_s:.1f} s, {note} ({np.mean(host_us):.1f} us per step); "
                    f"{len(plugins)} layers: {reduced} {precision.upper()}, {hwc} HWC, "
                    f"{reformats} reformats; its Conv/MatMul/Gemm layers {floor:.3f} ms")
            host_report(name + suffix, layers, profile)
            for f in os.listdir(work):
                if f.endswith(".npy") and f[:-4] not in feeds:
                    outputs[f[:-4]] = np.load(os.path.join(work, f))
        rows.append((name, label, compute, note))
    return rows, outputs


def host_report(name, layers, profile):
    """GPU and host time by kind of layer (plugin or reformat, with its types and formats), on
    stderr: where the time goes."""
    kinds = {}
    for layer, p in zip(layers, profile):
        kind = (f"{layer.get('plugin') or layer['kind']} {','.join(layer.get('types', []))} "
                f"{','.join(layer.get('formats', []))}")
        gpu, host, count = kinds.get(kind, (0.0, 0.0, 0))
        kinds[kind] = (gpu + p["medianMs"], host + p["averageHostMs"] * 1e3, count + 1)
    for kind, (gpu, host, count) in sorted(kinds.items(), key=lambda k: -k[1][0]):
        print(f"-- {name} {kind:60s} {count:4d} steps: GPU {gpu:8.3f} ms, host {host:8.1f} us "
              f"({host / count:.1f} us each)", file=sys.stderr, flush=True)


# The largest error against onnxruntime (relative to the output's largest magnitude) accepted
# for each precision: BF16 keeps 3 fewer mantissa bits than FP16 (8 against 11).
TOLERANCE = {"fp16": 2e-2, "bf16": 1e-1}


def check(name, path, feeds, got, tolerance=TOLERANCE["fp16"]):
    """qdp's outputs against onnxruntime's (CPU, FP32): the max error relative to the output's
    largest magnitude, at most `tolerance`."""
    m = onnx.load(path)
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
    errors = []
    for vi, w in zip(m.graph.output, want):
        g = got[vi.name].astype(np.float64)
        err = float(np.max(np.abs(g - w)) / max(float(np.max(np.abs(w))), 1e-30))
        errors.append(f"{vi.name} {err:.2e}")
        assert err < tolerance, f"{name}: output {vi.name} differs from onnxruntime by {err:.3e}"
    return ", ".join(errors)


def resnet50(batch):
    import torchvision

    model = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224)
    return model, {"x": x.numpy()}, ["x"], lambda m: (
        m.half().cuda().to(memory_format=torch.channels_last),
        (x.half().cuda().to(memory_format=torch.channels_last),))


def bert_base():
    from transformers import BertConfig, BertModel

    # base: 12 layers, hidden 768, 12 heads, intermediate 3072; exported with the plain attention
    # (MatMul, Softmax, MatMul), run in torch with SDPA.
    config = BertConfig(attn_implementation="eager")
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False).eval()
    ids = torch.randint(0, config.vocab_size, (8, 128))
    mask = torch.ones(8, 128, dtype=torch.int64)

    def on_gpu(m):
        m = BertModel(BertConfig(attn_implementation="sdpa"), add_pooling_layer=False)
        m.load_state_dict(model.state_dict())
        return m.eval().half().cuda(), (ids.cuda(), mask.cuda())

    return model, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}, \
        ["input_ids", "attention_mask"], on_gpu


MODELS = {"resnet50_b32": lambda: resnet50(32), "resnet50_b1": lambda: resnet50(1),
          "bert_base": bert_base}


def progress(rows, line=""):
    """Each figure as soon as it is measured, on stderr: what a run cut off at its limit keeps."""
    for name, impl, ms, note in rows:
        print(f"-- {name} {impl} {ms:.4f} ms  {note}", file=sys.stderr, flush=True)
    if line:
        print(f"-- {line}", file=sys.stderr, flush=True)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
    os.makedirs(out_dir, exist_ok=True)
    names = sys.argv[3:] or list(MODELS)
    qdpexec = os.path.join(build, "bin", "qdpexec")
    torch.manual_seed(0)
    rows, checks = [], []
    for name in names:
        model, feeds, input_names, to_gpu = MODELS[name]()
        path = os.path.join(out_dir, name + ".onnx")
        with torch.no_grad():
            export(model, tuple(torch.from_numpy(v) for v in feeds.values()), path, input_names,
                   "logits" if name.startswith("resnet") else "last_hidden_state")
        qdp_rows = []
        for precision in PRECISIONS:
            runs, outputs = qdp_runs(name, qdpexec, path, feeds, out_dir, precision)
            qdp_rows += runs
            checks.append(f"{name}: qdp ({precision.upper()}) vs onnxruntime CPU (FP32): "
                          f"{check(name, path, feeds, outputs, TOLERANCE[precision])}")
        progress(qdp_rows)
        if DEVICE == "cuda":
            gpu_model, gpu_inputs = to_gpu(model)
            peer_rows = torch_peers(name, gpu_model, gpu_inputs)
            rows += peer_rows
            del gpu_model
            torch.cuda.empty_cache()
        rows += qdp_rows
        progress([], checks[-1])
    print(f"{'model':14s} {'impl':14s} {'ms':>9s} {'vs compile':>10s}  notes")
    for name, impl, ms, note in rows:
        compile_ms = min((r[2] for r in rows if r[0] == name and r[1].startswith("torch_compile")),
                         default=None)
        ratio = f"{compile_ms / ms:9.2f}x" if compile_ms else f"{'-':>10s}"
        print(f"{name:14s} {impl:14s} {ms:9.4f} {ratio}  {note}")
    for line in checks:
        print(line)


if __name__ == "__main__":
    main()
