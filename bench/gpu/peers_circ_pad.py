"""The peers of qdp_circ_pad_bench (bench/gpu/circ_pad_bench.cu): PyTorch eager
(F.pad(x, pads, mode="circular")) and the seed's Triton circ_pad kernel, on the same shapes,
timed in the same device call, with a device-to-device copy of the same bytes.

Prints CSV rows: case,dtype,shape,impl,median_ms,GBps (bytes = input read once + output written
once). Triton's result is checked against torch's before it is timed.
"""
import sys

import torch
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def circ_pad_kernel(x_ptr, y_ptr, in0, in1, in2, in3, out1, out2, out3, b0, b1, b2, b3, n_out,
                    BLOCK_SIZE: tl.constexpr):
    # The seed's kernel: one program per BLOCK_SIZE block of output elements; each finds its
    # source by unravelling its index and wrapping every coordinate with a modulo; masked
    # load and store.
    pid = tl.program_id(0)
    i = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = i < n_out
    i3 = i % out3
    i2 = (i // out3) % out2
    i1 = (i // (out3 * out2)) % out1
    i0 = i // (out3 * out2 * out1)
    j0 = (i0 - b0 + in0) % in0
    j1 = (i1 - b1 + in1) % in1
    j2 = (i2 - b2 + in2) % in2
    j3 = (i3 - b3 + in3) % in3
    src = ((j0 * in1 + j1) * in2 + j2) * in3 + j3
    x = tl.load(x_ptr + src, mask=mask)
    tl.store(y_ptr + i, x, mask=mask)


def triton_circ_pad(x, y, pads, block_size=256):
    """x rank 4, pads in F.pad order (last dimension first), len(pads) <= 8."""
    all_pads = list(pads) + [0] * (8 - len(pads))
    begins = [all_pads[2 * (3 - d)] for d in range(4)]  # per dimension, NCHW order
    n_out = y.numel()
    grid = (triton.cdiv(n_out, block_size),)
    return lambda: circ_pad_kernel[grid](x, y, *x.shape, *y.shape[1:], *begins, n_out,
                                         BLOCK_SIZE=block_size)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def row(case, dtype, shape, impl, ms, nbytes):
    print(f"{case},{dtype},{'x'.join(map(str, shape))},{impl},{ms:.5f},{nbytes / ms / 1e6:.1f}")


def circ_pad_cases():
    shape, pads = (64, 64, 256, 256), (1, 1, 1, 1)
    for dtype in (torch.float32, torch.float16):
        name = "fp32" if dtype == torch.float32 else "fp16"
        x = torch.randn(shape, device="cuda").to(dtype)
        want = F.pad(x, pads, mode="circular")
        nbytes = (x.numel() + want.numel()) * x.element_size()
        # The limit: a copy of the same number of bytes, half read and half written.
        src = torch.empty((x.numel() + want.numel()) // 2, dtype=dtype, device="cuda")
        dst = torch.empty_like(src)
        row("circ_pad", name, shape, "torch_copy", bench(lambda: dst.copy_(src)),
            2 * src.numel() * src.element_size())
        row("circ_pad", name, shape, "torch_eager", bench(lambda: F.pad(x, pads, mode="circular")),
            nbytes)
        y = torch.empty_like(want)
        run = triton_circ_pad(x, y, pads)
        run()
        assert torch.equal(y, want), "the Triton circ_pad kernel disagrees with torch"
        row("circ_pad", name, shape, "triton_seed", bench(run), nbytes)


if __name__ == "__main__":
    torch.manual_seed(0)
    print(f"# device: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}",
          file=sys.stderr)
    circ_pad_cases()
