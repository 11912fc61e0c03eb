"""samc from Python: sharpness-aware minimization (SAM, USAM, ASAM, GSAM),
Polyak-type step sizes and schedules, flatness measures and checkpoints,
over the C library build/libsamc.so (cffi, ABI mode).

    import samc
    run = samc.train(data="libsvm:heart_scale", model="logreg", opt="sam", lr="polyak", steps=100, out="run")
    run.steps["loss"]                       # numpy arrays, steps.csv's columns
    res = samc.minimize(fun_and_grad, x0, opt="sam", rho=0.05, lr=0.1, steps=200)
    ck = samc.load_checkpoint("run/final.ckpt"); ck.params; ck.arrays; ck.config
    samc.sharpness("run/final.ckpt", metric="worst-linf,avg")
"""
from ._lib import Error
from .checkpoint import Checkpoint, Sharpness, load_checkpoint, sharpness
from .minimize import Result, minimize
from .train import Run, read_csv, train

__version__ = "0.1.0"
__all__ = ["Checkpoint", "Error", "Result", "Run", "Sharpness", "load_checkpoint", "minimize", "read_csv",
           "sharpness", "train"]
