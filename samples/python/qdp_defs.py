"""The plugin definitions of the Python samples (SPEC §3), written the seed's way: desc, impl,
autotune and aot_impl as decorated functions. The impls are numpy on the CPU and torch (with a
Triton kernel where Triton is installed) on the GPU; the CUDA ones are defined only where torch
imports. The AOT kernels are CUDA C++ source (compiled by NVRTC when the engine is built), or,
for circ_pad where Triton is installed, Triton's PTX."""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import List, Tuple

import numpy as np
import numpy.typing as npt

import qdp as trt
import qdp.plugin as trtp

log = logging.getLogger("qdp_defs")

try:
    import torch
except ImportError:
    torch = None
try:
    import triton
    import triton.language as tl
except ImportError:
    triton = None


def _cuda_type(dtype: trt.DataType) -> str:
    if dtype == trt.float32:
        return "float"
    if dtype == trt.float16:
        return "__half"
    raise trt.InvalidArgumentError(f"the sample's AOT kernels take FP32 or FP16, not {dtype}")


# ---- add: y = x + 1 ---------------------------------------------------------------------------


@trtp.register("sample::elemwise_add_plugin")
def add_plugin_desc(inp0: trtp.TensorDesc, block_size: int) -> trtp.TensorDesc:
    return inp0.like()


@trtp.impl("sample::elemwise_add_plugin", device="cpu")
def add_plugin_impl_cpu(inp0: trtp.Tensor, block_size: int, outputs: Tuple[trtp.Tensor],
                        stream: int) -> None:
    log.info(f"Executing for inp0.dtype={inp0.dtype} and output[0].dtype={outputs[0].dtype}")
    np.add(np.asarray(inp0), 1, out=np.asarray(outputs[0]))


if triton is not None:

    @triton.jit
    def add_kernel(x_ptr, n_elements, y_ptr, BLOCK_SIZE: tl.constexpr):
        offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
        mask = offsets < n_elements
        x = tl.load(x_ptr + offsets, mask=mask)
        tl.store(y_ptr + offsets, x + 1, mask=mask)


if torch is not None:

    @trtp.impl("sample::elemwise_add_plugin", device="cuda")
    def add_plugin_impl_cuda(inp0: trtp.Tensor, block_size: int, outputs: Tuple[trtp.Tensor],
                             stream: int) -> None:
        log.info(f"Executing for inp0.dtype={inp0.dtype} and output[0].dtype={outputs[0].dtype}")
        x = torch.as_tensor(inp0, device="cuda")
        y = torch.as_tensor(outputs[0], device="cuda")
        if triton is not None:
            n = x.numel()
            add_kernel[(triton.cdiv(n, block_size),)](x, n, y, BLOCK_SIZE=block_size)
        else:
            torch.add(x, 1, out=y)


_ADD_ONE = """
#include <cuda_fp16.h>
extern "C" __global__ void add_one(T const* x, int n, T* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = T(float(x[i]) + 1.0f);
}
"""


@trtp.aot_impl("sample::elemwise_add_plugin")
def add_plugin_aot_impl(inp0: trtp.TensorDesc, block_size: int, outputs: Tuple[trtp.TensorDesc],
                        tactic: int) -> Tuple[str, str, trtp.KernelLaunchParams, trtp.SymExprs]:
    src = f"#define T {_cuda_type(inp0.dtype)}\n" + _ADD_ONE
    n = inp0.shape_expr.numel()
    launch = trtp.KernelLaunchParams(grid_x=trtp.cdiv(n, block_size), block_x=block_size)
    return "add_one", src, launch, trtp.SymIntExprs.from_tuple([trtp.SymInt32(n)])


