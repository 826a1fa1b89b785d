#!/usr/bin/env bash
# Signed engines (SPEC §5, issue #15): qdpexec --genKeyPair, --saveEngine with --signKey and
# --loadEngine with --verifyKey. A signed engine loads with its builder's public key; a tampered
# engine, another key and a missing signature each exit 1 with one "qdpexec: error: ..." line.
# Usage: qdpexec_signing_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"
run=(--plugins "$plugins" --shapes x:2x3x8x8 "${quick[@]}")
signed=$work/signed.engine
load=(--loadEngine "$signed" "${run[@]}")

expect keys.generate 0 "Key pair written: $work/builder.key signs .* $work/builder.pub verifies" -- --genKeyPair "$work/builder"
expect keys.other 0 "Key pair written" -- --genKeyPair "$work/other"
check keys.secret_is_private test "$(stat -c %a "$work/builder.key")" = 600
expect_error keys.not_overwritten 1 "'$work/builder.key' exists already; remove it first" -- --genKeyPair "$work/builder"
expect_error keys.alone 2 "--genKeyPair makes a key pair only" -- --genKeyPair "$work/third" --loadEngine "$work/dyn.engine"

# Sign while saving; verify while loading.
expect sign.save 0 "Engine signed: $signed.sig" -- --onnx "$work/python.onnx" --plugins "$plugins" --device cpu --minShapes x:1x3x8x8 --optShapes x:2x3x8x8 --maxShapes x:4x3x8x8 --saveEngine "$signed" --signKey "$work/builder.key" --skipInference
check sign.file_beside_engine test -s "$signed.sig"
expect verify.good 0 "Engine loaded from $signed \(built for the cpu\), its signature verified" -- "${load[@]}" --verifyKey "$work/builder.pub"
expect verify.optional 0 "Engine loaded from $signed \(built for the cpu\)$" -- "${load[@]}"

# What a verifying loader refuses.
expect_error verify.wrong_key 1 "cannot load engine '$signed': its signature was made with another key \(key id [0-9a-f]{16}\), not with the one it is verified with" -- "${load[@]}" --verifyKey "$work/other.pub"
cp "$signed" "$work/tampered.engine"
cp "$signed.sig" "$work/tampered.engine.sig"
# One byte of the payload changed and the checksum made right again, as a deliberate edit would.
$py - "$work/tampered.engine" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[-5] ^= 0x01
h = 14695981039346656037
for b in data[:48] + data[56:]:
    h = ((h ^ b) * 1099511628211) % 2**64
data[48:56] = h.to_bytes(8, "little")
open(path, "wb").write(bytes(data))
PY
expect_error verify.tampered 1 "cannot load engine '$work/tampered.engine': its signature does not verify with the given public key: the engine \(or its signature\) was changed after it was signed" -- --loadEngine "$work/tampered.engine" "${run[@]}" --verifyKey "$work/builder.pub"
cp "$signed" "$work/unsigned.engine"
expect_error verify.missing_signature 1 "cannot load engine '$work/unsigned.engine': it is not signed: its signature '$work/unsigned.engine.sig' does not exist" -- --loadEngine "$work/unsigned.engine" "${run[@]}" --verifyKey "$work/builder.pub"
head -c 10 "$signed.sig" >"$work/short.engine.sig"
cp "$signed" "$work/short.engine"
expect_error verify.not_a_signature 1 "its signature is not a qdp engine signature" -- --loadEngine "$work/short.engine" "${run[@]}" --verifyKey "$work/builder.pub"

# Keys that are not keys, and options without their partner.
expect_error keys.public_for_signing 1 "cannot load secret key '$work/builder.pub': not a qdp secret key file" -- --onnx "$work/python.onnx" "${run[@]}" --device cpu --saveEngine "$work/e.engine" --signKey "$work/builder.pub"
expect_error keys.engine_for_verifying 1 "cannot load public key '$signed': not a qdp public key file" -- "${load[@]}" --verifyKey "$signed"
expect_error keys.missing 1 "cannot load public key '$work/none.pub': cannot open it: No such file or directory" -- "${load[@]}" --verifyKey "$work/none.pub"
expect_error sign.needs_save_engine 2 "--signKey signs the saved engine: it needs --saveEngine" -- --onnx "$work/python.onnx" "${run[@]}" --device cpu --signKey "$work/builder.key"
expect_error verify.needs_load_engine 2 "--verifyKey checks the signature of a loaded engine: it needs --loadEngine" -- --onnx "$work/python.onnx" "${run[@]}" --device cpu --verifyKey "$work/builder.pub"

finish
