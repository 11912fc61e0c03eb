#!/usr/bin/env bash
# tests/cli_export.sh -- `samc eval`, `samc predict` and `samc export` on
# short runs of every model: eval gives metrics.csv's test accuracy and loss,
# predict's arg max gives the same accuracy, both exports read back equal to
# the checkpoint, and PyTorch's definitions (tools/) load each export with
# load_state_dict(strict=True) and give samc's logits (tests/export_check.py,
# with the Debian interpreter, which has numpy and torch); then bad input.
. "$(dirname "$0")/testlib.sh"
PY=/usr/bin/python3
CHECK="$(dirname "$0")/export_check.py"
# the runs on the reference engine, one thread (fast to set up; the logits
# PyTorch is compared with come from the default engine)
export OMP_NUM_THREADS=1
R="env SAMC_ENGINE=ref $SAMC"

# SPEC|C|H|W|K: the models checked against PyTorch (a new network adds its line
# here and its definition to TORCH_MODELS in tests/export_check.py)
MODELS="logreg|6|1|1|2 softmax|2|3|3|3 mlp:16,8|1|6|6|3 cnn|1|8|8|4 resnet:8|3|8|8|3 wrn:10-2|3|8|8|3 resnet18|3|8|8|3"

# data of shape C x H x W (flat rows when H = W = 1), K classes, 64 train and 40 test rows
make_data() { # DIR C H W K
    mkdir -p "$1/tr" "$1/te"
    if [ "$3" = 1 ]; then make_npy "$1/tr" 1 "$5" 64 "$2"; make_npy "$1/te" 2 "$5" 40 "$2"
    else make_npy "$1/tr" 1 "$5" 64 "$2" "$3" "$4"; make_npy "$1/te" 2 "$5" 40 "$2" "$3" "$4"; fi
}

for m in $MODELS; do
    IFS='|' read -r spec C H W K <<<"$m"
    D="$T/${spec//[:,]/_}"
    make_data "$D" "$C" "$H" "$W" "$K"
    $R train --data "npy:$D/tr/x.npy,$D/tr/y.npy,$D/te/x.npy,$D/te/y.npy" --model "$spec" --steps 3 --batch 16 \
        --lr 0.1 --l2 1e-3 --out "$D/run" --quiet
    ck="$D/run/final.ckpt"
    $R eval --checkpoint "$ck" --format json >"$D/eval.json"
    $R predict --checkpoint "$ck" --output "$D/p.npy"
    $R predict --checkpoint "$ck" --output "$D/p.csv"
    $SAMC predict --checkpoint "$ck" --logits --output "$D/z.npy"
    $SAMC export --checkpoint "$ck" --output "$D/npy"
    $SAMC export --checkpoint "$ck" --output "$D/m.safetensors"
    export D
    check "$spec: eval gives metrics.csv's test_acc (exactly) and test_loss (with the l2 term)" $PY -c '
import csv, json, os
D = os.environ["D"]
row = list(csv.DictReader(open(D + "/run/metrics.csv")))[-1]
e = json.load(open(D + "/eval.json"))
assert e["rows"] == 40
assert "%.9g" % e["accuracy"] == row["test_acc"], (e["accuracy"], row["test_acc"])
assert abs(e["loss"] - float(row["test_loss"])) <= 1e-8 * abs(e["loss"]), (e["loss"], row["test_loss"])
conf = e["confusion"]
assert sum(map(sum, conf)) == 40 and sum(conf[k][k] for k in range(len(conf))) == round(40 * e["accuracy"])
for k, c in enumerate(e["classes"]):
    assert c["rows"] == sum(conf[k]) and (c["rows"] == 0 or abs(c["accuracy"] - conf[k][k] / c["rows"]) < 1e-12)'
    check "$spec: predict's arg max gives the test accuracy; rows are probabilities; csv = npy" $PY -c '
import json, os
import numpy as np
D = os.environ["D"]
p = np.load(D + "/p.npy"); y = np.load(D + "/te/y.npy")
c = np.loadtxt(D + "/p.csv", delimiter=",", skiprows=1, ndmin=2)
assert p.dtype == np.float32 and p.shape[0] == 40 and c.shape == p.shape
assert np.allclose(c, p, rtol=1e-7, atol=0)
if p.shape[1] == 1: pred = (p[:, 0] >= 0.5).astype(int)
else: pred = p.argmax(1); assert np.allclose(p.sum(1), 1, atol=1e-6)
acc = json.load(open(D + "/eval.json"))["accuracy"]
assert (pred == y).sum() == round(40 * acc), ((pred == y).sum(), acc)'
    check "$spec: the npy folder and the safetensors file read back equal to the checkpoint" \
        $PY "$CHECK" files "$ck" "$D/npy" "$D/m.safetensors"
    echo "$ck $D/npy $D/m.safetensors $spec $C $H $W $K $D/te/x.npy $D/z.npy" >>"$T/cases"
done
check "PyTorch's definitions load every export with load_state_dict(strict=True) and give samc's logits to 1e-5" \
    $PY "$CHECK" torch "$T/cases"
sed 's/^/# /' "$T/last.out"

