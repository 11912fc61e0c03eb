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
 *
 * Two more modes draw one figure from several runs or from a table:
 *   samc plot --compare OUT1[=LABEL] OUT2 ... --y COLUMN [...] --output F.png
 *       one column of each run (its running minimum, minus a constant, with
 *       reference curves), per step or per epoch;
 *   samc plot --summary FILE.csv --x COL --y COL [--group COL] [--err COL]
 *       a line per group of a results table, with horizontal reference lines.
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
 * printf); quotes, backslashes and backquotes escaped, so no text given by
 * the user can end the string or run a command. */
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
            /* a backquote would run a shell command even inside "..." */
            if (*s == '"' || *s == '\\' || *s == '`') *o++ = '\\';
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

/* ------------------------------------------------------------ --compare and --summary */

/* The figures of several runs (--compare) and of a table of results
 * (--summary) are one file each, named by --output; the format comes from
 * its extension.  Data go to gnuplot as numbers in a data file, one block
 * per line of the figure; the only text that reaches the script is quoted
 * by q() or, for --ref, checked token by token against a small grammar. */

enum { M_COMPARE = 1, M_SUMMARY = 2 };
enum { O_COMPARE, O_SUMMARY, O_Y, O_X, O_MINUS, O_RUNMIN, O_REF, O_GROUP, O_ERR, O_HLINE, O_HFROM,
       O_LOGX, O_LOGY, O_TITLE, O_XLABEL, O_YLABEL, O_OUTPUT, O_KEEP, O_FORMAT, O_OUT, O_N };
static const struct mflag {
    const char *name;
    int modes;      /* M_COMPARE | M_SUMMARY; 0: a flag of `samc plot OUT` only */
    int has_val;
    int repeat;     /* may be given several times */
    int allow_empty;
} mflags[O_N] = {
    [O_COMPARE] = { "compare", M_COMPARE, 0, 0, 0 },
    [O_SUMMARY] = { "summary", M_SUMMARY, 1, 0, 0 },
    [O_Y] = { "y", M_COMPARE | M_SUMMARY, 1, 0, 0 },
    [O_X] = { "x", M_COMPARE | M_SUMMARY, 1, 0, 0 },
    [O_MINUS] = { "minus", M_COMPARE, 1, 0, 0 },
    [O_RUNMIN] = { "running-min", M_COMPARE, 0, 0, 0 },
    [O_REF] = { "ref", M_COMPARE, 1, 1, 0 },
    [O_GROUP] = { "group", M_SUMMARY, 1, 0, 0 },
    [O_ERR] = { "err", M_SUMMARY, 1, 0, 0 },
    [O_HLINE] = { "hline", M_SUMMARY, 1, 1, 0 },
    [O_HFROM] = { "hline-from", M_SUMMARY, 1, 1, 0 },
    [O_LOGX] = { "logx", M_COMPARE | M_SUMMARY, 0, 0, 0 },
    [O_LOGY] = { "logy", M_COMPARE | M_SUMMARY, 0, 0, 0 },
    [O_TITLE] = { "title", M_COMPARE | M_SUMMARY, 1, 0, 1 },
    [O_XLABEL] = { "xlabel", M_COMPARE | M_SUMMARY, 1, 0, 1 },
    [O_YLABEL] = { "ylabel", M_COMPARE | M_SUMMARY, 1, 0, 1 },
    [O_OUTPUT] = { "output", M_COMPARE | M_SUMMARY, 1, 0, 0 },
    [O_KEEP] = { "keep-script", M_COMPARE | M_SUMMARY, 0, 0, 0 },
    [O_FORMAT] = { "format", 0, 1, 0, 0 },
    [O_OUT] = { "out", 0, 1, 0, 0 },
};

typedef struct mopts {
    int mode;
    int given[O_N];
    const char *val[O_N];
    const char **list[O_N]; /* the values of repeatable flags */
    int nlist[O_N];
    const char **runs;      /* --compare: OUT[=LABEL] arguments */
    int nruns;
} mopts;

static void mopts_free(mopts *o)
{
    for (int k = 0; k < O_N; k++) free(o->list[k]);
    free(o->runs);
}

static const char *mode_name(int mode) { return mode == M_COMPARE ? "--compare" : "--summary"; }

static int parse_multi(int argc, char **argv, int mode, mopts *o, char *err)
{
    memset(o, 0, sizeof *o);
    o->mode = mode;
    o->runs = malloc(((size_t)argc + 1) * sizeof *o->runs);
    for (int k = 0; k < O_N; k++)
        if (mflags[k].repeat) o->list[k] = malloc(((size_t)argc + 1) * sizeof *o->list[k]);
    if (!o->runs || !o->list[O_REF] || !o->list[O_HLINE] || !o->list[O_HFROM]) return bad(err, "out of memory");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (mode != M_COMPARE)
                return bad(err, "unexpected argument '%s' (samc plot --summary reads the one file given to --summary)", a);
            o->runs[o->nruns++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int k = 0;
        while (k < O_N && !(strlen(mflags[k].name) == len && !strncmp(mflags[k].name, name, len))) k++;
        if (k == O_N) return bad(err, "unknown flag '--%.*s' for samc plot %s (see samc plot --help)", (int)len, name, mode_name(mode));
        const struct mflag *f = &mflags[k];
        if (!f->modes)
            return bad(err, "--%s is a flag of samc plot OUT; with %s the format comes from --output FILE.png|FILE.svg",
                       f->name, mode_name(mode));
        if (!(f->modes & mode))
            return bad(err, "--%s is a flag of samc plot %s, not %s", f->name, mode_name(M_COMPARE + M_SUMMARY - mode),
                       mode_name(mode));
        if (o->given[k] && !f->repeat) return bad(err, "--%s given twice", f->name);
        o->given[k] = 1;
        if (!f->has_val) {
            if (eq) return bad(err, "--%s takes no value%s", f->name, k == O_COMPARE ? " (list the run directories after it)" : "");
            continue;
        }
        const char *v;
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return bad(err, "--%s needs a value", f->name);
        if (!*v && !f->allow_empty) return bad(err, "--%s needs a non-empty value", f->name);
        if (f->repeat) o->list[k][o->nlist[k]++] = v;
        else o->val[k] = v;
    }
    return 0;
}

