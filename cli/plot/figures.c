/*
 * figures.c -- `samc plot OUT [--format png|svg] [--out DIR]`: the figures of
 * one training run, from OUT/steps.csv and OUT/metrics.csv (runs.c), drawn by
 * one gnuplot script (gnuplot.c).  Each figure below is a function; one with
 * nothing to plot is left out and says why.
 *
 * Figures (png: pngcairo 1000x600, or png where gnuplot lacks cairo; svg):
 *   loss       per-step f_S(x_t), f_S(x_t + d) and per-epoch full-pass losses
 *   accuracy   train / test / validation accuracy per epoch (if any is defined)
 *   step_size  the step size gamma_t taken per step, with a running mean
 *   batch_rho  batch size and rho per step, two y axes
 *   grad_norm  ||grad f_S(x_t)|| and ||grad f_S(x_t + d)|| per step
 *   sharpness  one panel per measurement column of metrics.csv (if any)
 * Nothing is created before the inputs have been read and gnuplot found.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "plot_internal.h"
#include "util/err.h"

/* What each measurement column is (panel titles of sharpness.png). */
static const char *const meas_desc[M_NCOL - M_MEAS] = {
    "worst-case sharpness, L-inf ball\nmax f(x+delta) - f(x) over ||delta||_inf <= rho",
    "worst-case sharpness, L2 ball\nmax f(x+delta) - f(x) over ||delta||_2 <= rho",
    "adaptive worst-case sharpness, L-inf ball\ndelta = |x| u, ||u||_inf <= rho",
    "adaptive worst-case sharpness, L2 ball\ndelta = |x| u, ||u||_2 <= rho",
    "average-case sharpness\nE f(x+delta) - f(x), delta ~ N(0, rho^2 I)",
    "top Hessian eigenvalue\nlambda_max(H) by Lanczos",
    "Hessian trace\ntr(H) by Hutchinson probes",
};

enum { F_LOSS, F_ACC, F_STEP, F_BATCH, F_GRAD, F_SHARP, F_N };

typedef struct fig {
    const char *name;
    int made;
    char note[256]; /* why it was skipped */
} fig;

/* One data block of the data file: the finite points of a series. */
typedef struct series {
    int index; /* gnuplot `index`, -1 when the series has no finite point */
    size_t n;
    double lo, hi;
    double lopos; /* smallest positive value (INFINITY: none) */
} series;

static const series none = { -1, 0, INFINITY, -INFINITY, INFINITY };

/* What every figure reads and writes. */
typedef struct figctx {
    FILE *g, *df;     /* the script and the data file */
    int next;         /* the index of the next data block */
    const char *data; /* the data file's path */
    const char *fmt, *dir, *run;
    const steps *s;
    const metrics *m;
    char sub[128];    /* how many steps are plotted, for the titles */
    char title[2048];
} figctx;

static series put(figctx *x, const double *xs, const double *y, size_t n)
{
    series s = none;
    for (size_t i = 0; i < n; i++) {
        if (isnan(xs[i]) || isnan(y[i])) continue;
        fprintf(x->df, "%.9g %.9g\n", xs[i], y[i]);
        s.n++;
        if (y[i] < s.lo) s.lo = y[i];
        if (y[i] > s.hi) s.hi = y[i];
        if (y[i] > 0 && y[i] < s.lopos) s.lopos = y[i];
    }
    if (s.n) {
        fputs("\n\n", x->df);
        s.index = x->next++;
    }
    return s;
}

/* A series of steps.csv (x: the step) and of metrics.csv (x: step or epoch). */
static series put_step(figctx *x, const double *y) { return put(x, x->s->v[S_STEP], y, x->s->n); }
static series put_epoch(figctx *x, int k) { return put(x, x->m->v[M_EPOCH], x->m->v[k], x->m->n); }
static series put_mstep(figctx *x, int k) { return put(x, x->m->v[M_STEP], x->m->v[k], x->m->n); }

/* Starts a figure: reset, terminal, output file, title. */
static void begin(figctx *x, int w, int h, const char *name, const char *title)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.%s", x->dir, name, x->fmt);
    fprintf(x->g, "\nreset\n");
    gp_terminal(x->g, x->fmt, w, h);
    fprintf(x->g, "set output %s\nset grid\nset key below horizontal maxcols 2 width 2 spacing 1.2 samplen 3\n"
                  "set autoscale xfix\nset title %s\n", gp_quote(path), gp_quote(title));
    fputs("set offsets graph 0.01, graph 0.01, graph 0.04, graph 0.04\n", x->g);
}

