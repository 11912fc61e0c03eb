#!/usr/bin/env bash
# scripts/golden-runs.sh SAMC OUTDIR [SAMC_MPI] -- a fixed set of short runs
# whose steps.csv / metrics.csv must stay byte-identical across a refactor
# (compare two OUTDIRs with `diff -r`; time_s columns are blanked).  Every
# optimizer and step rule, a BatchNorm network, a batch schedule, measures,
# a resume and (with SAMC_MPI) an MPI run.  Single-threaded, fixed seeds.
set -euo pipefail
S=$1 O=$2 M=${3:-}
rm -rf "$O"; mkdir -p "$O/data"
H=/usr/share/doc/liblinear-tools/examples/heart_scale
. "$(dirname "$0")/../tests/testlib.sh" >/dev/null 2>&1 || true
make_npy "$O/data" 1 3 96 1 8 8
NPY="npy:$O/data/x.npy,$O/data/y.npy"
C=(--threads 1 --quiet --seed 3)
run() { local name=$1; shift; "$S" train "${C[@]}" "$@" --out "$O/$name" >/dev/null; }
run sgd      --data "libsvm:$H" --model logreg --opt sgd --lr 0.5 --batch 16 --steps 40
run sam      --data "libsvm:$H" --model logreg --opt sam --lr 0.3 --lr-schedule cosine --batch 16 --steps 40
run usam_pk  --data "libsvm:$H" --model logreg --opt usam --rho 0.01 --lr polyak --batch 16 --steps 40
run unified  --data "libsvm:$H" --model logreg --opt unified --lambda 0.5 --lr sps:0.5 --batch 16 --steps 40
run asam     --data "libsvm:$H" --model logreg --opt asam --lr 0.2 --momentum 0.9 --batch 16 --steps 40
run gsam     --data "libsvm:$H" --model logreg --opt gsam --alpha 0.3 --lr 0.2 --rho-schedule prop:0.01 --lr-schedule linear --batch 16 --steps 40
run decsps   --data synth:ridge,n=100,d=20,kappa=10,seed=1 --model linear --no-bias --l2 1e-3 --batch 10 --epochs 3 --opt usam --rho 0.05 --lr decsps
run wd_l2    --data "libsvm:$H" --model logreg --opt sam --lr 0.1 --weight-decay 1e-3 --l2 1e-3 --warmup 5 --batch 16 --steps 40
run softmax  --data "$NPY" --model softmax --opt sam --lr polyak --batch 8 --epochs 2 --measure-every 1 --metric all
run resnet   --data "$NPY" --model resnet:8 --opt sam --lr polyak --batch 8 --batch-schedule exp:2@1,max=32 --augment --epochs 3
run cnn      --data "$NPY" --model cnn --opt gsam --alpha 0.1 --lr 0.05 --lr-schedule step:0.5@1 --batch 16 --epochs 2 --val 16
run mlp      --data "$NPY" --model mlp:16,8 --opt sam --lr 0.1 --batch-schedule poly:2,1@1 --batch 8 --epochs 3 --normalize
run resumed  --data "$NPY" --model cnn --opt sam --lr polyak --momentum 0.9 --batch 8 --batch-schedule exp:2@1,max=32 --augment --steps 25
"$S" train --resume "$O/resumed" --steps 60 --quiet >/dev/null
if [ -n "$M" ]; then
    mpirun --allow-run-as-root --oversubscribe -np 2 "$M" train "${C[@]}" --data "$NPY" --model mlp:8 \
        --opt sam --lr polyak --batch 7 --batch-schedule exp:2@1 --steps 30 --out "$O/mpi" >/dev/null
fi
# blank the wall-clock column so the files compare byte for byte
for f in "$O"/*/metrics.csv; do
    awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "time_s") c = i } NR > 1 && c { $c = "-" } { print }' \
        "$f" >"$f.tmp" && mv "$f.tmp" "$f"
done
rm -rf "$O/data"; find "$O" -name '*.ckpt' -o -name '*.txt' | xargs rm -f
echo "golden: $(ls "$O" | wc -l) runs in $O"
