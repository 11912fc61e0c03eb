/*
 * synth.c -- synthetic least-squares / logistic data with a designed spectrum.
 *
 *   A = U diag(s) V'    U: n x d with orthonormal columns, V: d x d orthogonal,
 *                       both the Q factor (LAPACK dgeqrf + dorgqr, column
 *                       signs such that diag(R) > 0, i.e. the Q Gram-Schmidt
 *                       would give) of Gaussian matrices drawn from samc_rng;
 *   lambda_i = kappa^(-i/(d-1)), i = 0..d-1  (1 down to 1/kappa; d = 1: 1),
 *   s_i = sqrt(n lambda_i),  so  H = A'A/n = V diag(lambda) V'  exactly
 *   (up to float rounding of A).
 *   x* ~ N(0, I_d) / sqrt(d)
 *   ridge:  y = A x* + noise N(0,1)      (noise 0: the system is consistent)
 *   logreg: y = +1 if a'x* + noise N(0,1) >= 0 else -1
 *
 * Test rows are drawn from the same distribution: a = V diag(sqrt(lambda)) V' g
 * with g ~ N(0, I_d), so Cov(a) = V diag(lambda) V' = H, the (uncentered)
 * second moment of the training rows; their targets follow the same rule.
 *
 * Order of draws (all from one stream seeded with `seed`): the n x d Gaussian
 * for U, the d x d Gaussian for V, x*, one noise draw per training row (drawn
 * even when noise = 0, so the features do not depend on the noise level),
 * then per test row its d Gaussians and one noise draw.  Same seed, same data
 * (for one OpenBLAS: its BLAS kernels inside the QR may round differently on
 * another CPU, which can change the last bits).
 * Work is in double; A, y are stored as float, and ridge targets are computed
 * from the float-rounded rows so that noise 0 interpolates to float precision.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

typedef struct synth_params {
    int logreg;
    size_t n, d, test;
    double kappa, noise;
    uint64_t seed;
} synth_params;

/* A non-negative integer (decimal or like 1e4), at most 2^40. */
static int parse_count(const char *s, size_t *out)
{
    double v;
    if (samc_data_parse_num(s, &v) || v < 0 || v != floor(v) || v > 1099511627776.0)
        return 0;
    *out = (size_t)v;
    return 1;
}

static int parse_seed(const char *s, uint64_t *out)
{
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = (uint64_t)v;
    return 1;
}

#define SYNTH_USAGE "expected synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]"

/* One setting key=v: 1 taken, 0 a bad value, -1 an unknown key. */
static int set_key(synth_params *p, const char *key, const char *v)
{
    double x = 0;
    if (!strcmp(key, "n")) return parse_count(v, &p->n);
    if (!strcmp(key, "d")) return parse_count(v, &p->d);
    if (!strcmp(key, "test")) return parse_count(v, &p->test);
    if (!strcmp(key, "seed")) return parse_seed(v, &p->seed);
    if (!strcmp(key, "kappa")) {
        if (samc_data_parse_num(v, &x) || x < 1) return 0;
        p->kappa = x;
        return 1;
    }
    if (!strcmp(key, "noise")) {
        if (samc_data_parse_num(v, &x) || x < 0) return 0;
        p->noise = x;
        return 1;
    }
    return -1;
}

/* The fields after the problem name: key=value settings. */
static samc_status parse_settings(synth_params *p, char **tok, size_t n, char *err)
{
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(tok[i], '=');
        int ok = 0; /* "key" without "=value" is a bad setting */
        if (eq) {
            *eq = '\0';
            ok = set_key(p, tok[i], eq + 1);
            SAMC_CHECK(ok >= 0, SAMC_EINVAL, "synth: unknown key '%.60s'; " SYNTH_USAGE, tok[i]);
            *eq = '=';
        }
        SAMC_CHECK(ok, SAMC_EINVAL,
                   "synth: bad setting '%.60s' (n, d, test: counts; kappa >= 1; noise >= 0; "
                   "seed: unsigned integer); " SYNTH_USAGE,
                   tok[i]);
    }
    return SAMC_OK;
}

