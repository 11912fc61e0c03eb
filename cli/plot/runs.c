/*
 * runs.c -- reading a training run for `samc plot`: the steps.csv and
 * metrics.csv columns of its figures, or one column for --compare.  Columns
 * are found by the names of the library's column tables (samc_steps_columns,
 * samc_metrics_columns, samc_measure_name) through its CSV reader.
 *
 * steps.csv may hold millions of rows: its lines are counted first, then it
 * is read once keeping every k-th row (and the last), so that at most about
 * MAX_POINTS points per series reach gnuplot; running means and minima are
 * over every row.  Infinite values are plotted as nothing, like NaN.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plot_internal.h"
#include "util/err.h"

/* The library's column of each S_* and M_* (the measures follow M_MEAS). */
static const int steps_src[S_NCOL] = {
    SAMC_STEPS_STEP, SAMC_STEPS_BATCH_SIZE, SAMC_STEPS_LR, SAMC_STEPS_RHO,
    SAMC_STEPS_LOSS, SAMC_STEPS_LOSS_PERTURBED, SAMC_STEPS_GRAD_NORM, SAMC_STEPS_GRAD_NORM_PERTURBED,
};
static const int metrics_src[M_MEAS] = {
    SAMC_METRICS_EPOCH, SAMC_METRICS_STEP, SAMC_METRICS_TRAIN_LOSS, SAMC_METRICS_TEST_LOSS,
    SAMC_METRICS_TRAIN_ACC, SAMC_METRICS_TEST_ACC, SAMC_METRICS_VAL_LOSS, SAMC_METRICS_VAL_ACC,
};

const char *metrics_col(int k)
{
    return k < M_MEAS ? samc_metrics_columns[metrics_src[k]].name : samc_measure_name((samc_measure_kind)(k - M_MEAS));
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

/* Opens a run's CSV file. */
static samc_status open_run_csv(samc_csv **c, const char *path, char *err)
{
    samc_errbuf why;
    samc_status st = samc_csv_open(c, path, why);
    if (st == SAMC_EIO) return samc_errf(err, st, "%s (is this the --out directory of samc train?)", why);
    return st == SAMC_OK ? st : samc_errf(err, st, "%s", why);
}

/* Finds the columns names[0..n) (idx[k] = -1 when absent); an error naming
 * the missing ones when any of the first n_required is absent. */
static samc_status find_cols(const samc_csv *c, const char *const *names, int n, int n_required, int *idx,
                             char *err)
{
    char missing[512] = "";
    for (int k = 0; k < n; k++) {
        idx[k] = samc_csv_col(c, names[k]);
        if (idx[k] < 0 && k < n_required) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", names[k]);
        }
    }
    SAMC_CHECK(!missing[0], SAMC_EFORMAT, "%s lacks the column(s) %s (header: %.300s)", samc_csv_path(c),
               missing, samc_csv_header(c));
    return SAMC_OK;
}

/* Field k of the current row: a number, NaN when empty, nan or infinite. */
static samc_status num(const samc_csv *c, int k, double *v, char *err)
{
    samc_status st = samc_csv_number(c, k, v, err);
    if (st == SAMC_OK && !isfinite(*v)) *v = NAN;
    return st;
}

/* ------------------------------------------------------------ steps.csv */

void steps_free(steps *s)
{
    for (int k = 0; k < S_NCOL; k++) free(s->v[k]);
    for (int k = 0; k < 3; k++) free(s->mean[k]);
    memset(s, 0, sizeof *s);
}

/* The columns that get a running mean over every row (s->mean[m]). */
static const int mean_cols[3] = { S_LR, S_LOSS, S_LOSSP };

/* Prefix sums of the finite values of the mean_cols, at the kept rows:
 * sum[m][j], cnt[m][j] over the rows before kept row j, [n] over all. */
typedef struct prefix {
    double *sum[3];
    size_t *cnt[3];
} prefix;

/* A running mean over every row, centred: kept row j starts a bucket of
 * `every` rows; the mean at j is over buckets j-h..j+h (fewer at the ends). */
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

static samc_status steps_alloc(steps *s, prefix *p, size_t cap, const char *path, char *err)
{
    int ok = 1;
    for (int k = 0; k < S_NCOL; k++) ok &= (s->v[k] = malloc(cap * sizeof(double))) != NULL;
    for (int m = 0; m < 3; m++) {
        ok &= (p->sum[m] = malloc((cap + 1) * sizeof(double))) != NULL;
        ok &= (p->cnt[m] = malloc((cap + 1) * sizeof(size_t))) != NULL;
        ok &= (s->mean[m] = malloc(cap * sizeof(double))) != NULL;
    }
    SAMC_CHECK(ok, SAMC_ENOMEM, "out of memory reading %s", path);
    return SAMC_OK;
}

/* Reads the rows: every row's lr and losses feed the running means, the
 * rest is read only in the rows kept. */
