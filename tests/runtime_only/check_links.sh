#!/usr/bin/env bash
# Passes when BINARY links qdp's runtime library and none of the builder, ONNX import, protobuf,
# ONNX or NVRTC: what a deployment of all-AOT engines needs is the runtime alone.
set -uo pipefail
deps=$(ldd "$1") || { echo "FAIL: ldd $1"; exit 1; }
grep -q 'libqdp_runtime\.so' <<<"$deps" || { echo "FAIL: not linked to libqdp_runtime"; exit 1; }
if bad=$(grep -E 'libqdp\.so|libqdp_onnx|libprotobuf|libonnx|libnvrtc' <<<"$deps"); then
  echo "FAIL: the runtime-only program needs:"; echo "$bad"; exit 1
fi
if bad=$(ldd "$(grep -o '/[^ ]*libqdp_runtime\.so[^ ]*' <<<"$deps")" | grep -E 'libprotobuf|libonnx|libnvrtc'); then
  echo "FAIL: libqdp_runtime needs:"; echo "$bad"; exit 1
fi
echo "ok: $(basename "$1") links the runtime library only"
