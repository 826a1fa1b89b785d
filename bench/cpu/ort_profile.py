#!/usr/bin/env python3
"""onnxruntime's per-node times on the CPU (its enable_profiling trace), to set beside
`qdpexec --device cpu --dumpProfile` for the same model: the median of each node's kernel time
over 30 runs (the first 5 dropped), then the total.

Usage: OMP_NUM_THREADS=2 .venv-py/bin/python bench/cpu/ort_profile.py MODEL.onnx 1x3x224x224
       [--threads N]    (the model's one input is named "x", FP32, of the shape given)
"""
import argparse
import collections
import json
import os
import tempfile

import numpy as np
import onnxruntime as ort


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("shape")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.enable_profiling = True
    tmp = tempfile.mkdtemp()
    so.profile_file_prefix = os.path.join(tmp, "ort_profile")  # not into the working directory
    session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    shape = tuple(int(d) for d in args.shape.split("x"))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(30):
        session.run(None, {"x": x})
    trace = session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    os.rmdir(tmp)
    times = collections.defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            times[(e["args"]["op_name"], e["name"][: -len("_kernel_time")])].append(e["dur"])
    total = 0.0
    for (op, node), durations in times.items():
        ms = float(np.median(durations[5:])) / 1000
        total += ms
        print(f"{op:24s} {node:44s} {ms:8.3f} ms")
    print(f"total {total:.3f} ms")


if __name__ == "__main__":
    main()
