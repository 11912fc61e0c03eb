/*
 * test_optim.c -- the SAM-family step and the Polyak step-size rules against
 * closed forms (docs/MATH.md sections 1-2).
 */
#include "testutil.h"

/* ---- helpers: a random SPD quadratic and a run of k steps ---- */

typedef struct qprob {
    size_t n;
    double *H, *b, *xstar;
    double fstar;
    samc_quad q;
} qprob;

/* H = Q diag(lam) Q' with Q from Gram-Schmidt of a Gaussian matrix;
 * x* ~ N(0,1); b = H x*; c chosen so that f* = fstar. */
static qprob *qprob_new(size_t n, double lmin, double lmax, double fstar, uint64_t seed)
{
    qprob *p = calloc(1, sizeof *p);
    samc_rng r;
    samc_rng_seed(&r, seed);
    double *Q = malloc(n * n * sizeof *Q);
    for (size_t i = 0; i < n * n; i++) Q[i] = samc_rng_normal(&r);
    for (size_t j = 0; j < n; j++) { /* columns */
        for (size_t k = 0; k < j; k++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++) dot += Q[i * n + j] * Q[i * n + k];
            for (size_t i = 0; i < n; i++) Q[i * n + j] -= dot * Q[i * n + k];
        }
        double nr = 0;
        for (size_t i = 0; i < n; i++) nr += Q[i * n + j] * Q[i * n + j];
        nr = sqrt(nr);
        for (size_t i = 0; i < n; i++) Q[i * n + j] /= nr;
    }
    p->n = n;
    p->H = calloc(n * n, sizeof *p->H);
    p->b = calloc(n, sizeof *p->b);
    p->xstar = calloc(n, sizeof *p->xstar);
    for (size_t k = 0; k < n; k++) {
        double lam = n == 1 ? lmax : lmax * pow(lmin / lmax, (double)k / (double)(n - 1));
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) p->H[i * n + j] += lam * Q[i * n + k] * Q[j * n + k];
    }
    for (size_t i = 0; i < n; i++) p->xstar[i] = samc_rng_normal(&r);
    double xhx = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) p->b[i] += p->H[i * n + j] * p->xstar[j];
        xhx += p->xstar[i] * p->b[i];
    }
    p->fstar = fstar;
    p->q = (samc_quad){ n, p->H, p->b, fstar + 0.5 * xhx };
    free(Q);
    return p;
}

static void qprob_free(qprob *p)
{
    free(p->H);
    free(p->b);
    free(p->xstar);
    free(p);
}

static void random_x(float *x, size_t n, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)samc_rng_normal(&r);
}

/* Runs k steps from x with params p; returns the status of the last. */
static samc_status run(const samc_optim_params *p, samc_oracle *o, float *x, int k,
                       double eta, double rho, samc_step_info *info)
{
    samc_optim *opt;
    assert_int_equal(samc_optim_init(&opt, o->n, p, NULL), SAMC_OK);
    samc_status s = SAMC_OK;
    for (int t = 0; t < k && s == SAMC_OK; t++) s = samc_optim_step(opt, o, x, eta, rho, info);
    samc_optim_free(opt);
    return s;
}

static samc_optim_params params(samc_opt_kind kind, samc_step_rule rule)
{
    samc_optim_params p = samc_optim_default_params();
    p.kind = kind;
    p.rule = rule;
    return p;
}

/* ---- closed forms ---- */

/* Deterministic Polyak on f = a x^2/2 (f* = 0, no cap): gamma = 1/(2a), so x halves. */
static void test_polyak_halves_1d(void **state)
{
    (void)state;
    const double as[] = { 0.1, 1.0, 7.5 };
    for (int k = 0; k < 3; k++) {
        double H = as[k], b = 0.0;
        samc_quad q = { 1, &H, &b, 0.0 };
        samc_oracle o = samc_quad_oracle(&q);
        samc_optim_params p = params(SAMC_OPT_SGD, SAMC_STEP_POLYAK);
        p.polyak_cap = INFINITY;
        samc_optim *opt;
        assert_int_equal(samc_optim_init(&opt, 1, &p, NULL), SAMC_OK);
        float x = 3.0f;
        for (int t = 0; t < 40; t++) {
            float before = x;
            samc_step_info info;
            assert_int_equal(samc_optim_step(opt, &o, &x, 0.0, 0.0, &info), SAMC_OK);
            assert_close(info.step, 1.0 / (2.0 * as[k]), 1e-6, 0);
            assert_close(x, before / 2.0f, 1e-6, 0);
        }
        samc_optim_free(opt);
    }
}

