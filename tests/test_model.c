/*
 * test_model.c -- tests of the models (samc_model_*): gradients against
 * central finite differences and an independent loss written here, mini-batch
 * accumulation, closed forms at zero, accuracy on hand-made sets, and
 * logistic regression on heart_scale against a Newton solve done in the test.
 */
#include "testutil.h"
#include "reflinalg.h"

#include <stdint.h>

#define HEART_SCALE "/usr/share/doc/liblinear-tools/examples/heart_scale"

/* ----------------------------------------------------------------- helpers */

/* A random data set: features uniform on [-1, 1]; targets class indices
 * 0..K-1 (K > 0) or N(0, 1) values (K == 0). */
static samc_dataset make_data(size_t n, size_t d, int K, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    samc_dataset ds = { 0 };
    ds.n = n;
    ds.d = d;
    ds.n_classes = K;
    ds.x = malloc(n * d * sizeof *ds.x);
    ds.y = malloc(n * sizeof *ds.y);
    assert_non_null(ds.x);
    assert_non_null(ds.y);
    for (size_t i = 0; i < n * d; i++) ds.x[i] = (float)(2.0 * samc_rng_uniform(&r) - 1.0);
    for (size_t i = 0; i < n; i++)
        ds.y[i] = K > 0 ? (float)samc_rng_below(&r, (uint64_t)K) : (float)samc_rng_normal(&r);
    return ds;
}

static void free_data(samc_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

static samc_model *make_model(const char *spec, size_t d, int K, double l2, int bias)
{
    samc_model *m = NULL;
    samc_errbuf err = "";
    samc_status st = samc_model_create(&m, spec, d, K, l2, bias, err);
    if (st != SAMC_OK) fail_msg("samc_model_create(%s): %s", spec, err);
    assert_non_null(m);
    return m;
}

static void random_params(float *x, size_t n, double sd, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(sd * samc_rng_normal(&r));
}

static double loss_at(const samc_model *m, const samc_dataset *ds, const float *x, int add_l2)
{
    double f = NAN;
    assert_int_equal(samc_model_loss_grad(m, ds, NULL, ds->n, x, NULL, 1.0, add_l2, &f), SAMC_OK);
    return f;
}

static double nrm2_f(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* The full objective written independently from the header's definitions and
 * the documented parameter layout. */
static double ref_loss(const char *spec, const samc_dataset *ds, const float *x,
                       int K, int bias, double l2)
{
    const size_t n = ds->n, d = ds->d;
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *a = ds->x + i * d;
        if (strcmp(spec, "softmax") == 0) {
            double z[16], zmax = -INFINITY, se = 0.0;
            assert_true(K <= 16);
            for (int k = 0; k < K; k++) {
                z[k] = bias ? x[(size_t)K * d + (size_t)k] : 0.0;
                for (size_t j = 0; j < d; j++) z[k] += (double)x[(size_t)k * d + j] * a[j];
                if (z[k] > zmax) zmax = z[k];
            }
            for (int k = 0; k < K; k++) se += exp(z[k] - zmax);
            f += zmax + log(se) - z[(int)ds->y[i]];
        } else {
            double z = bias ? x[d] : 0.0;
            for (size_t j = 0; j < d; j++) z += (double)x[j] * a[j];
            if (strcmp(spec, "linear") == 0) {
                f += 0.5 * (z - ds->y[i]) * (z - ds->y[i]);
            } else {
                double s = ds->y[i] == 1.0f ? 1.0 : -1.0;
                f += log(1.0 + exp(-s * z));
            }
        }
    }
    size_t np = strcmp(spec, "softmax") == 0 ? (size_t)K * (d + (size_t)bias) : d + (size_t)bias;
    double r = 0.0;
    for (size_t i = 0; i < np; i++) r += (double)x[i] * x[i];
    return f / (double)n + 0.5 * l2 * r;
}

/* ------------------------------------------------------ finite differences */

enum { FD_N = 7, FD_D = 5, FD_K = 3 };

/* Every parameter of spec, for bias 0/1 and l2 0/0.3: the loss equals the
 * reference, and each gradient element equals the central difference. */
static void fd_check(const char *spec, int K)
{
    const double h = 1e-2;
    for (int bias = 0; bias <= 1; bias++) {
        for (int il = 0; il < 2; il++) {
            const double l2 = il ? 0.3 : 0.0;
            samc_dataset ds = make_data(FD_N, FD_D, K, 11 + (uint64_t)bias);
            samc_model *m = make_model(spec, FD_D, K, l2, bias);
            const size_t np = samc_model_n_params(m);
            float *x = malloc(np * sizeof *x), *g = calloc(np, sizeof *g), *xp = malloc(np * sizeof *x);
            assert_non_null(x);
            assert_non_null(g);
            assert_non_null(xp);
            random_params(x, np, 0.7, 99 + (uint64_t)il);
            double f = NAN;
            assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, x, g, 1.0, 1, &f), SAMC_OK);
            assert_close(f, ref_loss(spec, &ds, x, K, bias, l2), 1e-12, 0.0);
            double gn = nrm2_f(g, np);
            if (!(gn > 1e-2)) fail_msg("%s: gradient norm %g is trivially small", spec, gn);
            double worst = 0.0;
            for (size_t i = 0; i < np; i++) {
                memcpy(xp, x, np * sizeof *x);
                xp[i] = (float)((double)x[i] + h);
                double hp = (double)xp[i] - (double)x[i];
                double fp = loss_at(m, &ds, xp, 1);
                xp[i] = (float)((double)x[i] - h);
                double hm = (double)x[i] - (double)xp[i];
                double fm = loss_at(m, &ds, xp, 1);
                double fd = (fp - fm) / (hp + hm);
                double e = fabs(fd - g[i]) / (1e-5 + fabs(fd));
                if (e > worst) worst = e;
                if (!(fabs(g[i] - fd) <= 1e-5 + 1e-3 * fabs(fd)))
                    fail_msg("%s bias=%d l2=%g: grad[%zu] = %.9g, finite difference %.9g",
                             spec, bias, l2, i, (double)g[i], fd);
            }
            print_message("    %s bias=%d l2=%.1f: %zu params, |g| = %.3g, worst FD rel. error %.2e\n",
                          spec, bias, l2, np, gn, worst);
            free(x);
            free(g);
            free(xp);
            samc_model_free(m);
            free_data(&ds);
        }
    }
}

