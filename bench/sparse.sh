#!/usr/bin/env bash
# bench/sparse.sh -- `make bench`, the sparse rows: on seeded LIBSVM sets
# shaped like rcv1 and news20 (bench/gen_sparse; BENCH_URL=1 adds the
# url-like set, ~3.5 GB of text and ~2.5 GB of CSR), the load time of
# samc_read_libsvm against sklearn's load_svmlight_file, one epoch of
# SAM + Polyak logistic regression at batch 32 on one thread (the O(nnz)
# step, and the dense step for comparison) against one epoch of sklearn's
# SGDClassifier (log loss; one gradient pass per sample, so SAM's two passes
# make 2x the per-pass parity), and the peak resident memory of the
# training run against the CSR arrays it holds.  sklearn is Debian's
# python3-sklearn at /usr/bin/python3 (its columns are skipped without it).
# The files are kept in ${BENCH_DIR:-/dev/shm/samc-bench}.
set -u
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-/dev/shm/samc-bench}
mkdir -p "$DIR"
PY=/usr/bin/python3
have_sk=1
$PY -c "import sklearn" 2>/dev/null || { have_sk=0; echo "bench: no sklearn at $PY, samc columns only"; }
SHAPES="rcv1 news20"
[ "${BENCH_URL:-0}" = 1 ] && SHAPES="$SHAPES url"
echo
echo "Sparse rows (CSR), logreg, SAM + Polyak, batch 32, 1 thread; sklearn SGDClassifier (log loss), one epoch"
printf '%-8s %9s %10s %8s | %8s %8s | %8s %8s %8s %7s | %8s %8s\n' data rows nnz "CSR MB" "load s" "sk load" \
    "epoch s" "dense s" "sk ep s" "ratio" "RSS MB" "RSS/CSR"
for sh in $SHAPES; do
    f="$DIR/$sh-like-1.svm"
    [ -s "$f" ] || ./build/bench/gen_sparse "$sh" 1 "$f" || { echo "bench: cannot generate $f"; continue; }
    read -r _ lt _ _ rows _ _ _ nnz _ csr _ <<<"$(./build/bench/sparse_load "$f" 3)"
    skl="-"; ske="-"
    if [ $have_sk = 1 ]; then
        read -r _ _ skl _ _ ske _ _ _ <<<"$($PY bench/sklearn_sparse.py "$f" 3)"
    fi
    ep() {   # the epoch's training seconds (time_s) and the run's peak RSS in kB
        local out; out=$(mktemp -d)
        local rss; rss=$(SAMC_SPARSE_STEP=$1 /usr/bin/time -f %M ./samc train --data "libsvm:$f" --model logreg \
            --opt sam --lr polyak --batch 32 --epochs 1 --threads 1 --quiet --out "$out/r" 2>&1 >/dev/null | tail -1)
        echo "$(awk -F, 'NR == 2 { print $10 }' "$out/r/metrics.csv") $rss"
        rm -rf "$out"
    }
    read -r es rss <<<"$(ep on)"
    read -r ed _ <<<"$(ep off)"
    ratio=$(awk -v a="$es" -v b="$ske" 'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b; else print "-" }')
    printf '%-8s %9s %10s %8.1f | %8s %8s | %8s %8s %8s %7s | %8.1f %8.2f\n' "$sh" "$rows" "$nnz" \
        "$(awk -v b="$csr" 'BEGIN { print b / 1e6 }')" "$lt" "$skl" "$es" "$ed" "$ske" "$ratio" \
        "$(awk -v r="$rss" 'BEGIN { print r * 1024 / 1e6 }')" "$(awk -v r="$rss" -v b="$csr" 'BEGIN { print r * 1024 / b }')"
done
echo "(epoch s: the O(nnz) step; dense s: SAMC_SPARSE_STEP=off, the O(d) step; ratio: epoch s / sklearn's epoch;"
echo " RSS: the whole samc train process, CSR + O(d) vectors + the program)"
