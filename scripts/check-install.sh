#!/usr/bin/env bash
# Installs a built qdp into a temporary prefix, builds examples/out_of_tree_plugin against it
# with find_package(qdp), and runs the example's ONNX model through the installed qdpexec with
# that plugin library, checking the output against numpy. Usage: scripts/check-install.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-${QDP_BUILD_DIR:-build}}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="/usr/local/cuda/bin:$PATH"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
echo "check-install: installed into $prefix:"
(cd "$prefix" && find . -name 'libqdp*' -o -name 'qdpConfig*.cmake' -o -name qdp.pc -o -name qdpexec \
  -o -name version.hpp | sort)
cmake -S examples/out_of_tree_plugin -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/example" >/dev/null
/usr/bin/python3 examples/out_of_tree_plugin/make_model.py "$work"
"$prefix/bin/qdpexec" --onnx "$work/model.onnx" --plugins "$work/example/libscale_plugin.so" \
  --loadInputs "x:$work/x.npy" --saveOutputs "$work/out" --device cpu --iterations 1 \
  --duration 0 --warmUp 0 >"$work/qdpexec.log"
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
work = sys.argv[1]
x = np.load(f"{work}/x.npy"); y = np.load(f"{work}/out/y.npy")
expected = 2.5 * x - 1.0
assert y.shape == expected.shape, (y.shape, expected.shape)
assert np.allclose(y, expected, rtol=1e-6, atol=1e-6), np.abs(y - expected).max()
print("check-install: the out-of-tree plugin through the installed qdpexec matches numpy")
PY
# pkg-config sees the package too.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion qdp
# ... and its flags link a program against every library, signed engines included.
cat > "$work/pc_check.cpp" <<'CPP'
#include <qdp/qdp.hpp>
#include <qdp/signature.hpp>
int main() { return qdp::generate_key_pair().public_key.bytes.size() == 32 ? 0 : 1; }
CPP
# shellcheck disable=SC2046 # pkg-config's words
g++ "$work/pc_check.cpp" -o "$work/pc_check" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs qdp) \
  -Wl,-rpath,"$prefix/lib"
"$work/pc_check"
echo "check-install: a program built with pkg-config's flags for qdp runs"
