"""Merges the CSV rows of qdp_gpu_bench and peers.py into one table (printed last by
scripts/gpu-check.sh). Bandwidth rows are shown as a share of the device-to-device copy of the
same bytes (cuda_memcpy), and their time as a share of PyTorch's (torch_eager or torch_nonzero);
metric rows as they are."""
import sys
from collections import defaultdict


def main(paths):
    rows, metrics = [], []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(",")
                if parts[0] == "metric":
                    metrics.append(parts[1:])
                else:
                    rows.append(parts)
    copy, torch_ms = {}, {}
    for case, dtype, shape, impl, ms, gbps in rows:
        if impl == "cuda_memcpy":
            copy[(case, dtype, shape)] = float(gbps)
        if impl in ("torch_eager", "torch_nonzero"):
            torch_ms[(case, dtype, shape)] = float(ms)
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(r[:3])].append(r)
    print(f"{'case':<9}{'dtype':<6}{'shape':<16}{'impl':<20}{'ms':>10}{'GB/s':>9}{'% copy':>8}{'% torch':>9}")
    for key in sorted(groups):
        for case, dtype, shape, impl, ms, gbps in groups[key]:
            limit = copy.get(key)
            share = f"{100 * float(gbps) / limit:.0f}%" if limit else "-"
            t = torch_ms.get(key)
            vs_torch = f"{100 * float(ms) / t:.0f}%" if t else "-"  # time as a share of PyTorch's
            print(f"{case:<9}{dtype:<6}{shape:<16}{impl:<20}{float(ms):>10.4f}{float(gbps):>9.0f}{share:>8}{vs_torch:>9}")
    for name, value, unit in metrics:
        print(f"{name:<40}{float(value):>10.3f} {unit}")


if __name__ == "__main__":
    main(sys.argv[1:])