/* A number given on the command line (finite). */
static int arg_num(const char *flag, const char *s, double *v, char *err)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end || !isfinite(*v) || errno == ERANGE)
        return bad(err, "--%s: '%.60s' is not a finite number", flag, s);
    return 0;
}

/* The --output file: its format and the directory it goes in. */
static int output_format(const char *out, const char **fmt, char *err)
{
    size_t n = strlen(out);
    if (n > 4 && !strcmp(out + n - 4, ".png")) *fmt = "png";
    else if (n > 4 && !strcmp(out + n - 4, ".svg")) *fmt = "svg";
    else return bad(err, "--output: '%.300s' must end in .png or .svg (the format of the figure)", out);
    if (n >= 4000) return bad(err, "--output: path too long");
    return 0;
}

static int make_parent(const char *out, char *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    return mkdir_p(dir, err);
}

/* "# TEXT" with control characters as spaces: a comment of the data file. */
static void comment(FILE *f, const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    for (char *p = b; *p; p++)
        if ((unsigned char)*p < 32) *p = ' ';
    fprintf(f, "# %s\n", b);
}

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
#define NPALETTE (int)(sizeof palette / sizeof palette[0])
static const int point_types[] = { 7, 5, 9, 11, 13, 15 };

/* A --ref expression translated for gnuplot, after checking it against
 *   expr := term (('+' | '-' | '*' | '/' | '**' | '^') term)*
 *   term := ('+' | '-')* (NUMBER | 'x' | 'pi' | FUNC '(' expr ')' | '(' expr ')')
 * '^' becomes '**' (gnuplot's '^' is exclusive or) and an integer literal
 * gets ".0" (gnuplot divides integers as integers: 1/2 is 0).  Nothing but
 * these tokens passes, so the expression cannot end the plot command. */
static const char *const ref_funcs[] = { "exp", "log", "log10", "sqrt", "abs", "sin", "cos", "tan", "atan",
                                         "sinh", "cosh", "tanh" };
#define NREF_FUNCS (int)(sizeof ref_funcs / sizeof ref_funcs[0])

static int ref_expr(const char *s, char *out, size_t cap, char *err)
{
    const char *s0 = s;
    size_t o = 0;
    int depth = 0, operand = 1; /* expecting an operand (else an operator) */
    char tok[64];
#define EMIT(str)                                                                                 \
    do {                                                                                          \
        size_t l_ = strlen(str);                                                                  \
        if (o + l_ + 1 > cap) return bad(err, "--ref: expression too long: '%.80s'", s0);         \
        memcpy(out + o, str, l_ + 1);                                                             \
        o += l_;                                                                                  \
    } while (0)
    while (*s) {
        char c = *s;
        if (c == ' ') {
            s++;
            continue;
        }
        if (operand) {
            if (c == '+' || c == '-') {
                tok[0] = c, tok[1] = 0;
                EMIT(tok);
                s++;
            } else if (c == '(') {
                EMIT("(");
                depth++;
                s++;
            } else if ((c >= '0' && c <= '9') || c == '.') {
                const char *b = s;
                int digits = 0, dots = 0, real;
                while ((*s >= '0' && *s <= '9') || *s == '.') {
                    digits += *s != '.';
                    dots += *s == '.';
                    s++;
                }
                real = dots > 0;
                if (!digits || dots > 1)
                    return bad(err, "--ref: malformed number '%.*s' in '%.80s'", (int)(s - b), b, s0);
                if (*s == 'e' || *s == 'E') {
                    const char *e = s + 1;
                    if (*e == '+' || *e == '-') e++;
                    if (*e >= '0' && *e <= '9') {
                        while (*e >= '0' && *e <= '9') e++;
                        s = e;
                        real = 1;
                    }
                }
                if (s - b >= 40) return bad(err, "--ref: number too long in '%.80s'", s0);
                snprintf(tok, sizeof tok, "%.*s%s", (int)(s - b), b, real ? "" : ".0");
                EMIT(tok);
                operand = 0;
            } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                const char *b = s;
                while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_') s++;
                size_t l = (size_t)(s - b);
                if ((l == 1 && *b == 'x') || (l == 2 && !strncmp(b, "pi", 2))) {
                    snprintf(tok, sizeof tok, "%.*s", (int)l, b);
                    EMIT(tok);
                    operand = 0;
                    continue;
                }
                int f = 0;
                while (f < NREF_FUNCS && !(strlen(ref_funcs[f]) == l && !strncmp(ref_funcs[f], b, l))) f++;
                if (f == NREF_FUNCS)
                    return bad(err, "--ref: unknown name '%.*s' in '%.80s' (allowed: x, pi, exp, log, log10, sqrt, abs, "
                                    "sin, cos, tan, atan, sinh, cosh, tanh)", (int)(l < 40 ? l : 40), b, s0);
                while (*s == ' ') s++;
                if (*s != '(') return bad(err, "--ref: %s needs '(' after it in '%.80s'", ref_funcs[f], s0);
                EMIT(ref_funcs[f]);
                EMIT("(");
                depth++;
                s++;
            } else {
                goto bad_char;
            }
        } else {
            if (c == ')') {
                if (!depth) return bad(err, "--ref: unbalanced ')' in '%.80s'", s0);
                depth--;
                EMIT(")");
                s++;
            } else if (c == '*' && s[1] == '*') {
                EMIT("**");
                s += 2;
                operand = 1;
            } else if (c == '^') {
                EMIT("**");
                s++;
                operand = 1;
            } else if (c == '+' || c == '-' || c == '*' || c == '/') {
                tok[0] = c, tok[1] = 0;
                EMIT(tok);
                s++;
                operand = 1;
            } else if (strchr("0123456789.xpeE(", c) || (c >= 'a' && c <= 'z')) {
                return bad(err, "--ref: an operator is missing before '%.20s' in '%.80s'", s, s0);
            } else {
                goto bad_char;
            }
        }
    }
