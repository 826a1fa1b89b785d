#!/usr/bin/env python3
"""Packs ONNX's backend node tests of the operators qdp supports into BUILD/packed, so that a
GPU machine whose onnx wheel no longer ships them (onnx > 1.22) runs them from the carried build:
gpu-check unpacks them into BUILD/onnx_node and sets QDP_ONNX_NODE_DIR to it. Usage: scripts/bundle-node-tests.py [BUILD]"""
import os
import pathlib
import shutil
import sys

root = pathlib.Path(__file__).resolve().parent.parent
build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else root / "build").resolve()
sys.path[:0] = [str(build / "python"), str(root / "tests" / "python")]
import onnx_node_runner as R  # noqa: E402

dest = build / "onnx_node"
shutil.rmtree(dest, ignore_errors=True)
dest.mkdir(parents=True)
supported = R.supported_ops()
copied = 0
for test in R.all_tests():
    if not test.missing_ops(supported):
        shutil.copytree(test.path, dest / test.name)
        copied += 1
# Carried as one archive (BUILD/packed, beside scripts/bundle-libs.sh's), unpacked by gpu-check.
import tarfile  # noqa: E402

(build / "packed").mkdir(exist_ok=True)
archive = build / "packed" / "onnx_node.tar.xz"
with tarfile.open(archive, "w:xz") as tar:
    tar.add(dest, arcname="onnx_node")
shutil.rmtree(dest)
print(f"bundle-node-tests: {copied} node tests in {archive} ({archive.stat().st_size / 2**20:.1f} MiB)")
