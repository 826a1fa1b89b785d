#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test through CTest. GPU tests skip, visibly,
# where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir "${QDP_BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)"
