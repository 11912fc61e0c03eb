# experiments/common.sh -- sourced by the experiment scripts: where samc and the
# outputs are, a pool of JOBS concurrent single-threaded runs, resumable runs,
# and the summary helpers.
#
#   SAMC     the binary (default ./samc, built by `make`)
#   EXP_OUT  where every run's OUT directory goes (default experiments/out)
#   FIGS     where figures go (default docs/figures)
#   JOBS     concurrent runs (default: the number of cores); each run gets
#            THREADS threads (default 1)
#
# A run whose OUT/final.ckpt exists is skipped, and so is one that diverged
# (OUT/diverged, a result); one with OUT/last.ckpt but no final.ckpt
# (interrupted) is resumed, so rerunning a script after a crash or Ctrl-C only
# does the missing work.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SAMC=${SAMC:-./samc}
EXP_OUT=${EXP_OUT:-experiments/out}
FIGS=${FIGS:-docs/figures}
JOBS=${JOBS:-$(nproc)}
THREADS=${THREADS:-1}
mkdir -p "$EXP_OUT" "$FIGS"
[ -x "$SAMC" ] || { echo "experiments: $SAMC not found; run make first" >&2; exit 1; }

# pool_slot: wait until fewer than JOBS background jobs run.
pool_slot() { while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done; }

# run DIR flags...: one training run into $EXP_OUT/DIR, in the background pool.
run() {
    local dir=$EXP_OUT/$1; shift
    if [ -e "$dir/final.ckpt" ] || [ -e "$dir/diverged" ]; then return 0; fi
    pool_slot
    (
        if [ -e "$dir/last.ckpt" ]; then
            "$SAMC" train --resume "$dir" --quiet >"$dir.log" 2>&1
        else
            "$SAMC" train "$@" --threads "$THREADS" --quiet --out "$dir" >"$dir.log" 2>&1
        fi || {
            echo "experiments: run $dir failed: $(tail -n 1 "$dir.log")" >&2
            if grep -q "diverged" "$dir.log"; then touch "$dir/diverged"; fi   # a result: not retried
        }
    ) &
}
# finish: wait for every run of the pool.
finish() { wait; }

# first_col FILE COLUMN: the value of COLUMN in the first row of a CSV file.
first_col() {
    awk -F, -v c="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} {print $k; exit}' "$1"
}
# last_col FILE COLUMN: the value of COLUMN in the last row of a CSV file.
last_col() {
    awk -F, -v c="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} {v=$k} END{print v}' "$1"
}
# min_col FILE COLUMN: the smallest value of COLUMN in a CSV file.
min_col() {
    awk -F, -v c="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next}
        NR==2 || $k+0 < m {m=$k+0} END{printf "%.9g\n", m}' "$1"
}
# mean_sd: reads "KEY VALUE" lines, prints "KEY,mean,sd,count" per key (in
# order of first appearance; sd is the sample standard deviation).
mean_sd() {
    awk '{ if (!($1 in n)) order[++k] = $1; n[$1]++; s[$1] += $2; ss[$1] += $2 * $2 }
        END { for (i = 1; i <= k; i++) { key = order[i]; m = s[key] / n[key];
              v = n[key] > 1 ? (ss[key] - n[key] * m * m) / (n[key] - 1) : 0; if (v < 0) v = 0;
              printf "%s,%.6g,%.6g,%d\n", key, m, sqrt(v), n[key] } }'
}
# elapsed: seconds since the script started, for the closing line.
START_S=$(date +%s)
elapsed() { echo $(( $(date +%s) - START_S )); }
