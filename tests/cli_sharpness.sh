#!/usr/bin/env bash
# tests/cli_sharpness.sh -- `samc sharpness` and `samc train --measure-every`:
# output formats, measures as metrics.csv columns, and bad input.
. "$(dirname "$0")/testlib.sh"

$SAMC train --data libsvm:$HEART --model logreg --epochs 3 --out "$T/run" --quiet
$SAMC sharpness --checkpoint "$T/run/final.ckpt" --data libsvm:$HEART --metric all >"$T/all.txt" 2>/dev/null
# the run's data flags come from OUT/config.txt; other data is refused
$SAMC train --data libsvm:$HEART --model logreg --epochs 1 --normalize --train-rows 200 --out "$T/norm" --quiet
$SAMC sharpness --checkpoint "$T/norm/final.ckpt" --metric full-grad-norm >"$T/n1.txt" 2>/dev/null
$SAMC sharpness --checkpoint "$T/norm/final.ckpt" --metric full-grad-norm --data libsvm:$HEART --normalize \
    --train-rows 200 >"$T/n2.txt" 2>/dev/null
check "config.txt's data flags are used: same value as with the flags given" \
    bash -c "test -s '$T/n1.txt' && cmp -s '$T/n1.txt' '$T/n2.txt'"
cp "$T/norm/final.ckpt" "$T/lone.ckpt"
fails "a checkpoint measured on other data is refused" "trained on other data.*200 rows there, 270 here" \
    $SAMC sharpness --checkpoint "$T/lone.ckpt" --data libsvm:$HEART --normalize
fails "a flag overriding config.txt with other data is refused" "trained on other data" \
    $SAMC sharpness --checkpoint "$T/norm/final.ckpt" --train-rows 100
check "all eight measures, one line each, in order" \
    test "$(cut -d' ' -f1 "$T/all.txt" | paste -sd,)" = "worst_linf,worst_l2,adaptive_linf,adaptive_l2,avg,hessian_top,hessian_trace,full_grad_norm"
check "worst-case sharpness is >= 0" awk '$1 ~ /^(worst|adaptive)/ && !($2 >= 0) {bad=1} END{exit bad}' "$T/all.txt"
check "estimates carry a standard error" awk '$1=="avg" || $1=="hessian_trace" {if (NF != 3) bad=1} END{exit bad}' "$T/all.txt"
check "the top Hessian eigenvalue is positive (logistic loss is convex)" awk '$1=="hessian_top" {exit !($2 > 0)}' "$T/all.txt"
check "same seed, same numbers" \
    bash -c "$SAMC sharpness --checkpoint '$T/run/final.ckpt' --data libsvm:$HEART --metric all 2>/dev/null | cmp -s - '$T/all.txt'"
check "a larger ball is sharper" bash -c "
    a=\$($SAMC sharpness --checkpoint '$T/run/final.ckpt' --data libsvm:$HEART --rho 1e-3 2>/dev/null | cut -d' ' -f2)
    b=\$($SAMC sharpness --checkpoint '$T/run/final.ckpt' --data libsvm:$HEART --rho 1e-2 2>/dev/null | cut -d' ' -f2)
    awk -v a=\$a -v b=\$b 'BEGIN{exit !(b > a)}'"
check "csv format" bash -c "$SAMC sharpness --checkpoint '$T/run/final.ckpt' --data libsvm:$HEART --metric worst-l2,avg --format csv \
    | head -1 | grep -qx 'measure,value,stderr,seconds'"
check "json format parses" bash -c "$SAMC sharpness --checkpoint '$T/run/final.ckpt' --data libsvm:$HEART --metric hessian-top --format json \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"measures\"][\"hessian_top\"][\"value\"] > 0'"

# JSON and CSV through their parsers, for a run whose path holds a quote, a
# backslash, a comma and non-ASCII characters; the same names and values as
# the table (values at 9 digits in every format)
Q="$T/run \"q\" \\ b,c é"
$SAMC train --data libsvm:$HEART --model logreg --epochs 2 --out "$Q" --quiet
$SAMC sharpness --checkpoint "$Q/final.ckpt" --metric worst-l2,avg,hessian-top >"$T/q.txt" 2>/dev/null
$SAMC sharpness --checkpoint "$Q/final.ckpt" --metric worst-l2,avg,hessian-top --format json >"$T/q.json" 2>/dev/null
$SAMC sharpness --checkpoint "$Q/final.ckpt" --metric worst-l2,avg,hessian-top --format csv >"$T/q.csv" 2>/dev/null
export Q T
check "json: the checkpoint path with \", \\, a comma and é comes back whole, names and values as in the table" python3 -c '
import json, os
d = json.load(open(os.environ["T"] + "/q.json", encoding="utf-8"))
assert d["checkpoint"] == os.environ["Q"] + "/final.ckpt", d["checkpoint"]
assert d["model"] == "logreg"
table = [l.split() for l in open(os.environ["T"] + "/q.txt")]
assert list(d["measures"]) == [t[0] for t in table] == ["worst_l2", "avg", "hessian_top"]
for t in table:
    m = d["measures"][t[0]]
    assert m["value"] == float(t[1]), (m, t)
    assert ("stderr" in m) == (len(t) == 3) and (len(t) < 3 or m["stderr"] == float(t[2])), (m, t)
    assert m["seconds"] >= 0
'
check "csv: parsed by the csv module, names and values as in the table" python3 -c '
import csv, os
rows = list(csv.reader(open(os.environ["T"] + "/q.csv", newline="")))
assert rows[0] == ["measure", "value", "stderr", "seconds"], rows[0]
table = [l.split() for l in open(os.environ["T"] + "/q.txt")]
assert [r[0] for r in rows[1:]] == [t[0] for t in table]
for r, t in zip(rows[1:], table):
    assert float(r[1]) == float(t[1]) and (r[2] == "nan") == (len(t) == 2), (r, t)
'

$SAMC train --data libsvm:$HEART --model logreg --epochs 2 --measure-every 1 --metric worst-linf,hessian-top --out "$T/m" --quiet
check "--measure-every adds the measures as metrics.csv columns" \
    bash -c "head -1 '$T/m/metrics.csv' | grep -q ',worst_linf,hessian_top\$'"
check "measured every epoch" awk -F, 'NR>1 && ($13 == "nan" || $14 == "nan") {bad=1} END{exit bad || NR != 3}' "$T/m/metrics.csv"

fails "missing checkpoint flag" "checkpoint FILE is required" $SAMC sharpness --data libsvm:$HEART
fails "missing checkpoint file" "nope.ckpt" $SAMC sharpness --checkpoint "$T/nope.ckpt" --data libsvm:$HEART
cp "$T/run/final.ckpt" "$T/bad.ckpt"
printf '\x00\x01' | dd of="$T/bad.ckpt" bs=1 seek=270 conv=notrunc 2>/dev/null
fails "corrupt checkpoint" "checksum" $SAMC sharpness --checkpoint "$T/bad.ckpt" --data libsvm:$HEART
fails "checkpoint and data disagree" "trained on other data .*50 here" \
    $SAMC sharpness --checkpoint "$T/run/final.ckpt" --data synth:logreg,n=50,d=5,kappa=2
fails "unknown measure" "unknown measure 'sharpest'" $SAMC sharpness --checkpoint "$T/run/final.ckpt" --metric sharpest
fails "negative radius" "radius" $SAMC sharpness --checkpoint "$T/run/final.ckpt" --data libsvm:$HEART --rho -1
fails "train flag not taken by sharpness" "unknown flag '--opt'" $SAMC sharpness --opt sam
