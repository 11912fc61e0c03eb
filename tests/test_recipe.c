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

/* ---- the base update on f = 1/2 sum h_i x_i^2 (gradient h x) ---- */

static const double diag_h[4] = { 1.0, 2.0, 0.5, 4.0 };

static int diag_oracle(void *u, const float *x, float *g, double *loss, int pass)
{
    (void)u, (void)pass;
    double f = 0.0;
    for (int i = 0; i < 4; i++) {
        f += 0.5 * diag_h[i] * x[i] * x[i];
        if (g) g[i] = (float)(diag_h[i] * x[i]);
    }
    *loss = f;
    return 0;
}

static samc_optim *sgd_opt(double momentum, int nesterov, double clip, double wd)
{
    samc_optim_params p = samc_optim_default_params();
    p.momentum = momentum, p.nesterov = nesterov, p.clip = clip, p.weight_decay = wd;
    samc_optim *o;
    assert_int_equal(samc_optim_init(&o, 4, &p, NULL), SAMC_OK);
    return o;
}

/* Nesterov as torch.optim.SGD(nesterov=True): b <- beta b + g, x <- x - lr (g + beta b). */
static void test_nesterov(void **state)
{
    (void)state;
    samc_oracle o = { .n = 4, .loss_grad = diag_oracle };
    samc_optim *opt = sgd_opt(0.9, 1, 0.0, 0.01);
    float x[4] = { 1.0f, -2.0f, 0.5f, 0.25f };
    double xr[4] = { 1.0, -2.0, 0.5, 0.25 }, b[4] = { 0 };
    for (int t = 0; t < 5; t++) {
        assert_int_equal(samc_optim_step(opt, &o, x, 0.1, 0.0, NULL), SAMC_OK);
        for (int i = 0; i < 4; i++) {
            const double g = diag_h[i] * xr[i] + 0.01 * xr[i];
            b[i] = 0.9 * b[i] + g;
            xr[i] -= 0.1 * (g + 0.9 * b[i]);
        }
    }
    /* torch.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), float64 */
    const double torch_x[4] = { -0.1107905895, 0.8327201476, 0.1525975946, -0.0408251005 };
    for (int i = 0; i < 4; i++) {
        assert_close(x[i], xr[i], 1e-5, 1e-7);
        assert_close(x[i], torch_x[i], 1e-5, 1e-6);
    }
    samc_optim_free(opt);
    samc_optim_params p = samc_optim_default_params();
    p.nesterov = 1;   /* without momentum: refused */
    assert_int_equal(samc_optim_params_check(&p, NULL), SAMC_EINVAL);
}

/* Clipping: the direction scaled to norm clip / (||u|| + 1e-6) * ||u||, before the decay. */
static void test_clip(void **state)
{
    (void)state;
    samc_oracle o = { .n = 4, .loss_grad = diag_oracle };
    float x[4] = { 1.0f, -2.0f, 0.5f, 0.25f }, x0[4];
    memcpy(x0, x, sizeof x);
    samc_optim *opt = sgd_opt(0.0, 0, 0.5, 0.1);
    assert_int_equal(samc_optim_step(opt, &o, x, 0.2, 0.0, NULL), SAMC_OK);
    double un = 0.0;
    for (int i = 0; i < 4; i++) un += diag_h[i] * x0[i] * diag_h[i] * x0[i];
    const double c = 0.5 / (sqrt(un) + 1e-6);
    for (int i = 0; i < 4; i++) assert_close(x[i], x0[i] - 0.2 * (c * diag_h[i] * x0[i] + 0.1 * x0[i]), 1e-6, 1e-7);
    samc_optim_free(opt);
    opt = sgd_opt(0.0, 0, 1e6, 0.0);   /* a bound above ||u||: no effect */
    memcpy(x, x0, sizeof x);
    assert_int_equal(samc_optim_step(opt, &o, x, 0.2, 0.0, NULL), SAMC_OK);
    for (int i = 0; i < 4; i++) assert_true(x[i] == (float)((double)x0[i] - 0.2 * (double)(float)(diag_h[i] * x0[i])));
    samc_optim_free(opt);
}

