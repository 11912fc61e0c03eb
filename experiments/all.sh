#!/usr/bin/env bash
# experiments/all.sh -- every experiment of docs/RESULTS.md, then its tables
# (docs/results/) and figures (docs/figures/).  The convex scripts take about 3
# minutes on 2 cores; the protocol campaign (protocol.py) about 9 hours of
# 2-core time, committed run by run: `python3 protocol.py budget` tells what is
# left.  Interrupted, everything resumes where it stopped when run again.
set -u
cd "$(dirname "$0")"
for s in rates.sh ps_ridge.sh ps_logreg.sh; do
    echo "== experiments/$s"
    bash "$s" || { echo "experiments: $s failed" >&2; exit 1; }
done
echo "== experiments/protocol.py: the [IB] and [PS] protocols"
/usr/bin/python3 protocol.py run "$@" && /usr/bin/python3 protocol.py tables