static void test_fd_linear(void **state) { (void)state; fd_check("linear", 0); }
static void test_fd_logreg(void **state) { (void)state; fd_check("logreg", 2); }
static void test_fd_softmax(void **state) { (void)state; fd_check("softmax", FD_K); }

/* Linear on class-index targets (n_classes > 0) uses the raw values. */
static void test_fd_linear_on_classes(void **state)
{
    (void)state;
    samc_dataset ds = make_data(FD_N, FD_D, 4, 5);
    samc_model *m = make_model("linear", FD_D, 4, 0.1, 1);
    float x[FD_D + 1];
    random_params(x, FD_D + 1, 0.5, 6);
    assert_close(loss_at(m, &ds, x, 1), ref_loss("linear", &ds, x, 0, 1, 0.1), 1e-12, 0.0);
    samc_model_free(m);
    free_data(&ds);
}

/* When a reader numbered integer targets (labels {10, 20, 30}, y = index),
 * least squares regresses on the values: at zero the loss is mean(v^2)/2. */
static void test_linear_regresses_on_label_values(void **state)
{
    (void)state;
    float xs[3] = { 1, 2, 3 }, ys[3] = { 0, 1, 2 };
    double labels[3] = { 10, 20, 30 };
    samc_dataset ds = { .n = 3, .d = 1, .x = xs, .y = ys, .n_classes = 3, .labels = labels };
    samc_model *m = make_model("linear", 1, 3, 0.0, 1);
    float x[2] = { 0, 0 }, g[2] = { 0, 0 };
    double loss;
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 3, x, g, 1.0, 1, &loss), SAMC_OK);
    assert_close(loss, (100.0 + 400.0 + 900.0) / 3 / 2, 1e-12, 0);
    assert_close(g[1], -(10.0 + 20.0 + 30.0) / 3, 1e-6, 0); /* d/db = mean(b - y) */
    double eloss, acc;
    assert_int_equal(samc_model_evaluate(m, &ds, x, &eloss, &acc), SAMC_OK);
    assert_close(eloss, loss, 1e-12, 0);
    samc_model_free(m);
}

/* (f(x + hv) - f(x - hv)) / 2h against <grad, v> for a random direction v,
 * using the steps actually represented in float. */
static void test_directional(void **state)
{
    (void)state;
    const char *specs[] = { "linear", "logreg", "softmax" };
    const int Ks[] = { 0, 2, FD_K };
    const double h = 1e-2;
    for (int s = 0; s < 3; s++) {
        samc_dataset ds = make_data(FD_N, FD_D, Ks[s], 21);
        samc_model *m = make_model(specs[s], FD_D, Ks[s], 0.05, 1);
        const size_t np = samc_model_n_params(m);
        float *x = malloc(np * sizeof *x), *g = calloc(np, sizeof *g);
        float *xp = malloc(np * sizeof *x), *xm = malloc(np * sizeof *x), *v = malloc(np * sizeof *x);
        assert_true(x && g && xp && xm && v);
        random_params(x, np, 0.7, 22);
        random_params(v, np, 1.0, 23);
        double vn = nrm2_f(v, np), gv = 0.0, f = NAN;
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, x, g, 1.0, 1, &f), SAMC_OK);
        for (size_t i = 0; i < np; i++) {
            double vi = v[i] / vn;
            xp[i] = (float)(x[i] + h * vi);
            xm[i] = (float)(x[i] - h * vi);
            gv += (double)g[i] * (((double)xp[i] - x[i]) + ((double)x[i] - xm[i]));
        }
        double diff = loss_at(m, &ds, xp, 1) - loss_at(m, &ds, xm, 1);
        assert_true(fabs(gv) > 1e-4);
        print_message("    %s: f(x+hv)-f(x-hv) = %.9g, <g, dp+dm> = %.9g\n", specs[s], diff, gv);
        assert_close(diff, gv, 1e-3, 1e-7);
        free(x); free(g); free(xp); free(xm); free(v);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* k = 3 micro-batches of 4 rows with scale 1/3, added into one gradient that
 * starts non-zero, equal one call on the 12 rows (gradient and loss). */
