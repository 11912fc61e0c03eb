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
fails "a value that is not a number" 'samc: error: .*csv:3: column .*is not a number' $SAMC plot "$T/badnum"
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

# ---- samc plot --compare: one column of several runs in one figure
# block FILE K COL: column COL of data block K of a --keep-script .dat file
block() { awk -v k="$2" -v c="$3" '/^#/ { next } NF == 0 { blank++; next } { if (blank >= 2) b++; blank = 0; if (b == k) printf "%s ", $c }' "$1"; }
export -f block
HDR=step,epoch,batch_size,lr,rho,loss,loss_perturbed,grad_norm,grad_norm_perturbed,polyak_numerator
MHDR=epoch,step,batch_size,lr,rho,train_loss,train_acc,test_loss,test_acc,time_s,val_loss,val_acc
mkdir -p "$T/ca" "$T/cb"
{ echo $HDR; i=0; for l in 5 3 4 2 2.5 1 1.5 0.5; do echo "$i,$((i / 4)),8,0.1,0.05,$l,1,$l,1,0"; i=$((i + 1)); done; } >"$T/ca/steps.csv"
printf '%s\n1,4,8,0.1,0.05,2,0.5,2.5,0.5,0.1,nan,nan\n2,8,8,0.1,0.05,0.5,0.7,0.8,0.6,0.2,nan,nan\n' $MHDR >"$T/ca/metrics.csv"
{ echo $HDR; i=0; for l in 1 2 0.25 0.75; do echo "$i,0,8,0.1,0.05,$l,1,1,1,0"; i=$((i + 1)); done; } >"$T/cb/steps.csv"
cp "$T/ca/metrics.csv" "$T/cb/"
C=$T/cmp
check "--compare --running-min writes a PNG (and the script and data with --keep-script)" \
    $SAMC plot --compare "$T/ca=A" "$T/cb=B" --y loss --running-min --keep-script --output "$C/rm.png"
check "the PNG is a PNG of a few KB" pngs "$C/rm.png"
check "--running-min: run A plotted as the minimum so far" test "$(block "$C/rm.dat" 0 2)" = "5 3 3 2 2 1 1 0.5 "
check "--running-min: run B too, at its own steps" \
    bash -c "[ '$(block "$C/rm.dat" 1 2)' = '1 1 0.25 0.25 ' ] && [ '$(block "$C/rm.dat" 1 1)' = '0 1 2 3 ' ]"
check "--running-min: every line is non-increasing" \
    bash -c "awk '/^#/ { next } NF == 0 { p = \"\"; next } p != \"\" && \$2 > p { exit 1 } { p = \$2 }' '$C/rm.dat'"
check "one line per run, with its label" bash -c "grep -q 'index 0 .*title \"A\"' '$C/rm.gp' && grep -q 'index 1 .*title \"B\"' '$C/rm.gp'"
check "without --keep-script no script or data is left, the temporary directory is removed" \
    bash -c "mkdir -p '$T/tmpd' && TMPDIR='$T/tmpd' $SAMC plot --compare '$T/ca' --y loss --output '$C/plain.png' >/dev/null \
             && [ -s '$C/plain.png' ] && [ ! -e '$C/plain.gp' ] && [ ! -e '$C/plain.dat' ] && [ -z \"\$(ls -A '$T/tmpd')\" ]"
check "--minus F subtracts F from every value (SVG)" \
    bash -c "$SAMC plot --compare '$T/ca' --y loss --minus 0.5 --keep-script --output '$C/minus.svg' >/dev/null \
             && [ \"\$(block '$C/minus.dat' 0 2)\" = '4.5 2.5 3.5 1.5 2 0.5 1 0 ' ] && grep -q '<svg' '$C/minus.svg'"
check "--logy leaves out y <= 0, --logx x <= 0, and says how many" \
    bash -c "$SAMC plot --compare '$T/ca' --y loss --minus 0.5 --logx --logy --keep-script --output '$C/log.png' >'$C/log.out' \
             && [ \"\$(block '$C/log.dat' 0 1)\" = '1 2 3 4 5 6 ' ] && grep -q '2 points with x <= 0 or y <= 0' '$C/log.out' \
             && grep -q 'set logscale x' '$C/log.gp' && grep -q 'set logscale y' '$C/log.gp'"
check "--x epoch reads metrics.csv, x = its epoch column" \
    bash -c "$SAMC plot --compare '$T/ca' --y test_acc --x epoch --keep-script --output '$C/ep.png' >/dev/null \
             && [ \"\$(block '$C/ep.dat' 0 1)|\$(block '$C/ep.dat' 0 2)\" = '1 2 |0.5 0.6 ' ]"
