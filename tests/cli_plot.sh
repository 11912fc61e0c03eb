#!/usr/bin/env bash
# tests/cli_plot.sh -- the `samc plot` command: figures drawn by gnuplot from a
# run's steps.csv and metrics.csv (PNG and SVG), figures left out when there is
# nothing to plot, columns found by name, a long run subsampled, and bad input
# ending in a one-line error.  Needs gnuplot (Debian: gnuplot-nox); without it
# the tests fail, they are not skipped.  Prints "ok N - ..." / "not ok N - ..."
# lines that tests/run.sh counts.
. "$(dirname "$0")/testlib.sh"
# a real PNG: the 8 magic bytes and more than a few KB
is_png() {
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
        && [ "$(wc -c <"$1")" -gt 4000 ]
}
pngs() { for f in "$@"; do is_png "$f" || { echo "not a PNG of a few KB: $f"; return 1; }; done; }

check "gnuplot is installed (Debian package gnuplot-nox)" command -v gnuplot

# heart_scale: classification, no measurements
check "train a short heart_scale run" \
    $SAMC train --data "libsvm:$HEART" --model logreg --epochs 3 --out "$T/run" --quiet
check "samc plot OUT writes PNGs into OUT/plots" $SAMC plot "$T/run"
P=$T/run/plots
check "loss, accuracy, step_size, batch_rho, grad_norm are PNG files of a few KB" \
    pngs "$P/loss.png" "$P/accuracy.png" "$P/step_size.png" "$P/batch_rho.png" "$P/grad_norm.png"
check "no sharpness.png without measurement columns" test ! -e "$P/sharpness.png"
check "prints the paths it wrote" bash -c "$SAMC plot '$T/run' | grep -qx 'wrote $P/loss.png'"

# with a measurement column
check "train with --measure-every 1 --metric worst-linf" \
    $SAMC train --data "libsvm:$HEART" --model logreg --epochs 3 --measure-every 1 --metric worst-linf --out "$T/m" --quiet
check "samc plot draws sharpness.png from the worst_linf column" \
    bash -c "$SAMC plot '$T/m' >/dev/null && [ -s '$T/m/plots/sharpness.png' ]"
check "sharpness.png is a PNG of a few KB" pngs "$T/m/plots/sharpness.png"

# SVG into another directory
check "--format svg --out DIR (created, with parents)" $SAMC plot "$T/m" --format svg --out "$T/svg/a/b"
check "the six figures are SVG files" \
    bash -c "for f in loss accuracy step_size batch_rho grad_norm sharpness; do grep -q '<svg' '$T/svg/a/b/'\$f.svg || exit 1; done"
check "--format=svg form too" bash -c "$SAMC plot '$T/run' --format=svg --out='$T/svg2' >/dev/null && grep -q '<svg' '$T/svg2/loss.svg'"
check "titles say what is plotted" grep -q 'step size gamma_t (Polyak or scheduled)' "$T/svg/a/b/step_size.svg"

# regression: no accuracy figure
check "train a regression (synthetic ridge, Polyak steps, growing batches)" \
    $SAMC train --data synth:ridge,n=400,d=20,kappa=100 --model linear --opt sam --lr polyak \
        --batch 10 --batch-schedule exp:2@2 --epochs 4 --out "$T/reg" --quiet
check "samc plot on a regression run" $SAMC plot "$T/reg"
check "no accuracy.png when every accuracy is nan" test ! -e "$T/reg/plots/accuracy.png"
check "the other figures are there" \
    pngs "$T/reg/plots/loss.png" "$T/reg/plots/step_size.png" "$T/reg/plots/batch_rho.png" "$T/reg/plots/grad_norm.png"

# columns are read by name: shuffle the columns of both files
awk -F, -v OFS=, '{ print $10,$9,$8,$7,$6,$5,$4,$3,$2,$1 }' "$T/run/steps.csv" >"$T/perm.steps"
mkdir -p "$T/perm"
mv "$T/perm.steps" "$T/perm/steps.csv"
awk -F, -v OFS=, '{ t = $1; $1 = $6; $6 = t; print }' "$T/run/metrics.csv" >"$T/perm/metrics.csv"
check "columns found by name, in any order" \
    bash -c "$SAMC plot '$T/perm' >/dev/null && [ -s '$T/perm/plots/loss.png' ] && [ -s '$T/perm/plots/accuracy.png' ]"