/* The x axis of the steps and a y axis, logarithmic with logy. */
static void step_axes(figctx *x, const char *ylabel, int logy)
{
    char l[128];
    snprintf(l, sizeof l, "%s%s", ylabel, logy ? " (log scale)" : "");
    fprintf(x->g, "set xlabel 'step t' offset 0,0.4\nset ylabel %s\n", gp_quote(l));
    if (logy) fputs("set logscale y\nset format y '%g'\n", x->g);
}

/* A log y axis: when the values are positive (or, with allow_nonpos, the
 * positive ones are what matters) and span at least a factor LOG_SPAN -- a
 * log axis over less than a decade shows hardly a labelled tic. */
#define LOG_SPAN 10.0
static int use_log(const series *s, int n, int allow_nonpos)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n; k++) {
        if (s[k].n == 0) continue;
        if (s[k].lo <= 0 && !allow_nonpos) return 0;
        if (s[k].lopos < lo) lo = s[k].lopos;
        if (s[k].hi > hi) hi = s[k].hi;
    }
    return isfinite(lo) && hi / lo >= LOG_SPAN;
}

/* Integer epoch tics for short runs (gnuplot would label 1.2, 1.4, ...). */
static void epoch_tics(figctx *x)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < x->m->n; i++) {
        double e = x->m->v[M_EPOCH][i];
        if (isnan(e)) continue;
        if (e < lo) lo = e;
        if (e > hi) hi = e;
    }
    if (isfinite(lo) && hi - lo <= 12) fputs("set xtics 1\n", x->g);
    fputs("set offsets graph 0.03, graph 0.03, graph 0.04, graph 0.04\n", x->g);
}

/* plot clauses: one per non-empty series */
typedef struct clause {
    series s;
    const char *style; /* e.g. "w l lw 1.5 lc rgb '#1f77b4'" */
    const char *title;
} clause;

static int plot(figctx *x, const clause *c, int n)
{
    int any = 0;
    for (int k = 0; k < n; k++) {
        if (c[k].s.n == 0) continue;
        fprintf(x->g, "%s%s index %d using 1:2 %s title %s", any ? ", \\\n     " : "plot ", gp_quote(x->data),
                c[k].s.index, c[k].style, gp_quote(c[k].title));
        any = 1;
    }
    if (any) fputs("\n", x->g);
    return any;
}

static size_t points(const clause *c, int n, series *out)
{
    size_t total = 0;
    for (int k = 0; k < n; k++) total += (out[k] = c[k].s).n;
    return total;
}

static void fig_loss(figctx *x, fig *f)
{
    const steps *s = x->s;
    int few = x->m->n <= 60;     /* per-epoch series: points only while they stay apart */
    int means = s->total > 2000; /* many noisy steps (small batches) make a band: add running means */
    char mt[2][128];
    snprintf(mt[0], sizeof mt[0], "f_S(x_t), running mean over %zu steps", s->window);
    snprintf(mt[1], sizeof mt[1], "f_S(x_t + d), running mean over %zu steps", s->window);
    clause c[7] = {
        { none, s->n > 200 ? "w l lw 1 lc rgb '#6baed6'" : "w lp lw 1 pt 7 ps 0.5 lc rgb '#1f77b4'",
          "f_S(x_t), mini-batch loss per step" },
        { none, s->n > 200 ? "w l lw 1 lc rgb '#fdae6b'" : "w lp lw 1 pt 7 ps 0.5 lc rgb '#ff7f0e'",
          "f_S(x_t + d), at the perturbed point" },
        { none, "w l lw 2.5 lc rgb '#08306b'", mt[0] },
        { none, "w l lw 2.5 lc rgb '#a63603'", mt[1] },
        { none, few ? "w lp lw 2 pt 7 ps 1.2 lc rgb 'black'" : "w l lw 2.5 lc rgb 'black'",
          "train loss, full pass per epoch" },
        { none, few ? "w lp lw 2 pt 5 ps 1.2 lc rgb '#d62728'" : "w l lw 2.5 lc rgb '#d62728'", "test loss per epoch" },
        { none, few ? "w lp lw 2 pt 9 ps 1.4 lc rgb '#9467bd'" : "w l lw 2.5 lc rgb '#9467bd'",
          "validation loss per epoch" },
    };
    c[0].s = put_step(x, s->v[S_LOSS]);
    c[1].s = put_step(x, s->v[S_LOSSP]);
    if (means) c[2].s = put_step(x, s->mean[1]);
    if (means) c[3].s = put_step(x, s->mean[2]);
    c[4].s = put_mstep(x, M_TRLOSS);
    c[5].s = put_mstep(x, M_TELOSS);
    c[6].s = put_mstep(x, M_VLOSS);
    series ss[7];
    if (points(c, 7, ss) == 0) {
        snprintf(f->note, sizeof f->note, "no finite loss values");
        return;
    }
    int logy = use_log(ss, 7, 0);
    snprintf(x->title, sizeof x->title,
             "training loss: per step at x_t and at x_t + d, per epoch on full passes%s\nrun: %s%s",
             logy ? " (log scale)" : "", x->run, x->sub);
    begin(x, 1000, 600, "loss", x->title);
    step_axes(x, "loss", logy);
    f->made = plot(x, c, 7);
}

