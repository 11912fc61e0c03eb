#!/usr/bin/env bash
# experiments/all.sh -- every experiment of docs/RESULTS.md, then its tables
# (docs/results/) and figures (docs/figures/).  Expected running time on 2
# cores: about 1.5 hours (ib_batch.sh 50 min with the resnet and 9 min with the
# CNN, ps_images.sh 27 min, the convex ones 3 min).  Interrupted, it resumes where it stopped when run again.
set -u
cd "$(dirname "$0")"
for s in rates.sh ps_ridge.sh ps_logreg.sh ib_batch.sh ps_images.sh; do
    echo "== experiments/$s"
    bash "$s" || { echo "experiments: $s failed" >&2; exit 1; }
done
echo "== experiments/ib_batch.sh with the CNN"
MODEL=cnn ROWS=20000 bash ib_batch.sh || { echo "experiments: ib_batch.sh (cnn) failed" >&2; exit 1; }
