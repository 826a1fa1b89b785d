#!/usr/bin/env bash
# Command-line tests of qdpexec: ONNX models written by the circ_pad sample and by ONNX's Python
# package, plugin libraries, engine files, .npy inputs and outputs against numpy, usage errors.
# The failure cases are in qdpexec_errors_test.sh, output checks in qdpexec_check_test.sh, timing
# in qdpexec_timing_test.sh.
# Usage: qdpexec_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"

expect onnx.sample_model 0 'Latency: min = .* max = .* mean = .* median = .* percentile\(99%\) = ' -- --onnx "$work/circ_pad.onnx" --plugins "$plugins" --device cpu --iterations 5 --duration 0 --warmUp 0
# A plugin with both implementations and a model that does not say which: the CPU has no AOT
# path, so the JIT impl is taken without asking; --preferJIT / --preferAOT are accepted.
expect onnx.no_aot_attribute_cpu 0 '"implementation": "jit"' -- --onnx "$work/no_aot.onnx" --plugins "$plugins" --device cpu --dumpLayerInfo --iterations 1 --duration 0 --warmUp 0
expect onnx.no_aot_attribute_prefer_jit 0 '"implementation": "jit"' -- --onnx "$work/no_aot.onnx" --plugins "$plugins" --device cpu --preferJIT --dumpLayerInfo --iterations 1 --duration 0 --warmUp 0
expect onnx.no_aot_attribute_prefer_aot_cpu 0 '"implementation": "jit"' -- --onnx "$work/no_aot.onnx" --plugins "$plugins" --device cpu --preferAOT --dumpLayerInfo --iterations 1 --duration 0 --warmUp 0
expect onnx.reports_throughput 0 'Throughput: [0-9.]+ qps' -- --onnx "$work/circ_pad.onnx" --plugins "$plugins" --device cpu --iterations 5 --duration 0 --warmUp 0
expect onnx.reports_enqueue 0 'Enqueue Time: min = ' -- --onnx "$work/circ_pad.onnx" --plugins "$plugins" --device cpu --iterations 5 --duration 0 --warmUp 0
expect onnx.save_outputs 0 "Saved output 'y'" -- --onnx "$work/circ_pad.onnx" --plugins "$plugins" --device cpu --iterations 1 --duration 0 --warmUp 0 --loadInputs "x:$work/x_sample.npy" --saveOutputs "$work/out_sample"
check onnx.sample_output_matches_numpy $py -c "
import numpy as np
x = np.load('$work/x_sample.npy'); y = np.load('$work/out_sample/y.npy')
assert np.array_equal(y, np.pad(x, ((0,0),(0,0),(1,1),(1,1)), mode='wrap')), 'mismatch'"
expect onnx.python_model_dynamic 0 "Saved output 'y'" -- --onnx "$work/python.onnx" --plugins "$plugins" --device cpu --shapes x:2x3x8x8 --minShapes x:1x3x8x8 --optShapes x:2x3x8x8 --maxShapes x:4x3x8x8 --loadInputs "x:$work/x.npy" --saveOutputs "$work/out_py" --iterations 1 --duration 0 --warmUp 0
check onnx.python_output_matches_numpy $py -c "
import numpy as np
x = np.load('$work/x.npy'); y = np.load('$work/out_py/y.npy')
# pads (2, 1, 0, 3): last dim (2 before, 1 after), then H (0 before, 3 after)
assert np.array_equal(y, np.pad(x, ((0,0),(0,0),(0,3),(2,1)), mode='wrap')), 'mismatch'"
expect engine.save 0 'Engine saved' -- --onnx "$work/circ_pad.onnx" --plugins "$plugins" --device cpu --saveEngine "$work/e.engine" --skipInference
expect engine.load 0 'Latency' -- --loadEngine "$work/e.engine" --plugins "$plugins" --iterations 2 --duration 0 --warmUp 0
expect engine.load_without_plugins 1 'sample::circ_pad_plugin, which is not defined in this process.*--plugins' -- --loadEngine "$work/e.engine"
expect layer_info 0 '"plugin": "sample::circ_pad_plugin"' -- --loadEngine "$work/e.engine" --plugins "$plugins" --dumpLayerInfo --skipInference
expect export_layer_info 0 'Engine loaded' -- --loadEngine "$work/e.engine" --plugins "$plugins" --exportLayerInfo "$work/layers.json" --skipInference
check export_layer_info.json $py -c "
import json; d = json.load(open('$work/layers.json')); assert d['layers'][0]['implementation'] == 'jit', d"
expect profile 0 'Per-layer profile' -- --loadEngine "$work/e.engine" --plugins "$plugins" --dumpProfile --iterations 2 --duration 0 --warmUp 0
expect error.dynamic_without_shapes 1 "input 'x' has dynamic dimensions: give its shape with --shapes" -- --onnx "$work/python.onnx" --plugins "$plugins" --device cpu
expect error.unknown_input 1 "--loadInputs: the engine has no input 'z'" -- --loadEngine "$work/e.engine" --plugins "$plugins" --loadInputs "z:$work/x.npy" --iterations 1 --duration 0 --warmUp 0
expect error.bad_npy 1 'not a readable .npy file' -- --loadEngine "$work/e.engine" --plugins "$plugins" --loadInputs "x:$work/layers.json" --iterations 1 --duration 0 --warmUp 0
expect error.not_onnx 1 'not a valid ONNX model' -- --onnx "$work/layers.json" --device cpu
expect error.corrupt_engine 1 'not a qdp engine file' -- --loadEngine "$work/layers.json"
expect error.missing_plugin_library 2 'plugins' -- --onnx "$work/circ_pad.onnx" --plugins "$work/nope.so"
expect usage.nothing_to_do 2 'onnx or --loadEngine' --
expect usage.both_sources 2 'excludes' -- --onnx "$work/circ_pad.onnx" --loadEngine "$work/e.engine"
expect usage.bad_shape 2 'bad dimension' -- --onnx "$work/python.onnx" --plugins "$plugins" --device cpu --shapes x:2xAx8x8

# Messages keep their order when stdout and stderr go to one pipe: the info line printed before
# the error comes before it.
piped=$("$qdpexec" --loadEngine "$work/e.engine" --plugins "$plugins" --loadInputs "x:$work/missing.npy" 2>&1 | cat)
loaded_at=$(grep -n 'Engine loaded from' <<<"$piped" | head -1 | cut -d: -f1)
error_at=$(grep -n '^qdpexec: error:' <<<"$piped" | head -1 | cut -d: -f1)
if [[ -n $loaded_at && -n $error_at && $loaded_at -lt $error_at ]]; then
  passes=$((passes + 1))
else
  failures=$((failures + 1))
  echo "FAIL piped.order: the info line (line ${loaded_at:-none}) should precede the error (line ${error_at:-none}):"
  echo "$piped"
fi

finish
