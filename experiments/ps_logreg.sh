#!/usr/bin/env bash
# experiments/ps_logreg.sh -- [PS] experiment (b): L2-regularized logistic
# regression (l2 = 1e-2) on the real LIBSVM file heart_scale (270 rows, 13
# features; Debian's liblinear-tools ships it; LIBSVM=PATH for another file):
# SAM and USAM with the Polyak scheduler at its defaults against SAM with
# constant step sizes 0.1 / 0.3 / 1 / 3 and a cosine one, batch 16, 100
# epochs, 3 seeds.  f* comes from a long full-batch gradient descent run; a
# last Polyak run is given that f* as its lower bound l* (an informed l*).
# Expected running time: about a minute.
# Writes $FIGS/ps_logreg.png and docs/results/ps_logreg.csv.
source "$(dirname "$0")/common.sh"
LIBSVM=${LIBSVM:-/usr/share/doc/liblinear-tools/examples/heart_scale}
[ -r "$LIBSVM" ] || { echo "ps_logreg: $LIBSVM not readable (apt-get install liblinear-tools)" >&2; exit 1; }
TAG=logreg_$(basename "$LIBSVM" | tr -c 'a-zA-Z0-9\n' '_')
M="--data libsvm:$LIBSVM --model logreg --l2 1e-2"
RUN="$M --batch 16 --epochs 100 --rho 0.05 --checkpoint-every 0"
SEEDS=${SEEDS:-"0 1 2"}
METHODS="sam-polyak usam-polyak sam-polyak-lbfstar sam-const0.1 sam-const0.3 sam-const1 sam-const3 sam-cosine1"
O=$EXP_OUT/$TAG
mkdir -p "$O" docs/results
run "$TAG/fstar" $M --batch full --opt sgd --lr 1 --steps 30000 --checkpoint-every 0
finish
FSTAR=$(min_col "$O/fstar/steps.csv" loss)
for seed in $SEEDS; do
    run "$TAG/sam-polyak-s$seed"  $RUN --opt sam  --lr polyak --seed $seed
    run "$TAG/usam-polyak-s$seed" $RUN --opt usam --lr polyak --seed $seed
    run "$TAG/sam-polyak-lbfstar-s$seed" $RUN --opt sam --lr polyak --polyak-lb "$FSTAR" --seed $seed
    for lr in 0.1 0.3 1 3; do run "$TAG/sam-const$lr-s$seed" $RUN --opt sam --lr $lr --seed $seed; done
    run "$TAG/sam-cosine1-s$seed" $RUN --opt sam --lr 1 --lr-schedule cosine --seed $seed
done
finish

{
    echo "method,f_final_minus_fstar,sd,seeds"
    for m in $METHODS; do for seed in $SEEDS; do
        echo "$m $(awk -v f="$(last_col "$O/$m-s$seed/metrics.csv" train_loss)" -v s="$FSTAR" 'BEGIN{printf "%.6g", f - s}')"
    done; done | mean_sd
} >"docs/results/ps_$TAG.csv"
echo "f* = $FSTAR" >"docs/results/ps_${TAG}_fstar.txt"
args=()
for m in $METHODS; do args+=("$O/$m-s0=$m"); done
"$SAMC" plot --compare "${args[@]}" --x step --y train_loss --minus "$FSTAR" --logy \
    --title "L2-logistic regression, $(basename "$LIBSVM"), batch 16, seed 0: f(x_t) - f*" \
    --ylabel "f(x_t) - f* (full loss, every epoch)" --output "$FIGS/ps_$TAG.png"
echo "ps_logreg: done in $(elapsed) s"