static void test_minibatch_accumulation(void **state)
{
    (void)state;
    const char *specs[] = { "linear", "logreg", "softmax" };
    const int Ks[] = { 0, 2, FD_K };
    for (int s = 0; s < 3; s++) {
        samc_dataset ds = make_data(20, FD_D, Ks[s], 31);
        samc_model *m = make_model(specs[s], FD_D, Ks[s], 0.2, 1);
        const size_t np = samc_model_n_params(m);
        float *x = malloc(np * sizeof *x), *g0 = malloc(np * sizeof *x);
        float *gacc = malloc(np * sizeof *x), *gone = malloc(np * sizeof *x), *gnull = calloc(np, sizeof *x);
        float *gid = calloc(np, sizeof *x);
        assert_true(x && g0 && gacc && gone && gnull && gid);
        random_params(x, np, 0.5, 32);
        random_params(g0, np, 1.0, 33);
        memcpy(gacc, g0, np * sizeof *x);
        memcpy(gone, g0, np * sizeof *x);
        size_t perm[20];
        for (size_t i = 0; i < 20; i++) perm[i] = i;
        samc_rng r;
        samc_rng_seed(&r, 34);
        samc_rng_shuffle(&r, perm, 20);

        double lacc = 0.0, lone = NAN, l = NAN;
        for (int k = 0; k < 3; k++) {
            assert_int_equal(samc_model_loss_grad(m, &ds, perm + 4 * k, 4, x, gacc, 1.0 / 3.0, 1, &l),
                             SAMC_OK);
            lacc += l;
        }
        assert_int_equal(samc_model_loss_grad(m, &ds, perm, 12, x, gone, 1.0, 1, &lone), SAMC_OK);
        assert_close(lacc, lone, 1e-12, 0.0);
        double gmax = 0.0, worst = 0.0;
        for (size_t i = 0; i < np; i++) gmax = fmax(gmax, fabs(gone[i] - g0[i]));
        assert_true(gmax > 1e-2);
        for (size_t i = 0; i < np; i++) {
            worst = fmax(worst, fabs(gacc[i] - gone[i]) / fabs(gone[i]));
            assert_close(gacc[i], gone[i], 1e-6, 1e-7);
        }
        /* the 12 rows copied out: the loss (l2 term counted once) matches */
        float sx[12 * FD_D], sy[12];
        for (size_t t = 0; t < 12; t++) {
            memcpy(sx + t * FD_D, ds.x + perm[t] * FD_D, FD_D * sizeof(float));
            sy[t] = ds.y[perm[t]];
        }
        samc_dataset sub = { .n = 12, .d = FD_D, .x = sx, .y = sy, .n_classes = Ks[s] };
        assert_close(lone, ref_loss(specs[s], &sub, x, Ks[s], 1, 0.2), 1e-12, 0.0);
        print_message("    %s: loss %.9g, worst rel. gradient difference %.2e\n", specs[s], lone, worst);

        /* idx NULL means rows 0..nb-1 */
        size_t ident[12];
        for (size_t i = 0; i < 12; i++) ident[i] = i;
        double l1 = NAN, l2v = NAN;
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 12, x, gnull, 0.5, 0, &l1), SAMC_OK);
        assert_int_equal(samc_model_loss_grad(m, &ds, ident, 12, x, gid, 0.5, 0, &l2v), SAMC_OK);
        assert_true(l1 == l2v);
        assert_memory_equal(gnull, gid, np * sizeof *x);
        free(x); free(g0); free(gacc); free(gone); free(gnull); free(gid);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* samc_model_oracle: the grad it returns is overwritten (not accumulated),
 * equals samc_model_loss_grad on the same rows and scale, an empty batch
 * gives 0 and a zero gradient, and a bad row fails with -1 and the status. */
static void test_model_oracle(void **state)
{
    (void)state;
    samc_dataset ds = make_data(20, FD_D, FD_K, 41);
    samc_model *m = make_model("softmax", FD_D, FD_K, 0.1, 1);
    const size_t np = samc_model_n_params(m);
    float *x = malloc(np * sizeof *x), *g = malloc(np * sizeof *x), *want = calloc(np, sizeof *x);
    assert_true(x && g && want);
    random_params(x, np, 0.5, 42);
    random_params(g, np, 1.0, 43);   /* garbage the oracle must overwrite */
    size_t idx[5] = { 3, 17, 0, 9, 9 };
    samc_model_batch b = { .model = m, .ds = &ds, .idx = idx, .nb = 5, .scale = 0.25 };
    samc_oracle o = samc_model_oracle(&b);
    assert_int_equal(o.n, np);
    assert_null(o.reduce);
    double f = NAN, fw = NAN;
    assert_int_equal(o.loss_grad(o.user, x, g, &f, 2), 0);
    assert_int_equal(b.status, SAMC_OK);
    assert_int_equal(samc_model_loss_grad(m, &ds, idx, 5, x, want, 0.25, 1, &fw), SAMC_OK);
    assert_true(f == fw && f > 0.0);
    assert_memory_equal(g, want, np * sizeof *g);
    b.nb = 0;   /* an empty shard */
    assert_int_equal(o.loss_grad(o.user, x, g, &f, 1), 0);
    assert_true(f == 0.0);
    for (size_t i = 0; i < np; i++) assert_true(g[i] == 0.0f);
    idx[1] = 20;   /* out of range */
    b.nb = 5;
    assert_int_equal(o.loss_grad(o.user, x, g, &f, 1), -1);
    assert_int_equal(b.status, SAMC_EINVAL);
    free(x); free(g); free(want);
    samc_model_free(m);
    free_data(&ds);
}

/* samc_model_row_floats: one output per row for linear and logreg, K for
 * softmax, and for a network more than its K logits (every layer's
 * activations). */
