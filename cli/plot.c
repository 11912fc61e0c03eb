/*
 * plot.c -- `samc plot OUT [--format png|svg] [--out DIR]`: the figures of a
 * training run, drawn by gnuplot from OUT/steps.csv and OUT/metrics.csv.
 *
 * Both files are read by column name.  steps.csv may hold millions of rows:
 * it is counted first, then read once keeping every k-th row (and the last),
 * so that at most about MAX_POINTS points per series reach gnuplot; the
 * running mean of the step size is computed over every row.  The kept points
 * go, one gnuplot data block per series with the non-finite values left out,
 * into a temporary directory together with a generated script; gnuplot runs
 * by fork + exec with its stderr captured, and its exit status is checked.
 *
 * Figures (png: pngcairo 1000x600, or png where gnuplot lacks cairo; svg):
 *   loss       per-step f_S(x_t), f_S(x_t + d) and per-epoch full-pass losses
 *   accuracy   train / test / validation accuracy per epoch (if any is defined)
 *   step_size  the step size gamma_t taken per step, with a running mean
 *   batch_rho  batch size and rho per step, two y axes
 *   grad_norm  ||grad f_S(x_t)|| and ||grad f_S(x_t + d)|| per step
 *   sharpness  one panel per measurement column of metrics.csv (if any)
 * Errors end in one line "samc: error: ..." and exit status 1; nothing is
 * created before the inputs have been read and gnuplot has been found.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot.h"

#define MAX_POINTS 20000 /* steps rows kept at most (about) */
#define ERRLEN 1024

static int bad(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERRLEN, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------------ CSV by name */

typedef struct csv {
    const char *path;
    FILE *f;
    char *line;
    size_t cap;
    long lineno;
    int ncol;
    char *hdr;
    char **name;  /* ncol pointers into hdr */
    char **field; /* ncol pointers into line, after csv_row */
} csv;

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
}

/* Splits s at commas in place into at most max fields; returns the count
 * (max + 1 when there are more). */
static int split(char *s, char **out, int max)
{
    int n = 0;
    for (;;) {
        if (n < max) out[n] = s;
        n++;
        char *c = strchr(s, ',');
        if (!c || n > max) break;
        *c = 0;
        s = c + 1;
    }
    return n;
}

static void csv_close(csv *c)
{
    if (c->f) fclose(c->f);
    free(c->line);
    free(c->hdr);
    free(c->name);
    free(c->field);
    memset(c, 0, sizeof *c);
}

static int csv_open(csv *c, const char *path, char *err)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->f = fopen(path, "r");
    if (!c->f) return bad(err, "cannot open %s: %s (is this the --out directory of samc train?)", path, strerror(errno));
    if (getline(&c->line, &c->cap, c->f) < 0) {
        bad(err, "%s is empty (no header line)", path);
        csv_close(c);
        return -1;
    }
    c->lineno = 1;
    chomp(c->line);
    c->hdr = strdup(c->line);
    c->ncol = 1;
    for (const char *p = c->line; *p; p++) c->ncol += *p == ',';
    c->name = malloc((size_t)c->ncol * sizeof *c->name);
    c->field = malloc((size_t)c->ncol * sizeof *c->field);
    if (!c->hdr || !c->name || !c->field) {
        bad(err, "out of memory");
        csv_close(c);
        return -1;
    }
    split(c->hdr, c->name, c->ncol);
    return 0;
}

static int csv_col(const csv *c, const char *name)
{
    for (int k = 0; k < c->ncol; k++)
        if (!strcmp(c->name[k], name)) return k;
    return -1;
}

/* Finds the columns names[0..n) (idx[k] = -1 when absent); an error naming
 * the missing ones when any of the first n_required is absent.  Called
 * right after csv_open, while c->line still holds the header. */
static int csv_find(const csv *c, const char *const *names, int n, int n_required, int *idx, char *err)
{
    char missing[512] = "";
    for (int k = 0; k < n; k++) {
        idx[k] = csv_col(c, names[k]);
        if (idx[k] < 0 && k < n_required) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", names[k]);
        }
    }
    if (missing[0]) return bad(err, "%s lacks the column(s) %s (header: %.300s)", c->path, missing, c->line);
    return 0;
}

/* Reads the next row into c->field: 1, 0 at the end (a last line without its
 * newline is a row still being written and ends the file), -1 on error. */