check "--x step with a column only metrics.csv has: x = metrics' step column" \
    bash -c "$SAMC plot --compare '$T/ca' --y train_loss --keep-script --output '$C/ms.png' >/dev/null \
             && [ \"\$(block '$C/ms.dat' 0 1)|\$(block '$C/ms.dat' 0 2)\" = '4 8 |2 0.5 ' ] && grep -q 'metrics.csv' '$C/ms.dat'"
check "--ref: expressions in x drawn as given, ^ as a power, integers as reals" \
    bash -c "$SAMC plot --compare '$T/ca' --y loss --ref '0.5/x=O(1/T)' --ref '1e2*0.99**x=bound' --ref '2*x^2 + sqrt(x)/3' \
             --keep-script --output '$C/ref.png' >/dev/null && grep -qF '(0.5/x) w l' '$C/ref.gp' && grep -qF 'title \"O(1/T)\"' '$C/ref.gp' \
             && grep -qF '(1e2*0.99**x) w l' '$C/ref.gp' && grep -qF '(2.0*x**2.0+sqrt(x)/3.0) w l' '$C/ref.gp' \
             && grep -qF 'title \"2*x^2 + sqrt(x)/3\"' '$C/ref.gp'"
check "titles and labels cannot run commands or end their string" \
    bash -c "$SAMC plot --compare '$T/ca=say \"hi\" \`touch $T/pwned1\`' --y loss --title 'a \`touch $T/pwned2\` \" b' \
             --ylabel 'c\\\\' --output '$C/q.svg' >/dev/null && [ ! -e '$T/pwned1' ] && [ ! -e '$T/pwned2' ] \
             && grep -q 'say &quot;hi&quot; .touch\|say \"hi\" .touch' '$C/q.svg'"
fails "--ref refuses anything but numbers, x, operators and a few functions" \
    "samc: error: --ref: '\"' not allowed here" $SAMC plot --compare "$T/ca" --y loss --ref 'x"; system("touch '"$T"'/pwned3")=a' --output "$C/x.png"
check "... and nothing was run" test ! -e "$T/pwned3"
fails "--ref: unknown names" "samc: error: --ref: unknown name 'system'" $SAMC plot --compare "$T/ca" --y loss --ref 'system(1)' --output "$C/x.png"
fails "--ref: malformed expression" "samc: error: --ref: .*ends in an operator" $SAMC plot --compare "$T/ca" --y loss --ref 'x+=a' --output "$C/x.png"
fails "--ref: unbalanced parentheses" "samc: error: --ref: unbalanced '\('" $SAMC plot --compare "$T/ca" --y loss --ref '(1/x' --output "$C/x.png"

# a long run is subsampled, keeping the first and the last row; the running
# minimum is still over every row
mkdir -p "$T/spike"
{ echo $HDR; awk 'BEGIN { for (i = 0; i < 100000; i++) printf "%d,0,8,0.1,0.05,%s,1,1,1,0\n", i, i == 12343 ? "0.25" : 1 + i / 1e5 }'; } >"$T/spike/steps.csv"
check "100000 steps: plotted, 1 in 5 rows said on stdout" \
    bash -c "$SAMC plot --compare '$T/spike' --y loss --keep-script --output '$C/long.png' | grep -q '1 in 5 of 100000 rows'"
check "subsampled: rows 0, 5, ..., 99995 and the last, 99999, with their values" \
    bash -c "x=\$(block '$C/long.dat' 0 1); y=\$(block '$C/long.dat' 0 2); set -- \$x; [ \$# -eq 20001 ] && [ \$1 = 0 ] && [ \$2 = 5 ] \
             && [ \${20000} = 99995 ] && [ \${20001} = 99999 ] && set -- \$y && [ \$1 = 1 ] && [ \$2 = 1.00005 ] && [ \${20001} = 1.99999 ]"
check "the row between the kept ones is not plotted" bash -c "! grep -q ' 0.25\$' '$C/long.dat'"
check "--running-min over every row: 0.25 (row 12343, not kept) from step 12345 on" \
    bash -c "$SAMC plot --compare '$T/spike' --y loss --running-min --keep-script --output '$C/longmin.png' >/dev/null \
             && awk '/^#/ || NF == 0 { next } (\$1 < 12343 && \$2 != 1 && \$1 > 0) || (\$1 >= 12345 && \$2 != 0.25) { exit 1 }' '$C/longmin.dat' \
             && grep -q '^12345 0.25\$' '$C/longmin.dat' && grep -q '^99999 0.25\$' '$C/longmin.dat'"
