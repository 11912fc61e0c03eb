#!/usr/bin/env bash
# tests/cli_mpi.sh -- data-parallel training over MPI (make MPI=1 ->
# build-mpi/samc, run under mpirun -np 2): with a global perturbation the
# loss trajectory equals one process at the same global batch (relative
# tolerance 1e-5; only the order of float sums differs) for SGD, SAM, GSAM
# and the Polyak scheduler across a batch-size stage change; a local
# perturbation differs with 2 ranks and is the one-process run with 1;
# a rank that fails to load its data ends the job with one clear message;
# resume of an MPI run gives the rows of the uninterrupted run; a rank
# killed mid-run (kill -9) ends the job with one line, last.ckpt intact, and
# --resume gives the rows of the uninterrupted run.
# Skipped when Open MPI (mpicc, mpirun) is absent.
. "$(dirname "$0")/testlib.sh"
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    echo "ok 1 - # SKIP no mpicc"
    exit 0
fi
if ! make -s MPI=1 build-mpi/samc >"$T/build.log" 2>&1; then
    echo "not ok 1 - make MPI=1"; sed 's/^/#   /' "$T/build.log" | tail -20
    exit 1
fi
MS=build-mpi/samc
# timeout: only a guard that a hung job cannot stall the suite (no test
# waits for it; generous, so that a slow or loaded machine never reaches it)
MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe)
# 90 rows of 16 features, 3 classes, in npy (Python standard library only)
make_npy "$T" 1 3 90 16
# batch 7 then 14 (exp:2@1): odd sizes split 3/4 and 7/7, short last batches
RUN=(--data "npy:$T/x.npy,$T/y.npy" --model mlp:8 --batch 7 --batch-schedule exp:2@1
     --steps 30 --threads 1 --quiet)
# close A B [TOL]: same rows, loss columns within TOL relative (default 1e-5)
close() {
    [ "$(wc -l <"$1")" -eq 31 ] && [ "$(wc -l <"$2")" -eq 31 ] &&
    paste -d, "$1" "$2" | awk -F, -v tol="${3:-1e-5}" 'NR > 1 {
        for (c = 6; c <= 7; c++) { a = $c; b = $(c + 10); d = a - b; if (d < 0) d = -d
            s = a < 0 ? -a : a; if (d > tol * (s > 1e-30 ? s : 1)) bad = 1 }
        if ($3 != $13) bad = 1 } END { exit bad }'
}
differ() { ! close "$1" "$2" 1e-3; }

i=0
for opt in "--opt sgd --lr 0.5" "--opt sam --lr 0.3" "--opt gsam --alpha 0.5 --lr 0.3" \
           "--opt sam --lr polyak --momentum 0.9"; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    ./samc train "${RUN[@]}" $opt --out "$T/s$i"
    "${MPIRUN[@]}" -np 2 $MS train "${RUN[@]}" $opt --out "$T/g$i"
    check "np 2 global = one process: $opt" close "$T/s$i/steps.csv" "$T/g$i/steps.csv"
done
check "the runs crossed a batch-size stage change (7 -> 14)" \
    bash -c "cut -d, -f3 '$T/g1/steps.csv' | sort -u | grep -qx 14"
"${MPIRUN[@]}" -np 1 $MS train "${RUN[@]}" --opt sam --lr polyak --momentum 0.9 --out "$T/n1"
check "np 1 (MPI build) = one process, bit for bit" cmp "$T/s4/steps.csv" "$T/n1/steps.csv"

# local perturbation (m-sharpness)
"${MPIRUN[@]}" -np 2 $MS train "${RUN[@]}" --opt gsam --alpha 0.5 --lr polyak --perturb local --out "$T/l2"
./samc train "${RUN[@]}" --opt gsam --alpha 0.5 --lr polyak --out "$T/s5"
check "np 2 local differs from global" differ "$T/s5/steps.csv" "$T/l2/steps.csv"
"${MPIRUN[@]}" -np 1 $MS train "${RUN[@]}" --opt gsam --alpha 0.5 --lr polyak --perturb local --out "$T/l1"
check "np 1 local = one process, bit for bit" cmp "$T/s5/steps.csv" "$T/l1/steps.csv"
"${MPIRUN[@]}" -np 2 $MS train "${RUN[@]}" --opt sam --lr polyak --perturb local --check-sync 1 --out "$T/l3"
check "np 2 local: the ranks stay in sync (--check-sync 1)" test "$(wc -l <"$T/l3/steps.csv")" -eq 31

