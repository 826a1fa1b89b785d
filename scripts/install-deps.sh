#!/usr/bin/env bash
# Installs every build and test dependency of qdp: Debian's packages, then a Python 3.12 virtual
# environment (.venv-py) with the Python module's build and test packages from PyPI.
# Idempotent: what is already present is left alone. Run as root (CI does).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libflatbuffers-dev flatbuffers-compiler
  libsodium-dev  # Ed25519 signatures of engine files (libqdp_signing)
  libonnx-dev libprotobuf-dev protobuf-compiler
  python3-onnx python3-numpy
  clang-format
  # scripts/sanitize.sh: clang with the ASan/UBSan/libFuzzer runtimes, its OpenMP, the symbolizer
  clang-14 libclang-rt-14-dev libomp-14-dev llvm-14
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers  # oneDNN; its CMake config looks for OpenCL
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# The Python module: Python 3.12 (pyenv's here; python3.12 where it is on the PATH), and
# nanobind, numpy, pytest and onnx from PyPI in .venv-py, which python/CMakeLists.txt uses.
cd "$(dirname "$0")/.."
venv=.venv-py
if [[ ! -x $venv/bin/python ]]; then
  py312=""
  if command -v pyenv >/dev/null; then
    py312=$(ls -d "$(pyenv root)"/versions/3.12*/bin/python3 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [[ -n $py312 ]] || py312=$(command -v python3.12 || true)
  if [[ -z $py312 ]]; then
    echo "install-deps: no Python 3.12 found (pyenv or python3.12): the Python module needs it" >&2
    exit 1
  fi
  echo "install-deps: creating $venv with $py312"
  "$py312" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import nanobind, numpy, pytest, onnx, onnxruntime; assert onnx.__version__ == \"1.22.0\"" 2>/dev/null; then
  echo "install-deps: installing the Python packages into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r python/requirements-dev.txt
else
  echo "install-deps: Python packages present"
fi