check "--compare on real runs (SVG, labels in the figure)" \
    bash -c "$SAMC plot --compare '$T/run=first run' '$T/m=second run' --y grad_norm --logy --output '$C/real.svg' >/dev/null \
             && grep -q 'first run' '$C/real.svg' && grep -q 'second run' '$C/real.svg'"
fails "--compare: a column in neither file" "samc: error: column 'nope' is in neither .*ca/steps.csv nor .*ca/metrics.csv" \
    $SAMC plot --compare "$T/ca" --y nope --output "$T/nocreate/a.png"
check "nothing created for a failed --compare" test ! -e "$T/nocreate"
fails "--compare --x epoch: a steps.csv column" "samc: error: .*metrics.csv has no column 'loss'.*use --x step" \
    $SAMC plot --compare "$T/ca" --y loss --x epoch --output "$C/x.png"
fails "--compare: a missing run directory" "samc: error: run directory .*no-such-run" $SAMC plot --compare "$T/ca" "$T/no-such-run" --y loss --output "$C/x.png"
fails "--compare: a run without its CSV files" "samc: error: cannot open .*empty/steps.csv" $SAMC plot --compare "$T/empty" --y loss --output "$C/x.png"
fails "--compare: a value that is not a number" "samc: error: .*steps.csv:3: column epoch: 'x0' is not a number" \
    $SAMC plot --compare "$T/badnum" --y epoch --output "$C/x.png"
fails "--compare without --y" "samc: error: samc plot --compare needs --y COLUMN" $SAMC plot --compare "$T/ca" --output "$C/x.png"
fails "--compare without --output" "samc: error: samc plot --compare needs --output" $SAMC plot --compare "$T/ca" --y loss
fails "--output of another format" "samc: error: --output: .*must end in .png or .svg" $SAMC plot --compare "$T/ca" --y loss --output "$C/x.jpg"
fails "--x neither step nor epoch" "samc: error: --x: 'time' is not step or epoch" $SAMC plot --compare "$T/ca" --y loss --x time --output "$C/x.png"
fails "--minus not a number" "samc: error: --minus: 'fstar' is not a finite number" $SAMC plot --compare "$T/ca" --y loss --minus fstar --output "$C/x.png"
fails "a --summary flag with --compare" "samc: error: --group is a flag of samc plot --summary, not --compare" \
    $SAMC plot --compare "$T/ca" --y loss --group opt --output "$C/x.png"
fails "--compare: unknown flag" "samc: error: unknown flag '--bogus' for samc plot --compare" $SAMC plot --compare "$T/ca" --y loss --bogus --output "$C/x.png"
fails "a column with no finite value" "samc: error: .*metrics.csv: no finite value of val_acc" $SAMC plot --compare "$T/ca" --y val_acc --output "$C/x.png"

# ---- samc plot --summary: a table of results, a line per group
cat >"$T/sum.csv" <<'CSV'
method,lr,acc,acc_std
sgd,0.1,0.80,0.01
sam,0.1,0.82,0.02
sgd,0.01,0.70,0.03
sam, 0.01 ,0.75,0.01
sgd,1,0.60,0.05
sam,1,0.65,0.04
sam,10,nan,0
CSV
printf 'seed,acc,sched\n1,0.9,polyak\n2,0.92,polyak\n1,0.5,const\n' >"$T/polyak.csv"
check "--summary --group --err --hline --hline-from writes a PNG" \
    $SAMC plot --summary "$T/sum.csv" --x lr --y acc --group method --err acc_std --hline 0.85=Polyak \
        --hline-from "$T/polyak.csv:acc" --hline-from "$T/polyak.csv:acc:sched" --logx --keep-script --output "$C/sum.png"
check "the summary PNG is a PNG of a few KB" pngs "$C/sum.png"
check "--group: the first group's rows sorted by x, with their error bars" \
    test "$(block "$C/sum.dat" 0 1)|$(block "$C/sum.dat" 0 2)|$(block "$C/sum.dat" 0 3)" = "0.01 0.1 1 |0.7 0.8 0.6 |0.03 0.01 0.05 "
check "--group: the second group's, a nan row left out" \
    test "$(block "$C/sum.dat" 1 1)|$(block "$C/sum.dat" 1 2)|$(block "$C/sum.dat" 1 3)" = "0.01 0.1 1 |0.75 0.82 0.65 |0.01 0.02 0.04 "
