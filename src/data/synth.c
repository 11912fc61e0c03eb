/*
 * synth.c -- synthetic least-squares / logistic data with a designed spectrum.
 *
 *   A = U diag(s) V'    U: n x d with orthonormal columns, V: d x d orthogonal,
 *                       both by modified Gram-Schmidt (applied twice, "twice
 *                       is enough") of Gaussian matrices drawn from samc_rng;
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
 * then per test row its d Gaussians and one noise draw.  Same seed, same data.
 * Work is in double; A, y are stored as float, and ridge targets are computed
 * from the float-rounded rows so that noise 0 interpolates to float precision.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "samc.h"

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

static samc_status parse_spec(synth_params *p, const char *spec, char *err)
{
    static const char usage[] =
        "expected synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]";
    p->logreg = 0;
    p->n = 100;
    p->d = 100;
    p->test = 0;
    p->kappa = 100;
    p->noise = 0;
    p->seed = 0;

    char *buf = strdup(spec);
    if (!buf) {
        samc_data_errf(err, "out of memory");
        return SAMC_ENOMEM;
    }
    samc_status st = SAMC_OK;
    char *s = buf;
    for (int first = 1; st == SAMC_OK; first = 0) {
        char *c = strchr(s, ',');
        if (c) *c = '\0';
        if (first) {
            if (!strcmp(s, "ridge")) p->logreg = 0;
            else if (!strcmp(s, "logreg")) p->logreg = 1;
            else {
                samc_data_errf(err, "synth: unknown problem '%.60s'; %s", s, usage);
                st = SAMC_EINVAL;
            }
        } else {
            char *eq = strchr(s, '=');
            const char *v = eq ? eq + 1 : "";
            if (eq) *eq = '\0';
            int ok = eq != NULL;
            double x = 0;
            if (!eq) {
                /* "key" without "=value": reported below */
            } else if (!strcmp(s, "n")) ok = parse_count(v, &p->n);
            else if (!strcmp(s, "d")) ok = parse_count(v, &p->d);
            else if (!strcmp(s, "test")) ok = parse_count(v, &p->test);
            else if (!strcmp(s, "seed")) ok = parse_seed(v, &p->seed);
            else if (!strcmp(s, "kappa")) {
                ok = !samc_data_parse_num(v, &x) && x >= 1;
                if (ok) p->kappa = x;
            } else if (!strcmp(s, "noise")) {
                ok = !samc_data_parse_num(v, &x) && x >= 0;
                if (ok) p->noise = x;
            } else {
                samc_data_errf(err, "synth: unknown key '%.60s'; %s", s, usage);
                st = SAMC_EINVAL;
                break;
            }
            if (!ok) {
                if (eq) *eq = '=';
                samc_data_errf(err,
                               "synth: bad setting '%.60s' (n, d, test: counts; kappa >= "
                               "1; noise >= 0; seed: unsigned integer); %s",
                               s, usage);
                st = SAMC_EINVAL;
            }
        }
        if (!c) break;
        s = c + 1;
    }
    free(buf);
    if (st != SAMC_OK) return st;
    if (p->n == 0 || p->d == 0) {
        samc_data_errf(err, "synth: n and d must be positive (n=%zu, d=%zu)", p->n, p->d);
        return SAMC_EINVAL;
    }
    if (p->n < p->d) {
        samc_data_errf(err, "synth: need n >= d for the designed spectrum (n=%zu, d=%zu)",
                       p->n, p->d);
        return SAMC_EINVAL;
    }
    return SAMC_OK;
}

/* Orthonormalize the k columns of q (column-major, m rows each) in place by
 * modified Gram-Schmidt, each column projected twice.  0 if a column vanished. */
static int mgs(double *q, size_t m, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double *qj = q + j * m;
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < j; i++) {
                const double *qi = q + i * m;
                double r = 0;
                for (size_t t = 0; t < m; t++) r += qi[t] * qj[t];
                for (size_t t = 0; t < m; t++) qj[t] -= r * qi[t];
            }
        double nrm = 0;
        for (size_t t = 0; t < m; t++) nrm += qj[t] * qj[t];
        nrm = sqrt(nrm);
        if (!(nrm > 1e-200) || !isfinite(nrm)) return 0;
        for (size_t t = 0; t < m; t++) qj[t] /= nrm;
    }
    return 1;
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