# a long run is subsampled, not handed whole to gnuplot
mkdir -p "$T/long"
head -1 "$T/run/steps.csv" >"$T/long/steps.csv"
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "%d,%d,32,%.6g,0.05,%.6g,%.6g,%.6g,%.6g,0.1\n", i, int(i / 1000), (i % 3 ? 0.1 / (1 + i / 1000) : 0), 1 / (1 + i / 100), 1.1 / (1 + i / 100), 1 / sqrt(1 + i), 1.2 / sqrt(1 + i) }' \
    >>"$T/long/steps.csv"
cp "$T/run/metrics.csv" "$T/long/metrics.csv"
check "200000 steps: plotted, and the title says 1 in 10 steps" \
    bash -c "$SAMC plot '$T/long' --format svg >/dev/null && grep -q '1 in 10 of 200000 steps' '$T/long/plots/loss.svg'"
check "200000 steps: step size counts the zero steps" grep -q 'gamma_t &lt;= 0 at 66667 of 200000 steps\|gamma_t <= 0 at 66667 of 200000 steps' "$T/long/plots/step_size.svg"

# bad input: one line, non-zero exit
fails "no OUT argument" 'samc: error: .*run directory' $SAMC plot
fails "missing OUT directory" 'samc: error: .*no-such-dir' $SAMC plot "$T/no-such-dir"
mkdir -p "$T/empty"
fails "OUT without the CSV files" 'samc: error: cannot open .*(metrics|steps)\.csv' $SAMC plot "$T/empty"
check "nothing created for a failed plot" test ! -e "$T/empty/plots"
mkdir -p "$T/badcol"
cut -d, -f1-6 "$T/run/steps.csv" >"$T/badcol/steps.csv"
cp "$T/run/metrics.csv" "$T/badcol/"
fails "steps.csv without the needed columns" 'samc: error: .*steps\.csv lacks the column\(s\) loss_perturbed, grad_norm' $SAMC plot "$T/badcol"
mkdir -p "$T/badmet"
cut -d, -f1-5 "$T/run/metrics.csv" >"$T/badmet/metrics.csv"
cp "$T/run/steps.csv" "$T/badmet/"
fails "metrics.csv without the needed columns" 'samc: error: .*metrics\.csv lacks the column\(s\) train_loss' $SAMC plot "$T/badmet"
mkdir -p "$T/badnum"
sed '3s/^\([^,]*\),/\1,x/' "$T/run/steps.csv" >"$T/badnum/steps.csv"
sed '3s/,[^,]*$/,oops/' "$T/run/metrics.csv" >"$T/badnum/metrics.csv"
fails "a value that is not a number" 'samc: error: .*line 3, column .*is not a number' $SAMC plot "$T/badnum"
mkdir -p "$T/hdr"
head -1 "$T/run/steps.csv" >"$T/hdr/steps.csv"
cp "$T/run/metrics.csv" "$T/hdr/"
fails "steps.csv with a header and no rows" 'samc: error: .*no rows' $SAMC plot "$T/hdr"
fails "unknown format" "samc: error: .*unknown format 'jpg'" $SAMC plot "$T/run" --format jpg
fails "unknown flag" "samc: error: unknown flag '--bogus'" $SAMC plot "$T/run" --bogus
fails "two run directories" 'samc: error: unexpected argument' $SAMC plot "$T/run" "$T/m"
fails "gnuplot missing from PATH" '^samc: error: gnuplot not found: install gnuplot-nox$' \
    env PATH=/nonexistent "$SAMC" plot "$T/run" --out "$T/nognuplot"
check "samc plot --help shows the usage" bash -c "$SAMC plot --help | grep -q 'samc plot OUT'"
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho "  plot x" >&2\necho "       ^" >&2\necho "\\"plot.gp\\" line 9: undefined variable: x" >&2\necho >&2\nexit 1\n' >"$T/fakebin/gnuplot"
chmod +x "$T/fakebin/gnuplot"
fails "gnuplot failing: its exit status checked, its message in one line" \
    '^samc: error: gnuplot failed \(exit 1\): "plot.gp" line 9: undefined variable: x$' \
    env PATH="$T/fakebin" "$SAMC" plot "$T/run" --out "$T/fail"