# a rank that cannot read its data: one line from rank 0, non-zero exit, no hang
"${MPIRUN[@]}" -np 1 $MS train "${RUN[@]}" --out "$T/f" : \
    -np 1 $MS train "${RUN[@]}" --data "npy:$T/missing.npy,$T/y.npy" --out "$T/f" >"$T/f.out" 2>"$T/f.err"
rc=$?
check "bad data on rank 1 ends the job (exit $rc, not the timeout's 124)" test $rc -ne 0 -a $rc -ne 124
check "... with one line naming the rank and the file" bash -c \
    "test \$(grep -c '^samc: error:' '$T/f.err') -eq 1 && grep -q '^samc: error: rank 1: .*missing.npy' '$T/f.err'"

# resume of an MPI run: the rows of the uninterrupted run
"${MPIRUN[@]}" -np 2 $MS train "${RUN[@]}" --opt sam --lr polyak --momentum 0.9 --stop-at 17 --out "$T/r" 2>"$T/r.err"
check "--stop-at 17 under mpirun: stopped, state saved" bash -c \
    "grep -q 'stopped at step 17' '$T/r.err' && test \$(wc -l <'$T/r/steps.csv') -eq 18"
"${MPIRUN[@]}" -np 2 $MS train --resume "$T/r" --stop-at 0
check "resume under mpirun: same rows as the uninterrupted run" cmp "$T/g4/steps.csv" "$T/r/steps.csv"

# kill -9 of one rank mid-run: mpirun -q ends the job (SIGTERM to the other
# ranks, then SIGKILL); the signal handler of rank 0 (or of rank 1 when rank
# 0 died) writes the one line.  The test waits for the run's first
# checkpoint line (a fifo), never for a time.
KRUN=(--data "npy:$T/x.npy,$T/y.npy" --model mlp:8 --batch 7 --threads 1 --quiet --opt sam --lr polyak --momentum 0.9)
"${MPIRUN[@]}" -np 2 $MS train "${KRUN[@]}" --steps 1000 --out "$T/kref"
kill_rank() { # kill_rank R NAME: start a long run in $T/NAME, kill -9 rank R; $rc, $T/NAME.err
    mkfifo "$T/$2.fifo"
    "${MPIRUN[@]}" -q -np 2 $MS train "${KRUN[@]}" --steps 1000000 --progress lines --out "$T/$2" \
        >/dev/null 2>"$T/$2.fifo" &
    local tpid=$! line p victim=""
    exec 3<"$T/$2.fifo"
    while IFS= read -r -u 3 line; do [[ $line =~ ^\ \ checkpoint\ step\ [1-9] ]] && break; done
    for p in $(pgrep -P "$(pgrep -P $tpid)"); do   # mpirun is timeout's child, the ranks are its
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && victim=$p
    done
    check "found rank $1 of the running job" test -n "$victim"
    kill -9 $victim
    cat <&3 | grep -v '^  ' >"$T/$2.err"   # all but the progress lines, up to mpirun's exit
    exec 3<&-
    wait $tpid
    rc=$?
}
kill_rank 1 k
check "a killed rank ends the job (exit $rc, not the timeout's 124)" test $rc -ne 0 -a $rc -ne 124
s=$(od -An -t d8 -j 288 -N 8 "$T/k/last.ckpt" | tr -d ' ')
check "... with one line from rank 0 naming the checkpoint (step $s) and --resume" bash -c "cat '$T/k.err';
    test \$(wc -l <'$T/k.err') -eq 1 &&
    grep -q '^samc: error: rank 0 was ended by a signal (under mpirun: a rank died.*k/last.ckpt holds step $s: continue with --resume' '$T/k.err'"
check "last.ckpt is intact and mid-run (step $s)" test "$s" -gt 0 -a "$s" -lt 1000
"${MPIRUN[@]}" -np 2 $MS train --resume "$T/k" --steps 1000 --progress none
check "resume after a killed rank: the rows of the uninterrupted run" cmp "$T/kref/steps.csv" "$T/k/steps.csv"
kill_rank 0 k0
check "rank 0 killed: the job ends (exit $rc) with one line from rank 1" bash -c "cat '$T/k0.err';
    test $rc -ne 0 -a $rc -ne 124 && test \$(wc -l <'$T/k0.err') -eq 1 &&
    grep -q '^samc: error: rank 1 was ended by a signal after rank 0 died.*--resume .*k0' '$T/k0.err'"
