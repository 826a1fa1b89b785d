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
run add
run add --autotune -v
exit $status
