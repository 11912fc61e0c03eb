/*
 * test_measure.c -- sharpness and Hessian measurements against closed forms
 * on quadratics f(x) = 1/2 x'Hx - b'x (docs/MATH.md section 4).
 */
#include "testutil.h"
#include "reflinalg.h"

/* H = Q diag(lam) Q' (Q from Gram-Schmidt), or diagonal when Q is skipped. */
static double *make_H(size_t n, const double *lam, int rotate, uint64_t seed)
{
    double *H = calloc(n * n, sizeof *H), *Q = malloc(n * n * sizeof *Q);
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (size_t i = 0; i < n * n; i++) Q[i] = rotate ? samc_rng_normal(&r) : (i % (n + 1) == 0);
    for (size_t j = 0; rotate && j < n; j++) {
        for (size_t k = 0; k < j; k++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++) dot += Q[i * n + j] * Q[i * n + k];
            for (size_t i = 0; i < n; i++) Q[i * n + j] -= dot * Q[i * n + k];
        }
        double nr = 0;
        for (size_t i = 0; i < n; i++) nr += Q[i * n + j] * Q[i * n + j];
        for (size_t i = 0; i < n; i++) Q[i * n + j] /= sqrt(nr);
    }
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) H[i * n + j] += lam[k] * Q[i * n + k] * Q[j * n + k];
    free(Q);
    return H;
}

static void test_tridiag_toeplitz(void **state)
{
    (void)state;
    enum { N = 12 };
    double a[N], b[N - 1];
    for (int i = 0; i < N; i++) a[i] = 2.0;
    for (int i = 0; i < N - 1; i++) b[i] = -0.7;
    assert_int_equal(samc_tridiag_eigenvalues(a, b, N), SAMC_OK);
    for (int k = 1; k <= N; k++) /* ascending: 2 - 1.4 cos(k pi/(N+1)) */
        assert_close(a[k - 1], 2.0 - 1.4 * cos(k * M_PI / (N + 1)), 1e-12, 1e-12);
}

