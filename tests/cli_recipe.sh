#!/usr/bin/env bash
# tests/cli_recipe.sh -- the recipe fixes end to end: DecSPS resumes after a
# non-positive numerator, `samc sharpness` measures the objective the run
# trained (its --l2 term, --measure-l2 overrides), the recipe flags in
# config.txt, and the refusals.
. "$(dirname "$0")/testlib.sh"

# DecSPS with a SAM-family numerator (usam, rho 0.5): every step whose
# numerator is positive moves (it used to freeze at the first non-positive one)
$SAMC train --data synth:ridge,n=100,d=100,kappa=100,seed=1 --model linear --no-bias --l2 1e-3 --batch 10 \
    --epochs 30 --opt usam --rho 0.5 --lr decsps --threads 1 --quiet --out "$T/dec"
check "decsps: a step on every positive numerator, 0 on the others" awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { pos = $c["polyak_numerator"] > 0; moved = $c["lr"] > 0; if (pos != moved) bad++; if (pos) np++; else nz++ }
    END { exit !(bad == 0 && np >= 9 && nz > 0) }' "$T/dec/steps.csv"

# the objective's Hessian: + l2 on the top eigenvalue, + (d+1) l2 on the trace
# (up to the rounding of the finite-difference Hessian-vector products)
$SAMC train --data libsvm:$HEART --model logreg --l2 0.01 --epochs 3 --opt sgd --lr 0.5 --out "$T/l2" --quiet
M=(--checkpoint "$T/l2/final.ckpt" --metric hessian-top,hessian-trace --format csv)
$SAMC sharpness "${M[@]}" >"$T/run.csv"
$SAMC sharpness "${M[@]}" --measure-l2 0 >"$T/data.csv"
$SAMC sharpness "${M[@]}" --measure-l2 0.05 >"$T/v.csv"
shift_ok() { # FILE_A FILE_B L2: hessian_top and hessian_trace of A minus B are l2 and 14 l2 (d = 13)
    awk -F, -v l2="$3" 'FNR == 1 { next } NR == FNR { a[$1] = $2; next }
        { want = ($1 == "hessian_top" ? l2 : 14 * l2); d = a[$1] - $2
          tol = 1e-3 * want + 1e-5; if (!(($1 in a) && d > want - tol && d < want + tol)) bad = 1; k++ }
        END { exit bad || k != 2 }' "$1" "$2"
}
check "sharpness: the run's --l2 shifts hessian_top by l2 and the trace by (d+1) l2" shift_ok "$T/run.csv" "$T/data.csv" 0.01
check "--measure-l2 VALUE measures with that l2 instead" shift_ok "$T/v.csv" "$T/data.csv" 0.05
fails "--measure-l2 takes run, 0 or a number" "measure-l2: expected run, 0 or a number" \
    $SAMC sharpness "${M[@]}" --measure-l2 lots

# the recipe flags are in config.txt and read back by --resume
$SAMC train --data libsvm:$HEART --model softmax --opt sam --lr 0.1 --momentum 0.9 --nesterov --clip-norm 1 \
    --weight-decay 5e-4 --wd-groups weights --label-smoothing 0.1 --accumulate 2 --m-sharpness 2 --batch 8 \
    --steps 12 --stop-at 5 --out "$T/rec" --quiet 2>/dev/null
check "config.txt records every recipe flag" bash -c "grep -qx 'nesterov = on' '$T/rec/config.txt' &&
    grep -qx 'clip-norm = 1' '$T/rec/config.txt' && grep -qx 'wd-groups = weights' '$T/rec/config.txt' &&
    grep -qx 'label-smoothing = 0.1' '$T/rec/config.txt' && grep -qx 'accumulate = 2' '$T/rec/config.txt' &&
    grep -qx 'm-sharpness = 2' '$T/rec/config.txt' && grep -qx 'base = sgd' '$T/rec/config.txt'"
$SAMC train --resume "$T/rec" --stop-at 0 --quiet
$SAMC train --data libsvm:$HEART --model softmax --opt sam --lr 0.1 --momentum 0.9 --nesterov --clip-norm 1 \
    --weight-decay 5e-4 --wd-groups weights --label-smoothing 0.1 --accumulate 2 --m-sharpness 2 --batch 8 \
    --steps 12 --out "$T/rec1" --quiet
check "a resumed recipe run writes the rows of an uninterrupted one" cmp "$T/rec/steps.csv" "$T/rec1/steps.csv"
check "--accumulate 2 with --batch 8: steps of 16 rows" awk -F, 'NR > 1 && $3 != 16 { bad = 1 } END { exit bad }' \
    "$T/rec1/steps.csv"
fails "AdamW refuses the Polyak rules in one line" "Polyak step sizes are derived for the SGD base" \
    $SAMC train --data libsvm:$HEART --model softmax --base adamw --lr polyak --steps 4 --out "$T/adam"
fails "label smoothing needs a cross-entropy model" "label smoothing needs a cross-entropy model" \
    $SAMC train --data libsvm:$HEART --model logreg --label-smoothing 0.1 --steps 4 --out "$T/ls"
fails "--wd-groups takes all or weights" "wd-groups: expected all or weights" \
    $SAMC train --data libsvm:$HEART --wd-groups some --steps 4 --out "$T/wd"
$SAMC train --data libsvm:$HEART --model softmax --base adamw --lr 0.01 --weight-decay 0.01 --steps 6 --stop-at 3 \
    --out "$T/aw" --quiet 2>/dev/null
$SAMC train --resume "$T/aw" --stop-at 0 --quiet
$SAMC train --data libsvm:$HEART --model softmax --base adamw --lr 0.01 --weight-decay 0.01 --steps 6 --out "$T/aw1" --quiet
check "AdamW resumes exactly (both moments in the checkpoint)" cmp "$T/aw/steps.csv" "$T/aw1/steps.csv"