static int csv_row(csv *c, char *err)
{
    for (;;) {
        ssize_t len = getline(&c->line, &c->cap, c->f);
        if (len < 0) {
            if (ferror(c->f)) return bad(err, "reading %s: %s", c->path, strerror(errno));
            return 0;
        }
        c->lineno++;
        if (c->line[len - 1] != '\n') return 0;
        chomp(c->line);
        if (!c->line[0]) continue;
        int n = split(c->line, c->field, c->ncol);
        if (n != c->ncol)
            return bad(err, "%s line %ld: %s%d fields, the header has %d", c->path, c->lineno,
                       n > c->ncol ? "more than " : "", n > c->ncol ? c->ncol : n, c->ncol);
        return 1;
    }
}

static int csv_num(const csv *c, int k, double *v, char *err)
{
    const char *s = c->field[k];
    if (!*s) {
        *v = NAN;
        return 0;
    }
    char *end;
    *v = strtod(s, &end);
    if (end == s || *end)
        return bad(err, "%s line %ld, column %s: '%.60s' is not a number", c->path, c->lineno, c->name[k], s);
    if (!isfinite(*v)) *v = NAN; /* inf plots as nothing too */
    return 0;
}

/* Data lines of a file (newlines after the header). */
static long long count_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[1 << 16];
    size_t got;
    long long nl = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++) nl++;
    fclose(f);
    return nl > 0 ? nl - 1 : 0;
}

/* ------------------------------------------------------------ steps.csv */

enum { S_STEP, S_BATCH, S_LR, S_RHO, S_LOSS, S_LOSSP, S_G, S_GP, S_NCOL };
static const char *const steps_cols[S_NCOL] = {
    "step", "batch_size", "lr", "rho", "loss", "loss_perturbed", "grad_norm", "grad_norm_perturbed",
};

typedef struct steps {
    size_t total;      /* rows read */
    size_t every;      /* k: every k-th row kept (and the last) */
    size_t n;          /* rows kept */
    size_t window;     /* the running mean of lr is over this many rows */
    double *v[S_NCOL]; /* kept rows */
    double *mean[3];   /* centred running means of lr, loss, loss_perturbed at the kept rows */
    size_t lr_nonpos;  /* rows with lr <= 0 */
    size_t lr_finite;
} steps;

static void steps_free(steps *s)
{
    for (int k = 0; k < S_NCOL; k++) free(s->v[k]);
    for (int k = 0; k < 3; k++) free(s->mean[k]);
    memset(s, 0, sizeof *s);
}

/* The columns that get a running mean over every row (s->mean[m]). */
static const int mean_cols[3] = { S_LR, S_LOSS, S_LOSSP };

/* A running mean over every row, centred, from prefix sums kept at the kept
 * rows: sum[j], cnt[j] over the rows before kept row j, sum[n], cnt[n] over
 * all.  Kept row j starts a bucket of `every` rows; the mean at j is over
 * buckets j-h..j+h (fewer at the ends). */
static void running_mean(steps *s, double *out, const double *sum, const size_t *cnt)
{
    size_t want = s->total / 25 > 5 ? s->total / 25 : 5;
    size_t h = want / (2 * s->every);
    if (h < 1) h = 1;
    s->window = (2 * h + 1) * s->every;
    for (size_t j = 0; j < s->n; j++) {
        size_t lo = j > h ? j - h : 0, hi = j + h + 1 < s->n ? j + h + 1 : s->n;
        size_t c = cnt[hi] - cnt[lo];
        out[j] = c ? (sum[hi] - sum[lo]) / (double)c : NAN;
    }
}