/* USAM + deterministic Polyak on f = a x^2/2: N = a x^2 (1+rho a)(1-rho a)/2,
 * gamma = (1 - rho a)/(2a(1 + rho a)), so x_{t+1} = x_t (1 + rho a)/2. */
static void test_polyak_usam_1d_contraction(void **state)
{
    (void)state;
    double a = 2.0, b = 0.0, rho = 0.2;
    samc_quad q = { 1, &a, &b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    samc_optim_params p = params(SAMC_OPT_USAM, SAMC_STEP_POLYAK);
    p.polyak_cap = INFINITY;
    samc_optim *opt;
    assert_int_equal(samc_optim_init(&opt, 1, &p, NULL), SAMC_OK);
    float x = 1.0f;
    double expect = 1.0;
    for (int t = 0; t < 20; t++) {
        samc_step_info info;
        assert_int_equal(samc_optim_step(opt, &o, &x, 0.0, rho, &info), SAMC_OK);
        assert_close(info.step, (1 - rho * a) / (2 * a * (1 + rho * a)), 1e-6, 0);
        expect *= (1 + rho * a) / 2;
        assert_close(x, expect, 1e-5, 0);
    }
    samc_optim_free(opt);
}

/* SPS_max with c = 0.5 on f = a x^2/2 steps straight to 0; a cap below it
 * gives x (1 - cap a). */
static void test_sps_c_and_cap(void **state)
{
    (void)state;
    double a = 4.0, b = 0.0;
    samc_quad q = { 1, &a, &b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    samc_optim_params p = params(SAMC_OPT_SGD, SAMC_STEP_POLYAK);
    p.polyak_c = 0.5;
    p.polyak_cap = 10.0;
    float x = 1.5f;
    samc_step_info info;
    assert_int_equal(run(&p, &o, &x, 1, 0, 0, &info), SAMC_OK);
    assert_close(info.step, 1.0 / a, 1e-6, 0);
    assert_close(x, 0.0, 0, 1e-6);
    p.polyak_cap = 0.05;
    x = 1.5f;
    assert_int_equal(run(&p, &o, &x, 1, 0, 0, &info), SAMC_OK);
    assert_close(info.step, 0.05, 1e-12, 0);
    assert_close(x, 1.5 * (1 - 0.05 * a), 1e-6, 0);
}

/* GSAM with alpha = 0 is SAM, step for step. */
static void test_gsam_alpha0_is_sam(void **state)
{
    (void)state;
    qprob *qp = qprob_new(8, 0.1, 3.0, 0.5, 11);
    samc_oracle o = samc_quad_oracle(&qp->q);
    float x1[8], x2[8];
    random_x(x1, 8, 5);
    memcpy(x2, x1, sizeof x1);
    samc_optim_params ps = params(SAMC_OPT_SAM, SAMC_STEP_POLYAK);
    samc_optim_params pg = params(SAMC_OPT_GSAM, SAMC_STEP_POLYAK);
    pg.alpha = 0.0;
    run(&ps, &o, x1, 25, 0.1, 0.05, NULL);
    run(&pg, &o, x2, 25, 0.1, 0.05, NULL);
    assert_memory_equal(x1, x2, sizeof x1);
    qprob_free(qp);
}

/* GSAM with alpha > 0 matches u = gp - alpha (g - <g,gp>/||gp||^2 gp)
 * computed here in double from the closed-form gradients. */
static void test_gsam_direction(void **state)
{
    (void)state;
    enum { N = 6 };
    qprob *qp = qprob_new(N, 0.2, 2.0, 0.0, 3);
    samc_oracle o = samc_quad_oracle(&qp->q);
    float x[N];
    random_x(x, N, 9);
    double rho = 0.3, alpha = 0.4, eta = 0.1;
    double g[N], xp[N], gp[N], gn = 0, gg = 0, gpgp = 0;
    for (int i = 0; i < N; i++) {
        g[i] = -qp->b[i];
        for (int j = 0; j < N; j++) g[i] += qp->H[i * N + j] * x[j];
        gn += g[i] * g[i];
    }
    gn = sqrt(gn);
    for (int i = 0; i < N; i++) xp[i] = x[i] + rho * g[i] / gn;
    for (int i = 0; i < N; i++) {
        gp[i] = -qp->b[i];
        for (int j = 0; j < N; j++) gp[i] += qp->H[i * N + j] * xp[j];
        gg += g[i] * gp[i];
        gpgp += gp[i] * gp[i];
    }
    double expect[N], perp_dot = 0;
    for (int i = 0; i < N; i++) {
        double perp = g[i] - gg / gpgp * gp[i];
        perp_dot += perp * gp[i];
        expect[i] = x[i] - eta * (gp[i] - alpha * perp);
    }
    assert_close(perp_dot, 0.0, 0, 1e-9);
    samc_optim_params p = params(SAMC_OPT_GSAM, SAMC_STEP_SCHEDULED);
    p.alpha = alpha;
    run(&p, &o, x, 1, eta, rho, NULL);
    for (int i = 0; i < N; i++) assert_close(x[i], expect[i], 1e-5, 1e-6);
    /* and alpha > 0 really changes the step */
    float y[N];
    random_x(y, N, 9);
    p.alpha = 0;
    run(&p, &o, y, 1, eta, rho, NULL);
    double diff = 0;
    for (int i = 0; i < N; i++) diff += fabs((double)x[i] - y[i]);
    assert_true(diff > 1e-4);
    qprob_free(qp);
}

/* SAM with rho = 0 is SGD (bitwise), with a scheduled step and with Polyak. */
static void test_sam_rho0_is_sgd(void **state)
{
    (void)state;
    qprob *qp = qprob_new(10, 0.05, 1.0, 0.2, 4);
    samc_oracle o = samc_quad_oracle(&qp->q);
    for (int rule = 0; rule < 2; rule++) {
        float x1[10], x2[10];
        random_x(x1, 10, 1);
        memcpy(x2, x1, sizeof x1);
        samc_optim_params ps = params(SAMC_OPT_SAM, rule ? SAMC_STEP_POLYAK : SAMC_STEP_SCHEDULED);
        samc_optim_params pg = params(SAMC_OPT_SGD, ps.rule);
        ps.momentum = pg.momentum = 0.9;
        run(&ps, &o, x1, 30, 0.5, 0.0, NULL);
        run(&pg, &o, x2, 30, 0.5, 0.0, NULL);
        assert_memory_equal(x1, x2, sizeof x1);
    }
    qprob_free(qp);
}

/* The unified perturbation at lambda = 0 is USAM and at lambda = 1 is SAM. */
static void test_unified_endpoints(void **state)
{
    (void)state;
    enum { N = 12 };
    qprob *qp = qprob_new(N, 0.1, 2.0, 0.0, 8);
    samc_oracle o = samc_quad_oracle(&qp->q);
    const samc_opt_kind ends[2] = { SAMC_OPT_USAM, SAMC_OPT_SAM };
    for (int lam = 0; lam <= 1; lam++) {
        float x1[N], x2[N];
        random_x(x1, N, 2);
        memcpy(x2, x1, sizeof x1);
        samc_optim_params pu = params(SAMC_OPT_UNIFIED, SAMC_STEP_POLYAK);
        pu.lambda = lam;
        samc_optim_params pe = params(ends[lam], SAMC_STEP_POLYAK);
        run(&pu, &o, x1, 20, 0, 0.1, NULL);
        run(&pe, &o, x2, 20, 0, 0.1, NULL);
        for (int i = 0; i < N; i++) assert_close(x1[i], x2[i], 1e-6, 1e-7);
    }
    /* and lambda = 0.5 is neither */
    float x1[N], x2[N];
    random_x(x1, N, 2);
    memcpy(x2, x1, sizeof x1);
    samc_optim_params pu = params(SAMC_OPT_UNIFIED, SAMC_STEP_POLYAK);
    pu.lambda = 0.5;
    samc_optim_params pe = params(SAMC_OPT_SAM, SAMC_STEP_POLYAK);
    run(&pu, &o, x1, 1, 0, 0.1, NULL);
    run(&pe, &o, x2, 1, 0, 0.1, NULL);
    assert_true(fabs((double)x1[0] - x2[0]) > 1e-6);
    qprob_free(qp);
}

/* For f = 1/2 x'Hx - b'x + c: fp - f* - <gp, d> = f(x) - f* - d'Hd/2 exactly,
 * for every perturbation. */
static void test_quadratic_numerator_identity(void **state)
{
    (void)state;
    enum { N = 7 };
    qprob *qp = qprob_new(N, 0.3, 5.0, 1.25, 21);
    samc_oracle o = samc_quad_oracle(&qp->q);
    const samc_opt_kind kinds[] = { SAMC_OPT_USAM, SAMC_OPT_SAM, SAMC_OPT_UNIFIED, SAMC_OPT_ASAM, SAMC_OPT_GSAM };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        float x[N], g[N], d[N];
        random_x(x, N, 30 + k);
        samc_optim_params p = params(kinds[k], SAMC_STEP_POLYAK);
        p.lambda = 0.3;
        p.polyak_lb = qp->fstar;
        double f;
        o.loss_grad(o.user, x, g, &f, 1);
        double rho = 0.4;
        samc_perturbation(&p, x, g, rho, d, N);
        double dhd = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) dhd += (double)d[i] * qp->H[i * N + j] * (double)d[j];
        assert_true(dhd > 1e-3);
        samc_step_info info;
        run(&p, &o, x, 1, 0, rho, &info);
        assert_close(info.loss, f, 1e-12, 0);
        assert_close(info.numerator, f - qp->fstar - 0.5 * dhd, 1e-5, 1e-5);
    }
    qprob_free(qp);
}

