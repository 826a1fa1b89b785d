# Sourced by the command-line tests. Set `program` first; call `finish` last.
failures=0
passes=0

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
  echo "$passes passed, $failures failed"
  [[ $failures -eq 0 ]]
}
