#!/usr/bin/env bash
# Command-line tests of qdp_runner: verdicts, exit codes, verbose output, usage errors.
# Usage: qdp_runner_test.sh PATH/TO/qdp_runner
set -uo pipefail
program=$1
source "$(dirname "$0")/expect.sh"

expect add.cpu 0 '^Inference result is correct!$' -- add --device cpu
expect add.autotune.fp32_candidate 0 'candidate types \[FP32, FP32\]' -- add --autotune -v --device cpu
expect add.autotune.fp16_candidate 0 'candidate types \[FP16, FP16\]' -- add --autotune -v --device cpu
expect add.autotune.runs_fp16 0 "Executing layer 'elemwise_add_plugin_0' for types \[FP16, FP16\] formats \[LINEAR, LINEAR\]" -- add --autotune -v --device cpu
expect add.autotune.winner 0 'chose types' -- add --autotune -v --device cpu
expect add.autotune.build_time 0 'Finished engine building in [0-9.]+ seconds' -- add --autotune -v --device cpu
expect add.autotune.inference_log 0 "Executing layer 'elemwise_add_plugin_0' \(sample::elemwise_add_plugin\) inputs \[FP(32|16) LINEAR 10x3x32x32\]" -- add --autotune -v --device cpu
expect add.autotune.correct 0 '^Inference result is correct!$' -- add --autotune -v --device cpu
expect add.no_autotune.not_timed 0 'has one candidate' -- add -v --device cpu
expect add.aot_on_cpu 1 'the cpu backend runs no AOT kernels' -- add --aot --device cpu
expect inplace_add.cpu 0 '^Inference result is correct!$' -- inplace_add --device cpu
expect inplace_add.hwc_candidate 0 'candidate types \[FP32, FP32\] formats \[HWC, HWC\]' -- inplace_add -v --device cpu
expect inplace_add.fp16_candidate 0 'candidate types \[FP16, FP16\] formats \[LINEAR, LINEAR\]' -- inplace_add -v --device cpu
expect inplace_add.no_activation_memory 0 'Activation memory: 0 bytes' -- inplace_add -v --device cpu
expect non_zero.cpu 0 '^Inference result is correct!$' -- non_zero --device cpu
expect non_zero.fp16_candidate 0 'candidate types \[FP16, INT32, INT64\]' -- non_zero -v --device cpu

art=$(mktemp -d)
empty=$(mktemp -d)
trap 'rm -rf "$art" "$empty"' EXIT
expect circ_pad.inetdef 0 '^Inference result is correct!$' -- circ_pad --mode inetdef --device cpu
expect circ_pad.onnx 0 '^Inference result is correct!$' -- circ_pad --mode onnx --artifacts_dir "$art" --device cpu
expect circ_pad.multi_tactic 0 'candidate types \[FP32, FP32\] formats \[LINEAR, LINEAR\] tactic 2' -- circ_pad --mode inetdef --multi_tactic -v --device cpu
expect circ_pad.onnx_multi_tactic 0 '^Inference result is correct!$' -- circ_pad --mode onnx --multi_tactic --artifacts_dir "$art" --device cpu
expect circ_pad.save 0 '^Inference result is correct!$' -- circ_pad --mode onnx --multi_tactic --save_engine --artifacts_dir "$art" --device cpu
expect circ_pad.load 0 '^Inference result is correct!$' -- circ_pad --load_engine --artifacts_dir "$art"
expect circ_pad.load_ignores_options 0 'load_engine ignores' -- circ_pad --load_engine --mode inetdef --artifacts_dir "$art"
expect circ_pad.usage.onnx_without_dir 2 'needs --artifacts_dir' -- circ_pad --mode onnx --device cpu
expect circ_pad.usage.save_and_load 2 'cannot be used together' -- circ_pad --save_engine --load_engine --artifacts_dir "$art"
expect circ_pad.usage.no_mode 2 '--mode \{onnx,inetdef\} is required' -- circ_pad --device cpu
expect circ_pad.usage.missing_dir 2 'does not exist' -- circ_pad --mode inetdef --artifacts_dir "$art/missing"
expect circ_pad.usage.bad_mode 2 'mode' -- circ_pad --mode tflite
expect circ_pad.load_missing_engine 1 'circ_pad.engine' -- circ_pad --load_engine --artifacts_dir "$empty"
expect usage.no_subcommand 2 'subcommand' --
expect usage.unknown_option 2 'not expected' -- add --bogus
expect usage.bad_device 2 'device' -- add --device tpu
expect_error usage.one_line 2 "The following argument was not expected: --bogus \(see --help\)" -- add --bogus

# Failures beyond the samples' own checks: an exit code and one line, never an abort.
expect_error error.artifacts_dir_name_too_long 1 'File name too long' -- circ_pad --mode inetdef --device cpu --artifacts_dir "$art/$(printf 'n%.0s' {1..300})"
mkdir -p "$art/corrupt" && echo "not an engine" >"$art/corrupt/circ_pad.engine"
expect_error error.corrupt_engine 1 'not a qdp engine file' -- circ_pad --load_engine --artifacts_dir "$art/corrupt"

# --device cuda: correct on a GPU machine, a clear error (exit 1) elsewhere.
out=$("$program" add --device cuda 2>&1); rc=$?
if [[ $rc -eq 0 && $out == *"Inference result is correct!"* ]] || [[ $rc -eq 1 && $out == *"CUDA backend is not available"* ]]; then
  echo "ok   add.cuda_or_clear_error"; passes=$((passes + 1))
else
  echo "FAIL add.cuda_or_clear_error: rc=$rc: $out"; failures=$((failures + 1))
fi

finish