#undef EMIT
    if (o == 0) return bad(err, "--ref: empty expression (give EXPR=LABEL, e.g. 0.5/x=O(1/T))");
    if (operand) return bad(err, "--ref: '%.80s' ends in an operator", s0);
    if (depth) return bad(err, "--ref: unbalanced '(' in '%.80s'", s0);
    return 0;
bad_char:
    if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
        return bad(err, "--ref: character 0x%02x not allowed in '%.80s' (numbers, x, pi, + - * / ** ^ ( ) and "
                        "exp, log, log10, sqrt, abs, ...)", (unsigned char)*s, s0);
    return bad(err, "--ref: '%c' not allowed here in '%.80s' (numbers, x, pi, + - * / ** ^ ( ) and exp, log, log10, "
                    "sqrt, abs, ...)", *s, s0);
}

/* Starts the single figure of --compare / --summary. */
static void begin_file(FILE *g, const char *fmt, const char *out, const char *title, const char *xlabel,
                       const char *ylabel, int logx, int logy)
{
    terminal(g, fmt, 1000, 600);
    fprintf(g, "set output %s\nset grid\nset key below horizontal maxcols 3 width 2 spacing 1.2 samplen 3\n", q(out));
    if (*title) fprintf(g, "set title %s\n", q(title));
    fprintf(g, "set xlabel %s offset 0,0.4\nset ylabel %s\n", q(xlabel), q(ylabel));
    if (logx) fputs("set logscale x\nset format x '%g'\n", g);
    if (logy) fputs("set logscale y\nset format y '%g'\n", g);
    fputs("set offsets graph 0.01, graph 0.01, graph 0.04, graph 0.04\nset samples 1000\n", g);
}

/* Writes the points of a line: x, y (and e) where finite, x > 0 with logx,
 * y > 0 with logy.  Returns the points written; *dropped counts the finite
 * points a log axis left out.  Ends the block when anything was written.
 * (The x range is gnuplot's autoscale over the data: the --ref and --hline
 * curves are drawn across it.) */
static size_t put_block(FILE *f, const double *x, const double *y, const double *e, size_t n, int logx, int logy,
                        size_t *dropped)
{
    size_t w = 0;
    *dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        if ((logx && x[i] <= 0) || (logy && y[i] <= 0)) {
            (*dropped)++;
            continue;
        }
        if (e) fprintf(f, "%.9g %.9g %.9g\n", x[i], y[i], isfinite(e[i]) ? e[i] : 0.0);
        else fprintf(f, "%.9g %.9g\n", x[i], y[i]);
        w++;
    }
    if (w) fputs("\n\n", f);
    return w;
}

/* One run of --compare: the column read from OUT/steps.csv or OUT/metrics.csv. */
typedef struct cseries {
    char dir[4096];
    const char *label;
    char path[4200];
    const char *xcol;
    double *x, *y;
    size_t n, total, every, dropped;
} cseries;

/* Opens path and tells whether its header has the columns a and b (1, 0;
 * -1 when the file cannot be opened, errno's text in why). */
static int has_cols(const char *path, const char *a, const char *b, char *hdr, size_t nh, char *why)
{
    csv c;
    char e[ERRLEN];
    hdr[0] = 0;
    FILE *t = fopen(path, "r");
    if (!t) {
        snprintf(why, 200, "%s", strerror(errno));
        return -1;
    }
    fclose(t);
    if (csv_open(&c, path, e) != 0) {
        snprintf(why, 200, "empty file");
        return -1;
    }
    snprintf(hdr, nh, "%s", c.line);
    int r = csv_col(&c, a) >= 0 && csv_col(&c, b) >= 0;
    csv_close(&c);
    return r;
}

