/*
 * test_nn.c -- tests of the network layers (src/nn) and the network models
 * mlp, cnn, resnet (src/model/net.c): per-layer central finite differences
 * of input and parameter gradients, the im2col+GEMM convolution against the
 * direct-loop reference, whole-model directional derivatives through
 * samc_model_loss_grad, BatchNorm modes and running statistics, gradient
 * accumulation, parameter counts, batch-size changes, logits and errors.
 *
 * SAMC_NN_BENCH=1 in the environment also prints a rough timing of one
 * forward+backward (cnn on 1x28x28 and resnet:8 on 3x32x32, batch 128).
 */
#include "testutil.h"

#include <stdint.h>
#include <time.h>

#include "model/model_internal.h"
#include "nn/net_internal.h"

/* ----------------------------------------------------------------- helpers */

static void randn(float *a, size_t n, double sd, samc_rng *r)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)(sd * samc_rng_normal(r));
}

static double nrm2(const float *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

/* n rows of C x H x W (C*H*W = d; H = W = 0: flat rows of d), N(0,1)
 * features, labels uniform on 0..K-1. */
static samc_dataset make_data(size_t n, size_t d, int C, int H, int W, int K, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    samc_dataset ds = { 0 };
    ds.n = n;
    ds.d = d;
    ds.n_classes = K;
    ds.channels = C;
    ds.height = H;
    ds.width = W;
    ds.x = falloc(n * d);
    ds.y = falloc(n);
    randn(ds.x, n * d, 1.0, &r);
    for (size_t i = 0; i < n; i++) ds.y[i] = (float)samc_rng_below(&r, (uint64_t)K);
    return ds;
}

static void free_data(samc_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

static samc_model *make_model(const char *spec, const samc_dataset *ds, double l2)
{
    samc_model *m = NULL;
    samc_errbuf err = "";
    samc_status st = samc_model_create_for(&m, spec, ds, l2, 1, err);
    if (st != SAMC_OK) fail_msg("samc_model_create_for(%s): %s", spec, err);
    assert_non_null(m);
    return m;
}

static float *init_params(const samc_model *m, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    float *x = falloc(samc_model_n_params(m));
    samc_model_init_params(m, x, &r);
    return x;
}

static double loss_of(const samc_model *m, const samc_dataset *ds, const size_t *idx,
                      size_t nb, const float *x, float *g)
{
    double f = NAN;
    assert_int_equal(samc_model_loss_grad(m, ds, idx, nb, x, g, 1.0, 1, &f), SAMC_OK);
    return f;
}

/* ------------------------------------------------- per-layer gradient checks */

/* A layer as a function y = f(x, p); the checked scalar is L = sum_i c_i y_i
 * for a fixed random c, so dL/dy = c is what backward receives. */
typedef struct layer_case layer_case;
struct layer_case {
    const char *name;
    size_t nx, np, ny;
    void (*fwd)(layer_case *lc, const float *x, const float *p, float *y);
    void (*bwd)(layer_case *lc, const float *x, const float *p, const float *dy,
                float *dx, float *dp);
    /* 1 if x[i] sits within 2h of a kink (ReLU at 0, a max-pool near-tie) */
    int (*kink)(const layer_case *lc, const float *x, size_t i, double h);
    int N, C, H, W, Co, k, s, pad, bias, in, out;
    nn_conv_geom g;
    float *scratch;
    double mean[64], invstd[64];
    float *tmp;
};

static double proj(const float *c, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)c[i] * (double)y[i];
    return s;
}

/* Central differences of L in every element of x and p against backward
 * (which must ADD into dx and dp: they start non-zero here). */
static void fd_layer(layer_case *lc, uint64_t seed, double h, double xsd, double psd)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    float *x = falloc(lc->nx), *p = falloc(lc->np), *c = falloc(lc->ny), *y = falloc(lc->ny);
    float *dx = falloc(lc->nx), *dp = falloc(lc->np), *xv = falloc(lc->nx), *pv = falloc(lc->np);
    randn(x, lc->nx, xsd, &r);
    randn(p, lc->np, psd, &r);
    randn(c, lc->ny, 1.0, &r);
    for (size_t i = 0; i < lc->nx; i++) dx[i] = 0.25f;
    for (size_t i = 0; i < lc->np; i++) dp[i] = -0.5f;
    lc->fwd(lc, x, p, y);
    lc->bwd(lc, x, p, c, dx, dp);
    for (size_t i = 0; i < lc->nx; i++) dx[i] -= 0.25f;
    for (size_t i = 0; i < lc->np; i++) dp[i] += 0.5f;
    if (!(nrm2(dx, lc->nx) > 1e-3))
        fail_msg("%s: input gradient norm %g is trivially small", lc->name, nrm2(dx, lc->nx));
    if (lc->np && !(nrm2(dp, lc->np) > 1e-3))
        fail_msg("%s: parameter gradient norm %g is trivially small", lc->name, nrm2(dp, lc->np));

    size_t checked = 0, skipped = 0;
    double worst = 0.0;
    for (int which = 0; which < 2; which++) {
        float *v = which ? pv : xv, *base = which ? p : x, *grad = which ? dp : dx;
        const size_t n = which ? lc->np : lc->nx;
        for (size_t i = 0; i < n; i++) {
            if (!which && lc->kink && lc->kink(lc, x, i, h)) {
                skipped++;
                continue;
            }
            memcpy(v, base, n * sizeof *v);
            const float *xa = which ? x : xv, *pa = which ? pv : p;
            v[i] = (float)((double)base[i] + h);
            const double hp = (double)v[i] - (double)base[i];
            lc->fwd(lc, xa, pa, y);
            const double fp = proj(c, y, lc->ny);
            v[i] = (float)((double)base[i] - h);
            const double hm = (double)base[i] - (double)v[i];
            lc->fwd(lc, xa, pa, y);
            const double fm = proj(c, y, lc->ny);
            const double fd = (fp - fm) / (hp + hm);
            const double e = fabs(fd - grad[i]);
            if (e / (1e-3 + fabs(fd)) > worst) worst = e / (1e-3 + fabs(fd));
            if (!(e <= 2e-3 + 1e-2 * fabs(fd)))
                fail_msg("%s: d%s[%zu] = %.7g, finite difference %.7g", lc->name,
                         which ? "p" : "x", i, (double)grad[i], fd);
            checked++;
        }
    }
    if (skipped > checked / 2)
        fail_msg("%s: %zu elements skipped as kinks, only %zu checked", lc->name, skipped, checked);
    print_message("    %-28s %5zu checked, %3zu kinks skipped, worst rel. error %.1e\n",
                  lc->name, checked, skipped, worst);
    free(x); free(p); free(c); free(y); free(dx); free(dp); free(xv); free(pv);
}

/* linear */
static void lin_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    nn_linear_forward(x, p, p + (size_t)lc->out * lc->in, y, lc->N, lc->in, lc->out);
}
static void lin_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                    float *dx, float *dp)
{
    nn_linear_backward(x, p, dy, dx, dp, dp + (size_t)lc->out * lc->in, lc->N, lc->in, lc->out);
}

static void test_fd_linear(void **state)
{
    (void)state;
    layer_case lc = { .name = "linear 4x7 -> 5", .N = 4, .in = 7, .out = 5,
                      .fwd = lin_fwd, .bwd = lin_bwd };
    lc.nx = 4 * 7;
    lc.np = 5 * 7 + 5;
    lc.ny = 4 * 5;
    fd_layer(&lc, 1, 1e-2, 1.0, 0.5);
}

/* conv2d */
static void conv_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    const size_t nw = (size_t)lc->g.Co * lc->g.C * lc->g.k * lc->g.k;
    nn_conv_forward(&lc->g, x, p, lc->bias ? p + nw : NULL, y, lc->N, lc->scratch);
}
static void conv_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                     float *dx, float *dp)
{
    const size_t nw = (size_t)lc->g.Co * lc->g.C * lc->g.k * lc->g.k;
    nn_conv_backward(&lc->g, x, p, dy, dx, dp, lc->bias ? dp + nw : NULL, lc->N, lc->scratch);
}

