"""samc.load_checkpoint and samc.sharpness: named arrays, the run's
configuration, the CLI's measures, bad files."""
import numpy as np
import pytest

import samc
from conftest import HEART

LOGREG = dict(data="libsvm:" + HEART, model="logreg", opt="sam", lr=0.3, batch=32, steps=20, threads=1)


@pytest.fixture(scope="module")
def logreg_run(tmp_path_factory):
    return samc.train(out=tmp_path_factory.mktemp("ck") / "run", **LOGREG)


@pytest.fixture(scope="module")
def npy_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("npy")
    rng = np.random.default_rng(1)
    np.save(d / "x.npy", rng.random((48, 1, 8, 8), dtype=np.float32))
    np.save(d / "y.npy", (np.arange(48) % 3).astype(np.float32))
    return "npy:%s,%s" % (d / "x.npy", d / "y.npy")


def test_logreg_checkpoint(logreg_run):
    ck = samc.load_checkpoint(logreg_run.final)
    assert (ck.model, ck.step) == ("logreg", 20)
    assert ck.params.dtype == np.float32 and ck.params.size == 14
    assert ck.config["lr"] == "0.3" and ck.config["steps"] == "20"
    a = ck.arrays
    assert list(a) == ["weight", "bias"]
    assert a["weight"].shape == (1, 13) and a["bias"].shape == (1,)
    np.testing.assert_array_equal(np.concatenate([a["weight"].ravel(), a["bias"]]), ck.params)


def test_network_arrays_cover_params_and_buffers(npy_data, tmp_path):
    run = samc.train(data=npy_data, model="resnet:8", opt="sam", lr=0.05, batch=16, steps=3, threads=1,
                     out=tmp_path / "r")
    ck = samc.load_checkpoint(run.final)
    arrays = ck.arrays
    n_par = sum(v.size for k, v in arrays.items() if not k.endswith(("running_mean", "running_var")))
    n_buf = sum(v.size for k, v in arrays.items() if k.endswith(("running_mean", "running_var")))
    assert (n_par, n_buf) == (ck.params.size, ck.buffers.size) and n_buf > 0
    assert any(v.ndim == 4 for v in arrays.values())            # conv weights (out, in, kh, kw)
    assert arrays["conv1.weight"].shape[1] == 1


def test_sharpness_equals_the_cli(logreg_run, samc_cli):
    flags = dict(rho=0.01, samples=64, lanczos=5, probes=4, ascent_steps=5)
    got = samc.sharpness(logreg_run.final, metric=["worst-linf", "avg", "hessian-top"], **flags)
    out = samc_cli("sharpness", "--checkpoint", logreg_run.final, "--metric", "worst-linf,avg,hessian-top",
                   "--format", "csv", *sum((["--" + k.replace("_", "-"), v] for k, v in flags.items()), []))
    rows = [line.split(",") for line in out.stdout.splitlines()[1:]]
    assert list(got) == [r[0] for r in rows]
    for name, value, se, _ in rows:
        assert float("%.9g" % got[name]) == float(value)
        assert np.isnan(float(se)) == np.isnan(got.stderr[name])
    assert got.model == "logreg"


def test_bad_checkpoints_raise_samc_error(tmp_path, logreg_run, npy_data):
    with pytest.raises(samc.Error, match="nope.ckpt"):
        samc.load_checkpoint(tmp_path / "nope.ckpt")
    raw = bytearray(open(logreg_run.final, "rb").read())
    raw[len(raw) - 9] ^= 0xFF   # a parameter byte: the checksum no longer matches
    (tmp_path / "bad.ckpt").write_bytes(bytes(raw))
    with pytest.raises(samc.Error, match="bad.ckpt") as ei:
        samc.load_checkpoint(tmp_path / "bad.ckpt")
    assert "\n" not in str(ei.value)
    with pytest.raises(samc.Error, match="trained on other data"):
        samc.sharpness(logreg_run.final, data=npy_data)
    with pytest.raises(samc.Error, match="trained on other data"):
        samc.load_checkpoint(logreg_run.final, data=npy_data).arrays
