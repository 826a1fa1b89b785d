#!/usr/bin/env bash
# The Python module on a GPU machine, from a CUDA build made elsewhere and carried here
# (scripts/bundle-libs.sh BUILD first): the samples on --device cuda (torch / Triton impls, AOT
# kernels from CUDA source and Triton PTX), the all-AOT engine in qdpexec with no Python, the JIT
# overhead benchmark on both devices, and pytest (the GPU tests run here, not skip).
# Usage: tests/python/gpu_check.sh [BUILD_DIR]   (python3: the machine's, with torch and triton)
set -uo pipefail
cd "$(dirname "$0")/../.."
build=$(realpath "${1:-build}")
export PYTHONPATH="$build/python"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # NVRTC
py=${PYTHON:-python3}
art=$(mktemp -d)
status=0
summary=()
run() {
  echo "== $*"
  if "$@"; then summary+=("PASS  $*"); else summary+=("FAIL  $*"); status=1; fi
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
"$py" -c "import sys, torch, triton; print(sys.version.split()[0], torch.__version__, triton.__version__)"
samples=samples/python/qdp_runner.py
run "$py" $samples add --device cuda
run "$py" $samples add --autotune -v --device cuda
run "$py" $samples add --aot --device cuda
run "$py" $samples inplace_add -v --device cuda
run "$py" $samples non_zero -v --device cuda
run "$py" $samples circ_pad --mode inetdef --device cuda
run "$py" $samples circ_pad --mode onnx --multi_tactic -v --artifacts_dir "$art" --device cuda
run "$py" $samples circ_pad --mode inetdef --multi_tactic --save_engine --artifacts_dir "$art" --device cuda
run "$py" $samples circ_pad --load_engine --artifacts_dir "$art"
run "$py" $samples circ_pad --mode onnx --aot --multi_tactic -v --artifacts_dir "$art" --device cuda
run "$py" $samples circ_pad --mode inetdef --aot --save_engine --artifacts_dir "$art" --device cuda
# The AOT engine built from Python (Triton PTX) runs with neither Python nor a plugin library.
run env -u PYTHONPATH "$build/bin/qdpexec" --loadEngine "$art/circ_pad.engine" --iterations 20 --duration 0 --warmUp 10
run "$py" bench/python/jit_overhead.py --device cuda
run "$py" bench/python/jit_overhead.py --device cpu
run "$py" -m pytest tests/python -q -p no:cacheprovider -rs
printf '%s\n' "${summary[@]}"
exit $status
