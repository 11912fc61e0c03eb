"""Shared fixtures of the Python package's tests: the package from python/
(the library from build/), the samc program, the LIBSVM example data."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
HEART = "/usr/share/doc/liblinear-tools/examples/heart_scale"


@pytest.fixture
def samc_cli():
    """Runs the samc program; returns its completed process (check=True)."""
    exe = os.environ.get("SAMC", os.path.join(ROOT, "samc"))

    def run(*args):
        return subprocess.run([exe, *map(str, args)], check=True, capture_output=True, text=True)
    return run


def read_libsvm(path):
    """A LIBSVM file as dense float32 X (n x max index) and labels y."""
    import numpy as np
    rows, ys, d = [], [], 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            ys.append(float(parts[0]))
            feats = {int(k): float(v) for k, v in (p.split(":") for p in parts[1:])}
            d = max([d, *feats])
            rows.append(feats)
    X = np.zeros((len(rows), d), dtype=np.float32)
    for i, feats in enumerate(rows):
        for k, v in feats.items():
            X[i, k - 1] = v
    return X, np.array(ys)
