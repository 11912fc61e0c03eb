/*
 * test_engines.c -- the oneDNN engine (src/nn/dnnl_engine.c) against the
 * reference engine (im2col + SGEMM, src/nn/network.c) on every network
 * model: each layer's output and its gradient, the logits, the loss, every
 * parameter gradient and the BatchNorm running statistics in the three
 * modes (SAM's first pass, its second, evaluation), and three SAM steps.
 * Differences are measured relative to the largest magnitude of the
 * reference vector (max |a - b| / max |b|) and must stay within TOL; the
 * engines differ only in the order of float sums.
 */
#include "testutil.h"

#include <stdint.h>

#include "model/model_internal.h"
#include "nn/nn.h"

#define TOL 1e-5

typedef struct arch {
    const char *spec;
    int C, H, W;
} arch;

/* Every network model, on images small enough for a quick test (odd sizes
 * exercise the floor rule of strided convolutions and pools). */
static const arch ARCHS[] = {
    { "mlp:32,16", 3, 8, 8 },
    { "cnn", 1, 12, 12 },
    { "cnn", 3, 9, 10 },
    { "resnet:8", 3, 8, 8 },
    { "resnet:14", 3, 9, 9 },
};
#define N_ARCHS (sizeof ARCHS / sizeof ARCHS[0])

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static samc_dataset make_data(const arch *a, size_t n, int K, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    samc_dataset ds = { 0 };
    ds.n = n;
    ds.d = (size_t)a->C * a->H * a->W;
    ds.n_classes = K;
    ds.channels = a->C;
    ds.height = a->H;
    ds.width = a->W;
    ds.x = falloc(n * ds.d);
    ds.y = falloc(n);
    for (size_t i = 0; i < n * ds.d; i++) ds.x[i] = (float)(1.5 * samc_rng_normal(&r) + 0.3);
    for (size_t i = 0; i < n; i++) ds.y[i] = (float)samc_rng_below(&r, (uint64_t)K);
    return ds;
}

static samc_model *make_model(const char *spec, const samc_dataset *ds, int engine)
{
    samc_model *m = NULL;
    samc_errbuf err = "";
    if (samc_model_create_for(&m, spec, ds, 1e-4, 1, err) != SAMC_OK)
        fail_msg("samc_model_create_for(%s): %s", spec, err);
    assert_int_equal(nn_net_set_engine(m->priv, engine), engine);
    return m;
}

/* max |a - b| / max |b| (0 when both are 0). */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - b[i]);
        if (e > d || isnan(e)) d = isnan(e) ? INFINITY : e;
        if (fabs((double)b[i]) > s) s = fabs((double)b[i]);
    }
    return d == 0.0 ? 0.0 : d / (s > 0.0 ? s : 1e-30);
}

static double check(const char *what, const char *spec, const float *a, const float *b,
                    size_t n, double *worst)
{
    const double d = rel_diff(a, b, n);
    if (d > *worst) *worst = d;
    if (!(d <= TOL)) fail_msg("%s %s: relative difference %.3g > %g", spec, what, d, TOL);
    return d;
}

/* Each layer's output and (with grad) its gradient, engine against engine. */
static void compare_tensors(const char *spec, nn_net *ref, nn_net *fast, int N, int grad,
                            double *worst)
{
    for (int t = 0; t < nn_net_n_tensors(ref); t++) {
        int C, H, W;
        nn_net_tensor_shape(ref, t, &C, &H, &W);
        const size_t n = (size_t)N * C * H * W;
        float *a = falloc(n), *b = falloc(n);
        char what[64];
        for (int diff = 0; diff <= grad; diff++) {
            if (diff && t == 0) continue;
            assert_int_equal(nn_net_read_tensor(ref, t, N, diff, b), 0);
            assert_int_equal(nn_net_read_tensor(fast, t, N, diff, a), 0);
            snprintf(what, sizeof what, "%s of tensor %d (%dx%dx%d)", diff ? "gradient" : "value",
                     t, C, H, W);
            check(what, spec, a, b, n, worst);
        }
        free(a);
        free(b);
    }
}

