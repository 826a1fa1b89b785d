#!/usr/bin/env bash
# Every GPU check in one device call, from a build made on another machine and carried here:
# the GPU tests, the samples on --device cuda, compute-sanitizer (memcheck, initcheck, racecheck,
# synccheck) over the GPU tests and the samples,
# and the benchmarks side by side with PyTorch eager and the seed's Triton kernels (API errors
# that tests provoke on purpose, such as an absurd cudaMalloc, are not memcheck errors).
# Prints a short table last. Usage: scripts/gpu-check.sh [BUILD_DIR] [OUT_DIR] [BEFORE_BIN]
# BEFORE_BIN (optional): the bin folder of an earlier build whose qdp_non_zero_bench is run in the
# same call, labelled qdp_engine_before, so that a change is measured side by side.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-${OUT:-/tmp/qdp-gpu-check}}
mkdir -p "$out/logs" "$out/csv"
export PATH="/usr/local/cuda/bin:$PATH"
# NVRTC (AOT kernels are compiled at build time) comes from the machine's CUDA toolkit.
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$build/bin"
# cuDNN and cuBLASLt (the standard operators' Conv and MatMul): the toolkit's when it has them,
# else the nvidia-* wheels that PyTorch installs (scripts/bundle-libs.sh does not carry them).
for lib in libcudnn.so.9 libcublasLt.so.13; do
  [[ -e /usr/local/cuda/lib64/$lib ]] && continue
  dir=$(python3 -c "import sys, glob, site; print(next((p.rsplit('/', 1)[0] for d in site.getsitepackages() for p in glob.glob(d + '/nvidia/**/$lib', recursive=True)), ''))" 2>/dev/null)
  [[ -n $dir ]] && export LD_LIBRARY_PATH="$dir:$LD_LIBRARY_PATH"
