#!/usr/bin/env bash
# bench/run.sh -- `make bench`: samc and PyTorch on the same SAM step (two
# forward/backward passes and the update), in one run, on the same machine and
# thread count (1 and 2), with random data of the stated shape; prints
# samples/s and the ratio samc / PyTorch, the SAM / SGD step-time ratio, the
# fraction of the machine's measured SGEMM peak the MLP step reaches, and the
# peak resident memory of a short training run (`samc train`, the CNN on
# Fashion-MNIST, 20 steps and the final evaluation) against what it must
# hold: parameters + activations + data (bench/mem_budget).
# PyTorch comes from Debian's python3-torch (installed here if missing; the
# torch column is skipped with a message if it cannot be had).
set -u
cd "$(dirname "$0")/.."
have_torch=1
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    echo "bench: installing python3-torch for the reference column"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null 2>&1 || true
    /usr/bin/python3 -c "import torch" 2>/dev/null || { have_torch=0; echo "bench: PyTorch unavailable, samc column only"; }
fi
rate() { sed -n 's/.*, \([0-9.]*\) samples\/s/\1/p'; }
# MODEL C H W K BATCH ITERS
CASES="logreg 1 1 123 2 32 2000
logreg 1 1 123 2 32561 10
mlp:512,512 1 28 28 10 32 200
mlp:512,512 1 28 28 10 128 100
cnn 1 28 28 10 128 20
resnet:8 3 32 32 10 128 5"
for THREADS in ${THREADS:-1 2}; do
    export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
    echo
    printf '%-34s %12s %12s %8s %9s\n' "SAM step, $THREADS thread(s)" "samc samp/s" "torch samp/s" "ratio" "SAM/SGD"
    while read -r model C H W K B iters; do
        s=$(./build/bench/sam_step "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sam | rate)
        g=$(./build/bench/sam_step "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sgd | rate)
        t="-"; ratio="-"
        if [ $have_torch = 1 ]; then
            t=$(/usr/bin/python3 bench/torch_step.py "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sam "$THREADS" | rate)
            ratio=$(awk -v a="$s" -v b="$t" 'BEGIN{printf "%.2f", a/b}')
        fi
        printf '%-34s %12s %12s %8s %9s\n' "$model ${C}x${H}x${W} b=$B" "$s" "$t" "$ratio" \
            "$(awk -v a="$s" -v b="$g" 'BEGIN{printf "%.2f", b/a}')"
        if [ "$model" = mlp:512,512 ] && [ "$B" = 128 ]; then mlp128=$s; fi
    done <<<"$CASES"
    peak=$(./build/bench/sgemm_peak | sed -n 's/sgemm peak \([0-9.]*\).*/\1/p')
    # MLP 784-512-512-10: 2 passes x (forward + backward ~ 3 x forward) x 2 flops per weight
    flops=$(awk 'BEGIN{print 2 * 3 * 2 * (784*512 + 512*512 + 512*10)}')
    awk -v r="$mlp128" -v f="$flops" -v p="$peak" 'BEGIN{g = r * f * 1e-9;
        printf "MLP b=128 SAM step: %.1f GFLOP/s = %.0f%% of the measured SGEMM peak %.1f GFLOP/s\n", g, 100 * g / p, p}'
    if [ -x /usr/bin/time ] && ls /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte* >/dev/null 2>&1; then
        out=$(mktemp -d)
        rss=$(/usr/bin/time -f %M ./samc train --model cnn --batch 128 --steps 20 --threads "$THREADS" \
              --out "$out/run" 2>&1 >/dev/null | tail -1)
        rm -rf "$out"
        budget=$(./build/bench/mem_budget cnn 1 28 28 10 60000 10000 128 | sed -n 's/budget \([0-9]*\) bytes.*/\1/p')
        awk -v r="$rss" -v b="$budget" 'BEGIN{printf "peak memory, samc train cnn b=128 (20 steps): %.1f MB max RSS = %.2fx params + activations + data (%.1f MB)\n", r * 1024 / 1e6, r * 1024 / b, b / 1e6}'
    else
        echo "peak memory: skipped (needs /usr/bin/time and Fashion-MNIST in /usr/share/datasets)"
    fi
done