static int read_steps(const char *path, steps *s, char *err)
{
    memset(s, 0, sizeof *s);
    csv c;
    if (csv_open(&c, path, err) != 0) return -1;
    int idx[S_NCOL];
    if (csv_find(&c, steps_cols, S_NCOL, S_NCOL, idx, err) != 0) {
        csv_close(&c);
        return -1;
    }
    long long rows = count_rows(path);
    if (rows <= 0) {
        csv_close(&c);
        return bad(err, "%s has no rows (no step finished yet)", path);
    }
    size_t total = (size_t)rows;
    s->every = (total + MAX_POINTS - 1) / MAX_POINTS;
    size_t cap = total / s->every + 2;
    double *psum[3];
    size_t *pcnt[3];
    double sum[3] = { 0, 0, 0 }; /* of the finite values so far */
    size_t cnt[3] = { 0, 0, 0 };
    int rc = -1, r = 0;
    for (int k = 0; k < S_NCOL; k++) s->v[k] = malloc(cap * sizeof(double));
    for (int m = 0; m < 3; m++) {
        psum[m] = malloc((cap + 1) * sizeof(double));
        pcnt[m] = malloc((cap + 1) * sizeof(size_t));
        s->mean[m] = malloc(cap * sizeof(double));
    }
    for (int m = 0; m < 3; m++)
        if (!psum[m] || !pcnt[m] || !s->mean[m]) goto oom;
    for (int k = 0; k < S_NCOL; k++)
        if (!s->v[k]) goto oom;

    while (s->total < total && (r = csv_row(&c, err)) == 1) {
        size_t i = s->total;
        int keep = (i % s->every == 0 || i + 1 == total) && s->n < cap;
        double row[S_NCOL];
        for (int k = 0; k < S_NCOL; k++) {
            /* every row's lr and losses feed the running means; the rest only when kept */
            if (!keep && k != S_LR && k != S_LOSS && k != S_LOSSP) continue;
            if (csv_num(&c, idx[k], &row[k], err) != 0) goto out;
        }
        if (keep) {
            for (int k = 0; k < S_NCOL; k++) s->v[k][s->n] = row[k];
            for (int m = 0; m < 3; m++) {
                psum[m][s->n] = sum[m];
                pcnt[m][s->n] = cnt[m];
            }
            s->n++;
        }
        for (int m = 0; m < 3; m++) {
            double v = row[mean_cols[m]];
            if (isnan(v)) continue;
            sum[m] += v;
            cnt[m]++;
        }
        if (!isnan(row[S_LR])) {
            s->lr_finite++;
            if (row[S_LR] <= 0) s->lr_nonpos++;
        }
        s->total++;
    }
    if (r < 0) goto out;
    if (s->total == 0) {
        bad(err, "%s has no complete rows", path);
        goto out;
    }
    for (int m = 0; m < 3; m++) {
        psum[m][s->n] = sum[m];
        pcnt[m][s->n] = cnt[m];
        running_mean(s, s->mean[m], psum[m], pcnt[m]);
    }
    rc = 0;
    goto out;
oom:
    bad(err, "out of memory reading %s", path);
out:
    for (int m = 0; m < 3; m++) {
        free(psum[m]);
        free(pcnt[m]);
    }
    csv_close(&c);
    if (rc != 0) steps_free(s);
    return rc;
}

/* ------------------------------------------------------------ metrics.csv */

enum { M_EPOCH, M_STEP, M_TRLOSS, M_TELOSS, M_TRACC, M_TEACC, M_REQUIRED,
       M_VLOSS = M_REQUIRED, M_VACC, M_MEAS, M_NCOL = M_MEAS + 7 };
static const char *const metrics_cols[M_NCOL] = {
    "epoch", "step", "train_loss", "test_loss", "train_acc", "test_acc", "val_loss", "val_acc",
    "worst_linf", "worst_l2", "adaptive_linf", "adaptive_l2", "avg", "hessian_top", "hessian_trace",
};
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

typedef struct metrics {
    size_t n, cap;
    int present[M_NCOL];
    double *v[M_NCOL];
} metrics;

static void metrics_free(metrics *m)
{
    for (int k = 0; k < M_NCOL; k++) free(m->v[k]);
    memset(m, 0, sizeof *m);
}

static int read_metrics(const char *path, metrics *m, char *err)
{
    memset(m, 0, sizeof *m);
    csv c;
    if (csv_open(&c, path, err) != 0) return -1;
    int idx[M_NCOL];
    if (csv_find(&c, metrics_cols, M_NCOL, M_REQUIRED, idx, err) != 0) {
        csv_close(&c);
        return -1;
    }
    for (int k = 0; k < M_NCOL; k++) m->present[k] = idx[k] >= 0;
    int r;
    while ((r = csv_row(&c, err)) == 1) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 64;
            for (int k = 0; k < M_NCOL; k++) {
                double *p = realloc(m->v[k], cap * sizeof(double));
                if (!p) {
                    r = bad(err, "out of memory reading %s", path);
                    goto out;
                }
                m->v[k] = p;
            }
            m->cap = cap;
        }
        for (int k = 0; k < M_NCOL; k++) {
            if (idx[k] < 0) m->v[k][m->n] = NAN;
            else if (csv_num(&c, idx[k], &m->v[k][m->n], err) != 0) {
                r = -1;
                goto out;
            }
        }
        m->n++;
    }
out:
    csv_close(&c);
    if (r < 0) metrics_free(m);
    return r < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ gnuplot output */

/* One data block of the data file: the finite points of a series. */
typedef struct series {
    int index;  /* gnuplot `index`, -1 when the series has no finite point */
    size_t n;
    double lo, hi;
    double lopos; /* smallest positive value (INFINITY: none) */
} series;

typedef struct datafile {
    FILE *f;
    int next;
} datafile;

static const series none = { -1, 0, INFINITY, -INFINITY, INFINITY };

static series put(datafile *d, const double *x, const double *y, size_t n)
{
    series s = { -1, 0, INFINITY, -INFINITY, INFINITY };
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i])) continue;
        fprintf(d->f, "%.9g %.9g\n", x[i], y[i]);
        s.n++;
        if (y[i] < s.lo) s.lo = y[i];
        if (y[i] > s.hi) s.hi = y[i];
        if (y[i] > 0 && y[i] < s.lopos) s.lopos = y[i];
    }
    if (s.n) {
        fputs("\n\n", d->f);
        s.index = d->next++;
    }
    return s;
}

