#!/usr/bin/env bash
# qdpexec --timingCacheFile: the first build times every candidate and writes the file; the second
# loads it, times nothing and makes the same choices; a corrupt file is an error; a file from
# another device or qdp version is ignored with a warning (and replaced).
# Usage: qdpexec_timing_cache_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"

# x FP32 2x3x16x16 -> add -> circ_pad -> Relu -> add -> circ_pad -> y: sample plugins with
# FP32|FP16 candidates and two tactics, between standard operators.
$py - "$work" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
work = sys.argv[1]
nodes, h = [], "x"
for i, kind in enumerate(["add", "pad", "relu", "add", "pad"]):
    out = f"h{i}" if i < 4 else "y"
    if kind == "add":
        nodes.append(helper.make_node("elemwise_add_plugin", [h], [out], name=f"add{i}", plugin_namespace="sample", block_size=256, aot=0))
    elif kind == "pad":
        nodes.append(helper.make_node("circ_pad_plugin", [h], [out], name=f"pad{i}", plugin_namespace="sample", pads=[1, 1, 1, 1], aot=0))
    else:
        nodes.append(helper.make_node("Relu", [h], [out], name=f"relu{i}"))
    h = out
graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), f"{work}/chain.onnx")
PY
build=(--onnx "$work/chain.onnx" --plugins "$plugins" --device cpu --fp16 --skipInference)
cache=$work/chain.cache

# relabel FILE DEVICE VERSION: rewrites a cache's device and qdp version, checksum included, as
# another machine or qdp would have written it (the layout of src/builder/timing_cache.hpp).
relabel() {
  $py - "$@" <<'PY'
import struct, sys
path, device, version = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
data = open(path, "rb").read()
header, payload = bytearray(data[:32]), data[32:]
n = struct.unpack_from("<I", payload, 0)[0]; at = 4 + n
n = struct.unpack_from("<I", payload, at)[0]; at += 4 + n
payload = struct.pack("<I", len(version)) + version + struct.pack("<I", len(device)) + device + payload[at:]
struct.pack_into("<Q", header, 16, len(payload))
h = 14695981039346656037
for b in bytes(header[:24]) + payload:
    h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
struct.pack_into("<Q", header, 24, h)
open(path, "wb").write(bytes(header) + payload)
PY
}

# Runs qdpexec, keeps its output in $work/NAME.log; the checks below read it.
run_logged() {
  local name=$1
  shift
  "$qdpexec" "$@" >"$work/$name.log" 2>&1
  echo $? >"$work/$name.rc"
}
logged() {  # logged NAME RC REGEX: the run's exit code, and a line matching REGEX
  local rc
  rc=$(cat "$work/$1.rc")
  if [[ $rc -eq $2 ]] && grep -Eq -- "$3" "$work/$1.log"; then
    echo "ok   $1: /$3/"
    passes=$((passes + 1))
  else
    echo "FAIL $1: rc=$rc (want $2), output did not match /$3/:"
    sed 's/^/    /' "$work/$1.log"
    failures=$((failures + 1))
  fi
}
not_logged() {  # not_logged NAME REGEX: no line matches REGEX
  if grep -Eq -- "$2" "$work/$1.log"; then
    echo "FAIL $1: output matches /$2/:"
    grep -E -- "$2" "$work/$1.log" | head -5 | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $1: no /$2/"
    passes=$((passes + 1))
  fi
}
same_layers() {  # same_layers A.json B.json: the same choices, layer by layer
  check "same_layers.$(basename "$1" .json).$(basename "$2" .json)" $py -c "
import json
a, b = (json.load(open(p))['layers'] for p in ('$1', '$2'))
assert len(a) >= 5 and a == b, (a, b)"  # 5 plugin layers, and any reformats the timings chose
}

# The first build: every candidate timed, the file written.
run_logged first "${build[@]}" --timingCacheFile "$cache" --exportLayerInfo "$work/first.json" -v
logged first 0 "Timing cache $cache does not exist yet"
logged first 0 "Executing layer 'pad1' for .* tactic 2"
logged first 0 "Timing cache: 0 timing\(s\) reused, [1-9][0-9]* measured and added"
logged first 0 "\[I\] Timing cache saved to $cache: [1-9][0-9]* timing\(s\)"
held=$(grep -Eo "saved to .*: [0-9]+ timing" "$work/first.log" | grep -Eo "[0-9]+ timing" | grep -Eo "[0-9]+")
# field N: the N-th string of the cache's payload (0 the qdp version, 1 the device).
field() {
  $py -c "
import struct; d = open('$cache', 'rb').read()[32:]; at = 0
for _ in range($1): at += 4 + struct.unpack_from('<I', d, at)[0]
n = struct.unpack_from('<I', d, at)[0]; print(d[at + 4:at + 4 + n].decode())"
}
version=$(field 0)
device=$(field 1)
device_re=$(sed 's/[][\.*^$(){}?+|]/\\&/g' <<<"$device")  # "Intel(R) Xeon(R)" as a regex
check cache.header bash -c "[[ '$device' == 'cpu: '*' thread'* && -n '$version' ]]"

