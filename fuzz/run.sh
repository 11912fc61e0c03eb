#!/usr/bin/env bash
# fuzz/run.sh -- run the libFuzzer targets of `make fuzz`, one after the other.
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#   FUZZ_RUNS=N bash fuzz/run.sh [SECONDS] [TARGET...]
# SECONDS per target (default 60); TARGETs default to all.  With FUZZ_RUNS a
# target stops after N executions (-runs=N) or SECONDS, whichever comes
# first.  Each run starts from fuzz/seeds/<t>/ and fuzz/corpus/<t>/ and
# writes what it finds new into a scratch corpus fuzz/work/<t>/ (not
# fuzz/corpus: merge by hand, see fuzz/README.md); crash, leak and timeout
# inputs go to fuzz/artifacts/<t>/.  One process (no -jobs: it would run in
# a child writing ./fuzz-0.log), nice -n 10: the machine is shared.  Exit
# status non-zero if a target found something.
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(libsvm csv idx cifar10 cifar100 npy ckpt dataspec schedule)
max_len() {
    case $1 in
        libsvm|csv) echo 4096 ;;
        idx)        echo 2048 ;;
        cifar10)    echo 9219 ;;   # three 3073-byte records
        cifar100)   echo 9223 ;;   # the flag byte and three 3074-byte records
        npy)        echo 2048 ;;
        ckpt)       echo 1024 ;;
        dataspec)   echo 256 ;;
        schedule)   echo 128 ;;
        *)          echo 4096 ;;
    esac
}
# big allocations return NULL (the readers must say ENOMEM), as malloc does
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=1024:detect_leaks=1}
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
status=0
for t in "${targets[@]}"; do
    bin=build-fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "fuzz/run.sh: $bin missing: run make fuzz" >&2; exit 2; }
    mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t" "fuzz/corpus/$t"
    echo "== $t: $secs s${FUZZ_RUNS:+ or $FUZZ_RUNS runs}, max_len $(max_len "$t")"
    nice -n 10 "$bin" "${runs[@]}" -max_total_time="$secs" -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1536 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" \
        "fuzz/work/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
        >"fuzz/work/$t.log" 2>&1 || status=1
    grep -E '^stat::number_of_executed_units|^stat::new_units_added|^Done|ERROR|SUMMARY' \
        "fuzz/work/$t.log" | head -8
    ls "fuzz/artifacts/$t" 2>/dev/null | sed 's/^/  artifact: /'
done
exit $status
