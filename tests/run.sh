#!/usr/bin/env bash
# Runs every test program and script given on the command line, then the CLI
# tests, then the Python package's (pytest with $PYTHON), and prints one closing line: "N passed, N failed" (test cases, summed
# from cmocka's own counts and the scripts' counts).
set -u
passed=0 failed=0 broken=""
count() { # $1 = output file: add cmocka's PASSED / FAILED counts
    local p f
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}
for t in "$@"; do
    out=$(mktemp)
    "$t" >"$out" 2>&1; rc=$?
    cat "$out"
    count "$out"
    if [ $rc -ne 0 ] && ! grep -q '^\[  FAILED  \]' "$out"; then
        failed=$((failed + 1)); broken="$broken $t"   # crashed before reporting
    fi
    rm -f "$out"
done
for s in tests/cli_*.sh; do
    [ -e "$s" ] || continue
    out=$(mktemp)
    bash "$s" >"$out" 2>&1; rc=$?
    cat "$out"
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
    passed=$((passed + p)); failed=$((failed + f))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); broken="$broken $s"; fi
    rm -f "$out"
done
# the Python package (python/samc over build/libsamc.so): pytest's own counts
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -e build/libsamc.so ]; then
    out=$(mktemp)
    PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m pytest -q -p no:cacheprovider tests/python >"$out" 2>&1; rc=$?
    cat "$out"
    last=$(tail -n1 "$out")
    p=$(echo "$last" | grep -o '[0-9]* passed' | cut -d' ' -f1)
    f=$(echo "$last" | grep -o '[0-9]* \(failed\|errors\?\)' | awk '{ s += $1 } END { print s + 0 }')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); broken="$broken tests/python"; fi
    rm -f "$out"
else
    echo "tests/python: skipped (build/libsamc.so is not built)"
fi
[ -n "$broken" ] && echo "crashed or exited non-zero:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
