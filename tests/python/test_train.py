"""samc.train in this process: the same files as `samc train`, stop and
resume, Ctrl-C, errors."""
import os
import signal

import numpy as np
import pytest

import samc
from conftest import HEART

BASE = dict(data="libsvm:" + HEART, model="logreg", opt="sam", lr="polyak", batch=16, epochs=3, seed=5,
            threads=1, momentum=0.5)


def test_same_rows_as_the_cli(samc_cli, tmp_path):
    samc_cli("train", "--data", BASE["data"], "--model", "logreg", "--opt", "sam", "--lr", "polyak", "--batch", 16,
             "--epochs", 3, "--seed", 5, "--threads", 1, "--momentum", 0.5, "--quiet", "--out", tmp_path / "cli")
    run = samc.train(out=tmp_path / "py", quiet=True, **BASE)
    assert run.stopped is None
    assert (tmp_path / "py" / "steps.csv").read_bytes() == (tmp_path / "cli" / "steps.csv").read_bytes()
    cfg = (tmp_path / "py" / "config.txt").read_text().replace(str(tmp_path / "py"), "OUT")
    assert cfg == (tmp_path / "cli" / "config.txt").read_text().replace(str(tmp_path / "cli"), "OUT")
    assert run.metrics["epoch"].tolist() == [1, 2, 3]
    assert len(run.steps["loss"]) == 3 * 17
    assert run.config["lr"] == "polyak" and run.config["batch"] == "16"


def test_stop_and_resume_equal_one_run(tmp_path):
    whole = samc.train(out=tmp_path / "whole", **BASE)
    part = samc.train(out=tmp_path / "part", stop_at=20, **BASE)
    assert part.stopped and "stopped at step 20" in part.stopped
    assert len(part.steps["loss"]) == 20
    done = samc.train(resume=part.out, stop_at=0)   # config.txt holds stop-at = 20, as for the CLI
    assert done.stopped is None
    assert (tmp_path / "part" / "steps.csv").read_bytes() == (tmp_path / "whole" / "steps.csv").read_bytes()
    a, b = samc.load_checkpoint(whole.final), samc.load_checkpoint(done.final)
    np.testing.assert_array_equal(a.params, b.params)


def test_ctrl_c_leaves_a_resumable_checkpoint(tmp_path):
    def on_step(step, total):
        if step == 23:
            os.kill(os.getpid(), signal.SIGINT)   # a real Ctrl-C, taken between steps
    with pytest.raises(KeyboardInterrupt):
        samc.train(out=tmp_path / "run", on_step=on_step, **BASE)
    ck = samc.load_checkpoint(tmp_path / "run" / "last.ckpt")
    assert 23 <= ck.step < 51
    assert not (tmp_path / "run" / "final.ckpt").exists()
    samc.train(resume=tmp_path / "run")
    whole = samc.train(out=tmp_path / "whole", **BASE)
    assert (tmp_path / "run" / "steps.csv").read_bytes() == (tmp_path / "whole" / "steps.csv").read_bytes()
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 4


def test_errors_carry_the_library_message(tmp_path):
    with pytest.raises(samc.Error, match="unknown flag 'colour'"):
        samc.train(colour="red")
    with pytest.raises(samc.Error, match="--batch: expected a positive integer"):
        samc.train(batch=-3, out=tmp_path / "x")
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:0.5\n+1 2:x\n")
    with pytest.raises(samc.Error) as ei:
        samc.train(data="libsvm:%s" % bad, model="logreg", out=tmp_path / "y")
    assert str(bad) + ":2" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(samc.Error, match="cannot read configuration"):
        samc.train(resume=tmp_path / "nothing")
    with pytest.raises(samc.Error, match="bad.txt:1: unknown key 'bogus'"):
        (tmp_path / "bad.txt").write_text("bogus = 1\n")
        samc.train(config=tmp_path / "bad.txt")


def test_switches_and_values(tmp_path):
    run = samc.train(out=tmp_path / "r", steps=3, no_bias=True, normalize=True, polyak_cap=float("inf"),
                     metric=["worst-linf", "avg"], **{k: v for k, v in BASE.items() if k != "epochs"})
    cfg = run.config
    assert (cfg["no-bias"], cfg["normalize"], cfg["polyak-cap"], cfg["metric"]) == ("on", "on", "inf",
                                                                                  "worst-linf,avg")
    assert samc.load_checkpoint(run.final).params.size == 13
