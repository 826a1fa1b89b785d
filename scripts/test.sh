#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: CTest, then pytest over the Python
# module in the build tree, then the sanitizer and fuzzing job (scripts/sanitize.sh). GPU tests
# skip, visibly, where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${QDP_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure --parallel "$(nproc)"

# The installed package: find_package(qdp) from an out-of-tree plugin library, run through the
# installed qdpexec.
bash scripts/check-install.sh "$build_dir"

# The Python tests run against the build tree: the module built above, no second build.
if ! ls "$build_dir"/python/qdp/_core*.so >/dev/null 2>&1; then
  echo "test.sh: the Python module was not built (see the qdp: Python module line of CMake)" >&2
  exit 1
fi
status=0
PYTHONPATH="$(realpath "$build_dir/python")" .venv-py/bin/python -m pytest tests/python -q -p no:cacheprovider || status=$?
if ((status == 5)); then
  echo "test.sh: pytest collected no tests in tests/python" >&2
  exit 1
fi
if ((status != 0)); then
  exit $status
fi

# The hardening job: a clang build with ASan + UBSan and warnings as errors: the CPU tests, the
# CLI tests, the fuzz seeds and regressions, then each fuzz target for QDP_FUZZ_SECONDS (60).
# QDP_SKIP_SANITIZE=1 leaves it out; QDP_FUZZ_SECONDS=0 keeps the build and its tests only.
if [[ ${QDP_SKIP_SANITIZE:-0} != 1 ]]; then
  QDP_FUZZ_SECONDS=${QDP_FUZZ_SECONDS:-60} bash scripts/sanitize.sh
fi

# ThreadSanitizer over the thread-safety tests (g++, CPU only; scripts/tsan.sh says why
# OMP_NUM_THREADS=1). QDP_SKIP_TSAN=1 leaves it out.
if [[ ${QDP_SKIP_TSAN:-0} != 1 ]]; then
  bash scripts/tsan.sh build-tsan
fi
