#!/usr/bin/env bash
# The long fuzz runs of the hardening job (README "Hardening"): each target of an existing
# scripts/sanitize.sh build (ASan + UBSan) for ${QDP_FUZZ_RUNS:-1000000} executions, the
# same options and seeds as CI's bounded runs, two targets at a time. Prints each target's
# libFuzzer summary; a crash, report, leak or timeout fails it and leaves the input in
# BUILD/fuzz/artifacts/TARGET/. Record what it prints in bench/results/ with the date.
#
#   bash scripts/sanitize.sh && bash scripts/fuzz-long.sh [BUILD_DIR]
#   QDP_FUZZ_TARGETS=fuzz_onnx QDP_FUZZ_RUNS=2000000 bash scripts/fuzz-long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-asan}
runs=${QDP_FUZZ_RUNS:-1000000}
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=use_tls=0:suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OMP_NUM_THREADS=1
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi
fuzz="$build_dir/fuzz"
run_target() {
  local target=$1 seeds dict extra=()
  case $target in
    fuzz_onnx) seeds=(fuzz/corpus/onnx) dict=fuzz/dicts/onnx.dict extra=(-entropic=0) ;;
    *) seeds=("$fuzz/seeds/engine" fuzz/corpus/engine) dict=fuzz/dicts/engine.dict ;;
  esac
  local corpus="$fuzz/corpus/$target" artifacts="$fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  local start=$SECONDS
  if "$build_dir/bin/$target" -runs="$runs" -timeout=25 -rss_limit_mb=2560 -dict="$dict" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "${extra[@]}" "$corpus" "${seeds[@]}" \
    2>"$fuzz/$target.long.log"; then
    echo "$target: passed, $((SECONDS - start)) s:"
  else
    echo "$target: FAILED after $((SECONDS - start)) s (input in $artifacts/):"
    tail -n 40 "$fuzz/$target.long.log"
  fi
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|DONE" \
    "$fuzz/$target.long.log" | sed "s/^/  $target /"
}
# QDP_FUZZ_TARGETS: which targets (default: all three), two at a time.
targets=(${QDP_FUZZ_TARGETS:-fuzz_engine_load fuzz_engine_run fuzz_onnx})
rm -f "$fuzz"/long.*.txt
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  for t in "${targets[@]:i:2}"; do run_target "$t" >"$fuzz/long.$t.txt" & done
  wait
done
for t in "${targets[@]}"; do cat "$fuzz/long.$t.txt"; done
! grep -q FAILED "$fuzz"/long.*.txt