static void test_row_floats(void **state)
{
    (void)state;
    samc_model *m = make_model("linear", FD_D, 0, 0.0, 1);
    assert_int_equal(samc_model_row_floats(m), 1);
    samc_model_free(m);
    m = make_model("logreg", FD_D, 2, 0.0, 1);
    assert_int_equal(samc_model_row_floats(m), 1);
    samc_model_free(m);
    m = make_model("softmax", FD_D, FD_K, 0.0, 1);
    assert_int_equal(samc_model_row_floats(m), FD_K);
    samc_model_free(m);
    m = make_model("mlp:7", FD_D, FD_K, 0.0, 1);
    assert_true(samc_model_row_floats(m) >= (size_t)(FD_D + 7 + FD_K));
    samc_model_free(m);
    assert_int_equal(samc_model_row_floats(NULL), 0);
}

/* Batches larger than the library's internal row and column blocks (and
 * rows chosen through idx): the gradient equals one computed here in double. */
static void test_large_batch_gradient(void **state)
{
    (void)state;
    const char *specs[] = { "linear", "logreg", "softmax" };
    const int Ks[] = { 0, 2, 3 };
    const size_t n = 1300, d = 1100, nb = 1250;
    for (int s = 0; s < 3; s++) {
        samc_dataset ds = make_data(n, d, Ks[s], 91);
        samc_model *m = make_model(specs[s], d, Ks[s], 0.0, 1);
        const size_t np = samc_model_n_params(m);
        const size_t K = Ks[s] == 3 ? 3 : 1;
        float *x = malloc(np * sizeof *x), *g = calloc(np, sizeof *g);
        double *gr = calloc(np, sizeof *gr);
        size_t *idx = malloc(nb * sizeof *idx);
        assert_true(x && g && gr && idx);
        random_params(x, np, 0.03, 92);
        for (size_t t = 0; t < nb; t++) idx[t] = (t * 7 + 3) % n;
        double f = NAN, fr = 0.0;
        assert_int_equal(samc_model_loss_grad(m, &ds, idx, nb, x, g, 1.0, 0, &f), SAMC_OK);
        for (size_t t = 0; t < nb; t++) {
            const float *a = ds.x + idx[t] * d;
            double z[3], r[3];
            for (size_t k = 0; k < K; k++) {
                z[k] = x[K * d + k];
                for (size_t j = 0; j < d; j++) z[k] += (double)x[k * d + j] * a[j];
            }
            if (Ks[s] == 0) {
                r[0] = z[0] - ds.y[idx[t]];
                fr += 0.5 * r[0] * r[0];
            } else if (Ks[s] == 2) {
                double sg = ds.y[idx[t]] == 1.0f ? 1.0 : -1.0;
                r[0] = -sg / (1.0 + exp(sg * z[0]));
                fr += log1p(exp(-sg * z[0]));
            } else {
                double se = 0.0;
                for (size_t k = 0; k < K; k++) se += exp(z[k]);
                for (size_t k = 0; k < K; k++)
                    r[k] = exp(z[k]) / se - (ds.y[idx[t]] == (float)k ? 1.0 : 0.0);
                fr += log(se) - z[(size_t)ds.y[idx[t]]];
            }
            for (size_t k = 0; k < K; k++) {
                for (size_t j = 0; j < d; j++) gr[k * d + j] += r[k] * a[j] / (double)nb;
                gr[K * d + k] += r[k] / (double)nb;
            }
        }
        assert_close(f, fr / (double)nb, 1e-12, 0.0);
        double gn = 0.0;
        for (size_t i = 0; i < np; i++) gn += gr[i] * gr[i];
        assert_true(sqrt(gn) > 1e-2);
        for (size_t i = 0; i < np; i++) assert_close(g[i], gr[i], 1e-6, 1e-9);
        free(x); free(g); free(gr); free(idx);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* The l2 term: (l2/2)||x||^2 over all parameters, bias included, and l2 x in
 * the gradient; add_l2 = 0 leaves it out; scale multiplies both. */
static void test_l2_term(void **state)
{
    (void)state;
    const char *specs[] = { "linear", "logreg", "softmax" };
    const int Ks[] = { 0, 2, FD_K };
    const double l2 = 0.37, scale = 2.5;
    for (int s = 0; s < 3; s++) {
        samc_dataset ds = make_data(FD_N, FD_D, Ks[s], 41);
        samc_model *m = make_model(specs[s], FD_D, Ks[s], l2, 1);
        const size_t np = samc_model_n_params(m);
        float *x = malloc(np * sizeof *x), *g1 = calloc(np, sizeof *x), *g0 = calloc(np, sizeof *x);
        assert_true(x && g1 && g0);
        random_params(x, np, 0.5, 42);
        double f1 = NAN, f0 = NAN, r = 0.0;
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, x, g1, scale, 1, &f1), SAMC_OK);
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, x, g0, scale, 0, &f0), SAMC_OK);
        for (size_t i = 0; i < np; i++) r += (double)x[i] * x[i];
        assert_close(f1 - f0, scale * 0.5 * l2 * r, 1e-10, 1e-14);
        assert_close(f0, scale * ref_loss(specs[s], &ds, x, Ks[s], 1, 0.0), 1e-12, 0.0);
        for (size_t i = 0; i < np; i++) assert_close(g1[i] - g0[i], scale * l2 * x[i], 1e-5, 1e-6);
        free(x); free(g1); free(g0);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* ----------------------------------------------------------- closed forms */