static void test_hvp_quadratic(void **state)
{
    (void)state;
    enum { N = 6 };
    double lam[N] = { 5, 3, 2, 1, 0.5, 0.1 }, b[N] = { 1, -1, 0.5, 0, 2, 0 };
    double *H = make_H(N, lam, 1, 3);
    samc_quad q = { N, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    float w[N] = { 0.3f, -1, 2, 0.1f, 0, 1 }, v[N] = { 1, 2, -1, 0.5f, 0.25f, -3 }, hv[N];
    assert_int_equal(samc_hvp(&o, w, v, 1e-3, hv, NULL), SAMC_OK);
    for (int i = 0; i < N; i++) {
        double e = 0;
        for (int j = 0; j < N; j++) e += H[i * N + j] * v[j];
        assert_close(hv[i], e, 1e-3, 1e-3);
    }
    free(H);
}

/* Lanczos: the top eigenvalues of a rotated H with a known spectrum. */
static void test_hessian_top(void **state)
{
    (void)state;
    enum { N = 40 };
    double lam[N], b[N] = { 0 };
    for (int i = 0; i < N; i++) lam[i] = 10.0 * pow(0.85, i);
    double *H = make_H(N, lam, 1, 5);
    samc_quad q = { N, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    float w[N] = { 0 };
    samc_hessian_params p = samc_hessian_default_params();
    p.top_k = 3;
    p.lanczos_steps = 30;
    double eig[3];
    assert_int_equal(samc_hessian_top(&o, w, &p, eig, NULL), SAMC_OK);
    for (int i = 0; i < 3; i++) assert_close(eig[i], lam[i], 1e-4, 0);
    free(H);
}

/* Hutchinson: exact with zero error for a diagonal H (v_i^2 = 1); within
 * four standard errors of tr H otherwise. */
static void test_hessian_trace(void **state)
{
    (void)state;
    enum { N = 30 };
    double lam[N], b[N] = { 0 }, tr = 0;
    for (int i = 0; i < N; i++) lam[i] = 1.0 + i % 7, tr += lam[i];
    float w[N] = { 0 };
    samc_hessian_params p = samc_hessian_default_params();
    p.probes = 200;
    double t, se;
    double *D = make_H(N, lam, 0, 1);
    samc_quad qd = { N, D, b, 0.0 };
    samc_oracle od = samc_quad_oracle(&qd);
    assert_int_equal(samc_hessian_trace(&od, w, &p, &t, &se, NULL), SAMC_OK);
    assert_close(t, tr, 1e-5, 0);
    assert_close(se, 0.0, 0, 1e-4 * tr);
    double *H = make_H(N, lam, 1, 2);
    samc_quad q = { N, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    assert_int_equal(samc_hessian_trace(&o, w, &p, &t, &se, NULL), SAMC_OK);
    print_message("Hutchinson: %.4f +- %.4f, exact %.4f\n", t, se, tr);
    assert_true(se > 0);
    assert_true(fabs(t - tr) < 4 * se);
    free(D);
    free(H);
}

/* At the minimum, max over the L2 ball of d'Hd/2 is rho^2 lambda_max / 2. */
static void test_worst_l2_at_minimum(void **state)
{
    (void)state;
    enum { N = 5 };
    double lam[N] = { 4, 2, 1, 0.5, 0.2 }, b[N] = { 0 };
    double *H = make_H(N, lam, 1, 7);
    samc_quad q = { N, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    float w[N] = { 0 }, best[N];
    samc_sharpness_params p = samc_sharpness_default_params();
    p.ball = SAMC_BALL_L2;
    p.rho = 0.05;
    p.steps = 100;
    p.restarts = 3;
    double s;
    assert_int_equal(samc_sharpness_worst(&o, w, &p, &s, best, NULL), SAMC_OK);
    print_message("worst L2 at the minimum: %.6g, closed form %.6g\n", s, p.rho * p.rho * 4 / 2);
    assert_close(s, p.rho * p.rho * lam[0] / 2, 1e-2, 0);
    assert_true(samc_nrm2(best, N) <= p.rho * (1 + 1e-6));
    free(H);
}

/* Diagonal H, away from the minimum: per coordinate the maximum of
 * g_i d_i + h_i d_i^2/2 on |d_i| <= r_i is r_i |g_i| + h_i r_i^2 / 2, with
 * r_i = rho (plain) or rho |w_i| (adaptive), from a random start and from
 * delta = 0 (zero_start).  At an exact stationary point the gradient at 0
 * gives the zero start no direction, so it stays at 0 there, where a random
 * start finds the curvature. */
static void test_worst_linf_closed_form(void **state)
{
    (void)state;
    enum { N = 8 };
    double lam[N] = { 3, 2.5, 2, 1, 0.7, 0.3, 0.1, 0.05 }, b[N] = { 0.5, -0.2, 0, 0.1, 0.3, -0.4, 0.05, 0 };
    double b0[N] = { 0 }, *H = make_H(N, lam, 0, 1);
    samc_quad q = { N, H, b, 0.0 }, q0 = { N, H, b0, 0.0 };   /* q0: minimum at 0, gradient exactly 0 */
    samc_oracle o = samc_quad_oracle(&q), o0 = samc_quad_oracle(&q0);
    float w[N] = { 0.2f, -0.5f, 1.0f, 0.3f, -0.1f, 0.8f, 2.0f, -1.5f }, zero[N] = { 0 }, best[N];
    assert_int_equal(samc_sharpness_default_params().zero_start, 0);
    for (int z = 0; z <= 1; z++)
        for (int adaptive = 0; adaptive <= 1; adaptive++) {
            samc_sharpness_params p = samc_sharpness_default_params();
            p.rho = 0.05;
            p.adaptive = adaptive;
            p.zero_start = z;
            double expect = 0;
            for (int i = 0; i < N; i++) {
                double g = lam[i] * w[i] - b[i], r = adaptive ? p.rho * fabs(w[i]) : p.rho;
                expect += r * fabs(g) + lam[i] * r * r / 2;
            }
            double s, at_min;
            assert_int_equal(samc_sharpness_worst(&o, w, &p, &s, best, NULL), SAMC_OK);
            print_message("worst L-inf (adaptive %d, zero start %d): %.8g, closed form %.8g\n", adaptive, z, s, expect);
            assert_close(s, expect, 1e-4, 1e-9);
            for (int i = 0; i < N; i++) /* never outside the (scaled) ball */
                assert_true(fabs(best[i]) <= (adaptive ? p.rho * fabs(w[i]) : p.rho) * (1 + 1e-6));
            if (adaptive) continue;   /* |w| = 0: the adaptive ball is a point */
            assert_int_equal(samc_sharpness_worst(&o0, zero, &p, &at_min, NULL, NULL), SAMC_OK);
            if (z) assert_true(at_min == 0.0);
            else assert_true(at_min > 0.5 * p.rho * p.rho * lam[N - 1]);
        }
    free(H);
}

/* Nonnegative, deterministic for a seed, and the adaptive ball really scales. */
static void test_worst_properties(void **state)
{
    (void)state;
    enum { N = 10 };
    double lam[N], b[N];
    for (int i = 0; i < N; i++) lam[i] = 1.0 / (1 + i), b[i] = 0.1 * i;
    double *H = make_H(N, lam, 1, 9);
    samc_quad q = { N, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    float w[N];
    for (int i = 0; i < N; i++) w[i] = (float)(0.3 * i - 1);
    samc_sharpness_params p = samc_sharpness_default_params();
    p.restarts = 2;
    double s1, s2, s3;
    assert_int_equal(samc_sharpness_worst(&o, w, &p, &s1, NULL, NULL), SAMC_OK);
    assert_int_equal(samc_sharpness_worst(&o, w, &p, &s2, NULL, NULL), SAMC_OK);
    assert_true(s1 >= 0);
    assert_true(s1 == s2);
    p.adaptive = 1;
    for (int i = 0; i < N; i++) w[i] *= 2; /* |w| doubles: adaptive radius doubles */
    assert_int_equal(samc_sharpness_worst(&o, w, &p, &s3, NULL, NULL), SAMC_OK);
    assert_true(s3 > 0);
    samc_sharpness_params bad = p;
    bad.rho = -1;
    samc_errbuf err;
    assert_int_equal(samc_sharpness_worst(&o, w, &bad, &s3, NULL, err), SAMC_EINVAL);
    free(H);
}

/* Average case at the minimum: E[d'Hd/2] = rho^2 tr(H) / 2. */
static void test_average_sharpness(void **state)
{
    (void)state;
    enum { N = 20 };
    double lam[N], b[N] = { 0 }, tr = 0;
    for (int i = 0; i < N; i++) lam[i] = 0.5 + 0.1 * i, tr += lam[i];
    double *H = make_H(N, lam, 1, 4);
    samc_quad q = { N, H, b, 0.0 };
    samc_oracle o = samc_quad_oracle(&q);
    float w[N] = { 0 };
    double v, se;
    assert_int_equal(samc_sharpness_average(&o, w, 0.1, 0, 400, 1, &v, &se, NULL), SAMC_OK);
    print_message("average: %.6g +- %.2g, closed form %.6g\n", v, se, 0.01 * tr / 2);
    assert_true(se > 0);
    assert_true(fabs(v - 0.01 * tr / 2) < 4 * se);
    free(H);
}

/* ---- on a small MLP: HVPs against second differences of the loss, a
 * symmetric Hessian, and Lanczos against a dense eigen-solve ---- */


static void test_mlp_hessian(void **state)
{
    (void)state;
    enum { NS = 12, D = 3, K = 3 };
    float xs[NS * D], ys[NS];
    samc_rng r;
    samc_rng_seed(&r, 11);
    for (int i = 0; i < NS * D; i++) xs[i] = (float)samc_rng_normal(&r);
    for (int i = 0; i < NS; i++) ys[i] = (float)(i % K);
    samc_dataset ds = { .n = NS, .d = D, .x = xs, .y = ys, .n_classes = K };
    samc_model *m;
    samc_errbuf err;
    assert_int_equal(samc_model_create_for(&m, "mlp:5", &ds, 0.0, 1, err), SAMC_OK);
    const size_t n = samc_model_n_params(m);
    assert_int_equal(n, D * 5 + 5 + 5 * K + K);
    float *w = malloc(n * sizeof *w), *e = calloc(n, sizeof *e), *col = malloc(n * sizeof *col);
    samc_model_init_params(m, w, &r);
    samc_model_batch c = { .model = m, .ds = &ds, .nb = ds.n, .scale = 1.0 };
    samc_oracle o = samc_model_oracle(&c);
    double *H = malloc(n * n * sizeof *H), *ev = malloc(n * sizeof *ev);
    for (size_t j = 0; j < n; j++) { /* column j = H e_j */
        e[j] = 1.0f;
        assert_int_equal(samc_hvp(&o, w, e, 1e-3, col, NULL), SAMC_OK);
        e[j] = 0.0f;
        for (size_t i = 0; i < n; i++) H[i * n + j] = col[i];
    }
    double asym = 0, hmax = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            asym = fmax(asym, fabs(H[i * n + j] - H[j * n + i]));
            hmax = fmax(hmax, fabs(H[i * n + j]));
        }
    print_message("MLP Hessian %zu x %zu: max |H - H'| = %.2g of max |H| = %.3g\n", n, n, asym, hmax);
    assert_true(hmax > 1e-2);
    assert_true(asym < 1e-2 * hmax);
    /* v'Hv against the second difference of the loss alone */
    float *v = malloc(n * sizeof *v), *hv = malloc(n * sizeof *hv), *xp = malloc(n * sizeof *xp), *xm = malloc(n * sizeof *xm);
    for (size_t i = 0; i < n; i++) v[i] = (float)samc_rng_normal(&r);
    double vn = samc_nrm2(v, n);
    for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] / vn);   /* unit v: a short step, few kinks */
    assert_int_equal(samc_hvp(&o, w, v, 1e-3, hv, NULL), SAMC_OK);
    double vhv = samc_dot(v, hv, n), h = 1e-2, f0, fp, fm;
    for (size_t i = 0; i < n; i++) xp[i] = (float)(w[i] + h * v[i]), xm[i] = (float)(w[i] - h * v[i]);
    o.loss_grad(o.user, w, NULL, &f0, 0);
    o.loss_grad(o.user, xp, NULL, &fp, 0);
    o.loss_grad(o.user, xm, NULL, &fm, 0);
    print_message("v'Hv = %.6g by HVP, %.6g by second differences of the loss\n", vhv, (fp - 2 * f0 + fm) / (h * h));
    assert_true(fabs(vhv) > 1e-3);
    assert_close((fp - 2 * f0 + fm) / (h * h), vhv, 5e-2, 1e-3);
    /* Lanczos on the whole space against the dense eigen-solve */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) H[i * n + j] = H[j * n + i] = 0.5 * (H[i * n + j] + H[j * n + i]);
    ref_eigenvalues(H, n, ev);
    samc_hessian_params hp = samc_hessian_default_params();
    hp.top_k = 2;
    hp.lanczos_steps = (int)n;
    double top[2];
    assert_int_equal(samc_hessian_top(&o, w, &hp, top, NULL), SAMC_OK);
    print_message("MLP top eigenvalues: Lanczos %.6g %.6g, dense %.6g %.6g\n", top[0], top[1], ev[n - 1], ev[n - 2]);
    assert_close(top[0], ev[n - 1], 1e-3, 1e-5);
    assert_close(top[1], ev[n - 2], 1e-3, 1e-5);
    free(w); free(e); free(col); free(H); free(ev); free(v); free(hv); free(xp); free(xm);
    samc_model_free(m);
}

/* full_grad_norm: the norm of the mean gradient over N rows, computed in
 * batches that do not divide N, equals the norm of one whole-set gradient
 * (an unweighted mean of the batch gradients would differ: the last batch is
 * smaller and its rows differ); measures not asked for stay NaN. */
static void test_full_grad_norm(void **state)
{
    (void)state;
    enum { NS = 50, D = 4, K = 3 };
    float xs[NS * D], ys[NS];
    samc_rng r;
    samc_rng_seed(&r, 5);
    for (int i = 0; i < NS * D; i++) xs[i] = (float)samc_rng_normal(&r) + (i >= 40 * D ? 3.0f : 0.0f);
    for (int i = 0; i < NS; i++) ys[i] = (float)(i % K);
    samc_dataset ds = { .n = NS, .d = D, .x = xs, .y = ys, .n_classes = K };
    samc_model *m;
    samc_errbuf err;
    assert_int_equal(samc_model_create_for(&m, "mlp:6", &ds, 1e-2, 1, err), SAMC_OK);
    const size_t n = samc_model_n_params(m);
    float *w = malloc(n * sizeof *w), *g = calloc(n, sizeof *g);
    samc_model_init_params(m, w, &r);
    samc_model_set_pass(m, 0);
    double loss;
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, NS, w, g, 1.0, 1, &loss), SAMC_OK);
    double want = samc_nrm2(g, n);
    samc_measure_params p = samc_measure_default_params();
    p.which = 1u << SAMC_MEASURE_GRAD_NORM;
    p.batch = 16;   /* 16 + 16 + 16 + 2 rows */
    p.n_samples = 1000;
    samc_measure_result res;
    assert_int_equal(samc_measure_model(m, &ds, w, &p, &res, err), SAMC_OK);
    print_message("full_grad_norm %.9g, one-batch gradient norm %.9g\n", res.value[SAMC_MEASURE_GRAD_NORM], want);
    assert_string_equal(samc_measure_name(SAMC_MEASURE_GRAD_NORM), "full_grad_norm");
    assert_true(want > 1e-3);
    assert_close(res.value[SAMC_MEASURE_GRAD_NORM], want, 1e-5, 1e-8);
    assert_true(isnan(res.value[SAMC_MEASURE_WORST_LINF]));
    /* 40 rows: the value changes, so the rows are honoured */
    p.n_samples = 40;
    assert_int_equal(samc_measure_model(m, &ds, w, &p, &res, err), SAMC_OK);
    assert_true(fabs(res.value[SAMC_MEASURE_GRAD_NORM] - want) > 1e-3 * want);
    free(w); free(g);
    samc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tridiag_toeplitz),
        cmocka_unit_test(test_hvp_quadratic),
        cmocka_unit_test(test_hessian_top),
        cmocka_unit_test(test_hessian_trace),
        cmocka_unit_test(test_worst_l2_at_minimum),
        cmocka_unit_test(test_worst_linf_closed_form),
        cmocka_unit_test(test_worst_properties),
        cmocka_unit_test(test_average_sharpness),
        cmocka_unit_test(test_mlp_hessian),
        cmocka_unit_test(test_full_grad_norm),
    };
    return cmocka_run_group_tests_name("measure", tests, NULL, NULL);
}
