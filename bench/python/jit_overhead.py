"""The engine's overhead for one Python JIT plugin node (SPEC §8 Performance, target <= 2 us):
execute_async_v3 of a one-node CPU engine against calling the same Python impl directly with
ready-made arguments. The impl does nothing, so the difference is what the engine adds: the
enqueue, the GIL, the Tensor views, the outputs tuple, the call and the views' release.

    PYTHONPATH=build/python .venv-py/bin/python bench/python/jit_overhead.py [--device cuda]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from typing import Callable, Tuple

import numpy as np

import qdp as trt
import qdp.plugin as trtp
from qdp.runner import CreateConfig, create_network, engine_from_network


@trtp.register("bench::noop")
def noop_desc(x: trtp.TensorDesc, block_size: int = 256) -> trtp.TensorDesc:
    return x.like()


@trtp.impl("bench::noop")
def noop_impl(x: trtp.Tensor, block_size: int, outputs: Tuple[trtp.Tensor], stream: int) -> None:
    pass


def per_call_us(fn: Callable[[], object], calls: int = 20000, repeats: int = 15) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    device = parser.parse_args().device
    builder, network = create_network()
    x = network.add_input("x", trt.float32, (10, 3, 32, 32))
    layer = network.add_plugin(trtp.op.bench.noop(x))
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    engine = engine_from_network((builder, network), CreateConfig(device=device))
    context = engine.create_execution_context()
    a, b = np.zeros((10, 3, 32, 32), np.float32), np.zeros((10, 3, 32, 32), np.float32)
    if device == "cpu":
        context.set_tensor_address("x", a.ctypes.data)
        context.set_tensor_address("y", b.ctypes.data)
    else:
        buffers = [trt._core.DeviceBuffer(trt._core.Device.CUDA, a.nbytes) for _ in range(2)]
        context.set_tensor_address("x", buffers[0].ptr)
        context.set_tensor_address("y", buffers[1].ptr)

    args = (a, 256, (b,), 0)  # ready-made: the same arity and kinds as the engine passes
    direct = lambda: noop_impl(*args)  # noqa: E731
    run = lambda: context.execute_async_v3(0)  # noqa: E731
    for _ in range(2000):  # warm-up
        direct(), run()
    rounds = [(per_call_us(direct, repeats=1)[0], per_call_us(run, repeats=1)[0]) for _ in range(15)]
    d = statistics.median(r[0] for r in rounds)
    e = statistics.median(r[1] for r in rounds)
    best = min(r[1] - r[0] for r in rounds)
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"one Python JIT node, 10x3x32x32 fp32, {device} engine, impl does nothing")
    print(f"direct call of the impl:   {d:7.3f} us (median of 15 rounds of 20000 calls)")
    print(f"engine execute_async_v3:   {e:7.3f} us")
    print(f"engine overhead:           {e - d:7.3f} us (median), {best:.3f} us (best round); target <= 2 us")


if __name__ == "__main__":
    main()