# The second: nothing timed, the same choices.
run_logged second "${build[@]}" --timingCacheFile "$cache" --exportLayerInfo "$work/second.json" -v
logged second 0 "\[I\] Timing cache loaded from $cache: $held timing\(s\)"
logged second 0 "Layer 'pad1' candidate .* tactic 2: .* ms .*, from the timing cache"
logged second 0 "Timing cache: [1-9][0-9]* timing\(s\) reused, 0 measured and added \($held held\)"
not_logged second "Executing layer"
not_logged second "\[W\]"
same_layers "$work/first.json" "$work/second.json"
# And the engine it builds runs (and matches the CPU reference).
expect second.runs 0 "Latency: min = " -- --onnx "$work/chain.onnx" --plugins "$plugins" --device cpu --fp16 --timingCacheFile "$cache" --compare cpu --atol 1e-2 --rtol 1e-2 "${quick[@]}"

# Another device's file: ignored with a warning, every layer timed again, then replaced.
cp "$cache" "$work/gpu.cache"
relabel "$work/gpu.cache" "cuda: NVIDIA H200, sm_90, 132 SMs, CUDA runtime 13.0, driver 13.0" "$version"
run_logged gpu "${build[@]}" --timingCacheFile "$work/gpu.cache" -v
logged gpu 0 "\[W\] Timing cache: ignoring its $held timing\(s\): they were measured on 'cuda: NVIDIA H200, sm_90, 132 SMs, CUDA runtime 13.0, driver 13.0' with qdp .*, and this build runs on 'cpu: "
logged gpu 0 "Executing layer 'pad1'"
run_logged gpu_again "${build[@]}" --timingCacheFile "$work/gpu.cache" -v
not_logged gpu_again "Executing layer"
not_logged gpu_again "\[W\]"

# Another qdp version's file: the same.
cp "$cache" "$work/old.cache"
relabel "$work/old.cache" "$device" "0.0.1"
run_logged old "${build[@]}" --timingCacheFile "$work/old.cache"
logged old 0 "\[W\] Timing cache: ignoring its $held timing\(s\): they were measured on '$device_re' with qdp 0\.0\.1, and this build runs on '$device_re' with qdp "
# (How many: the reformats priced follow the choices upstream, timed anew.)
logged old 0 "Timing cache saved to $work/old.cache: [1-9][0-9]* timing\(s\)"

# Corrupt files are errors, and stay as they were.
printf 'not a cache at all' >"$work/text.cache"
expect_error corrupt.text 1 "cannot load timing cache '$work/text.cache': it is not a qdp timing cache" -- "${build[@]}" --timingCacheFile "$work/text.cache"
check corrupt.text.untouched grep -q "not a cache at all" "$work/text.cache"
cp "$cache" "$work/flipped.cache"
$py -c "
d = bytearray(open('$work/flipped.cache', 'rb').read()); d[-3] ^= 0x40
open('$work/flipped.cache', 'wb').write(bytes(d))"
expect_error corrupt.checksum 1 "cannot load timing cache '$work/flipped.cache': corrupted: checksum mismatch" -- "${build[@]}" --timingCacheFile "$work/flipped.cache"
head -c 20 "$cache" >"$work/short.cache"
expect_error corrupt.truncated 1 "timing cache '$work/short.cache': truncated" -- "${build[@]}" --timingCacheFile "$work/short.cache"

# Usage: only builds have timings; paths are checked before the build.
expect_error usage.load_engine 2 "--timingCacheFile keeps the timings of a build: it needs --onnx" -- --loadEngine "$work/dyn.engine" --plugins "$plugins" --timingCacheFile "$cache" --skipInference
expect_error usage.folder 1 "--timingCacheFile $work/nowhere/x.cache: the folder '$work/nowhere' does not exist" -- "${build[@]}" --timingCacheFile "$work/nowhere/x.cache"
expect_error usage.is_folder 1 "--timingCacheFile $work: that is a folder" -- "${build[@]}" --timingCacheFile "$work"
check no_partial_file bash -c "! ls '$work' | grep -q '\.tmp'"

finish
