#!/usr/bin/env bash
# Copies the shared libraries a build needs but a bare GPU machine may lack (fmt, benchmark,
# cudart, ...) into BUILD/bin, where the binaries' RPATH ($ORIGIN) finds them. Run before
# carrying a build folder to another machine (after scripts/bundle-node-tests.py, which needs
# libqdp_ops in place). Files it packs leave BUILD/bin; the next cmake --build puts them back.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build}/bin")
for exe in "$bin"/qdp_* "$bin"/*.so; do
  [[ -f $exe ]] || continue
  ldd "$exe" 2>/dev/null | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libgcc_s.so*|libstdc++.so*) ;;  # the system's own
    libqdp*) ;;
    # cuDNN and cuBLAS (hundreds of MB): a GPU machine has them, with PyTorch's wheels
    # (gpu-check.sh puts those on the library path).
    libcudnn*|libcublas*) ;;
    *) [[ $(dirname "$(realpath "$lib")") == "$bin" ]] || cp -u "$lib" "$bin/" ;;
  esac
done
# Files over 6 MiB (oneDNN, libqdp_ops, the largest test programs) travel compressed in
# BUILD/packed: a carried build must fit the transfer. scripts/gpu-check.sh unpacks them.
packed="$(dirname "$bin")/packed"
mkdir -p "$packed"
find "$bin" -maxdepth 1 -type f -size +6M | while read -r file; do
  python3 -c "import lzma, shutil, sys; shutil.copyfileobj(open(sys.argv[1], 'rb'), lzma.open(sys.argv[2], 'wb', preset=6))" "$file" "$packed/$(basename "$file").xz"
  rm "$file"
done
ls "$bin" "$packed"