/* Perturbation geometry: SAM ||d|| = rho; USAM d = rho g; ASAM ||d / T|| = rho. */
static void test_perturbation_geometry(void **state)
{
    (void)state;
    enum { N = 9 };
    float x[N], g[N], d[N];
    random_x(x, N, 40);
    random_x(g, N, 41);
    double rho = 0.25;
    samc_optim_params p = params(SAMC_OPT_SAM, SAMC_STEP_SCHEDULED);
    double gn = samc_perturbation(&p, x, g, rho, d, N);
    assert_close(gn, samc_nrm2(g, N), 1e-12, 0);
    assert_close(samc_nrm2(d, N), rho, 1e-6, 0);
    p.kind = SAMC_OPT_USAM;
    samc_perturbation(&p, x, g, rho, d, N);
    for (int i = 0; i < N; i++) assert_close(d[i], rho * g[i], 1e-6, 0);
    p.kind = SAMC_OPT_ASAM;
    p.asam_eta = 0.01;
    samc_perturbation(&p, x, g, rho, d, N);
    double s = 0;
    for (int i = 0; i < N; i++) {
        double t = fabs((double)x[i]) + 0.01;
        s += (d[i] / t) * (d[i] / t);
        assert_true(d[i] * g[i] >= 0); /* ascent direction, coordinate-wise */
    }
    assert_close(sqrt(s), rho, 1e-6, 0);
    p.kind = SAMC_OPT_SGD;
    samc_perturbation(&p, x, g, rho, d, N);
    assert_close(samc_nrm2(d, N), 0.0, 0, 0);
}

