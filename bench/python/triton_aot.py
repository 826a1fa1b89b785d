"""The Python front end on the GPU, timed with one timer on both sides (triton.testing.do_bench):

1. The sample's circ_pad as an AOT engine built from its Triton kernel (PTX from triton.compile)
   against Triton's own launch of the same kernel: device time, and host time per launch.
2. The add sample as an AOT engine (CUDA source) against torch eager and the seed's Triton kernel,
   at the seed's shape (10,3,32,32) and at 2^28 elements.
3. The build time of the Python add sample with autotune, after the device is initialised.

    PYTHONPATH=build/python python3 bench/python/triton_aot.py      (on a machine with a GPU)
"""

from __future__ import annotations

import os
import sys
import time

import torch
import triton
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "samples", "python"))
import qdp_defs  # noqa: E402  (the sample's plugin definitions)

import qdp as trt  # noqa: E402
import qdp.plugin as trtp  # noqa: E402
from qdp.runner import CreateConfig, create_network, engine_from_network  # noqa: E402

qdp_defs.register_circ_pad_multi_tactic()
qdp_defs.register_add_autotune()


def engine_of(op_call, shape, aot: bool | None):
    builder, network = create_network()
    x = network.add_input("x", trt.float32, shape)
    layer = network.add_plugin(op_call(x), aot=aot)
    layer.get_output(0).name = "y"
    network.mark_output(layer.get_output(0))
    return engine_from_network((builder, network), CreateConfig(device="cuda", prefer_aot=aot))


def bound_context(engine, x: torch.Tensor, y: torch.Tensor):
    context = engine.create_execution_context()
    context.set_tensor_address("x", x.data_ptr())
    context.set_tensor_address("y", y.data_ptr())
    return context


def host_us(fn, calls: int = 100, rounds: int = 30) -> float:
    """Host time per call of `fn`: the median over rounds of `calls` launches, each round short
    enough (fewer launches than the queue holds) that the host never waits for the GPU."""
    for _ in range(calls):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls * 1e6)
        torch.cuda.synchronize()
    times.sort()
    return times[len(times) // 2]


def row(case, shape, impl, ms, nbytes):
    print(f"py_{case},fp32,{'x'.join(map(str, shape))},{impl},{ms:.5f},{nbytes / ms / 1e6:.1f}")


def circ_pad(shape):
    pads = qdp_defs.np.array([1, 1, 1, 1], dtype=qdp_defs.np.int32)
    engine = engine_of(lambda x: trtp.op.sample.circ_pad_plugin(x, pads=pads), shape, aot=True)
    tactic = engine.layers[0]["tactic"]
    block = 1024 if tactic == qdp_defs.Tactic.SLICES else 256
    x = torch.randn(shape, device="cuda")
    out_shape = (shape[0], shape[1], shape[2] + 2, shape[3] + 2)
    y = torch.empty(out_shape, device="cuda")
    context = bound_context(engine, x, y)
    stream = torch.cuda.current_stream().cuda_stream
    context.execute_async_v3(stream)
    torch.cuda.synchronize()
    ref = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="circular")
    assert torch.equal(y, ref), "the AOT engine's output differs from F.pad(mode='circular')"
    y2 = torch.empty_like(y)
    grid = (triton.cdiv(y.numel(), block),)
    widths = qdp_defs._pad_widths(4, pads)  # per dimension (begin, end): N, C, H, W
    args = (x, *(w for w, _ in widths), *shape, *out_shape[1:], x.numel(), y.numel(), y2)

    def triton_launch():
        qdp_defs.circ_pad_kernel[grid](*args, BLOCK_SIZE=block)

    triton_launch()
    torch.cuda.synchronize()
    assert torch.equal(y2, ref)
    nbytes = (x.numel() + y.numel()) * 4
    row("circ_pad", shape, "qdp_triton_aot_engine", do_bench(lambda: context.execute_async_v3(stream)), nbytes)
    row("circ_pad", shape, "triton_launch", do_bench(triton_launch), nbytes)
    row("circ_pad", shape, "torch_eager", do_bench(lambda: torch.nn.functional.pad(x, (1, 1, 1, 1), mode="circular")), nbytes)
    engine_host = host_us(lambda: context.execute_async_v3(stream))
    triton_host = host_us(triton_launch)
    print(f"metric,py_circ_pad_{'x'.join(map(str, shape))}_host_us_qdp_engine,{engine_host:.3f},us")
    print(f"metric,py_circ_pad_{'x'.join(map(str, shape))}_host_us_triton_launch,{triton_host:.3f},us")


def add(shape):
    engine = engine_of(lambda x: trtp.op.sample.elemwise_add_plugin(x, block_size=256), shape, aot=True)
    x = torch.randint(0, 10, shape, device="cuda").float()
    y = torch.empty_like(x)
    context = bound_context(engine, x, y)
    stream = torch.cuda.current_stream().cuda_stream
    context.execute_async_v3(stream)
    torch.cuda.synchronize()
    assert torch.equal(y, x + 1)
    y2 = torch.empty_like(x)
    n = x.numel()
    grid = (triton.cdiv(n, 256),)
    nbytes = 2 * n * 4
    row("add", shape, "qdp_aot_engine", do_bench(lambda: context.execute_async_v3(stream)), nbytes)
    row("add", shape, "torch_eager", do_bench(lambda: torch.add(x, 1, out=y2)), nbytes)
    row("add", shape, "triton_seed", do_bench(lambda: qdp_defs.add_kernel[grid](x, n, y2, BLOCK_SIZE=256)), nbytes)
    row("add", shape, "torch_copy", do_bench(lambda: y2.copy_(x)), nbytes)


def build_time():
    shape = (10, 3, 32, 32)
    engine_of(lambda x: trtp.op.sample.elemwise_add_plugin(x, block_size=256), shape, aot=False)  # device init
    times = []
    for _ in range(5):
        start = time.perf_counter()
        engine_of(lambda x: trtp.op.sample.elemwise_add_plugin(x, block_size=256), shape, aot=False)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(f"metric,py_build_ms_add_autotune,{times[len(times) // 2]:.3f},ms")


if __name__ == "__main__":
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}")
    circ_pad((10, 3, 32, 32))  # host times at the seed's shape, where launches are short
    circ_pad((64, 64, 256, 256))
    for s in [(10, 3, 32, 32), (1 << 28,)]:
        add(s)
    build_time()
