#!/usr/bin/env bash
# tests/cli_sparse.sh -- `samc train` on sparse LIBSVM rows: every step of
# SAM, USAM and GSAM with the Polyak scheduler against an independent
# float64 reference in scipy.sparse (tests/sparse_ref.py; skipped without
# Debian's python3-scipy), the O(nnz) step against the dense one, stop and
# resume, --val / --train-rows / --measure-every on sparse rows, one-line
# errors for bad rows, and (with build-mpi/samc and mpirun) two ranks
# against one process, and --data-shard: the loss curve and each rank's
# peak memory.
. "$(dirname "$0")/testlib.sh"
PY=/usr/bin/python3
if [ -x $PY ] && $PY -c "import scipy.sparse, numpy" 2>/dev/null; then
    check "SAM, USAM, GSAM + Polyak on sparse rows equal a float64 scipy.sparse reference (1e-6)" \
        $PY tests/sparse_ref.py "$SAMC" "$T"
else
    n=$((n + 1)); echo "ok $n - # SKIP no python3-scipy at $PY"
fi
# a sparse set: 200 rows over 3000 features
awk 'BEGIN { srand(3); for (i = 0; i < 200; i++) { s = (rand() < 0.5) ? "+1" : "-1"; j = 0;
      while (1) { j += 1 + int(rand() * 150); if (j >= 3000) break; s = s " " j ":" sprintf("%.4f", rand()) }
      print s " 3000:0.5" } }' >"$T/s.svm"
C=(--data "libsvm:$T/s.svm" --model logreg --opt sam --lr polyak --batch 16 --threads 1 --quiet --l2 1e-3)
same_rows() {   # same_rows A B TOL: the steps.csv of two runs agree to TOL (relative)
    python3 - "$1" "$2" "$3" <<'PY'
import csv, sys
a = list(csv.reader(open(sys.argv[1]))); b = list(csv.reader(open(sys.argv[2]))); tol = float(sys.argv[3])
assert len(a) == len(b) > 1, (len(a), len(b))
for ra, rb in zip(a[1:], b[1:]):
    for x, y in zip(ra, rb):
        x, y = float(x), float(y)
        assert abs(x - y) <= tol * max(abs(y), 1e-3), (x, y)
PY
}
SAMC_SPARSE_STEP=on "$SAMC" train "${C[@]}" --epochs 2 --out "$T/on"
SAMC_SPARSE_STEP=off "$SAMC" train "${C[@]}" --epochs 2 --out "$T/off"
check "the O(nnz) step and the dense step give the same rows (1e-5)" same_rows "$T/on/steps.csv" "$T/off/steps.csv" 1e-5
SAMC_SPARSE_STEP=on "$SAMC" train "${C[@]}" --epochs 2 --stop-at 17 --out "$T/res" 2>/dev/null
SAMC_SPARSE_STEP=on "$SAMC" train --resume "$T/res" --stop-at 0 --quiet 2>/dev/null
check "stopped inside an epoch and resumed: the same rows (to rounding: the scale is folded in at the stop)" \
    same_rows "$T/res/steps.csv" "$T/on/steps.csv" 1e-6
check "--val, --train-rows and --measure-every on sparse rows" \
    "$SAMC" train "${C[@]}" --epochs 1 --val 40 --train-rows 180 --measure-every 1 --metric hessian-top,avg --out "$T/m"
check "metrics.csv has the validation and measure columns" \
    awk -F, 'NR == 2 && $11 != "nan" && $(NF) != "nan" { ok = 1 } END { exit !ok }' "$T/m/metrics.csv"
check "samc sharpness on the sparse rows" "$SAMC" sharpness --checkpoint "$T/on/final.ckpt" --data "libsvm:$T/s.svm" --metric all
printf '+1 1:1 2:2\n-1 4:1 3:1\n' >"$T/bad.svm"
fails "descending indices: one line naming file and line" "bad.svm:2: feature index 3 after 4" \
    "$SAMC" train --data "libsvm:$T/bad.svm" --model logreg --steps 1 --out "$T/bad"