/* At a stationary point every rule takes a zero step and nothing is NaN. */
static void test_zero_gradient_zero_step(void **state)
{
    (void)state;
    double H[4] = { 2, 0, 0, 1 }, b[2] = { 0, 0 };
    samc_quad q = { 2, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    const samc_step_rule rules[] = { SAMC_STEP_POLYAK, SAMC_STEP_DECSPS };
    const samc_opt_kind kinds[] = { SAMC_OPT_SGD, SAMC_OPT_SAM, SAMC_OPT_USAM, SAMC_OPT_ASAM, SAMC_OPT_GSAM };
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 5; k++) {
            float x[2] = { 0, 0 };
            samc_optim_params p = params(kinds[k], rules[r]);
            p.polyak_cap = INFINITY;
            p.alpha = 0.5;
            samc_step_info info;
            assert_int_equal(run(&p, &o, x, 3, 0, 0.1, &info), SAMC_OK);
            assert_true(info.step == 0.0);
            assert_true(x[0] == 0.0f && x[1] == 0.0f);
            assert_true(isfinite(info.numerator));
        }
}

/* Heavy ball + weight decay on f = a x^2/2 against the recurrence in double:
 * m <- beta m + (a x + wd x), x <- x - eta m. */
static void test_momentum_weight_decay(void **state)
{
    (void)state;
    double a = 1.5, b = 0.0, eta = 0.1, beta = 0.9, wd = 0.05;
    samc_quad q = { 1, &a, &b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    samc_optim_params p = params(SAMC_OPT_SGD, SAMC_STEP_SCHEDULED);
    p.momentum = beta;
    p.weight_decay = wd;
    samc_optim *opt;
    assert_int_equal(samc_optim_init(&opt, 1, &p, NULL), SAMC_OK);
    float x = 2.0f;
    double xr = 2.0, m = 0.0;
    for (int t = 0; t < 50; t++) {
        samc_optim_step(opt, &o, &x, eta, 0.0, NULL);
        m = beta * m + a * xr + wd * xr;
        xr -= eta * m;
        assert_close(x, xr, 1e-4, 1e-6);
    }
    samc_optim_free(opt);
    assert_true(fabs(xr) < 2.0); /* it did move */
}

/* DecSPS: gamma_k = min(N_k/D_k, c_{k-1} gamma_{k-1}) / (c0 sqrt(k+1)) with
 * c_{-1} gamma_{-1} = c0 gamma_b; c_k gamma_k never increases. */
static void test_decsps_recurrence(void **state)
{
    (void)state;
    qprob *qp = qprob_new(5, 0.1, 1.0, 0.0, 77);
    samc_oracle o = samc_quad_oracle(&qp->q);
    samc_optim_params p = params(SAMC_OPT_USAM, SAMC_STEP_DECSPS);
    p.polyak_c = 2.0;
    p.polyak_cap = 0.7;
    samc_optim *opt;
    assert_int_equal(samc_optim_init(&opt, 5, &p, NULL), SAMC_OK);
    float x[5];
    random_x(x, 5, 3);
    double prev = 2.0 * 0.7, last_cg = INFINITY;
    int capped = 0;
    for (int k = 0; k < 30; k++) {
        samc_step_info info;
        samc_optim_step(opt, &o, x, 0, 0.1, &info);
        double sps = fmax(info.numerator, 0) / (info.grad_norm_perturbed * info.grad_norm_perturbed);
        if (prev < sps) capped++;
        double m = fmin(sps, prev);
        double ck = 2.0 * sqrt(k + 1.0);
        assert_close(info.step, m / ck, 1e-9, 0);
        assert_true(info.step * ck <= last_cg * (1 + 1e-12));
        last_cg = info.step * ck;
        prev = m;
    }
    assert_true(capped > 0); /* the min with the previous product was exercised */
    samc_optim_free(opt);
    qprob_free(qp);
}

/* A NaN loss is reported the step it happens and leaves x untouched. */
static int nan_oracle(void *u, const float *x, float *g, double *loss, int pass)
{
    (void)u; (void)x;
    if (g) g[0] = 1.0f;
    *loss = pass == 2 ? NAN : 1.0;
    return 0;
}

static void test_nan_detected(void **state)
{
    (void)state;
    samc_oracle o = { .n = 1, .loss_grad = nan_oracle };
    samc_optim_params p = params(SAMC_OPT_SAM, SAMC_STEP_SCHEDULED);
    float x = 3.0f;
    assert_int_equal(run(&p, &o, &x, 1, 0.1, 0.1, NULL), SAMC_ENAN);
    assert_true(x == 3.0f);
    p.kind = SAMC_OPT_SGD; /* pass 1 is finite: SGD goes through */
    assert_int_equal(run(&p, &o, &x, 1, 0.1, 0.1, NULL), SAMC_OK);
    assert_close(x, 2.9, 1e-6, 0);
}

/* A reduce hook for one worker: the identity, recording what it was given. */
typedef struct reduce_log {
    int calls, fail;
    size_t n_vals[2], n_vec[2];
    double flag;   /* vals[4] of the first call */
} reduce_log;
static int logging_reduce(void *u, double *vals, size_t n_vals, float *vec, size_t n_vec)
{
    (void)vec;
    reduce_log *rl = u;
    if (rl->calls < 2) rl->n_vals[rl->calls] = n_vals, rl->n_vec[rl->calls] = n_vec;
    if (rl->calls == 0 && n_vals == 5) rl->flag = vals[4];
    rl->calls++;
    return rl->fail;
}

/* One user pointer for a quadratic oracle and a reduce log. */
typedef struct quad_reduce { samc_oracle q; reduce_log rl; int fail_pass, nan_pass; } quad_reduce;
static int qr_loss_grad(void *u, const float *x, float *g, double *loss, int pass)
{
    quad_reduce *qr = u;
    if (pass == qr->fail_pass) return -1;
    int r = qr->q.loss_grad(qr->q.user, x, g, loss, pass);
    if (pass == qr->nan_pass) *loss = NAN;
    return r;
}
static int qr_reduce(void *u, double *vals, size_t n_vals, float *vec, size_t n_vec)
{
    return logging_reduce(&((quad_reduce *)u)->rl, vals, n_vals, vec, n_vec);
}

/* With an identity reduce (one worker) every optimizer and rule takes, bit
 * for bit, the step it takes without one; the hook sees the five scalars
 * and gp (and, for GSAM with alpha > 0, the direction). */
static void test_reduce_identity(void **state)
{
    (void)state;
    enum { N = 7 };
    qprob *qp = qprob_new(N, 0.1, 2.0, 0.05, 61);
    for (int k = SAMC_OPT_SGD; k <= SAMC_OPT_GSAM; k++)
        for (int r = SAMC_STEP_SCHEDULED; r <= SAMC_STEP_DECSPS; r++) {
            samc_optim_params p = params((samc_opt_kind)k, (samc_step_rule)r);
            p.alpha = 0.4;
            p.momentum = 0.5;
            p.lambda = 0.3;
            quad_reduce qr = { samc_quad_oracle(&qp->q), { 0 }, 0, 0 };
            samc_oracle plain = qr.q, hooked = { .n = N, .loss_grad = qr_loss_grad, .user = &qr, .reduce = qr_reduce };
            float xa[N], xb[N];
            random_x(xa, N, 62);
            memcpy(xb, xa, sizeof xa);
            assert_int_equal(run(&p, &plain, xa, 5, 0.2, 0.05, NULL), SAMC_OK);
            assert_int_equal(run(&p, &hooked, xb, 5, 0.2, 0.05, NULL), SAMC_OK);
            assert_memory_equal(xa, xb, sizeof xa);
            const int gsam = k == SAMC_OPT_GSAM;
            assert_int_equal(qr.rl.calls, 5 * (gsam ? 2 : 1));
            assert_int_equal(qr.rl.n_vals[0], 5);
            assert_int_equal(qr.rl.n_vec[0], N);
            assert_true(qr.rl.flag == 0.0);
            if (gsam) assert_int_equal(qr.rl.n_vals[1], 0);
        }
    qprob_free(qp);
}

/* A failing callback ends the step with SAMC_ECALLBACK whether or not there
 * is a reduce hook, in either pass, with x untouched; with a hook the worker
 * still reduces (flag 1), so the other workers see the failure too.  A
 * failing reduce is SAMC_ECALLBACK as well. */
static void test_failing_callback(void **state)
{
    (void)state;
    enum { N = 3 };
    qprob *qp = qprob_new(N, 0.5, 1.0, 0.0, 63);
    for (int hook = 0; hook <= 1; hook++)
        for (int fail_pass = 1; fail_pass <= 2; fail_pass++)
            for (int k = SAMC_OPT_SGD; k <= SAMC_OPT_GSAM; k++) {
                if (k == SAMC_OPT_SGD && fail_pass == 2) continue;   /* no pass 2 */
                samc_optim_params p = params((samc_opt_kind)k, SAMC_STEP_POLYAK);
                p.alpha = 0.2;
                quad_reduce qr = { samc_quad_oracle(&qp->q), { 0 }, fail_pass, 0 };
                samc_oracle o = { .n = N, .loss_grad = qr_loss_grad, .user = &qr, .reduce = hook ? qr_reduce : NULL };
                float x[N] = { 1.0f, -2.0f, 0.5f };
                assert_int_equal(run(&p, &o, x, 1, 0.1, 0.1, NULL), SAMC_ECALLBACK);
                assert_true(x[0] == 1.0f && x[1] == -2.0f && x[2] == 0.5f);
                assert_int_equal(qr.rl.calls, hook ? (k == SAMC_OPT_GSAM ? 2 : 1) : 0);
                if (hook) assert_true(qr.rl.flag == 1.0);
            }
    quad_reduce qr = { samc_quad_oracle(&qp->q), { .fail = 1 }, 0, 0 };
    samc_oracle o = { .n = N, .loss_grad = qr_loss_grad, .user = &qr, .reduce = qr_reduce };
    samc_optim_params p = params(SAMC_OPT_SAM, SAMC_STEP_SCHEDULED);
    float x[N] = { 1.0f, -2.0f, 0.5f };
    assert_int_equal(run(&p, &o, x, 1, 0.1, 0.1, NULL), SAMC_ECALLBACK);
    assert_true(x[0] == 1.0f);
    /* a NaN loss in pass 2, with a hook: SAMC_ENAN after the reduce, flag 0 */
    qr.rl = (reduce_log){ 0 };
    qr.nan_pass = 2;
    assert_int_equal(run(&p, &o, x, 1, 0.1, 0.1, NULL), SAMC_ENAN);
    assert_int_equal(qr.rl.calls, 1);
    assert_true(qr.rl.flag == 0.0 && x[0] == 1.0f);
    qprob_free(qp);
}

/* SGD runs pass 1 only; the SAM family runs pass 1 then pass 2. */
typedef struct pass_log { int calls[3]; double H, b; } pass_log;
static int logging_oracle(void *u, const float *x, float *g, double *loss, int pass)
{
    pass_log *pl = u;
    pl->calls[pass]++;
    if (g) g[0] = (float)(pl->H * x[0] - pl->b);
    *loss = 0.5 * pl->H * x[0] * x[0] - pl->b * x[0];
    return 0;
}

static void test_passes(void **state)
{
    (void)state;
    for (int k = SAMC_OPT_SGD; k <= SAMC_OPT_GSAM; k++) {
        pass_log pl = { { 0, 0, 0 }, 1.0, 0.5 };
        samc_oracle o = { .n = 1, .loss_grad = logging_oracle, .user = &pl };
        samc_optim_params p = params((samc_opt_kind)k, SAMC_STEP_SCHEDULED);
        float x = 1.0f;
        run(&p, &o, &x, 4, 0.1, 0.1, NULL);
        assert_int_equal(pl.calls[1], 4);
        assert_int_equal(pl.calls[2], k == SAMC_OPT_SGD ? 0 : 4);
    }
}

static void test_params_check(void **state)
{
    (void)state;
    samc_errbuf err;
    samc_optim_params p = samc_optim_default_params();
    assert_int_equal(samc_optim_params_check(&p, err), SAMC_OK);
    p.polyak_cap = 0;
    assert_int_equal(samc_optim_params_check(&p, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "cap"));
    p = samc_optim_default_params();
    p.momentum = 1.0;
    assert_int_equal(samc_optim_params_check(&p, err), SAMC_EINVAL);
    p = samc_optim_default_params();
    p.lambda = 1.5;
    assert_int_equal(samc_optim_params_check(&p, err), SAMC_EINVAL);
    p = samc_optim_default_params();
    p.polyak_c = -1;
    samc_optim *o = (samc_optim *)&p;
    assert_int_equal(samc_optim_init(&o, 3, &p, err), SAMC_EINVAL);
    assert_null(o);
    samc_optim_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_polyak_halves_1d),
        cmocka_unit_test(test_polyak_usam_1d_contraction),
        cmocka_unit_test(test_sps_c_and_cap),
        cmocka_unit_test(test_gsam_alpha0_is_sam),
        cmocka_unit_test(test_gsam_direction),
        cmocka_unit_test(test_sam_rho0_is_sgd),
        cmocka_unit_test(test_unified_endpoints),
        cmocka_unit_test(test_quadratic_numerator_identity),
        cmocka_unit_test(test_perturbation_geometry),
        cmocka_unit_test(test_zero_gradient_zero_step),
        cmocka_unit_test(test_momentum_weight_decay),
        cmocka_unit_test(test_decsps_recurrence),
        cmocka_unit_test(test_nan_detected),
        cmocka_unit_test(test_reduce_identity),
        cmocka_unit_test(test_failing_callback),
        cmocka_unit_test(test_passes),
        cmocka_unit_test(test_params_check),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
