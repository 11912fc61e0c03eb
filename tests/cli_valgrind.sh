#!/usr/bin/env bash
# tests/cli_valgrind.sh -- the CLI under valgrind's memcheck: no invalid read
# or write, no use of uninitialized values, no definite leak, for a training
# run, a stop and resume, a measurement and a bad-input exit.  (The sanitizer
# suite, make sanitize, runs everything under ASan + UBSan as well.)
. "$(dirname "$0")/testlib.sh"
if [ -n "${ASAN_OPTIONS:-}" ]; then   # make sanitize: ASan binaries do not run under valgrind
    echo "ok 1 - # SKIP valgrind: this is the sanitizer run"
    exit 0
fi
if ! command -v valgrind >/dev/null; then
    echo "not ok 1 - valgrind is not installed"
    exit 1
fi
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
make_npy "$T" 3 3 32 1 8 8
clean() { # clean "description" expected-exit command...: valgrind reports nothing
    local d=$1 want=$2; shift 2
    n=$((n + 1))
    "${VG[@]}" "$@" >"$T/vg.out" 2>"$T/vg.err"; local rc=$?
    if [ $rc -eq "$want" ]; then echo "ok $n - $d"; else
        echo "not ok $n - $d (exit $rc, expected $want)"; sed 's/^/#   /' "$T/vg.err" | head -30; fi
}
clean "train logreg on heart_scale" 0 \
    $SAMC train --data "libsvm:$HEART" --model logreg --epochs 2 --out "$T/a" --quiet
clean "sharpness, every measure" 0 \
    $SAMC sharpness --checkpoint "$T/a/final.ckpt" --data "libsvm:$HEART" --metric all --samples 64 --measure-batch 32 --ascent-steps 3 --draws 2 --lanczos 4 --probes 2
clean "train a CNN with SAM, Polyak, augmentation, a stage change, stopped at step 4" 130 \
    $SAMC train --data "npy:$T/x.npy,$T/y.npy" --model cnn --opt gsam --alpha 0.2 --lr polyak --momentum 0.9 \
        --batch 8 --batch-schedule exp:2@1 --augment --steps 7 --stop-at 4 --out "$T/b" --quiet
clean "resume it" 0 $SAMC train --resume "$T/b" --stop-at 0
clean "a resnet step with BatchNorm" 0 \
    $SAMC train --data "npy:$T/x.npy,$T/y.npy" --model resnet:8 --batch 8 --steps 2 --out "$T/c" --quiet
clean "bad input exits cleanly" 1 $SAMC train --data "libsvm:$T/none" --out "$T/d"
