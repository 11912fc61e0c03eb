"""tests/sparse_ref.py SAMC DIR -- an independent float64 reference of the
SAM-family step on sparse rows, with scipy.sparse (Debian python3-scipy),
for tests/cli_sparse.sh.  Writes a seeded sparse LIBSVM file, runs
`samc train` on it (full batch, so the rows of a step are all of them) with
the O(nnz) step and with the dense one, and recomputes every step of
steps.csv in float64: binary logistic loss with a bias, the l2 term
(l2/2)||theta||^2, the perturbation, the second pass, the Polyak numerator
and step, weight decay.  Prints one line per case and exits 1 on a mismatch
beyond the float32 arithmetic of samc (relative 1e-6)."""
import csv
import os
import subprocess
import sys

import numpy as np
import scipy.sparse as sp

samc, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
n, d = 120, 900
A = sp.random(n, d, density=0.01, format="csr", random_state=rng, dtype=np.float64)
A.data = np.round(A.data * 2 - 1, 4)
w0 = rng.normal(size=d)
y = np.where(A @ w0 + 0.1 * rng.normal(size=n) >= 0, 1.0, -1.0)
A = sp.csr_matrix(A.astype(np.float32).astype(np.float64))
path = os.path.join(out, "ref.svm")
with open(path, "w") as f:
    for i in range(n):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        f.write("%+d" % y[i] + "".join(" %d:%s" % (j + 1, repr(float(v)))
                                        for j, v in zip(A.indices[lo:hi], A.data[lo:hi])) + " %d:0\n" % d)


def loss_grad(th, l2):
    w, b = th[:d], th[d]
    z = A @ w + b
    m = y * z
    f = np.mean(np.logaddexp(0.0, -m)) + 0.5 * l2 * th @ th
    r = -y / (1.0 + np.exp(m)) / n
    return f, np.concatenate([A.T @ r, [r.sum()]]) + l2 * th


def reference(kind, l2, wd, rho, cap, steps, alpha=0.0):
    th = np.zeros(d + 1)
    rows = []
    for t in range(steps):
        f, g = loss_grad(th, l2)
        gn = np.linalg.norm(g)
        dlt = rho * g / (gn + 1e-12) if kind != "usam" else rho * g
        fp, gp = loss_grad(th + dlt, l2)
        num = fp - gp @ dlt
        gam = min(max(num, 0.0) / (gp @ gp), cap)
        u = gp
        if kind == "gsam":
            u = gp - alpha * (g - (g @ gp) / (gp @ gp) * gp)
        rows.append((f, fp, gn, np.linalg.norm(gp), num, gam))
        th = th - gam * (u + wd * th)
    return rows


cases = [("sam", 1e-2, 1e-3, 0.05, 2.0, 0.0), ("usam", 0.0, 0.0, 0.02, 4.0, 0.0),
         ("gsam", 1e-3, 0.0, 0.05, 2.0, 0.3)]
bad = 0
for kind, l2, wd, rho, cap, alpha in cases:
    ref = reference(kind, l2, wd, rho, cap, 30, alpha)
    for mode in ("on", "off"):
        run = os.path.join(out, "%s-%s" % (kind, mode))
        env = dict(os.environ, SAMC_SPARSE_STEP=mode)
        subprocess.run([samc, "train", "--data", "libsvm:" + path, "--model", "logreg", "--opt", kind,
                        "--lr", "polyak", "--polyak-cap", str(cap), "--rho", str(rho), "--alpha", str(alpha),
                        "--l2", str(l2), "--weight-decay", str(wd), "--batch", "full", "--steps", "30",
                        "--threads", "1", "--quiet", "--out", run], check=True, env=env)
        with open(os.path.join(run, "steps.csv")) as f:
            got = [(float(r["loss"]), float(r["loss_perturbed"]), float(r["grad_norm"]),
                    float(r["grad_norm_perturbed"]), float(r["polyak_numerator"]), float(r["lr"]))
                   for r in csv.DictReader(f)]
        err = max(abs(a - b) / max(abs(b), 1e-3) for g, r in zip(got, ref) for a, b in zip(g, r))
        ok = len(got) == len(ref) and err < 1e-6
        bad += not ok
        print("%s %s step=%s: 30 steps, max relative difference %.2e from float64 scipy.sparse" %
              ("ok" if ok else "MISMATCH", kind, mode, err))
sys.exit(1 if bad else 0)
