#!/usr/bin/env bash
# bench/run.sh -- `make bench`: samc and PyTorch on the same SAM step, in one
# run, same machine and thread count; prints samples/s and the ratio.
# PyTorch comes from Debian's python3-torch (installed here if missing; the
# torch column is skipped with a message if it cannot be had).
set -u
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
have_torch=1
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    echo "bench: installing python3-torch for the reference column"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null 2>&1 || true
    /usr/bin/python3 -c "import torch" 2>/dev/null || { have_torch=0; echo "bench: PyTorch unavailable, samc column only"; }
fi
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
printf '%-34s %12s %12s %8s\n' "SAM step (threads=$THREADS)" "samc samp/s" "torch samp/s" "ratio"
while read -r model C H W K B iters; do
    s=$(./build/bench/sam_step "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sam | sed -n 's/.*, \([0-9.]*\) samples\/s/\1/p')
    t="-"; ratio="-"
    if [ $have_torch = 1 ]; then
        t=$(/usr/bin/python3 bench/torch_step.py "$model" "$C" "$H" "$W" "$K" "$B" "$iters" sam "$THREADS" \
            | sed -n 's/.*, \([0-9.]*\) samples\/s/\1/p')
        ratio=$(awk -v a="$s" -v b="$t" 'BEGIN{printf "%.2f", a/b}')
    fi
    printf '%-34s %12s %12s %8s\n' "$model ${C}x${H}x${W} b=$B" "$s" "$t" "$ratio"
done <<'CASES'
mlp:512,512 1 28 28 10 128 50
mlp:512,512 1 28 28 10 32 100
cnn 1 28 28 10 128 10
CASES
