#!/usr/bin/env bash
# Every GPU check in one device call, from a build made on another machine and carried here:
# the GPU tests, the samples on --device cuda, compute-sanitizer memcheck over the GPU tests,
# and the benchmarks side by side with PyTorch eager and the seed's Triton kernels (API errors
# that tests provoke on purpose, such as an absurd cudaMalloc, are not memcheck errors).
# Prints a short table last. Usage: scripts/gpu-check.sh [BUILD_DIR] [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-${OUT:-/tmp/qdp-gpu-check}}
mkdir -p "$out"
export PATH="/usr/local/cuda/bin:$PATH"
bin="$build/bin"
status=0
summary=()
step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, records pass/fail
  local name=$1
  shift
  echo "== $name: $*"
  if "$@" >"$out/$name.log" 2>&1; then
    summary+=("PASS  $name")
  else
    summary+=("FAIL  $name (see $name.log)")
    status=1
  fi
  tail -n 5 "$out/$name.log"
}

{ date -u +"%Y-%m-%d %H:%M UTC"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; } | tee "$out/card.txt"

step gpu_tests "$bin/qdp_gpu_tests"
step cpu_tests "$bin/qdp_tests"
step sample_add_cuda "$bin/qdp_runner" add --device cuda
step sample_add_autotune_cuda "$bin/qdp_runner" add --autotune -v --device cuda
step sample_add_default_device "$bin/qdp_runner" add
step sample_inplace_add_cuda "$bin/qdp_runner" inplace_add -v --device cuda
step memcheck compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 1 "$bin/qdp_gpu_tests"
step bench_qdp bash -c "'$bin/qdp_gpu_bench' > '$out/qdp.csv'"
step bench_peers bash -c "python3 bench/gpu/peers.py > '$out/peers.csv'"

python3 bench/gpu/report.py "$out/qdp.csv" "$out/peers.csv" > "$out/table.txt" 2>&1 || status=1
echo
printf '%s\n' "${summary[@]}"
echo
cat "$out/card.txt"
cat "$out/table.txt"
exit $status