static void conv_case(int N, int C, int H, int W, int Co, int k, int s, int pad, int bias,
                      uint64_t seed)
{
    char name[64];
    snprintf(name, sizeof name, "conv %dx%d s%d p%d %s", k, k, s, pad, bias ? "bias" : "no bias");
    layer_case lc = { .name = name, .N = N, .bias = bias, .fwd = conv_fwd, .bwd = conv_bwd };
    assert_int_equal(nn_conv_geom_init(&lc.g, C, H, W, Co, k, s, pad), 0);
    assert_int_equal(lc.g.Ho, (H + 2 * pad - k) / s + 1);
    lc.nx = (size_t)N * C * H * W;
    lc.np = (size_t)Co * C * k * k + (bias ? (size_t)Co : 0);
    lc.ny = (size_t)N * Co * lc.g.Ho * lc.g.Wo;
    lc.scratch = falloc(nn_conv_scratch(&lc.g));
    fd_layer(&lc, seed, 1e-2, 1.0, 0.5);
    free(lc.scratch);
}

static void test_fd_conv(void **state)
{
    (void)state;
    conv_case(2, 3, 6, 5, 4, 3, 1, 1, 1, 2);
    conv_case(2, 3, 7, 6, 4, 3, 2, 1, 0, 3);
    conv_case(2, 2, 6, 6, 3, 3, 1, 0, 0, 4);
    conv_case(2, 2, 7, 7, 3, 3, 2, 0, 1, 5);
    conv_case(3, 4, 5, 5, 3, 1, 2, 0, 0, 6);   /* the resnet shortcut: 1x1, stride 2 */
}

/* relu */
static void relu_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    (void)p;
    nn_relu_forward(x, y, lc->nx);
}
static void relu_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                     float *dx, float *dp)
{
    (void)p; (void)dp;
    nn_relu_backward(x, dy, dx, lc->nx);
}
static int relu_kink(const layer_case *lc, const float *x, size_t i, double h)
{
    (void)lc;
    return fabs(x[i]) < 2.0 * h;
}

static void test_fd_relu(void **state)
{
    (void)state;
    layer_case lc = { .name = "relu", .nx = 60, .ny = 60, .fwd = relu_fwd, .bwd = relu_bwd,
                      .kink = relu_kink };
    fd_layer(&lc, 7, 1e-2, 1.0, 0.0);
}

/* max pool */
static void pool_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    (void)p;
    nn_maxpool_forward(x, y, lc->N, lc->C, lc->H, lc->W, lc->k, lc->s);
}
static void pool_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                     float *dx, float *dp)
{
    (void)p; (void)dp;
    nn_maxpool_backward(x, dy, dx, lc->N, lc->C, lc->H, lc->W, lc->k, lc->s);
}
/* x[i] is in a window whose two largest values are within 3h. */
static int pool_kink(const layer_case *lc, const float *x, size_t i, double h)
{
    const size_t plane = (size_t)lc->H * lc->W, base = i / plane * plane, at = i % plane;
    const int ih = (int)(at / (size_t)lc->W), iw = (int)(at % (size_t)lc->W);
    const int Ho = (lc->H - lc->k) / lc->s + 1, Wo = (lc->W - lc->k) / lc->s + 1;
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) {
            if (ih < oh * lc->s || ih >= oh * lc->s + lc->k) continue;
            if (iw < ow * lc->s || iw >= ow * lc->s + lc->k) continue;
            double m1 = -INFINITY, m2 = -INFINITY;
            for (int a = 0; a < lc->k; a++)
                for (int b = 0; b < lc->k; b++) {
                    double v = x[base + (size_t)(oh * lc->s + a) * lc->W + (size_t)(ow * lc->s + b)];
                    if (v > m1) { m2 = m1; m1 = v; } else if (v > m2) m2 = v;
                }
            if (m1 - m2 < 3.0 * h) return 1;
        }
    return 0;
}

static void pool_case(int k, int s, int H, int W, uint64_t seed)
{
    char name[64];
    snprintf(name, sizeof name, "maxpool %dx%d s%d on %dx%d", k, k, s, H, W);
    layer_case lc = { .name = name, .N = 2, .C = 3, .H = H, .W = W, .k = k, .s = s,
                      .fwd = pool_fwd, .bwd = pool_bwd, .kink = pool_kink };
    lc.nx = (size_t)2 * 3 * H * W;
    lc.ny = (size_t)2 * 3 * ((H - k) / s + 1) * ((W - k) / s + 1);
    fd_layer(&lc, seed, 1e-2, 1.0, 0.0);
}

static void test_fd_maxpool(void **state)
{
    (void)state;
    pool_case(2, 2, 6, 5, 8);   /* the 2x2 fast path; odd width floors */
    pool_case(3, 2, 7, 7, 9);   /* overlapping windows: the general path */
}

/* The forward value and the first-max tie rule. */
static void test_maxpool_ties(void **state)
{
    (void)state;
    float x[8] = { 1, 3, 5, 5,
                   3, 2, 5, 4 };   /* 1 x 1 x 2 x 4 */
    float y[2], dy[2] = { 1, 10 }, dx[8] = { 0 };
    nn_maxpool_forward(x, y, 1, 1, 2, 4, 2, 2);
    assert_true(y[0] == 3.0f && y[1] == 5.0f);
    nn_maxpool_backward(x, dy, dx, 1, 1, 2, 4, 2, 2);
    /* window 0: 3 at (0,1) first; window 1: the first 5 at (0,2) */
    const float want[8] = { 0, 1, 10, 0, 0, 0, 0, 0 };
    for (int i = 0; i < 8; i++) assert_true(dx[i] == want[i]);
}

/* global average pool */
static void gap_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    (void)p;
    nn_gap_forward(x, y, lc->N, lc->C, lc->H * lc->W);
}
static void gap_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                    float *dx, float *dp)
{
    (void)x; (void)p; (void)dp;
    nn_gap_backward(dy, dx, lc->N, lc->C, lc->H * lc->W);
}

static void test_fd_gap(void **state)
{
    (void)state;
    layer_case lc = { .name = "global average pool", .N = 2, .C = 3, .H = 3, .W = 4,
                      .fwd = gap_fwd, .bwd = gap_bwd };
    lc.nx = 2 * 3 * 12;
    lc.ny = 2 * 3;
    fd_layer(&lc, 10, 1e-2, 1.0, 0.0);
}

/* residual add: x = [a; b] */
static void add_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    (void)p;
    nn_add_forward(x, x + lc->ny, y, lc->ny);
}
static void add_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                    float *dx, float *dp)
{
    (void)x; (void)p; (void)dp;
    nn_add_backward(dy, dx, dx + lc->ny, lc->ny);
}

static void test_fd_add(void **state)
{
    (void)state;
    layer_case lc = { .name = "residual add", .nx = 40, .ny = 20, .fwd = add_fwd, .bwd = add_bwd };
    fd_layer(&lc, 11, 1e-2, 1.0, 0.0);
}

/* batchnorm, training mode; p = gamma [C], beta [C] */
static void bn_fwd(layer_case *lc, const float *x, const float *p, float *y)
{
    nn_bn_forward_train(x, p, p + lc->C, y, lc->N, lc->C, lc->H * lc->W, 1e-5, lc->mean,
                        lc->invstd, NULL, NULL, 0.1);
}
static void bn_bwd(layer_case *lc, const float *x, const float *p, const float *dy,
                   float *dx, float *dp)
{
    bn_fwd(lc, x, p, lc->tmp);   /* the saved statistics of this x */
    nn_bn_backward(x, p, lc->mean, lc->invstd, dy, dx, dp, dp + lc->C, lc->N, lc->C,
                   lc->H * lc->W);
}