/* A gnuplot double-quoted string (rotating buffers, so several fit in one
 * printf). */
static const char *q(const char *s)
{
    static char buf[8][4 * 4096 + 3];
    static int turn;
    char *b = buf[turn++ % 8], *o = b;
    *o++ = '"';
    for (; *s && o < b + sizeof buf[0] - 4; s++) {
        if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            if (*s == '"' || *s == '\\') *o++ = '\\';
            *o++ = *s;
        }
    }
    *o++ = '"';
    *o = 0;
    return b;
}

static void terminal(FILE *g, const char *fmt, int w, int h)
{
    if (!strcmp(fmt, "svg")) {
        fprintf(g, "set terminal svg size %d,%d noenhanced font 'sans,12' background rgb 'white'\n", w, h);
    } else {
        fprintf(g, "if (strstrt(GPVAL_TERMINALS.' ', ' pngcairo ') > 0) {\n"
                   "    set terminal pngcairo size %d,%d noenhanced font 'sans,11'\n"
                   "} else {\n"
                   "    set terminal png size %d,%d noenhanced\n"
                   "}\n", w, h, w, h);
    }
}

typedef struct fig {
    const char *name;
    int made;
    char note[256]; /* why it was skipped */
} fig;

/* Starts a figure: reset, terminal, output file, title. */
static void begin(FILE *g, const char *fmt, int w, int h, const char *dir, const char *name, const char *title)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, fmt);
    fprintf(g, "\nreset\n");
    terminal(g, fmt, w, h);
    fprintf(g, "set output %s\nset grid\nset key below horizontal maxcols 2 width 2 spacing 1.2 samplen 3\nset autoscale xfix\nset title %s\n", q(path), q(title));
    fputs("set offsets graph 0.01, graph 0.01, graph 0.04, graph 0.04\n", g);
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
static void epoch_tics(FILE *g, const metrics *m)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < m->n; i++) {
        double e = m->v[M_EPOCH][i];
        if (isnan(e)) continue;
        if (e < lo) lo = e;
        if (e > hi) hi = e;
    }
    if (isfinite(lo) && hi - lo <= 12) fputs("set xtics 1\n", g);
    fputs("set offsets graph 0.03, graph 0.03, graph 0.04, graph 0.04\n", g);
}

/* plot clauses: one per non-empty series */
typedef struct clause {
    series s;
    const char *style; /* e.g. "w l lw 1.5 lc rgb '#1f77b4'" */
    const char *title;
} clause;

static int plot(FILE *g, const char *data, const clause *c, int n)
{
    int any = 0;
    for (int k = 0; k < n; k++) {
        if (c[k].s.n == 0) continue;
        fprintf(g, "%s%s index %d using 1:2 %s title %s", any ? ", \\\n     " : "plot ", q(data),
                c[k].s.index, c[k].style, q(c[k].title));
        any = 1;
    }
    if (any) fputs("\n", g);
    return any;
}

/* Where the kept step rows are a subsample, say so. */
static void sub_note(const steps *s, char *b, size_t n)
{
    if (s->every > 1)
        snprintf(b, n, "; 1 in %zu of %zu steps plotted", s->every, s->total);
    else
        snprintf(b, n, "; %zu steps", s->total);
}