/* Picks the file of a run that holds COLUMN (see usage()). */
static int pick_source(cseries *s, const char *ycol, int by_epoch, char *err)
{
    char sp[4200], mp[4200], sh[240], mh[240], swhy[200] = "", mwhy[200] = "";
    snprintf(sp, sizeof sp, "%s/steps.csv", s->dir);
    snprintf(mp, sizeof mp, "%s/metrics.csv", s->dir);
    struct stat st;
    if (stat(s->dir, &st) != 0) return bad(err, "run directory %s: %s", s->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return bad(err, "%s is not a directory (give the --out directories of samc train)", s->dir);
    int hs = has_cols(sp, "step", ycol, sh, sizeof sh, swhy);
    int hm = has_cols(mp, by_epoch ? "epoch" : "step", ycol, mh, sizeof mh, mwhy);
    if (!by_epoch && hs == 1) {
        snprintf(s->path, sizeof s->path, "%s", sp);
        s->xcol = "step";
        return 0;
    }
    if (hm == 1) {
        snprintf(s->path, sizeof s->path, "%s", mp);
        s->xcol = by_epoch ? "epoch" : "step";
        return 0;
    }
    if (by_epoch) {
        if (hm < 0) return bad(err, "cannot open %s: %s (--x epoch reads metrics.csv)", mp, mwhy);
        return bad(err, "%s has no column '%s' (or no 'epoch'), which --x epoch needs%s (header: %.200s)", mp, ycol,
                   hs == 1 ? "; steps.csv has it: use --x step" : "", mh);
    }
    if (hs < 0 && hm < 0) return bad(err, "cannot open %s: %s (is this the --out directory of samc train?)", sp, swhy);
    return bad(err, "column '%s' is in neither %s nor %s (steps.csv: %.150s; metrics.csv: %.150s)", ycol, sp, mp,
               hs < 0 ? swhy : sh, hm < 0 ? mwhy : mh);
}

/* Reads x and COLUMN - minus (its running minimum with runmin) from every
 * row, keeping every k-th row and the last (k so that about MAX_POINTS are
 * kept). */
static int read_series(cseries *s, const char *ycol, double minus, int runmin, char *err)
{
    csv c;
    if (csv_open(&c, s->path, err) != 0) return -1;
    int xi = csv_col(&c, s->xcol), yi = csv_col(&c, ycol);
    long long rows = count_rows(s->path);
    if (rows <= 0) {
        csv_close(&c);
        return bad(err, "%s has no rows", s->path);
    }
    size_t total = (size_t)rows, cap;
    s->every = (total + MAX_POINTS - 1) / MAX_POINTS;
    cap = total / s->every + 3;
    s->x = malloc(cap * sizeof(double));
    s->y = malloc(cap * sizeof(double));
    if (!s->x || !s->y) {
        csv_close(&c);
        return bad(err, "out of memory reading %s", s->path);
    }
    double cur = NAN, lx = NAN, ly = NAN;
    int r, last_kept = 0;
    size_t i = 0;
    while ((r = csv_row(&c, err)) == 1) {
        double xv, yv;
        if (csv_num(&c, xi, &xv, err) != 0 || csv_num(&c, yi, &yv, err) != 0) {
            r = -1;
            break;
        }
        yv -= minus;
        if (runmin) {
            if (!isnan(yv) && !(yv >= cur)) cur = yv; /* the first finite value, then smaller ones */
            yv = cur;
        }
        last_kept = (i % s->every == 0 || i + 1 == total) && s->n < cap;
        if (last_kept) {
            s->x[s->n] = xv;
            s->y[s->n] = yv;
            s->n++;
        }
        lx = xv;
        ly = yv;
        i++;
    }
    csv_close(&c);
    if (r < 0) return -1;
    if (i == 0) return bad(err, "%s has no complete rows", s->path);
    if (!last_kept && s->n < cap) {
        s->x[s->n] = lx;
        s->y[s->n] = ly;
        s->n++;
    }
    s->total = i;
    return 0;
}

/* One row of a --summary table. */
typedef struct trow {
    double x, y, e;
    size_t order;
    int g;
} trow;

typedef struct table {
    trow *r;
    size_t n, cap;
    char **gname; /* distinct group values, in order of first appearance */
    int ng, gcap;
} table;

static void table_free(table *t)
{
    for (int k = 0; k < t->ng; k++) free(t->gname[k]);
    free(t->gname);
    free(t->r);
    memset(t, 0, sizeof *t);
}

/* A field without surrounding blanks. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
    return s;
}

/* A field that must be a number (nan and inf are numbers, and left out of
 * the plot later). */
static int table_num(const csv *c, int k, double *v, char *err)
{
    char *s = trim(c->field[k]), *end;
    if (!*s) return bad(err, "%s line %ld, column %s: empty field (a number is needed)", c->path, c->lineno, c->name[k]);
    *v = strtod(s, &end);
    if (end == s || *end)
        return bad(err, "%s line %ld, column %s: '%.60s' is not a number", c->path, c->lineno, c->name[k], s);
    return 0;
}

static int table_col(const csv *c, const char *name, const char *what, char *err)
{
    int k = csv_col(c, name);
    if (k < 0) return bad(err, "%s has no column '%s' (%s; header: %.300s)", c->path, name, what, c->line);
    return k;
}

static int group_of(table *t, const char *v, char *err)
{
    for (int k = 0; k < t->ng; k++)
        if (!strcmp(t->gname[k], v)) return k;
    if (t->ng == t->gcap) {
        int cap = t->gcap ? 2 * t->gcap : 16;
        char **p = realloc(t->gname, (size_t)cap * sizeof *p);
        if (!p) return bad(err, "out of memory");
        t->gname = p;
        t->gcap = cap;
    }
    if (!(t->gname[t->ng] = strdup(v))) return bad(err, "out of memory");
    return t->ng++;
}

/* Reads columns xcol, ycol (and ecol, gcol when not NULL) of every row. */
static int read_table(const char *path, const char *xcol, const char *ycol, const char *ecol, const char *gcol,
                      const char *what, table *t, char *err)
{
    memset(t, 0, sizeof *t);
    csv c;
    FILE *probe = fopen(path, "r");
    if (!probe) return bad(err, "cannot open %s: %s", path, strerror(errno));
    fclose(probe);
    if (csv_open(&c, path, err) != 0) return -1;
    int xi = -1, yi, ei = -1, gi = -1, r = -1;
    if (xcol && (xi = table_col(&c, xcol, what, err)) < 0) goto out;
    if ((yi = table_col(&c, ycol, what, err)) < 0) goto out;
    if (ecol && (ei = table_col(&c, ecol, "--err", err)) < 0) goto out;
    if (gcol && (gi = table_col(&c, gcol, "--group", err)) < 0) goto out;
    while ((r = csv_row(&c, err)) == 1) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 64;
            trow *p = realloc(t->r, cap * sizeof *p);
            if (!p) {
                r = bad(err, "out of memory reading %s", path);
                break;
            }
            t->r = p;
            t->cap = cap;
        }
        trow *w = &t->r[t->n];
        w->x = w->e = NAN;
        w->g = 0;
        w->order = t->n;
        if ((xi >= 0 && table_num(&c, xi, &w->x, err) != 0) || table_num(&c, yi, &w->y, err) != 0 ||
            (ei >= 0 && table_num(&c, ei, &w->e, err) != 0)) {
            r = -1;
            break;
        }
        if (gi >= 0 && (w->g = group_of(t, trim(c.field[gi]), err)) < 0) {
            r = -1;
            break;
        }
        t->n++;
    }
    if (r == 0 && t->n == 0) r = bad(err, "%s has no rows", path);
out:
    csv_close(&c);
    if (r < 0) table_free(t);
    return r < 0 ? -1 : 0;
}

static int by_x(const void *a, const void *b)
{
    const trow *p = a, *q_ = b;
    if (p->x < q_->x) return -1;
    if (p->x > q_->x) return 1;
    return p->order < q_->order ? -1 : p->order > q_->order;
}

/* An --hline line. */
typedef struct hline {
    double y;
    char label[512];
} hline;

