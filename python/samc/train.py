"""samc.train: a training run in this process through the library's trainer
(the one `samc train` drives), and the Run it leaves: its CSVs as numpy
columns, its output directory and configuration."""
import csv
import os

import numpy as np

from ._lib import CMD_TRAIN, check, errbuf, ffi, lib
from .config import Config


def read_csv(path):
    """A CSV with a header line as {column: numpy float array} (text such as
    "nan" or "-" becomes NaN)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    cols = {}
    for k, name in enumerate(rows[0]):
        vals = []
        for r in rows[1:]:
            try:
                vals.append(float(r[k]))
            except (ValueError, IndexError):
                vals.append(float("nan"))
        cols[name] = np.array(vals)
    return cols


class Run:
    """A run's output directory: .out, .steps and .metrics ({column: array},
    read from steps.csv and metrics.csv when asked), .config ({flag: value
    string}, from config.txt), .stopped (None, or the message of a run stopped
    before its end: --stop-at or Ctrl-C; samc.train(resume=run.out) goes on)."""

    def __init__(self, out, stopped=None):
        self.out = str(out)
        self.stopped = stopped

    @property
    def steps(self):
        return read_csv(os.path.join(self.out, "steps.csv"))

    @property
    def metrics(self):
        return read_csv(os.path.join(self.out, "metrics.csv"))

    @property
    def config(self):
        c = Config(CMD_TRAIN)
        c.read(os.path.join(self.out, "config.txt"))
        return c.as_dict()

    @property
    def final(self):
        return os.path.join(self.out, "final.ckpt")

    def __repr__(self):
        return "Run(%r%s)" % (self.out, ", stopped" if self.stopped else "")


def _config(resume, config, flags):
    """Flags resolved as the CLI does: defaults < OUT/config.txt (resume) <
    the file config < flags."""
    c = Config(CMD_TRAIN)
    c.read_bases(resume, config)
    c.update(flags)
    return c


def _interrupted(t, err):
    """Ctrl-C between steps: the epoch's end if it is due, then the state saved
    (a stop request, taken at the next step) as `samc train` does on SIGINT."""
    if lib.samc_trainer_epoch_over(t):
        check(lib.samc_trainer_end_epoch(t, err), err)
    if lib.samc_trainer_done(t):
        check(lib.samc_trainer_finish(t, err), err)
        return
    lib.samc_train_request_stop()
    st = lib.samc_trainer_step(t, err)
    if st != lib.SAMC_EINTR:
        check(st, err)


def _fit(t, err, on_step):
    """The trainer's loop; the stop message when it stopped early, else None."""
    while not lib.samc_trainer_done(t):
        st = lib.samc_trainer_step(t, err)
        if st == lib.SAMC_EINTR:
            return ffi.string(err).decode()
        check(st, err)
        if on_step is not None:
            on_step(lib.samc_trainer_position(t), lib.samc_trainer_total(t))
        if lib.samc_trainer_epoch_over(t):
            check(lib.samc_trainer_end_epoch(t, err), err)
    check(lib.samc_trainer_finish(t, err), err)
    return None


def train(resume=None, config=None, on_step=None, **flags):
    """Trains as `samc train` would with these flags (keyword arguments, _ for
    -: data="libsvm:FILE", model="logreg", opt="sam", lr=0.1 or "polyak",
    batch=16, steps=100, seed=0, out="out", no_bias=True, ...), in this
    process; returns a Run.  resume=OUT continues the run in OUT (its
    config.txt, then flags given); config=FILE reads flags from FILE.
    on_step(step, total) is called after each step (in Python, between
    steps).  Ctrl-C (KeyboardInterrupt) saves the state in OUT/last.ckpt, as
    the CLI does on SIGINT, and is raised again; resume=OUT goes on.
    Failures raise samc.Error with the library's message."""
    c = _config(resume, config, flags)
    err = errbuf()
    rp = ffi.new("samc_run **")
    try:
        check(lib.samc_run_prepare(rp, c.ptr, ffi.NULL if resume is None else str(resume).encode(), ffi.NULL,
                                   err), err)
        check(lib.samc_run_start(rp[0], ffi.NULL, err), err)
        t = lib.samc_run_trainer(rp[0])
        try:
            stopped = _fit(t, err, on_step)
        except KeyboardInterrupt:
            _interrupted(t, err)
            raise
    finally:
        lib.samc_run_free(rp[0])   # NULL when prepare failed
    return Run(c.get("out"), stopped)
