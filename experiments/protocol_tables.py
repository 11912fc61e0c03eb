"""experiments/protocol_tables.py -- the tables and figures of the protocol
campaign, from docs/results/runs/*/ alone (no run directory is needed):

    docs/results/protocol_ib_<model>.csv   optimizer, variant, seeds, mean and sd of
                                           test error, worst-case sharpness, top Hessian
                                           eigenvalue, min_t full-gradient norm
    docs/results/protocol_ps.csv           optimizer, rho, method, lr, seeds, test accuracy
    docs/results/protocol_ps_grid.csv      the seed-0 grid: optimizer, rho, lr, val / test accuracy
    docs/results/protocol_ps_<opt>.csv     test accuracy against rho by method (for the figure)
    docs/figures/protocol_*.png            drawn by samc plot

and the Markdown tables, written into docs/RESULTS.md between its
`<!-- protocol:NAME -->` and `<!-- /protocol -->` lines (and printed).  Called
by `protocol.py tables`; a cell whose runs are not all in shows the seeds it has.
"""
import math
import os
import re
import subprocess

BLOCKS = {}   # NAME: the Markdown lines of a table


def emit(name, lines):
    BLOCKS[name] = lines
    print("\n%s\n\n%s" % (name, "\n".join(lines)))


def splice(path):
    """Replace each <!-- protocol:NAME --> ... <!-- /protocol --> block of path."""
    text = open(path).read()
    for name, lines in BLOCKS.items():
        pat = re.compile(r"(<!-- protocol:%s -->\n).*?(<!-- /protocol -->)" % re.escape(name), re.S)
        text = pat.sub(lambda m: m.group(1) + "\n".join(lines) + "\n" + m.group(2), text)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def mean_sd(v):
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd


def cell(v, scale=1.0, fmt="%.2f"):
    if not v:
        return "-"
    m, sd = mean_sd([x * scale for x in v])
    s = (fmt + " +- " + fmt) % (m, sd)
    return s if len(v) == 3 else s + " (%d seed%s)" % (len(v), "" if len(v) == 1 else "s")


def write_csv(path, head, rows):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(",".join(head) + "\n")
        for r in rows:
            f.write(",".join("%.6g" % x if isinstance(x, float) else str(x) for x in r) + "\n")
    os.replace(tmp, path)


def plot(P, args):
    r = subprocess.run([P.SAMC, "plot"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        print("protocol: samc plot failed: %s" % r.stderr.strip())


def ib_tables(P, res_dir, fig_dir):
    for tag, (model, rows, variants) in P.IB_MODELS.items():
        out, md = [], []
        md.append("| optimizer | variant | test error (%) | worst-case sharpness (L-inf) | top Hessian eigenvalue "
                  "| min_t full-gradient norm | steps |")
        md.append("| --- | --- | --- | --- | --- | --- | --- |")
        for opt in P.IB_OPTS:
            for v in variants:
                rs = [r for r in (P.result("ib-%s-%s-%s-s%d" % (tag, opt, v, s)) for s in P.SEEDS) if r]
                get = lambda k: [r[k] for r in rs if k in r and not r.get("diverged")]
                err = [1 - a for a in get("test_acc_full")]
                row = [opt, v, len(rs)]
                for k, vals in (("test_err", err), ("worst_linf", get("worst_linf")),
                                ("hessian_top", get("hessian_top")), ("min_full_grad_norm", get("min_full_grad_norm"))):
                    row += list(mean_sd(vals))
                out.append(row)
                steps = "%d" % rs[0]["steps"] if rs else "-"
                md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    opt.upper(), "constant" if v == "const" else "+" + v, cell(err, 100), cell(get("worst_linf"), 1, "%.4f"),
                    cell(get("hessian_top"), 1, "%.1f"), cell(get("min_full_grad_norm"), 1, "%.3f"), steps))
        write_csv(os.path.join(res_dir, "protocol_ib_%s.csv" % tag),
                  ["optimizer", "variant", "seeds", "test_err", "test_err_sd", "worst_linf", "worst_linf_sd",
                   "hessian_top", "hessian_top_sd", "min_full_grad_norm", "min_full_grad_norm_sd"], out)
        emit("ib-" + tag, md)
        for opt in P.IB_OPTS:
            runs = [os.path.join(P.RUNS, "ib-%s-%s-%s-s0" % (tag, opt, v)) for v in variants]
            runs = [d for d in runs if os.path.exists(os.path.join(d, "result.txt"))]
            if len(runs) < 2:
                continue
            label = lambda d: d + "=" + {"const": "constant", "B": "+B (16..256)", "C": "+C (cosine)",
                                         "L": "+L (linear)"}[d.rsplit("-", 2)[1]]
            plot(P, ["--compare"] + [label(d) for d in runs] + [
                "--x", "epoch", "--y", "full_grad_norm", "--running-min", "--logy",
                "--title", "%s, %s on Fashion-MNIST (%d rows), seed 0: min over epochs of the full gradient norm"
                % (opt.upper(), model, rows), "--ylabel", "min_t ||grad f(x_t)|| (1024 rows)",
                "--output", os.path.join(fig_dir, "protocol_ib_%s_grad_norm_%s.png" % (tag, opt))])


