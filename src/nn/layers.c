/*
 * layers.c -- the kernels of the networks (nn.h): linear and conv2d through
 * cblas_sgemm (conv by im2col over groups of samples, backward by sgemm and
 * col2im), a direct-loop conv2d kept as the reference the tests compare
 * with, and plain loops for ReLU, max pool, global average pool, residual
 * add, BatchNorm and softmax cross-entropy (marked `omp simd` where GCC's
 * -O2 cost model would leave them scalar -- the ReLU select was a
 * mispredicted branch per element).  Shapes are stated in nn.h; all
 * backward kernels add into their gradients.  Nothing here allocates.
 */
#include "nn/nn.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ linear */

void nn_linear_forward(const float *X, const float *W, const float *b, float *Y,
                       int N, int in, int out)
{
    /* Y [N][out] = X [N][in] W' [in][out] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, X, in,
                W, in, 0.0f, Y, out);
    if (b) {
        for (int n = 0; n < N; n++) {
            float *restrict y = Y + (size_t)n * (size_t)out;
            #pragma omp simd
            for (int o = 0; o < out; o++) y[o] += b[o];
        }
    }
}

void nn_linear_backward(const float *X, const float *W, const float *dY, float *dX,
                        float *dW, float *db, int N, int in, int out)
{
    if (dW) /* dW [out][in] += dY' [out][N] X [N][in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dY,
                    out, X, in, 1.0f, dW, in);
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *restrict dy = dY + (size_t)n * (size_t)out;
            #pragma omp simd
            for (int o = 0; o < out; o++) db[o] += dy[o];
        }
    }
    if (dX) /* dX [N][in] += dY [N][out] W [out][in] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dY,
                    out, W, in, 1.0f, dX, in);
}

/* ------------------------------------------------------------------ conv2d */

/* Largest im2col buffer of one group, in floats (the GEMM then has
 * N = group * Ho * Wo columns: wide enough to keep sgemm efficient on the
 * small late-stage images, small enough to stay in cache-friendly sizes). */
#ifndef CONV_GROUP_FLOATS
#define CONV_GROUP_FLOATS (1u << 20)
#endif

int nn_conv_geom_init(nn_conv_geom *g, int C, int H, int W, int Co, int k,
                      int stride, int pad)
{
    memset(g, 0, sizeof *g);
    if (C <= 0 || H <= 0 || W <= 0 || Co <= 0 || k <= 0 || stride <= 0 || pad < 0)
        return -1;
    if (H + 2 * pad < k || W + 2 * pad < k) return -1;
    g->C = C; g->H = H; g->W = W;
    g->Co = Co; g->k = k; g->stride = stride; g->pad = pad;
    g->Ho = (H + 2 * pad - k) / stride + 1;
    g->Wo = (W + 2 * pad - k) / stride + 1;
    return 0;
}

int nn_conv_group(const nn_conv_geom *g, int N)
{
    size_t per = (size_t)g->C * g->k * g->k * (size_t)g->Ho * g->Wo;
    size_t G = per ? CONV_GROUP_FLOATS / per : 1;
    if (G < 1) G = 1;
    if (G > (size_t)N) G = (size_t)(N > 0 ? N : 1);
    return (int)G;
}

size_t nn_conv_scratch(const nn_conv_geom *g, int N)
{
    size_t G = (size_t)nn_conv_group(g, N), P = (size_t)g->Ho * g->Wo;
    size_t Kd = (size_t)g->C * g->k * g->k;
    /* col [Kd][G P], and (G > 1) the output / output-gradient of the group
     * in [Co][G P] layout */
    return G * P * Kd + (G > 1 ? G * P * (size_t)g->Co : 0);
}

/* Output columns ow with 0 <= ow*s - p + kj < W: [lo, hi). */
static void valid_range(int Wo, int W, int s, int p, int kj, int *lo, int *hi)
{
    int a = p - kj;   /* need ow*s >= a */
    int l = a <= 0 ? 0 : (a + s - 1) / s;
    int b = W - 1 + p - kj;   /* need ow*s <= b */
    int h = b < 0 ? 0 : b / s + 1;
    if (h > Wo) h = Wo;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* One sample x [C][H][W] into col [C k k][Ho Wo], rows ld floats apart. */
static void im2col(const nn_conv_geom *g, const float *restrict x, float *restrict col,
                   size_t ld)
{
    const int k = g->k, s = g->stride, p = g->pad, H = g->H, W = g->W;
    const int Ho = g->Ho, Wo = g->Wo;
    for (int c = 0; c < g->C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int ki = 0; ki < k; ki++) {
            for (int kj = 0; kj < k; kj++) {
                float *restrict row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                int lo, hi;
                valid_range(Wo, W, s, p, kj, &lo, &hi);
                for (int oh = 0; oh < Ho; oh++) {
                    float *restrict r = row + (size_t)oh * Wo;
                    const int ih = oh * s - p + ki;
                    if (ih < 0 || ih >= H) {
                        memset(r, 0, (size_t)Wo * sizeof *r);
                        continue;
                    }
                    const float *restrict xr = xc + (size_t)ih * W - p + kj;
                    for (int ow = 0; ow < lo; ow++) r[ow] = 0.0f;
                    if (s == 1) {   /* rows are short: a loop beats memcpy calls */
                        #pragma omp simd
                        for (int ow = lo; ow < hi; ow++) r[ow] = xr[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++) r[ow] = xr[ow * s];
                    }
                    for (int ow = hi; ow < Wo; ow++) r[ow] = 0.0f;
                }
            }
        }
    }
}

/* The adjoint of im2col: dx [C][H][W] += col [C k k][Ho Wo] (rows ld apart). */
static void col2im(const nn_conv_geom *g, const float *restrict col, float *restrict dx,
                   size_t ld)
{
    const int k = g->k, s = g->stride, p = g->pad, H = g->H, W = g->W;
    const int Ho = g->Ho, Wo = g->Wo;
    for (int c = 0; c < g->C; c++) {
        float *dxc = dx + (size_t)c * H * W;
        for (int ki = 0; ki < k; ki++) {
            for (int kj = 0; kj < k; kj++) {
                const float *restrict row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                int lo, hi;
                valid_range(Wo, W, s, p, kj, &lo, &hi);
                for (int oh = 0; oh < Ho; oh++) {
                    const int ih = oh * s - p + ki;
                    if (ih < 0 || ih >= H) continue;
                    const float *restrict r = row + (size_t)oh * Wo;
                    float *restrict xr = dxc + (size_t)ih * W - p + kj;
                    if (s == 1) {
                        #pragma omp simd
                        for (int ow = lo; ow < hi; ow++) xr[ow] += r[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++) xr[ow * s] += r[ow];
                    }
                }
            }
        }
    }
}

void nn_conv_forward(const nn_conv_geom *g, const float *x, const float *w,
                     const float *b, float *y, int N, float *scratch)
{
    const int G = nn_conv_group(g, N);
    const size_t P = (size_t)g->Ho * g->Wo, Kd = (size_t)g->C * g->k * g->k;
    const size_t in_sz = (size_t)g->C * g->H * g->W, out_sz = (size_t)g->Co * P;
    float *col = scratch, *yg = scratch + (size_t)G * P * Kd;
    for (int n0 = 0; n0 < N; n0 += G) {
        const int ng = N - n0 < G ? N - n0 : G;
        const size_t ld = (size_t)ng * P;
        for (int t = 0; t < ng; t++)
            im2col(g, x + (size_t)(n0 + t) * in_sz, col + (size_t)t * P, ld);
        /* out [Co][ng P] = w [Co][Kd] col [Kd][ng P] */
        float *out = ng == 1 ? y + (size_t)n0 * out_sz : yg;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->Co, (int)ld, (int)Kd,
                    1.0f, w, (int)Kd, col, (int)ld, 0.0f, out, (int)ld);
        for (int t = 0; t < ng; t++) {
            float *yn = y + (size_t)(n0 + t) * out_sz;
            for (int co = 0; co < g->Co; co++) {
                float *restrict dst = yn + (size_t)co * P;
                if (ng > 1) memcpy(dst, yg + (size_t)co * ld + (size_t)t * P, P * sizeof *dst);
                if (b) {
                    const float bc = b[co];
                    #pragma omp simd
                    for (size_t i = 0; i < P; i++) dst[i] += bc;
                }
            }
        }
    }
}

