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

void nn_linear_forward_cols(const float *X, const float *W, const float *b, float *Y,
                            int N, int in, int out, int o0, int o1)
{
    const int no = o1 - o0;
    if (N <= 0 || no <= 0) return;
    float beta = 0.0f;
    if (b) {   /* Y = b, then Y += X W' */
        for (int n = 0; n < N; n++)
            memcpy(Y + (size_t)n * (size_t)out + o0, b + o0, (size_t)no * sizeof *Y);
        beta = 1.0f;
    }
    /* Y [N][o0:o1] = X [N][in] W' [in][o0:o1] (+ Y) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, no, in, 1.0f, X, in,
                W + (size_t)o0 * (size_t)in, in, beta, Y + o0, out);
}

void nn_linear_forward(const float *X, const float *W, const float *b, float *Y,
                       int N, int in, int out)
{
    nn_linear_forward_cols(X, W, b, Y, N, in, out, 0, out);
}

void nn_linear_backward_part(const float *X, const float *W, const float *dY, float *dX,
                             float *dW, float *db, int N, int in, int out, int o0, int o1,
                             int r0, int r1)
{
    const int no = o1 - o0, nr = r1 - r0;
    if (dW && no > 0) /* dW [o0:o1][in] += dY' [o0:o1][N] X [N][in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, in, N, 1.0f, dY + o0, out,
                    X, in, 1.0f, dW + (size_t)o0 * (size_t)in, in);
    if (db && no > 0) {
        for (int n = 0; n < N; n++) {
            const float *restrict dy = dY + (size_t)n * (size_t)out;
            #pragma omp simd
            for (int o = o0; o < o1; o++) db[o] += dy[o];
        }
    }
    if (dX && nr > 0) /* dX [r0:r1][in] += dY [r0:r1][out] W [out][in] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, in, out, 1.0f,
                    dY + (size_t)r0 * (size_t)out, out, W, in, 1.0f,
                    dX + (size_t)r0 * (size_t)in, in);
}

void nn_linear_backward(const float *X, const float *W, const float *dY, float *dX,
                        float *dW, float *db, int N, int in, int out)
{
    nn_linear_backward_part(X, W, dY, dX, dW, db, N, in, out, 0, out, 0, N);
}

/* ------------------------------------------------------------------ conv2d */

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

/* A 1x1 convolution of stride 1 without padding reads x as its own im2col. */
static int conv_is_pointwise(const nn_conv_geom *g)
{
    return g->k == 1 && g->stride == 1 && g->pad == 0;
}

size_t nn_conv_scratch(const nn_conv_geom *g)
{
    /* col [Kd][P] of one sample */
    return (size_t)g->C * g->k * g->k * (size_t)g->Ho * g->Wo;
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
                    if (ih < 0 || ih >= H) {   /* short rows: a loop beats memset calls */
                        #pragma omp simd
                        for (int ow = 0; ow < Wo; ow++) r[ow] = 0.0f;
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
                     const float *b, float *y, int N, float *col)
{
    const size_t P = (size_t)g->Ho * g->Wo, Kd = (size_t)g->C * g->k * g->k;
    const size_t in_sz = (size_t)g->C * g->H * g->W, out_sz = (size_t)g->Co * P;
    const int pw = conv_is_pointwise(g);
    /* per sample one GEMM straight into the NCHW output: no layout copy, and
     * the sample's col stays in cache between im2col and the GEMM */
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * in_sz;
        float *yn = y + (size_t)n * out_sz;
        if (!pw) im2col(g, xn, col, P);
        float beta = 0.0f;
        if (b) {   /* y = b, then y += w col */
            for (int co = 0; co < g->Co; co++) {
                float *restrict dst = yn + (size_t)co * P;
                const float bc = b[co];
                #pragma omp simd
                for (size_t i = 0; i < P; i++) dst[i] = bc;
            }
            beta = 1.0f;
        }
        /* y [Co][P] = w [Co][Kd] col [Kd][P] (+ y) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->Co, (int)P, (int)Kd, 1.0f,
                    w, (int)Kd, pw ? xn : col, (int)P, beta, yn, (int)P);
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
                      const float *dy, float *dx, float *dw, float *db, int N, float *col)
{
    const size_t P = (size_t)g->Ho * g->Wo, Kd = (size_t)g->C * g->k * g->k;
    const size_t in_sz = (size_t)g->C * g->H * g->W, out_sz = (size_t)g->Co * P;
    const int pw = conv_is_pointwise(g);
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
    for (int n = 0; n < N && (dw || dx); n++) {
        const float *xn = x + (size_t)n * in_sz, *dyn = dy + (size_t)n * out_sz;
        float *dxn = dx ? dx + (size_t)n * in_sz : NULL;
        if (dw) {
            if (!pw) im2col(g, xn, col, P);
            /* dw [Co][Kd] += dy [Co][P] col' [P][Kd] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->Co, (int)Kd, (int)P, 1.0f,
                        dyn, (int)P, pw ? xn : col, (int)P, 1.0f, dw, (int)Kd);
        }
        if (dx && pw) {   /* dx [C][P] += w' [C][Co] dy [Co][P] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)P, g->Co, 1.0f,
                        w, (int)Kd, dyn, (int)P, 1.0f, dxn, (int)P);
        } else if (dx) {  /* dcol [Kd][P] = w' [Kd][Co] dy [Co][P]; col2im into dx */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)P, g->Co, 1.0f,
                        w, (int)Kd, dyn, (int)P, 0.0f, col, (int)P);
            col2im(g, col, dxn, P);
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

/* Channel c over N rows: out = { count, mean, sum of squared deviations
 * from the mean }, from sums of x - x0 and (x - x0)^2 in double, shifted by
 * the channel's first value x0 so that |mean| >> std loses nothing. */
static void bn_chan_stats(const float *x, int N, int C, int P, int c, double *out)
{
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
    const double M = (double)N * P;
    double m2 = ss - s * (s / M);
    out[0] = M;
    out[1] = (double)x0 + s / M;
    out[2] = m2 < 0.0 ? 0.0 : m2;
}

void nn_bn_stats_partial(const float *x, int N, int C, int P, double *part)
{
    for (int c = 0; c < C; c++) bn_chan_stats(x, N, C, P, c, part + 3 * (size_t)c);
}

/* Channel c from T partials (parts + t stride + 3c): the combined mean and
 * the biased variance, and the count. */
static void bn_chan_combine(const double *parts, size_t stride, int T, int c, double *M_,
                            double *mean_, double *var_)
{
    const double *p0 = parts + 3 * (size_t)c;
    double M = 0.0, dm = 0.0;
    for (int t = 0; t < T; t++) {
        const double *q = p0 + (size_t)t * stride;
        M += q[0];
        dm += q[0] * (q[1] - p0[1]);
    }
    const double mean = p0[1] + dm / M;   /* exactly the partial's when T = 1 */
    double m2 = 0.0;
    for (int t = 0; t < T; t++) {
        const double *q = p0 + (size_t)t * stride, e = q[1] - mean;
        m2 += q[2] + q[0] * e * e;
    }
    *M_ = M;
    *mean_ = mean;
    *var_ = m2 / M;
}

void nn_bn_stats_finish(const double *parts, size_t stride, int T, int C, double eps,
                        double *save_mean, double *save_invstd, float *run_mean,
                        float *run_var, double momentum)
{
    for (int c = 0; c < C; c++) {
        double M, mean, var;
        bn_chan_combine(parts, stride, T, c, &M, &mean, &var);
        save_mean[c] = mean;
        save_invstd[c] = 1.0 / sqrt(var + eps);
        if (run_mean && run_var) {
            run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mean);
            const double unb = M > 1.0 ? var * M / (M - 1.0) : var;
            run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unb);
        }
    }
}