static void fig_accuracy(figctx *x, fig *f)
{
    int few = x->m->n <= 60;
    clause c[3] = {
        { none, few ? "w lp lw 2 pt 7 ps 1.2 lc rgb 'black'" : "w l lw 2 lc rgb 'black'", "train accuracy" },
        { none, few ? "w lp lw 2 pt 5 ps 1.2 lc rgb '#d62728'" : "w l lw 2 lc rgb '#d62728'", "test accuracy" },
        { none, few ? "w lp lw 2 pt 9 ps 1.4 lc rgb '#9467bd'" : "w l lw 2 lc rgb '#9467bd'", "validation accuracy" },
    };
    c[0].s = put_epoch(x, M_TRACC);
    c[1].s = put_epoch(x, M_TEACC);
    c[2].s = put_epoch(x, M_VACC);
    if (c[0].s.n + c[1].s.n + c[2].s.n == 0) {
        snprintf(f->note, sizeof f->note, "no accuracy values (a regression, or no epoch finished)");
        return;
    }
    snprintf(x->title, sizeof x->title, "classification accuracy at the end of each epoch\nrun: %s", x->run);
    begin(x, 1000, 600, "accuracy", x->title);
    fputs("set xlabel 'epoch' offset 0,0.4\nset ylabel 'accuracy (fraction correct)'\n", x->g);
    epoch_tics(x);
    f->made = plot(x, c, 3);
}

static void fig_step_size(figctx *x, fig *f)
{
    const steps *s = x->s;
    char mean_title[128];
    snprintf(mean_title, sizeof mean_title, "running mean over %zu steps (centred)", s->window);
    clause c[2] = {
        { none, s->n <= 200 ? "w lp lw 1 pt 7 ps 0.7 lc rgb '#1f77b4'" : "w p pt 7 ps 0.5 lc rgb '#1f77b4'",
          "gamma_t per step" },
        { none, "w l lw 2.5 lc rgb '#d62728'", mean_title },
    };
    c[0].s = put_step(x, s->v[S_LR]);
    c[1].s = put_step(x, s->mean[0]);
    if (c[0].s.n == 0) {
        snprintf(f->note, sizeof f->note, "no finite step sizes");
        return;
    }
    /* Polyak steps are often exactly 0 (numerator <= 0) while the others
     * span decades: then the log axis shows the positive ones and the title
     * counts the zeros */
    series sz[2] = { c[0].s, c[1].s };
    int logy = use_log(sz, 2, 1);
    char zero[200] = "";
    if (s->lr_nonpos)
        snprintf(zero, sizeof zero, "; gamma_t <= 0 at %zu of %zu steps (%.1f%%)%s", s->lr_nonpos, s->lr_finite,
                 100.0 * (double)s->lr_nonpos / (double)s->lr_finite, logy ? ", not shown on the log axis" : "");
    snprintf(x->title, sizeof x->title,
             "step size gamma_t (Polyak or scheduled) actually taken per step%s\nrun: %s%s%s",
             logy ? " (log scale)" : "", x->run, x->sub, zero);
    begin(x, 1000, 600, "step_size", x->title);
    step_axes(x, "step size gamma_t", logy);
    if (!logy && c[0].s.hi > 0 && c[0].s.lo >= 0)
        fprintf(x->g, "set yrange [%.9g:%.9g]\n", -0.03 * c[0].s.hi, 1.1 * c[0].s.hi);
    f->made = plot(x, c, 2);
}

