"""samc.minimize on a user's numpy oracle: the same steps as `samc train`,
step rules and schedules, mini-batches, exceptions and NaN."""
import numpy as np
import pytest

import samc
from conftest import HEART, read_libsvm


def logreg(X, s):
    """The binary logistic loss mean log(1 + exp(-s (Xw + b))) and its
    gradient, parameters (w, b), in float64."""
    Xd = X.astype(np.float64)

    def fun(x, idx=None):
        A, t = (Xd, s) if idx is None else (Xd[idx], s[idx])
        z = A @ x[:-1] + x[-1]
        m = -t * z
        loss = np.mean(np.logaddexp(0.0, m))
        r = -t / (1.0 + np.exp(-m)) / len(t)
        return loss, np.concatenate([A.T @ r, [r.sum()]])
    return fun


@pytest.fixture(scope="module")
def heart():
    X, y = read_libsvm(HEART)
    return X, np.where(y > 0, 1.0, -1.0)


FLAGS = [
    dict(opt="sam", lr="polyak", rho=0.05),
    dict(opt="usam", lr=0.5, rho=0.02, lr_schedule="cosine", momentum=0.5),
    dict(opt="gsam", lr="decsps", alpha=0.3, rho=0.05),
    dict(opt="sgd", lr="sps:0.5", polyak_cap=2.0),
]


def cli_flags(flags):
    out = []
    for k, v in flags.items():
        out += ["--" + k.replace("_", "-"), v]
    return out


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: f["opt"] + "-" + str(f["lr"]))
def test_full_batch_equals_samc_train(heart, samc_cli, tmp_path, flags):
    X, s = heart
    samc_cli("train", "--data", "libsvm:" + HEART, "--model", "logreg", "--batch", "full", "--steps", 25,
             "--threads", 1, "--quiet", "--out", tmp_path / "run", *cli_flags(flags))
    ref = samc.read_csv(tmp_path / "run" / "steps.csv")
    res = samc.minimize(logreg(X, s), np.zeros(X.shape[1] + 1), steps=25, **flags)
    assert res.steps == 25
    for col in ("loss", "loss_perturbed", "lr", "grad_norm"):
        np.testing.assert_allclose(res.history[col], ref[col], rtol=1e-6, atol=1e-12, err_msg=col)
    assert res.history["loss"][-1] < res.history["loss"][0]


def test_mini_batches_equal_samc_train(heart, samc_cli, tmp_path):
    X, s = heart
    flags = dict(opt="sam", lr=0.3, rho=0.05, batch=16, batch_schedule="exp:2@1,max=64", seed=7, epochs=3)
    samc_cli("train", "--data", "libsvm:" + HEART, "--model", "logreg", "--threads", 1, "--quiet",
             "--out", tmp_path / "run", *cli_flags(flags))
    ref = samc.read_csv(tmp_path / "run" / "steps.csv")
    seen = []

    def fun(x, idx):
        seen.append(len(idx))
        return logreg(X, s)(x, idx)
    res = samc.minimize(fun, np.zeros(X.shape[1] + 1), n=len(s), **flags)
    assert res.steps == len(ref["loss"]) == 17 + 9 + 5
    np.testing.assert_array_equal(res.history["batch_size"], ref["batch_size"])
    np.testing.assert_array_equal(res.history["epoch"], ref["epoch"])
    np.testing.assert_allclose(res.history["loss"], ref["loss"], rtol=1e-6)
    assert set(seen) == {16, 32, 64, 270 - 16 * 16, 270 - 32 * 8, 270 - 64 * 4}


def test_history_columns_are_steps_csv(heart, samc_cli, tmp_path):
    samc_cli("train", "--data", "libsvm:" + HEART, "--model", "logreg", "--steps", 1, "--quiet",
             "--out", tmp_path / "run")
    header = (tmp_path / "run" / "steps.csv").read_text().splitlines()[0].split(",")
    res = samc.minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), steps=2)
    assert list(res.history) == header


def test_quadratic_polyak_converges():
    H = np.diag([1.0, 10.0, 100.0])
    res = samc.minimize(lambda x: (0.5 * x @ H @ x, H @ x), np.ones(3), opt="sgd", lr="polyak",
                        polyak_cap="inf", steps=300)
    assert res.history["loss"][-1] < 1e-6 * res.history["loss"][0]
    assert res.x.dtype == np.float32


class Boom(RuntimeError):
    pass


def test_callback_exception_propagates_with_traceback():
    calls = []

    def fun(x):
        calls.append(1)
        if len(calls) == 5:
            raise Boom("from the oracle")
        return float(x @ x), 2 * x
    with pytest.raises(Boom, match="from the oracle") as ei:
        samc.minimize(fun, np.ones(4), opt="sam", lr=0.1, steps=10)
    assert ei.traceback[-1].name == "fun"
    assert len(calls) == 5   # the step that raised was the last


def test_nan_stops_with_the_last_good_state():
    def fun(x):
        f = float(x @ x)
        return (f if f < 50 else float("nan")), 2 * x
    with pytest.raises(samc.Error, match="NaN/Inf at step") as ei:
        samc.minimize(fun, np.ones(2), opt="sgd", lr=1.5, steps=50)
    e = ei.value
    assert e.status == "SAMC_ENAN"
    # x <- x - 1.5 * 2x = -2x: losses 2, 8, 32, then NaN at x = (-8, -8), left as it was
    np.testing.assert_array_equal(e.result.history["loss"], [2, 8, 32])
    np.testing.assert_array_equal(e.result.x, [-8, -8])


def test_bad_flags_raise_samc_error():
    with pytest.raises(samc.Error, match="--lr: expected a number"):
        samc.minimize(lambda x: (0.0, x), np.ones(2), lr="fast")
    with pytest.raises(samc.Error, match="unknown flag 'colour'"):
        samc.minimize(lambda x: (0.0, x), np.ones(2), colour=1)


def test_wrong_gradient_size_is_reported():
    with pytest.raises(ValueError, match="gradient of 3 values for 2"):
        samc.minimize(lambda x: (0.0, np.ones(3)), np.ones(2), steps=1)