printf '+1 1:1 2:2\n-1 1:1\0 3:1\n' >"$T/nul.svm"
fails "a NUL byte: one line naming file and line" "nul.svm:2: NUL byte" \
    "$SAMC" train --data "libsvm:$T/nul.svm" --model logreg --steps 1 --out "$T/bad"
MS=build-mpi/samc
if [ -x $MS ] && command -v mpirun >/dev/null; then
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 $MS train "${C[@]}" --epochs 1 --out "$T/mpi" >/dev/null 2>&1
    $MS train "${C[@]}" --epochs 1 --out "$T/one" >/dev/null 2>&1
    check "2 ranks on sparse rows: the one-process rows (1e-5)" same_rows "$T/mpi/steps.csv" "$T/one/steps.csv" 1e-5
    # --data-shard: each rank samples b/2 rows of its own half, so the run is another
    # draw of the same process: its per-epoch train loss (over all rows) within 3% of
    # one process's, and each rank holds half the rows (its peak RSS about half a CSR lower)
    make -s build/bench/gen_sparse build/bench/sparse_load >/dev/null
    ./build/bench/gen_sparse 20000,200000,4e6 5 "$T/big.svm"
    D=(--data "libsvm:$T/big.svm" --model logreg --opt sam --lr polyak --batch 32 --threads 1 --quiet)
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 $MS train "${D[@]}" --epochs 2 --data-shard --out "$T/shard" >/dev/null 2>&1
    $MS train "${D[@]}" --epochs 2 --out "$T/one2" >/dev/null 2>&1
    check "--data-shard on 2 ranks: per-epoch train loss within 3% of one process" python3 - "$T/shard/metrics.csv" "$T/one2/metrics.csv" <<'PY'
import csv, sys
a = [float(r["train_loss"]) for r in csv.DictReader(open(sys.argv[1]))]
b = [float(r["train_loss"]) for r in csv.DictReader(open(sys.argv[2]))]
assert len(a) == len(b) == 2, (a, b)
assert all(abs(x - y) <= 0.03 * y for x, y in zip(a, b)), (a, b)
assert b[-1] < 0.69, b  # and it learned something
PY
    M=(timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 $MS train "${C[@]}" --steps 40 --data-shard)
    "${M[@]}" --out "$T/sh-a" >/dev/null 2>&1
    "${M[@]}" --stop-at 17 --out "$T/sh-b" >/dev/null 2>&1
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 $MS train --resume "$T/sh-b" --stop-at 0 >/dev/null 2>&1
    check "--data-shard: stopped and resumed, the rows of the uninterrupted run" cmp "$T/sh-a/steps.csv" "$T/sh-b/steps.csv"
    rss() {   # the larger of the two ranks' peak RSS (up to three tries if the job did not start);
              # each rank's time writes its own file: the ranks' stderr lines can interleave
        local r
        for _ in 1 2 3; do
            rm -f "$T"/rss.*
            timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 sh -c \
                'exec /usr/bin/time -o "$0.$OMPI_COMM_WORLD_RANK" -f %M "$@"' "$T/rss" $MS train "${D[@]}" \
                --steps 2 "$@" >/dev/null 2>&1
            r=$(cat "$T"/rss.* 2>/dev/null | sort -n | tail -1)
            [ -n "$r" ] && break
        done
        echo "$r"
    }
    r_all=$(rss --out "$T/rss-all"); r_shard=$(rss --data-shard --out "$T/rss-shard")
    csr=$(./build/bench/sparse_load "$T/big.svm" 1 | awk '{ print $11 }')
    check "--data-shard: each rank's peak RSS falls by about half the CSR ($r_all -> $r_shard kB, CSR $csr bytes)" \
        awk -v a="$r_all" -v s="$r_shard" -v c="$csr" 'BEGIN { exit !((a - s) * 1024 > 0.35 * c && (a - s) * 1024 < 0.8 * c) }'
else
    n=$((n + 1)); echo "ok $n - # SKIP no build-mpi/samc or mpirun"
fi
