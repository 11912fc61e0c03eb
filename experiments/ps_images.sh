#!/usr/bin/env bash
# experiments/ps_images.sh -- [PS] experiment (c): SAM over a grid of learning
# rates (constant and cosine) and of rho, against SAM and USAM with the Polyak
# scheduler at its defaults (cap 1, l* = 0), 3 seeds each, on images.
#
#   DATA   fashion-mnist (default) or e.g. cifar10:DIR
#   MODEL  cnn (default) or resnet:N
#   ROWS   training rows used (default 20000 of 60000), EPOCHS (default 3)
#
# Expected running time on 2 cores (JOBS=2, 1 thread each), Fashion-MNIST and
# the cnn: 57 runs of about 50 s each, 25 minutes.  CIFAR-10 with the cnn:
# about 1.5x that.
#
# Writes $EXP_OUT/ps_<data>/..., docs/results/ps_<data>_{lr,rho,polyak}.csv and
# the figures $FIGS/ps_<data>_lr.png and ps_<data>_rho.png.
source "$(dirname "$0")/common.sh"
DATA=${DATA:-fashion-mnist}
MODEL=${MODEL:-cnn}
ROWS=${ROWS:-20000}
EPOCHS=${EPOCHS:-3}
SEEDS=${SEEDS:-"0 1 2"}
LRS=${LRS:-"0.01 0.03 0.1 0.3 1"}
RHOS=${RHOS:-"0.02 0.05 0.1 0.2"}
RHO_LR=${RHO_LR:-0.1}       # the learning rate of the rho grid
# USAM's d = rho g is not normalized: with ||g|| ~ 25 at the start, rho 0.05
# moves the weights by ~1.3 where SAM's moves them by 0.05
USAM_RHOS=${USAM_RHOS:-"0.002 0.05"}
TAG=ps_$(echo "${DATA%%:*}" | tr -c 'a-z0-9\n' '_')
COMMON="--data $DATA --normalize --train-rows $ROWS --model $MODEL --epochs $EPOCHS --batch 128"
mkdir -p "$EXP_OUT/$TAG" docs/results

for seed in $SEEDS; do
    run "$TAG/polyak-sam-s$seed" $COMMON --opt sam --lr polyak --rho 0.05 --seed $seed
    for rho in $USAM_RHOS; do
        run "$TAG/polyak-usam-rho$rho-s$seed" $COMMON --opt usam --lr polyak --rho $rho --seed $seed
    done
    for lr in $LRS; do
        for sch in const cosine; do
            run "$TAG/sam-$sch-lr$lr-s$seed" $COMMON --opt sam --lr $lr --lr-schedule $sch --rho 0.05 --seed $seed
        done
    done
    for rho in $RHOS; do
        [ "$rho" = 0.05 ] || run "$TAG/polyak-sam-rho$rho-s$seed" $COMMON --opt sam --lr polyak --rho $rho --seed $seed
        # (at rho 0.05 the points are polyak-sam and the lr grid's sam-const-lr$RHO_LR)
        [ "$rho" = 0.05 ] || run "$TAG/sam-const-lr$RHO_LR-rho$rho-s$seed" $COMMON --opt sam --lr $RHO_LR --rho $rho --seed $seed
    done
done
finish

# the final test accuracy; a run that diverged (no final.ckpt) counts as 0
acc() {
    if [ -e "$EXP_OUT/$TAG/$1/final.ckpt" ]; then last_col "$EXP_OUT/$TAG/$1/metrics.csv" test_acc; else echo 0; fi
}
# accuracy vs learning rate: schedule,lr,mean,sd,n
{
    echo "schedule,lr,test_acc,sd,seeds"
    for sch in const cosine; do
        for lr in $LRS; do for seed in $SEEDS; do echo "$sch,$lr $(acc sam-$sch-lr$lr-s$seed)"; done; done
    done | mean_sd
} >"docs/results/${TAG}_lr.csv"
# the Polyak scheduler: method,mean,sd,n
{
    echo "method,test_acc,sd,seeds"
    (for seed in $SEEDS; do echo "sam-polyak $(acc polyak-sam-s$seed)"; done
    for rho in $USAM_RHOS; do for seed in $SEEDS; do
        echo "usam-polyak-rho$rho $(acc polyak-usam-rho$rho-s$seed)"
    done; done) | mean_sd
} >"docs/results/${TAG}_polyak.csv"
# accuracy vs rho: method,rho,mean,sd,n
{
    echo "method,rho,test_acc,sd,seeds"
    for rho in $RHOS; do for seed in $SEEDS; do
        if [ "$rho" = 0.05 ]; then
            echo "sam-lr$RHO_LR,$rho $(acc sam-const-lr$RHO_LR-s$seed)"
            echo "sam-polyak,$rho $(acc polyak-sam-s$seed)"
        else
            echo "sam-lr$RHO_LR,$rho $(acc sam-const-lr$RHO_LR-rho$rho-s$seed)"
            echo "sam-polyak,$rho $(acc polyak-sam-rho$rho-s$seed)"
        fi
    done; done | mean_sd | sort -t, -k1,1 -s
} >"docs/results/${TAG}_rho.csv"

hl=()
while IFS=, read -r meth mean sd n; do hl+=(--hline "$mean=$meth (mean of $n seeds)"); done < <(tail -n +2 "docs/results/${TAG}_polyak.csv")
"$SAMC" plot --summary "docs/results/${TAG}_lr.csv" --x lr --y test_acc --group schedule --err sd --logx \
    "${hl[@]}" --title "SAM on $DATA ($MODEL, $ROWS rows, $EPOCHS epochs): test accuracy vs learning rate" \
    --xlabel "learning rate eta (const, or cosine eta_max)" --ylabel "test accuracy" --output "$FIGS/${TAG}_lr.png"
"$SAMC" plot --summary "docs/results/${TAG}_rho.csv" --x rho --y test_acc --group method --err sd --logx \
    --title "SAM on $DATA: test accuracy vs rho" --xlabel "rho" --ylabel "test accuracy" --output "$FIGS/${TAG}_rho.png"
echo "ps_images: done in $(elapsed) s"