# the table and csv formats say the same as the json
D="$T/cnn"
check "eval: table, csv and json agree" $PY - "$D" "$SAMC" <<'PY'
import csv, io, json, subprocess, sys
D, samc = sys.argv[1], sys.argv[2]
run = lambda fmt: subprocess.run([samc, "eval", "--checkpoint", D + "/run/final.ckpt", "--format", fmt],
                                 check=True, capture_output=True, text=True).stdout
j = json.loads(run("json"))
rows = list(csv.DictReader(io.StringIO(run("csv"))))
get = lambda m, c="", p="": float(next(r["value"] for r in rows if (r["metric"], r["class"], r["predicted"]) == (m, c, p)))
assert get("accuracy") == float("%.9g" % j["accuracy"]) and get("rows") == 40
assert all(get("confusion", str(k), str(q)) == j["confusion"][k][q] for k in range(4) for q in range(4))
table = run("table").split("\n")
assert table[4].split()[:2] == ["accuracy", "%.9g" % j["accuracy"]], table[4]
PY
check "predict on a linear least-squares run: the predictions" bash -c "
    $R train --data synth:ridge,n=50,d=5,kappa=10,test=20 --model linear --no-bias --steps 5 --out '$T/lin' --quiet &&
    $SAMC predict --checkpoint '$T/lin/final.ckpt' --output '$T/lin/p.csv' && head -1 '$T/lin/p.csv' | grep -qx prediction &&
    test \$(wc -l <'$T/lin/p.csv') = 21 && $SAMC eval --checkpoint '$T/lin/final.ckpt' | grep -q '^rows *20'"
check "--test-rows: the run's first N test rows in metrics.csv and in eval; eval --test-rows 0 takes all" bash -c "
    $R train --data synth:logreg,n=60,d=4,test=20 --model logreg --steps 5 --test-rows 7 --out '$T/tr7' --quiet &&
    grep -qx 'test-rows = 7' '$T/tr7/config.txt' &&
    $SAMC eval --checkpoint '$T/tr7/final.ckpt' --format csv >'$T/tr7/e.csv' && grep -q '^rows,,,7$' '$T/tr7/e.csv' &&
    $SAMC eval --checkpoint '$T/tr7/final.ckpt' --test-rows 0 | grep -q '^rows *20' &&
    test \$(awk -F, '\$1==\"accuracy\"{print \$4}' '$T/tr7/e.csv') = \$(tail -n 1 '$T/tr7/metrics.csv' | cut -d, -f9)"
fails "--test-rows beyond the test set" "test set has 20 rows" \
    $SAMC train --data synth:logreg,n=60,d=4,test=20 --model logreg --steps 1 --test-rows 21 --out "$T/tr21"

# bad input: one line, non-zero exit, nothing half-written
ck="$T/cnn/run/final.ckpt"
head -c 3000 "$ck" >"$T/cnn/run/cut.ckpt"
fails "a damaged checkpoint is refused" "cut.ckpt" $SAMC export --checkpoint "$T/cnn/run/cut.ckpt" --output "$T/x"
fails "a checkpoint on other data is refused" "trained on other data" \
    $SAMC eval --checkpoint "$ck" --data "npy:$T/mlp_16_8/tr/x.npy,$T/mlp_16_8/tr/y.npy"
# the cnn checkpoint relabelled as another model (the checksum redone)
python3 - "$ck" "$T/cnn/run/other.ckpt" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
b[16:144] = b"mlp:4".ljust(128, b"\0")
b[-4:] = struct.pack("<I", zlib.crc32(bytes(b[:-4])))
open(sys.argv[2], "wb").write(b)
PY
fails "a checkpoint of another model is refused" "holds [0-9]+ parameters and 0 buffers of model mlp:4" \
    $SAMC export --checkpoint "$T/cnn/run/other.ckpt" --output "$T/x"
fails "data without a test set" "no test set" $SAMC eval --checkpoint "$ck" --data "npy:$T/cnn/tr/x.npy,$T/cnn/tr/y.npy"
fails "predict: an unwritable output" "cannot write" $SAMC predict --checkpoint "$ck" --output "$T/none/p.csv"
fails "predict: an output that is neither csv nor npy" "\.csv or \.npy" $SAMC predict --checkpoint "$ck" --output "$T/p.txt"
fails "export: an unwritable output" "cannot (write|create)" $SAMC export --checkpoint "$ck" --output "$T/none/m.safetensors"
mkdir -p "$T/full" && touch "$T/full/keep"
fails "export: a folder that exists and is not empty is left alone" "not empty" \
    $SAMC export --checkpoint "$ck" --output "$T/full"
check "nothing half-written is left behind" bash -c "
    test ! -e '$T/x' && test ! -e '$T/x.tmp' && test ! -e '$T/p.txt' && test ! -e '$T/full.tmp' &&
    test \"\$(ls '$T/full')\" = keep && test -z \"\$(find '$T' -name '*.tmp')\""
fails "eval: an unknown format" "table, csv or json" $SAMC eval --checkpoint "$ck" --format xml
fails "export: an unknown format" "npy or safetensors" $SAMC export --checkpoint "$ck" --output "$T/y" --format onnx
fails "a missing --checkpoint" "checkpoint FILE is required" $SAMC eval
fails "an unknown flag" "unknown flag '--bogus'" $SAMC predict --checkpoint "$ck" --output "$T/q.csv" --bogus