static void test_closed_forms_at_zero(void **state)
{
    (void)state;
    const size_t n = 9, d = 4;
    const int K = 3;
    /* linear: f(0) = mean(y^2)/2; grad_w = -mean(y a), grad_b = -mean(y) */
    {
        samc_dataset ds = make_data(n, d, 0, 51);
        samc_model *m = make_model("linear", d, 0, 0.5, 1);
        assert_int_equal(samc_model_n_params(m), d + 1);
        assert_string_equal(samc_model_name(m), "linear");
        float x[5], g[5] = { 0 };
        for (size_t i = 0; i < 5; i++) x[i] = 123.0f;
        samc_model_init_params(m, x, NULL);
        for (size_t i = 0; i < 5; i++) assert_true(x[i] == 0.0f);
        double f = NAN, want = 0.0, gw[5] = { 0 };
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, n, x, g, 1.0, 1, &f), SAMC_OK);
        for (size_t i = 0; i < n; i++) {
            want += 0.5 * ds.y[i] * ds.y[i] / (double)n;
            for (size_t j = 0; j < d; j++) gw[j] -= ds.y[i] * ds.x[i * d + j] / (double)n;
            gw[d] -= ds.y[i] / (double)n;
        }
        assert_close(f, want, 1e-12, 0.0);
        for (size_t j = 0; j <= d; j++) assert_close(g[j], gw[j], 1e-6, 1e-7);
        samc_model_free(m);
        free_data(&ds);
    }
    /* logreg: f(0) = log 2; grad = mean(-s a / 2) */
    {
        samc_dataset ds = make_data(n, d, 2, 52);
        samc_model *m = make_model("logreg", d, 2, 0.5, 1);
        assert_string_equal(samc_model_name(m), "logreg");
        float x[5] = { 0 }, g[5] = { 0 };
        double f = NAN, gw[5] = { 0 };
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, n, x, g, 1.0, 1, &f), SAMC_OK);
        assert_close(f, log(2.0), 1e-12, 0.0);
        for (size_t i = 0; i < n; i++) {
            double s = ds.y[i] == 1.0f ? 1.0 : -1.0;
            for (size_t j = 0; j < d; j++) gw[j] -= 0.5 * s * ds.x[i * d + j] / (double)n;
            gw[d] -= 0.5 * s / (double)n;
        }
        for (size_t j = 0; j <= d; j++) assert_close(g[j], gw[j], 1e-6, 1e-7);
        samc_model_free(m);
        free_data(&ds);
    }
    /* softmax: f(0) = log K; grad W_k = mean((1/K - [y = k]) a) */
    {
        samc_dataset ds = make_data(n, d, K, 53);
        samc_model *m = make_model("softmax", d, K, 0.5, 1);
        assert_int_equal(samc_model_n_params(m), (size_t)K * d + (size_t)K);
        samc_model *m0 = make_model("softmax", d, K, 0.5, 0);
        assert_int_equal(samc_model_n_params(m0), (size_t)K * d);
        samc_model_free(m0);
        float x[15], g[15] = { 0 };
        for (size_t i = 0; i < 15; i++) x[i] = -7.0f;
        samc_model_init_params(m, x, NULL);
        double f = NAN, gw[15] = { 0 };
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, n, x, g, 1.0, 1, &f), SAMC_OK);
        assert_close(f, log((double)K), 1e-12, 0.0);
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < K; k++) {
                double r = 1.0 / K - (ds.y[i] == (float)k ? 1.0 : 0.0);
                for (size_t j = 0; j < d; j++) gw[(size_t)k * d + j] += r * ds.x[i * d + j] / (double)n;
                gw[(size_t)K * d + (size_t)k] += r / (double)n;
            }
        for (size_t j = 0; j < 15; j++) assert_close(g[j], gw[j], 1e-6, 1e-7);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* Logistic loss stays finite for huge margins (the stable form). */
static void test_logreg_extreme_margins(void **state)
{
    (void)state;
    float xs[2] = { 1.0f, -1.0f }, ys[2] = { 1.0f, 1.0f };
    samc_dataset ds = { .n = 2, .d = 1, .x = xs, .y = ys, .n_classes = 2 };
    samc_model *m = make_model("logreg", 1, 2, 0.0, 0);
    float w[1] = { 1000.0f }, g[1] = { 0 };
    double f = NAN;
    /* row 0: margin +1000 (loss ~ 0), row 1: margin -1000 (loss 1000) */
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 2, w, g, 1.0, 0, &f), SAMC_OK);
    assert_close(f, 500.0, 1e-12, 0.0);
    /* grad = (0 * 1 + (-1) * (-1)) / 2 = 0.5 */
    assert_close(g[0], 0.5, 1e-7, 0.0);
    samc_model_free(m);
    /* softmax with huge logits */
    float w3[2] = { 1000.0f, -1000.0f }, ys0[2] = { 0.0f, 0.0f }, g3[2] = { 0 };
    ds.y = ys0;
    m = make_model("softmax", 1, 2, 0.0, 0);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 2, w3, g3, 1.0, 0, &f), SAMC_OK);
    assert_true(isfinite(f));
    assert_close(f, 1000.0, 1e-9, 0.0);   /* (0 + 2000) / 2 */
    double le = NAN, acc = NAN;
    assert_int_equal(samc_model_evaluate(m, &ds, w3, &le, &acc), SAMC_OK);
    assert_close(le, 1000.0, 1e-9, 0.0);
    assert_close(acc, 0.5, 0.0, 0.0);
    samc_model_free(m);
}

/* --------------------------------------------------------------- evaluate */

