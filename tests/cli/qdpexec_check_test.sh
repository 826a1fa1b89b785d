#!/usr/bin/env bash
# qdpexec checks results as Polygraphy does (issue #15): --compare cpu against a CPU build of the
# same model, --loadOutputs against saved references (numpy.allclose with --atol / --rtol), with
# seeded, ranged random inputs; and BF16 .npy files round-trip through --loadInputs /
# --saveOutputs.
# Usage: qdpexec_check_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"
dyn=(--onnx "$work/python.onnx" --plugins "$plugins" --device cpu --shapes x:2x3x8x8 "${quick[@]}")

# --compare cpu: a second engine, built for the CPU from the same model and shapes.
expect compare.cpu.pass 0 "y: max abs error = 0, max rel error = 0: PASS" -- "${dyn[@]}" --compare cpu
expect compare.cpu.reference_built 0 "Reference engine \(declared types\) built for the cpu" -- "${dyn[@]}" --compare cpu
expect compare.cpu.then_timed 0 "Latency: min = " -- "${dyn[@]}" --compare cpu
expect compare.cpu.sample_model_fp16 0 "y: max abs error = .*: PASS" -- --onnx "$work/circ_pad.onnx" --plugins "$plugins" --device cpu --fp16 --compare cpu --atol 1e-2 --rtol 1e-2 "${quick[@]}"
expect compare.cpu.profile 0 "y: max abs error = 0, .*: PASS" -- --onnx "$work/python.onnx" --plugins "$plugins" --device cpu --minShapes x:1x3x8x8 --optShapes x:2x3x8x8 --maxShapes x:4x3x8x8 --shapes x:3x3x8x8 --compare cpu "${quick[@]}"

# --loadOutputs: references written by qdpexec itself and by numpy (float64, its default).
expect load_outputs.save 0 "Saved output 'y'" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --saveOutputs "$work/ref"
$py - "$work" <<'PY'
import sys, numpy as np
work = sys.argv[1]
x = np.load(f"{work}/x.npy")
y = np.pad(x, ((0, 0), (0, 0), (0, 3), (2, 1)), mode="wrap")
np.save(f"{work}/y_f64.npy", y.astype(np.float64))
wrong = y.copy()
wrong[1, 2, 3, 4] += 0.5
np.save(f"{work}/y_wrong.npy", wrong)
np.save(f"{work}/y_shape.npy", y[:1])
PY
expect load_outputs.pass 0 "y: max abs error = 0, max rel error = 0: PASS" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/ref/y.npy"
expect load_outputs.float64_reference 0 "y: max abs error = 0, max rel error = 0: PASS" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_f64.npy"
expect load_outputs.wrong.figures 1 "\[E\]   y: max abs error = 0.5, max rel error = [0-9.e+-]+: FAIL \(1 of 726 elements outside the tolerance; worst at \[1, 2, 3, 4\]: " -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_wrong.npy"
expect_error load_outputs.wrong.exit 1 "1 output comparison\(s\) failed \(figures above\)" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_wrong.npy"
out=$("$qdpexec" "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_wrong.npy" 2>&1)
check load_outputs.wrong.not_timed bash -c "! grep -q Latency <<<'$out'"
expect load_outputs.atol 0 "y: max abs error = 0.5, .*: PASS" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_wrong.npy" --atol 0.5
expect load_outputs.rtol 1 "y: .*: FAIL" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_wrong.npy" --rtol 1e-3
expect load_outputs.shape 1 "\[E\]   y: FAIL: shape 2x3x11x11 but the reference has 1x3x11x11" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_shape.npy"
expect load_outputs.with_compare 1 "Comparing against the cpu reference engine" -- "${dyn[@]}" --loadInputs "x:$work/x.npy" --loadOutputs "y:$work/y_wrong.npy" --compare cpu

