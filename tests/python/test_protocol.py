"""The protocol campaign (experiments/protocol.py): its run list is the two
papers' protocols, every committed run in docs/results/runs/ follows it, and
the check finds a departure."""
import importlib.util
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def P():
    spec = importlib.util.spec_from_file_location("protocol", os.path.join(ROOT, "experiments", "protocol.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def flags_of(P, name):
    return dict(P.all_runs())[name].split()


def value(flags, name):
    return flags[flags.index(name) + 1] if name in flags else None


def test_ib_runs_are_the_protocol(P):
    runs = dict(P.ib_runs())
    # every optimizer, variant and seed once, on both models; +L on the cnn
    assert len(runs) == 3 * 3 * (3 + 4)
    for s in (0, 1, 2):
        for opt in ("sgd", "sam", "gsam"):
            for v in ("const", "B", "C"):
                assert "ib-resnet20-%s-%s-s%d" % (opt, v, s) in runs
            assert "ib-cnn-%s-L-s%d" % (opt, s) in runs
    b = runs["ib-resnet20-gsam-B-s2"].split()
    assert value(b, "--batch") == "16" and value(b, "--batch-schedule") == "exp:2@8,max=256"
    assert value(b, "--epochs") == "40" and value(b, "--alpha") == "0.02" and value(b, "--rho") == "0.05"
    assert value(b, "--lr") == "0.1" and value(b, "--seed") == "2" and "--momentum" not in b
    c = runs["ib-cnn-sam-C-s0"].split()
    assert value(c, "--lr-schedule") == "cosine:0.001" and value(c, "--batch") == "128"
    assert value(runs["ib-cnn-sgd-L-s1"].split(), "--lr-schedule") == "linear:0.001"


def test_ps_runs_are_the_protocol(P):
    runs = dict(P.ps_runs())
    for opt in ("sam", "usam"):
        for rho in ("0.1", "0.2", "0.3", "0.4"):
            for s in (0, 1, 2):
                f = runs[P.ps_name(opt, rho, "polyak", s)].split()
                assert value(f, "--lr") == "polyak" and value(f, "--weight-decay") == "5e-4"
                assert value(f, "--rho") == rho and value(f, "--model") == "resnet:20"
                assert value(f, "--epochs") == "40"
            for lr in P.GRID_START:   # the grid runs at seed 0 before anything is tuned
                assert P.ps_name(opt, rho, "const", 0, lr) in runs


def test_the_grid_extends_at_its_edge(P, monkeypatch):
    acc = {"0.1": 0.9, "0.3": 0.8, "1": 0.1}
    monkeypatch.setattr(P, "result", lambda name: (
        {"val_acc_last5": acc[name.split("-lr")[1].split("-")[0]]}
        if "-const-lr" in name and name.split("-lr")[1].split("-")[0] in acc else None))
    assert P.ps_best_lr("sam", "0.1") == (None, ["0.1", "0.3", "1"], "0.03")   # best at the low edge
    acc["0.03"] = 0.85
    best, tried, nxt = P.ps_best_lr("sam", "0.1")
    assert (best, nxt) == ("0.1", None) and tried == ["0.03", "0.1", "0.3", "1"]
    names = [n for n, _ in P.ps_runs()]
    assert P.ps_name("sam", "0.1", "const", 1, "0.1") in names
    assert P.ps_name("sam", "0.1", "cosine", 2, "0.1") in names
    assert value(flags_of(P, P.ps_name("sam", "0.1", "cosine", 0, "0.1")), "--lr-schedule") == "cosine"


def test_committed_runs_follow_the_protocol(P):
    names = [n for n in sorted(os.listdir(P.RUNS)) if os.path.exists(os.path.join(P.RUNS, n, "result.txt"))] \
        if os.path.isdir(P.RUNS) else []
    for n in names:
        assert P.protocol_errors(n, P.read_config(os.path.join(P.RUNS, n, "config.txt"))) == [], n


def test_check_finds_a_departure(P, tmp_path):
    src = os.path.join(P.RUNS, "ib-cnn-gsam-const-s0", "config.txt")
    if not os.path.exists(src):
        pytest.skip("no committed gsam run yet")
    c = P.read_config(src)
    assert P.protocol_errors("ib-cnn-gsam-const-s0", c) == []
    for key, bad in (("alpha", "0.1"), ("augment", "off"), ("seed", "5")):
        d = dict(c, **{key: bad})
        errs = P.protocol_errors("ib-cnn-gsam-const-s%s" % d["seed"], d) if key == "seed" else \
            P.protocol_errors("ib-cnn-gsam-const-s0", d)
        assert errs, key
    b = P.read_config(os.path.join(P.RUNS, "ib-cnn-sam-B-s0", "config.txt"))
    short = dict(b, **{"batch-schedule": "exp:2@1,max=256", "epochs": "5"})
    assert any("at least 8" in e for e in P.protocol_errors("ib-cnn-sam-B-s0", short))
