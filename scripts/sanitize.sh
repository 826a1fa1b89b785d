#!/usr/bin/env bash
# The hardening job (README "Hardening"): clang with AddressSanitizer and UndefinedBehaviorSanitizer
# (-fno-sanitize-recover=all, halt_on_error=1), warnings as errors, CPU only. Builds the CPU
# tests, the command-line tools and the fuzz targets into ${QDP_SANITIZE_BUILD_DIR:-build-asan},
# runs ctest there (the CPU and CLI tests, the seed corpora and the fuzz regressions), then each
# fuzz target for ${QDP_FUZZ_SECONDS:-60} seconds. Any sanitizer report, crash, leak or timeout
# fails it; a fuzzer's reproducer is left in BUILD/fuzz/artifacts/TARGET/.
#
#   bash scripts/sanitize.sh            the whole job (scripts/test.sh runs it in CI)
#   QDP_FUZZ_SECONDS=0 bash scripts/sanitize.sh     build and ctest only
#   QDP_SANITIZE_JOBS=N                 build parallelism (default: all cores)
#   QDP_FUZZ_TARGETS="fuzz_engine_load fuzz_onnx"  which targets to fuzz (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${QDP_SANITIZE_BUILD_DIR:-build-asan}
fuzz_seconds=${QDP_FUZZ_SECONDS:-60}
jobs=${QDP_SANITIZE_JOBS:-$(nproc)}
cc=${QDP_SANITIZE_CC:-clang-14}
cxx=${QDP_SANITIZE_CXX:-clang++-14}

start=$SECONDS
stage() { echo "sanitize.sh: $* ($((SECONDS - start)) s)"; }

stage "configuring $build_dir with $cxx"
# -O1 and line tables: readable stacks at a fuzzing speed; assertions stay on (no NDEBUG).
CC=$cc CXX=$cxx cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DQDP_ENABLE_CUDA=OFF -DQDP_BUILD_PYTHON=OFF -DQDP_BUILD_BENCHMARKS=OFF \
  -DQDP_SANITIZE=address,undefined -DQDP_BUILD_FUZZERS=ON -DQDP_WERROR=ON >/dev/null

stage "building"
cmake --build "$build_dir" --parallel "$jobs"

# Every report is fatal; leaks are reports. The symbolizer names the lines in the stacks.
# allocator_may_return_null: an allocation beyond the machine's memory (a hostile file's sizes)
# fails as it does without ASan, and qdp reports OutOfMemory; ASan would abort instead.
# use_tls=0: clang 14's LeakSanitizer crashes reading the thread-local storage of libomp's
# threads on Debian 12's glibc ("Tracer caught signal 11"). Without TLS as a root, glibc's
# per-thread dlerror() buffers look leaked: scripts/lsan.supp names them, and nothing else.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=use_tls=0:suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

stage "ctest (CPU and CLI tests under ASan + UBSan)"
ctest --test-dir "$build_dir" --output-on-failure --parallel "$jobs" --label-exclude gpu

if ((fuzz_seconds > 0)); then
  # Single-threaded runs: one OpenMP thread keeps each execution reproducible.
  export OMP_NUM_THREADS=1
  fuzz="$build_dir/fuzz"
  for target in ${QDP_FUZZ_TARGETS:-fuzz_engine_load fuzz_engine_run fuzz_onnx}; do
    case $target in
      # -entropic=0: with the many features an ONNX build touches, libFuzzer's entropic
      # schedule spends 3/4 of the time updating feature frequencies (perf): 150 -> 3000 runs/s.
      fuzz_onnx) seeds=(fuzz/corpus/onnx) dict=fuzz/dicts/onnx.dict extra=(-entropic=0) ;;
      *) seeds=("$fuzz/seeds/engine" fuzz/corpus/engine) dict=fuzz/dicts/engine.dict extra=() ;;
    esac
    corpus="$fuzz/corpus/$target" artifacts="$fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    stage "fuzzing $target for $fuzz_seconds s"
    # New inputs go to the first directory (kept between runs of this build folder); the seeds
    # are read only. -timeout: one input may take 25 s; -rss_limit_mb: 2.5 GiB.
    # A fixed seed (QDP_FUZZ_SEED, 1): CI's minute replays the same mutations from the seeds
    # (only autotune's timings and the machine's speed vary it), so it does not fail at random on
    # a new finding; scripts/fuzz-long.sh explores with fresh seeds.
    "$build_dir/bin/$target" -seed="${QDP_FUZZ_SEED:-1}" -max_total_time="$fuzz_seconds" \
      -timeout=25 -rss_limit_mb=2560 \
      -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 "${extra[@]}" \
      "$corpus" "${seeds[@]}" 2>"$fuzz/$target.log" || {
      tail -n 80 "$fuzz/$target.log"
      echo "sanitize.sh: $target failed; the input is in $artifacts/" >&2
      exit 1
    }
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$fuzz/$target.log" || true
  done
fi
stage "passed"
