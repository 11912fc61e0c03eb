#!/usr/bin/env bash
# tests/cli_train.sh -- the `samc train` command-line contract (README, "Using it"):
# files and columns, determinism, schedules seen in the output, and bad input
# ending in a one-line error with nothing half-written.  Prints "ok N - ..." /
# "not ok N - ..." lines that tests/run.sh counts.
. "$(dirname "$0")/testlib.sh"
rows() { tail -n +2 "$1" | wc -l; }

check "--help lists flags with live defaults" \
    bash -c "$SAMC train --help | grep -q -- '--polyak-cap' && $SAMC train --help | grep -A1 -- '--rho X' | grep -q 'default: 0.05'"
check "samc --help names the train command" bash -c "$SAMC --help | grep -q train"

# --train-rows: the first 100 rows only (ceil(100/32) = 4 steps an epoch);
# asking for more rows than the file has is an error
$SAMC train --data "libsvm:$HEART" --model logreg --epochs 2 --batch 32 --train-rows 100 \
    --measure-every 1 --metric full-grad-norm --out "$T/rows" --quiet
check "--train-rows 100: 2 epochs x 4 steps" test "$(rows "$T/rows/steps.csv")" -eq 8
check "--metric full-grad-norm adds a positive full_grad_norm column" \
    awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="full_grad_norm") c=i} NR>1{if(!c || !($c > 0)) exit 1} END{exit !c}' \
    "$T/rows/metrics.csv"
fails "--train-rows beyond the file is refused" "270 rows, fewer than the 300" \
    $SAMC train --data "libsvm:$HEART" --model logreg --train-rows 300 --out "$T/rows2" --quiet

# a short default run on the real heart_scale file
check "train on heart_scale writes steps.csv, metrics.csv, final.ckpt" \
    $SAMC train --data "libsvm:$HEART" --model logreg --epochs 3 --batch 32 --out "$T/a" --quiet
check "steps.csv header is the contract" \
    bash -c "head -1 '$T/a/steps.csv' | grep -q '^step,epoch,batch_size,lr,rho,loss,loss_perturbed,grad_norm'"
check "metrics.csv header is the contract" \
    bash -c "head -1 '$T/a/metrics.csv' | grep -q '^epoch,step,batch_size,lr,rho,train_loss,train_acc,test_loss,test_acc,time_s'"
check "one steps row per step: 3 epochs x ceil(270/32) = 27" test "$(rows "$T/a/steps.csv")" -eq 27
check "one metrics row per epoch" test "$(rows "$T/a/metrics.csv")" -eq 3
check "final.ckpt starts with the magic" bash -c "head -c 8 '$T/a/final.ckpt' | grep -q SAMCCKPT"
check "the loss went down" awk -F, 'NR==2{a=$6} END{exit !($6 < a)}' "$T/a/metrics.csv"

# determinism
$SAMC train --data "libsvm:$HEART" --model logreg --epochs 2 --seed 5 --out "$T/s1" --quiet
$SAMC train --data "libsvm:$HEART" --model logreg --epochs 2 --seed 5 --out "$T/s2" --quiet
$SAMC train --data "libsvm:$HEART" --model logreg --epochs 2 --seed 6 --out "$T/s3" --quiet
check "same seed, same steps.csv" cmp -s "$T/s1/steps.csv" "$T/s2/steps.csv"
# the parameters (after the 512-byte header, before the crc; the header holds the elapsed time)
params() { tail -c +513 "$1" | head -c -4; }
check "same seed, same parameters" cmp -s <(params "$T/s1/final.ckpt") <(params "$T/s2/final.ckpt")
check "another seed, another shuffle" bash -c "! cmp -s '$T/s1/steps.csv' '$T/s3/steps.csv'"

# schedules seen in the output
$SAMC train --data "libsvm:$HEART" --model logreg --epochs 4 --batch 16 --batch-schedule exp:2@1,max=64 \
    --opt sgd --lr 0.5 --lr-schedule step:0.5@2 --out "$T/b" --quiet
check "batch sizes 16,32,64,64 by epoch" \
    test "$(tail -n +2 "$T/b/metrics.csv" | cut -d, -f3 | paste -sd,)" = "16,32,64,64"
check "step schedule halves lr at epoch 2" \
    awk -F, 'NR>1 && $2==1 {a=$4} NR>1 && $2==2 {b=$4} END{exit !(a==0.5 && b==0.25)}' "$T/b/steps.csv"
$SAMC train --data "libsvm:$HEART" --model logreg --steps 10 --batch full --out "$T/c" --quiet
check "--steps 10 with --batch full: 10 rows of 270" \
    bash -c "test \$(tail -n +2 '$T/c/steps.csv' | cut -d, -f3 | sort -u) = 270 && test \$(tail -n +2 '$T/c/steps.csv' | wc -l) = 10"
