#!/usr/bin/env bash
# tests/cli_models.sh -- the papers' CIFAR models through `samc train` on a
# CIFAR-100-format directory written here: resnet18, wrn:16-8 and wrn:28-10
# each take a training step, with the parameter counts of their PyTorch
# definitions at 100 classes (tools/make_torch_fixtures.py; at 10 classes
# tests/test_nn.c checks 11,173,962 and 36,479,194).  train.bin holds one
# record per fine label, so the data have 100 classes; --train-rows keeps the
# evaluation to 2 rows.  wrn:28-10 runs at the smallest size that still takes
# a step (SGD, batch 1): its SAM step at batch 2 costs about 3x as much.
# Last, --dropout and an exact resume through the checkpoint.
. "$(dirname "$0")/testlib.sh"
python3 - "$T/c100" <<'PY'
import os, random, sys
out = sys.argv[1]
os.makedirs(out)
random.seed(3)
for name, labels in (("train.bin", range(100)), ("test.bin", (4, 57))):
    with open(os.path.join(out, name), "wb") as f:
        for fine in labels:
            f.write(bytes([fine % 20, fine]) + bytes(random.randrange(256) for _ in range(3072)))
PY
one_step() { # one_step MODEL PARAMS FLAGS...: a step, the count, a finite loss
    local m=$1 want=$2; shift 2
    local o="$T/${m//[:-]/_}"
    check "$m on cifar100: one step, $want parameters at 100 classes" bash -c "
        $SAMC train --data cifar100:$T/c100 --model $m --steps 1 --train-rows 2 $* --out $o > $o.log &&
        grep -Eq '^# parameters +$want\$' $o.log &&
        grep -Eq '^# data shape +2 x 3072 train, 0 validation, 2 test, 100 classes' $o.log &&
        test \$(tail -n +2 $o/steps.csv | wc -l) -eq 1 &&
        awk -F, 'NR==2{exit !(\$6 > 0 && \$6 < 1e3)}' $o/steps.csv && test -s $o/final.ckpt"
}
one_step resnet18 11220132 --batch 2 --opt sam --lr 0.01
one_step wrn:16-8 11007540 --batch 2 --opt sam --lr 0.01
one_step wrn:28-10 36536884 --batch 1 --opt sgd --lr 0.01
# the coarse labels: 20 classes
check "cifar100:DIR,coarse has 20 classes" bash -c "
    $SAMC train --data cifar100:$T/c100,coarse --model softmax --steps 1 --batch 2 --out $T/coarse |
    grep -Eq '^# data shape +100 x 3072 train, 0 validation, 2 test, 20 classes'"
fails "an unknown cifar100 option is one line naming it" "unknown option 'fin'" \
    $SAMC train --data "cifar100:$T/c100,fin" --model resnet18 --out "$T/bad" --quiet

# --dropout: the masks come from a stream kept in the checkpoint, so "train
# 3, resume to 6" is "train 6", byte for byte; the dropout changes the run;
# a model without dropout refuses a rate > 0
make_npy "$T" 5 3 24 3 8 8
DROP=(--data "npy:$T/x.npy,$T/y.npy" --model wrn:10-1 --opt sam --lr 0.05 --batch 8 --quiet)
$SAMC train "${DROP[@]}" --dropout 0.3 --steps 6 --out "$T/d6"
$SAMC train "${DROP[@]}" --dropout 0.3 --steps 3 --out "$T/d3"
$SAMC train --resume "$T/d3" --steps 6
check "--dropout 0.3: resume at step 3 gives the same rows and parameters" bash -c "
    cmp $T/d6/steps.csv $T/d3/steps.csv && cmp <(tail -c +513 $T/d6/final.ckpt | head -c -4) \
        <(tail -c +513 $T/d3/final.ckpt | head -c -4)"
check "config.txt records the rate" grep -qx 'dropout = 0.3' "$T/d3/config.txt"
$SAMC train "${DROP[@]}" --steps 6 --out "$T/d0"
check "--dropout 0.3 differs from no dropout" bash -c "! cmp -s $T/d6/steps.csv $T/d0/steps.csv"
fails "--dropout on a model without dropout is one line" "resnet:8 has no dropout" \
    $SAMC train --data "npy:$T/x.npy,$T/y.npy" --model resnet:8 --dropout 0.2 --steps 1 --out "$T/bad2" --quiet
fails "--dropout 1 is refused" "dropout must be in \[0, 1\)" \
    $SAMC train "${DROP[@]}" --dropout 1 --steps 1 --out "$T/bad3"
