"""samc.load_checkpoint and samc.sharpness: a checkpoint's parameters as
numpy arrays named as PyTorch's state_dict of the equivalent module, its
run's configuration, and its flatness measures."""
import os

import numpy as np

from ._lib import CMD_SHARPNESS, CMD_TRAIN, check, errbuf, ffi, lib, measure_names
from .config import Config

ROLES = ("weight", "bias", "bn_scale", "bn_shift", "bn_mean", "bn_var")


def _read(path):
    """The checkpoint file at path into a fresh samc_ckpt (freed with it)."""
    ck = ffi.new("samc_ckpt *")
    err = errbuf()
    check(lib.samc_ckpt_load(str(path).encode(), ck, err), err)
    return ffi.gc(ck, lib.samc_ckpt_free)


def _floats(ptr, n):
    return np.frombuffer(ffi.buffer(ptr, n * 4), dtype=np.float32).copy() if n else np.zeros(0, np.float32)


class Checkpoint:
    """A checkpoint: .params (flat float32), .buffers (BatchNorm running
    statistics, flat), .momentum, .model, .data, .step, .epoch, .config (the
    run's flags from config.txt beside it; {} without one) and .arrays
    ({state_dict name: shaped view of params / buffers}, built from the
    model's tensor table on the run's data when first asked for)."""

    def __init__(self, path, **flags):
        self.path = str(path)
        ck = _read(path)
        self.model = ffi.string(ck.model).decode()
        self.data = ffi.string(ck.data).decode()
        self.step, self.epoch = int(ck.step), int(ck.epoch)
        self.params = _floats(ck.params, ck.n_params)
        self.buffers = _floats(ck.buffers, ck.n_buffers)
        self.momentum = _floats(ck.momentum, ck.n_momentum)
        self._cfg = Config(CMD_TRAIN | CMD_SHARPNESS)   # train keys, and the checkpoint's path
        cfg_path = os.path.join(os.path.dirname(self.path) or ".", "config.txt")
        self.config = {}
        if os.path.exists(cfg_path):
            self._cfg.read(cfg_path)
            self.config = self._cfg.as_dict(CMD_TRAIN)
        self._cfg.update(dict(flags, checkpoint=self.path))
        self._arrays = None

    @property
    def arrays(self):
        if self._arrays is None:
            self._arrays = self._build_arrays()
        return self._arrays

    def _build_arrays(self):
        ck = _read(self.path)
        mp = ffi.new("samc_model **")
        err = errbuf()
        c = self._cfg
        check(lib.samc_config_checkpoint_model(c.ptr, ck, ffi.NULL, mp, err), err)
        m = ffi.gc(mp[0], lib.samc_model_free)
        tab = lib.samc_model_tensors(m)
        out = {}
        for i in range(lib.samc_model_n_tensors(m)):
            t = tab[i]
            src = self.buffers if t.buffer else self.params
            shape = tuple(int(t.shape[k]) for k in range(t.ndim))
            out[ffi.string(t.name).decode()] = src[t.offset:t.offset + t.size].reshape(shape)
        return out

    def __repr__(self):
        return "Checkpoint(%r, model=%r, step=%d, %d params)" % (self.path, self.model, self.step, self.params.size)


def load_checkpoint(path, **flags):
    """The checkpoint at path (samc.Error for a missing or damaged file).
    flags (data=, data_dir=, normalize=, ...) override the run's
    config.txt where .arrays needs the data's shape."""
    return Checkpoint(path, **flags)


class Sharpness(dict):
    """{measure: value}, with .stderr and .seconds ({measure: float}; stderr
    NaN where a measure is not an estimate) and .model."""


def sharpness(checkpoint, metric="all", **flags):
    """Measures the flatness of checkpoint as `samc sharpness` does: the data
    flags of the run's config.txt beside it unless given; metric= a measure,
    a list of them or "all"; rho=, samples=, ascent_steps=, restarts=,
    lanczos=, probes=, measure_seed=, threads=, ...  Returns a Sharpness."""
    c = Config(CMD_SHARPNESS)
    err = errbuf()
    check(lib.samc_config_read_run_data(c.ptr, str(checkpoint).encode(), err), err)
    c.update(dict(flags, checkpoint=str(checkpoint), metric=metric))
    names = measure_names()
    k = len(names)
    buf = ffi.new("double[]", 3 * k + 64)   # value[], stderr_[], seconds[] of samc_measure_result
    model = ffi.new("char[]", 128)
    check(lib.samc_config_measure(c.ptr, ffi.cast("samc_measure_result *", buf), model, err), err)
    wanted = c.get("metric").replace("-", "_").split(",")
    out = Sharpness()
    out.stderr, out.seconds, out.model = {}, {}, ffi.string(model).decode()
    for i, n in enumerate(names):
        if n in wanted:
            out[n], out.stderr[n], out.seconds[n] = buf[i], buf[k + i], buf[2 * k + i]
    return out