done
# Libraries scripts/bundle-libs.sh carried compressed.
for f in "$build"/packed/*.xz; do
  [[ -e $f && $f != *.tar.xz ]] || continue
  python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$f" "$bin/$(basename "$f" .xz)"
  chmod +x "$bin/$(basename "$f" .xz)"
done
[[ -f $build/packed/onnx_node.tar.xz ]] &&
  python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$build/packed/onnx_node.tar.xz" "$build"
# ONNX's node tests of the supported operators, carried with the build (bundle-node-tests.py).
[[ -d $build/onnx_node ]] && export QDP_ONNX_NODE_DIR=$(realpath "$build/onnx_node")
before=${3:-}
status=0
summary=()
step() {  # step NAME COMMAND...: runs it, logs to $out/logs/NAME.log, records pass/fail
  local name=$1
  shift
  # QDP_GPU_CHECK_ONLY=REGEX: only the steps whose name matches (a short re-check).
  [[ -n ${QDP_GPU_CHECK_ONLY:-} && ! $name =~ $QDP_GPU_CHECK_ONLY ]] && return 0
  # QDP_GPU_CHECK_SKIP=REGEX: all but those (a run split over two calls of the 10-minute limit).
  [[ -n ${QDP_GPU_CHECK_SKIP:-} && $name =~ $QDP_GPU_CHECK_SKIP ]] && return 0
  echo "== $name: $*"
  if "$@" >"$out/logs/$name.log" 2>&1; then
    summary+=("PASS  $name")
  else
    summary+=("FAIL  $name (see steps.log)")
    status=1
  fi
  tail -n 5 "$out/logs/$name.log"
}

{ date -u +"%Y-%m-%d %H:%M UTC"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; } | tee "$out/card.txt"

step gpu_tests "$bin/qdp_gpu_tests"
for group in elementwise nn movement shape; do
  step ops_${group}_tests "$bin/qdp_ops_${group}_tests"
done
step onnx_node_tests_cuda env QDP_TEST_DEVICE=cuda PYTHONPATH="$build/python" python3 -m pytest tests/python/test_onnx_node.py -q -p no:cacheprovider
step onnx_models_cuda env QDP_TEST_DEVICE=cuda PYTHONPATH="$build/python" python3 -m pytest tests/python/test_onnx_models.py -q -p no:cacheprovider
# torchvision's ResNet-50 and MobileNetV2 and a BERT encoder, exported here, on qdp's CUDA backend.
step exported_models env PYTHONPATH="$build/python" python3 bench/gpu/exported_models.py
# Whole models against PyTorch eager and torch.compile: ResNet-50 (batch 32 and 1), BERT-base.
# QDP_BENCH_MODELS="resnet50_b32 ...": some of them (a run split over calls of the 10-minute limit).
step bench_models bash -c "PYTHONPATH='$build/python' python3 bench/gpu/model_latency.py '$build' \"\$(mktemp -d)\" ${QDP_BENCH_MODELS:-} > '$out/models.txt'"
# A custom op inside BERT: a qdp Python plugin against a torch custom op (issue #13's last row).
step bench_plugin_model bash -c "PYTHONPATH='$build/python' python3 bench/gpu/plugin_in_model.py \"\$(mktemp -d)\" > '$out/plugin_model.txt'"
step cpu_tests "$bin/qdp_tests"
step plugin_library_tests "$bin/qdp_plugin_library_tests"
# The runtime library alone: engines saved by qdp_runner, run by a program linked to it only.
engines=$(mktemp -d)
mkdir -p "$engines/cpu" "$engines/cuda"
step runtime_only_engines bash -c "'$bin/qdp_runner' circ_pad --mode inetdef --save_engine --artifacts_dir '$engines/cpu' --device cpu && '$bin/qdp_runner' circ_pad --mode inetdef --aot --multi_tactic --save_engine --artifacts_dir '$engines/cuda' --device cuda"
step runtime_only_tests env QDP_TEST_ARTIFACTS_DIR="$engines" QDP_TEST_SAMPLE_PLUGINS="$bin/libqdp_sample_plugins.so" "$bin/qdp_runtime_only_tests"
step runtime_only_links bash tests/runtime_only/check_links.sh "$bin/qdp_runtime_only_tests"
step sample_add_cuda "$bin/qdp_runner" add --device cuda
step sample_add_autotune_cuda "$bin/qdp_runner" add --autotune -v --device cuda
step sample_add_default_device "$bin/qdp_runner" add
step sample_inplace_add_cuda "$bin/qdp_runner" inplace_add -v --device cuda
step sample_non_zero_cuda "$bin/qdp_runner" non_zero -v --device cuda
step sample_add_aot_cuda "$bin/qdp_runner" add --aot -v --device cuda
art=$(mktemp -d)
step sample_circ_pad_inetdef "$bin/qdp_runner" circ_pad --mode inetdef --device cuda
step sample_circ_pad_onnx_multi "$bin/qdp_runner" circ_pad --mode onnx --multi_tactic -v --artifacts_dir "$art" --device cuda
step sample_circ_pad_save "$bin/qdp_runner" circ_pad --mode inetdef --multi_tactic --save_engine --artifacts_dir "$art" --device cuda
step sample_circ_pad_load "$bin/qdp_runner" circ_pad --load_engine --artifacts_dir "$art"
step sample_circ_pad_aot_onnx "$bin/qdp_runner" circ_pad --mode onnx --aot --multi_tactic -v --artifacts_dir "$art" --device cuda
step sample_circ_pad_aot_save "$bin/qdp_runner" circ_pad --mode inetdef --aot --multi_tactic --save_engine --artifacts_dir "$art" --device cuda
# The all-AOT engine runs in a process without any plugin definition.
step qdpexec_aot_engine_no_plugins "$bin/qdpexec" --loadEngine "$art/circ_pad.engine" --iterations 20 --duration 0 --warmUp 10 --dumpLayerInfo
step qdpexec_onnx_cuda_graph "$bin/qdpexec" --onnx "$art/circ_pad.onnx" --plugins "$bin/libqdp_sample_plugins.so" --device cuda --useCudaGraph --iterations 50 --duration 0 --warmUp 10
# The Python front end: its samples on cuda (torch/Triton impls, CUDA and Triton AOT kernels),
# the Python-built AOT engine in qdpexec without Python, its benchmark and the GPU pytest tests.
step python bash tests/python/gpu_check.sh "$build"
# compute-sanitizer's four tools: memcheck over the GPU tests; memcheck and initcheck over every
# sample on cuda; racecheck and synccheck over the GPU tests of the kernels that share memory or
# sync within a block (circ_pad, non_zero, the reformat transposes, AOT kernels).
sanitize=(compute-sanitizer --report-api-errors no --error-exitcode 1)
samples=("add --device cuda" "add --autotune --device cuda" "add --aot --device cuda"
  "inplace_add --device cuda" "non_zero --device cuda" "circ_pad --mode inetdef --multi_tactic --device cuda"
  "circ_pad --mode inetdef --aot --multi_tactic --device cuda")
sanitize_samples() {  # sanitize_samples TOOL: every sample under it, the first failure ends it
  local s
  for s in "${samples[@]}"; do
    echo "-- $1: qdp_runner $s"
    # shellcheck disable=SC2086 # each entry is a sample's words
    "${sanitize[@]}" --tool "$1" "$bin/qdp_runner" $s || return 1
  done
}
shared_memory_tests='GpuCircPad.*:Aot.*:GpuNonZero.*:*CudaReformat*:*CudaLayoutRoundTrip*'
step racecheck timeout 100 "${sanitize[@]}" --tool racecheck "$bin/qdp_gpu_tests" --gtest_filter="$shared_memory_tests"
step synccheck timeout 100 "${sanitize[@]}" --tool synccheck "$bin/qdp_gpu_tests" --gtest_filter="$shared_memory_tests"
step initcheck_samples sanitize_samples initcheck
step memcheck_samples sanitize_samples memcheck
step memcheck timeout 150 "${sanitize[@]}" --tool memcheck "$bin/qdp_gpu_tests"
step bench_qdp bash -c "'$bin/qdp_gpu_bench' > '$out/csv/qdp.csv'"
step bench_peers bash -c "python3 bench/gpu/peers.py > '$out/csv/peers.csv'"
step bench_non_zero bash -c "'$bin/qdp_non_zero_bench' > '$out/csv/non_zero.csv'"
if [[ -n $before ]]; then
  step bench_non_zero_before bash -c "'$before/qdp_non_zero_bench' | grep qdp_engine | sed 's/,qdp_engine,/,qdp_engine_before,/' > '$out/csv/non_zero_before.csv'"
fi
step bench_non_zero_peers bash -c "python3 bench/gpu/peers_non_zero.py > '$out/csv/non_zero_peers.csv'"
step bench_circ_pad bash -c "'$bin/qdp_circ_pad_bench' > '$out/csv/circ_pad.csv'"
step bench_circ_pad_peers bash -c "python3 bench/gpu/peers_circ_pad.py > '$out/csv/circ_pad_peers.csv'"

if compgen -G "$out/csv/*.csv" >/dev/null; then
  python3 bench/gpu/report.py "$out"/csv/*.csv > "$out/table.txt" 2>&1 || status=1
else
  : > "$out/table.txt"  # no benchmark among the steps run
fi
# Few files come back from a lent machine: one log, one CSV.
for f in "$out"/logs/*.log; do echo "===== $(basename "$f")"; cat "$f"; done > "$out/steps.log"
cat "$out"/csv/*.csv > "$out/bench.csv" 2>/dev/null
rm -rf "$out/logs" "$out/csv"
printf '%s\n' "${summary[@]}" > "$out/summary.txt"
echo
printf '%s\n' "${summary[@]}"
echo
cat "$out/card.txt"
cat "$out/table.txt"
[[ -s $out/models.txt ]] && cat "$out/models.txt"
[[ -s $out/plugin_model.txt ]] && cat "$out/plugin_model.txt"
exit $status
