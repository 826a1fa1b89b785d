#!/usr/bin/env bash
# Compiles one mistake and passes when the compiler fails with exactly one error, qdp's message
# (the pattern, an extended regular expression), and no cascade behind it.
# Usage: single_error.sh PATTERN COMPILER ARGS...
set -uo pipefail
pattern=$1
shift
out=$("$@" 2>&1)
rc=$?
errors=$(grep -cE '(^|: )(fatal )?error' <<<"$out")
if ((rc == 0)); then echo "FAIL: it compiled"; exit 1; fi
if ! grep -qE -- "$pattern" <<<"$out"; then echo "FAIL: no match for /$pattern/:"; echo "$out"; exit 1; fi
if ((errors != 1)); then echo "FAIL: $errors errors, want 1:"; echo "$out"; exit 1; fi
echo "ok: one error matching /$pattern/"
