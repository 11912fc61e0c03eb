#!/usr/bin/env bash
# bench/run.sh -- `make bench`: samc and PyTorch on the same SAM step (two
# forward/backward passes and the update), in one run, on the same machine and
# thread count (1 and 2), with random data of the stated shape; prints
# samples/s and the ratio samc / PyTorch (PyTorch at the faster of its NCHW
# and channels_last layouts for the conv nets), the SAM / SGD step-time ratio,
# each network step's GFLOP/s and its share of the machine's measured SGEMM
# peak, and the peak resident memory of a short training run (`samc train`, the CNN on
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
flops() { sed -n 's/^flops \([0-9]*\) per sample/\1/p'; }
# MODEL C H W K BATCH ITERS (BENCH_CASES, in the same form, replaces them)
CASES="${BENCH_CASES:-logreg 1 1 123 2 32 2000
logreg 1 1 123 2 32561 10
mlp:512,512 1 28 28 10 32 200
mlp:512,512 1 28 28 10 128 100
cnn 1 28 28 10 128 20
resnet:8 3 32 32 10 128 5
resnet:20 3 32 32 10 128 3
resnet18 3 32 32 10 128 2
wrn:16-4 3 32 32 10 128 2}"
echo "samc engine: ${SAMC_ENGINE:-auto} (auto: oneDNN for the conv nets, the reference engine for the MLPs); CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "GFLOP/s: FLOPs counted from the architecture (2 per multiply-add of the convolutions and"
echo "linear layers; forward, weight gradient and input gradient; two passes per SAM step)"
echo "over samc's step time; % of the SGEMM peak measured by bench/sgemm_peak in the same run."
echo "torch: the faster of its NCHW and channels_last (cl) layouts for the conv nets."
for THREADS in ${THREADS:-1 2}; do
    export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
    peak=$(./build/bench/sgemm_peak | sed -n 's/sgemm peak \([0-9.]*\).*/\1/p')
    echo
    echo "SAM step, $THREADS thread(s); SGEMM peak $peak GFLOP/s"
    printf '%-30s %11s %17s %7s %8s %6s %8s\n' "model" "samc samp/s" "torch samp/s" "ratio" \
        "GFLOP/s" "%peak" "SAM/SGD"
    while read -r model C H W K B iters; do
        out=$(./build/bench/sam_step "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sam)
        s=$(echo "$out" | rate); f=$(echo "$out" | flops)
        g=$(./build/bench/sam_step "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sgd | rate)
        t="-"; ratio="-"
        if [ $have_torch = 1 ]; then
            layouts=nchw
            case $model in cnn|resnet*|wrn:*) layouts="nchw cl" ;; esac
            best=0; bl=""
            for l in $layouts; do
                r=$(/usr/bin/python3 bench/torch_step.py "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sam "$THREADS" $l | rate)
                if awk -v a="$r" -v b="$best" 'BEGIN{exit !(a > b)}'; then best=$r; bl=$l; fi
            done
            t="$best $bl"
            ratio=$(awk -v a="$s" -v b="$best" 'BEGIN{printf "%.2f", a/b}')
        fi
        gf="-"; pp="-"
        if [ -n "$f" ]; then
            gf=$(awk -v r="$s" -v f="$f" 'BEGIN{printf "%.1f", r * f * 1e-9}')
            pp=$(awk -v g="$gf" -v p="$peak" 'BEGIN{printf "%.0f%%", 100 * g / p}')
        fi
        printf '%-30s %11s %17s %7s %8s %6s %8s\n' "$model ${C}x${H}x${W} b=$B" "$s" "$t" "$ratio" \
            "$gf" "$pp" "$(awk -v a="$s" -v b="$g" 'BEGIN{printf "%.2f", b/a}')"
    done <<<"$CASES"
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