static void fig_batch_rho(figctx *x, fig *f)
{
    clause c[2] = {
        { none, "axes x1y1 w steps lw 2 lc rgb '#1f77b4'", "batch size b_t (left axis)" },
        { none, "axes x1y2 w steps lw 2 lc rgb '#d62728'", "rho_t (right axis)" },
    };
    c[0].s = put_step(x, x->s->v[S_BATCH]);
    c[1].s = put_step(x, x->s->v[S_RHO]);
    if (c[0].s.n + c[1].s.n == 0) {
        snprintf(f->note, sizeof f->note, "no finite batch sizes or rho");
        return;
    }
    snprintf(x->title, sizeof x->title,
             "batch size b_t (an epoch's last batch may be smaller) and SAM perturbation radius rho_t per step\n"
             "run: %s%s", x->run, x->sub);
    begin(x, 1000, 600, "batch_rho", x->title);
    fputs("set xlabel 'step t' offset 0,0.4\nset ylabel 'batch size b_t'\nset y2label 'perturbation radius rho_t'\n"
          "set ytics nomirror\nset y2tics\nset offsets graph 0.01, graph 0.01, 0, 0\n", x->g);
    /* both from 0, different headroom so that two constants do not overlap */
    if (c[0].s.n && c[0].s.hi > 0) fprintf(x->g, "set yrange [0:%.9g]\n", c[0].s.hi * 1.12);
    if (c[1].s.n && c[1].s.hi > 0) fprintf(x->g, "set y2range [0:%.9g]\n", c[1].s.hi * 1.3);
    f->made = plot(x, c, 2);
}

static void fig_grad_norm(figctx *x, fig *f)
{
    int few = x->s->n <= 200;
    clause c[2] = {
        { none, few ? "w lp lw 1 pt 7 ps 0.5 lc rgb '#1f77b4'" : "w l lw 1 lc rgb '#1f77b4'", "||grad f_S(x_t)||" },
        { none, few ? "w lp lw 1 pt 7 ps 0.5 lc rgb '#ff7f0e'" : "w l lw 1 lc rgb '#ff7f0e'",
          "||grad f_S(x_t + d)||, at the perturbed point" },
    };
    c[0].s = put_step(x, x->s->v[S_G]);
    c[1].s = put_step(x, x->s->v[S_GP]);
    series ss[2];
    if (points(c, 2, ss) == 0) {
        snprintf(f->note, sizeof f->note, "no finite gradient norms");
        return;
    }
    int logy = use_log(ss, 2, 0);
    snprintf(x->title, sizeof x->title, "mini-batch gradient norms per step%s\nrun: %s%s", logy ? " (log scale)" : "",
             x->run, x->sub);
    begin(x, 1000, 600, "grad_norm", x->title);
    step_axes(x, "gradient norm", logy);
    f->made = plot(x, c, 2);
}

/* One panel per measurement column with a finite value. */
static void fig_sharpness(figctx *x, fig *f)
{
    series ms[M_NCOL - M_MEAS];
    int panels = 0;
    for (int k = M_MEAS; k < M_NCOL; k++) {
        ms[k - M_MEAS] = x->m->present[k] ? put_epoch(x, k) : none;
        panels += ms[k - M_MEAS].n > 0;
    }
    if (!panels) {
        snprintf(f->note, sizeof f->note,
                 "no measurement columns with values in metrics.csv (samc train --measure-every E)");
        return;
    }
    int cols = panels <= 3 ? 1 : 2, rows = (panels + cols - 1) / cols;
    int h = rows <= 2 ? 600 : 300 * rows;
    snprintf(x->title, sizeof x->title,
             "flatness measurements at the end of epochs (samc train --measure-every)\nrun: %s", x->run);
    begin(x, 1000, h, "sharpness", "");
    fputs("unset title\n", x->g);
    fprintf(x->g, "set multiplot layout %d,%d title %s\n", rows, cols, gp_quote(x->title));
    fputs("set xlabel 'epoch' offset 0,0.4\nunset key\nset format y '%.4g'\n", x->g);
    epoch_tics(x);
    for (int k = 0; k < M_NCOL - M_MEAS; k++) {
        if (!ms[k].n) continue;
        int logy = use_log(&ms[k], 1, 0);
        char t[256];
        const char *name = metrics_col(M_MEAS + k);
        snprintf(t, sizeof t, "%s: %s%s", name, meas_desc[k], logy ? " (log scale)" : "");
        fprintf(x->g, "set title %s\nset ylabel %s\n", gp_quote(t), gp_quote(name));
        fputs(logy ? "set logscale y\n" : "unset logscale y\n", x->g);
        fprintf(x->g, "plot %s index %d using 1:2 %s lc rgb '#2ca02c' notitle\n", gp_quote(x->data), ms[k].index,
                ms[k].n <= 60 ? "w lp lw 2 pt 7 ps 1.2" : "w l lw 2");
    }
    fputs("unset multiplot\n", x->g);
    f->made = 1;
}