/* One loss + gradient in pass `pass` on both; compares everything. */
static void compare_pass(const arch *a, samc_model *ref, samc_model *fast,
                         const samc_dataset *ds, size_t nb, const float *x, int pass,
                         double *worst)
{
    const size_t np = samc_model_n_params(ref), nbuf = samc_model_n_buffers(ref);
    float *ga = falloc(np), *gb = falloc(np);
    double la = 0, lb = 0;
    samc_model_set_pass(ref, pass);
    samc_model_set_pass(fast, pass);
    assert_int_equal(samc_model_loss_grad(ref, ds, NULL, nb, x, gb, 1.0, 1, &lb), SAMC_OK);
    assert_int_equal(samc_model_loss_grad(fast, ds, NULL, nb, x, ga, 1.0, 1, &la), SAMC_OK);
    assert_int_equal(nn_net_engine(fast->priv), NN_ENGINE_DNNL);   /* no fallback */
    compare_tensors(a->spec, ref->priv, fast->priv, (int)nb, 1, worst);
    float fl = (float)la, rl = (float)lb;
    check("loss", a->spec, &fl, &rl, 1, worst);
    check("parameter gradient", a->spec, ga, gb, np, worst);
    if (nbuf)
        check("BatchNorm running statistics", a->spec, samc_model_buffers(fast),
              samc_model_buffers(ref), nbuf, worst);
    free(ga);
    free(gb);
}

static void test_layers_and_gradients(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ARCHS; k++) {
        const arch *a = &ARCHS[k];
        samc_dataset ds = make_data(a, 13, 4, 100 + k);
        samc_model *ref = make_model(a->spec, &ds, NN_ENGINE_REF);
        samc_model *fast = make_model(a->spec, &ds, NN_ENGINE_DNNL);
        const size_t np = samc_model_n_params(ref);
        float *x = falloc(np);
        samc_rng r;
        samc_rng_seed(&r, 7 + k);
        samc_model_init_params(ref, x, &r);
        double worst = 0.0;
        /* pass 1 twice (running statistics move), pass 2, evaluation mode;
         * batches of 13 and 6 rows */
        const int passes[] = { 1, 1, 2, 0 };
        for (int p = 0; p < 4; p++)
            compare_pass(a, ref, fast, &ds, p == 1 ? 6 : 13, x, passes[p], &worst);
        float *la = falloc(13 * 4), *lb = falloc(13 * 4);
        assert_int_equal(samc_model_logits(ref, &ds, NULL, 13, x, lb), SAMC_OK);
        assert_int_equal(samc_model_logits(fast, &ds, NULL, 13, x, la), SAMC_OK);
        check("evaluation logits", a->spec, la, lb, 13 * 4, &worst);
        print_message("    %-10s %dx%dx%d: max relative difference %.2g\n", a->spec, a->C, a->H,
                      a->W, worst);
        free(la);
        free(lb);
        free(x);
        samc_model_free(ref);
        samc_model_free(fast);
        free(ds.x);
        free(ds.y);
    }
}

typedef struct octx {
    samc_model *m;
    const samc_dataset *ds;
    size_t np;
} octx;

static int oracle(void *u, const float *x, float *g, double *loss, int pass)
{
    octx *c = u;
    samc_model_set_pass(c->m, pass);
    if (g) memset(g, 0, c->np * sizeof *g);
    return samc_model_loss_grad(c->m, c->ds, NULL, c->ds->n, x, g, 1.0, 1, loss) == SAMC_OK ? 0
                                                                                            : -1;
}

/* Three SAM steps from the same start: the parameters and running
 * statistics agree afterwards. */