/* --hline-from FILE:COL[:GROUPCOL]: the mean of COL per GROUPCOL value. */
static int hlines_from(const char *spec, hline **h, int *nh, int *cap, char *err)
{
    char buf[4200];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) return bad(err, "--hline-from: too long");
    char *col = strchr(buf, ':');
    if (!col || col == buf || !col[1]) return bad(err, "--hline-from: '%.300s' is not FILE.csv:COL[:GROUPCOL]", spec);
    *col++ = 0;
    char *gcol = strchr(col, ':');
    if (gcol) {
        *gcol++ = 0;
        if (!*gcol || !*col) return bad(err, "--hline-from: '%.300s' is not FILE.csv:COL[:GROUPCOL]", spec);
    }
    table t;
    if (read_table(buf, NULL, col, NULL, gcol, "--hline-from", &t, err) != 0) return -1;
    int ng = gcol ? t.ng : 1, rc = 0;
    for (int g = 0; g < ng && rc == 0; g++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < t.n; i++)
            if (t.r[i].g == g && isfinite(t.r[i].y)) sum += t.r[i].y, cnt++;
        if (!cnt) {
            rc = bad(err, "--hline-from: %s has no finite value of %s%s%s", buf, col, gcol ? " for " : "", gcol ? t.gname[g] : "");
            break;
        }
        if (*nh == *cap) {
            int c2 = *cap ? 2 * *cap : 8;
            hline *p = realloc(*h, (size_t)c2 * sizeof *p);
            if (!p) {
                rc = bad(err, "out of memory");
                break;
            }
            *h = p;
            *cap = c2;
        }
        hline *w = &(*h)[(*nh)++];
        w->y = sum / (double)cnt;
        char mean[64] = "";
        if (cnt > 1) snprintf(mean, sizeof mean, " (mean of %zu)", cnt);
        if (gcol) snprintf(w->label, sizeof w->label, "%.400s%s", t.gname[g], mean);
        else {
            const char *base = strrchr(buf, '/');
            snprintf(w->label, sizeof w->label, "%.200s: %.200s%s", base ? base + 1 : buf, col, mean);
        }
    }
    table_free(&t);
    return rc;
}

/* Default texts of --compare. */
static void compare_texts(const mopts *o, int by_epoch, char *yl, size_t n, char *title, size_t nt)
{
    const char *y = o->val[O_Y];
    char v[600];
    if (o->val[O_MINUS]) snprintf(v, sizeof v, "%.250s - %.250s", y, o->val[O_MINUS]);
    else snprintf(v, sizeof v, "%.500s", y);
    if (o->given[O_RUNMIN]) snprintf(yl, n, "min over %s <= %s of %s%s%s", by_epoch ? "epochs" : "steps", by_epoch ? "e" : "t",
                                     o->val[O_MINUS] ? "(" : "", v, o->val[O_MINUS] ? ")" : "");
    else snprintf(yl, n, "%s", v);
    snprintf(title, nt, "%s per %s%s", yl, by_epoch ? "epoch" : "step", o->given[O_LOGY] ? " (log scale)" : "");
}

/* The gnuplot files of the figure: in a temporary directory, or beside
 * --output with --keep-script. */
typedef struct gpfiles {
    char tmp[4096], data[4200], script[4200], errpath[4200];
    int keep;
    FILE *df, *g;
} gpfiles;

static int gp_open(gpfiles *f, const char *out, int keep, char *err)
{
    memset(f, 0, sizeof *f);
    const char *tdir = getenv("TMPDIR");
    snprintf(f->tmp, sizeof f->tmp, "%s/samc-plot-XXXXXX", tdir && *tdir ? tdir : "/tmp");
    if (!mkdtemp(f->tmp)) {
        bad(err, "cannot create a temporary directory %s: %s", f->tmp, strerror(errno));
        f->tmp[0] = 0;
        return -1;
    }
    f->keep = keep;
    snprintf(f->errpath, sizeof f->errpath, "%s/gnuplot.err", f->tmp);
    if (keep) {
        size_t stem = strlen(out) - 4; /* without .png / .svg */
        snprintf(f->data, sizeof f->data, "%.*s.dat", (int)stem, out);
        snprintf(f->script, sizeof f->script, "%.*s.gp", (int)stem, out);
    } else {
        snprintf(f->data, sizeof f->data, "%s/data.txt", f->tmp);
        snprintf(f->script, sizeof f->script, "%s/plot.gp", f->tmp);
    }
    f->df = fopen(f->data, "w");
    f->g = fopen(f->script, "w");
    if (!f->df || !f->g) return bad(err, "cannot write %s: %s", f->df ? f->script : f->data, strerror(errno));
    return 0;
}

static int gp_close(gpfiles *f, char *err)
{
    int werr = 0;
    if (f->df) werr |= ferror(f->df) | (fclose(f->df) != 0);
    if (f->g) werr |= ferror(f->g) | (fclose(f->g) != 0);
    f->df = f->g = NULL;
    if (werr) return bad(err, "cannot write the gnuplot files %s, %s", f->script, f->data);
    return 0;
}

/* Finds gnuplot (into gnuplot[n]), makes OUT's directory, opens the files. */
static int gp_start(gpfiles *f, const char *out, int keep, char *gnuplot, size_t n, char *err)
{
    if (find_program("gnuplot", gnuplot, n) != 0) return bad(err, "gnuplot not found: install gnuplot-nox");
    if (make_parent(out, err) != 0) return -1;
    return gp_open(f, out, keep, err);
}

/* Closes the files, runs gnuplot on the script and checks that OUT was drawn. */
static int gp_draw(gpfiles *f, const char *gnuplot, const char *out, char *err)
{
    if (gp_close(f, err) != 0) return -1;
    if (run_gnuplot(gnuplot, f->script, f->errpath, err) != 0) return -1;
    struct stat st;
    if (stat(out, &st) != 0 || st.st_size == 0) return bad(err, "gnuplot exited normally but wrote no %s", out);
    return 0;
}

static void gp_cleanup(gpfiles *f)
{
    if (f->df) fclose(f->df);
    if (f->g) fclose(f->g);
    if (!f->tmp[0]) return;
    if (!f->keep) {
        unlink(f->data);
        unlink(f->script);
    }
    unlink(f->errpath);
    rmdir(f->tmp);
}