static samc_status steps_scan(samc_csv *c, const int *idx, steps *s, prefix *p, size_t total, size_t cap,
                              char *err)
{
    double sum[3] = { 0, 0, 0 }; /* of the finite values so far */
    size_t cnt[3] = { 0, 0, 0 };
    while (s->total < total) {
        const double *row_in;
        samc_status st = samc_csv_next(c, &row_in, err);
        if (st != SAMC_OK) return st;
        if (!row_in) break;
        size_t i = s->total;
        int keep = (i % s->every == 0 || i + 1 == total) && s->n < cap;
        double row[S_NCOL];
        for (int k = 0; k < S_NCOL; k++)
            if (keep || k == S_LR || k == S_LOSS || k == S_LOSSP)
                if ((st = num(c, idx[k], &row[k], err)) != SAMC_OK) return st;
        if (keep) {
            for (int k = 0; k < S_NCOL; k++) s->v[k][s->n] = row[k];
            for (int m = 0; m < 3; m++) p->sum[m][s->n] = sum[m], p->cnt[m][s->n] = cnt[m];
            s->n++;
        }
        for (int m = 0; m < 3; m++)
            if (!isnan(row[mean_cols[m]])) sum[m] += row[mean_cols[m]], cnt[m]++;
        if (!isnan(row[S_LR])) {
            s->lr_finite++;
            if (row[S_LR] <= 0) s->lr_nonpos++;
        }
        s->total++;
    }
    SAMC_CHECK(s->total, SAMC_EFORMAT, "%s has no complete rows", samc_csv_path(c));
    for (int m = 0; m < 3; m++) {
        p->sum[m][s->n] = sum[m];
        p->cnt[m][s->n] = cnt[m];
        running_mean(s, s->mean[m], p->sum[m], p->cnt[m]);
    }
    return SAMC_OK;
}

samc_status read_steps(const char *path, steps *s, char *err)
{
    memset(s, 0, sizeof *s);
    const char *names[S_NCOL];
    for (int k = 0; k < S_NCOL; k++) names[k] = samc_steps_columns[steps_src[k]].name;
    samc_csv *c;
    samc_status st = open_run_csv(&c, path, err);
    if (st != SAMC_OK) return st;
    int idx[S_NCOL];
    prefix p;
    memset(&p, 0, sizeof p);
    st = find_cols(c, names, S_NCOL, S_NCOL, idx, err);
    long long rows = st == SAMC_OK ? count_rows(path) : 0;
    if (st == SAMC_OK && rows <= 0) st = samc_errf(err, SAMC_EFORMAT, "%s has no rows (no step finished yet)", path);
    size_t total = (size_t)rows, cap = 0;
    if (st == SAMC_OK) {
        s->every = (total + MAX_POINTS - 1) / MAX_POINTS;
        cap = total / s->every + 2;
        st = steps_alloc(s, &p, cap, path, err);
    }
    if (st == SAMC_OK) st = steps_scan(c, idx, s, &p, total, cap, err);
    for (int m = 0; m < 3; m++) {
        free(p.sum[m]);
        free(p.cnt[m]);
    }
    samc_csv_close(c);
    if (st != SAMC_OK) steps_free(s);
    return st;
}

/* ------------------------------------------------------------ metrics.csv */

void metrics_free(metrics *m)
{
    for (int k = 0; k < M_NCOL; k++) free(m->v[k]);
    memset(m, 0, sizeof *m);
}

static samc_status metrics_grow(metrics *m, const char *path, char *err)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    for (int k = 0; k < M_NCOL; k++) {
        double *p = realloc(m->v[k], cap * sizeof(double));
        SAMC_CHECK(p, SAMC_ENOMEM, "out of memory reading %s", path);
        m->v[k] = p;
    }
    m->cap = cap;
    return SAMC_OK;
}

samc_status read_metrics(const char *path, metrics *m, char *err)
{
    memset(m, 0, sizeof *m);
    const char *names[M_NCOL];
    for (int k = 0; k < M_NCOL; k++) names[k] = metrics_col(k);
    samc_csv *c;
    samc_status st = open_run_csv(&c, path, err);
    if (st != SAMC_OK) return st;
    int idx[M_NCOL];
    const double *row;
    st = find_cols(c, names, M_NCOL, M_REQUIRED, idx, err);
    for (int k = 0; k < M_NCOL; k++) m->present[k] = st == SAMC_OK && idx[k] >= 0;
    while (st == SAMC_OK && (st = samc_csv_next(c, &row, err)) == SAMC_OK && row) {
        if (m->n == m->cap && (st = metrics_grow(m, path, err)) != SAMC_OK) break;
        for (int k = 0; k < M_NCOL && st == SAMC_OK; k++) {
            if (idx[k] < 0) m->v[k][m->n] = NAN;
            else st = num(c, idx[k], &m->v[k][m->n], err);
        }
        m->n++;
    }
    samc_csv_close(c);
    if (st != SAMC_OK) metrics_free(m);
    return st;
}

/* ------------------------------------------------------------ one column (--compare) */

/* Tells whether the header of path has the columns a and b (1, 0; -1 when
 * the file cannot be opened, the reason in why). */
