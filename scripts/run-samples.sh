#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every sample on the GPU when one is present,
# else on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
runner="${QDP_BUILD_DIR:-build}/bin/qdp_runner"
status=0
run() {
  echo "== qdp_runner $*"
  "$runner" "$@" || status=1
}
art=$(mktemp -d)
trap 'rm -rf "$art"' EXIT
run add
run add --autotune -v
run inplace_add -v
run non_zero -v
run circ_pad --mode inetdef
run circ_pad --mode onnx --multi_tactic --artifacts_dir "$art" -v
run circ_pad --mode onnx --multi_tactic --save_engine --artifacts_dir "$art"
run circ_pad --load_engine --artifacts_dir "$art"
# AOT kernels are compiled for the GPU at build time: only where there is one.
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # NVRTC
  run add --aot
  run circ_pad --mode inetdef --aot --multi_tactic
else
  echo "== no GPU: the --aot samples are skipped (they need one)"
fi
# The Python samples (samples/python, the seed's own API) beside the C++ ones: their numpy impls
# on the CPU with the build's module (torch/Triton impls on the GPU run in scripts/gpu-check.sh).
export PYTHONPATH="$(realpath "${QDP_BUILD_DIR:-build}/python")"
py=.venv-py/bin/python
pyrun() {
  echo "== python samples/python/qdp_runner.py $*"
  "$py" samples/python/qdp_runner.py "$@" --device cpu || status=1
}
pyart=$(mktemp -d)
pyrun add
pyrun add --autotune -v
pyrun inplace_add -v
pyrun non_zero -v
pyrun circ_pad --mode inetdef
pyrun circ_pad --mode onnx --multi_tactic --artifacts_dir "$pyart" -v
pyrun circ_pad --mode inetdef --multi_tactic --save_engine --artifacts_dir "$pyart"
"$py" samples/python/qdp_runner.py circ_pad --load_engine --artifacts_dir "$pyart" || status=1
rm -rf "$pyart"
exit $status