void nn_conv_forward_naive(const nn_conv_geom *g, const float *x, const float *w,
                           const float *b, float *y, int N)
{
    const int C = g->C, H = g->H, W = g->W, k = g->k, s = g->stride, p = g->pad;
    for (int n = 0; n < N; n++)
        for (int co = 0; co < g->Co; co++)
            for (int oh = 0; oh < g->Ho; oh++)
                for (int ow = 0; ow < g->Wo; ow++) {
                    double acc = b ? (double)b[co] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int ih = oh * s - p + ki, iw = ow * s - p + kj;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (double)x[(((size_t)n * C + c) * H + ih) * W + iw] *
                                       (double)w[(((size_t)co * C + c) * k + ki) * k + kj];
                            }
                    y[(((size_t)n * g->Co + co) * g->Ho + oh) * g->Wo + ow] = (float)acc;
                }
}

void nn_conv_backward(const nn_conv_geom *g, const float *x, const float *w,
                      const float *dy, float *dx, float *dw, float *db, int N,
                      float *scratch)
{
    const int G = nn_conv_group(g, N);
    const size_t P = (size_t)g->Ho * g->Wo, Kd = (size_t)g->C * g->k * g->k;
    const size_t in_sz = (size_t)g->C * g->H * g->W, out_sz = (size_t)g->Co * P;
    float *col = scratch, *dyg = scratch + (size_t)G * P * Kd;
    if (db) {
        for (int co = 0; co < g->Co; co++) {
            double acc = 0.0;
            for (int n = 0; n < N; n++) {
                const float *restrict d = dy + (size_t)n * out_sz + (size_t)co * P;
                #pragma omp simd reduction(+ : acc)
                for (size_t i = 0; i < P; i++) acc += d[i];
            }
            db[co] += (float)acc;
        }
    }
    if (!dw && !dx) return;
    for (int n0 = 0; n0 < N; n0 += G) {
        const int ng = N - n0 < G ? N - n0 : G;
        const size_t ld = (size_t)ng * P;
        const float *dyc; /* [Co][ng P] */
        if (ng == 1) {
            dyc = dy + (size_t)n0 * out_sz;
        } else {
            for (int t = 0; t < ng; t++)
                for (int co = 0; co < g->Co; co++)
                    memcpy(dyg + (size_t)co * ld + (size_t)t * P,
                           dy + (size_t)(n0 + t) * out_sz + (size_t)co * P, P * sizeof *dyg);
            dyc = dyg;
        }
        if (dw) {
            for (int t = 0; t < ng; t++)
                im2col(g, x + (size_t)(n0 + t) * in_sz, col + (size_t)t * P, ld);
            /* dw [Co][Kd] += dy [Co][ng P] col' [ng P][Kd] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->Co, (int)Kd, (int)ld,
                        1.0f, dyc, (int)ld, col, (int)ld, 1.0f, dw, (int)Kd);
        }
        if (dx) {
            /* dcol [Kd][ng P] = w' [Kd][Co] dy [Co][ng P] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)ld, g->Co,
                        1.0f, w, (int)Kd, dyc, (int)ld, 0.0f, col, (int)ld);
            for (int t = 0; t < ng; t++)
                col2im(g, col + (size_t)t * P, dx + (size_t)(n0 + t) * in_sz, ld);
        }
    }
}

/* -------------------------------------------------------------- elementwise */

void nn_relu_forward(const float *restrict x, float *restrict y, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];   /* NaN stays */
}

void nn_relu_backward(const float *restrict x, const float *restrict dy,
                      float *restrict dx, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_relu_inplace(float *restrict x, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) x[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void nn_relu_backward_inplace(const float *restrict y, float *restrict d, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

void nn_add_forward(const float *restrict a, const float *restrict b,
                    float *restrict y, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void nn_add_backward(const float *restrict dy, float *restrict da,
                     float *restrict db, size_t n)
{
    if (da && db) {
        #pragma omp simd
        for (size_t i = 0; i < n; i++) {
            da[i] += dy[i];
            db[i] += dy[i];
        }
    } else if (da || db) {
        float *restrict d = da ? da : db;
        #pragma omp simd
        for (size_t i = 0; i < n; i++) d[i] += dy[i];
    }
}

/* ----------------------------------------------------------------- pooling */

/* Index (in the H x W plane) of the first maximum of window (oh, ow). */
static size_t window_argmax(const float *xc, int W, int k, int s, int oh, int ow)
{
    size_t best = (size_t)(oh * s) * W + (size_t)(ow * s);
    float m = xc[best];
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            size_t at = (size_t)(oh * s + i) * W + (size_t)(ow * s + j);
            if (xc[at] > m || (isnan(xc[at]) && !isnan(m))) {
                m = xc[at];
                best = at;
            }
        }
    return best;
}

void nn_maxpool_forward(const float *x, float *y, int N, int C, int H, int W,
                        int k, int s)
{
    const int Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
    const long long NC = (long long)N * C;
    for (long long nc = 0; nc < NC; nc++) {
        const float *xc = x + (size_t)nc * H * W;
        float *yc = y + (size_t)nc * Ho * Wo;
        if (k == 2 && s == 2) {
            /* the common case, branch-free so it vectorizes; a NaN wins as
             * in the generic path (x != x is isnan) */
            for (int oh = 0; oh < Ho; oh++) {
                const float *restrict r0 = xc + (size_t)(2 * oh) * W, *restrict r1 = r0 + W;
                float *restrict yr = yc + (size_t)oh * Wo;
                for (int ow = 0; ow < Wo; ow++) {
                    const float a = r0[2 * ow], b = r0[2 * ow + 1];
                    const float c = r1[2 * ow], d = r1[2 * ow + 1];
                    const float ab = b > a ? b : a, cd = d > c ? d : c;
                    const int nan = (a != a) | (b != b) | (c != c) | (d != d);
                    yr[ow] = nan ? NAN : (cd > ab ? cd : ab);
                }
            }
        } else {
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++)
                    yc[(size_t)oh * Wo + ow] = xc[window_argmax(xc, W, k, s, oh, ow)];
        }
    }
}

void nn_maxpool_backward(const float *x, const float *dy, float *dx, int N, int C,
                         int H, int W, int k, int s)
{
    const int Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
    const long long NC = (long long)N * C;
    for (long long nc = 0; nc < NC; nc++) {
        const float *xc = x + (size_t)nc * H * W, *dyc = dy + (size_t)nc * Ho * Wo;
        float *dxc = dx + (size_t)nc * H * W;
        if (k == 2 && s == 2) {
            /* the first maximum of each 2x2 window, chosen without branches
             * (a NaN input has already made the loss NaN: the step is void) */
            for (int oh = 0; oh < Ho; oh++) {
                const float *r0 = xc + (size_t)(2 * oh) * W, *r1 = r0 + W;
                float *d0 = dxc + (size_t)(2 * oh) * W, *d1 = d0 + W;
                const float *dyr = dyc + (size_t)oh * Wo;
                for (int ow = 0; ow < Wo; ow++) {
                    const float a = r0[2 * ow], b = r0[2 * ow + 1];
                    const float c = r1[2 * ow], d = r1[2 * ow + 1];
                    const int tb = b > a;
                    const float ab = tb ? b : a;
                    const int td = d > c;
                    const float cd = td ? d : c;
                    const int bottom = cd > ab;
                    float *row = bottom ? d1 : d0;
                    const int col = 2 * ow + (bottom ? td : tb);
                    row[col] += dyr[ow];
                }
            }
            continue;
        }
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++)
                dxc[window_argmax(xc, W, k, s, oh, ow)] += dyc[(size_t)oh * Wo + ow];
    }
}

void nn_gap_forward(const float *x, float *y, int N, int C, int P)
{
    const long long NC = (long long)N * C;
    for (long long nc = 0; nc < NC; nc++) {
        const float *restrict xc = x + (size_t)nc * P;
        double acc = 0.0;
        #pragma omp simd reduction(+ : acc)
        for (int i = 0; i < P; i++) acc += xc[i];
        y[nc] = (float)(acc / P);
    }
}

void nn_gap_backward(const float *dy, float *dx, int N, int C, int P)
{
    const float inv = 1.0f / (float)P;
    const long long NC = (long long)N * C;
    for (long long nc = 0; nc < NC; nc++) {
        float *restrict d = dx + (size_t)nc * P;
        const float v = dy[nc] * inv;
        #pragma omp simd
        for (int i = 0; i < P; i++) d[i] += v;
    }
}

/* --------------------------------------------------------------- BatchNorm */

/* Channel c: y = (x - mean) a + beta; subtracting first keeps float
 * accuracy when |mean| >> std. */
static void bn_apply(const float *x, float *y, int N, int C, int P, int c, double a_,
                     float mf, float b)
{
    const float a = (float)a_;
    for (int n = 0; n < N; n++) {
        const float *restrict xc = x + ((size_t)n * C + c) * P;
        float *restrict yc = y + ((size_t)n * C + c) * P;
        #pragma omp simd
        for (int i = 0; i < P; i++) yc[i] = (xc[i] - mf) * a + b;
    }
}

void nn_bn_forward_train(const float *x, const float *gamma, const float *beta,
                         float *y, int N, int C, int P, double eps,
                         double *save_mean, double *save_invstd,
                         float *run_mean, float *run_var, double momentum)
{
    const double M = (double)N * P;
    for (int c = 0; c < C; c++) {
        /* one pass: sums of x - x0 and (x - x0)^2 in double, shifted by the
         * channel's first value x0 so that |mean| >> std loses nothing */
        const float x0 = x[(size_t)c * P];
        double s = 0.0, ss = 0.0;
        for (int n = 0; n < N; n++) {
            const float *restrict xc = x + ((size_t)n * C + c) * P;
            #pragma omp simd reduction(+ : s, ss)
            for (int i = 0; i < P; i++) {
                const double e = (double)xc[i] - (double)x0;
                s += e;
                ss += e * e;
            }
        }
        const double ms = s / M, mean = (double)x0 + ms;
        double var = ss / M - ms * ms;
        if (var < 0.0) var = 0.0;
        const double invstd = 1.0 / sqrt(var + eps);
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        if (run_mean && run_var) {
            run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mean);
            const double unb = M > 1.0 ? var * M / (M - 1.0) : var;
            run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unb);
        }
        bn_apply(x, y, N, C, P, c, gamma[c] * invstd, (float)mean, beta[c]);
    }
}

void nn_bn_forward_eval(const float *x, const float *gamma, const float *beta,
                        const float *run_mean, const float *run_var, float *y,
                        int N, int C, int P, double eps, double *save_mean,
                        double *save_invstd)
{
    for (int c = 0; c < C; c++) {
        const double invstd = 1.0 / sqrt((double)run_var[c] + eps);
        if (save_mean) save_mean[c] = run_mean[c], save_invstd[c] = invstd;
        bn_apply(x, y, N, C, P, c, gamma[c] * invstd, run_mean[c], beta[c]);
    }
}

void nn_bn_backward(const float *x, const float *gamma, const double *save_mean,
                    const double *save_invstd, const float *dy, float *dx,
                    float *dgamma, float *dbeta, int N, int C, int P)
{
    const double M = (double)N * P;
    for (int c = 0; c < C; c++) {
        const double mean = save_mean[c], invstd = save_invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int n = 0; n < N; n++) {
            const float *restrict xc = x + ((size_t)n * C + c) * P;
            const float *restrict dyc = dy + ((size_t)n * C + c) * P;
            #pragma omp simd reduction(+ : sdy, sdyx)
            for (int i = 0; i < P; i++) {
                sdy += dyc[i];
                sdyx += (double)dyc[i] * ((double)xc[i] - mean);
            }
        }
        sdyx *= invstd;   /* sum dy xhat */
        if (dgamma) dgamma[c] += (float)sdyx;
        if (dbeta) dbeta[c] += (float)sdy;
        if (!dx) continue;
        /* dx = k (dy - sdy/M - xhat sdyx/M), k = gamma invstd, and
         * xhat sdyx/M = (x - mean) q with q = invstd sdyx / M */
        const double k = gamma[c] * invstd, q = sdyx / M * invstd;
        const float fk = (float)k, fq = (float)(k * q), f0 = (float)(-k * sdy / M);
        const float mf = (float)mean;
        for (int n = 0; n < N; n++) {
            const float *restrict xc = x + ((size_t)n * C + c) * P;
            const float *restrict dyc = dy + ((size_t)n * C + c) * P;
            float *restrict dxc = dx + ((size_t)n * C + c) * P;
            #pragma omp simd
            for (int i = 0; i < P; i++) dxc[i] += fk * dyc[i] - fq * (xc[i] - mf) + f0;
        }
    }
}

