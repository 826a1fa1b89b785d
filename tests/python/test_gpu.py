"""The Python front end on CUDA: torch impls on zero-copy views, device feeds and outputs, AOT
kernels from CUDA source. Skipped (visibly) where no GPU is usable."""

from __future__ import annotations

from typing import Tuple

import numpy as np
import pytest

import qdp as trt
import qdp.plugin as trtp
from qdp.runner import CreateConfig, DeviceArray, TrtRunner, create_network, engine_from_network

pytestmark = pytest.mark.skipif(not trt._core.cuda_available(), reason="no usable CUDA GPU")


def op_of(pid: str):
    ns, name = pid.split("::")
    return getattr(getattr(trtp.op, ns), name)


def one_node(pid: str, shape, aot=None, **attrs) -> trt.ICudaEngine:
    builder, net = create_network()
    x = net.add_input("x", trt.float32, shape)
    layer = net.add_plugin(op_of(pid)(x, **attrs), aot=aot)
    layer.get_output(0).name = "y"
    net.mark_output(layer.get_output(0))
    return engine_from_network((builder, net), CreateConfig(device="cuda"))


def test_torch_impl_on_zero_copy_views_with_device_feeds(plugin_id):
    torch = pytest.importorskip("torch")
    pid = plugin_id("torch_add")
    seen = {}

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(pid, device="cuda")
    def impl(x: trtp.Tensor, outputs: Tuple[trtp.Tensor], stream: int) -> None:
        xt = torch.as_tensor(x, device="cuda")
        seen["zero_copy"] = xt.data_ptr() == x.data_ptr and x.device == "cuda"
        seen["dlpack"] = torch.from_dlpack(outputs[0]).data_ptr() == outputs[0].data_ptr
        torch.add(xt, 1, out=torch.as_tensor(outputs[0], device="cuda"))

    engine = one_node(pid, (4, 8))
    assert engine.device == "cuda"
    host = np.arange(32, dtype=np.float32).reshape(4, 8)
    with TrtRunner(engine) as r:
        np.testing.assert_array_equal(r.infer({"x": host})["y"], host + 1)
        dev = torch.as_tensor(host, device="cuda")
        out = r.infer({"x": dev}, copy_outputs_to_host=False)["y"]
        assert isinstance(out, DeviceArray)
        assert torch.equal(torch.as_tensor(out, device="cuda"), dev + 1)
        with pytest.raises(trt.InvalidArgumentError, match="has dtype float64"):
            r.infer({"x": dev.double()})
    assert seen == {"zero_copy": True, "dlpack": True}


def test_aot_kernel_from_cuda_source(plugin_id):
    pid = plugin_id("aot_add")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc, block: int = 128) -> trtp.TensorDesc:
        return x.like()

    @trtp.aot_impl(pid)
    def aot(x: trtp.TensorDesc, block: int, outputs: Tuple[trtp.TensorDesc], tactic: int):
        src = """extern "C" __global__ void add2(float const* x, int n, float* y) {
          int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i] + 2.0f; }"""
        n = x.shape_expr.numel()
        return "add2", src, trtp.KernelLaunchParams(grid_x=trtp.cdiv(n, block), block_x=block), \
            trtp.SymIntExprs.from_tuple([n])

    engine = one_node(pid, (1000,))
    assert engine.layers[0]["implementation"] == "aot"
    x = np.random.rand(1000).astype(np.float32)
    with TrtRunner(trt.Runtime().deserialize_cuda_engine(engine.serialize())) as r:
        np.testing.assert_array_equal(r.infer({"x": x})["y"], x + 2)


def test_ptx_whose_parameters_do_not_match(plugin_id):
    pid = plugin_id("aot_ptx")

    @trtp.register(pid)
    def desc(x: trtp.TensorDesc) -> trtp.TensorDesc:
        return x.like()

    ptx = """
.version 8.0
.target sm_90
.address_size 64
.visible .entry one_param(.param .u64 p0) { ret; }
"""

    @trtp.aot_impl(pid)
    def aot(x: trtp.TensorDesc, outputs: Tuple[trtp.TensorDesc]):
        return "one_param", ptx, trtp.KernelLaunchParams(), trtp.SymIntExprs.from_tuple([x.shape_expr[0], 1])

    with pytest.raises(trt.Error, match="one_param"):
        one_node(pid, (16,))
