#!/usr/bin/env bash
# ThreadSanitizer over what qdp promises of threads (README "Bad input and thread safety"): builds
# qdp_concurrency_tests (the registry, execution-context and concurrency tests) and the libraries
# it loads (the runtime, the builder, libqdp_ops, the sample plugins) with g++ -fsanitize=thread,
# CPU only, and runs every test in it with halt_on_error=1: any report fails the script.
#
# OMP_NUM_THREADS=1: Debian's libgomp is not built with TSan, so TSan cannot see how an OpenMP
# barrier hands data from one worker thread to the next, and reports every parallel loop of an
# impl (qdp::parallel_for, `omp parallel for`, oneDNN's kernels) as a race. With one OpenMP thread
# no worker threads exist: what is checked is qdp's own threads, the four of the tests, and the
# state they share (engines, the registry, loggers, libraries), not OpenMP's pool.
# scripts/tsan.supp explains the one suppression (oneDNN's own function-local statics).
#
# Usage: scripts/tsan.sh [BUILD_DIR]     default build-tsan; QDP_TSAN_JOBS (2) compile jobs,
#        QDP_STRESS_ROUNDS=N more rounds per thread (see tests/runtime/concurrency_test.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-tsan}
jobs=${QDP_TSAN_JOBS:-2}

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DQDP_SANITIZE=thread \
  -DQDP_ENABLE_CUDA=OFF -DQDP_BUILD_PYTHON=OFF -DQDP_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$dir" --parallel "$jobs" --target qdp_concurrency_tests
# A build without the sanitizer would pass for the wrong reason. ldd's output is captured first:
# `ldd | grep -q` under pipefail fails whenever grep quits before ldd has written everything.
linked=$(ldd "$dir/bin/qdp_concurrency_tests")
if ! grep -q libtsan <<<"$linked"; then
  echo "tsan.sh: $dir/bin/qdp_concurrency_tests is not linked with libtsan (QDP_SANITIZE)" >&2
  exit 1
fi

export OMP_NUM_THREADS=1
# scripts/tsan.supp: the one report TSan makes inside oneDNN, which is not instrumented either.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp ${TSAN_OPTIONS:-}"
"$dir/bin/qdp_concurrency_tests" --gtest_brief=1
echo "tsan.sh: qdp_concurrency_tests passed under ThreadSanitizer with no report"
