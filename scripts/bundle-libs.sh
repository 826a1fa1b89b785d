#!/usr/bin/env bash
# Copies the shared libraries a build needs but a bare GPU machine may lack (fmt, benchmark,
# cudart, ...) into BUILD/bin, where the binaries' RPATH ($ORIGIN) finds them. Run before
# carrying a build folder to another machine.
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
    *) [[ $(dirname "$(realpath "$lib")") == "$bin" ]] || cp -u "$lib" "$bin/" ;;
  esac
done
ls "$bin"