# Random inputs: seeded (the same seed gives the same inputs) and within --valRange.
for run in a b; do "$qdpexec" "${dyn[@]}" --seed 7 --saveOutputs "$work/seed7$run" >/dev/null; done
"$qdpexec" "${dyn[@]}" --seed 8 --saveOutputs "$work/seed8" >/dev/null
"$qdpexec" "${dyn[@]}" --saveOutputs "$work/default_seed_a" >/dev/null
"$qdpexec" "${dyn[@]}" --saveOutputs "$work/default_seed_b" >/dev/null
check seed.same_seed_same_inputs cmp "$work/seed7a/y.npy" "$work/seed7b/y.npy"
check seed.default_is_fixed cmp "$work/default_seed_a/y.npy" "$work/default_seed_b/y.npy"
check seed.other_seed_other_inputs bash -c "! cmp -s '$work/seed7a/y.npy' '$work/seed8/y.npy'"
"$qdpexec" "${dyn[@]}" --valRange 2:3 --saveOutputs "$work/range_all" >/dev/null
"$qdpexec" "${dyn[@]}" --valRange x:-5:-4.5 --saveOutputs "$work/range_x" >/dev/null
check val_range.values $py -c "
import numpy as np
a = np.load('$work/range_all/y.npy'); b = np.load('$work/range_x/y.npy')
assert a.min() >= 2 and a.max() <= 3 and a.std() > 0, (a.min(), a.max())
assert b.min() >= -5 and b.max() <= -4.5, (b.min(), b.max())"
check val_range.default $py -c "
import numpy as np
a = np.load('$work/seed7a/y.npy'); assert a.min() >= -1 and a.max() <= 1 and a.min() < 0 < a.max()"

# BF16: written as np.save writes an ml_dtypes.bfloat16 array (descr '<V2'); read from '<V2',
# '|V2' (numpy's own 2-byte voids) and '<u2' (the bit patterns). circ_pad has no BF16 impl: with
# --fp16 the builder converts around it, exactly for these values.
bf16=(--onnx "$work/bf16.onnx" --plugins "$plugins" --device cpu --fp16 "${quick[@]}")
expect bf16.load_void 0 "Saved output 'y' \(BF16 2x3x11x11\)" -- "${bf16[@]}" --loadInputs "x:$work/x_bf16.npy" --saveOutputs "$work/bf16_void"
expect bf16.load_uint16 0 "Saved output 'y' \(BF16 2x3x11x11\)" -- "${bf16[@]}" --loadInputs "x:$work/x_bf16_u2.npy" --saveOutputs "$work/bf16_u2"
check bf16.output_matches_numpy $py -c "
import numpy as np
as_f32 = lambda a: (a.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
x = np.load('$work/x_bf16.npy'); y = np.load('$work/bf16_void/y.npy')
assert y.dtype == np.dtype('V2') and y.shape == (2, 3, 11, 11), (y.dtype, y.shape)
assert np.array_equal(as_f32(y), np.pad(as_f32(x), ((0,0),(0,0),(0,3),(2,1)), mode='wrap')), 'mismatch'"
check bf16.descr_is_V2 grep -aq "'descr': '<V2'" "$work/bf16_void/y.npy"
check bf16.same_either_way cmp "$work/bf16_void/y.npy" "$work/bf16_u2/y.npy"
expect bf16.reference 0 "y: max abs error = 0, max rel error = 0: PASS" -- "${bf16[@]}" --loadInputs "x:$work/x_bf16.npy" --loadOutputs "y:$work/bf16_void/y.npy"
expect bf16.random 0 "Saved output 'y' \(BF16 2x3x11x11\)" -- "${bf16[@]}" --saveOutputs "$work/bf16_random"

# --bf16 (TensorRT's BF16 flag): a standard operator's BF16 candidate is timed, and the engine
# matches a CPU build of the declared types within BF16's rounding.
$py - "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.linspace(-1, 1, 64 * 32, dtype=np.float32).reshape(64, 32), "w")
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 64])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 32])], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), f"{sys.argv[1]}/matmul.onnx")
PY
mm=(--onnx "$work/matmul.onnx" --device cpu "${quick[@]}")
expect bf16_flag.timed 0 "for types \[BF16, BF16, BF16\]" -- "${mm[@]}" --bf16 -v
expect bf16_flag.not_without_it 0 "without the BF16 flag" -- "${mm[@]}" --fp16 -v
expect bf16_flag.compare 0 "y: max abs error = .*: PASS" -- "${mm[@]}" --bf16 --compare cpu --atol 5e-2 --rtol 5e-2
finish
