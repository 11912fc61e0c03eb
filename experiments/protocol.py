#!/usr/bin/python3
"""experiments/protocol.py -- the [IB] and [PS] protocol campaign on Fashion-MNIST.

    protocol.py budget             the runs, their estimated 2-core time, what is done
    protocol.py run [--jobs J] [--until HH:MM | --hours H] [--only PREFIX]
                                   work through the runs not yet in docs/results/runs/
    protocol.py tables             docs/results/protocol_*.csv and the figures
    protocol.py check              every committed run's config.txt follows the protocol
    protocol.py remeasure [--only PREFIX]
                                   the measures again, on the finished runs whose
                                   final.ckpt is here (after a change of them)

Every run is one `samc train` into experiments/out/protocol/NAME (resumed from its
last.ckpt when one is there), then `samc eval` on the whole test set (10000 rows)
and, for [IB], `samc sharpness` (worst-case L-inf sharpness and the top Hessian
eigenvalue).  A finished run's config.txt, metrics.csv and result.txt (the
measures, the wall time, the samc commit and the machine) are copied to
docs/results/runs/NAME/ and committed at once, that path alone, so the campaign
survives being stopped at any point and continues on any machine with this
checkout: a run whose docs/results/runs/NAME/result.txt exists is done.

J workers (default 2) run at once, each on one thread.  --until / --hours: no
run starts after that time; runs already going finish.  A worker that gets
SIGINT or SIGTERM stops its samc as Ctrl-C does (last.ckpt saved), so the same
run resumes here next time.

The [PS] runs tuned per rho wait for their grid: the constant learning rates of
GRID at seed 0, extended by a neighbour while the best one (by validation
accuracy) is at the grid's edge; then the best rate runs at seeds 1 and 2 and
cosine from it at seeds 0, 1 and 2.  The best is by the mean validation
accuracy of the last five epochs.
"""
import argparse
import fcntl
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMC = os.environ.get("SAMC", os.path.join(ROOT, "samc"))
OUT = os.environ.get("EXP_OUT", os.path.join(ROOT, "experiments", "out", "protocol"))
RUNS = os.path.join(ROOT, "docs", "results", "runs")
SEEDS = (0, 1, 2)

# ---------------------------------------------------------------- the protocol
# [IB]: SGD base without momentum or weight decay, eta 0.1, rho 0.05, GSAM alpha
# 0.02; constant (batch 128), +B (16, 32, 64, 128, 256: five stages of
# IB_STAGE epochs at constant eta), +C (batch 128, cosine to 0.001), +L (batch
# 128, linear to 0.001); crop + flip.
IB_STAGE = 8
IB_MODELS = {"resnet20": ("resnet:20", 4000, ("const", "B", "C")),
             "cnn": ("cnn", 10000, ("const", "B", "C", "L"))}
IB_OPTS = {"sgd": "--opt sgd", "sam": "--opt sam --rho 0.05", "gsam": "--opt gsam --rho 0.05 --alpha 0.02"}
IB_VARIANTS = {"const": "--batch 128",
               "B": "--batch 16 --batch-schedule exp:2@%d,max=256" % IB_STAGE,
               "C": "--batch 128 --lr-schedule cosine:0.001",
               "L": "--batch 128 --lr-schedule linear:0.001"}
# After training, on the first 1024 training rows (no augmentation) in batches of
# 128, in evaluation mode, in one `samc sharpness` call: worst-case L-inf
# sharpness at rho 2e-4, 20 Auto-PGD steps, one restart from delta = 0 (no
# random start), and the top Hessian eigenvalue (Lanczos, 30 steps).
IB_MEASURES = ["--metric", "worst-linf,hessian-top", "--ascent-start", "zero", "--samples", "1024"]
# [PS]: SAM and USAM, SGD base without momentum, weight decay 5e-4, batch 128,
# crop + flip, on resnet:20 with 4000 training rows and 1000 validation rows.
PS_RHOS = ("0.1", "0.2", "0.3", "0.4")
PS_OPTS = ("sam", "usam")
PS_EPOCHS = 40
GRID = ("0.01", "0.03", "0.1", "0.3", "1", "3")   # the grid's possible rates, in order
GRID_START = ("0.1", "0.3", "1")                  # where each rho's grid starts
TEST_ROWS = 2000                                  # test rows of the per-epoch columns


