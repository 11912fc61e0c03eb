/*
 * test_theory.c -- the convergence results of docs/MATH.md section 2, measured.
 *
 * For USAM with the deterministic SAM Polyak step on an L-smooth convex f,
 * with rho <= 1/L (derivation in the comments of each test):
 *     ||x_{t+1} - x*||^2 <= ||x_t - x*||^2 - (1 - L rho)^2 (f(x_t) - f*) / (2L)
 * hence, if f is mu-strongly convex, a linear rate
 *     ||x_{t+1} - x*||^2 <= (1 - (1 - L rho)^2 mu / (4L)) ||x_t - x*||^2,
 * and, if only convex, min_{t<T} f(x_t) - f* <= 2 L R^2 / ((1 - L rho)^2 T).
 * Stochastic: exact convergence under interpolation, a neighborhood otherwise.
 * Normalized SAM with fixed rho: stalls at f - f* of order rho^2 L / 2.
 */
#include "testutil.h"
#include "reflinalg.h"

/* ---- a least-squares problem from the synthetic generator ---- */

typedef struct ridge {
    samc_data data;
    samc_model *m;
    size_t n, d;
    double *xstar;  /* minimizer, from the normal equations in double */
    double fstar;
    double L, mu;   /* extreme eigenvalues of H = A'A/n */
    samc_model_batch batch;  /* the oracle's batch: all rows unless a run sets idx, nb */
} ridge;

/* f on all rows. */
static double ridge_f(ridge *r, const float *x)
{
    double f;
    samc_model_batch all = { r->m, &r->data.train, NULL, r->n, 1.0, SAMC_OK, 0 };
    samc_oracle o = samc_model_oracle(&all);
    assert_int_equal(o.loss_grad(o.user, x, NULL, &f, 1), 0);
    return f;
}

static void ridge_open(ridge *r, const char *spec)
{
    memset(r, 0, sizeof *r);
    samc_errbuf err;
    assert_int_equal(samc_data_load(&r->data, spec, err), SAMC_OK);
    const samc_dataset *ds = &r->data.train;
    r->n = ds->n;
    r->d = ds->d;
    assert_int_equal(samc_model_create(&r->m, "linear", r->d, 0, 0.0, 0, err), SAMC_OK);
    r->batch = (samc_model_batch){ r->m, ds, NULL, r->n, 1.0, SAMC_OK, 0 };
    size_t n = r->n, d = r->d;
    double *H = calloc(d * d, sizeof *H), *C = malloc(d * d * sizeof *C), *v = malloc(d * sizeof *v);
    r->xstar = calloc(d, sizeof *r->xstar);
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < d; a++) {
            double xa = ds->x[i * d + a];
            r->xstar[a] += xa * ds->y[i] / (double)n;
            for (size_t b = 0; b < d; b++) H[a * d + b] += xa * ds->x[i * d + b] / (double)n;
        }
    memcpy(C, H, d * d * sizeof *H);
    assert_int_equal(ref_cholesky(C, d), 0);
    ref_chol_solve(C, d, r->xstar);
    /* f* in double at the double minimizer */
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double e = -ds->y[i];
        for (size_t a = 0; a < d; a++) e += ds->x[i * d + a] * r->xstar[a];
        f += 0.5 * e * e / (double)n;
    }
    r->fstar = f;
    /* L by power iteration, mu by inverse power iteration */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t a = 0; a < d; a++) v[a] = 1.0 + 0.01 * (double)a;
        double lam = 0;
        for (int it = 0; it < 3000; it++) {
            double nr = 0;
            for (size_t a = 0; a < d; a++) nr += v[a] * v[a];
            nr = sqrt(nr);
            for (size_t a = 0; a < d; a++) v[a] /= nr;
            double *w = calloc(d, sizeof *w);
            if (pass == 0) {
                for (size_t a = 0; a < d; a++)
                    for (size_t b = 0; b < d; b++) w[a] += H[a * d + b] * v[b];
            } else {
                memcpy(w, v, d * sizeof *w);
                ref_chol_solve(C, d, w);
            }
            lam = 0;
            for (size_t a = 0; a < d; a++) lam += v[a] * w[a];
            memcpy(v, w, d * sizeof *w);
            free(w);
        }
        if (pass == 0) r->L = lam;
        else r->mu = 1.0 / lam;
    }
    free(H);
    free(C);
    free(v);
}

