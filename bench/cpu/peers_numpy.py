"""numpy on the same CPU work as qdp_engine_bench, for the CPU comparison (SPEC §6).
Run with Debian's python3 (python3-numpy): /usr/bin/python3 bench/cpu/peers_numpy.py"""
import timeit

import numpy as np


def median_ms(fn, repeat=15):
    fn()
    return 1e3 * sorted(timeit.repeat(fn, number=1, repeat=repeat))[repeat // 2]


def main():
    rng = np.random.default_rng(0)
    x = np.ones(1 << 24, dtype=np.float32)
    y = np.empty_like(x)
    ms = median_ms(lambda: np.add(x, 1, out=y))
    print(f"numpy add 2^24 fp32: {ms:.3f} ms, {2 * x.nbytes / ms / 1e6:.1f} GB/s")
    ms = median_ms(lambda: np.copyto(y, x))
    print(f"numpy copy 2^24 fp32: {ms:.3f} ms, {2 * x.nbytes / ms / 1e6:.1f} GB/s")
    p = np.ones((16, 16, 256, 256), dtype=np.float32)
    ms = median_ms(lambda: np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap"))
    out_bytes = 16 * 16 * 258 * 258 * 4
    print(f"numpy pad wrap (16,16,256,256) fp32: {ms:.3f} ms, {(p.nbytes + out_bytes) / ms / 1e6:.1f} GB/s")
    z = (rng.integers(0, 2, (4096, 4096)) * 1.0).astype(np.float32)
    ms = median_ms(lambda: np.argwhere(z))
    print(f"numpy argwhere 4096x4096 fp32 half zeros: {ms:.3f} ms, {z.nbytes / ms / 1e6:.1f} GB/s (input bytes)")


if __name__ == "__main__":
    main()