static void test_fd_batchnorm(void **state)
{
    (void)state;
    layer_case lc = { .name = "batchnorm (train mode)", .N = 3, .C = 4, .H = 2, .W = 3,
                      .fwd = bn_fwd, .bwd = bn_bwd };
    lc.nx = lc.ny = 3 * 4 * 6;
    lc.np = 8;
    lc.tmp = falloc(lc.ny);
    fd_layer(&lc, 12, 1e-2, 1.0, 1.0);
    /* 1 x 1 images: the statistics over the batch only */
    layer_case l2 = { .name = "batchnorm N=5, 1x1", .N = 5, .C = 3, .H = 1, .W = 1,
                      .fwd = bn_fwd, .bwd = bn_bwd };
    l2.nx = l2.ny = 15;
    l2.np = 6;
    l2.tmp = falloc(l2.ny);
    fd_layer(&l2, 13, 1e-2, 1.0, 1.0);
    free(lc.tmp);
    free(l2.tmp);
}

/* Forward values of both modes and the running-statistics update, from the
 * definitions (biased variance to normalize, unbiased in the running var). */
static void test_batchnorm_values(void **state)
{
    (void)state;
    enum { N = 3, C = 2, P = 4 };
    samc_rng r;
    samc_rng_seed(&r, 14);
    float x[N * C * P], y[N * C * P], g[C] = { 1.5f, -0.5f }, b[C] = { 0.25f, 2.0f };
    float rm[C] = { 0.0f, 1.0f }, rv[C] = { 1.0f, 2.0f };
    double sm[C], si[C];
    randn(x, N * C * P, 2.0, &r);
    for (int i = 0; i < N * C * P; i++) x[i] += 3.0f;
    nn_bn_forward_train(x, g, b, y, N, C, P, 1e-5, sm, si, rm, rv, 0.1);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < P; i++) s += x[(n * C + c) * P + i];
        const double mu = s / (N * P);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < P; i++) ss += pow(x[(n * C + c) * P + i] - mu, 2);
        const double var = ss / (N * P), unb = ss / (N * P - 1);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < P; i++) {
                const int at = (n * C + c) * P + i;
                assert_close(y[at], g[c] * (x[at] - mu) / sqrt(var + 1e-5) + b[c], 1e-5, 1e-5);
            }
        assert_close(rm[c], 0.9 * (c ? 1.0 : 0.0) + 0.1 * mu, 1e-6, 1e-7);
        assert_close(rv[c], 0.9 * (c ? 2.0 : 1.0) + 0.1 * unb, 1e-6, 1e-7);
    }
    nn_bn_forward_eval(x, g, b, rm, rv, y, N, C, P, 1e-5, NULL, NULL);
    for (int c = 0; c < C; c++)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < P; i++) {
                const int at = (n * C + c) * P + i;
                assert_close(y[at], g[c] * (x[at] - rm[c]) / sqrt(rv[c] + 1e-5) + b[c], 1e-5, 1e-5);
            }
}

/* softmax cross-entropy: dz against differences of the summed loss. */
static void test_fd_softmax_xent(void **state)
{
    (void)state;
    enum { N = 5, K = 4 };
    samc_rng r;
    samc_rng_seed(&r, 15);
    float z[N * K], dz[N * K], zv[N * K];
    int lab[N] = { 0, 3, 1, 1, 2 };
    randn(z, N * K, 2.0, &r);
    size_t correct = 99;
    const double f = nn_softmax_xent(z, lab, N, K, dz, 1.0, &correct);
    /* the loss and the accuracy from their definitions */
    double ref = 0.0;
    size_t ref_correct = 0;
    for (int n = 0; n < N; n++) {
        double se = 0.0;
        int arg = 0;
        for (int k = 0; k < K; k++) {
            se += exp(z[n * K + k]);
            if (z[n * K + k] > z[n * K + arg]) arg = k;
        }
        ref += log(se) - z[n * K + lab[n]];
        ref_correct += arg == lab[n];
    }
    assert_close(f, ref, 1e-12, 1e-12);
    assert_int_equal(correct, ref_correct);
    assert_true(nrm2(dz, N * K) > 0.1);
    const double h = 1e-2;
    for (int i = 0; i < N * K; i++) {
        memcpy(zv, z, sizeof z);
        zv[i] = (float)(z[i] + h);
        const double hp = (double)zv[i] - z[i], fp = nn_softmax_xent(zv, lab, N, K, NULL, 0, NULL);
        zv[i] = (float)(z[i] - h);
        const double hm = z[i] - (double)zv[i], fm = nn_softmax_xent(zv, lab, N, K, NULL, 0, NULL);
        assert_close(dz[i], (fp - fm) / (hp + hm), 1e-3, 1e-5);
    }
    /* gscale scales the gradient */
    float dz2[N * K];
    nn_softmax_xent(z, lab, N, K, dz2, 0.25, NULL);
    for (int i = 0; i < N * K; i++) assert_close(dz2[i], 0.25 * dz[i], 1e-6, 1e-9);
}

/* ------------------------------------------------------- conv fast vs naive */

static void conv_agree(int N, int C, int H, int W, int Co, int k, int s, int pad, int bias,
                       uint64_t seed)
{
    nn_conv_geom g;
    assert_int_equal(nn_conv_geom_init(&g, C, H, W, Co, k, s, pad), 0);
    samc_rng r;
    samc_rng_seed(&r, seed);
    const size_t nx = (size_t)N * C * H * W, nw = (size_t)Co * C * k * k;
    const size_t ny = (size_t)N * Co * g.Ho * g.Wo;
    float *x = falloc(nx), *w = falloc(nw), *b = falloc((size_t)Co);
    float *y1 = falloc(ny), *y2 = falloc(ny), *scr = falloc(nn_conv_scratch(&g));
    randn(x, nx, 1.0, &r);
    randn(w, nw, 1.0, &r);
    randn(b, (size_t)Co, 1.0, &r);
    nn_conv_forward(&g, x, w, bias ? b : NULL, y1, N, scr);
    nn_conv_forward_naive(&g, x, w, bias ? b : NULL, y2, N);
    /* scale of a typical output: the terms summed are O(1), C k k of them */
    const double scale = sqrt((double)C * k * k);
    for (size_t i = 0; i < ny; i++)
        if (!(fabs(y1[i] - y2[i]) <= 1e-5 * fabs(y2[i]) + 1e-6 * scale))
            fail_msg("conv %dx%d s%d p%d (N %d): y[%zu] = %.9g, naive %.9g", k, k,
                     s, pad, N, i, (double)y1[i], (double)y2[i]);
    assert_true(nrm2(y2, ny) > 1.0);

    /* Backward by the adjoint identity: with no bias, y is bilinear in
     * (x, w), so <c, y> = <dx, x> = <dw, w> for dx, dw from dy = c. */
    float *c = falloc(ny), *dx = falloc(nx), *dw = falloc(nw);
    randn(c, ny, 1.0, &r);
    nn_conv_forward(&g, x, w, NULL, y1, N, scr);
    nn_conv_backward(&g, x, w, c, dx, dw, NULL, N, scr);
    const double cy = proj(c, y1, ny);
    assert_close(proj(dx, x, nx), cy, 1e-4, 1e-4 * sqrt((double)ny) * scale);
    assert_close(proj(dw, w, nw), cy, 1e-4, 1e-4 * sqrt((double)ny) * scale);
    free(x); free(w); free(b); free(y1); free(y2); free(scr); free(c); free(dx); free(dw);
}

static void test_conv_fast_equals_naive(void **state)
{
    (void)state;
    conv_agree(3, 3, 9, 8, 5, 3, 1, 1, 1, 20);
    conv_agree(3, 3, 9, 8, 5, 3, 2, 1, 0, 21);
    conv_agree(2, 4, 7, 7, 6, 3, 1, 0, 1, 22);
    conv_agree(2, 4, 7, 7, 6, 3, 2, 0, 0, 23);
    conv_agree(4, 5, 6, 6, 7, 1, 2, 0, 0, 24);
    conv_agree(2, 2, 5, 5, 3, 5, 1, 2, 1, 25);
    conv_agree(3, 6, 5, 4, 4, 1, 1, 0, 1, 26);   /* 1x1 stride 1: x is its own im2col */
    conv_agree(2, 16, 32, 32, 8, 3, 1, 1, 0, 27);
}

