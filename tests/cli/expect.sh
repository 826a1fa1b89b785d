# Sourced by the command-line tests. Set `program` first; call `finish` last.
failures=0
passes=0
skips=0

# expect NAME EXPECTED_RC REGEX -- ARGS...: runs $program ARGS, checks the exit code and that the
# combined output matches the extended regex REGEX.
expect() {
  local name=$1 want_rc=$2 pattern=$3
  shift 4
  local out rc
  out=$("$program" "$@" 2>&1)
  rc=$?
  if [[ $rc -ne $want_rc ]] || ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL $name: rc=$rc (want $want_rc), output did not match /$pattern/:"
    sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
    passes=$((passes + 1))
  fi
}

# expect_error NAME EXPECTED_RC REGEX -- ARGS...: a failure as the tools report one: the exit code
# (never an abort), and stderr exactly one line "<program>: error: ..." matching REGEX.
expect_error() {
  local name=$1 want_rc=$2 pattern=$3
  shift 4
  local err rc prefix
  prefix="$(basename "$program"): error: "
  err=$("$program" "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -ne $want_rc ]] || [[ $(wc -l <<<"$err") -ne 1 ]] || [[ $err != "$prefix"* ]] ||
    ! grep -Eq -- "$pattern" <<<"$err"; then
    echo "FAIL $name: rc=$rc (want $want_rc), stderr is not one '$prefix' line matching /$pattern/:"
    sed 's/^/    /' <<<"$err"
    failures=$((failures + 1))
  else
    echo "ok   $name"
    passes=$((passes + 1))
  fi
}

# skip NAME REASON: a test that cannot run here, reported as such.
skip() {
  echo "skip $1: $2"
  skips=$((skips + 1))
}

# check NAME COMMAND...: a plain command that must succeed.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "ok   $name"
    passes=$((passes + 1))
  else
    echo "FAIL $name:"
    sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  fi
}

# The closing line CTest-style runners are read by, and the exit code.
finish() {
  if [[ $skips -gt 0 ]]; then
    echo "$passes passed, $failures failed, $skips skipped"
  else
    echo "$passes passed, $failures failed"
  fi
  [[ $failures -eq 0 ]]
}