static int plot_compare(const mopts *o, const char *out, const char *fmt, char *err)
{
    const char *ycol = o->val[O_Y], *xarg = o->val[O_X] ? o->val[O_X] : "step";
    if (!ycol) return bad(err, "samc plot --compare needs --y COLUMN (a column of steps.csv or metrics.csv)");
    if (strcmp(xarg, "step") && strcmp(xarg, "epoch")) return bad(err, "--x: '%.60s' is not step or epoch", xarg);
    if (o->nruns == 0) return bad(err, "samc plot --compare needs run directories: --compare OUT1[=LABEL] OUT2[=LABEL] ...");
    int by_epoch = !strcmp(xarg, "epoch");
    double minus = 0;
    if (o->val[O_MINUS] && arg_num("minus", o->val[O_MINUS], &minus, err) != 0) return -1;
    int nref = o->nlist[O_REF];
    char (*ref)[1200] = calloc((size_t)nref + 1, sizeof *ref);
    char (*ref_lab)[1100] = calloc((size_t)nref + 1, sizeof *ref_lab);
    cseries *s = calloc((size_t)o->nruns, sizeof *s);
    gpfiles f;
    memset(&f, 0, sizeof f);
    int rc = -1;
    if (!ref || !ref_lab || !s) {
        bad(err, "out of memory");
        goto done;
    }
    for (int k = 0; k < nref; k++) {
        const char *spec = o->list[O_REF][k], *eq = strchr(spec, '=');
        char expr[1024];
        if (snprintf(expr, sizeof expr, "%.*s", eq ? (int)(eq - spec) : (int)strlen(spec), spec) >= (int)sizeof expr) {
            bad(err, "--ref: expression too long");
            goto done;
        }
        if (ref_expr(expr, ref[k], sizeof ref[k], err) != 0) goto done;
        snprintf(ref_lab[k], sizeof ref_lab[k], "%s", eq && eq[1] ? eq + 1 : expr); /* the label, or the expression */
    }
    for (int k = 0; k < o->nruns; k++) {
        const char *a = o->runs[k], *eq = strchr(a, '=');
        struct stat st;
        /* OUT=LABEL splits at the first '=', unless the whole is a directory */
        if (eq && !(stat(a, &st) == 0 && S_ISDIR(st.st_mode))) {
            snprintf(s[k].dir, sizeof s[k].dir, "%.*s", (int)(eq - a), a);
            s[k].label = eq + 1;
        } else {
            snprintf(s[k].dir, sizeof s[k].dir, "%s", a);
            s[k].label = a;
        }
        if (!s[k].dir[0]) {
            bad(err, "'%s': no run directory before '='", a);
            goto done;
        }
        if (pick_source(&s[k], ycol, by_epoch, err) != 0) goto done;
        if (read_series(&s[k], ycol, minus, o->given[O_RUNMIN], err) != 0) goto done;
    }
    char gnuplot[4200];
    if (gp_start(&f, out, o->given[O_KEEP], gnuplot, sizeof gnuplot, err) != 0) goto done;

    int logx = o->given[O_LOGX], logy = o->given[O_LOGY];
    size_t *w = calloc((size_t)o->nruns, sizeof *w);
    if (!w) {
        bad(err, "out of memory");
        goto done;
    }
    int any_sub = 0;
    for (int k = 0; k < o->nruns; k++) {
        cseries *r = &s[k];
        comment(f.df, "block %d: %s = %s, column %s%s%s%s of %s, x = %s; %zu rows%s", k, r->label, r->dir, ycol,
                o->val[O_MINUS] ? " - " : "", o->val[O_MINUS] ? o->val[O_MINUS] : "",
                o->given[O_RUNMIN] ? ", running minimum" : "", r->path, r->xcol, r->total,
                r->every > 1 ? ", every k-th and the last kept" : "");
        if (r->every > 1) comment(f.df, "k = %zu", r->every);
        w[k] = put_block(f.df, r->x, r->y, NULL, r->n, logx, logy, &r->dropped);
        any_sub |= r->every > 1;
        if (w[k] == 0) {
            bad(err, "%s: no %s value of %s to plot%s", r->path, logy ? "positive finite" : "finite", ycol,
                logx ? " at x > 0" : "");
            free(w);
            goto done;
        }
    }
    char yl[1400], title[1600];
    compare_texts(o, by_epoch, yl, sizeof yl, title, sizeof title);
    if (any_sub && strlen(title) + 80 < sizeof title)
        snprintf(title + strlen(title), sizeof title - strlen(title), "\nruns of more than %d rows: every k-th row and the last plotted",
                 MAX_POINTS);
    fprintf(f.g, "# samc plot --compare: generated gnuplot script\nset datafile separator whitespace\n");
    begin_file(f.g, fmt, out, o->val[O_TITLE] ? o->val[O_TITLE] : title,
               o->val[O_XLABEL] ? o->val[O_XLABEL] : by_epoch ? "epoch" : "step t",
               o->val[O_YLABEL] ? o->val[O_YLABEL] : yl, logx, logy);
    for (int k = 0; k < o->nruns; k++) {
        const char *style = s[k].n <= 60 ? "w lp lw 2 ps 1" : "w l lw 2";
        fprintf(f.g, "%s%s index %d using 1:2 %s pt %d lc rgb '%s' title %s", k ? ", \\\n     " : "plot ", q(f.data), k,
                style, point_types[k % 6], palette[k % NPALETTE], q(s[k].label));
    }
    for (int k = 0; k < nref; k++)
        fprintf(f.g, ", \\\n     (%s) w l dt %d lw 2 lc rgb '#404040' title %s", ref[k], 2 + k % 4, q(ref_lab[k]));
    fputs("\nset output\n", f.g);
    free(w);
    if (gp_draw(&f, gnuplot, out, err) != 0) goto done;
    for (int k = 0; k < o->nruns; k++) {
        if (s[k].every > 1)
            printf("# %s: 1 in %zu of %zu rows plotted (and the last)\n", s[k].label, s[k].every, s[k].total);
        if (s[k].dropped)
            printf("# %s: %zu points with %s not shown on the log axis\n", s[k].label, s[k].dropped,
                   logx && logy ? "x <= 0 or y <= 0" : logx ? "x <= 0" : "y <= 0");
    }
    printf("wrote %s\n", out);
    if (f.keep) printf("wrote %s\nwrote %s\n", f.script, f.data);
    rc = 0;
done:
    gp_cleanup(&f);
    if (s)
        for (int k = 0; k < o->nruns; k++) {
            free(s[k].x);
            free(s[k].y);
        }
    free(s);
    free(ref);
    free(ref_lab);
    return rc;
}