void nn_bn_backward_eval(const float *x, const float *gamma, const double *mean,
                         const double *invstd, const float *dy, float *dx,
                         float *dgamma, float *dbeta, int N, int C, int P)
{
    for (int c = 0; c < C; c++) {
        const double mu = mean[c], is = invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        const float k = (float)(gamma[c] * is);
        for (int n = 0; n < N; n++) {
            const float *restrict xc = x + ((size_t)n * C + c) * P;
            const float *restrict dyc = dy + ((size_t)n * C + c) * P;
            #pragma omp simd reduction(+ : sdy, sdyx)
            for (int i = 0; i < P; i++) {
                sdy += dyc[i];
                sdyx += (double)dyc[i] * ((double)xc[i] - mu);
            }
            if (dx) {
                float *restrict dxc = dx + ((size_t)n * C + c) * P;
                #pragma omp simd
                for (int i = 0; i < P; i++) dxc[i] += k * dyc[i];
            }
        }
        if (dgamma) dgamma[c] += (float)(sdyx * is);
        if (dbeta) dbeta[c] += (float)sdy;
    }
}

/* ------------------------------------------------------------------- loss */

double nn_softmax_xent(const float *z, const int *label, int N, int K, float *dz,
                       double gscale, size_t *n_correct)
{
    double lsum = 0.0;
    size_t correct = 0;
    for (int n = 0; n < N; n++) {
        const float *zr = z + (size_t)n * K;
        const int y = label[n];
        double zmax = -INFINITY;
        int arg = 0;
        for (int j = 0; j < K; j++)
            if (zr[j] > zmax) {
                zmax = zr[j];
                arg = j;
            }
        if (isnan(zmax) || zmax == -INFINITY) zmax = 0.0;  /* NaN passes through */
        double se = 0.0;
        for (int j = 0; j < K; j++) se += exp((double)zr[j] - zmax);
        const double lse = zmax + log(se);
        lsum += lse - (double)zr[y];
        if (arg == y) correct++;
        if (dz) {
            float *dr = dz + (size_t)n * K;
            for (int j = 0; j < K; j++)
                dr[j] = (float)(gscale * (exp((double)zr[j] - lse) - (j == y ? 1.0 : 0.0)));
        }
    }
    if (n_correct) *n_correct = correct;
    return lsum;
}