check "Polyak step sizes are positive and at most the cap 1" \
    awk -F, 'NR>1 && !($4 > 0 && $4 <= 1) {bad=1} END{exit bad}' "$T/c/steps.csv"
check "synthetic data: least squares with USAM" \
    $SAMC train --data synth:ridge,n=50,d=20,kappa=10 --model linear --opt usam --batch 10 --epochs 2 --out "$T/d" --quiet

# bad input: one line, non-zero exit, nothing written
fails "missing data file" "nosuchfile" $SAMC train --data libsvm:"$T/nosuchfile" --out "$T/e1"
check "missing data file: no output directory" test ! -e "$T/e1"
check "--out creates missing parent directories" \
    $SAMC train --data "libsvm:$HEART" --model logreg --steps 2 --out "$T/p/q/r" --quiet
printf '+1 1:0.5 2:1\n-1 1:0.25 2:x\n' >"$T/bad.svm"
fails "malformed LIBSVM line names file and line 2" "bad.svm:2" $SAMC train --data libsvm:"$T/bad.svm" --model logreg --out "$T/e2"
fails "unknown flag" "unknown flag '--nosuch'" $SAMC train --nosuch 3
fails "flag without value" "needs a value" $SAMC train --rho
fails "rho < 0" "rho must be >= 0" $SAMC train --rho -0.1 --out "$T/e3"
fails "gamma_b <= 0" "cap" $SAMC train --polyak-cap 0 --out "$T/e4"
fails "bad number" "expected a number" $SAMC train --rho 0.1x
fails "unknown optimizer" "unknown optimizer" $SAMC train --opt adam
fails "bad schedule spec" "cosine:abc|ETA_MIN|expected" $SAMC train --lr-schedule cosine:abc
fails "unknown command" "unknown command" $SAMC fly
sum_before=$(cat "$T/a/"* | md5sum)
fails "bad input leaves an earlier run intact" "rho" $SAMC train --rho -1 --out "$T/a"
check "earlier run's files unchanged" test "$(cat "$T/a/"* | md5sum)" = "$sum_before"
fails "divergence is reported as NaN/Inf with the step" "NaN/Inf at step [0-9]+" \
    $SAMC train --data synth:ridge,n=50,d=20,kappa=10 --model linear --opt sgd --lr 1e30 --out "$T/nan" --progress none
check "no NaN row was written before the divergence" bash -c "! grep -qi nan <(cut -d, -f6 '$T/nan/steps.csv')"

# progress on stderr: plain lines when redirected (no escape bytes), a bar on
# a terminal (script(1) gives the run one), lines under an MPI launcher even
# on a terminal (Open MPI gives ranks a pseudo-terminal), none with --quiet
PR=(--data "libsvm:$HEART" --model logreg --steps 4 --checkpoint-every 2)
$SAMC train "${PR[@]}" --out "$T/pr1" >"$T/pr1.out" 2>"$T/pr1.err"
check "redirected: progress lines on stderr, no escape byte" \
    bash -c "grep -q '^  checkpoint step 2: .*pr1/last.ckpt' '$T/pr1.err' && ! grep -q \$'\\033' '$T/pr1.err' '$T/pr1.out'"
$SAMC train "${PR[@]}" --out "$T/pr2" --progress bar >/dev/null 2>"$T/pr2.err"
check "--progress bar draws the bar even when redirected" bash -c "grep -q '\[#*\.*\] step 1/4' '$T/pr2.err'"
if command -v script >/dev/null; then
    script -qec "$SAMC train ${PR[*]} --out $T/pr3" /dev/null >"$T/pr3.tty"
    check "on a terminal: a bar redrawn in place" bash -c "grep -q \$'\\033\\[K\\[#' '$T/pr3.tty'"
    OMPI_COMM_WORLD_SIZE=2 script -qec "$SAMC train ${PR[*]} --out $T/pr4" /dev/null >"$T/pr4.tty"
    check "on a terminal under an MPI launcher: lines, no escape byte" \
        bash -c "grep -q 'checkpoint step 2' '$T/pr4.tty' && ! grep -q \$'\\033' '$T/pr4.tty'"
fi
$SAMC train "${PR[@]}" --out "$T/pr5" --quiet >"$T/pr5.out" 2>"$T/pr5.err"
check "--quiet: nothing on stdout or stderr" test ! -s "$T/pr5.out" -a ! -s "$T/pr5.err"
fails "--progress takes auto, bar, lines or none" "progress: expected auto, bar, lines or none" \
    $SAMC train --progress fancy
