#!/usr/bin/env python3
"""What a custom operator costs inside a whole model (issue #13's last row): transformers'
BERT-base encoder (8 x 128 tokens, FP16, random weights) with each of its 12 GELU activations
replaced by a custom op bench::gelu (the erf GELU, the same arithmetic), timed beside the same
model with the built-in GELU:

  torch_eager    the model in torch (SDPA attention); the custom op is a torch.library.custom_op
                 whose body is aten::gelu.out
  torch_compile  torch.compile of the same (the custom op stays opaque to the compiler)
  qdp            the FP32 ONNX export (the custom op exported as a node bench::Gelu) built with
                 FP16 allowed through qdp's Python API; the node is a qdp Python plugin
                 (@qdp.plugin.register / impl / autotune) whose impl runs the same aten kernel on
                 the engine's stream, on zero-copy views of the engine's tensors

Times are per inference: CUDA events around 50 back-to-back runs after a warm-up (qdp: its
execution context's execute_async_v3 on a torch stream, device inputs and outputs bound once),
the median of 5 rounds that take every variant in turn (on the CPU dry run: 2 rounds of 2).
"plugin cost" is the custom-op model's time minus the built-in one's, per peer: the goal is qdp's
no more than torch's. The custom-op models' outputs are checked against the built-in ones.

Usage: PYTHONPATH=build/python python3 bench/gpu/plugin_in_model.py [OUT_DIR]
  QDP_BENCH_DEVICE=cpu: qdp on the CPU only, no torch peers (a dry run without a GPU)."""
import os
import sys
import tempfile

import numpy as np
import torch

import qdp as trt
import qdp.plugin as trtp
from qdp.runner import CreateConfig, engine_from_network, network_from_onnx_path

DEVICE = os.environ.get("QDP_BENCH_DEVICE", "cuda")
ITERS, ROUNDS = (50, 5) if DEVICE == "cuda" else (2, 2)  # the CPU dry run: about 1 s a run


# ---- the custom op in torch ----------------------------------------------------------------
@torch.library.custom_op("bench::gelu", mutates_args=())
def torch_gelu(x: torch.Tensor) -> torch.Tensor:
    y = torch.empty_like(x)
    torch.ops.aten.gelu.out(x, out=y)
    return y


@torch_gelu.register_fake
def _(x):
    return torch.empty_like(x)


torch.onnx.register_custom_op_symbolic(
    "bench::gelu", lambda g, x: g.op("bench::Gelu", x).setType(x.type()), 17)


class CustomGelu(torch.nn.Module):
    def forward(self, x):
        return torch.ops.bench.gelu(x)


# ---- the same op as a qdp Python plugin -----------------------------------------------------
@trtp.register("bench::Gelu")
def gelu_desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
    return x.like()


@trtp.autotune("bench::Gelu")
def gelu_autotune(x: trtp.TensorDesc, outputs):
    return [trtp.AutoTuneCombination("FP32|FP16, FP32|FP16")]


_streams = {}  # the engine's stream as a torch stream, made once


@trtp.impl("bench::Gelu")
def gelu_impl(x: trtp.Tensor, outputs, stream: int) -> None:
    if x.device == "cuda":
        s = _streams.get(stream)
        if s is None:
            s = _streams[stream] = torch.cuda.ExternalStream(stream)
        with torch.cuda.stream(s):
            torch.ops.aten.gelu.out(torch.as_tensor(x, device="cuda"),
                                    out=torch.as_tensor(outputs[0], device="cuda"))
    else:
        torch.ops.aten.gelu.out(torch.from_dlpack(x), out=torch.from_dlpack(outputs[0]))


