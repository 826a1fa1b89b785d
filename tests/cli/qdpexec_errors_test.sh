#!/usr/bin/env bash
# qdpexec's failures (SPEC §5, issue #14): each is an exit code (1, or 2 for a usage error) and one
# line "qdpexec: error: ..." on stderr, never an abort (134) or a bad_alloc.
# Usage: qdpexec_errors_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"
load=(--loadEngine "$work/dyn.engine" --plugins "$plugins" "${quick[@]}")
model=(--onnx "$work/python.onnx" --plugins "$plugins" --shapes x:2x3x8x8 "${quick[@]}")
build=(--onnx "$work/python.onnx" --plugins "$plugins" --device cpu "${quick[@]}")

# .npy files whose headers lie; written by hand, as numpy would not write them.
$py - "$work" <<'PY'
import sys
work = sys.argv[1]
def npy(name, shape, data_bytes, descr="<f4"):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    with open(f"{work}/{name}", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode() + bytes(data_bytes))
npy("negative.npy", "(-2, 3, 8, 8)", 2 * 3 * 8 * 8 * 4)
npy("twenty_digits.npy", "(12345678901234567890, 3, 8, 8)", 16)
npy("overflow.npy", "(4294967296, 4294967296, 8, 8)", 16)
npy("truncated.npy", "(2, 3, 8, 8)", 100)
npy("big_endian.npy", "(2, 3, 8, 8)", 2 * 3 * 8 * 8 * 4, descr=">f4")
PY
touch "$work/regular_file"

# Inputs and outputs that are not what they should be.
expect_error load_inputs.directory 1 "--loadInputs x:$work: cannot read '$work': it is a folder" -- "${load[@]}" --loadInputs "x:$work"
expect_error load_inputs.missing 1 "cannot open '$work/missing.npy': No such file or directory" -- "${load[@]}" --loadInputs "x:$work/missing.npy"
if [[ $(id -u) -ne 0 ]]; then
  cp "$work/x.npy" "$work/unreadable.npy" && chmod 000 "$work/unreadable.npy"
  expect_error load_inputs.unreadable 1 "cannot open '$work/unreadable.npy': Permission denied" -- "${load[@]}" --loadInputs "x:$work/unreadable.npy"
else
  skip load_inputs.unreadable "running as root, which reads any file"
fi
expect_error load_inputs.truncated 1 "truncated.npy' is not a readable .npy file \(offset 128\): 100 bytes of data for shape 2x3x8x8 of <f4 \(1536 expected\)" -- "${load[@]}" --loadInputs "x:$work/truncated.npy"
expect_error load_inputs.big_endian 1 "element type '>f4' is not supported" -- "${load[@]}" --loadInputs "x:$work/big_endian.npy"
expect_error load_inputs.wrong_type 1 "--loadInputs x:.*x_bf16.npy: the file holds BF16, but the engine's input 'x' is FP32" -- "${load[@]}" --loadInputs "x:$work/x_bf16.npy"
expect_error npy.negative_dimension 1 "negative.npy' is not a readable .npy file \(offset 10\): negative dimension -2 in shape \(-2, 3, 8, 8\)" -- "${load[@]}" --loadInputs "x:$work/negative.npy"
expect_error npy.twenty_digit_dimension 1 "dimension 12345678901234567890 in shape .* is too large" -- "${load[@]}" --loadInputs "x:$work/twenty_digits.npy"
expect_error npy.size_overflow 1 "16 bytes of data for shape 4294967296x4294967296x8x8 of <f4 \(more than 2\^64 expected\)" -- "${load[@]}" --loadInputs "x:$work/overflow.npy"
expect_error save_outputs.regular_file 1 "--saveOutputs $work/regular_file: that exists and is not a folder" -- "${load[@]}" --saveOutputs "$work/regular_file"
expect_error save_outputs.name_too_long 1 "--saveOutputs .*: File name too long" -- "${load[@]}" --saveOutputs "$work/$(printf 'n%.0s' {1..300})/out"
expect_error save_engine.directory 1 "--saveEngine $work: that is a folder; name a file to write" -- "${build[@]}" --saveEngine "$work"
expect_error export_times.directory 1 "--exportTimes $work: that is a folder" -- "${load[@]}" --exportTimes "$work"
expect_error export_times.no_folder 1 "--exportTimes $work/none/t.json: the folder '$work/none' does not exist" -- "${load[@]}" --exportTimes "$work/none/t.json"
expect_error export_profile.directory 1 "--exportProfile $work: that is a folder" -- "${load[@]}" --exportProfile "$work"
expect_error load_outputs.missing 1 "cannot open '$work/missing.npy'" -- "${load[@]}" --loadOutputs "y:$work/missing.npy"
expect_error load_outputs.directory 1 "cannot read '$work': it is a folder" -- "${load[@]}" --loadOutputs "y:$work"
expect_error load_outputs.unknown_output 1 "--loadOutputs z:.*: the engine has no output 'z' \(its outputs: y\)" -- "${load[@]}" --loadOutputs "z:$work/x.npy"
expect_error load_engine.directory 2 "--loadEngine: File is actually a directory" -- --loadEngine "$work"
expect_error load_engine.missing 2 "--loadEngine: File does not exist" -- --loadEngine "$work/missing.engine"
expect_error onnx.missing 2 "--onnx: File does not exist" -- --onnx "$work/missing.onnx"