/* ------------------------------------------------- whole-model directional */

/* (f(x + hv) - f(x - hv)) against <grad, (x + hv) - (x - hv)> with the
 * steps as represented in float; v a random unit direction plus the unit
 * gradient direction (so the difference is well above float noise). */
static void directional(const char *spec, const samc_dataset *ds, int pass)
{
    samc_model *m = make_model(spec, ds, 1e-3);
    samc_model_set_pass(m, pass);
    const size_t np = samc_model_n_params(m);
    float *x = init_params(m, 31), *g = falloc(np), *v = falloc(np);
    float *xp = falloc(np), *xm = falloc(np);
    (void)loss_of(m, ds, NULL, ds->n, x, g);
    const double gn = nrm2(g, np);
    if (!(gn > 1e-2)) fail_msg("%s: gradient norm %g is trivially small", spec, gn);
    samc_rng r;
    samc_rng_seed(&r, 32);
    randn(v, np, 1.0, &r);
    const double vn = nrm2(v, np);
    for (size_t i = 0; i < np; i++) v[i] = (float)(v[i] / vn + g[i] / gn);
    for (int ih = 0; ih < 2; ih++) {
        const double h = ih ? 3e-4 : 1e-3;
        double dd = 0.0;
        for (size_t i = 0; i < np; i++) {
            xp[i] = (float)(x[i] + h * v[i]);
            xm[i] = (float)(x[i] - h * v[i]);
            dd += (double)g[i] * ((double)xp[i] - (double)xm[i]);
        }
        const double fd = loss_of(m, ds, NULL, ds->n, xp, NULL) - loss_of(m, ds, NULL, ds->n, xm, NULL);
        print_message("    %-10s h=%.0e: f(x+hv)-f(x-hv) = %.9g, <g, 2hv> = %.9g (%zu params)\n",
                      spec, h, fd, dd, np);
        assert_close(fd, dd, 1e-2, 1e-7);
    }
    free(x); free(g); free(v); free(xp); free(xm);
    samc_model_free(m);
}

static void test_directional_mlp(void **state)
{
    (void)state;
    samc_dataset ds = make_data(10, 36, 0, 0, 0, 3, 40);
    directional("mlp:16,8", &ds, 1);
    free_data(&ds);
}

static void test_directional_cnn(void **state)
{
    (void)state;
    samc_dataset ds = make_data(6, 64, 1, 8, 8, 4, 41);
    directional("cnn", &ds, 1);
    free_data(&ds);
    samc_dataset d2 = make_data(5, 3 * 9 * 10, 3, 9, 10, 3, 42);   /* odd sizes floor */
    directional("cnn", &d2, 1);
    free_data(&d2);
}

static void test_directional_resnet(void **state)
{
    (void)state;
    samc_dataset ds = make_data(8, 3 * 8 * 8, 3, 8, 8, 3, 43);
    directional("resnet:8", &ds, 2);
    free_data(&ds);
    samc_dataset d2 = make_data(4, 2 * 7 * 7, 2, 7, 7, 3, 44);
    directional("resnet:14", &d2, 2);
    free_data(&d2);
}

static void test_directional_papers(void **state)
{
    (void)state;
    samc_dataset ds = make_data(6, 3 * 8 * 8, 3, 8, 8, 3, 45);
    directional("wrn:10-2", &ds, 1);
    free_data(&ds);
    /* 16 x 16: the last stage's BatchNorm sees 2 x 2 pixels per row */
    samc_dataset d1 = make_data(6, 3 * 16 * 16, 3, 16, 16, 3, 47);
    directional("resnet18", &d1, 2);
    free_data(&d1);
    samc_dataset d2 = make_data(4, 2 * 7 * 7, 2, 7, 7, 3, 46);   /* odd sizes, stage 1 keeps */
    directional("wrn:16-1", &d2, 2);
    free_data(&d2);
}

/* ----------------------------------------------------------------- dropout */

/* The mask a network draws for N rows from stream r, by the rule of nn.h. */
static float *mask_by_hand(const nn_net *net, samc_rng r, int N, double p)
{
    const size_t n = (size_t)N * net->mask_floats;
    float *m = falloc(n);
    const uint64_t below = (uint64_t)(p * 18446744073709551616.0);
    for (size_t j = 0; j < n; j++) m[j] = samc_rng_next(&r) < below ? 0.0f : (float)(1.0 / (1.0 - p));
    return m;
}

/* The first dropout layer of net. */
static const nn_layer *first_dropout(const nn_net *net)
{
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].op == OP_DROPOUT) return &net->layers[i];
    fail_msg("no dropout layer");
    return NULL;
}

/* The mask is the documented draw from the model's stream; the first
 * dropout layer's output is its input times the mask; pass 2 reuses pass
 * 1's mask (same loss, same stream after); the next pass 1 draws anew;
 * evaluation mode is the identity; p > 0 on a model without dropout and a
 * rate outside [0, 1) are refused. */
static void test_dropout_mask(void **state)
{
    (void)state;
    const int N = 4;
    const double p = 0.3;
    samc_dataset ds = make_data((size_t)N, 3 * 8 * 8, 3, 8, 8, 3, 48);
    samc_model *m0 = make_model("wrn:10-1", &ds, 0.0), *m1 = make_model("wrn:10-1", &ds, 0.0);
    assert_null(samc_model_rng(m1));
    samc_errbuf err;
    assert_int_equal(samc_model_set_dropout(m1, p, err), SAMC_OK);
    samc_rng *r = samc_model_rng(m1);
    assert_non_null(r);
    samc_rng_seed(r, 77);
    const samc_rng before = *r;
    nn_net *n0 = m0->priv, *n1 = m1->priv;
    float *x = init_params(m0, 49);
    const size_t K = 3;
    float *l0 = falloc((size_t)N * K), *l1 = falloc((size_t)N * K);
    assert_int_equal(samc_model_logits(m0, &ds, NULL, (size_t)N, x, l0), SAMC_OK);
    assert_int_equal(samc_model_logits(m1, &ds, NULL, (size_t)N, x, l1), SAMC_OK);
    assert_memory_equal(l0, l1, (size_t)N * K * sizeof *l0);   /* evaluation: identity */
    assert_memory_equal(r, &before, sizeof before);             /* and no draw */

    samc_model_set_pass(m0, 1);
    samc_model_set_pass(m1, 1);
    const double f0 = loss_of(m0, &ds, NULL, (size_t)N, x, NULL), f1 = loss_of(m1, &ds, NULL, (size_t)N, x, NULL);
    assert_true(f0 != f1);
    float *want = mask_by_hand(n1, before, N, p);
    const size_t nm = (size_t)N * n1->mask_floats;
    assert_memory_equal(n1->mask, want, nm * sizeof *want);
    size_t zeros = 0;
    for (size_t j = 0; j < nm; j++) zeros += want[j] == 0.0f;
    print_message("    dropout %.1f: %zu of %zu units dropped\n", p, zeros, nm);
    assert_true(fabs((double)zeros / (double)nm - p) < 0.02);   /* ~4 sd of the binomial */
    const nn_layer *L = first_dropout(n1);
    const size_t sz = n1->tensors[L->in].size * (size_t)N;
    float *in = falloc(sz), *out = falloc(sz);
    assert_int_equal(nn_net_read_tensor(n0, L->out, N, 0, in), 0);
    assert_int_equal(nn_net_read_tensor(n1, L->out, N, 0, out), 0);
    for (size_t j = 0; j < sz; j++)
        if (out[j] != in[j] * want[(size_t)N * L->mask_off + j]) fail_msg("unit %zu: %g", j, (double)out[j]);
    const samc_rng after1 = *r;

    samc_model_set_pass(m1, 2);   /* the same mask, the same loss, the same stream after */
    assert_true(loss_of(m1, &ds, NULL, (size_t)N, x, NULL) == f1);
    assert_memory_equal(n1->mask, want, nm * sizeof *want);
    assert_memory_equal(r, &after1, sizeof after1);
    samc_model_set_pass(m1, 1);   /* a new step: new masks */
    assert_true(loss_of(m1, &ds, NULL, (size_t)N, x, NULL) != f1);
    assert_true(memcmp(n1->mask, want, nm * sizeof *want) != 0);

    assert_int_equal(samc_model_set_dropout(m1, 1.0, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "[0, 1)"));
    assert_int_equal(samc_model_set_dropout(m1, -0.1, err), SAMC_EINVAL);
    samc_model *r8 = make_model("resnet:8", &ds, 0.0);
    assert_int_equal(samc_model_set_dropout(r8, 0.2, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "no dropout"));
    assert_int_equal(samc_model_set_dropout(r8, 0.0, err), SAMC_OK);
    assert_null(samc_model_rng(r8));
    samc_model_free(r8);
    free(want); free(in); free(out); free(l0); free(l1); free(x);
    samc_model_free(m0);
    samc_model_free(m1);
    free_data(&ds);
}