def ib_runs():
    for seed in SEEDS:
        for tag, (model, rows, variants) in IB_MODELS.items():
            for v in variants:
                for opt, oflags in IB_OPTS.items():
                    yield ("ib-%s-%s-%s-s%d" % (tag, opt, v, seed),
                           "--model %s --train-rows %d --epochs %d --lr 0.1 %s %s --seed %d "
                           "--measure-every 1 --metric full-grad-norm --samples 1024"
                           % (model, rows, 5 * IB_STAGE, oflags, IB_VARIANTS[v], seed))


def ps_flags(opt, rho, lr, sched, seed):
    return ("--model resnet:20 --train-rows 5000 --val 1000 --epochs %d --batch 128 --weight-decay 5e-4 "
            "--opt %s --rho %s --lr %s%s --seed %d"
            % (PS_EPOCHS, opt, rho, lr, " --lr-schedule cosine" if sched == "cosine" else "", seed))


def ps_name(opt, rho, kind, seed, lr=None):
    return "ps-%s-%s%s-rho%s-s%d" % (opt, kind, "" if lr is None else "-lr" + lr, rho, seed)


def ps_best_lr(opt, rho):
    """(best rate, the rates run so far, the next grid rate to run or None).
    The best is by the mean validation accuracy of the last five epochs: the
    last epoch alone moves by several points with BatchNorm in evaluation
    mode at a constant rate."""
    done = {}
    for lr in GRID:
        r = result(ps_name(opt, rho, "const", 0, lr))
        if r is not None:
            done[lr] = r.get("val_acc_last5", 0.0) if not r.get("diverged") else 0.0
    tried = [lr for lr in GRID if lr in done]
    missing = [lr for lr in GRID_START if lr not in done]
    if missing:
        return None, tried, missing[0]
    best = max(tried, key=lambda lr: (done[lr], -GRID.index(lr)))
    i = GRID.index(best)
    for j in (i - 1, i + 1):   # the best at an edge of what ran: run its neighbour
        if 0 <= j < len(GRID) and GRID[j] not in done:
            return None, tried, GRID[j]
    return best, tried, None


def ps_runs():
    for seed in SEEDS:
        for opt in PS_OPTS:
            for rho in PS_RHOS:
                yield ps_name(opt, rho, "polyak", seed), ps_flags(opt, rho, "polyak", "const", seed)
                best, _, nxt = ps_best_lr(opt, rho)
                if seed == 0:
                    for lr in GRID_START:
                        yield ps_name(opt, rho, "const", 0, lr), ps_flags(opt, rho, lr, "const", 0)
                    if nxt is not None and nxt not in GRID_START:
                        yield ps_name(opt, rho, "const", 0, nxt), ps_flags(opt, rho, nxt, "const", 0)
                if best is None:
                    continue
                if seed > 0:
                    yield ps_name(opt, rho, "const", seed, best), ps_flags(opt, rho, best, "const", seed)
                yield ps_name(opt, rho, "cosine", seed, best), ps_flags(opt, rho, best, "cosine", seed)


def all_runs():
    """Every run known now, in the order they are taken: the cnn's (cheap)
    first, then seed by seed, [PS] (whose grid the tuned runs wait for) before
    the resnet's [IB] runs."""
    runs = list(ib_runs()) + list(ps_runs())
    order = lambda nr: ("-cnn-" not in nr[0], int(nr[0].rsplit("-s", 1)[1]), not nr[0].startswith("ps-"))
    return sorted(runs, key=order)


# ----------------------------------------------------------- budget estimates
# samples per second on one thread (one of two runs at once) and the rows per
# second of an evaluation pass, measured on this campaign's machines (see
# docs/RESULTS.md, "Budget"); SGD takes one pass, SAM and GSAM two.
RATE = {("resnet:20", "sgd"): 620, ("resnet:20", "sam"): 280, ("cnn", "sgd"): 9000, ("cnn", "sam"): 4000}
EVAL_RATE = {"resnet:20": 1000, "cnn": 15000}