static samc_status parse_spec(synth_params *p, const char *spec, char *err)
{
    *p = (synth_params){.logreg = 0, .n = 100, .d = 100, .test = 0, .kappa = 100, .noise = 0,
                        .seed = 0};
    samc_spec_fields f;
    samc_status st = samc_spec_split(&f, spec, err);
    if (st != SAMC_OK) return st;
    p->logreg = !strcmp(f.tok[0], "logreg");
    if (!p->logreg && strcmp(f.tok[0], "ridge"))
        st = samc_errf(err, SAMC_EINVAL, "synth: unknown problem '%.60s'; " SYNTH_USAGE,
                       f.tok[0]);
    if (st == SAMC_OK) st = parse_settings(p, f.tok + 1, f.n - 1, err);
    samc_spec_fields_free(&f);
    if (st != SAMC_OK) return st;
    SAMC_CHECK(p->n > 0 && p->d > 0, SAMC_EINVAL,
               "synth: n and d must be positive (n=%zu, d=%zu)", p->n, p->d);
    SAMC_CHECK(p->n >= p->d, SAMC_EINVAL,
               "synth: need n >= d for the designed spectrum (n=%zu, d=%zu)", p->n, p->d);
    return SAMC_OK;
}

/* LAPACK (Fortran calling convention), from the linked OpenBLAS. */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);

/*
 * Replace the k columns of q (column-major, m >= k rows each) by the Q of
 * its QR factorization q = QR (Householder, LAPACK dgeqrf + dorgqr), with the
 * signs of the columns chosen so that diag(R) > 0: then Q is the matrix that
 * Gram-Schmidt on the columns gives.  0 if a column is (numerically) in the
 * span of the previous ones, or LAPACK fails.
 */
static int orthonormalize(double *q, size_t m, size_t k)
{
    if (m > INT_MAX || k > INT_MAX) return 0;
    int M = (int)m, K = (int)k, info = 0, lwork = -1;
    double *tau = malloc(k * sizeof *tau), *sign = malloc(k * sizeof *sign), wq = 0, wo = 0;
    double *work = NULL;
    if (tau && sign) { /* workspace queries */
        dgeqrf_(&M, &K, q, &M, tau, &wq, &lwork, &info);
        if (info == 0) dorgqr_(&M, &K, &K, q, &M, tau, &wo, &lwork, &info);
    }
    if (tau && sign && info == 0) {
        double best = wq > wo ? wq : wo;
        lwork = best > K ? (int)best : K;
        work = malloc((size_t)lwork * sizeof *work);
    }
    int ok = work != NULL;
    if (ok) dgeqrf_(&M, &K, q, &M, tau, work, &lwork, &info);
    ok = ok && info == 0;
    for (size_t j = 0; ok && j < k; j++) {
        double r = q[j * m + j];
        ok = fabs(r) > 1e-200 && isfinite(r);
        sign[j] = r < 0 ? -1.0 : 1.0;
    }
    if (ok) dorgqr_(&M, &K, &K, q, &M, tau, work, &lwork, &info);
    ok = ok && info == 0;
    for (size_t j = 0; ok && j < k; j++)
        if (sign[j] < 0)
            for (size_t t = 0; t < m; t++) q[j * m + t] = -q[j * m + t];
    free(tau);
    free(sign);
    free(work);
    return ok;
}

/* Target for feature row a (float) given x*: ridge value or +-1 label. */
static float target(const synth_params *p, const float *a, const double *xs,
                    samc_rng *rng)
{
    double m = 0;
    for (size_t c = 0; c < p->d; c++) m += (double)a[c] * xs[c];
    double e = samc_rng_normal(rng); /* always drawn: keeps the stream aligned */
    m += p->noise * e;
    if (p->logreg) return m >= 0 ? 1.0f : -1.0f;
    return (float)m;
}

/* The generator's working arrays (one block: U, V, lam, xs, then 2d scratch). */
typedef struct synth_work {
    double *U, *V, *lam, *xs, *row;
} synth_work;

/* Training rows: A[r][c] = sum_j U[r][j] s_j V[c][j]. */
static void train_rows(const synth_params *p, const synth_work *w, samc_dataset *tr,
                       samc_rng *rng)
{
    size_t n = p->n, d = p->d;
    double *row = w->row;
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < d; c++) row[c] = 0;
        for (size_t j = 0; j < d; j++) {
            double t = w->U[j * n + r] * sqrt((double)n * w->lam[j]);
            const double *vj = w->V + j * d;
            for (size_t c = 0; c < d; c++) row[c] += t * vj[c];
        }
        float *a = tr->x + r * d;
        for (size_t c = 0; c < d; c++) a[c] = (float)row[c];
        tr->y[r] = target(p, a, w->xs, rng);
    }
}