/* Training-mode loss of net on its input at params x with the mask held. */
static double masked_loss(nn_net *net, const float *x, int N, float *grad)
{
    const float *z = nn_net_forward(net, x, N, 1, 0);
    const double f = nn_softmax_xent(z, nn_net_labels(net), N, nn_net_n_classes(net),
                                     grad ? nn_net_dlogits(net) : NULL, 1.0 / N, NULL) / N;
    if (grad) nn_net_backward(net, x, grad, N);
    return f;
}

/* With a fixed mask the gradient matches finite differences (both engines). */
static void test_dropout_gradient(void **state)
{
    (void)state;
    const int N = 5;
    samc_dataset ds = make_data((size_t)N, 3 * 8 * 8, 3, 8, 8, 3, 50);
    for (int engine = 0; engine < 2; engine++) {
        samc_model *m = make_model("wrn:10-2", &ds, 0.0);
        nn_net *net = m->priv;
        samc_errbuf err;
        assert_int_equal(samc_model_set_dropout(m, 0.4, err), SAMC_OK);
        samc_rng_seed(samc_model_rng(m), 5);
        if (nn_net_set_engine(net, engine) != engine) fail_msg("engine %d unavailable", engine);
        const size_t np = samc_model_n_params(m);
        float *x = init_params(m, 51), *g = falloc(np), *v = falloc(np), *xp = falloc(np), *xm = falloc(np);
        assert_int_equal(nn_net_reserve(net, N, 1), SAMC_OK);
        memcpy(nn_net_input(net), ds.x, (size_t)N * ds.d * sizeof(float));
        for (int i = 0; i < N; i++) nn_net_labels(net)[i] = (int)ds.y[i];
        nn_net_dropout_draw(net, N);
        (void)masked_loss(net, x, N, g);
        samc_rng rr;
        samc_rng_seed(&rr, 52);
        randn(v, np, 1.0, &rr);
        const double vn = nrm2(v, np), gn = nrm2(g, np);
        for (size_t i = 0; i < np; i++) v[i] = (float)(v[i] / vn + g[i] / gn);
        const double h = 1e-3;
        double dd = 0.0;
        for (size_t i = 0; i < np; i++) {
            xp[i] = (float)(x[i] + h * v[i]);
            xm[i] = (float)(x[i] - h * v[i]);
            dd += (double)g[i] * ((double)xp[i] - (double)xm[i]);
        }
        const double fd = masked_loss(net, xp, N, NULL) - masked_loss(net, xm, N, NULL);
        print_message("    wrn:10-2 dropout 0.4, engine %d: f(x+hv)-f(x-hv) = %.9g, <g, 2hv> = %.9g\n",
                      engine, fd, dd);
        assert_close(fd, dd, 1e-2, 1e-7);
        free(x); free(g); free(v); free(xp); free(xm);
        samc_model_free(m);
    }
    free_data(&ds);
}

/* Pass 0 is evaluation mode: after pass-1 calls moved the running statistics,
 * the pass-0 loss equals samc_model_evaluate's, its gradient matches finite
 * differences of that loss, and the running statistics do not move. */
static void test_eval_mode_gradient(void **state)
{
    (void)state;
    samc_dataset ds = make_data(6, 3 * 8 * 8, 3, 8, 8, 3, 45);
    samc_model *m = make_model("resnet:8", &ds, 0.0);
    const size_t np = samc_model_n_params(m), nb = samc_model_n_buffers(m);
    float *x = init_params(m, 46), *g = falloc(np), *xp = falloc(np), *xm = falloc(np), *v = falloc(np);
    for (int k = 0; k < 3; k++) (void)loss_of(m, &ds, NULL, ds.n, x, g);  /* pass 1 */
    float *before = falloc(nb);
    memcpy(before, samc_model_buffers(m), nb * sizeof(float));
    samc_model_set_pass(m, 0);
    memset(g, 0, np * sizeof(float));
    double f0 = loss_of(m, &ds, NULL, ds.n, x, g);
    assert_memory_equal(before, samc_model_buffers(m), nb * sizeof(float));
    double el, acc;
    assert_int_equal(samc_model_evaluate(m, &ds, x, &el, &acc), SAMC_OK);
    assert_close(f0, el, 1e-6, 0);
    /* pass 1 would give a different (batch-statistics) loss */
    samc_rng r;
    samc_rng_seed(&r, 47);
    randn(v, np, 1.0, &r);
    const double vn = nrm2(v, np), gn = nrm2(g, np), h = 1e-3;
    assert_true(gn > 1e-2);
    double dd = 0.0;
    for (size_t i = 0; i < np; i++) {
        v[i] = (float)(v[i] / vn + g[i] / gn);
        xp[i] = (float)(x[i] + h * v[i]);
        xm[i] = (float)(x[i] - h * v[i]);
        dd += (double)g[i] * ((double)xp[i] - (double)xm[i]);
    }
    const double fd = loss_of(m, &ds, NULL, ds.n, xp, NULL) - loss_of(m, &ds, NULL, ds.n, xm, NULL);
    assert_close(fd, dd, 1e-2, 1e-7);
    samc_model_set_pass(m, 1);
    assert_true(fabs(loss_of(m, &ds, NULL, ds.n, x, NULL) - f0) > 1e-6);
    free(x); free(g); free(xp); free(xm); free(v); free(before);
    samc_model_free(m);
    free_data(&ds);
}

/* ------------------------------------------------------------- BatchNorm */

static void test_batchnorm_running_stats(void **state)
{
    (void)state;
    samc_dataset ds = make_data(8, 3 * 8 * 8, 3, 8, 8, 3, 50);
    samc_model *m = make_model("resnet:8", &ds, 0.0);
    const size_t nb = samc_model_n_buffers(m), np = samc_model_n_params(m);
    assert_true(nb > 0);
    float *buf = samc_model_buffers(m);
    assert_non_null(buf);
    float *before = falloc(nb), *x = init_params(m, 51), *g = falloc(np);
    /* BN 1 of the stem: mean 0, var 1 at creation */
    assert_true(buf[0] == 0.0f && buf[16] == 1.0f);
    memcpy(before, buf, nb * sizeof *buf);

    /* pass 2 (the default is pass 1): untouched, bit for bit */
    samc_model_set_pass(m, 2);
    (void)loss_of(m, &ds, NULL, ds.n, x, g);
    assert_memory_equal(before, buf, nb * sizeof *buf);
    /* pass 1: every running mean / var moves */
    samc_model_set_pass(m, 1);
    (void)loss_of(m, &ds, NULL, ds.n, x, g);
    size_t changed = 0;
    for (size_t i = 0; i < nb; i++) changed += before[i] != buf[i];
    if (changed < nb * 9 / 10) fail_msg("only %zu of %zu running statistics changed", changed, nb);
    /* and again pass 2 leaves the updated ones alone */
    memcpy(before, buf, nb * sizeof *buf);
    samc_model_set_pass(m, 2);
    (void)loss_of(m, &ds, NULL, ds.n, x, NULL);
    assert_memory_equal(before, buf, nb * sizeof *buf);

    /* (the update formula itself: test_batchnorm_values.)  The loss in
     * training mode does not depend on the running statistics. */
    const double f1 = loss_of(m, &ds, NULL, ds.n, x, NULL);
    for (size_t i = 0; i < nb; i++) buf[i] = (float)(0.5 + 0.01 * (double)i);
    const double f2 = loss_of(m, &ds, NULL, ds.n, x, NULL);
    assert_true(f1 == f2);
    free(before); free(x); free(g);
    samc_model_free(m);
    free_data(&ds);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > w) w = fabs((double)a[i] - b[i]);
    return w;
}