check "--group: lines in order of first appearance, with error bars" \
    bash -c "grep -q 'index 0 using 1:2:3 w yerrorlines.*title \"sgd\"' '$C/sum.gp' && grep -q 'index 1 using 1:2:3 w yerrorlines.*title \"sam\"' '$C/sum.gp'"
check "--hline VALUE=LABEL: a horizontal line at VALUE" grep -q '^     (0.85) w l .*title "Polyak"' "$C/sum.gp"
check "--hline-from F:COL: the mean of the column" grep -qF '     (0.773333333) w l dt 3 lw 2 lc rgb '"'#404040'"' title "polyak.csv: acc (mean of 3)"' "$C/sum.gp"
check "--hline-from F:COL:GROUP: the mean per group" \
    bash -c "grep -q '^     (0.91) w l .*title \"polyak (mean of 2)\"' '$C/sum.gp' && grep -q '^     (0.5) .*title \"const\"' '$C/sum.gp'"
check "--summary without --group: one line of all rows sorted by x (SVG)" \
    bash -c "$SAMC plot --summary '$T/sum.csv' --x lr --y acc --keep-script --output '$C/one.svg' >/dev/null && grep -q '<svg' '$C/one.svg' \
             && [ \"\$(block '$C/one.dat' 0 1)|\$(block '$C/one.dat' 0 2)\" = '0.01 0.01 0.1 0.1 1 1 |0.7 0.75 0.8 0.82 0.6 0.65 ' ] \
             && [ -z \"\$(block '$C/one.dat' 1 1)\" ]"
sed 's/^sgd,1,0.60/sgd,1,high/' "$T/sum.csv" >"$T/sumbad.csv"
fails "--summary: a value that is not a number names the file, line and column" \
    "samc: error: .*sumbad.csv:6: column acc: 'high' is not a number" \
    $SAMC plot --summary "$T/sumbad.csv" --x lr --y acc --output "$C/x.png"
sed 's/^sam,1,0.65,0.04/sam,1,0.65,/' "$T/sum.csv" >"$T/sumempty.csv"
fails "--summary: an empty field" "samc: error: .*sumempty.csv:7: column acc_std: empty field" \
    $SAMC plot --summary "$T/sumempty.csv" --x lr --y acc --err acc_std --output "$C/x.png"
fails "--summary: a missing column" "samc: error: .*sum.csv has no column 'loss'" $SAMC plot --summary "$T/sum.csv" --x lr --y loss --output "$C/x.png"
fails "--summary: a missing --group column" "samc: error: .*sum.csv has no column 'opt' \(--group" \
    $SAMC plot --summary "$T/sum.csv" --x lr --y acc --group opt --output "$C/x.png"
fails "--summary: a missing file" "samc: error: cannot open .*nofile.csv" $SAMC plot --summary "$T/nofile.csv" --x a --y b --output "$C/x.png"
fails "--summary without --x" "samc: error: samc plot --summary needs --x COL and --y COL" $SAMC plot --summary "$T/sum.csv" --y acc --output "$C/x.png"
fails "--hline not a number" "samc: error: --hline: 'top' is not a finite number" \
    $SAMC plot --summary "$T/sum.csv" --x lr --y acc --hline top=x --output "$C/x.png"
fails "--hline-from without a column" "samc: error: --hline-from: .* is not FILE.csv:COL" \
    $SAMC plot --summary "$T/sum.csv" --x lr --y acc --hline-from "$T/polyak.csv" --output "$C/x.png"
fails "a --compare flag with --summary" "samc: error: --running-min is a flag of samc plot --compare, not --summary" \
    $SAMC plot --summary "$T/sum.csv" --x lr --y acc --running-min --output "$C/x.png"
fails "--compare and --summary together" "samc: error: --compare and --summary are two modes" \
    $SAMC plot --compare "$T/ca" --summary "$T/sum.csv" --y acc --output "$C/x.png"
fails "--format with the new modes" "samc: error: --format is a flag of samc plot OUT" \
    $SAMC plot --summary "$T/sum.csv" --x lr --y acc --format svg --output "$C/x.png"
check "samc plot --help documents --compare and --summary" \
    bash -c "$SAMC plot --help | grep -q 'samc plot --compare OUT\[=LABEL\]... --y COLUMN' && $SAMC plot --help | grep -q 'samc plot --summary FILE.csv --x COL --y COL'"