samc_status samc_synth_load(samc_data *data, const char *spec, char *err)
{
    synth_params p;
    samc_status st = parse_spec(&p, spec, err);
    if (st != SAMC_OK) return st;

    size_t n = p.n, d = p.d, m = p.test;
    size_t b1, b2, b3;
    if (!samc_data_size(n, d, sizeof(double), &b1) ||
        !samc_data_size(d, d, sizeof(double), &b2) ||
        !samc_data_size(m > n ? m : n, d, sizeof(double), &b3)) {
        samc_data_errf(err, "synth: n=%zu, d=%zu, test=%zu is too large", n, d, m);
        return SAMC_EINVAL;
    }

    double *U = malloc(n * d * sizeof *U);
    double *V = malloc(d * d * sizeof *V);
    double *lam = malloc(d * sizeof *lam);
    double *xs = malloc(d * sizeof *xs);
    double *row = malloc(2 * d * sizeof *row); /* accumulator / scratch */
    samc_dataset *tr = &data->train, *te = &data->test;
    tr->x = malloc(n * d * sizeof(float));
    tr->y = malloc(n * sizeof(float));
    if (m > 0) {
        te->x = malloc(m * d * sizeof(float));
        te->y = malloc(m * sizeof(float));
    }
    if (!U || !V || !lam || !xs || !row || !tr->x || !tr->y ||
        (m > 0 && (!te->x || !te->y))) {
        samc_data_errf(err, "synth: out of memory for n=%zu, d=%zu, test=%zu", n, d, m);
        st = SAMC_ENOMEM;
        goto done;
    }

    samc_rng rng;
    samc_rng_seed(&rng, p.seed);
    for (size_t i = 0; i < n * d; i++) U[i] = samc_rng_normal(&rng);
    for (size_t i = 0; i < d * d; i++) V[i] = samc_rng_normal(&rng);
    if (!mgs(U, n, d) || !mgs(V, d, d)) {
        samc_data_errf(err, "synth: Gram-Schmidt broke down (n=%zu, d=%zu)", n, d);
        st = SAMC_EINVAL;
        goto done;
    }
    for (size_t i = 0; i < d; i++)
        lam[i] = d == 1 ? 1.0 : pow(p.kappa, -(double)i / (double)(d - 1));
    double rd = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < d; i++) xs[i] = samc_rng_normal(&rng) * rd;

    /* Training rows: A[r][c] = sum_j U[r][j] s_j V[c][j]. */
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < d; c++) row[c] = 0;
        for (size_t j = 0; j < d; j++) {
            double t = U[j * n + r] * sqrt((double)n * lam[j]);
            const double *vj = V + j * d;
            for (size_t c = 0; c < d; c++) row[c] += t * vj[c];
        }
        float *a = tr->x + r * d;
        for (size_t c = 0; c < d; c++) a[c] = (float)row[c];
        tr->y[r] = target(&p, a, xs, &rng);
    }
    /* Test rows: a = V diag(sqrt(lambda)) V' g, g ~ N(0, I), Cov(a) = H. */
    double *g = row, *t = row + d;
    for (size_t r = 0; r < m; r++) {
        for (size_t c = 0; c < d; c++) g[c] = samc_rng_normal(&rng);
        for (size_t j = 0; j < d; j++) {
            const double *vj = V + j * d;
            double s = 0;
            for (size_t c = 0; c < d; c++) s += vj[c] * g[c];
            t[j] = s * sqrt(lam[j]);
        }
        float *a = te->x + r * d;
        for (size_t c = 0; c < d; c++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += V[j * d + c] * t[j];
            a[c] = (float)s;
        }
        te->y[r] = target(&p, a, xs, &rng);
    }
    tr->n = n;
    tr->d = d;
    if (m > 0) {
        te->n = m;
        te->d = d;
    }
    snprintf(data->name, sizeof data->name,
             "synth:%s,n=%zu,d=%zu,kappa=%g,noise=%g,test=%zu,seed=%llu",
             p.logreg ? "logreg" : "ridge", n, d, p.kappa, p.noise, m,
             (unsigned long long)p.seed);

done:
    free(U);
    free(V);
    free(lam);
    free(xs);
    free(row);
    if (st != SAMC_OK) {
        samc_dataset_free(tr);
        samc_dataset_free(te);
    }
    return st;
}