def register_add_autotune() -> None:
    """Defines the add plugin's autotune, as the seed's --autotune simulates: FP32 or FP16."""

    @trtp.autotune("sample::elemwise_add_plugin")
    def add_plugin_autotune(inp0: trtp.TensorDesc,
                            outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
        return [trtp.AutoTuneCombination("FP32|FP16, FP32|FP16")]


# ---- inplace_add: x += delta, in the input's own memory -----------------------------------------


@trtp.register("sample::elemwise_add_plugin_")
def add_plugin_desc_(inp0: trtp.TensorDesc, delta: int) -> trtp.TensorDesc:
    return inp0.aliased()


@trtp.autotune("sample::elemwise_add_plugin_")
def add_plugin_autotune_(inp0: trtp.TensorDesc,
                         outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
    return [trtp.AutoTuneCombination("FP32, FP32", "LINEAR*HWC"),
            trtp.AutoTuneCombination("FP32|FP16, FP32|FP16", "LINEAR")]


@trtp.impl("sample::elemwise_add_plugin_", device="cpu")
def add_plugin_impl_cpu_(inp0: trtp.Tensor, delta: int, outputs: Tuple[trtp.Tensor],
                         stream: int) -> None:
    log.info(f"Executing for inp0.dtype={inp0.dtype}, inp0.format={inp0.format} and "
             f"output[0].dtype={outputs[0].dtype}")
    x = np.asarray(inp0)  # writable: the output aliases it
    x += delta


if torch is not None:

    @trtp.impl("sample::elemwise_add_plugin_", device="cuda")
    def add_plugin_impl_cuda_(inp0: trtp.Tensor, delta: int, outputs: Tuple[trtp.Tensor],
                              stream: int) -> None:
        log.info(f"Executing for inp0.dtype={inp0.dtype}, inp0.format={inp0.format} and "
                 f"output[0].dtype={outputs[0].dtype}")
        torch.as_tensor(inp0, device="cuda").add_(delta)


# ---- non_zero: the coordinates of the non-zero entries, a data-dependent shape ------------------


@trtp.register("sample::non_zero_plugin")
def non_zero_plugin_reg(inp0: trtp.TensorDesc) -> Tuple[trtp.TensorDesc, trtp.TensorDesc]:
    upper_bound = inp0.shape_expr[0] * inp0.shape_expr[1]
    st = trtp.size_tensor(upper_bound // 2, upper_bound)
    return trtp.from_shape_expr((st.expr(), 2), dtype=trt.int32), st


@trtp.autotune("sample::non_zero_plugin")
def non_zero_plugin_autotune(inp0: trtp.TensorDesc,
                             outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
    return [trtp.AutoTuneCombination("FP32|FP16, INT32, INT64")]


@trtp.impl("sample::non_zero_plugin", device="cpu")
def non_zero_plugin_impl_cpu(inp0: trtp.Tensor, outputs: Tuple[trtp.Tensor], stream: int) -> None:
    log.info(f"Executing for inp0.dtype={inp0.dtype}")
    found = np.argwhere(np.asarray(inp0)).astype(np.int32)
    np.asarray(outputs[0].aliased(found.shape))[...] = found  # the actual extent: N rows
    np.asarray(outputs[1])[...] = found.shape[0]


if torch is not None:

    @trtp.impl("sample::non_zero_plugin", device="cuda")
    def non_zero_plugin_impl_cuda(inp0: trtp.Tensor, outputs: Tuple[trtp.Tensor],
                                  stream: int) -> None:
        log.info(f"Executing for inp0.dtype={inp0.dtype}")
        found = torch.nonzero(torch.as_tensor(inp0, device="cuda")).to(torch.int32)
        torch.as_tensor(outputs[0].aliased(tuple(found.shape)), device="cuda").copy_(found)
        torch.as_tensor(outputs[1], device="cuda").fill_(found.shape[0])


# ---- circ_pad: circular padding, numpy.pad(mode="wrap") -----------------------------------------


class Tactic(IntEnum):
    NUMPY_PAD = 1      # CPU: numpy.pad; GPU: torch.nn.functional.pad
    SLICES = 2         # CPU: the interior and the wrapped borders as slices; GPU: Triton


def _pad_widths(ndim: int, pads: np.ndarray) -> list[tuple[int, int]]:
    # torch's F.pad order: the last dimension first, (begin, end) per dimension.
    widths = [(0, 0)] * ndim
    for i in range(len(pads) // 2):
        widths[ndim - i - 1] = (int(pads[2 * i]), int(pads[2 * i + 1]))
    return widths


@trtp.register("sample::circ_pad_plugin")
def circ_pad_plugin_desc(inp0: trtp.TensorDesc, pads: npt.NDArray[np.int32]) -> trtp.TensorDesc:
    ndim = inp0.ndim
    out_desc = inp0.like()
    for i in range(np.size(pads) // 2):
        out_desc.shape_expr[ndim - i - 1] += int(pads[i * 2] + pads[i * 2 + 1])
    return out_desc


@trtp.impl("sample::circ_pad_plugin", device="cpu")
def circ_pad_plugin_impl_cpu(inp0: trtp.Tensor, pads: npt.NDArray[np.int32],
                             outputs: Tuple[trtp.Tensor], stream: int, tactic: int) -> None:
    log.info(f"Executing for inp0.dtype={inp0.dtype}, tactic={tactic}")
    x, y = np.asarray(inp0), np.asarray(outputs[0])
    widths = _pad_widths(x.ndim, pads)
    if tactic != Tactic.SLICES:
        y[...] = np.pad(x, widths, mode="wrap")
        return
    # Interior first, then each padded dimension wraps what is already in place.
    y[tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))] = x
    for d, (b, e) in enumerate(widths):
        n = x.shape[d]
        idx = lambda s: (slice(None),) * d + (s,)  # noqa: E731
        if b:
            y[idx(slice(0, b))] = y[idx(slice(n, n + b))]
        if e:
            y[idx(slice(b + n, b + n + e))] = y[idx(slice(b, b + e))]


if triton is not None:

    @triton.jit
    def circ_pad_kernel(x_ptr, all_pads_0, all_pads_2, all_pads_4, all_pads_6, orig_dims_0,
                        orig_dims_1, orig_dims_2, orig_dims_3, Y_shape_1, Y_shape_2, Y_shape_3,
                        X_len, Y_len, y_ptr, BLOCK_SIZE: tl.constexpr):
        pid = tl.program_id(0)
        i = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
        mask_y = i < Y_len
        i3 = i % Y_shape_3
        i2 = (i // Y_shape_3) % Y_shape_2
        i1 = (i // Y_shape_3 // Y_shape_2) % Y_shape_1
        i0 = i // Y_shape_3 // Y_shape_2 // Y_shape_1
        j0 = (i0 - all_pads_0 + orig_dims_0) % orig_dims_0
        j1 = (i1 - all_pads_2 + orig_dims_1) % orig_dims_1
        j2 = (i2 - all_pads_4 + orig_dims_2) % orig_dims_2
        j3 = (i3 - all_pads_6 + orig_dims_3) % orig_dims_3
        load_idx = orig_dims_3 * orig_dims_2 * orig_dims_1 * j0 + orig_dims_3 * orig_dims_2 * j1 \
            + orig_dims_3 * j2 + j3
        mask_x = load_idx < X_len
        x = tl.load(x_ptr + load_idx, mask=mask_x)
        tl.store(y_ptr + i, x, mask=mask_y)


if torch is not None:

    @trtp.impl("sample::circ_pad_plugin", device="cuda")
    def circ_pad_plugin_impl_cuda(inp0: trtp.Tensor, pads: npt.NDArray[np.int32],
                                  outputs: Tuple[trtp.Tensor], stream: int, tactic: int) -> None:
        log.info(f"Executing for inp0.dtype={inp0.dtype}, tactic={tactic}")
        x = torch.as_tensor(inp0, device="cuda")
        y = torch.as_tensor(outputs[0], device="cuda")
        if triton is None or tactic != Tactic.SLICES or x.ndim != 4:
            y.copy_(torch.nn.functional.pad(x, tuple(int(p) for p in pads), mode="circular"))
            return
        widths = _pad_widths(4, pads)
        block = 256
        circ_pad_kernel[(triton.cdiv(y.numel(), block),)](
            x, widths[0][0], widths[1][0], widths[2][0], widths[3][0], *x.shape, *y.shape[1:],
            x.numel(), y.numel(), y, BLOCK_SIZE=block)


def register_circ_pad_multi_tactic() -> None:
    """Defines circ_pad's autotune with two tactics, as the seed's --multi_tactic does."""

    @trtp.autotune("sample::circ_pad_plugin")
    def circ_pad_plugin_autotune(inp0: trtp.TensorDesc, pads: npt.NDArray[np.int32],
                                 outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
        c = trtp.AutoTuneCombination()
        c.pos([0, 1], "FP32|FP16")
        c.tactics([int(Tactic.NUMPY_PAD), int(Tactic.SLICES)])
        return [c]


_CIRC_PAD = """
#include <cuda_fp16.h>
// One thread per output element of a rank-4 tensor; the source index wraps around.
extern "C" __global__ void circ_pad(T const* x, int p0, int p1, int p2, int p3, int d0, int d1,
                                    int d2, int d3, int o1, int o2, int o3, int y_len, T* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= y_len) return;
  int i3 = i % o3, i2 = (i / o3) % o2, i1 = (i / o3 / o2) % o1, i0 = i / o3 / o2 / o1;
  int j0 = (i0 - p0 + d0) % d0, j1 = (i1 - p1 + d1) % d1, j2 = (i2 - p2 + d2) % d2,
      j3 = (i3 - p3 + d3) % d3;
  y[i] = x[((j0 * d1 + j1) * d2 + j2) * d3 + j3];
}
"""


@trtp.aot_impl("sample::circ_pad_plugin")
def circ_pad_plugin_aot_impl(inp0: trtp.TensorDesc, pads: npt.NDArray[np.int32],
                             outputs: Tuple[trtp.TensorDesc],
                             tactic: int) -> Tuple[str, str, trtp.KernelLaunchParams, trtp.SymExprs]:
    if inp0.ndim != 4:
        raise trt.InvalidArgumentError("the sample's AOT circ_pad takes rank-4 tensors")
    block = 1024 if tactic == Tactic.SLICES else 256  # two AOT variants under --multi_tactic
    widths = _pad_widths(4, pads)
    inp_dims, out_dims = inp0.shape_expr, outputs[0].shape_expr
    n = out_dims.numel()
    launch = trtp.KernelLaunchParams(grid_x=trtp.cdiv(n, block), block_x=block)
    extra = trtp.SymIntExprs.from_tuple(
        [w for w, _ in widths] + [inp_dims[i] for i in range(4)] + [out_dims[i] for i in range(1, 4)]
        + [n])
    if triton is not None and inp0.dtype == trt.float32:
        src = triton.compiler.ASTSource(
            fn=circ_pad_kernel, signature={
                "x_ptr": "*fp32", **{f"all_pads_{k}": "i32" for k in (0, 2, 4, 6)},
                **{f"orig_dims_{k}": "i32" for k in range(4)},
                **{f"Y_shape_{k}": "i32" for k in (1, 2, 3)}, "X_len": "i32", "Y_len": "i32",
                "y_ptr": "*fp32", "BLOCK_SIZE": "constexpr"},
            constexprs={"BLOCK_SIZE": block})
        compiled = triton.compile(src)
        launch.block_x = compiled.metadata.num_warps * 32
        launch.shared_mem = compiled.metadata.shared
        extra = trtp.SymIntExprs.from_tuple(
            [w for w, _ in widths] + [inp_dims[i] for i in range(4)]
            + [out_dims[i] for i in range(1, 4)] + [inp0.shape_expr.numel(), n])
        return compiled.metadata.name, compiled.asm["ptx"], launch, extra
    src = f"#define T {_cuda_type(inp0.dtype)}\n" + _CIRC_PAD
    return "circ_pad", src, launch, extra