/* Test rows: a = V diag(sqrt(lambda)) V' g, g ~ N(0, I), Cov(a) = H. */
static void test_rows(const synth_params *p, const synth_work *w, samc_dataset *te,
                      samc_rng *rng)
{
    size_t d = p->d;
    const double *V = w->V;
    double *g = w->row, *t = w->row + d;
    for (size_t r = 0; r < p->test; r++) {
        for (size_t c = 0; c < d; c++) g[c] = samc_rng_normal(rng);
        for (size_t j = 0; j < d; j++) {
            const double *vj = V + j * d;
            double s = 0;
            for (size_t c = 0; c < d; c++) s += vj[c] * g[c];
            t[j] = s * sqrt(w->lam[j]);
        }
        float *a = te->x + r * d;
        for (size_t c = 0; c < d; c++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += V[j * d + c] * t[j];
            a[c] = (float)s;
        }
        te->y[r] = target(p, a, w->xs, rng);
    }
}

/* U, V, the spectrum and x* from one stream (see the top of the file). */
static samc_status draw(const synth_params *p, synth_work *w, samc_rng *rng, char *err)
{
    size_t n = p->n, d = p->d;
    samc_rng_seed(rng, p->seed);
    for (size_t i = 0; i < n * d; i++) w->U[i] = samc_rng_normal(rng);
    for (size_t i = 0; i < d * d; i++) w->V[i] = samc_rng_normal(rng);
    SAMC_CHECK(orthonormalize(w->U, n, d) && orthonormalize(w->V, d, d), SAMC_EINVAL,
               "synth: the QR factorization broke down (n=%zu, d=%zu)", n, d);
    for (size_t i = 0; i < d; i++)
        w->lam[i] = d == 1 ? 1.0 : pow(p->kappa, -(double)i / (double)(d - 1));
    double rd = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < d; i++) w->xs[i] = samc_rng_normal(rng) * rd;
    return SAMC_OK;
}

static samc_status synth_generate(samc_data *data, const synth_params *p, char *err)
{
    size_t n = p->n, d = p->d, m = p->test;
    size_t b1, b2, b3;
    SAMC_CHECK(samc_data_size(n, d, sizeof(double), &b1) &&
                   samc_data_size(d, d, sizeof(double), &b2) &&
                   samc_data_size(m > n ? m : n, d, sizeof(double), &b3) &&
                   b1 / sizeof(double) + b2 / sizeof(double) <= SIZE_MAX / sizeof(double) - 4 * d,
               SAMC_EINVAL, "synth: n=%zu, d=%zu, test=%zu is too large", n, d, m);
    synth_work w;
    w.U = malloc(b1 + b2 + 4 * d * sizeof(double));
    w.V = w.U ? w.U + n * d : NULL;
    w.lam = w.U ? w.V + d * d : NULL;
    w.xs = w.U ? w.lam + d : NULL;
    w.row = w.U ? w.xs + d : NULL;
    samc_dataset *tr = &data->train, *te = &data->test;
    tr->x = malloc(n * d * sizeof(float));
    tr->y = malloc(n * sizeof(float));
    if (m > 0) {
        te->x = malloc(m * d * sizeof(float));
        te->y = malloc(m * sizeof(float));
    }
    samc_status st = SAMC_OK;
    if (!w.U || !tr->x || !tr->y ||
        (m > 0 && (!te->x || !te->y)))
        st = samc_errf(err, SAMC_ENOMEM, "synth: out of memory for n=%zu, d=%zu, test=%zu", n,
                       d, m);
    samc_rng rng;
    if (st == SAMC_OK) st = draw(p, &w, &rng, err);
    if (st == SAMC_OK) {
        train_rows(p, &w, tr, &rng);
        test_rows(p, &w, te, &rng);
        tr->n = n;
        tr->d = d;
        te->n = m;
        te->d = m > 0 ? d : 0;
    }
    free(w.U);
    return st;
}

/* synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S] */
static samc_status synth_load(samc_data_source *src, char *err)
{
    synth_params p;
    samc_status st = parse_spec(&p, src->arg, err);
    if (st == SAMC_OK) st = synth_generate(src->data, &p, err);
    if (st == SAMC_OK)
        snprintf(src->data->name, sizeof src->data->name,
                 "synth:%s,n=%zu,d=%zu,kappa=%g,noise=%g,test=%zu,seed=%llu",
                 p.logreg ? "logreg" : "ridge", p.n, p.d, p.kappa, p.noise, p.test,
                 (unsigned long long)p.seed);
    return st;
}

const samc_data_reader samc_reader_synth = {
    "synth", 0, "synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]", synth_load};