static int plot_summary(const mopts *o, const char *out, const char *fmt, char *err)
{
    const char *path = o->val[O_SUMMARY], *xcol = o->val[O_X], *ycol = o->val[O_Y], *gcol = o->val[O_GROUP];
    if (!xcol || !ycol) return bad(err, "samc plot --summary needs --x COL and --y COL (columns of %s)", path);
    hline *h = NULL;
    int nh = 0, hcap = 0, rc = -1;
    table t;
    memset(&t, 0, sizeof t);
    gpfiles f;
    memset(&f, 0, sizeof f);
    trow *rows = NULL;
    for (int k = 0; k < o->nlist[O_HLINE]; k++) {
        const char *spec = o->list[O_HLINE][k], *eq = strchr(spec, '=');
        char num[128];
        snprintf(num, sizeof num, "%.*s", eq ? (int)(eq - spec < 127 ? eq - spec : 127) : 127, spec);
        if (nh == hcap) {
            hcap = hcap ? 2 * hcap : 8;
            hline *p = realloc(h, (size_t)hcap * sizeof *p);
            if (!p) {
                bad(err, "out of memory");
                goto done;
            }
            h = p;
        }
        if (arg_num("hline", num, &h[nh].y, err) != 0) goto done;
        snprintf(h[nh].label, sizeof h[nh].label, "%s", eq && eq[1] ? eq + 1 : num);
        nh++;
    }
    for (int k = 0; k < o->nlist[O_HFROM]; k++)
        if (hlines_from(o->list[O_HFROM][k], &h, &nh, &hcap, err) != 0) goto done;
    if (read_table(path, xcol, ycol, o->val[O_ERR], gcol, "--x/--y", &t, err) != 0) goto done;
    char gnuplot[4200];
    if (gp_start(&f, out, o->given[O_KEEP], gnuplot, sizeof gnuplot, err) != 0) goto done;
    int logx = o->given[O_LOGX], logy = o->given[O_LOGY], ng = gcol ? t.ng : 1, lines = 0;
    rows = malloc(t.n * sizeof *rows);
    double *x = malloc(t.n * sizeof *x), *y = malloc(t.n * sizeof *y), *e = malloc(t.n * sizeof *e);
    int *index = malloc((size_t)ng * sizeof *index);
    if (!rows || !x || !y || !e || !index) {
        free(x), free(y), free(e), free(index);
        bad(err, "out of memory");
        goto done;
    }
    for (int g = 0; g < ng; g++) {
        size_t n = 0, dropped;
        for (size_t i = 0; i < t.n; i++)
            if (t.r[i].g == g) rows[n++] = t.r[i];
        qsort(rows, n, sizeof *rows, by_x);
        for (size_t i = 0; i < n; i++) x[i] = rows[i].x, y[i] = rows[i].y, e[i] = rows[i].e;
        comment(f.df, "block %d: %s%s%s, %zu rows of %s sorted by %s; columns %s %s%s%s", lines,
                gcol ? gcol : "all rows", gcol ? " = " : "", gcol ? t.gname[g] : "", n, path, xcol, xcol, ycol,
                o->val[O_ERR] ? " " : "", o->val[O_ERR] ? o->val[O_ERR] : "");
        size_t wrote = put_block(f.df, x, y, o->val[O_ERR] ? e : NULL, n, logx, logy, &dropped);
        index[g] = wrote ? lines++ : -1;
        if (!wrote) comment(f.df, "(nothing to plot)");
        if (!wrote) printf("# skipped %s: no point to plot%s\n", gcol ? t.gname[g] : ycol, logx || logy ? " on the log axes" : "");
        else if (dropped) printf("# %s: %zu points with x <= 0 or y <= 0 not shown on the log axis\n", gcol ? t.gname[g] : ycol, dropped);
    }
    free(x), free(y), free(e);
    if (!lines) {
        free(index);
        bad(err, "%s: no row with finite %s and %s to plot%s", path, xcol, ycol, logx || logy ? " on the log axes" : "");
        goto done;
    }
    char title[1200];
    snprintf(title, sizeof title, "%.300s against %.300s%s%.300s", ycol, xcol, gcol ? " by " : "", gcol ? gcol : "");
    fprintf(f.g, "# samc plot --summary: generated gnuplot script\nset datafile separator whitespace\n");
    begin_file(f.g, fmt, out, o->val[O_TITLE] ? o->val[O_TITLE] : title, o->val[O_XLABEL] ? o->val[O_XLABEL] : xcol,
               o->val[O_YLABEL] ? o->val[O_YLABEL] : ycol, logx, logy);
    int first = 1;
    for (int g = 0; g < ng; g++) {
        if (index[g] < 0) continue;
        fprintf(f.g, "%s%s index %d using %s lw 2 pt %d ps 1.2 lc rgb '%s' title %s", first ? "plot " : ", \\\n     ",
                q(f.data), index[g], o->val[O_ERR] ? "1:2:3 w yerrorlines" : "1:2 w lp", point_types[index[g] % 6],
                palette[index[g] % NPALETTE], q(gcol ? t.gname[g] : ycol));
        first = 0;
    }
    for (int k = 0; k < nh; k++)
        fprintf(f.g, ", \\\n     (%.9g) w l dt %d lw 2 lc rgb '#404040' title %s", h[k].y, 2 + k % 4, q(h[k].label));
    fputs("\nset output\n", f.g);
    free(index);
    if (gp_draw(&f, gnuplot, out, err) != 0) goto done;
    printf("wrote %s\n", out);
    if (f.keep) printf("wrote %s\nwrote %s\n", f.script, f.data);
    rc = 0;
done:
    gp_cleanup(&f);
    free(rows);
    free(h);
    table_free(&t);
    return rc;
}

