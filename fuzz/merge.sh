#!/usr/bin/env bash
# fuzz/merge.sh -- fold what fuzz/run.sh found (fuzz/work/<t>/) into the kept
# corpus fuzz/corpus/<t>/, minimized: libFuzzer -merge=1 into a fresh
# directory keeps only inputs that add coverage (seeds count as already
# covered).  Inputs named crash-* / leak-* / timeout-* / oom-* (once-crashing
# inputs, kept as regression tests) are always kept.
#   bash fuzz/merge.sh [TARGET...]
set -eu
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(libsvm csv idx cifar10 cifar100 npy ckpt dataspec schedule)
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=1024:detect_leaks=1}
for t in "${targets[@]}"; do
    bin=build-fuzz/fuzz_$t
    new=$(mktemp -d)
    mkdir -p "fuzz/work/$t" "fuzz/corpus/$t"
    # the seeds go in first, so that only inputs adding coverage beyond them
    # are merged in; they are taken out again afterwards
    cp "fuzz/seeds/$t"/* "$new/"
    nice -n 10 "$bin" -merge=1 -use_counters=0 -timeout=10 "$new" "fuzz/corpus/$t" "fuzz/work/$t" \
        >"fuzz/work/$t.merge.log" 2>&1
    for f in "fuzz/seeds/$t"/*; do rm -f "$new/$(basename "$f")"; done
    for f in "fuzz/corpus/$t"/crash-* "fuzz/corpus/$t"/leak-* "fuzz/corpus/$t"/timeout-* \
             "fuzz/corpus/$t"/oom-*; do
        if [ -e "$f" ]; then cp "$f" "$new/"; fi
    done
    find "fuzz/corpus/$t" -maxdepth 1 -type f -delete
    find "$new" -maxdepth 1 -type f -exec cp {} "fuzz/corpus/$t/" \;
    rm -rf "$new"
    echo "$t: $(ls "fuzz/corpus/$t" | wc -l) inputs, $(cat "fuzz/corpus/$t"/* | wc -c) bytes"
done