static void test_evaluate_accuracy(void **state)
{
    (void)state;
    double loss = NAN, acc = NAN;
    /* logreg, 1-D, w = 1, b = 0: predicted class 1 iff a >= 0. */
    {
        float xs[6] = { -2, -1, 0, 1, 2, 3 }, ys[6] = { 0, 0, 1, 1, 1, 0 };
        samc_dataset ds = { .n = 6, .d = 1, .x = xs, .y = ys, .n_classes = 2 };
        samc_model *m = make_model("logreg", 1, 2, 0.0, 1);
        float p[2] = { 1.0f, 0.0f };
        assert_int_equal(samc_model_evaluate(m, &ds, p, &loss, &acc), SAMC_OK);
        assert_close(acc, 5.0 / 6.0, 1e-15, 0.0);   /* a = 0 counts as class 1 */
        assert_close(loss, ref_loss("logreg", &ds, p, 2, 1, 0.0), 1e-12, 0.0);
        ys[5] = 1;                                   /* now separable */
        assert_int_equal(samc_model_evaluate(m, &ds, p, &loss, &acc), SAMC_OK);
        assert_close(acc, 1.0, 0.0, 0.0);
        p[0] = -1.0f; p[1] = -0.5f;                  /* every prediction flipped */
        assert_int_equal(samc_model_evaluate(m, &ds, p, &loss, &acc), SAMC_OK);
        assert_close(acc, 0.0, 0.0, 0.0);
        samc_model_free(m);
    }
    /* softmax, K = 3 in 2-D: class scores (a1, a2, -a1 - a2). */
    {
        float xs[8] = { 2, 0, 0, 2, -2, -2, 2, 0.5f }, ys[4] = { 0, 1, 2, 1 };
        samc_dataset ds = { .n = 4, .d = 2, .x = xs, .y = ys, .n_classes = 3 };
        samc_model *m = make_model("softmax", 2, 3, 0.1, 1);
        float p[9] = { 1, 0, 0, 1, -1, -1, 0, 0, 0 };
        assert_int_equal(samc_model_evaluate(m, &ds, p, &loss, &acc), SAMC_OK);
        assert_close(acc, 0.75, 1e-15, 0.0);
        assert_close(loss, ref_loss("softmax", &ds, p, 3, 1, 0.1), 1e-12, 0.0);
        p[7] = 2.0f;   /* bias of class 1 moves the last point to class 1, keeps the rest */
        assert_int_equal(samc_model_evaluate(m, &ds, p, &loss, &acc), SAMC_OK);
        assert_close(acc, 1.0, 0.0, 0.0);
        samc_model_free(m);
    }
    /* linear: no accuracy */
    {
        samc_dataset ds = make_data(5, 3, 0, 61);
        samc_model *m = make_model("linear", 3, 0, 0.0, 0);
        float p[3] = { 0.1f, 0.2f, 0.3f };
        assert_int_equal(samc_model_evaluate(m, &ds, p, &loss, &acc), SAMC_OK);
        assert_true(isnan(acc));
        assert_close(loss, ref_loss("linear", &ds, p, 0, 0, 0.0), 1e-12, 0.0);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* The threaded evaluate equals the serial full-batch loss on a larger set,
 * and its accuracy equals a count made here. */
static void test_evaluate_matches_loss(void **state)
{
    (void)state;
    const char *specs[] = { "linear", "logreg", "softmax" };
    const int Ks[] = { 0, 2, 4 };
    const size_t n = 3001, d = 7;
    for (int s = 0; s < 3; s++) {
        samc_dataset ds = make_data(n, d, Ks[s], 71);
        samc_model *m = make_model(specs[s], d, Ks[s], 0.01, 1);
        const size_t np = samc_model_n_params(m);
        float *x = malloc(np * sizeof *x);
        assert_non_null(x);
        random_params(x, np, 0.8, 72);
        double le = NAN, acc = NAN;
        assert_int_equal(samc_model_evaluate(m, &ds, x, &le, &acc), SAMC_OK);
        assert_close(le, loss_at(m, &ds, x, 1), 1e-12, 0.0);
        assert_close(le, ref_loss(specs[s], &ds, x, Ks[s], 1, 0.01), 1e-12, 0.0);
        if (Ks[s] == 0) {
            assert_true(isnan(acc));
        } else {
            size_t right = 0;
            for (size_t i = 0; i < n; i++) {
                const float *a = ds.x + i * d;
                int pred = 0;
                if (Ks[s] == 2) {
                    double z = x[d];
                    for (size_t j = 0; j < d; j++) z += (double)x[j] * a[j];
                    pred = z >= 0.0;
                } else {
                    double best = -INFINITY;
                    for (int k = 0; k < Ks[s]; k++) {
                        double z = x[(size_t)Ks[s] * d + (size_t)k];
                        for (size_t j = 0; j < d; j++) z += (double)x[(size_t)k * d + j] * a[j];
                        if (z > best) { best = z; pred = k; }
                    }
                }
                right += pred == (int)ds.y[i];
            }
            assert_close(acc, (double)right / (double)n, 1e-15, 0.0);
            assert_true(acc > 0.0 && acc < 1.0);
        }
        free(x);
        samc_model_free(m);
        free_data(&ds);
    }
}

/* ------------------------------------------------- heart_scale vs Newton */

/* Regularized logistic loss, gradient and Hessian in double, bias last. */
static double newton_fgh(const samc_dataset *ds, double l2, const double *th,
                         double *g, double *H)
{
    const size_t n = ds->n, d = ds->d, p = d + 1;
    double f = 0.0, a[64];
    assert_true(p <= 64);
    if (g) memset(g, 0, p * sizeof *g);
    if (H) memset(H, 0, p * p * sizeof *H);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) a[j] = ds->x[i * d + j];
        a[d] = 1.0;
        double z = 0.0;
        for (size_t j = 0; j < p; j++) z += th[j] * a[j];
        double s = ds->y[i] == 1.0f ? 1.0 : -1.0, m = s * z;
        f += m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m));
        double sig = 1.0 / (1.0 + exp(m));          /* sigma(-m) */
        double w = sig * (1.0 - sig);
        for (size_t j = 0; j < p; j++) {
            if (g) g[j] += -s * sig * a[j] / (double)n;
            if (H)
                for (size_t k = 0; k < p; k++) H[j * p + k] += w * a[j] * a[k] / (double)n;
        }
    }
    double r = 0.0;
    for (size_t j = 0; j < p; j++) {
        r += th[j] * th[j];
        if (g) g[j] += l2 * th[j];
        if (H) H[j * p + j] += l2;
    }
    return f / (double)n + 0.5 * l2 * r;
}