static void test_batchnorm_eval_mode(void **state)
{
    (void)state;
    enum { N = 8, K = 3 };
    samc_dataset ds = make_data(N, 3 * 8 * 8, 3, 8, 8, K, 52);
    for (size_t i = 0; i < ds.n * ds.d; i++) ds.x[i] = 2.0f * ds.x[i] + 1.0f;
    samc_model *m = make_model("resnet:8", &ds, 0.0);
    float *x = init_params(m, 53);
    float eval1[N * K], eval2[N * K], eval3[N * K], train[N * K];
    assert_int_equal(samc_model_logits(m, &ds, NULL, N, x, eval1), SAMC_OK);

    /* training-mode outputs of the same batch, through the network itself */
    nn_net *net = m->priv;
    assert_int_equal(nn_net_reserve(net, N, 0), SAMC_OK);
    memcpy(nn_net_input(net), ds.x, ds.n * ds.d * sizeof *ds.x);
    memcpy(train, nn_net_forward(net, x, N, 1, 0), sizeof train);
    double d = max_abs_diff(eval1, train, N * K);
    print_message("    eval vs train logits: max |diff| %.3g\n", d);
    assert_true(d > 1e-2);

    /* eval mode depends on the running statistics, and only on them */
    float *buf = samc_model_buffers(m);
    const size_t nb = samc_model_n_buffers(m);
    float *saved = falloc(nb);
    memcpy(saved, buf, nb * sizeof *buf);
    for (size_t i = 0; i < nb / 2 && i < 16; i++) buf[i] = 0.5f;   /* stem running means */
    assert_int_equal(samc_model_logits(m, &ds, NULL, N, x, eval2), SAMC_OK);
    assert_true(max_abs_diff(eval1, eval2, N * K) > 1e-3);
    memcpy(buf, saved, nb * sizeof *buf);
    assert_int_equal(samc_model_logits(m, &ds, NULL, N, x, eval3), SAMC_OK);
    assert_memory_equal(eval1, eval3, sizeof eval1);

    /* evaluate uses eval mode too: its loss is the cross-entropy of the logits */
    double loss = 0, acc = 0, ref = 0;
    size_t correct = 0;
    int lab[N];
    for (int i = 0; i < N; i++) lab[i] = (int)ds.y[i];
    ref = nn_softmax_xent(eval1, lab, N, K, NULL, 0, &correct) / N;
    assert_int_equal(samc_model_evaluate(m, &ds, x, &loss, &acc), SAMC_OK);
    assert_close(loss, ref, 1e-9, 1e-9);
    assert_close(acc, (double)correct / N, 0, 1e-12);
    free(saved); free(x);
    samc_model_free(m);
    free_data(&ds);
}

/* ----------------------------------------------- accumulation, batch sizes */

/* grad is ADDED into, with the scale: g0 + s*g. */
static void test_gradient_accumulates(void **state)
{
    (void)state;
    const char *specs[] = { "mlp:16,8", "cnn", "resnet:8" };
    samc_dataset ds = make_data(6, 3 * 8 * 8, 3, 8, 8, 3, 60);
    for (int s = 0; s < 3; s++) {
        samc_model *m = make_model(specs[s], &ds, 0.0);
        samc_model_set_pass(m, 2);
        const size_t np = samc_model_n_params(m);
        float *x = init_params(m, 61), *g = falloc(np), *acc = falloc(np);
        double f, fa;
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, x, g, 1.0, 0, &f), SAMC_OK);
        for (size_t i = 0; i < np; i++) acc[i] = 1.0f;
        assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, x, acc, 0.5, 0, &fa), SAMC_OK);
        assert_close(fa, 0.5 * f, 1e-12, 0);
        assert_true(nrm2(g, np) > 1e-2);
        for (size_t i = 0; i < np; i++)
            if (!(fabs((acc[i] - 1.0) - 0.5 * g[i]) <= 1e-6 + 1e-4 * fabs(g[i])))
                fail_msg("%s: accumulated grad[%zu] - 1 = %.9g, expected %.9g", specs[s], i,
                         acc[i] - 1.0, 0.5 * g[i]);
        free(x); free(g); free(acc);
        samc_model_free(m);
    }
    free_data(&ds);
}

/* Batch sizes 1, 3, 1, 5 on one handle: the loss and gradient on 3 rows are
 * the means of the single-row ones (no BatchNorm). */
static void test_batch_size_changes(void **state)
{
    (void)state;
    const char *specs[] = { "mlp:16,8", "cnn" };
    samc_dataset ds = make_data(9, 64, 1, 8, 8, 4, 62);
    for (int s = 0; s < 2; s++) {
        samc_model *m = make_model(specs[s], &ds, 0.0);
        const size_t np = samc_model_n_params(m);
        float *x = init_params(m, 63), *g3 = falloc(np), *g1 = falloc(np);
        const size_t rows[3] = { 4, 1, 7 };
        double mean = 0.0;
        for (int t = 0; t < 3; t++) mean += loss_of(m, &ds, rows + t, 1, x, g1) / 3.0;
        const double f5 = loss_of(m, &ds, NULL, 5, x, NULL);   /* grow */
        const double f3 = loss_of(m, &ds, rows, 3, x, g3);     /* shrink */
        assert_close(f3, mean, 1e-6, 1e-9);
        /* g1 holds the sum of 3 single-row gradients (added into) */
        for (size_t i = 0; i < np; i++) assert_close(g3[i], g1[i] / 3.0, 1e-4, 1e-6);
        double m5 = 0.0;
        for (size_t t = 0; t < 5; t++) m5 += loss_of(m, &ds, &t, 1, x, NULL) / 5.0;
        assert_close(f5, m5, 1e-6, 1e-9);
        free(x); free(g3); free(g1);
        samc_model_free(m);
    }
    free_data(&ds);
}

/* --------------------------------------------------- counts, init, logits */

