#!/usr/bin/env python3
"""Prints the per-operator results of ONNX's backend node tests on qdp as a markdown table (for
the README): passed / failed / skipped / not supported per operator, and the totals.

Usage (from the repository root, with the Python module built):

  .venv-py/bin/python scripts/onnx-node-table.py [--device cpu|cuda] [--filter REGEX]
        [--all] [--failures] [--results FILE]

  --device    where to run (default: $QDP_TEST_DEVICE, else cpu)
  --filter    only the node tests whose name matches REGEX
  --all       list every operator with a node test, those qdp lacks too
  --failures  after the table, list each failed test with the first line of its error, and
              each skipped one with its reason
  --results   do not run anything: read the JSON that pytest wrote with QDP_NODE_RESULTS=FILE
              (QDP_NODE_RESULTS=r.json pytest tests/python/test_onnx_node.py)

The build tree's module is found as the tests find it: PYTHONPATH, else build/python.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None)
    parser.add_argument("--filter", default=None)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--failures", action="store_true")
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    if args.device:
        os.environ["QDP_TEST_DEVICE"] = args.device

    if not os.environ.get("PYTHONPATH") and (ROOT / "build" / "python" / "qdp").is_dir():
        sys.path.insert(0, str(ROOT / "build" / "python"))
    sys.path.insert(0, str(ROOT / "tests" / "python"))
    import onnx_node_runner as R

    details: list[tuple[str, str, str]] = []
    if args.results:
        data = json.loads(pathlib.Path(args.results).read_text())
        device = data.get("device", "?")
        by_name = {t.name: t for t in R.all_tests(args.filter)}
        results = [(by_name[n], r["verdict"]) for n, r in data["results"].items() if n in by_name]
    else:
        device = R.device()
        results = []
        for t in R.all_tests(args.filter):
            verdict, detail = R.classify(t)
            results.append((t, verdict))
            if verdict in (R.FAIL, R.SKIP):
                details.append((t.name, verdict, detail))
    per_op = R.tally(results)
    print(f"ONNX backend node tests (onnx {R.onnx.__version__}) on qdp, {device}:\n")
    for line in R.table_lines(per_op, markdown=True, include_unsupported=args.all):
        print(line)
    if args.failures and details:
        print()
        for name, verdict, detail in details:
            print(f"- `{name}` ({verdict}): {detail.splitlines()[0] if detail else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
