#!/usr/bin/env bash
# experiments/ps_ridge.sh -- [PS] experiment (a): synthetic ridge regression
# (n = d = 100, Hessian eigenvalues from L = 1 down to 1/kappa = 1/100, no bias)
#   deterministic: full batch, interpolation (noise 0, f* = 0), rho = 1/(2L):
#     USAM and SAM with the deterministic Polyak scheduler (l* = f* = 0, no
#     cap) against constant and cosine-decaying step sizes;
#   stochastic: batch 10, l2 = 1e-3 (f* > 0, found by a long full-batch
#     gradient descent run), the stochastic scheduler (l* = 0, cap 1) and
#     DecSPS against constant and cosine step sizes.  rho = 0.1 for USAM: the
#     stochastic theorem asks rho <= 1/(2 L_max), L_max the largest smoothness
#     of a batch of 10 rows (about 2 to 3 here, not the full problem's L = 1);
#     with rho = 1/(2L) = 0.5 the scheduler's numerator is often negative and
#     the step 0.
# Expected running time: under a minute.
# Writes $FIGS/ps_ridge_det.png, ps_ridge_stoch.png, docs/results/ps_ridge.csv.
source "$(dirname "$0")/common.sh"
D="synth:ridge,n=100,d=100,kappa=100,seed=1"
LIN="--data $D --model linear --no-bias"
O=$EXP_OUT/ridge
mkdir -p "$O" docs/results

# deterministic
DET="$LIN --batch full --steps 1000 --checkpoint-every 0"
run ridge/det-usam-polyak $DET --opt usam --rho 0.5 --lr polyak --polyak-cap inf --polyak-lb 0
run ridge/det-sam-polyak  $DET --opt sam  --rho 0.5 --lr polyak --polyak-cap inf --polyak-lb 0
run ridge/det-sam-polyak-rho0.05 $DET --opt sam --rho 0.05 --lr polyak --polyak-cap inf --polyak-lb 0
run ridge/det-usam-const1   $DET --opt usam --rho 0.5 --lr 1
run ridge/det-usam-const0.5 $DET --opt usam --rho 0.5 --lr 0.5
run ridge/det-usam-cosine1  $DET --opt usam --rho 0.5 --lr 1 --lr-schedule cosine
# stochastic; f* from 20000 full-batch gradient steps with eta = 1/(L + l2)
STO="$LIN --l2 1e-3 --batch 10 --epochs 300"
run ridge/fstar --data $D --model linear --no-bias --l2 1e-3 --batch full --opt sgd --lr 0.999 --steps 20000
STO_RUNS="sto-usam-polyak sto-usam-decsps sto-sam-polyak sto-usam-const0.5 sto-usam-const0.1 sto-usam-const0.03
          sto-usam-cosine0.1"
run ridge/sto-usam-polyak $STO --opt usam --rho 0.1 --lr polyak
run ridge/sto-usam-decsps $STO --opt usam --rho 0.1 --lr decsps
run ridge/sto-sam-polyak  $STO --opt sam  --rho 0.05 --lr polyak
for lr in 0.5 0.1 0.03; do run ridge/sto-usam-const$lr $STO --opt usam --rho 0.1 --lr $lr; done
run ridge/sto-usam-cosine0.1 $STO --opt usam --rho 0.1 --lr 0.1 --lr-schedule cosine
finish

FSTAR=$(min_col "$O/fstar/steps.csv" loss)
{
    echo "setting,method,f_final_minus_fstar,steps"
    for r in det-usam-polyak det-sam-polyak det-sam-polyak-rho0.05 det-usam-const1 det-usam-const0.5 det-usam-cosine1; do
        echo "deterministic,${r#det-},$(last_col "$O/$r/steps.csv" loss),$(last_col "$O/$r/steps.csv" step)"
    done
    for r in $STO_RUNS; do
        if [ -e "$O/$r/final.ckpt" ]; then
            echo "stochastic,${r#sto-},$(awk -v f="$(last_col "$O/$r/metrics.csv" train_loss)" -v s="$FSTAR" \
                'BEGIN{printf "%.3g", f - s}'),$(last_col "$O/$r/metrics.csv" step)"
        else
            echo "stochastic,${r#sto-},diverged,$(last_col "$O/$r/steps.csv" step)"
        fi
    done
} >docs/results/ps_ridge.csv
echo "f* (l2 = 1e-3) = $FSTAR" >docs/results/ps_ridge_fstar.txt

"$SAMC" plot --compare "$O/det-usam-polyak=USAM + Polyak (rho 1/2L)" "$O/det-sam-polyak=SAM + Polyak (rho 1/2L)" \
    "$O/det-sam-polyak-rho0.05=SAM + Polyak (rho 0.05)" "$O/det-usam-const1=USAM eta 1/L" \
    "$O/det-usam-const0.5=USAM eta 1/(2L)" "$O/det-usam-cosine1=USAM cosine from 1/L" \
    --x step --y loss --logy --title "ridge n=d=100, kappa=100, full batch, interpolation: f(x_t) - f*" \
    --ylabel "f(x_t) - f*  (f* = 0)" --output "$FIGS/ps_ridge_det.png"
"$SAMC" plot --compare "$O/sto-usam-polyak=USAM + Polyak" "$O/sto-usam-decsps=USAM + DecSPS" \
    "$O/sto-sam-polyak=SAM + Polyak (rho 0.05)" "$O/sto-usam-const0.1=USAM eta 0.1" \
    "$O/sto-usam-const0.03=USAM eta 0.03" "$O/sto-usam-cosine0.1=USAM cosine from 0.1" \
    --x step --y train_loss --minus "$FSTAR" --logy \
    --title "ridge n=d=100, kappa=100, batch 10, l2=1e-3, USAM rho 0.1: f(x_t) - f* (full loss, every epoch)" \
    --ylabel "f(x_t) - f*" --output "$FIGS/ps_ridge_stoch.png"
echo "ps_ridge: done in $(elapsed) s"