def ps_tables(P, res_dir, fig_dir):
    grid, table, md = [], [], []
    md.append("| optimizer | rho | SAM-family + Polyak | constant, tuned (lr) | cosine from the tuned lr |")
    md.append("| --- | --- | --- | --- | --- |")
    for opt in P.PS_OPTS:
        by_rho = []
        for rho in P.PS_RHOS:
            for lr in P.GRID:
                r = P.result(P.ps_name(opt, rho, "const", 0, lr))
                if r:
                    grid.append([opt, rho, lr, r.get("val_acc_last5", 0.0), r.get("test_acc_full", 0.0),
                                 1 if r.get("diverged") else 0])
            best, _, _ = P.ps_best_lr(opt, rho)
            acc = lambda kind, lr: [r.get("test_acc_full", 0.0) for r in (
                P.result(P.ps_name(opt, rho, kind, s, lr)) for s in P.SEEDS) if r]
            pol = acc("polyak", None)
            con = acc("const", best) if best else []
            cos = acc("cosine", best) if best else []
            for meth, lr, v in (("polyak", "-", pol), ("const", best or "-", con), ("cosine", best or "-", cos)):
                if v:
                    table.append([opt, rho, meth, lr, len(v)] + list(mean_sd(v)))
                    by_rho.append([meth, rho] + list(mean_sd(v)) + [len(v)])
            md.append("| %s | %s | %s | %s | %s |" % (opt.upper(), rho, cell(pol, 100),
                      cell(con, 100) + (" (%s)" % best if best else ""), cell(cos, 100)))
        by_rho.sort(key=lambda r: r[0])
        path = os.path.join(res_dir, "protocol_ps_%s.csv" % opt)
        write_csv(path, ["method", "rho", "test_acc", "sd", "seeds"], by_rho)
        if by_rho:
            plot(P, ["--summary", path, "--x", "rho", "--y", "test_acc", "--group", "method", "--err", "sd",
                     "--title", "%s on Fashion-MNIST (resnet:20, weight decay 5e-4): test accuracy vs rho"
                     % opt.upper(), "--xlabel", "rho", "--ylabel", "test accuracy (10000 rows)",
                     "--output", os.path.join(fig_dir, "protocol_ps_%s_rho.png" % opt)])
    write_csv(os.path.join(res_dir, "protocol_ps_grid.csv"),
              ["optimizer", "rho", "lr", "val_acc_last5", "test_acc", "diverged"], grid)
    write_csv(os.path.join(res_dir, "protocol_ps.csv"),
              ["optimizer", "rho", "method", "lr", "seeds", "test_acc", "test_acc_sd"], table)
    emit("ps", md)
    g = ["| optimizer | rho | " + " | ".join("lr %s" % lr for lr in P.GRID) + " |",
         "| --- | --- |" + " --- |" * len(P.GRID)]
    for opt in P.PS_OPTS:
        for rho in P.PS_RHOS:
            cells = []
            for lr in P.GRID:
                hit = [r for r in grid if r[0] == opt and r[1] == rho and r[2] == lr]
                cells.append("-" if not hit else "diverged" if hit[0][5] else
                             "%.1f / %.1f" % (100 * hit[0][3], 100 * hit[0][4]))
            g.append("| %s | %s | %s |" % (opt.upper(), rho, " | ".join(cells)))
    emit("ps-grid", g)
    # the plateau: the tuned constant runs' test accuracy per epoch, and the
    # mean over their last 5 epochs against the 5 before
    E = P.PS_EPOCHS
    pl = ["| optimizer | rho | lr | test accuracy, epochs %d-%d | epochs %d-%d | change (points) |"
          % (E - 9, E - 5, E - 4, E),
          "| --- | --- | --- | --- | --- | --- |"]
    for opt in P.PS_OPTS:
        for rho in P.PS_RHOS:
            best = P.ps_best_lr(opt, rho)[0]
            if not best:
                continue
            a, b = [], []
            for s in P.SEEDS:
                m = os.path.join(P.RUNS, P.ps_name(opt, rho, "const", s, best), "metrics.csv")
                if os.path.exists(m):
                    rows = [l.split(",") for l in open(m).read().splitlines()]
                    k = rows[0].index("test_acc")
                    acc = [float(r[k]) for r in rows[1:]]
                    a.append(sum(acc[-10:-5]) / 5)
                    b.append(sum(acc[-5:]) / 5)
            if a:
                pl.append("| %s | %s | %s | %s | %s | %+.2f |" % (opt.upper(), rho, best, cell(a, 100), cell(b, 100),
                                                                100 * (sum(b) - sum(a)) / len(a)))
    emit("ps-plateau", pl)
    for opt in P.PS_OPTS:
        runs = []
        for rho in P.PS_RHOS:
            best = P.ps_best_lr(opt, rho)[0]
            d = best and os.path.join(P.RUNS, P.ps_name(opt, rho, "const", 0, best))
            if d and os.path.exists(os.path.join(d, "result.txt")):
                runs.append("%s=rho %s, lr %s" % (d, rho, best))
        if runs:
            plot(P, ["--compare"] + runs + ["--x", "epoch", "--y", "test_acc",
                     "--title", "%s, the tuned constant learning rate per rho, seed 0: test accuracy per epoch "
                     "(%d test rows)" % (opt.upper(), P.TEST_ROWS), "--ylabel", "test accuracy",
                     "--output", os.path.join(fig_dir, "protocol_ps_%s_plateau.png" % opt)])


def state_table(P):
    groups, waiting = P.progress()
    lines = ["| runs | known | done | training time of those done |", "| --- | --- | --- | --- |"]
    for g, (n, d, _, _, t) in groups.items():
        lines.append("| %s | %d | %d | %.1f h |" % (g, n, d, t / 3600))
    lines.append("| [PS] runs waiting for their grid | %d | 0 | |" % waiting)
    emit("state", lines)


def main(P):
    res_dir = os.path.dirname(P.RUNS)
    fig_dir = os.path.join(P.ROOT, "docs", "figures")
    os.makedirs(fig_dir, exist_ok=True)
    ib_tables(P, res_dir, fig_dir)
    ps_tables(P, res_dir, fig_dir)
    state_table(P)
    splice(os.path.join(P.ROOT, "docs", "RESULTS.md"))