def flag(flags, name, default=None):
    f = flags.split()
    return f[f.index(name) + 1] if name in f else default


def estimate(name, flags):
    model, opt = flag(flags, "--model"), flag(flags, "--opt")
    rows = int(flag(flags, "--train-rows")) - int(flag(flags, "--val", "0"))
    epochs = int(flag(flags, "--epochs"))
    rate = RATE[(model, "sgd" if opt == "sgd" else "sam")]
    ev_rows = rows + int(flag(flags, "--val", "0")) + TEST_ROWS
    t = epochs * (rows / rate + ev_rows / EVAL_RATE[model]) + 10000 / EVAL_RATE[model]
    if "--metric" in flags:
        t += epochs * 1024 / RATE[(model, "sgd")]
    if name.startswith("ib-"):
        t += (20 * 1024 + 2 * 30 * 1024) / RATE[(model, "sgd")]
    return t


# ------------------------------------------------------------------- results
def result(name):
    """The parsed result.txt of a finished run, or None."""
    p = os.path.join(RUNS, name, "result.txt")
    if not os.path.exists(p):
        return None
    r = {}
    for line in open(p):
        k, _, v = line.strip().partition(" ")
        try:
            r[k] = float(v)
        except ValueError:
            r[k] = v
    return r


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "unknown"


def machine():
    model, avx = "unknown", "no AVX2"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            avx = "AVX-512" if " avx512f" in line else "AVX2" if " avx2" in line else avx
    return "%s, %d cores, %s" % (model, os.cpu_count(), avx)


# ---------------------------------------------------------------- one worker
class Stop(Exception):
    pass


STOPPING = threading.Event()
CHILDREN = set()


def run_cmd(cmd, log, out=None):
    """Run cmd, its stderr (and stdout, unless out names a file for it) to log."""
    with open(log, "a") as lf, open(out or os.devnull, "w") as of:
        p = subprocess.Popen(cmd, stdout=of if out else lf, stderr=lf, start_new_session=True)
        CHILDREN.add(p)
        try:
            rc = p.wait()
        finally:
            CHILDREN.discard(p)
    if STOPPING.is_set():
        raise Stop()
    return rc


def last_line(path):
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    return lines[-1] if lines else ""


def train(name, flags, d, log):
    """Train (or resume) run NAME in d.  A run made with fewer epochs than the
    protocol now asks for is extended by resuming it, which gives the longer
    run exactly, when its learning rate does not depend on the length."""
    base = [SAMC, "train", "--threads", "1", "--quiet", "--checkpoint-every", "2m"]
    epochs = flag(flags, "--epochs")
    have = read_config(os.path.join(d, "config.txt")) if os.path.exists(os.path.join(d, "config.txt")) else {}
    longer = have and have.get("epochs") != epochs
    if longer and (have.get("lr-schedule") != "const" or have.get("batch-schedule") != "const"):
        raise RuntimeError("%s ran with %s epochs and a schedule over them: delete %s to run it again"
                           % (name, have.get("epochs"), d))
    if os.path.exists(os.path.join(d, "final.ckpt")) and not longer:
        return 0
    if os.path.exists(os.path.join(d, "last.ckpt")):
        cmd = base + ["--resume", d, "--epochs", epochs]
    else:
        cmd = base + ["--data", "fashion-mnist", "--normalize", "--augment", "--test-rows", str(TEST_ROWS),
                      "--out", d] + flags.split()
    return run_cmd(cmd, log)


def measures(name, d, log):
    """The full-test-set evaluation and, for [IB], the sharpness measures."""
    out = {}
    ev = os.path.join(d, "eval.json")
    if run_cmd([SAMC, "eval", "--checkpoint", os.path.join(d, "final.ckpt"), "--test-rows", "0",
                "--threads", "1", "--format", "json"], log, ev) != 0:
        raise RuntimeError("samc eval failed: " + last_line(log))
    e = json.load(open(ev))
    out["test_acc_full"], out["test_loss_full"] = e["accuracy"], e["loss"]
    if name.startswith("ib-"):
        m = os.path.join(d, "sharpness.txt")
        if run_cmd([SAMC, "sharpness", "--checkpoint", os.path.join(d, "final.ckpt"), "--threads", "1"]
                   + IB_MEASURES, log, m) != 0:
            raise RuntimeError("samc sharpness failed: " + last_line(log))
        for line in open(m):
            f = line.split()
            if len(f) >= 2 and f[0] in ("worst_linf", "hessian_top"):
                out[f[0]] = float(f[1])
    return out