/* Weight-decay groups: with the roles, only weights decay (zero gradient: x <- x (1 - lr wd)). */
static int zero_oracle(void *u, const float *x, float *g, double *loss, int pass)
{
    (void)u, (void)x, (void)pass;
    if (g) memset(g, 0, 4 * sizeof *g);
    *loss = 1.0;
    return 0;
}

static void test_wd_groups(void **state)
{
    (void)state;
    samc_oracle o = { .n = 4, .loss_grad = zero_oracle };
    const unsigned char roles[4] = { 0, 1, 2, 3 };
    for (int grouped = 0; grouped <= 1; grouped++) {
        samc_optim_params p = samc_optim_default_params();
        p.weight_decay = 0.5;
        p.wd_groups = grouped ? SAMC_WD_WEIGHTS : SAMC_WD_ALL;
        samc_optim *opt;
        assert_int_equal(samc_optim_init(&opt, 4, &p, NULL), SAMC_OK);
        assert_int_equal(samc_optim_set_roles(opt, roles, NULL), SAMC_OK);
        float x[4] = { 1, 1, 1, 1 };
        assert_int_equal(samc_optim_step(opt, &o, x, 0.1, 0.0, NULL), SAMC_OK);
        assert_close(x[0], 0.95, 1e-7, 0);
        for (int i = 1; i < 4; i++) assert_close(x[i], grouped ? 1.0 : 0.95, 1e-7, 0);
        const unsigned char bad[4] = { 0, 9, 0, 0 };
        assert_int_equal(samc_optim_set_roles(opt, bad, NULL), SAMC_EINVAL);
        samc_optim_free(opt);
    }
    /* the roles of a softmax regression: K*D weights, then K biases */
    samc_model *m;
    unsigned char r[K * D + K];
    assert_int_equal(samc_model_create(&m, "softmax", D, K, 0.0, 1, NULL), SAMC_OK);
    samc_model_param_roles(m, r);
    for (int i = 0; i < K * D + K; i++) assert_int_equal(r[i], i < K * D ? 0 : 1);
    samc_model_free(m);
}

/* AdamW as torch.optim.AdamW: decoupled decay, bias-corrected moments. */
static void test_adamw(void **state)
{
    (void)state;
    samc_oracle o = { .n = 4, .loss_grad = diag_oracle };
    samc_optim_params p = samc_optim_default_params();
    p.base = SAMC_BASE_ADAMW;
    p.weight_decay = 0.1;
    samc_optim *opt;
    assert_int_equal(samc_optim_init(&opt, 4, &p, NULL), SAMC_OK);
    float x[4] = { 1.0f, -2.0f, 0.5f, 0.25f };
    double xr[4] = { 1.0, -2.0, 0.5, 0.25 }, m[4] = { 0 }, v[4] = { 0 };
    for (int t = 1; t <= 4; t++) {
        assert_int_equal(samc_optim_step(opt, &o, x, 0.05, 0.0, NULL), SAMC_OK);
        for (int i = 0; i < 4; i++) {
            const double g = diag_h[i] * xr[i];
            xr[i] *= 1.0 - 0.05 * 0.1;
            m[i] = 0.9 * m[i] + 0.1 * g;
            v[i] = 0.999 * v[i] + 0.001 * g * g;
            xr[i] -= 0.05 / (1 - pow(0.9, t)) * m[i] / (sqrt(v[i]) / sqrt(1 - pow(0.999, t)) + 1e-8);
        }
    }
    /* torch.optim.AdamW(lr=0.05, weight_decay=0.1) on this problem, float64:
     * 0.7824892976, -1.7621946017, 0.2936755598, 0.0532471115 */
    const double torch_x[4] = { 0.7824892976, -1.7621946017, 0.2936755598, 0.0532471115 };
    for (int i = 0; i < 4; i++) {
        assert_close(x[i], xr[i], 1e-5, 1e-6);
        assert_close(x[i], torch_x[i], 1e-5, 1e-6);
    }
    assert_non_null(samc_optim_get_state(opt).second);
    samc_optim_free(opt);
    p.rule = SAMC_STEP_POLYAK;   /* refused with AdamW */
    samc_errbuf err;
    assert_int_equal(samc_optim_params_check(&p, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "derived for the SGD base"));
}

