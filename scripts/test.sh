#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test through CTest. GPU tests skip, visibly,
# where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir "${QDP_BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)"
# The installed package: find_package(qdp) from an out-of-tree plugin library, run through the
# installed qdpexec.
bash scripts/check-install.sh "${QDP_BUILD_DIR:-build}"