def metrics_summary(d):
    rows = [l.split(",") for l in open(os.path.join(d, "metrics.csv")).read().splitlines()]
    head, last = rows[0], rows[-1]
    col = lambda c: [float(r[head.index(c)]) for r in rows[1:]] if c in head else []
    out = {"epochs": float(last[head.index("epoch")]), "steps": float(last[head.index("step")]),
           "train_s": float(last[head.index("time_s")]), "train_loss": float(last[head.index("train_loss")]),
           "test_acc": float(last[head.index("test_acc")])}
    if "val_acc" in head and not math.isnan(float(last[head.index("val_acc")])):
        out["val_acc"] = float(last[head.index("val_acc")])
        v = col("val_acc")[-5:]
        out["val_acc_last5"] = sum(v) / len(v)
    g = [v for v in col("full_grad_norm") if not math.isnan(v)]
    if g:
        out["min_full_grad_norm"] = min(g)
    return out


def commit(name, d, res):
    dst = os.path.join(RUNS, name)
    os.makedirs(dst, exist_ok=True)
    for f in ("config.txt", "metrics.csv"):
        if os.path.exists(os.path.join(d, f)):
            shutil.copyfile(os.path.join(d, f), os.path.join(dst, f))
    tmp = os.path.join(dst, "result.txt.tmp")
    with open(tmp, "w") as f:
        for k, v in res.items():
            f.write("%s %s\n" % (k, "%.9g" % v if isinstance(v, float) else v))
    os.replace(tmp, os.path.join(dst, "result.txt"))
    rel = os.path.relpath(dst, ROOT)
    with open(os.path.join(ROOT, ".git", "protocol.lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        for attempt in range(20):
            a = subprocess.run(["git", "-C", ROOT, "add", "--", rel], capture_output=True, text=True)
            c = a.returncode == 0 and subprocess.run(
                ["git", "-C", ROOT, "commit", "-q", "-m", "protocol run %s" % name, "--", rel],
                capture_output=True, text=True)
            if a.returncode == 0 and c.returncode == 0:
                return
            time.sleep(1 + attempt)   # another git command holds the index
        print("protocol: could not commit %s: %s" % (rel, (c.stderr if c else a.stderr).strip()), file=sys.stderr)


def do_run(name, flags):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "train.log")
    t0 = time.time()
    rc = train(name, flags, d, log)
    res = {}
    if rc != 0:
        why = last_line(log)
        if "the run diverged" not in why:
            raise RuntimeError("samc train failed: " + why)
        res["diverged"] = why.replace(" ", "_")[:200]
    else:
        res.update(measures(name, d, log))
    res.update(metrics_summary(d))
    res["wall_s"] = round(time.time() - t0, 1)
    res["estimate_s"] = round(estimate(name, flags), 1)
    res["samc"] = git_rev()
    res["machine"] = machine().replace(" ", "_")
    commit(name, d, res)
    return res


def cmd_remeasure(a):
    """Measure again the finished runs whose final.ckpt is here (after a change
    of the measures): result.txt keeps its other fields."""
    for name, flags in all_runs():
        r, d = result(name), os.path.join(OUT, name)
        if r is None or not name.startswith(a.only) or not os.path.exists(os.path.join(d, "final.ckpt")):
            continue
        t0 = time.time()
        r.update(measures(name, d, os.path.join(d, "train.log")))
        r["measure_s"] = round(time.time() - t0, 1)
        r["samc_measures"] = git_rev()
        commit(name, d, r)
        print("protocol: %s measured again: %s" % (name, " ".join("%s=%s" % (k, r[k]) for k in (
            "test_acc_full", "worst_linf", "hessian_top") if k in r)), flush=True)


def read_config(path):
    c = {}
    for line in open(path):
        k, sep, v = line.partition(" = ")
        if sep and not line.startswith("#"):
            c[k.strip()] = v.strip()
    return c


def protocol_errors(name, c):
    """What in config.txt c of run NAME departs from the protocol (a list)."""
    want = {"data": "fashion-mnist", "normalize": "on", "augment": "on", "momentum": "0", "base": "sgd",
            "nesterov": "off", "l2": "0", "accumulate": "1", "m-sharpness": "1", "label-smoothing": "0"}
    kind, seed = name.split("-", 1)[0], name.rsplit("-s", 1)[1]
    want["seed"] = seed if int(seed) in SEEDS else "one of 0, 1, 2"
    if kind == "ib":
        _, tag, opt, v, _ = name.split("-")
        want.update({"model": IB_MODELS[tag][0], "lr": "0.1", "weight-decay": "0", "opt": opt,
                     "rho-schedule": "const"})
        if opt != "sgd":
            want["rho"] = "0.05"
        if opt == "gsam":
            want["alpha"] = "0.02"
        stage = IB_STAGE
        if v == "B":
            spec = c.get("batch-schedule", "")
            stage = int(spec.split("@")[1].split(",")[0]) if spec.startswith("exp:2@") else 0
            want.update({"batch": "16", "batch-schedule": "exp:2@%d,max=256" % stage, "lr-schedule": "const"})
        else:
            want.update({"batch": "128", "batch-schedule": "const",
                         "lr-schedule": {"const": "const", "C": "cosine:0.001", "L": "linear:0.001"}[v]})
        want["epochs"] = str(5 * stage)
        errs = [] if stage >= 8 else ["batch stages of %d epochs (at least 8)" % stage]
    else:
        _, opt, meth = name.split("-")[:3]
        rho = name.split("-rho")[1].split("-")[0]
        want.update({"model": "resnet:20", "opt": opt, "rho": rho, "weight-decay": "0.0005", "batch": "128",
                     "batch-schedule": "const", "lr-schedule": "cosine" if meth == "cosine" else "const",
                     "epochs": str(PS_EPOCHS), "train-rows": "5000", "val": "1000"})
        if meth == "polyak":
            want.update({"lr": "polyak", "polyak-cap": "1", "polyak-lb": "0"})
        errs = [] if rho in PS_RHOS else ["rho %s is not one of %s" % (rho, ", ".join(PS_RHOS))]
    errs += ["%s = %s, not %s" % (k, c.get(k, "(missing)"), v) for k, v in want.items() if c.get(k) != v]
    return errs


def cmd_check(a):
    """Every committed run: its config.txt follows the protocol and result.txt
    has its measures.  Exit 1 on any departure."""
    bad = n = 0
    for name in sorted(os.listdir(RUNS)) if os.path.isdir(RUNS) else []:
        d = os.path.join(RUNS, name)
        if not os.path.exists(os.path.join(d, "result.txt")):
            continue
        n += 1
        errs = protocol_errors(name, read_config(os.path.join(d, "config.txt")))
        r = result(name)
        need = ["test_acc_full"] + (["worst_linf", "hessian_top", "min_full_grad_norm"] if name.startswith("ib-") else [])
        if not r.get("diverged"):
            errs += ["result.txt lacks %s" % k for k in need if k not in r]
        if not os.path.exists(os.path.join(d, "metrics.csv")):
            errs.append("no metrics.csv")
        for e in errs:
            print("protocol: %s: %s" % (name, e))
        bad += bool(errs)
    print("protocol: %d runs checked, %d depart from the protocol" % (n, bad))
    sys.exit(1 if bad else 0)


def claim(name):
    try:
        os.makedirs(os.path.join(OUT, ".claims", name))
        return True
    except FileExistsError:
        return False


def worker(k, deadline, only):
    while not STOPPING.is_set():
        if deadline and time.time() > deadline:
            return
        todo = [(n, f) for n, f in all_runs() if result(n) is None and n.startswith(only)]
        pick = next(((n, f) for n, f in todo if claim(n)), None)
        if pick is None:
            return
        name, flags = pick
        t0 = time.time()
        print("protocol: [%d] %s (estimate %.0f s) started %s" % (k, name, estimate(name, flags),
                                                                time.strftime("%H:%M:%S")), flush=True)
        try:
            res = do_run(name, flags)
            print("protocol: [%d] %s done in %.0f s: %s" % (k, name, time.time() - t0,
                  " ".join("%s=%s" % (a, res[a]) for a in ("test_acc_full", "worst_linf", "hessian_top",
                                                           "diverged") if a in res)), flush=True)
        except Stop:
            return
        except Exception as e:   # a failed run is reported and left for a rerun
            print("protocol: [%d] %s FAILED: %s" % (k, name, e), file=sys.stderr, flush=True)
        finally:
            os.rmdir(os.path.join(OUT, ".claims", name))


def cmd_run(a):
    if not os.access(SAMC, os.X_OK):
        sys.exit("protocol: %s not found; run make first" % SAMC)
    deadline = None
    if a.hours:
        deadline = time.time() + 3600 * a.hours
    elif a.until:
        h, m = map(int, a.until.split(":"))
        t = time.localtime()
        deadline = time.mktime(t[:3] + (h, m, 0) + t[6:])
        if deadline < time.time():
            deadline += 86400
    os.makedirs(os.path.join(OUT, ".claims"), exist_ok=True)
    for c in os.listdir(os.path.join(OUT, ".claims")):   # claims of a previous, stopped driver
        os.rmdir(os.path.join(OUT, ".claims", c))

    def stop(sig, frame):
        STOPPING.set()
        for p in list(CHILDREN):
            os.killpg(p.pid, signal.SIGINT)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    ts = [threading.Thread(target=worker, args=(k, deadline, a.only)) for k in range(a.jobs)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        time.sleep(1)
    print("protocol: %s" % ("stopped" if STOPPING.is_set() else "no run left to start"), flush=True)


def progress():
    """{group: [runs known, runs done, their estimate s, the estimate s of
    those done, their training s]} (group: "ib-cnn", "ps-sam", ...), and how
    many [PS] runs still wait for their grid (5 per optimizer and rho)."""
    groups = {}
    for n, f in all_runs():
        g = groups.setdefault("-".join(n.split("-")[:2]), [0, 0, 0.0, 0.0, 0.0])
        r, e = result(n), estimate(n, f)
        g[0] += 1
        g[2] += e
        if r is not None:
            g[1] += 1
            g[3] += e
            g[4] += r.get("train_s", 0.0)   # metrics.csv's time_s: over every resume
    waiting = sum(5 for o in PS_OPTS for r in PS_RHOS if ps_best_lr(o, r)[0] is None)
    return groups, waiting


def cmd_budget(a):
    groups, waiting = progress()
    print("%-14s %5s %5s %12s %12s" % ("group", "runs", "done", "estimate h", "training h"))
    for g, (n, d, e, _, t) in groups.items():
        print("%-14s %5d %5d %12.2f %12.2f" % (g, n, d, e / 3600, t / 3600))
    tot, done = sum(g[2] for g in groups.values()), sum(g[3] for g in groups.values())
    w = waiting * estimate("ps-", ps_flags("sam", "0.1", "0.1", "const", 0))
    print("known runs %d, estimated %.1f h on one core; %d [PS] runs wait for their grid, %.1f h more; "
          "in all %.1f h of 2-core time, %.1f h of it done" % (sum(g[0] for g in groups.values()), tot / 3600,
                                                              waiting, w / 3600, (tot + w) / 7200, done / 7200))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--until", help="HH:MM, local time: no run starts after it")
    r.add_argument("--hours", type=float)
    r.add_argument("--only", default="", help="only the runs whose name starts so (e.g. ib-cnn)")
    sub.add_parser("check")
    m = sub.add_parser("remeasure")
    m.add_argument("--only", default="")
    sub.add_parser("budget")
    sub.add_parser("tables")
    a = ap.parse_args()
    if a.cmd == "run":
        cmd_run(a)
    elif a.cmd == "check":
        cmd_check(a)
    elif a.cmd == "remeasure":
        cmd_remeasure(a)
    elif a.cmd == "budget":
        cmd_budget(a)
    else:
        import protocol_tables
        protocol_tables.main(sys.modules[__name__])


if __name__ == "__main__":
    main()
