"""bench/sklearn_sparse.py FILE [REPEATS] -- `make bench` (bench/sparse.sh):
sklearn's load_svmlight_file time on FILE and the time of one epoch of
SGDClassifier (log loss, one pass over the shuffled rows), best of REPEATS;
Debian python3-sklearn."""
import sys
import time
import warnings

from sklearn.datasets import load_svmlight_file
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

path = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
load = fit = float("inf")
for k in range(reps):
    t0 = time.perf_counter()
    X, y = load_svmlight_file(path, dtype="float32")
    load = min(load, time.perf_counter() - t0)
warnings.simplefilter("ignore", ConvergenceWarning)
for k in range(reps):
    clf = SGDClassifier(loss="log_loss", max_iter=1, tol=None, shuffle=True, random_state=k)
    t0 = time.perf_counter()
    clf.fit(X, y)
    fit = min(fit, time.perf_counter() - t0)
print("sklearn load %.4f s epoch %.4f s acc %.4f" % (load, fit, clf.score(X, y)))