/* Writes the data file and the script; marks the figures made. */
static void write_plots(FILE *g, datafile *d, const char *data, const char *fmt, const char *dir,
                        const char *run, const steps *s, const metrics *m, fig *figs)
{
    char title[2048], sub[128];
    sub_note(s, sub, sizeof sub);
    const double *st = s->v[S_STEP];
    const double *mstep = m->v[M_STEP], *mep = m->v[M_EPOCH];

    /* 1. loss */
    {
        /* per-epoch series: points only while they stay apart */
        int few = m->n <= 60;
        /* many noisy steps (small batches) make a band: add running means */
        int means = s->total > 2000;
        char mt[2][128];
        snprintf(mt[0], sizeof mt[0], "f_S(x_t), running mean over %zu steps", s->window);
        snprintf(mt[1], sizeof mt[1], "f_S(x_t + d), running mean over %zu steps", s->window);
        clause c[7] = {
            { put(d, st, s->v[S_LOSS], s->n), NULL, "f_S(x_t), mini-batch loss per step" },
            { put(d, st, s->v[S_LOSSP], s->n), NULL, "f_S(x_t + d), at the perturbed point" },
            { means ? put(d, st, s->mean[1], s->n) : none, "w l lw 2.5 lc rgb '#08306b'", mt[0] },
            { means ? put(d, st, s->mean[2], s->n) : none, "w l lw 2.5 lc rgb '#a63603'", mt[1] },
            { put(d, mstep, m->v[M_TRLOSS], m->n), few ? "w lp lw 2 pt 7 ps 1.2 lc rgb 'black'" : "w l lw 2.5 lc rgb 'black'",
              "train loss, full pass per epoch" },
            { put(d, mstep, m->v[M_TELOSS], m->n), few ? "w lp lw 2 pt 5 ps 1.2 lc rgb '#d62728'" : "w l lw 2.5 lc rgb '#d62728'",
              "test loss per epoch" },
            { put(d, mstep, m->v[M_VLOSS], m->n), few ? "w lp lw 2 pt 9 ps 1.4 lc rgb '#9467bd'" : "w l lw 2.5 lc rgb '#9467bd'",
              "validation loss per epoch" },
        };
        c[0].style = s->n > 200 ? "w l lw 1 lc rgb '#6baed6'" : "w lp lw 1 pt 7 ps 0.5 lc rgb '#1f77b4'";
        c[1].style = s->n > 200 ? "w l lw 1 lc rgb '#fdae6b'" : "w lp lw 1 pt 7 ps 0.5 lc rgb '#ff7f0e'";
        series ss[7];
        size_t total = 0;
        for (int k = 0; k < 7; k++) total += (ss[k] = c[k].s).n;
        if (total == 0) {
            snprintf(figs[0].note, sizeof figs[0].note, "no finite loss values");
        } else {
            int logy = use_log(ss, 7, 0);
            snprintf(title, sizeof title, "training loss: per step at x_t and at x_t + d, per epoch on full passes%s\nrun: %s%s",
                     logy ? " (log scale)" : "", run, sub);
            begin(g, fmt, 1000, 600, dir, "loss", title);
            fprintf(g, "set xlabel 'step t' offset 0,0.4\nset ylabel %s\n", q(logy ? "loss (log scale)" : "loss"));
            if (logy) fputs("set logscale y\nset format y '%g'\n", g);
            figs[0].made = plot(g, data, c, 7);
        }
    }

    /* 2. accuracy */
    {
        clause c[3] = {
            { put(d, mep, m->v[M_TRACC], m->n), m->n <= 60 ? "w lp lw 2 pt 7 ps 1.2 lc rgb 'black'" : "w l lw 2 lc rgb 'black'",
              "train accuracy" },
            { put(d, mep, m->v[M_TEACC], m->n), m->n <= 60 ? "w lp lw 2 pt 5 ps 1.2 lc rgb '#d62728'" : "w l lw 2 lc rgb '#d62728'",
              "test accuracy" },
            { put(d, mep, m->v[M_VACC], m->n), m->n <= 60 ? "w lp lw 2 pt 9 ps 1.4 lc rgb '#9467bd'" : "w l lw 2 lc rgb '#9467bd'",
              "validation accuracy" },
        };
        if (c[0].s.n + c[1].s.n + c[2].s.n == 0) {
            snprintf(figs[1].note, sizeof figs[1].note, "no accuracy values (a regression, or no epoch finished)");
        } else {
            snprintf(title, sizeof title, "classification accuracy at the end of each epoch\nrun: %s", run);
            begin(g, fmt, 1000, 600, dir, "accuracy", title);
            fputs("set xlabel 'epoch' offset 0,0.4\nset ylabel 'accuracy (fraction correct)'\n", g);
            epoch_tics(g, m);
            figs[1].made = plot(g, data, c, 3);
        }
    }

    /* 3. step size */
    {
        char mean_title[128];
        snprintf(mean_title, sizeof mean_title, "running mean over %zu steps (centred)", s->window);
        clause c[2] = {
            { put(d, st, s->v[S_LR], s->n), "w p pt 7 ps 0.5 lc rgb '#1f77b4'", "gamma_t per step" },
            { put(d, st, s->mean[0], s->n), "w l lw 2.5 lc rgb '#d62728'", mean_title },
        };
        if (s->n <= 200) c[0].style = "w lp lw 1 pt 7 ps 0.7 lc rgb '#1f77b4'";
        if (c[0].s.n == 0) {
            snprintf(figs[2].note, sizeof figs[2].note, "no finite step sizes");
        } else {
            /* Polyak steps are often exactly 0 (numerator <= 0) while the
             * others span decades: then the log axis shows the positive ones
             * and the title counts the zeros */
            series sz[2] = { c[0].s, c[1].s };
            int logy = use_log(sz, 2, 1);
            char zero[200] = "";
            if (s->lr_nonpos)
                snprintf(zero, sizeof zero, "; gamma_t <= 0 at %zu of %zu steps (%.1f%%)%s", s->lr_nonpos, s->lr_finite,
                         100.0 * (double)s->lr_nonpos / (double)s->lr_finite, logy ? ", not shown on the log axis" : "");
            snprintf(title, sizeof title, "step size gamma_t (Polyak or scheduled) actually taken per step%s\nrun: %s%s%s",
                     logy ? " (log scale)" : "", run, sub, zero);
            begin(g, fmt, 1000, 600, dir, "step_size", title);
            fprintf(g, "set xlabel 'step t' offset 0,0.4\nset ylabel %s\n",
                    q(logy ? "step size gamma_t (log scale)" : "step size gamma_t"));
            if (logy) fputs("set logscale y\nset format y '%g'\n", g);
            else if (c[0].s.hi > 0 && c[0].s.lo >= 0)
                fprintf(g, "set yrange [%.9g:%.9g]\n", -0.03 * c[0].s.hi, 1.1 * c[0].s.hi);
            figs[2].made = plot(g, data, c, 2);
        }
    }

    /* 4. batch size and rho */
    {
        clause c[2] = {
            { put(d, st, s->v[S_BATCH], s->n), "axes x1y1 w steps lw 2 lc rgb '#1f77b4'",
              "batch size b_t (left axis)" },
            { put(d, st, s->v[S_RHO], s->n), "axes x1y2 w steps lw 2 lc rgb '#d62728'", "rho_t (right axis)" },
        };
        if (c[0].s.n + c[1].s.n == 0) {
            snprintf(figs[3].note, sizeof figs[3].note, "no finite batch sizes or rho");
        } else {
            snprintf(title, sizeof title, "batch size b_t (an epoch's last batch may be smaller) and SAM perturbation radius rho_t per step\nrun: %s%s", run, sub);
            begin(g, fmt, 1000, 600, dir, "batch_rho", title);
            fputs("set xlabel 'step t' offset 0,0.4\nset ylabel 'batch size b_t'\nset y2label 'perturbation radius rho_t'\n"
                  "set ytics nomirror\nset y2tics\nset offsets graph 0.01, graph 0.01, 0, 0\n", g);
            /* both from 0, different headroom so that two constants do not overlap */
            if (c[0].s.n && c[0].s.hi > 0) fprintf(g, "set yrange [0:%.9g]\n", c[0].s.hi * 1.12);
            if (c[1].s.n && c[1].s.hi > 0) fprintf(g, "set y2range [0:%.9g]\n", c[1].s.hi * 1.3);
            figs[3].made = plot(g, data, c, 2);
        }
    }

    /* 5. gradient norms */
    {
        clause c[2] = {
            { put(d, st, s->v[S_G], s->n), "w l lw 1 lc rgb '#1f77b4'", "||grad f_S(x_t)||" },
            { put(d, st, s->v[S_GP], s->n), "w l lw 1 lc rgb '#ff7f0e'", "||grad f_S(x_t + d)||, at the perturbed point" },
        };
        if (s->n <= 200) {
            c[0].style = "w lp lw 1 pt 7 ps 0.5 lc rgb '#1f77b4'";
            c[1].style = "w lp lw 1 pt 7 ps 0.5 lc rgb '#ff7f0e'";
        }
        series ss[2] = { c[0].s, c[1].s };
        if (c[0].s.n + c[1].s.n == 0) {
            snprintf(figs[4].note, sizeof figs[4].note, "no finite gradient norms");
        } else {
            int logy = use_log(ss, 2, 0);
            snprintf(title, sizeof title, "mini-batch gradient norms per step%s\nrun: %s%s", logy ? " (log scale)" : "", run, sub);
            begin(g, fmt, 1000, 600, dir, "grad_norm", title);
            fprintf(g, "set xlabel 'step t' offset 0,0.4\nset ylabel %s\n",
                    q(logy ? "gradient norm (log scale)" : "gradient norm"));
            if (logy) fputs("set logscale y\nset format y '%g'\n", g);
            figs[4].made = plot(g, data, c, 2);
        }
    }

    /* 6. sharpness: one panel per measurement column with a finite value */
    {
        series ms[M_NCOL - M_MEAS];
        int panels = 0;
        for (int k = M_MEAS; k < M_NCOL; k++) {
            ms[k - M_MEAS] = m->present[k] ? put(d, mep, m->v[k], m->n) : none;
            panels += ms[k - M_MEAS].n > 0;
        }
        if (!panels) {
            snprintf(figs[5].note, sizeof figs[5].note, "no measurement columns with values in metrics.csv (samc train --measure-every E)");
        } else {
            int cols = panels <= 3 ? 1 : 2, rows = (panels + cols - 1) / cols;
            int h = rows <= 2 ? 600 : 300 * rows;
            snprintf(title, sizeof title, "flatness measurements at the end of epochs (samc train --measure-every)\nrun: %s", run);
            begin(g, fmt, 1000, h, dir, "sharpness", "");
            fputs("unset title\n", g);
            fprintf(g, "set multiplot layout %d,%d title %s\n", rows, cols, q(title));
            fputs("set xlabel 'epoch' offset 0,0.4\nunset key\nset format y '%.4g'\n", g);
            epoch_tics(g, m);
            for (int k = 0; k < M_NCOL - M_MEAS; k++) {
                if (!ms[k].n) continue;
                int logy = use_log(&ms[k], 1, 0);
                char t[256];
                snprintf(t, sizeof t, "%s: %s%s", metrics_cols[M_MEAS + k], meas_desc[k], logy ? " (log scale)" : "");
                fprintf(g, "set title %s\nset ylabel %s\n", q(t), q(metrics_cols[M_MEAS + k]));
                fputs(logy ? "set logscale y\n" : "unset logscale y\n", g);
                fprintf(g, "plot %s index %d using 1:2 %s lc rgb '#2ca02c' notitle\n", q(data), ms[k].index,
                        ms[k].n <= 60 ? "w lp lw 2 pt 7 ps 1.2" : "w l lw 2");
            }
            fputs("unset multiplot\n", g);
            figs[5].made = 1;
        }
    }
    fputs("set output\n", g);
}