/* ---- label smoothing: softmax regression and a network ---- */

static void test_label_smoothing(void **state)
{
    (void)state;
    float xs[N * D], ys[N];
    samc_dataset ds;
    make_set(&ds, xs, ys, 9);
    samc_model *m;
    assert_int_equal(samc_model_create(&m, "softmax", D, K, 0.0, 1, NULL), SAMC_OK);
    assert_int_equal(samc_model_set_label_smoothing(m, 0.1, NULL), SAMC_OK);
    float x[K * D + K], g[K * D + K] = { 0 };
    double w[K * D + K], gr[K * D + K], f;
    samc_rng r;
    samc_rng_seed(&r, 4);
    for (int i = 0; i < K * D + K; i++) w[i] = x[i] = (float)samc_rng_normal(&r);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, N, x, g, 1.0, 1, &f), SAMC_OK);
    const double fr = ref_softmax(&ds, w, 0, N, 0.1, gr);
    assert_close(f, fr, 1e-9, 0);
    for (int i = 0; i < K * D + K; i++) assert_close(g[i], gr[i], 1e-5, 1e-7);
    double fe;
    assert_int_equal(samc_model_evaluate(m, &ds, x, &fe, NULL), SAMC_OK);
    assert_close(fe, fr, 1e-9, 0);
    samc_model_free(m);
    /* an MLP: the smoothed loss of its logits, and its gradient by central differences */
    assert_int_equal(samc_model_create(&m, "mlp:5", D, K, 0.0, 1, NULL), SAMC_OK);
    assert_int_equal(samc_model_set_label_smoothing(m, 0.2, NULL), SAMC_OK);
    const size_t np = samc_model_n_params(m);
    float *xn = malloc(np * sizeof *xn), *gn = calloc(np, sizeof *gn), z[N * K];
    samc_model_init_params(m, xn, &r);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, N, xn, gn, 1.0, 1, &f), SAMC_OK);
    assert_int_equal(samc_model_logits(m, &ds, NULL, N, xn, z), SAMC_OK);
    double want = 0.0;
    for (int i = 0; i < N; i++) {
        double zmax = -INFINITY, se = 0.0;
        for (int k = 0; k < K; k++) zmax = fmax(zmax, z[i * K + k]);
        for (int k = 0; k < K; k++) se += exp(z[i * K + k] - zmax);
        for (int k = 0; k < K; k++) {
            const double q = k == (int)ys[i] ? 0.8 : 0.1;
            want += q * (log(q) - (z[i * K + k] - zmax - log(se))) / N;
        }
    }
    assert_close(f, want, 1e-6, 0);
    for (size_t i = 0; i < np; i += np / 7) {
        const float xi = xn[i];
        double fp, fm;
        xn[i] = xi + 1e-2f;
        samc_model_loss_grad(m, &ds, NULL, N, xn, NULL, 1.0, 1, &fp);
        xn[i] = xi - 1e-2f;
        samc_model_loss_grad(m, &ds, NULL, N, xn, NULL, 1.0, 1, &fm);
        xn[i] = xi;
        assert_close(gn[i], (fp - fm) / ((double)(xi + 1e-2f) - (double)(xi - 1e-2f)), 2e-2, 2e-4);
    }
    free(xn);
    free(gn);
    samc_model_free(m);
    assert_int_equal(samc_model_create(&m, "logreg", D, 2, 0.0, 1, NULL), SAMC_OK);
    assert_int_equal(samc_model_set_label_smoothing(m, 0.1, NULL), SAMC_EINVAL);
    samc_model_free(m);
}

