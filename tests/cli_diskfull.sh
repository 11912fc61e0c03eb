#!/usr/bin/env bash
# tests/cli_diskfull.sh -- a full disk under OUT: the run ends with a clear
# one-line error, and the checkpoint written before the disk filled is intact
# (loads, checksum and all).  Needs a small tmpfs (root); where mounting is
# not permitted the test says SKIP.
. "$(dirname "$0")/testlib.sh"
make_npy "$T" 2 2 64 16
mkdir -p "$T/full"
if ! mount -t tmpfs -o size=96k tmpfs "$T/full" 2>/dev/null; then
    echo "ok 1 - disk full # SKIP (cannot mount a tmpfs here)"
    exit 0
fi
trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT
DATA="npy:$T/x.npy,$T/y.npy"
$SAMC train --data "$DATA" --model mlp:64 --batch 8 --momentum 0.9 --steps 100000 \
    --out "$T/full/run" --quiet 2>"$T/err"
rc=$?
check "a full disk ends the run with an error" test $rc -ne 0
check "the error is one line naming the cause" bash -c "test \$(wc -l <'$T/err') -eq 1 && grep -q 'No space left on device' '$T/err'"
check "the last checkpoint written is intact" \
    $SAMC sharpness --checkpoint "$T/full/run/last.ckpt" --data "$DATA" --metric worst-l2
check "no temporary checkpoint left behind" test ! -e "$T/full/run/last.ckpt.tmp"