/* ------------------------------------------------------------ processes, files */

static int find_program(const char *prog, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, n, "%.*s/%s", (int)(len ? len : 1), len ? path : ".", prog);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
        path += len + (colon != NULL);
        if (!colon) break;
    }
    return -1;
}

/* The last non-empty line of a file (what gnuplot says went wrong). */
static void last_line(const char *path, char *b, size_t n)
{
    b[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        chomp(line);
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p && strcmp(p, "^")) snprintf(b, n, "%.300s", p);
    }
    fclose(f);
}

static int run_gnuplot(const char *gnuplot, const char *script, const char *errpath, char *err)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return bad(err, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || e < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(e, 2);
        execl(gnuplot, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return bad(err, "waiting for gnuplot: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    char msg[600];
    last_line(errpath, msg, sizeof msg);
    if (WIFSIGNALED(status)) return bad(err, "gnuplot was killed by signal %d", WTERMSIG(status));
    return bad(err, "gnuplot failed (exit %d)%s%s", WEXITSTATUS(status), msg[0] ? ": " : "", msg);
}

static int mkdir_p(const char *dir, char *err)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return bad(err, "--out path too long");
    for (char *c = p + 1;; c++) {
        if (*c == '/' || !*c) {
            char save = *c;
            *c = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return bad(err, "cannot create output directory %s: %s", p, strerror(errno));
            *c = save;
            if (!save) break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return bad(err, "%s exists and is not a directory", dir);
    return 0;
}

/* ------------------------------------------------------------ the command */

static void usage(FILE *f)
{
    fputs("usage: samc plot OUT [--format png|svg] [--out DIR]\n"
          "\n"
          "Draw the figures of a training run from OUT/steps.csv and OUT/metrics.csv\n"
          "(the --out directory of samc train) with gnuplot:\n"
          "  loss       per-step loss f_S(x_t) and f_S(x_t + d), per-epoch train/test loss\n"
          "  accuracy   train / test / validation accuracy per epoch (if defined)\n"
          "  step_size  step size gamma_t taken per step (Polyak or scheduled), running mean\n"
          "  batch_rho  batch size and rho per step\n"
          "  grad_norm  ||grad f_S(x_t)|| and ||grad f_S(x_t + d)|| per step\n"
          "  sharpness  the --measure-every columns of metrics.csv per epoch (if any)\n"
          "Long runs are subsampled to about 20000 steps per series.\n"
          "\n"
          "flags:\n"
          "  --format png|svg       image format\n"
          "                         [default: png]\n"
          "  --out DIR              where the figures go (created if missing)\n"
          "                         [default: OUT/plots]\n", f);
}

int samc_cmd_plot(int argc, char **argv)
{
    char err[ERRLEN] = "";
    const char *run = NULL, *fmt = "png", *dir_arg = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--", 2)) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const char **dst = NULL;
            if (len == 6 && !strncmp(name, "format", 6)) dst = &fmt;
            else if (len == 3 && !strncmp(name, "out", 3)) dst = &dir_arg;
            else {
                bad(err, "unknown flag '--%.*s' (see samc plot --help)", (int)len, name);
                goto fail;
            }
            if (eq) *dst = eq + 1;
            else if (i + 1 < argc) *dst = argv[++i];
            else {
                bad(err, "--%.*s needs a value (%s)", (int)len, name, dst == &fmt ? "png|svg" : "DIR");
                goto fail;
            }
            if (!**dst) {
                bad(err, "--%.*s needs a non-empty value", (int)len, name);
                goto fail;
            }
        } else if (!run) {
            run = a;
        } else {
            bad(err, "unexpected argument '%s' (samc plot takes one run directory)", a);
            goto fail;
        }
    }
    if (strcmp(fmt, "png") && strcmp(fmt, "svg")) {
        bad(err, "--format: unknown format '%s' (png | svg)", fmt);
        goto fail;
    }
    if (!run) {
        bad(err, "samc plot needs the run directory OUT (see samc plot --help)");
        goto fail;
    }
    struct stat st;
    if (stat(run, &st) != 0) {
        bad(err, "run directory %s: %s", run, strerror(errno));
        goto fail;
    }
    if (!S_ISDIR(st.st_mode)) {
        bad(err, "%s is not a directory (give the --out directory of samc train)", run);
        goto fail;
    }

    char spath[4200], mpath[4200], dir[4200], gnuplot[4200];
    snprintf(spath, sizeof spath, "%s/steps.csv", run);
    snprintf(mpath, sizeof mpath, "%s/metrics.csv", run);
    if (dir_arg) snprintf(dir, sizeof dir, "%s", dir_arg);
    else snprintf(dir, sizeof dir, "%s/plots", run);

    steps s;
    metrics m;
    if (read_metrics(mpath, &m, err) != 0) goto fail;
    if (read_steps(spath, &s, err) != 0) {
        metrics_free(&m);
        goto fail;
    }
    int rc = 1;
    char tmp[4096] = "", data[4200] = "", script[4200] = "", errpath[4200] = "";
    FILE *df = NULL, *g = NULL;
    fig figs[6] = { { "loss", 0, "" }, { "accuracy", 0, "" }, { "step_size", 0, "" },
                    { "batch_rho", 0, "" }, { "grad_norm", 0, "" }, { "sharpness", 0, "" } };
    if (find_program("gnuplot", gnuplot, sizeof gnuplot) != 0) {
        bad(err, "gnuplot not found: install gnuplot-nox");
        goto done;
    }
    if (mkdir_p(dir, err) != 0) goto done;
    const char *tdir = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/samc-plot-XXXXXX", tdir && *tdir ? tdir : "/tmp");
    if (!mkdtemp(tmp)) {
        bad(err, "cannot create a temporary directory %s: %s", tmp, strerror(errno));
        tmp[0] = 0;
        goto done;
    }
    snprintf(data, sizeof data, "%s/data.txt", tmp);
    snprintf(script, sizeof script, "%s/plot.gp", tmp);
    snprintf(errpath, sizeof errpath, "%s/gnuplot.err", tmp);
    df = fopen(data, "w");
    g = fopen(script, "w");
    if (!df || !g) {
        bad(err, "cannot write in %s: %s", tmp, strerror(errno));
        goto done;
    }
    fprintf(g, "# samc plot %s: generated gnuplot script\nset datafile separator whitespace\n", run);
    datafile d = { df, 0 };
    write_plots(g, &d, data, fmt, dir, run, &s, &m, figs);
    int werr = ferror(df) | ferror(g);
    werr |= fclose(df) != 0;
    werr |= fclose(g) != 0;
    df = g = NULL;
    if (werr) {
        bad(err, "cannot write the gnuplot files in %s", tmp);
        goto done;
    }
    if (run_gnuplot(gnuplot, script, errpath, err) != 0) goto done;
    for (int k = 0; k < 6; k++) {
        if (!figs[k].made) continue;
        char out[4300];
        snprintf(out, sizeof out, "%s/%s.%s", dir, figs[k].name, fmt);
        if (stat(out, &st) != 0 || st.st_size == 0) {
            bad(err, "gnuplot exited normally but wrote no %s", out);
            goto done;
        }
    }
    for (int k = 0; k < 6; k++) {
        if (figs[k].made) printf("wrote %s/%s.%s\n", dir, figs[k].name, fmt);
        else printf("# skipped %s.%s: %s\n", figs[k].name, fmt, figs[k].note);
    }
    rc = 0;
done:
    if (df) fclose(df);
    if (g) fclose(g);
    if (tmp[0]) {
        unlink(data);
        unlink(script);
        unlink(errpath);
        rmdir(tmp);
    }
    steps_free(&s);
    metrics_free(&m);
    if (rc) fprintf(stderr, "samc: error: %s\n", err);
    return rc;
fail:
    fprintf(stderr, "samc: error: %s\n", err);
    return 1;
}
