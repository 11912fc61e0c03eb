#!/usr/bin/env bash
# experiments/rates.sh -- the convergence rates of [PS]'s theorems, measured:
#   1. linear rate (strongly convex, deterministic USAM + Polyak, rho = 1/(2L)):
#      ridge with kappa = 10, 100, 1000; the fitted per-step contraction of
#      f(x_t) - f* against the theorem's 1 - (1 - L rho)^2 mu / (4 L);
#   2. O(1/T) (convex): ridge with eigenvalues down to 1e-8 (no useful strong
#      convexity within the run): min_{t<=T} f(x_t) - f* against C/T;
#   3. stochastic (batch 10, rho 0.1 <= 1/(2 L_max) of a 10-row batch), on an
#      overdetermined ridge problem (n = 300, d = 50): exact convergence under
#      interpolation (noise 0), a neighbourhood with label noise 0.1 and 1
#      (f* > 0 then, from a long full-batch gradient descent run).
# Expected running time: under a minute.
# Writes $FIGS/rates_linear.png, rates_convex.png, rates_stochastic.png and
# docs/results/rates_linear.csv, rates_stochastic.csv.
source "$(dirname "$0")/common.sh"
P="--model linear --no-bias --opt usam --rho 0.5 --lr polyak --polyak-lb 0 --checkpoint-every 0"
mkdir -p "$EXP_OUT/rates" docs/results
for k in 10 100 1000; do
    run rates/linear-k$k --data "synth:ridge,n=100,d=100,kappa=$k,seed=1" $P --polyak-cap inf --batch full --steps 3000
done
run rates/convex --data "synth:ridge,n=200,d=200,kappa=1e8,seed=1" $P --polyak-cap inf --batch full --steps 20000
for s in 0 0.1 1; do
    SD="synth:ridge,n=300,d=50,kappa=100,noise=$s,seed=1"
    run rates/stoch-noise$s --data "$SD" $P --rho 0.1 --batch 10 --epochs 200
    run rates/fstar-noise$s --data "$SD" --model linear --no-bias --opt sgd --lr 1 --batch full --steps 5000 \
        --checkpoint-every 0
done
finish

# fitted rate: least squares slope of ln(f) against t while f > 1e-11 f(0)
fit_rate() {
    awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="loss") k=i; next}
        NR==2{f0=$k} $k > 1e-11 * f0 && $k > 0 {t=$1; y=log($k); n++; st+=t; sy+=y; stt+=t*t; sty+=t*y}
        END{b=(n*sty-st*sy)/(n*stt-st*st); printf "%.6f\n", exp(b)}' "$1"
}
{
    echo "kappa,theorem_rate,measured_rate,steps_to_1e-10"
    for k in 10 100 1000; do
        f=$EXP_OUT/rates/linear-k$k/steps.csv
        echo "$k,$(awk -v k=$k 'BEGIN{printf "%.6f", 1 - 0.25 / (4 * k)}'),$(fit_rate "$f"),$(awk -F, \
            'NR==1{for(i=1;i<=NF;i++) if($i=="loss") k=i; next}
             NR==2{f0=$k} $k < 1e-10 * f0 {print $1; exit}' "$f")"
    done
} >docs/results/rates_linear.csv

{
    echo "noise,fstar,f_final_minus_fstar,mean_last_20_epochs_minus_fstar"
    for s in 0 0.1 1; do
        fs=$(min_col "$EXP_OUT/rates/fstar-noise$s/steps.csv" loss)
        awk -F, -v s=$s -v fs="$fs" 'NR==1{for(i=1;i<=NF;i++) if($i=="train_loss") k=i; next}
            {v[NR]=$k; n=NR} END{for(i=n-19;i<=n;i++) m+=v[i]/20;
            printf "%s,%.6g,%.3g,%.3g\n", s, fs, v[n]-fs, m-fs}' "$EXP_OUT/rates/stoch-noise$s/metrics.csv"
    done
} >docs/results/rates_stochastic.csv

refs=()
for k in 10 100 1000; do
    f0=$(first_col "$EXP_OUT/rates/linear-k$k/steps.csv" loss)
    refs+=(--ref "$f0*(1-0.25/(4*$k))**x=bound kappa $k")
done
"$SAMC" plot --compare "$EXP_OUT/rates/linear-k10=kappa 10" "$EXP_OUT/rates/linear-k100=kappa 100" \
    "$EXP_OUT/rates/linear-k1000=kappa 1000" "${refs[@]}" --x step --y loss --logy \
    --title "deterministic USAM + Polyak, rho = 1/(2L): f(x_t) - f* and the theorem's rate" \
    --ylabel "f(x_t) - f*  (f* = 0)" --output "$FIGS/rates_linear.png"
f0=$(first_col "$EXP_OUT/rates/convex/steps.csv" loss)
"$SAMC" plot --compare "$EXP_OUT/rates/convex=USAM + Polyak, eigenvalues 1 .. 1e-8" --x step --y loss \
    --running-min --logx --logy --ref "$f0/x=f(x_0)/T" \
    --title "convex ridge: min_{t<=T} f(x_t) - f* against O(1/T)" --ylabel "min f(x_t) - f*" \
    --output "$FIGS/rates_convex.png"
srefs=()
for s in 0.1 1; do srefs+=(--ref "$(awk -F, -v s=$s '$1==s{print $2}' docs/results/rates_stochastic.csv)=f* noise $s"); done
"$SAMC" plot --compare "$EXP_OUT/rates/stoch-noise0=noise 0 (interpolation, f* = 0)" "$EXP_OUT/rates/stoch-noise0.1=noise 0.1" \
    "$EXP_OUT/rates/stoch-noise1=noise 1" "${srefs[@]}" --x step --y train_loss --logy \
    --title "stochastic USAM + Polyak (ridge n=300, d=50, batch 10, rho 0.1, cap 1): f(x_t), full loss every epoch" \
    --ylabel "f(x_t)" --output "$FIGS/rates_stochastic.png"
echo "rates: done in $(elapsed) s"