static void test_n_params(void **state)
{
    (void)state;
    samc_dataset flat = make_data(4, 36, 0, 0, 0, 3, 70);
    samc_model *m = make_model("mlp:16,8", &flat, 0.0);
    assert_int_equal(samc_model_n_params(m), 36 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
    assert_int_equal(samc_model_n_buffers(m), 0);
    assert_null(samc_model_buffers(m));
    assert_int_equal(m->kind, SAMC_MODEL_NET);
    samc_model_free(m);
    free_data(&flat);

    samc_dataset img = make_data(4, 64, 1, 8, 8, 4, 71);
    m = make_model("cnn", &img, 0.0);
    assert_int_equal(samc_model_n_params(m),
                     16 * 9 + 16 + 32 * 16 * 9 + 32 + (32 * 2 * 2) * 128 + 128 + 128 * 4 + 4);
    assert_int_equal(samc_model_n_buffers(m), 0);
    samc_model_free(m);
    free_data(&img);

    samc_dataset rgb = make_data(4, 3 * 8 * 8, 3, 8, 8, 10, 72);
    m = make_model("resnet:8", &rgb, 0.0);
    const size_t stem = 16 * 3 * 9 + 2 * 16;
    const size_t stage1 = 16 * 16 * 9 + 32 + 16 * 16 * 9 + 32;
    const size_t stage2 = 32 * 16 * 9 + 64 + 32 * 32 * 9 + 64 + 32 * 16 + 64;
    const size_t stage3 = 64 * 32 * 9 + 128 + 64 * 64 * 9 + 128 + 64 * 32 + 128;
    assert_int_equal(samc_model_n_params(m), stem + stage1 + stage2 + stage3 + 64 * 10 + 10);
    assert_int_equal(samc_model_n_params(m), 78042);
    /* BN channels: 16 (stem) + 2*16 + 3*32 + 3*64, mean and var each */
    assert_int_equal(samc_model_n_buffers(m), 2 * (16 + 32 + 96 + 192));
    samc_model_free(m);
    free_data(&rgb);
}

/* The papers' CIFAR models at 3x32x32: the counts of the PyTorch
 * definitions in tools/make_torch_fixtures.py (WideResNet, ResNet18), and
 * the same from the architecture by hand. */
static void test_n_params_papers(void **state)
{
    (void)state;
    samc_dataset c10 = make_data(2, 3 * 32 * 32, 3, 32, 32, 10, 73);
    samc_model *m = make_model("resnet18", &c10, 0.0);
    size_t want = 64 * 3 * 9 + 2 * 64 + 512 * 10 + 10, bn = 64;
    for (int s = 0, cin = 64; s < 4; s++) {
        const size_t c = (size_t)64 << s;
        want += 4 * c * c * 9 - c * c * 9 + (size_t)cin * c * 9 + 8 * c;   /* 2 blocks */
        bn += 4 * c;
        if (s > 0) want += (size_t)cin * c + 2 * c, bn += c;               /* projection */
        cin = (int)c;
    }
    assert_int_equal(samc_model_n_params(m), want);
    assert_int_equal(samc_model_n_params(m), 11173962);
    assert_int_equal(samc_model_n_buffers(m), 2 * bn);
    samc_model_free(m);

    m = make_model("wrn:28-10", &c10, 0.0);
    want = 16 * 3 * 9 + 640 * 10 + 10 + 2 * 640;   /* stem, fc, final BN */
    for (int s = 0, cin = 16; s < 3; s++) {
        const size_t c = (size_t)160 << s;
        /* block 1: bn(cin) conv(cin->c) bn(c) conv(c->c) + 1x1 shortcut */
        want += 2 * (size_t)cin + (size_t)cin * c * 9 + 2 * c + c * c * 9 + (size_t)cin * c;
        want += 3 * (2 * c + c * c * 9 + 2 * c + c * c * 9);                 /* blocks 2..4 */
        cin = (int)c;
    }
    assert_int_equal(samc_model_n_params(m), want);
    assert_int_equal(samc_model_n_params(m), 36479194);
    samc_model_free(m);
    m = make_model("wrn:16-4", &c10, 0.0);
    assert_int_equal(samc_model_n_params(m), 2748890);
    samc_model_free(m);
    free_data(&c10);

    samc_dataset c100 = make_data(2, 3 * 32 * 32, 3, 32, 32, 100, 74);
    m = make_model("wrn:16-8", &c100, 0.0);
    assert_int_equal(samc_model_n_params(m), 11007540);
    samc_model_free(m);
    free_data(&c100);
}

/* He-normal weights, zero biases, BN gamma 1 / beta 0, and the layout. */
static void test_init(void **state)
{
    (void)state;
    samc_dataset rgb = make_data(4, 3 * 16 * 16, 3, 16, 16, 10, 73);
    samc_model *m = make_model("resnet:8", &rgb, 0.0);
    float *x = init_params(m, 74);
    /* stem conv: 432 weights, std sqrt(2/27) */
    double s = 0.0;
    for (int i = 0; i < 432; i++) s += (double)x[i] * x[i];
    assert_close(sqrt(s / 432), sqrt(2.0 / 27.0), 0.1, 0);
    for (int c = 0; c < 16; c++) {
        assert_true(x[432 + c] == 1.0f);
        assert_true(x[448 + c] == 0.0f);
    }
    /* stage-1 conv1: 2304 weights after the stem, std sqrt(2/144) */
    s = 0.0;
    for (int i = 0; i < 2304; i++) s += (double)x[464 + i] * x[464 + i];
    assert_close(sqrt(s / 2304), sqrt(2.0 / 144.0), 0.06, 0);
    /* the final linear: bias zero */
    const size_t np = samc_model_n_params(m);
    for (size_t i = np - 10; i < np; i++) assert_true(x[i] == 0.0f);
    free(x);
    samc_model_free(m);
    free_data(&rgb);
}

/* mlp logits from a forward written here on the documented layout
 * (Linear: weight [out][in] then bias [out]). */
static void test_mlp_logits_by_hand(void **state)
{
    (void)state;
    enum { D = 5, H1 = 4, H2 = 3, K = 2, N = 300 };
    samc_dataset ds = make_data(N, D, 0, 0, 0, K, 75);
    samc_model *m = make_model("mlp:4,3", &ds, 0.0);
    float *x = init_params(m, 76);
    samc_rng r;
    samc_rng_seed(&r, 77);
    const size_t np = samc_model_n_params(m);
    randn(x + np - 40, 40, 0.3, &r);   /* non-zero biases too */
    float *out = falloc((size_t)N * K);
    /* N > the evaluation chunk (256): two chunks */
    assert_int_equal(samc_model_logits(m, &ds, NULL, N, x, out), SAMC_OK);
    const float *W1 = x, *b1 = W1 + H1 * D, *W2 = b1 + H1, *b2 = W2 + H2 * H1;
    const float *W3 = b2 + H2, *b3 = W3 + K * H2;
    assert_int_equal(b3 + K - x, np);
    double lsum = 0.0;
    size_t correct = 0;
    for (int n = 0; n < N; n++) {
        const float *a = ds.x + n * D;
        double h1[H1], h2[H2], z[K];
        for (int o = 0; o < H1; o++) {
            h1[o] = b1[o];
            for (int i = 0; i < D; i++) h1[o] += (double)W1[o * D + i] * a[i];
            h1[o] = h1[o] > 0 ? h1[o] : 0;
        }
        for (int o = 0; o < H2; o++) {
            h2[o] = b2[o];
            for (int i = 0; i < H1; i++) h2[o] += (double)W2[o * H1 + i] * h1[i];
            h2[o] = h2[o] > 0 ? h2[o] : 0;
        }
        for (int o = 0; o < K; o++) {
            z[o] = b3[o];
            for (int i = 0; i < H2; i++) z[o] += (double)W3[o * H2 + i] * h2[i];
            assert_close(out[n * K + o], z[o], 1e-5, 1e-5);
        }
        const int y = (int)ds.y[n];
        lsum += log(exp(z[0]) + exp(z[1])) - z[y];
        correct += (z[1] > z[0] ? 1 : 0) == y;
    }
    double loss, acc;
    assert_int_equal(samc_model_evaluate(m, &ds, x, &loss, &acc), SAMC_OK);
    assert_close(loss, lsum / N, 1e-5, 1e-7);
    assert_close(acc, (double)correct / N, 0, 1e-12);
    /* loss_grad (train mode; no BN here) gives the same mean loss */
    assert_close(loss_of(m, &ds, NULL, N, x, NULL), lsum / N, 1e-5, 1e-7);
    /* logits on chosen rows: the same bits on the reference engine; oneDNN's
     * kernels depend on the batch size, so there the same up to rounding */
    const size_t rows[2] = { 299, 3 };
    float two[2 * K];
    assert_int_equal(samc_model_logits(m, &ds, rows, 2, x, two), SAMC_OK);
    if (nn_net_engine(m->priv) == NN_ENGINE_REF) {
        assert_memory_equal(two, out + 299 * K, K * sizeof *two);
        assert_memory_equal(two + K, out + 3 * K, K * sizeof *two);
    }
    for (int o = 0; o < K; o++) {
        assert_close(two[o], out[299 * K + o], 1e-6, 1e-6);
        assert_close(two[K + o], out[3 * K + o], 1e-6, 1e-6);
    }
    free(out); free(x);
    samc_model_free(m);
    free_data(&ds);
}

/* The convex models: no buffers, logits z = W a + b. */
static void test_convex_logits(void **state)
{
    (void)state;
    samc_dataset ds = make_data(4, 3, 0, 0, 0, 3, 78);
    samc_model *m = NULL;
    assert_int_equal(samc_model_create(&m, "softmax", 3, 3, 0.0, 1, NULL), SAMC_OK);
    assert_int_equal(samc_model_n_buffers(m), 0);
    assert_null(samc_model_buffers(m));
    samc_model_set_pass(m, 2);   /* ignored */
    float x[12], out[12];
    for (int i = 0; i < 12; i++) x[i] = 0.1f * (float)(i - 5);
    assert_int_equal(samc_model_logits(m, &ds, NULL, 4, x, out), SAMC_OK);
    for (int n = 0; n < 4; n++)
        for (int k = 0; k < 3; k++) {
            double z = x[9 + k];
            for (int j = 0; j < 3; j++) z += (double)x[k * 3 + j] * ds.x[n * 3 + j];
            assert_close(out[n * 3 + k], z, 1e-6, 1e-7);
        }
    samc_model_free(m);
    assert_int_equal(samc_model_create(&m, "linear", 3, 0, 0.0, 0, NULL), SAMC_OK);
    const size_t row = 2;
    assert_int_equal(samc_model_logits(m, &ds, &row, 1, x, out), SAMC_OK);
    assert_close(out[0], (double)x[0] * ds.x[6] + (double)x[1] * ds.x[7] + (double)x[2] * ds.x[8],
                 1e-6, 1e-7);
    samc_model_free(m);
    free_data(&ds);
}

/* ----------------------------------------------------------------- errors */

static void expect_error(const char *spec, const samc_dataset *ds, const char *needle)
{
    samc_model *m = (samc_model *)&m;   /* must come back NULL */
    samc_errbuf err = "";
    samc_status st = samc_model_create_for(&m, spec, ds, 0.0, 1, err);
    if (st != SAMC_EINVAL) fail_msg("%s: status %d, expected SAMC_EINVAL", spec, (int)st);
    assert_null(m);
    if (!strstr(err, needle)) fail_msg("%s: message \"%s\" lacks \"%s\"", spec, err, needle);
    print_message("    %-12s -> %s\n", spec, err);
}

static void test_errors(void **state)
{
    (void)state;
    samc_dataset img = make_data(2, 3 * 8 * 8, 3, 8, 8, 3, 80);
    samc_dataset flat = make_data(2, 10, 0, 0, 0, 3, 81);
    samc_dataset tiny = make_data(2, 4, 1, 2, 2, 3, 82);
    samc_dataset reg = make_data(2, 10, 0, 0, 0, 3, 83);
    reg.n_classes = 0;
    expect_error("resnet:7", &img, "6k+2");
    expect_error("resnet:2", &img, "6k+2");
    expect_error("resnet", &img, "6k+2");
    expect_error("resnet:8x", &img, "6k+2");
    expect_error("wrn:28", &img, "6n+4");
    expect_error("wrn:27-10", &img, "6n+4");
    expect_error("wrn:4-1", &img, "6n+4");
    expect_error("wrn:28-0", &img, "6n+4");
    expect_error("wrn:28-65", &img, "6n+4");
    expect_error("wrn:28-10x", &img, "6n+4");
    expect_error("wrn", &img, "6n+4");
    expect_error("wrn:16-4", &flat, "image");
    expect_error("resnet18:2", &img, "no options");
    expect_error("resnet18", &flat, "image");
    expect_error("mlp:", &flat, "hidden");
    expect_error("mlp", &flat, "hidden");
    expect_error("mlp:16,,8", &flat, "hidden");
    expect_error("mlp:16,a", &flat, "hidden");
    expect_error("mlp:0", &flat, "hidden");
    expect_error("mlp:-3", &flat, "hidden");
    expect_error("mlp:8,", &flat, "hidden");
    expect_error("cnn", &flat, "image");
    expect_error("resnet:8", &flat, "image");
    expect_error("cnn:5", &img, "no options");
    expect_error("cnn", &tiny, "4 x 4");
    expect_error("mlp:8", &reg, "classes");
    /* samc_model_create has no image shape */
    samc_model *m = NULL;
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&m, "cnn", 64, 3, 0.0, 1, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "image"));
    assert_int_equal(samc_model_create(&m, "mlp:4", 64, 3, 0.0, 1, err), SAMC_OK);
    samc_model_free(m);
    /* mlp on image data flattens */
    m = make_model("mlp:4", &img, 0.0);
    assert_int_equal(samc_model_n_params(m), 192 * 4 + 4 + 4 * 3 + 3);
    samc_model_free(m);
    free_data(&img); free_data(&flat); free_data(&tiny); free_data(&reg);
}

