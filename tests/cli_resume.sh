#!/usr/bin/env bash
# tests/cli_resume.sh -- checkpoints and exact resume: "train N, stop, resume
# to N+M" gives the same steps.csv rows and parameters as "train N+M", after a
# planned stop, SIGINT and kill -9, across a batch-size stage change, with the
# Polyak step, momentum and augmentation; damaged or foreign checkpoints are
# refused.
. "$(dirname "$0")/testlib.sh"
# 256 images 1x8x8 in npy (written with the Python standard library only)
make_npy "$T" 1 3 256 1 8 8
RUN=(--data "npy:$T/x.npy,$T/y.npy" --model cnn --opt sam --lr polyak --momentum 0.9
     --batch 8 --batch-schedule exp:2@1,max=32 --augment --quiet)
params() { tail -c +513 "$1" | head -c -4; }   # after the header, before the crc
same_run() { # same_run DIR: steps.csv and parameters equal the reference's
    cmp "$T/ref/steps.csv" "$1/steps.csv" && cmp <(params "$T/ref/final.ckpt") <(params "$1/final.ckpt")
}
ckpt_step() { od -An -t d8 -j 288 -N 8 "$1" | tr -d ' '; }

$SAMC train "${RUN[@]}" --steps 1500 --out "$T/ref"
check "reference run wrote 1500 steps" test "$(tail -n +2 "$T/ref/steps.csv" | wc -l)" -eq 1500

# planned stop inside an epoch (45 = 32 + 13: the second stage, batch 16)
$SAMC train "${RUN[@]}" --steps 45 --out "$T/a"
check "stopped run is shorter" test "$(tail -n +2 "$T/a/steps.csv" | wc -l)" -eq 45
$SAMC train --resume "$T/a" --steps 1500
check "resume after a planned stop: same rows, same parameters" same_run "$T/a"

# a stop at the first step of an epoch, after its shuffle (32 + 16 + 8 * 26 = 256)
$SAMC train "${RUN[@]}" --steps 1500 --stop-at 256 --out "$T/g" 2>/dev/null
check "--stop-at 256 saved the state at step 256" test "$(ckpt_step "$T/g/last.ckpt")" -eq 256
$SAMC train --resume "$T/g" --stop-at 0
check "resume from an epoch's first step: same rows, same parameters" same_run "$T/g"

# An interrupted run: far more steps than the reference, so that it cannot
# end first; the test waits for its first checkpoint line on stderr (a
# fifo), never for a time, then interrupts it, and resumes with --steps 1500
# (the constant step-size rule and schedules do not depend on T).
start_run() { # start_run NAME ARGS...: in the background ($pid), its stderr on fd 3
    mkfifo "$T/$1.fifo"
    $SAMC train "${@:2}" --progress lines --steps 1000000 --out "$T/$1" >/dev/null 2>"$T/$1.fifo" &
    pid=$!
    exec 3<"$T/$1.fifo"
}
first_checkpoint() { # reads fd 3 up to the first "checkpoint step N" line with N > 0
    local line
    while IFS= read -r -u 3 line; do [[ $line =~ ^\ \ checkpoint\ step\ [1-9] ]] && return 0; done
    return 1
}

# SIGINT: the state is saved, the exit code says so
start_run b "${RUN[@]}"
first_checkpoint
kill -INT $pid
cat <&3 >"$T/b.err"   # the rest of its stderr, up to its exit
exec 3<&-
wait $pid
rc=$?
check "SIGINT exits 130 and says where it stopped" bash -c "cat '$T/b.err'; test $rc -eq 130 && grep -q 'stopped at step' '$T/b.err'"
s=$(ckpt_step "$T/b/last.ckpt")
check "SIGINT checkpoint is mid-run (step $s)" test "$s" -gt 0 -a "$s" -lt 1500
$SAMC train --resume "$T/b" --steps 1500 --progress none
check "resume after SIGINT: same rows, same parameters" same_run "$T/b"

# kill -9: only the steps after the last (periodic) checkpoint are lost
start_run c "${RUN[@]}" --checkpoint-every 5   # the first at step 5, inside epoch 0
first_checkpoint
{ kill -9 $pid; cat <&3 >/dev/null; exec 3<&-; wait $pid; } 2>/dev/null   # (and bash's "Killed")
s=$(ckpt_step "$T/c/last.ckpt")
check "kill -9 left a mid-run checkpoint (step $s)" test "$s" -gt 0 -a "$s" -lt 1500
check "no final.ckpt after kill -9" test ! -e "$T/c/final.ckpt"
$SAMC train --resume "$T/c" --steps 1500 --progress none
check "resume after kill -9: same rows, same parameters" same_run "$T/c"

# --keep: numbered copies, only the newest kept
$SAMC train "${RUN[@]}" --steps 100 --checkpoint-every 20 --keep 2 --out "$T/k"
check "--keep 2 keeps two numbered checkpoints" test "$(ls "$T/k"/ckpt-*.ckpt | wc -l)" -eq 2
check "config.txt records the run" grep -qx "checkpoint-every = 20" "$T/k/config.txt"

# refusals
cp -r "$T/a" "$T/d"
printf '\xff' | dd of="$T/d/last.ckpt" bs=1 seek=700 conv=notrunc 2>/dev/null
check "a corrupt checkpoint is refused" bash -c "! $SAMC train --resume '$T/d' 2>'$T/d.err' && grep -q checksum '$T/d.err'"
check "the CSVs of a refused resume are untouched" cmp "$T/a/steps.csv" "$T/d/steps.csv"
cp -r "$T/a" "$T/e"
check "other training data (normalized) is refused" bash -c "! $SAMC train --resume '$T/e' --normalize 2>'$T/e.err' \
    && grep -q 'other training data' '$T/e.err'"
check "--resume with --out is refused" bash -c "! $SAMC train --resume '$T/a' --out '$T/z' 2>/dev/null"
check "--config FILE: flags override it" bash -c "
    printf 'data = npy:$T/x.npy,$T/y.npy\nmodel = mlp:8\nsteps = 3\nopt = sgd\nlr = 0.5\n' >'$T/cfg.txt'
    $SAMC train --config '$T/cfg.txt' --steps 5 --out '$T/f' --quiet &&
    test \$(tail -n +2 '$T/f/steps.csv' | wc -l) -eq 5 && grep -qx 'model = mlp:8' '$T/f/config.txt' &&
    awk -F, 'NR==2 {exit !(\$4 == 0.5)}' '$T/f/steps.csv'"
check "--config with an unknown key names file and line" bash -c "
    printf 'steps = 3\nbogus = 1\n' >'$T/bad.txt'
    ! $SAMC train --config '$T/bad.txt' 2>'$T/bad.err' && grep -q 'bad.txt:2: unknown key' '$T/bad.err'"