# Absurd shapes: refused before anything is allocated for them.
expect_error shapes.twenty_digits 2 "--shapes: dimension 12345678901234567890 in 'x:12345678901234567890x3x8x8' is too large" -- "${load[@]}" --shapes x:12345678901234567890x3x8x8
expect_error shapes.outside_profile 1 "--shapes x:100000000000x3x8x8: dimension 0 of input 'x' is 100000000000, outside the engine's profile \[1, 4\]" -- "${load[@]}" --shapes x:100000000000x3x8x8
expect_error shapes.static_dimension 1 "--shapes x:2x5x8x8: dimension 1 of input 'x' is static \(3\), not 5" -- "${load[@]}" --shapes x:2x5x8x8
expect_error shapes.rank 1 "--shapes x:2x3x8: input 'x' has 4 dimensions, not 3" -- "${load[@]}" --shapes x:2x3x8
expect_error shapes.unknown_input 1 "--shapes: the engine has no input 'z' \(its inputs: x\)" -- "${load[@]}" --shapes z:1x3x8x8
expect_error shapes.build_too_large 1 "input 'x' at its profile's max shape \(FP32 100000000000x3x8x8\) needs 76800000000000 bytes .* more than this machine's memory" -- "${build[@]}" --shapes x:100000000000x3x8x8
expect_error shapes.build_overflow 1 "input 'x' at its profile's max shape \(FP32 4611686018427387904x3x8x8\) has more elements or bytes than fit in 64 bits" -- "${build[@]}" --shapes x:4611686018427387904x3x8x8
expect_error onnx.static_input_2e40 1 "input 'x' \(FP32 1024x1024x1024x1024\) needs 4398046511104 bytes \(4096.0 GiB\), more than this machine's memory" -- --onnx "$work/huge.onnx" --plugins "$plugins" --device cpu "${quick[@]}"

# --device: cpu, cuda or cuda:N (a GPU that exists); a loaded engine's device is not overridden.
expect_error device.unknown 2 "--device: expected cpu, cuda or cuda:N \(N = 0, 1, ...\), got 'tpu'" -- "${model[@]}" --device tpu
expect_error device.negative_index 2 "got 'cuda:-1'" -- "${model[@]}" --device cuda:-1
expect_error device.no_index 2 "got 'cuda:'" -- "${model[@]}" --device cuda:
expect_error device.bad_index 2 "got 'cuda:0x1'" -- "${model[@]}" --device cuda:0x1
expect_error device.missing_gpu 1 "--device cuda:4096: there is no such GPU \(this machine has [0-9]+\)" -- "${model[@]}" --device cuda:4096
expect_error device.disagrees_with_engine 1 "--device cuda: the engine in '$work/dyn.engine' was built for the cpu; leave --device out" -- "${load[@]}" --device cuda
expect_error device.disagrees_with_engine_index 1 "--device cuda:0: the engine in .* was built for the cpu" -- "${load[@]}" --device cuda:0
expect load_engine.device_agrees 0 "Engine loaded from .* \(built for the cpu\)" -- "${load[@]}" --device cpu

# Other values and combinations.
expect_error val_range.not_a_number 2 "--valRange: 'a' in 'a:1' is not a finite number" -- "${load[@]}" --valRange a:1
expect_error val_range.reversed 2 "--valRange: '2:1': lo must not be above hi" -- "${load[@]}" --valRange 2:1
expect_error val_range.unknown_input 1 "--valRange: the engine has no input 'z'" -- "${load[@]}" --valRange z:0:1
expect_error compare.needs_onnx 2 "--compare cpu builds the reference from the model: it needs --onnx" -- "${load[@]}" --compare cpu
expect_error compare.unknown_reference 2 "--compare: onnxruntime not in \{cpu\}" -- "${build[@]}" --shapes x:2x3x8x8 --compare onnxruntime
expect_error skip_inference.with_compare 2 "--compare needs inference: drop --skipInference" -- "${build[@]}" --shapes x:2x3x8x8 --compare cpu --skipInference
expect_error percentile.out_of_range 2 "--percentile: Value 101 not in range" -- "${load[@]}" --percentile 101
expect_error cuda_graph.on_cpu 1 "graph capture needs the CUDA backend; this engine runs on the cpu" -- "${load[@]}" --useCudaGraph

finish