static void test_heart_scale_newton(void **state)
{
    (void)state;
    FILE *probe = fopen(HEART_SCALE, "r");
    if (!probe) {
        print_message("    %s missing (Debian package liblinear-tools): skipped\n", HEART_SCALE);
        skip();
    }
    fclose(probe);
    samc_dataset ds = { 0 };
    samc_errbuf err = "";
    samc_status st = samc_read_libsvm(&ds, HEART_SCALE, 0, err);
    if (st != SAMC_OK) fail_msg("samc_read_libsvm: %s", err);
    assert_int_equal(samc_dataset_densify(&ds), SAMC_OK);
    st = samc_data_index_labels(&ds, NULL, 100, err);
    if (st != SAMC_OK) fail_msg("samc_data_index_labels: %s", err);
    assert_int_equal(ds.n, 270);
    assert_int_equal(ds.d, 13);
    assert_int_equal(ds.n_classes, 2);

    const double l2 = 1e-2;
    const size_t d = ds.d, p = d + 1;
    samc_model *m = make_model("logreg", d, ds.n_classes, l2, 1);
    assert_int_equal(samc_model_n_params(m), p);

    /* Newton with a backtracking safeguard, to ||g|| < 1e-12. */
    double th[14] = { 0 }, g[14], H[196], s[14], tt[14], gn = INFINITY, fN = NAN;
    int it;
    for (it = 0; it < 100; it++) {
        fN = newton_fgh(&ds, l2, th, g, H);
        gn = 0.0;
        for (size_t j = 0; j < p; j++) gn += g[j] * g[j];
        gn = sqrt(gn);
        if (gn < 1e-12) break;
        assert_int_equal(ref_cholesky(H, p), 0);   /* solve H s = g */
        memcpy(s, g, p * sizeof *s);
        ref_chol_solve(H, p, s);
        double gs = 0.0, t = 1.0;
        for (size_t j = 0; j < p; j++) gs += g[j] * s[j];
        for (;;) {
            for (size_t j = 0; j < p; j++) tt[j] = th[j] - t * s[j];
            if (newton_fgh(&ds, l2, tt, NULL, NULL) <= fN - 1e-4 * t * gs + 1e-15 * fabs(fN) || t < 1e-6)
                break;
            t *= 0.5;
        }
        memcpy(th, tt, sizeof th);
    }
    assert_true(gn < 1e-12);
    print_message("    Newton: %d iterations, f* = %.15g, |g| = %.2e\n", it, fN, gn);

    /* The model at Newton's point: the same loss, a tiny gradient. */
    float xf[14], gf[14];
    for (size_t j = 0; j < p; j++) xf[j] = (float)th[j];
    double fm = NAN;
    memset(gf, 0, sizeof gf);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, xf, gf, 1.0, 1, &fm), SAMC_OK);
    assert_close(fm, fN, 1e-7, 0.0);
    assert_true(nrm2_f(gf, p) < 1e-5);

    /* Plain full-batch gradient descent with step 1/L through the model. */
    double L = 0.0;
    for (size_t i = 0; i < ds.n; i++) {
        double r = 1.0;
        for (size_t j = 0; j < d; j++) r += (double)ds.x[i * d + j] * ds.x[i * d + j];
        L = fmax(L, r);
    }
    L = L / 4.0 + l2;
    double xd[14] = { 0 }, fgd = NAN, ggd = INFINITY;
    long k;
    for (k = 0; k < 1000000; k++) {
        for (size_t j = 0; j < p; j++) xf[j] = (float)xd[j];
        memset(gf, 0, sizeof gf);
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, xf, gf, 1.0, 1, &fgd), SAMC_OK);
        ggd = nrm2_f(gf, p);
        if (ggd < 1e-5) break;
        for (size_t j = 0; j < p; j++) xd[j] -= gf[j] / L;
    }
    assert_true(ggd < 1e-5);
    double dn = 0.0, tn = 0.0, worst = 0.0;
    for (size_t j = 0; j < p; j++) {
        dn += (xf[j] - th[j]) * (xf[j] - th[j]);
        tn += th[j] * th[j];
        worst = fmax(worst, fabs(xf[j] - th[j]) / fabs(th[j]));
    }
    print_message("    GD: %ld steps (L = %.4g), |g| = %.2e, f = %.15g; "
                  "|x - x*|/|x*| = %.2e (worst element %.2e), |f - f*|/f* = %.2e\n",
                  k, L, ggd, fgd, sqrt(dn / tn), worst, fabs(fgd - fN) / fN);
    assert_true(sqrt(dn / tn) < 1e-3);
    for (size_t j = 0; j < p; j++) assert_close(xf[j], th[j], 1e-3, 1e-3 * sqrt(tn / (double)p));
    assert_close(fgd, fN, 1e-6, 0.0);

    double le = NAN, acc = NAN;
    assert_int_equal(samc_model_evaluate(m, &ds, xf, &le, &acc), SAMC_OK);
    assert_close(le, fgd, 1e-12, 0.0);
    print_message("    train accuracy %.4f\n", acc);
    assert_true(acc > 0.8 && acc <= 1.0);
    samc_model_free(m);
    samc_dataset_free(&ds);
}

