/*
 * test_recipe.c -- the training recipe against closed forms and float64
 * references (docs/MATH.md section 1): ASAM's scaling of weights only, the
 * DecSPS bound kept over a non-positive numerator, label smoothing,
 * weight-decay groups, clipping, Nesterov, AdamW, gradient accumulation and
 * m-sharpness in one process.
 */
#include "testutil.h"
#include "model/roles.h"

#include <unistd.h>

enum { N = 12, D = 3, K = 3 };

/* A small classification set: x ~ N(0,1), labels i % K. */
static void make_set(samc_dataset *ds, float *x, float *y, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (int i = 0; i < N * D; i++) x[i] = (float)samc_rng_normal(&r);
    for (int i = 0; i < N; i++) y[i] = (float)(i % K);
    memset(ds, 0, sizeof *ds);
    ds->n = N, ds->d = D, ds->x = x, ds->y = y, ds->n_classes = K;
}

/* Mean smoothed cross-entropy of softmax regression (W K x D, then b[K]) on
 * rows [lo, hi), in double, and its gradient into g (K*D + K). */
static double ref_softmax(const samc_dataset *ds, const double *w, size_t lo, size_t hi, double eps, double *g)
{
    const double o = eps / (K - 1);
    double f = 0.0;
    memset(g, 0, (K * D + K) * sizeof *g);
    for (size_t i = lo; i < hi; i++) {
        double z[K], zmax = -INFINITY, se = 0.0;
        const int y = (int)ds->y[i];
        for (int k = 0; k < K; k++) {
            z[k] = w[K * D + k];
            for (int j = 0; j < D; j++) z[k] += w[k * D + j] * ds->x[i * D + j];
            zmax = fmax(zmax, z[k]);
        }
        for (int k = 0; k < K; k++) se += exp(z[k] - zmax);
        for (int k = 0; k < K; k++) {
            const double q = k == y ? 1.0 - eps : o, p = exp(z[k] - zmax) / se;
            if (q > 0) f += q * (log(q) - log(p));
            for (int j = 0; j < D; j++) g[k * D + j] += (p - q) * ds->x[i * D + j] / (double)(hi - lo);
            g[K * D + k] += (p - q) / (double)(hi - lo);
        }
    }
    return f / (double)(hi - lo);
}

/* ---- ASAM: T = |w| + eta on the weights, 1 on the bias ---- */

static void test_asam_bias_trainer(void **state)
{
    (void)state;
    float xs[N * D], ys[N];
    samc_data data;
    memset(&data, 0, sizeof data);
    make_set(&data.train, xs, ys, 5);
    samc_model *m;
    assert_int_equal(samc_model_create(&m, "softmax", D, K, 0.0, 1, NULL), SAMC_OK);
    samc_train_params p = samc_train_default_params();
    p.optim.kind = SAMC_OPT_ASAM;
    p.optim.rule = SAMC_STEP_SCHEDULED;
    p.lr.eta_max = 0.5;
    p.rho.rho_max = 0.3;
    p.batch.b0 = 0;   /* the full batch: the reference needs no shuffle */
    p.steps = 3;
    p.quiet = 1;
    p.progress_s = 0;
    char dir[] = "/tmp/samc-asam-XXXXXX";
    assert_non_null(mkdtemp(dir));
    float x[K * D + K];
    samc_errbuf err;
    assert_int_equal(samc_train_run(&p, &data, m, dir, x, 0, NULL, err), SAMC_OK);
    double w[K * D + K] = { 0 }, g[K * D + K], gp[K * D + K], wp[K * D + K];
    for (int t = 0; t < 3; t++) {   /* the official semantics, in double */
        ref_softmax(&data.train, w, 0, N, 0.0, g);
        double tg2 = 0.0, T[K * D + K];
        for (int i = 0; i < K * D + K; i++) {
            T[i] = i < K * D ? fabs(w[i]) + 0.01 : 1.0;
            tg2 += T[i] * T[i] * g[i] * g[i];
        }
        for (int i = 0; i < K * D + K; i++) wp[i] = w[i] + 0.3 * T[i] * T[i] * g[i] / (sqrt(tg2) + 1e-12);
        ref_softmax(&data.train, wp, 0, N, 0.0, gp);
        for (int i = 0; i < K * D + K; i++) w[i] -= 0.5 * gp[i];
    }
    for (int i = 0; i < K * D + K; i++) assert_close(x[i], w[i], 1e-5, 1e-6);
    samc_model_free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- DecSPS: a non-positive numerator is a zero step and keeps the bound ---- */

typedef struct scripted { const double *f; int t; } scripted;

static int scripted_oracle(void *u, const float *x, float *g, double *loss, int pass)
{
    (void)x, (void)pass;
    scripted *s = u;
    *loss = s->f[s->t++];
    if (g) g[0] = 1.0f;   /* ||g||^2 = 1: sps = f - l* */
    return 0;
}

static void test_decsps_keeps_bound(void **state)
{
    (void)state;
    const double f[] = { 1.0, -1.0, 2.0, 0.0, 0.25 };
    scripted s = { f, 0 };
    samc_oracle o = { .n = 1, .loss_grad = scripted_oracle, .user = &s };
    samc_optim_params p = samc_optim_default_params();
    p.rule = SAMC_STEP_DECSPS;
    p.polyak_cap = 10.0;   /* c_{-1} gamma_{-1} = 10 */
    samc_optim *opt;
    assert_int_equal(samc_optim_init(&opt, 1, &p, NULL), SAMC_OK);
    /* c_k gamma_k: min(1, 10) = 1; kept; min(2, 1) = 1; kept; min(0.25, 1) */
    const double want[] = { 1.0, 0.0, 1.0 / sqrt(3.0), 0.0, 0.25 / sqrt(5.0) };
    float x[1] = { 0.0f };
    for (int k = 0; k < 5; k++) {
        samc_step_info info;
        assert_int_equal(samc_optim_step(opt, &o, x, 0.0, 0.0, &info), SAMC_OK);
        assert_close(info.step, want[k], 1e-12, 0);
    }
    assert_close(samc_optim_get_state(opt).decsps_prev, 0.25, 1e-12, 0);
    samc_optim_free(opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asam_bias_trainer),
        cmocka_unit_test(test_decsps_keeps_bound),
    };
    return cmocka_run_group_tests_name("recipe", tests, NULL, NULL);
}