/* ---- accumulation and m-sharpness through the trainer ---- */

/* Trains softmax regression on the set with the given recipe; x receives the result. */
static void train_with(samc_train_params *p, const samc_data *data, float *x)
{
    samc_model *m;
    assert_int_equal(samc_model_create(&m, "softmax", D, K, 0.0, 1, NULL), SAMC_OK);
    p->quiet = 1;
    p->progress_s = 0;
    char dir[] = "/tmp/samc-recipe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    samc_errbuf err;
    assert_int_equal(samc_train_run(p, data, m, dir, x, 0, NULL, err), SAMC_OK);
    samc_model_free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_accumulate(void **state)
{
    (void)state;
    float xs[N * D], ys[N], a[K * D + K], b[K * D + K];
    samc_data data;
    memset(&data, 0, sizeof data);
    make_set(&data.train, xs, ys, 11);
    samc_train_params p = samc_train_default_params();
    p.optim.kind = SAMC_OPT_SAM;
    p.epochs = 4;
    p.batch.b0 = 6;
    train_with(&p, &data, a);
    p.batch.b0 = 3;
    p.accumulate = 2;   /* 2 micro-batches of 3 = one batch of 6 */
    assert_int_equal(samc_train_total_steps(&p, N), 8);
    train_with(&p, &data, b);
    for (int i = 0; i < K * D + K; i++) assert_close(b[i], a[i], 1e-5, 1e-6);
}

/* m-sharpness: the step of chunks perturbed each by its own gradient,
 * against the reference of two chunks of six rows (SAM, the Polyak step). */
static void test_m_sharpness(void **state)
{
    (void)state;
    float xs[N * D], ys[N], x[K * D + K];
    samc_data data;
    memset(&data, 0, sizeof data);
    make_set(&data.train, xs, ys, 13);
    samc_train_params p = samc_train_default_params();
    p.optim.kind = SAMC_OPT_SAM;
    p.optim.rule = SAMC_STEP_SCHEDULED;
    p.lr.eta_max = 0.4;
    p.rho.rho_max = 0.2;
    p.batch.b0 = 0;
    p.steps = 2;
    p.m_sharpness = 2;
    train_with(&p, &data, x);
    double w[K * D + K] = { 0 }, g[K * D + K], gp[K * D + K], wp[K * D + K];
    for (int t = 0; t < 2; t++) {
        double u[K * D + K] = { 0 };
        for (int j = 0; j < 2; j++) {
            ref_softmax(&data.train, w, 6 * j, 6 * j + 6, 0.0, g);
            double gn = 0.0;
            for (int i = 0; i < K * D + K; i++) gn += g[i] * g[i];
            for (int i = 0; i < K * D + K; i++) wp[i] = w[i] + 0.2 * g[i] / (sqrt(gn) + 1e-12);
            ref_softmax(&data.train, wp, 6 * j, 6 * j + 6, 0.0, gp);
            for (int i = 0; i < K * D + K; i++) u[i] += 0.5 * gp[i];
        }
        for (int i = 0; i < K * D + K; i++) w[i] -= 0.4 * u[i];
    }
    for (int i = 0; i < K * D + K; i++) assert_close(x[i], w[i], 1e-5, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asam_bias_trainer),
        cmocka_unit_test(test_decsps_keeps_bound),
        cmocka_unit_test(test_nesterov),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_wd_groups),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_label_smoothing),
        cmocka_unit_test(test_accumulate),
        cmocka_unit_test(test_m_sharpness),
    };
    return cmocka_run_group_tests_name("recipe", tests, NULL, NULL);
}