void nn_bn_normalize(const float *x, const float *gamma, const float *beta,
                     const double *mean, const double *invstd, float *y, int N, int C, int P)
{
    for (int c = 0; c < C; c++)
        bn_apply(x, y, N, C, P, c, gamma[c] * invstd[c], (float)mean[c], beta[c]);
}

void nn_bn_forward_train(const float *x, const float *gamma, const float *beta,
                         float *y, int N, int C, int P, double eps,
                         double *save_mean, double *save_invstd,
                         float *run_mean, float *run_var, double momentum)
{
    for (int c = 0; c < C; c++) {
        double part[3];
        bn_chan_stats(x, N, C, P, c, part);
        /* channel c alone: the partial placed as channel 0 of a 1-channel set */
        nn_bn_stats_finish(part, 3, 1, 1, eps, save_mean + c, save_invstd + c,
                           run_mean ? run_mean + c : NULL, run_var ? run_var + c : NULL,
                           momentum);
        bn_apply(x, y, N, C, P, c, gamma[c] * save_invstd[c], (float)save_mean[c], beta[c]);
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

/* Channel c over N rows: sums[0] = sum dy, sums[1] = sum dy (x - mean). */
static void bn_back_chan(const float *x, const double *save_mean, const float *dy, int N,
                         int C, int P, int c, double *sums)
{
    const double mean = save_mean[c];
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
    sums[0] = sdy;
    sums[1] = sdyx;
}

/* Channel c: dx += k (dy - sdy/M - xhat sdyx/M), k = gamma invstd, from the
 * sums over all M = N P (or the whole batch's) values. */
static void bn_back_apply_chan(const float *x, const float *gamma, const double *save_mean,
                               const double *save_invstd, const double *sums, double M,
                               const float *dy, float *dx, int N, int C, int P, int c)
{
    const double invstd = save_invstd[c], sdy = sums[0];
    const double sdyx = sums[1] * invstd;   /* sum dy xhat */
    /* xhat sdyx/M = (x - mean) q with q = invstd sdyx / M */
    const double k = gamma[c] * invstd, q = sdyx / M * invstd;
    const float fk = (float)k, fq = (float)(k * q), f0 = (float)(-k * sdy / M);
    const float mf = (float)save_mean[c];
    for (int n = 0; n < N; n++) {
        const float *restrict xc = x + ((size_t)n * C + c) * P;
        const float *restrict dyc = dy + ((size_t)n * C + c) * P;
        float *restrict dxc = dx + ((size_t)n * C + c) * P;
        #pragma omp simd
        for (int i = 0; i < P; i++) dxc[i] += fk * dyc[i] - fq * (xc[i] - mf) + f0;
    }
}

void nn_bn_backward_partial(const float *x, const double *save_mean, const float *dy,
                            int N, int C, int P, double *part)
{
    for (int c = 0; c < C; c++) bn_back_chan(x, save_mean, dy, N, C, P, c, part + 2 * (size_t)c);
}

void nn_bn_backward_apply(const float *x, const float *gamma, const double *save_mean,
                          const double *save_invstd, const double *sums, double M,
                          const float *dy, float *dx, int N, int C, int P)
{
    for (int c = 0; c < C; c++)
        bn_back_apply_chan(x, gamma, save_mean, save_invstd, sums + 2 * (size_t)c, M, dy, dx,
                           N, C, P, c);
}

void nn_bn_backward(const float *x, const float *gamma, const double *save_mean,
                    const double *save_invstd, const float *dy, float *dx,
                    float *dgamma, float *dbeta, int N, int C, int P)
{
    const double M = (double)N * P;
    for (int c = 0; c < C; c++) {
        double sums[2];
        bn_back_chan(x, save_mean, dy, N, C, P, c, sums);
        if (dgamma) dgamma[c] += (float)(sums[1] * save_invstd[c]);
        if (dbeta) dbeta[c] += (float)sums[0];
        if (dx) bn_back_apply_chan(x, gamma, save_mean, save_invstd, sums, M, dy, dx, N, C, P, c);
    }
}

void nn_bn_backward_eval(const float *x, const float *gamma, const double *mean,
                         const double *invstd, const float *dy, float *dx,
                         float *dgamma, float *dbeta, int N, int C, int P)
{
    for (int c = 0; c < C; c++) {
        double sums[2];
        bn_back_chan(x, mean, dy, N, C, P, c, sums);
        if (dgamma) dgamma[c] += (float)(sums[1] * invstd[c]);
        if (dbeta) dbeta[c] += (float)sums[0];
        if (!dx) continue;
        const float k = (float)(gamma[c] * invstd[c]);   /* the statistics are constants here */
        for (int n = 0; n < N; n++) {
            const float *restrict dyc = dy + ((size_t)n * C + c) * P;
            float *restrict dxc = dx + ((size_t)n * C + c) * P;
            #pragma omp simd
            for (int i = 0; i < P; i++) dxc[i] += k * dyc[i];
        }
    }
}

/* ------------------------------------------------------------------- loss */

double nn_smooth_xent_row(double lse, double zy, double zsum, int K, double eps)
{
    if (eps == 0.0) return lse - zy;
    const double o = eps / (K - 1);   /* the target of every other class */
    const double c = (eps < 1.0 ? (1.0 - eps) * log(1.0 - eps) : 0.0) + eps * log(o);
    return c + lse - (1.0 - eps - o) * zy - o * zsum;
}

double nn_softmax_xent(const float *z, const int *label, int N, int K, float *dz,
                       double gscale, size_t *n_correct)
{
    return nn_softmax_xent_smooth(z, label, N, K, 0.0, dz, gscale, n_correct);
}

double nn_softmax_xent_smooth(const float *z, const int *label, int N, int K, double eps, float *dz,
                              double gscale, size_t *n_correct)
{
    double lsum = 0.0;
    size_t correct = 0;
    const double q_y = 1.0 - eps, q_o = eps / (K - 1);
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
        double zsum = 0.0;
        for (int j = 0; eps != 0.0 && j < K; j++) zsum += (double)zr[j];
        lsum += nn_smooth_xent_row(lse, (double)zr[y], zsum, K, eps);
        if (arg == y) correct++;
        if (dz) {
            float *dr = dz + (size_t)n * K;
            for (int j = 0; j < K; j++)
                dr[j] = (float)(gscale * (exp((double)zr[j] - lse) - (j == y ? q_y : q_o)));
        }
    }
    if (n_correct) *n_correct = correct;
    return lsum;
}
