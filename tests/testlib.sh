# tests/testlib.sh -- sourced by the tests/cli_*.sh scripts: the binary under
# test, a temporary directory removed on exit, and the two assertions, which
# print "ok N - ..." / "not ok N - ..." lines that tests/run.sh counts.
set -u
SAMC=${SAMC:-./samc}
HEART=/usr/share/doc/liblinear-tools/examples/heart_scale
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
# check "description" command...: the command succeeds.
check() {
    local d=$1; shift
    n=$((n + 1))
    if "$@" >"$T/last.out" 2>&1; then echo "ok $n - $d"; else echo "not ok $n - $d"; sed 's/^/#   /' "$T/last.out" | head -20; fi
}
# fails "description" expected-regex command...: exit non-zero, exactly one
# line on stderr, matching the regex.
fails() {
    local d=$1 re=$2; shift 2
    n=$((n + 1))
    "$@" >"$T/f.out" 2>"$T/f.err"; local rc=$?
    if [ $rc -ne 0 ] && [ "$(wc -l <"$T/f.err")" -eq 1 ] && grep -Eq "$re" "$T/f.err"; then
        echo "ok $n - $d"
    else
        echo "not ok $n - $d (exit $rc)"; sed 's/^/#   stderr: /' "$T/f.err" | head -5
    fi
}