static void test_sam_steps(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ARCHS; k++) {
        const arch *a = &ARCHS[k];
        samc_dataset ds = make_data(a, 16, 4, 200 + k);
        samc_model *m[2] = { make_model(a->spec, &ds, NN_ENGINE_REF),
                             make_model(a->spec, &ds, NN_ENGINE_DNNL) };
        const size_t np = samc_model_n_params(m[0]);
        float *x[2] = { falloc(np), falloc(np) };
        samc_rng r;
        samc_rng_seed(&r, 9 + k);
        samc_model_init_params(m[0], x[0], &r);
        memcpy(x[1], x[0], np * sizeof *x[0]);
        for (int e = 0; e < 2; e++) {
            samc_optim_params p = samc_optim_default_params();
            p.kind = SAMC_OPT_SAM;
            p.momentum = 0.9;
            samc_optim *o;
            samc_errbuf err;
            assert_int_equal(samc_optim_init(&o, np, &p, err), SAMC_OK);
            octx c = { m[e], &ds, np };
            samc_oracle orc = { .n = np, .loss_grad = oracle, .user = &c };
            for (int t = 0; t < 3; t++)
                assert_int_equal(samc_optim_step(o, &orc, x[e], 0.02, 0.05, NULL), SAMC_OK);
            samc_optim_free(o);
        }
        double worst = 0.0;
        check("parameters after 3 SAM steps", a->spec, x[1], x[0], np, &worst);
        if (samc_model_n_buffers(m[0]))
            check("running statistics after 3 SAM steps", a->spec, samc_model_buffers(m[1]),
                  samc_model_buffers(m[0]), samc_model_n_buffers(m[0]), &worst);
        print_message("    %-10s 3 SAM steps: max relative difference %.2g\n", a->spec, worst);
        for (int e = 0; e < 2; e++) {
            free(x[e]);
            samc_model_free(m[e]);
        }
        free(ds.x);
        free(ds.y);
    }
}

/* SAMC_ENGINE picks the engine at model creation (auto, empty or unset:
 * oneDNN for a network with convolutions, the reference engine for an MLP);
 * an unknown name is an error that names the variable. */
static void test_engine_variable(void **state)
{
    (void)state;
    const arch a = { "cnn", 1, 8, 8 };
    samc_dataset ds = make_data(&a, 4, 3, 5);
    const char *names[] = { "ref", "dnnl", "", "auto", NULL };
    const char *models[] = { "cnn", "mlp:8" };
    const int want[2][5] = { { NN_ENGINE_REF, NN_ENGINE_DNNL, NN_ENGINE_DNNL, NN_ENGINE_DNNL, NN_ENGINE_DNNL },
                             { NN_ENGINE_REF, NN_ENGINE_DNNL, NN_ENGINE_REF, NN_ENGINE_REF, NN_ENGINE_REF } };
    for (int j = 0; j < 2; j++)
        for (int k = 0; k < 5; k++) {
            if (names[k]) setenv("SAMC_ENGINE", names[k], 1);
            else unsetenv("SAMC_ENGINE");
            samc_model *m = NULL;
            samc_errbuf err = "";
            assert_int_equal(samc_model_create_for(&m, models[j], &ds, 0.0, 1, err), SAMC_OK);
            assert_int_equal(nn_net_engine(m->priv), want[j][k]);
            samc_model_free(m);
        }
    setenv("SAMC_ENGINE", "mkl", 1);
    samc_model *m = NULL;
    samc_errbuf err = "";
    assert_int_not_equal(samc_model_create_for(&m, "resnet:8", &ds, 0.0, 1, err), SAMC_OK);
    assert_null(m);
    assert_non_null(strstr(err, "SAMC_ENGINE=mkl"));
    unsetenv("SAMC_ENGINE");
    free(ds.x);
    free(ds.y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_variable),
        cmocka_unit_test(test_layers_and_gradients),
        cmocka_unit_test(test_sam_steps),
    };
    return cmocka_run_group_tests_name("engines", tests, NULL, NULL);
}