static void ridge_close(ridge *r)
{
    samc_model_free(r->m);
    samc_data_free(&r->data);
    free(r->xstar);
}

static double dist2(const ridge *r, const float *x)
{
    double s = 0;
    for (size_t a = 0; a < r->d; a++) s += (x[a] - r->xstar[a]) * (x[a] - r->xstar[a]);
    return s;
}

static samc_optim *make_opt(size_t n, samc_opt_kind kind, double cap, double lb)
{
    samc_optim_params p = samc_optim_default_params();
    p.kind = kind;
    p.rule = SAMC_STEP_POLYAK;
    p.polyak_cap = cap;
    p.polyak_lb = lb;
    samc_optim *o;
    assert_int_equal(samc_optim_init(&o, n, &p, NULL), SAMC_OK);
    return o;
}

/* Least-squares slope of y against 0..k-1. */
static double slope(const double *y, int k)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < k; i++) {
        sx += i;
        sy += y[i];
        sxx += (double)i * i;
        sxy += i * y[i];
    }
    return (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

/* Strongly convex, interpolated (n = d = 100, kappa = 100), rho = 1/(2L):
 * the deterministic USAM Polyak scheduler contracts ||x - x*||^2 by at least
 * q = 1 - (1 - L rho)^2 mu / (4L) every step, the fitted slope of
 * log(f - f*) is at least as steep as log q, and f - f* falls below 1e-10
 * of its start. */
static void test_linear_rate_strongly_convex(void **state)
{
    (void)state;
    ridge r;
    ridge_open(&r, "synth:ridge,n=100,d=100,kappa=100,noise=0,seed=1");
    assert_close(r.fstar, 0.0, 0, 1e-12);
    assert_close(r.L, 1.0, 1e-3, 0);
    assert_close(r.L / r.mu, 100.0, 1e-2, 0);
    const double rho = 1.0 / (2.0 * r.L);
    const double q = 1.0 - (1.0 - r.L * rho) * (1.0 - r.L * rho) * r.mu / (4.0 * r.L);
    samc_oracle o = samc_model_oracle(&r.batch);
    samc_optim *opt = make_opt(r.d, SAMC_OPT_USAM, INFINITY, 0.0);
    float *x = calloc(r.d, sizeof *x);
    const double f0 = ridge_f(&r, x);
    const int T_bound = (int)ceil(log(1e10) / -log(q)) + 1;
    double *logf = malloc((size_t)T_bound * sizeof *logf);
    int t = 0, worst_t = -1;
    double worst = 0;
    for (; t < T_bound; t++) {
        double before = dist2(&r, x);
        samc_step_info info;
        assert_int_equal(samc_optim_step(opt, &o, x, 0, rho, &info), SAMC_OK);
        logf[t] = log(info.loss - r.fstar);
        double ratio = dist2(&r, x) / before;
        if (ratio > worst) worst = ratio, worst_t = t;
        if (info.loss - r.fstar < 1e-10 * f0) break;
    }
    print_message("linear rate: %d steps to 1e-10 (bound %d); worst contraction %.6f at t=%d "
                  "(bound %.6f); fitted rate %.6f\n",
                  t + 1, T_bound, worst, worst_t, q, exp(slope(logf, t + 1)));
    assert_true(t < T_bound);               /* reached 1e-10 within the bound's horizon */
    assert_true(worst <= q * (1 + 1e-6));   /* every step contracts at least by q */
    assert_true(exp(slope(logf, t + 1)) <= q);
    free(logf);
    free(x);
    samc_optim_free(opt);
    ridge_close(&r);
}

/* Convex, not strongly convex in practice: f = 1/2 sum h_i (x_i - 1)^2 with
 * h_i = 1/i^2, i = 1..1000 (L = 1, mu = 1e-6).  Per step the distance
 * inequality holds, and T min_{t<T} (f - f*) stays below 2 L R^2/(1-L rho)^2
 * and of the same size over three decades of T (an O(1/T) decay). */
typedef struct diagq { size_t n; double *h; } diagq;
static int diag_loss_grad(void *u, const float *x, float *g, double *loss, int pass)
{
    (void)pass;
    diagq *q = u;
    double f = 0;
    for (size_t i = 0; i < q->n; i++) {
        double e = x[i] - 1.0;
        f += 0.5 * q->h[i] * e * e;
        if (g) g[i] = (float)(q->h[i] * e);
    }
    *loss = f;
    return 0;
}

static void test_sublinear_rate_convex(void **state)
{
    (void)state;
    const size_t n = 1000;
    diagq q = { n, malloc(n * sizeof(double)) };
    for (size_t i = 0; i < n; i++) q.h[i] = 1.0 / ((i + 1.0) * (i + 1.0));
    const double L = 1.0, rho = 0.5, R2 = (double)n;
    samc_oracle o = { .n = n, .loss_grad = diag_loss_grad, .user = &q };
    samc_optim *opt = make_opt(n, SAMC_OPT_USAM, INFINITY, 0.0);
    float *x = calloc(n, sizeof *x);
    double fmin = INFINITY, tm[4] = { 0 };
    for (int t = 1; t <= 1000; t++) {
        double d0 = 0, d1 = 0;
        for (size_t i = 0; i < n; i++) d0 += (x[i] - 1.0) * (x[i] - 1.0);
        samc_step_info info;
        assert_int_equal(samc_optim_step(opt, &o, x, 0, rho, &info), SAMC_OK);
        for (size_t i = 0; i < n; i++) d1 += (x[i] - 1.0) * (x[i] - 1.0);
        assert_true(d1 <= d0 - (1 - L * rho) * (1 - L * rho) * info.loss / (2 * L) + 1e-6 * d0);
        fmin = fmin < info.loss ? fmin : info.loss;
        if (t == 1 || t == 10 || t == 100 || t == 1000) {
            double tf = t * fmin;
            tm[t == 1 ? 0 : t == 10 ? 1 : t == 100 ? 2 : 3] = tf;
            assert_true(tf <= 2 * L * R2 / ((1 - L * rho) * (1 - L * rho)));
        }
    }
    print_message("sublinear: T min f = %.4g %.4g %.4g %.4g at T = 1, 10, 100, 1000\n", tm[0], tm[1], tm[2], tm[3]);
    /* bounded, and not decaying faster than 1/T either: same order throughout */
    for (int k = 1; k < 4; k++) assert_true(tm[k] > 0.2 * tm[0] && tm[k] < 5 * tm[0]);
    free(x);
    free(q.h);
    samc_optim_free(opt);
}

/* Stochastic Polyak (l* = 0, gamma_b = 1) with batches of 10 (n > d in the
 * noisy runs: with n = d any targets are interpolated) from a fixed
 * shuffle; returns the mean of f - f* over the last `tail` steps. */
static double stochastic_run(ridge *r, samc_opt_kind kind, double rho, int steps, int tail, uint64_t seed)
{
    samc_oracle o = samc_model_oracle(&r->batch);
    samc_optim *opt = make_opt(r->d, kind, 1.0, 0.0);
    float *x = calloc(r->d, sizeof *x);
    size_t *perm = malloc(r->n * sizeof *perm);
    for (size_t i = 0; i < r->n; i++) perm[i] = i;
    samc_rng rng;
    samc_rng_seed(&rng, seed);
    r->batch.nb = 10;
    double acc = 0;
    for (int t = 0; t < steps; t++) {
        size_t k = (size_t)t % (r->n / r->batch.nb);
        if (k == 0) samc_rng_shuffle(&rng, perm, r->n);
        r->batch.idx = perm + k * r->batch.nb;
        assert_int_equal(samc_optim_step(opt, &o, x, 0, rho, NULL), SAMC_OK);
        if (t >= steps - tail) acc += ridge_f(r, x) - r->fstar;
    }
    free(perm);
    free(x);
    samc_optim_free(opt);
    return acc / tail;
}

static void test_stochastic_interpolation_exact(void **state)
{
    (void)state;
    ridge r;
    ridge_open(&r, "synth:ridge,n=100,d=100,kappa=100,noise=0,seed=2");
    float *zero = calloc(r.d, sizeof *zero);
    double f0 = ridge_f(&r, zero);
    double gap = stochastic_run(&r, SAMC_OPT_USAM, 0.01, 20000, 100, 7);
    print_message("stochastic, interpolated: mean f - f* over the last 100 steps = %.3g (f0 %.3g)\n", gap, f0);
    assert_true(gap < 1e-8 * f0);
    free(zero);
    ridge_close(&r);
}

static void test_stochastic_noise_neighborhood(void **state)
{
    (void)state;
    const double noise[3] = { 0.0, 0.1, 1.0 };
    double gap[3], f0[3];
    for (int k = 0; k < 3; k++) {
        char spec[128];
        snprintf(spec, sizeof spec, "synth:ridge,n=300,d=50,kappa=100,noise=%g,seed=3", noise[k]);
        ridge r;
        ridge_open(&r, spec);
        float *zero = calloc(r.d, sizeof *zero);
        f0[k] = ridge_f(&r, zero) - r.fstar;
        gap[k] = stochastic_run(&r, SAMC_OPT_USAM, 0.01, 6000, 1000, 7) / f0[k];
        free(zero);
        ridge_close(&r);
    }
    print_message("stochastic: relative neighborhood %.3g / %.3g / %.3g at noise 0 / 0.1 / 1\n", gap[0], gap[1], gap[2]);
    assert_true(gap[0] < 1e-6);          /* interpolation: (near) exact */
    assert_true(gap[1] > 10 * gap[0]);   /* noise: a neighborhood ... */
    assert_true(gap[2] > 2 * gap[1]);    /* ... that grows with the noise */
}

/* Normalized SAM (lambda = 1) with fixed rho and the deterministic Polyak
 * step stops once f - f* <= d'Hd/2 <= rho^2 L / 2: a plateau of that order,
 * shrinking like rho^2, while USAM at the same rho converges. */
static double sam_plateau(ridge *r, samc_opt_kind kind, double rho, int steps, double *drift)
{
    samc_oracle o = samc_model_oracle(&r->batch);
    samc_optim *opt = make_opt(r->d, kind, INFINITY, r->fstar);
    float *x = calloc(r->d, sizeof *x);
    double f_mid = 0;
    for (int t = 0; t < steps; t++) {
        samc_optim_step(opt, &o, x, 0, rho, NULL);
        if (t == steps / 2) f_mid = ridge_f(r, x) - r->fstar;
    }
    double f = ridge_f(r, x) - r->fstar;
    *drift = (f_mid - f) / f_mid;
    free(x);
    samc_optim_free(opt);
    return f;
}

static void test_sam_fixed_rho_stalls(void **state)
{
    (void)state;
    ridge r;
    ridge_open(&r, "synth:ridge,n=100,d=100,kappa=100,noise=0,seed=4");
    double drift, drift2, du;
    double p1 = sam_plateau(&r, SAMC_OPT_SAM, 0.1, 4000, &drift);
    double p2 = sam_plateau(&r, SAMC_OPT_SAM, 0.05, 4000, &drift2);
    double u = sam_plateau(&r, SAMC_OPT_USAM, 0.1, 4000, &du);
    float *zero = calloc(r.d, sizeof *zero);
    double f0 = ridge_f(&r, zero);
    print_message("SAM plateau: %.4g at rho 0.1 (rho^2 L/2 = %.4g), %.4g at rho 0.05; USAM %.3g\n",
                  p1, 0.01 * r.L / 2, p2, u);
    assert_true(p1 <= 0.1 * 0.1 * r.L / 2 * (1 + 1e-6));
    assert_true(p1 >= 0.1 * 0.1 * r.mu / 2 * 0.1);  /* not 0: a neighborhood */
    assert_true(drift < 1e-3 && drift2 < 1e-3);     /* stalled: no progress in the second half */
    assert_true(p1 / p2 > 2 && p1 / p2 < 8);        /* scales like rho^2 */
    assert_true(u < 1e-10 * f0);                    /* USAM, same rho: exact */
    free(zero);
    ridge_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_rate_strongly_convex),
        cmocka_unit_test(test_sublinear_rate_convex),
        cmocka_unit_test(test_stochastic_interpolation_exact),
        cmocka_unit_test(test_stochastic_noise_neighborhood),
        cmocka_unit_test(test_sam_fixed_rho_stalls),
    };
    return cmocka_run_group_tests_name("theory", tests, NULL, NULL);
}