static int has_cols(const char *path, const char *a, const char *b, char *hdr, size_t nh, char *why)
{
    hdr[0] = 0;
    FILE *t = fopen(path, "r");
    if (!t) {
        snprintf(why, 200, "%s", strerror(errno));
        return -1;
    }
    fclose(t);
    samc_csv *c;
    if (samc_csv_open(&c, path, NULL) != SAMC_OK) {
        snprintf(why, 200, "empty file");
        return -1;
    }
    snprintf(hdr, nh, "%s", samc_csv_header(c));
    int r = samc_csv_col(c, a) >= 0 && samc_csv_col(c, b) >= 0;
    samc_csv_close(c);
    return r;
}

samc_status pick_source(cseries *s, const char *ycol, int by_epoch, char *err)
{
    char sp[4200], mp[4200], sh[240], mh[240], swhy[200] = "", mwhy[200] = "";
    snprintf(sp, sizeof sp, "%s/steps.csv", s->dir);
    snprintf(mp, sizeof mp, "%s/metrics.csv", s->dir);
    struct stat st;
    SAMC_CHECK(stat(s->dir, &st) == 0, SAMC_EIO, "run directory %s: %s", s->dir, strerror(errno));
    SAMC_CHECK(S_ISDIR(st.st_mode), SAMC_EINVAL, "%s is not a directory (give the --out directories of samc train)",
               s->dir);
    const char *sx = samc_steps_columns[SAMC_STEPS_STEP].name;
    const char *mx = samc_metrics_columns[by_epoch ? SAMC_METRICS_EPOCH : SAMC_METRICS_STEP].name;
    int hs = has_cols(sp, sx, ycol, sh, sizeof sh, swhy);
    int hm = has_cols(mp, mx, ycol, mh, sizeof mh, mwhy);
    if (!by_epoch && hs == 1) {
        snprintf(s->path, sizeof s->path, "%s", sp);
        s->xcol = sx;
        return SAMC_OK;
    }
    if (hm == 1) {
        snprintf(s->path, sizeof s->path, "%s", mp);
        s->xcol = mx;
        return SAMC_OK;
    }
    if (by_epoch) {
        SAMC_CHECK(hm >= 0, SAMC_EIO, "cannot open %s: %s (--x epoch reads metrics.csv)", mp, mwhy);
        return samc_errf(err, SAMC_EINVAL, "%s has no column '%s' (or no 'epoch'), which --x epoch needs%s (header: %.200s)",
                         mp, ycol, hs == 1 ? "; steps.csv has it: use --x step" : "", mh);
    }
    SAMC_CHECK(hs >= 0 || hm >= 0, SAMC_EIO, "cannot open %s: %s (is this the --out directory of samc train?)", sp,
               swhy);
    return samc_errf(err, SAMC_EINVAL, "column '%s' is in neither %s nor %s (steps.csv: %.150s; metrics.csv: %.150s)",
                     ycol, sp, mp, hs < 0 ? swhy : sh, hm < 0 ? mwhy : mh);
}

/* Reads the rows of s->path: x and ycol - minus (its running minimum with
 * runmin) from every row, every k-th row and the last kept. */
static samc_status series_scan(samc_csv *c, cseries *s, int xi, int yi, double minus, int runmin, size_t total,
                               size_t cap, char *err)
{
    double cur = NAN, lx = NAN, ly = NAN;
    int last_kept = 0;
    size_t i = 0;
    const double *row;
    samc_status st;
    while ((st = samc_csv_next(c, &row, err)) == SAMC_OK && row) {
        double xv, yv;
        if ((st = num(c, xi, &xv, err)) != SAMC_OK || (st = num(c, yi, &yv, err)) != SAMC_OK) return st;
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
    if (st != SAMC_OK) return st;
    SAMC_CHECK(i, SAMC_EFORMAT, "%s has no complete rows", s->path);
    if (!last_kept && s->n < cap) {
        s->x[s->n] = lx;
        s->y[s->n] = ly;
        s->n++;
    }
    s->total = i;
    return SAMC_OK;
}

samc_status read_series(cseries *s, const char *ycol, double minus, int runmin, char *err)
{
    samc_csv *c;
    samc_status st = open_run_csv(&c, s->path, err);
    if (st != SAMC_OK) return st;
    int xi = samc_csv_col(c, s->xcol), yi = samc_csv_col(c, ycol);
    long long rows = count_rows(s->path);
    size_t total = rows > 0 ? (size_t)rows : 0, cap = 0;
    if (rows <= 0) st = samc_errf(err, SAMC_EFORMAT, "%s has no rows", s->path);
    if (st == SAMC_OK) {
        s->every = (total + MAX_POINTS - 1) / MAX_POINTS;
        cap = total / s->every + 3;
        s->x = malloc(cap * sizeof(double));
        s->y = malloc(cap * sizeof(double));
        if (!s->x || !s->y) st = samc_errf(err, SAMC_ENOMEM, "out of memory reading %s", s->path);
    }
    if (st == SAMC_OK) st = series_scan(c, s, xi, yi, minus, runmin, total, cap, err);
    samc_csv_close(c);
    return st;
}