# ---- models and timing ----------------------------------------------------------------------
class Encoder(torch.nn.Module):
    """BertModel(input_ids, attention_mask).last_hidden_state, positionally."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, mask):
        return self.model(input_ids=ids, attention_mask=mask).last_hidden_state


def bert(custom, attn):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(attn_implementation=attn), add_pooling_layer=False).eval()
    if custom:
        for layer in model.encoder.layer:
            layer.intermediate.intermediate_act_fn = CustomGelu()
    return Encoder(model).eval()


def timed(fn, sync_stream=None):
    """Mean time per call of fn() over ITERS back-to-back calls after a warm-up, in ms."""
    with torch.inference_mode():
        for _ in range(10 if DEVICE == "cuda" else 1):
            fn()
        if DEVICE != "cuda":
            import time
            t = time.perf_counter()
            for _ in range(ITERS):
                fn()
            return (time.perf_counter() - t) * 1e3 / ITERS
        stream = sync_stream or torch.cuda.current_stream()
        stream.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(stream)
        for _ in range(ITERS):
            fn()
        end.record(stream)
        end.synchronize()
    return start.elapsed_time(end) / ITERS


def qdp_engine(path):
    engine = engine_from_network(network_from_onnx_path(path),
                                 CreateConfig(fp16=True, device=DEVICE))
    return engine


def qdp_runner(engine, ids, mask):
    """(run, stream, output): one inference of the engine on its stream, with the inputs and
    the output bound once on the device. run keeps the engine and its context alive."""
    dev = "cuda" if DEVICE == "cuda" else "cpu"
    ids, mask = ids.to(dev), mask.to(dev)
    out = torch.empty(8, 128, 768, dtype=torch.float32, device=dev)
    context = engine.create_execution_context()
    context.set_tensor_address("input_ids", ids.data_ptr())
    context.set_tensor_address("attention_mask", mask.data_ptr())
    context.set_tensor_address("last_hidden_state", out.data_ptr())
    stream = torch.cuda.Stream() if DEVICE == "cuda" else None
    handle = stream.cuda_stream if stream is not None else 0

    def run(engine=engine, context=context):
        context.execute_async_v3(handle)

    return run, stream, out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    os.makedirs(out_dir, exist_ok=True)
    ids = torch.randint(0, 30522, (8, 128))
    mask = torch.ones(8, 128, dtype=torch.int64)
    # Every variant is made first and then timed in interleaved rounds (the median of ROUNDS):
    # timing one model after the other let the first one pay for the GPU's and the allocators'
    # warm-up (the custom-op models came out faster than the built-in ones).
    runners, outputs, notes = {}, {}, {}
    for custom in (False, True):
        kind = "custom op" if custom else "built-in"
        path = os.path.join(out_dir, f"bert_{'custom' if custom else 'builtin'}.onnx")
        with torch.no_grad():
            torch.onnx.export(bert(custom, "eager"), (ids, mask), path, dynamo=False,
                              opset_version=17, input_names=["input_ids", "attention_mask"],
                              output_names=["last_hidden_state"], do_constant_folding=True)
        engine = qdp_engine(path)
        plugin_layers = [l for l in engine.layers
                         if l["kind"] == "plugin" and l["plugin_id"] == "bench::Gelu"]
        fp16 = sum(l["types"][0] == trt.float16 for l in plugin_layers)
        if custom:
            notes[("qdp", kind)] = f"{len(plugin_layers)} bench::Gelu layers ({fp16} in FP16)"
        run, stream, out = qdp_runner(engine, ids, mask)
        runners[("qdp", kind)] = (run, stream)
        with torch.inference_mode():
            run()
            if stream is not None:
                stream.synchronize()
        outputs[("qdp", custom)] = out.float().cpu()
        if DEVICE != "cuda":
            continue
        model = bert(custom, "sdpa").half().cuda()
        gi, gm = ids.cuda(), mask.cuda()
        with torch.inference_mode():
            outputs[("torch", custom)] = model(gi, gm).float().cpu()
        compiled = torch.compile(model)
        runners[("torch_eager", kind)] = (lambda m=model: m(gi, gm)), None
        runners[("torch_compile", kind)] = (lambda c=compiled: c(gi, gm)), None
        notes[("torch_compile", kind)] = "mode default"
    times = {key: [] for key in runners}
    for _ in range(ROUNDS):
        for key, (run, stream) in runners.items():
            times[key].append(timed(run, stream))
    rows = []
    for (impl, kind), ts in times.items():
        ms = float(np.median(ts))
        rows.append((impl, kind, ms, notes.get((impl, kind), "")))
        print(f"-- {impl} {kind} {ms:.4f} ms (median of {ROUNDS}: "
              f"{' '.join(f'{t:.4f}' for t in ts)}) {rows[-1][3]}", file=sys.stderr, flush=True)
    print(f"{'impl':14s} {'built-in ms':>12s} {'custom op ms':>13s} {'plugin cost ms':>15s}  notes")
    for impl in ("torch_eager", "torch_compile", "qdp"):
        got = {kind: (ms, note) for i, kind, ms, note in rows if i == impl}
        if len(got) < 2:
            continue
        base, custom = got["built-in"][0], got["custom op"][0]
        print(f"{impl:14s} {base:12.4f} {custom:13.4f} {custom - base:15.4f}  {got['custom op'][1]}")
    for peer in ("qdp", "torch"):
        if (peer, True) in outputs:
            a, b = outputs[(peer, True)], outputs[(peer, False)]
            err = float((a - b).abs().max() / b.abs().max())
            print(f"{peer}: custom-op model vs built-in, max error relative to the largest output: "
                  f"{err:.2e}")


if __name__ == "__main__":
    main()
