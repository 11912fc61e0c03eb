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
# make_npy DIR SEED CLASSES N D1 [D2 ...]: DIR/x.npy, float32 of shape
# (N, D1, D2, ...) uniform in [0,1) from SEED, and DIR/y.npy, labels i % CLASSES
# (written with the Python standard library only).
make_npy() {
    python3 - "$@" <<'PY'
import random, struct, sys
out, seed, classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
shape = tuple(int(a) for a in sys.argv[4:])
random.seed(seed)
def npy(path, shape, data):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%df" % len(data), *data))
n, per_row = shape[0], 1
for s in shape[1:]:
    per_row *= s
npy(out + "/x.npy", shape, [random.random() for _ in range(n * per_row)])
npy(out + "/y.npy", (n,), [float(i % classes) for i in range(n)])
PY
}
