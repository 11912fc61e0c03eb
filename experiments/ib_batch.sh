#!/usr/bin/env bash
# experiments/ib_batch.sh -- [IB]: SGD, SAM and GSAM, each with a constant
# batch and learning rate, with an increasing batch (+B: b_m = b_0 2^m, five
# stages, eta constant) and with a cosine learning rate (+C), on Fashion-MNIST
# with a resnet.  After training: worst-case sharpness (L-inf, rho 2e-4, 20
# ascent steps, 1024 samples) and the top Hessian eigenvalue (Lanczos on
# HESS_SAMPLES samples); during training, every epoch, the full gradient norm
# on GRAD_SAMPLES training rows ([IB]'s criterion min_t ||grad f(x_t)||).
#
#   MODEL (resnet:8), ROWS (10000 training rows), STAGE_EPOCHS (1 epoch per
#   stage: 5 epochs), B0 (16, the first +B batch), B (128, the constant batch)
#
# Expected running time on 2 cores (JOBS=2, 1 thread each): 9 runs of 5 to
# 10 minutes plus 2 to 4 minutes of measurement each, about 50 minutes.
#
# MODEL=cnn (no BatchNorm) with ROWS=20000: 9 runs of 1 to 3 minutes, about
# 15 minutes in all.
#
# Writes $EXP_OUT/ib_<model>/..., docs/results/ib_<model>_table.csv and the
# figures $FIGS/ib_<model>_grad_norm_<optimizer>.png.
source "$(dirname "$0")/common.sh"
MODEL=${MODEL:-resnet:8}
ROWS=${ROWS:-10000}
STAGE_EPOCHS=${STAGE_EPOCHS:-1}
B0=${B0:-16}
B=${B:-128}
LR=${LR:-0.1}
RHO=${RHO:-0.05}
ALPHA=${ALPHA:-0.1}
SEED=${SEED:-0}
GRAD_SAMPLES=${GRAD_SAMPLES:-2048}
HESS_SAMPLES=${HESS_SAMPLES:-512}
EPOCHS=$((5 * STAGE_EPOCHS))
TAG=ib_$(echo "$MODEL" | tr -c 'a-z0-9\n' '_')
DATA="--data fashion-mnist --normalize --train-rows $ROWS"
COMMON="$DATA --model $MODEL --epochs $EPOCHS --lr $LR --seed $SEED
        --measure-every 1 --metric full-grad-norm --samples $GRAD_SAMPLES"
mkdir -p "$EXP_OUT/$TAG" docs/results

opt_flags() {
    case $1 in
        sgd)  echo "--opt sgd" ;;
        sam)  echo "--opt sam --rho $RHO" ;;
        gsam) echo "--opt gsam --rho $RHO --alpha $ALPHA" ;;
    esac
}
for opt in sgd sam gsam; do
    run "$TAG/$opt-const" $COMMON $(opt_flags $opt) --batch $B
    run "$TAG/$opt-B" $COMMON $(opt_flags $opt) --batch $B0 --batch-schedule exp:2@$STAGE_EPOCHS
    run "$TAG/$opt-C" $COMMON $(opt_flags $opt) --batch $B --lr-schedule cosine
done
finish

# sharpness of each final model (kept in OUT/sharpness.txt: rerunning skips it)
for opt in sgd sam gsam; do
    for v in const B C; do
        d=$EXP_OUT/$TAG/$opt-$v
        [ -s "$d/sharpness.txt" ] && continue
        pool_slot
        (
            { "$SAMC" sharpness --checkpoint "$d/final.ckpt" $DATA --threads "$THREADS" \
                  --metric worst-linf --samples 1024 &&
              "$SAMC" sharpness --checkpoint "$d/final.ckpt" $DATA --threads "$THREADS" \
                  --metric hessian-top --samples "$HESS_SAMPLES"; } >"$d/sharpness.tmp" 2>"$d/sharpness.err" &&
                mv "$d/sharpness.tmp" "$d/sharpness.txt" ||
                echo "experiments: sharpness of $d failed: $(tail -n 1 "$d/sharpness.err")" >&2
        ) &
    done
done
finish

measure() { awk -v k="$2" '$1 == k {print $2}' "$EXP_OUT/$TAG/$1/sharpness.txt"; }
{
    echo "optimizer,variant,test_error,worst_linf,hessian_top,min_full_grad_norm,steps,train_s"
    for opt in sgd sam gsam; do
        for v in const B C; do
            d=$EXP_OUT/$TAG/$opt-$v
            printf '%s,%s,%.4f,%s,%s,%s,%s,%s\n' "$opt" "$v" \
                "$(awk -v a="$(last_col "$d/metrics.csv" test_acc)" 'BEGIN{print 1 - a}')" \
                "$(measure "$opt-$v" worst_linf)" "$(measure "$opt-$v" hessian_top)" \
                "$(min_col "$d/metrics.csv" full_grad_norm)" "$(last_col "$d/metrics.csv" step)" \
                "$(last_col "$d/metrics.csv" time_s)"
        done
    done
} >"docs/results/${TAG}_table.csv"

for opt in sgd sam gsam; do
    "$SAMC" plot --compare "$EXP_OUT/$TAG/$opt-const=$opt constant b=$B" "$EXP_OUT/$TAG/$opt-B=$opt +B (b=$B0..$((B0 * 16)))" \
        "$EXP_OUT/$TAG/$opt-C=$opt +C (cosine)" --x step --y full_grad_norm --running-min --logy \
        --title "$opt on Fashion-MNIST ($MODEL, $ROWS rows): min over epochs of the full gradient norm" \
        --ylabel "min_t ||grad f(x_t)|| ($GRAD_SAMPLES rows)" --output "$FIGS/${TAG}_grad_norm_$opt.png"
done
echo "ib_batch: done in $(elapsed) s"