/* ------------------------------------------------------------------ timing */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void bench(const char *spec, int C, int H, int W)
{
    samc_dataset ds = make_data(128, (size_t)C * H * W, C, H, W, 10, 90);
    samc_model *m = make_model(spec, &ds, 0.0);
    const size_t np = samc_model_n_params(m);
    float *x = init_params(m, 91), *g = falloc(np);
    (void)loss_of(m, &ds, NULL, 128, x, g);   /* warm-up: buffers sized */
    const int reps = 5;
    double t0 = now_s();
    for (int i = 0; i < reps; i++) (void)loss_of(m, &ds, NULL, 128, x, g);
    const double fb = (now_s() - t0) / reps;
    t0 = now_s();
    for (int i = 0; i < reps; i++) (void)loss_of(m, &ds, NULL, 128, x, NULL);
    const double f = (now_s() - t0) / reps;
    print_message("    bench %-9s %dx%dx%d batch 128: forward %.1f ms, forward+backward %.1f ms\n",
                  spec, C, H, W, 1e3 * f, 1e3 * fb);
    free(x); free(g);
    samc_model_free(m);
    free_data(&ds);
}

static void test_bench(void **state)
{
    (void)state;
    if (!getenv("SAMC_NN_BENCH")) {
        print_message("    (set SAMC_NN_BENCH=1 for timings)\n");
        return;
    }
    bench("mlp:512,256", 1, 28, 28);
    bench("cnn", 1, 28, 28);
    bench("resnet:8", 3, 32, 32);
    bench("resnet:20", 3, 32, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_linear),
        cmocka_unit_test(test_fd_conv),
        cmocka_unit_test(test_fd_relu),
        cmocka_unit_test(test_fd_maxpool),
        cmocka_unit_test(test_maxpool_ties),
        cmocka_unit_test(test_fd_gap),
        cmocka_unit_test(test_fd_add),
        cmocka_unit_test(test_fd_batchnorm),
        cmocka_unit_test(test_batchnorm_values),
        cmocka_unit_test(test_fd_softmax_xent),
        cmocka_unit_test(test_conv_fast_equals_naive),
        cmocka_unit_test(test_directional_mlp),
        cmocka_unit_test(test_directional_cnn),
        cmocka_unit_test(test_directional_resnet),
        cmocka_unit_test(test_directional_papers),
        cmocka_unit_test(test_dropout_mask),
        cmocka_unit_test(test_dropout_gradient),
        cmocka_unit_test(test_eval_mode_gradient),
        cmocka_unit_test(test_batchnorm_running_stats),
        cmocka_unit_test(test_batchnorm_eval_mode),
        cmocka_unit_test(test_gradient_accumulates),
        cmocka_unit_test(test_batch_size_changes),
        cmocka_unit_test(test_n_params),
        cmocka_unit_test(test_n_params_papers),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_mlp_logits_by_hand),
        cmocka_unit_test(test_convex_logits),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