/* ------------------------------------------------------------------ errors */

static void test_errors(void **state)
{
    (void)state;
    samc_model *m = (samc_model *)&m;   /* must be reset to NULL on error */
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&m, "svm", 3, 2, 0.0, 1, err), SAMC_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err, "svm"));
    assert_non_null(strstr(err, "linear"));
    assert_non_null(strstr(err, "logreg"));
    assert_non_null(strstr(err, "softmax"));
    assert_int_equal(samc_model_create(&m, "svm", 3, 2, 0.0, 1, NULL), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "", 3, 2, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "logregx", 3, 2, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "logreg:3", 3, 2, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, NULL, 3, 2, 0.0, 1, err), SAMC_EINVAL);
    err[0] = '\0';
    assert_int_equal(samc_model_create(&m, "logreg", 3, 3, 0.0, 1, err), SAMC_EINVAL);
    assert_null(m);
    assert_true(strlen(err) > 0);
    assert_int_equal(samc_model_create(&m, "logreg", 3, 0, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "softmax", 3, 1, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "softmax", 3, 0, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "linear", 3, 0, -1e-3, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "linear", 3, 0, NAN, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "linear", 3, 0, INFINITY, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "linear", 3, 0, 0.0, 2, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(&m, "linear", 0, 0, 0.0, 1, err), SAMC_EINVAL);
    assert_int_equal(samc_model_create(NULL, "linear", 3, 0, 0.0, 1, err), SAMC_EINVAL);
    assert_null(m);
    samc_model_free(NULL);
    assert_int_equal(samc_model_n_params(NULL), 0);

    /* loss_grad and evaluate */
    samc_dataset ds = make_data(6, 3, 3, 81);
    m = make_model("softmax", 3, 3, 0.1, 1);
    const size_t np = samc_model_n_params(m);
    float x[12], g[12], g0[12];
    random_params(x, np, 0.5, 82);
    random_params(g0, np, 1.0, 83);
    memcpy(g, g0, sizeof g);
    double f = 42.0;
    size_t idx[2] = { 0, 6 };
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 0, x, g, 1.0, 1, &f), SAMC_EINVAL);
    assert_int_equal(samc_model_loss_grad(m, &ds, idx, 0, x, g, 1.0, 1, &f), SAMC_EINVAL);
    assert_int_equal(samc_model_loss_grad(m, &ds, idx, 2, x, g, 1.0, 1, &f), SAMC_EINVAL); /* row 6 */
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 7, x, g, 1.0, 1, &f), SAMC_EINVAL);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, g, 1.0, 1, NULL), SAMC_EINVAL);
    ds.y[4] = 3.0f;   /* class index out of range for K = 3 */
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, g, 1.0, 1, &f), SAMC_EINVAL);
    double le, acc;
    assert_int_equal(samc_model_evaluate(m, &ds, x, &le, &acc), SAMC_EINVAL);
    ds.y[4] = 1.5f;   /* not an integer */
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, g, 1.0, 1, &f), SAMC_EINVAL);
    ds.y[4] = 1.0f;
    ds.d = 2;         /* data of another width */
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, g, 1.0, 1, &f), SAMC_EINVAL);
    ds.d = 3;
    assert_memory_equal(g, g0, sizeof g);   /* nothing was added on error */
    assert_true(f == 42.0);
    samc_dataset empty = { .n = 0, .d = 3, .n_classes = 3 };
    assert_int_equal(samc_model_evaluate(m, &empty, x, &le, &acc), SAMC_EINVAL);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, g, 1.0, 1, &f), SAMC_OK);
    samc_model_free(m);

    /* logreg takes class indices 0/1 only */
    m = make_model("logreg", 3, 2, 0.0, 1);
    ds.y[0] = 2.0f;
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, NULL, 1.0, 1, &f), SAMC_EINVAL);
    ds.y[0] = -1.0f;
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, 6, x, NULL, 1.0, 1, &f), SAMC_EINVAL);
    samc_model_free(m);
    free_data(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_linear),
        cmocka_unit_test(test_fd_logreg),
        cmocka_unit_test(test_fd_softmax),
        cmocka_unit_test(test_fd_linear_on_classes),
        cmocka_unit_test(test_linear_regresses_on_label_values),
        cmocka_unit_test(test_directional),
        cmocka_unit_test(test_minibatch_accumulation),
        cmocka_unit_test(test_model_oracle),
        cmocka_unit_test(test_row_floats),
        cmocka_unit_test(test_large_batch_gradient),
        cmocka_unit_test(test_l2_term),
        cmocka_unit_test(test_closed_forms_at_zero),
        cmocka_unit_test(test_logreg_extreme_margins),
        cmocka_unit_test(test_evaluate_accuracy),
        cmocka_unit_test(test_evaluate_matches_loss),
        cmocka_unit_test(test_heart_scale_newton),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