static int plot_multi(int argc, char **argv, int mode)
{
    char err[ERRLEN] = "";
    mopts o;
    const char *fmt = NULL;
    int rc = parse_multi(argc, argv, mode, &o, err);
    if (rc == 0 && !o.val[O_OUTPUT]) rc = bad(err, "samc plot %s needs --output FILE.png|FILE.svg", mode_name(mode));
    if (rc == 0) rc = output_format(o.val[O_OUTPUT], &fmt, err);
    if (rc == 0 && mode == M_COMPARE) rc = plot_compare(&o, o.val[O_OUTPUT], fmt, err);
    if (rc == 0 && mode == M_SUMMARY) rc = plot_summary(&o, o.val[O_OUTPUT], fmt, err);
    mopts_free(&o);
    if (rc != 0) {
        fprintf(stderr, "samc: error: %s\n", err);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ the command */

static void usage(FILE *f)
{
    fputs("usage: samc plot OUT [--format png|svg] [--out DIR]\n"
          "       samc plot --compare OUT[=LABEL]... --y COLUMN [flags] --output FILE.png|FILE.svg\n"
          "       samc plot --summary FILE.csv --x COL --y COL [flags] --output FILE.png|FILE.svg\n"
          "\n"
          "samc plot OUT: the figures of a training run from OUT/steps.csv and\n"
          "OUT/metrics.csv (the --out directory of samc train), drawn with gnuplot:\n"
          "  loss       per-step loss f_S(x_t) and f_S(x_t + d), per-epoch train/test loss\n"
          "  accuracy   train / test / validation accuracy per epoch (if defined)\n"
          "  step_size  step size gamma_t taken per step (Polyak or scheduled), running mean\n"
          "  batch_rho  batch size and rho per step\n"
          "  grad_norm  ||grad f_S(x_t)|| and ||grad f_S(x_t + d)|| per step\n"
          "  sharpness  the --measure-every columns of metrics.csv per epoch (if any)\n"
          "Long runs are subsampled to about 20000 steps per series.\n"
          "  --format png|svg       image format\n"
          "                         [default: png]\n"
          "  --out DIR              where the figures go (created if missing)\n"
          "                         [default: OUT/plots]\n"
          "\n"
          "samc plot --compare: one column of several runs in one figure, a line per run.\n"
          "  OUT[=LABEL]            a run directory and its legend label [default: OUT];\n"
          "                         split at the first '=' unless the whole is a directory\n"
          "  --y COLUMN             the column, by its name in steps.csv or metrics.csv\n"
          "  --x step|epoch         step: from OUT/steps.csv, x = its step column; a COLUMN\n"
          "                         steps.csv lacks comes from metrics.csv, x = its step\n"
          "                         column; epoch: from OUT/metrics.csv, x = its epoch\n"
          "                         column  [default: step]\n"
          "  --minus F              plot COLUMN - F (e.g. F = f*: the gap f - f*)\n"
          "  --running-min          plot the minimum over the rows up to each row, over\n"
          "                         every row and after --minus (min_{s<=t} ||grad f||)\n"
          "  --ref EXPR[=LABEL]     a dashed reference curve y = EXPR(x), repeatable, e.g.\n"
          "                         '0.5/x=O(1/T)' or '1e2*0.99**x=bound'; EXPR may hold\n"
          "                         numbers, x, pi, + - * / ** ^ ( ) and exp log log10 sqrt\n"
          "                         abs sin cos tan atan sinh cosh tanh, nothing else; ^ is\n"
          "                         a power, integers are reals (1/2 is 0.5)\n"
          "  Series longer than 20000 rows are subsampled to about 20000 points (every\n"
          "  k-th row and the last); --minus and --running-min see every row.\n"
          "\n"
          "samc plot --summary: a table of results (one row per run, e.g. written by an\n"
          "experiment script), one line with points per group, sorted by x.\n"
          "  FILE.csv               comma-separated, a header of column names, no quoting\n"
          "  --x COL, --y COL       the columns of x and y\n"
          "  --group COL            one line per distinct value of COL (any text), in the\n"
          "                         order of first appearance  [default: one line]\n"
          "  --err COL              error bars y - COL .. y + COL\n"
          "  --hline VALUE[=LABEL]  a dashed horizontal line y = VALUE, repeatable\n"
          "  --hline-from F.csv:COL[:GROUPCOL]\n"
          "                         horizontal lines at the mean of column COL of F.csv,\n"
          "                         one per distinct value of GROUPCOL (labelled by it),\n"
          "                         or one for all rows; F.csv without ':'; repeatable\n"
          "  x, y and --err fields must be numbers: an empty or other field is an error\n"
          "  naming the file, line and column; rows with x or y nan or inf are left out.\n"
          "\n"
          "flags of --compare and --summary:\n"
          "  --output FILE.png|FILE.svg   the figure, its format from the extension\n"
          "                         (missing parent directories are created)\n"
          "  --logx, --logy         log axes; points with x <= 0 (e.g. step 0) or y <= 0\n"
          "                         (e.g. f - f* at 0) are left out, counted on stdout\n"
          "  --title TEXT, --xlabel TEXT, --ylabel TEXT\n"
          "                         [default: from the columns and flags]\n"
          "  --keep-script          also write STEM.gp and STEM.dat beside FILE (STEM:\n"
          "                         FILE without .png/.svg): the gnuplot script and the\n"
          "                         points plotted, a data block per line of the figure;\n"
          "                         gnuplot STEM.gp draws FILE again\n", f);
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
    int mode = 0;
    for (int i = 0; i < argc; i++) {
        int m = !strcmp(argv[i], "--compare") || !strncmp(argv[i], "--compare=", 10)   ? M_COMPARE
                : !strcmp(argv[i], "--summary") || !strncmp(argv[i], "--summary=", 10) ? M_SUMMARY
                                                                                        : 0;
        if (m && mode && m != mode) {
            fprintf(stderr, "samc: error: --compare and --summary are two modes: give one\n");
            return 1;
        }
        if (m) mode = m;
        for (int k = 0; k < O_N; k++) /* skip a flag's value: --title --compare is a title */
            if (mflags[k].has_val && !strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, mflags[k].name)) {
                i++;
                break;
            }
    }
    if (mode) return plot_multi(argc, argv, mode);
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
