"""The peers of qdp's GPU benchmarks, timed in the same device call: PyTorch eager and the seed's
Triton kernels, against a device-to-device copy of the same bytes.

Prints CSV rows: case,dtype,shape,impl,median_ms,GBps (bytes read + written per run).
"""
import sys

import torch
import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, n, BLOCK_SIZE: tl.constexpr):
    # The seed's add kernel: one program per BLOCK_SIZE block, masked load, +1, store.
    pid = tl.program_id(0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    tl.store(y_ptr + offsets, x + 1, mask=mask)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def row(case, dtype, shape, impl, ms, nbytes):
    print(f"{case},{dtype},{'x'.join(map(str, shape))},{impl},{ms:.5f},{nbytes / ms / 1e6:.1f}")


def add_cases():
    for dtype in (torch.float32, torch.float16):
        name = "fp32" if dtype == torch.float32 else "fp16"
        for shape in ((1 << 28,), (10, 3, 32, 32)):
            x = torch.randint(0, 10, shape, device="cuda").to(dtype)
            y = torch.empty_like(x)
            nbytes = 2 * x.numel() * x.element_size()
            row("add", name, shape, "torch_copy", bench(lambda: y.copy_(x)), nbytes)
            row("add", name, shape, "torch_eager", bench(lambda: torch.add(x, 1, out=y)), nbytes)
            n = x.numel()
            grid = (triton.cdiv(n, 1024),)
            add_kernel[grid](x, y, n, BLOCK_SIZE=1024)
            assert torch.equal(y, x + 1), "triton add is wrong"
            row("add", name, shape, "triton_seed", bench(lambda: add_kernel[grid](x, y, n, BLOCK_SIZE=1024)), nbytes)


if __name__ == "__main__":
    torch.manual_seed(0)
    print(f"# device: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}",
          file=sys.stderr)
    add_cases()
