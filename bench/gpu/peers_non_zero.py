"""The peer of qdp_non_zero_bench (bench/gpu/non_zero_bench.cu): torch.nonzero on the same kind of
input (normal values, each zeroed where torch.rand(...) < 0.5), timed in the same device call.

Prints CSV rows: case,dtype,shape,impl,median_ms,GBps. The bytes are those of qdp's rows (input
bytes + 8 bytes per non-zero, the int32 pairs), so that GBps compares as 1/ms does; torch itself
writes int64 pairs (16 bytes each).
"""
import sys

import torch
import triton


def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")


def row(case, dtype, shape, impl, ms, nbytes):
    print(f"{case},{dtype},{'x'.join(map(str, shape))},{impl},{ms:.5f},{nbytes / ms / 1e6:.1f}")


def non_zero_cases():
    for dtype, shape in ((torch.float32, (8192, 8192)), (torch.float16, (8192, 8192)),
                         (torch.float32, (128, 128))):
        name = "fp32" if dtype == torch.float32 else "fp16"
        x = torch.randn(shape, device="cuda").to(dtype)
        x[torch.rand(shape, device="cuda") < 0.5] = 0
        n = int(torch.count_nonzero(x))
        nbytes = x.numel() * x.element_size() + 8 * n
        y = torch.nonzero(x)
        assert y.shape == (n, 2), "torch.nonzero returned a wrong count"
        row("non_zero", name, shape, "torch_nonzero", bench(lambda: torch.nonzero(x)), nbytes)


if __name__ == "__main__":
    torch.manual_seed(0)
    print(f"# device: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}",
          file=sys.stderr)
    non_zero_cases()