/* Writes the data file and the script of the six figures. */
static void write_plots(figctx *x, fig *figs)
{
    if (x->s->every > 1) snprintf(x->sub, sizeof x->sub, "; 1 in %zu of %zu steps plotted", x->s->every, x->s->total);
    else snprintf(x->sub, sizeof x->sub, "; %zu steps", x->s->total);
    fprintf(x->g, "# samc plot %s: generated gnuplot script\nset datafile separator whitespace\n", x->run);
    fig_loss(x, &figs[F_LOSS]);
    fig_accuracy(x, &figs[F_ACC]);
    fig_step_size(x, &figs[F_STEP]);
    fig_batch_rho(x, &figs[F_BATCH]);
    fig_grad_norm(x, &figs[F_GRAD]);
    fig_sharpness(x, &figs[F_SHARP]);
    fputs("set output\n", x->g);
}

/* Draws the figures, checks that gnuplot wrote each, says what it did. */
static samc_status draw_run(const char *run, const char *dir, const char *fmt, const steps *s, const metrics *m,
                            char *err)
{
    fig figs[F_N] = { { "loss", 0, "" }, { "accuracy", 0, "" }, { "step_size", 0, "" },
                      { "batch_rho", 0, "" }, { "grad_norm", 0, "" }, { "sharpness", 0, "" } };
    gpfiles f;
    samc_status st = gp_start(&f, dir, NULL, 0, err);
    if (st == SAMC_OK) {
        figctx x = { f.g, f.df, 0, f.data, fmt, dir, run, s, m, "", "" };
        write_plots(&x, figs);
        st = gp_run(&f, err);
    }
    for (int k = 0; k < F_N && st == SAMC_OK; k++) {
        char out[4300];
        struct stat sb;
        snprintf(out, sizeof out, "%s/%s.%s", dir, figs[k].name, fmt);
        if (figs[k].made && (stat(out, &sb) != 0 || sb.st_size == 0))
            st = samc_errf(err, SAMC_EIO, "gnuplot exited normally but wrote no %s", out);
    }
    gp_cleanup(&f);
    for (int k = 0; k < F_N && st == SAMC_OK; k++) {
        if (figs[k].made) printf("wrote %s/%s.%s\n", dir, figs[k].name, fmt);
        else printf("# skipped %s.%s: %s\n", figs[k].name, fmt, figs[k].note);
    }
    return st;
}

samc_status plot_run(const mopts *o, char *err)
{
    const char *run = o->nruns ? o->runs[0] : NULL, *fmt = o->val[O_FORMAT] ? o->val[O_FORMAT] : "png";
    SAMC_CHECK(!strcmp(fmt, "png") || !strcmp(fmt, "svg"), SAMC_EINVAL, "--format: unknown format '%s' (png | svg)",
               fmt);
    SAMC_CHECK(run, SAMC_EINVAL, "samc plot needs the run directory OUT (see samc plot --help)");
    struct stat sb;
    SAMC_CHECK(stat(run, &sb) == 0, SAMC_EIO, "run directory %s: %s", run, strerror(errno));
    SAMC_CHECK(S_ISDIR(sb.st_mode), SAMC_EINVAL, "%s is not a directory (give the --out directory of samc train)", run);
    char spath[4200], mpath[4200], dir[4200];
    snprintf(spath, sizeof spath, "%s/steps.csv", run);
    snprintf(mpath, sizeof mpath, "%s/metrics.csv", run);
    if (o->val[O_OUT]) snprintf(dir, sizeof dir, "%s", o->val[O_OUT]);
    else snprintf(dir, sizeof dir, "%s/plots", run);
    steps s;
    metrics m;
    samc_status st = read_metrics(mpath, &m, err);
    if (st != SAMC_OK) return st;
    st = read_steps(spath, &s, err);
    if (st == SAMC_OK) st = draw_run(run, dir, fmt, &s, &m, err);
    steps_free(&s);
    metrics_free(&m);
    return st;
}
