"""samc.minimize: samc's optimizer step (SAM family, step-size rules,
schedules) on a user's own loss-and-gradient function, called back from the
library through cffi."""
import sys

import numpy as np

from ._lib import CMD_TRAIN, Error, check, errbuf, ffi, lib
from .config import Config

# the columns of steps.csv, in its order (samc_steps_columns)
HISTORY = ("step", "epoch", "batch_size", "lr", "rho", "loss", "loss_perturbed", "grad_norm",
           "grad_norm_perturbed", "polyak_numerator")


class Result:
    """What minimize returns: .x (float32, the last iterate), .history
    ({column: numpy array}, one entry per step, steps.csv's columns), .steps
    (steps taken), .message."""

    def __init__(self, x, rows, message):
        self.x = x
        self.history = {k: np.array([r[i] for r in rows], dtype=float) for i, k in enumerate(HISTORY)}
        self.steps = len(rows)
        self.message = message

    def __repr__(self):
        return "Result(steps=%d, loss=%s)" % (self.steps, self.history["loss"][-1] if self.steps else None)


class _Oracle:
    """The callback the optimizer calls: x in, loss and gradient out; an
    exception is kept (with its traceback) and ends the step."""

    def __init__(self, fun, n, batched):
        self.fun, self.n, self.batched = fun, n, batched
        self.idx = None
        self.exc = None
        self.cb = ffi.callback("int(void *, const float *, float *, double *, int)", self._call)

    def _call(self, user, x, grad, loss, pass_):
        try:
            xv = np.frombuffer(ffi.buffer(x, self.n * 4), dtype=np.float32).astype(np.float64)
            f, g = self.fun(xv, self.idx) if self.batched else self.fun(xv)
            loss[0] = float(f)
            if grad != ffi.NULL:
                ga = np.asarray(g, dtype=np.float32).reshape(-1)
                if ga.size != self.n:
                    raise ValueError("fun_and_grad returned a gradient of %d values for %d parameters"
                                     % (ga.size, self.n))
                ffi.memmove(grad, ga.tobytes(), self.n * 4)
            return 0
        except BaseException:
            self.exc = sys.exc_info()
            return 1


class _Batches:
    """The rows of each step's batch, drawn as samc's trainer draws them: per
    epoch the identity order shuffled by the run's stream (when the batch is
    smaller than n), then consecutive batches, the last one short."""

    def __init__(self, c, n):
        self.c, self.n = c, n
        self.rng = ffi.new("samc_rng *")
        lib.samc_config_shuffle_rng(c.ptr, self.rng)
        self.epoch, self.k, self.perm, self.b = -1, 0, None, 0

    def _draw(self):
        self.epoch += 1
        self.k = 0
        self.b = lib.samc_config_batch(self.c.ptr, self.epoch, self.n)
        perm = np.arange(self.n, dtype=np.uintp)
        if self.b < self.n:
            lib.samc_rng_shuffle(self.rng, ffi.cast("size_t *", ffi.from_buffer(perm)), self.n)
        self.perm = perm.astype(np.int64)
        self.steps_in = -(-self.n // self.b)

    def next(self):
        """(epoch, rows of the next batch)."""
        if self.perm is None or self.k >= self.steps_in:
            self._draw()
        rows = self.perm[self.k * self.b:(self.k + 1) * self.b]
        self.k += 1
        return self.epoch, rows


def minimize(fun_and_grad, x0, n=None, **flags):
    """Minimizes with samc's step: fun_and_grad(x) -> (loss, gradient), x a
    float64 copy of the float32 iterate.  Flags as samc.train's (opt="sam",
    lr=0.1 or "polyak" / "sps:C" / "decsps:C0", rho=, lr_schedule=,
    rho_schedule=, momentum=, weight_decay=, polyak_cap=, polyak_lb=,
    steps=, epochs=, warmup=, ...); steps defaults to 100.  Mini-batches: n=N
    rows makes the call fun_and_grad(x, idx) with idx the batch's row
    indices (an int64 array), drawn as `samc train` draws them (batch=,
    batch_schedule=, seed=); without n each step is one epoch of the whole
    objective.  An exception raised in fun_and_grad propagates; a NaN or
    infinite loss or gradient raises samc.Error (e.result: the last good
    state)."""
    c = Config(CMD_TRAIN)
    if "steps" not in flags and "epochs" not in flags:
        flags["steps"] = 100
    if n is None:
        flags.setdefault("batch", "full")
    c.update(flags)
    x = np.array(x0, dtype=np.float32).reshape(-1).copy()
    err = errbuf()
    op = ffi.new("samc_optim **")
    check(lib.samc_config_optim(c.ptr, x.size, op, err), err)
    opt = ffi.gc(op[0], lib.samc_optim_free)
    return _loop(c, opt, fun_and_grad, x, n)


def _loop(c, opt, fun, x, n):
    oracle = _Oracle(fun, x.size, n is not None)
    orc = ffi.new("samc_oracle *", {"n": x.size, "loss_grad": oracle.cb, "user": ffi.NULL, "reduce": ffi.NULL})
    batches = _Batches(c, n if n is not None else 1)
    T = lib.samc_config_total_steps(c.ptr, n if n is not None else 1)
    info = ffi.new("samc_step_info *")
    eta, rho = ffi.new("double *"), ffi.new("double *")
    xp = ffi.cast("float *", ffi.from_buffer(x))
    rows = []
    for t in range(T):
        epoch, idx = batches.next()
        oracle.idx = idx
        lib.samc_config_schedules(c.ptr, t, T, epoch, eta, rho)
        st = lib.samc_optim_step(opt, orc, xp, eta[0], rho[0], info)
        if oracle.exc is not None:
            _, e, tb = oracle.exc
            raise e.with_traceback(tb)
        if st == lib.SAMC_ENAN:
            e = Error("loss or gradient became NaN/Inf at step %d (epoch %d); the run diverged: lower the step "
                      "size (lr, polyak_cap) or rho" % (t, epoch), "SAMC_ENAN")
            e.result = Result(x.copy(), rows, str(e))
            raise e
        check(st, ffi.new("char[]", b"the optimizer step failed"))
        rows.append((t, epoch, len(idx), info.step, rho[0], info.loss, info.loss_perturbed, info.grad_norm,
                     info.grad_norm_perturbed, info.numerator))
    return Result(x, rows, "done: %d steps" % T)
