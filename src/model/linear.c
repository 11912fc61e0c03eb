/*
 * linear.c -- the three convex models: least squares ("linear"), binary
 * logistic regression ("logreg") and multinomial logistic regression
 * ("softmax").  Only the data term is computed here; model.c adds the mean,
 * the scale and the l2 term.
 *
 * Parameter layout:
 *   linear, logreg   w[0..d), then the bias b (if bias)
 *   softmax          W row-major K x d (W[k*d + j]), then b[0..K) (if bias)
 * Every dot product, loss and gradient sum is accumulated in double.
 */
#include "model/model_internal.h"
#include "nn/nn.h"
#include "util/err.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Rows and columns per block of the linear / logreg gradient: per-row
 * derivatives of a block of rows are kept on the stack, and the gradient of a
 * block of columns is summed over those rows in double before one float add
 * into grad.  So no allocation, and the handle stays thread-safe.  Batches
 * of at least PAR_MIN values are split over the OpenMP threads: the rows of
 * a (larger) block for the derivatives and the loss, then the column blocks for the
 * gradient -- each column's sum stays in one thread, in row order, so the
 * gradient does not depend on the thread count (the loss, a reduction over
 * threads, does up to rounding). */
#define ROW_BLOCK 512       /* one thread: the block stays in L2 for its gradient */
#define ROW_BLOCK_PAR 2048  /* threads: fewer blocks, fewer barriers */
#define COL_BLOCK 512
#define PAR_MIN 65536
#define MAX_THREADS 256

static const float *row_of(const samc_dataset *ds, const size_t *idx, size_t t)
{
    size_t r = idx ? idx[t] : t;
    return ds->x + r * ds->d;
}

static float target_of(const samc_dataset *ds, const size_t *idx, size_t t)
{
    return ds->y[idx ? idx[t] : t];
}

/* Least squares regresses on the label values: when the reader numbered
 * integer targets as classes, y holds an index into ds->labels. */
static float regression_target(const samc_model *m, const samc_dataset *ds, float y)
{
    if (m->kind == SAMC_MODEL_LINEAR && ds->n_classes > 0 && ds->labels)
        return (float)ds->labels[(size_t)y];
    return y;
}

static double dot_fd(const float *a, const float *w, size_t d)
{
    double s = 0.0;
    #pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < d; j++) s += (double)a[j] * (double)w[j];
    return s;
}

/* ------------------------------------------------------------ linear, logreg */

static samc_status glm_setup(samc_model *m, const char *args, char *err)
{
    if (args)
        return samc_errf(err, SAMC_EINVAL, "model %s takes no options (got \"%.64s\")", m->ops->name, args);
    if (m->kind == SAMC_MODEL_LOGREG) {
        if (m->n_classes != 2)
            return samc_errf(err, SAMC_EINVAL, "model logreg needs data with exactly 2 classes, "
                             "these have %d (use softmax for more)", m->n_classes);
        m->target_classes = 2;
    } else {
        m->target_classes = 0;   /* raw targets, class indices included */
    }
    m->n_params = m->d + (size_t)m->bias;
    return SAMC_OK;
}

/* z = w'a + b for one row; the per-row loss and dloss/dz. */
static double glm_row(samc_model_kind kind, double z, float y, double *dz)
{
    if (kind == SAMC_MODEL_LINEAR) {
        double e = z - (double)y;
        *dz = e;
        return 0.5 * e * e;
    }
    /* logreg: class 0 -> s = -1, class 1 -> s = +1 */
    double s = y > 0.5f ? 1.0 : -1.0;
    double mg = s * z;
    /* loss log(1 + exp(-m)) and dloss/dm = -1 / (1 + exp(m)), both stable for
     * every m and sharing one e = exp(-|m|) */
    const double e = exp(-fabs(mg));
    *dz = -s * (mg >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e));
    return log1p(e) + (mg < 0.0 ? -mg : 0.0);
}

/* Rows [a, b) of the block at t0: per-row derivatives into r, the loss and
 * the derivatives' sum added to *lsum, *bsum. */
static void glm_rows(const samc_model *m, const samc_dataset *ds, const size_t *idx,
                     const float *x, double b, size_t t0, size_t a, size_t e, double *r,
                     double *lsum, double *bsum)
{
    double ls = 0.0, bs = 0.0;
    for (size_t t = a; t < e; t++) {
        double z = dot_fd(row_of(ds, idx, t0 + t), x, m->d) + b;
        ls += glm_row(m->kind, z, regression_target(m, ds, target_of(ds, idx, t0 + t)), &r[t]);
        bs += r[t];
    }
    *lsum += ls;
    *bsum += bs;
}

/* Columns [j0, j0 + nj) (nj <= COL_BLOCK) of the gradient of the block's
 * nt rows, summed in double in row order.  Rows whose derivative is 0 are
 * skipped; the others are taken four at a time, so each column sum is
 * loaded and stored once per four rows (the same additions in the same
 * order as one row at a time: the result is identical).  Compiled for the
 * wider vector units too, chosen at run time (no reduction across lanes, so
 * every variant gives the same bits). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void glm_cols(const samc_dataset *ds, const size_t *idx, size_t t0, size_t nt,
                     const double *r, size_t j0, size_t nj, float *grad, double gscale)
{
    double acc[COL_BLOCK];
    memset(acc, 0, nj * sizeof acc[0]);
    size_t t = 0;
    for (;;) {
        const float *a[4];
        double rt[4];
        int k = 0;
        for (; t < nt && k < 4; t++)
            if (r[t] != 0.0) {
                a[k] = row_of(ds, idx, t0 + t) + j0;
                rt[k++] = r[t];
            }
        if (k < 4) {
            for (int q = 0; q < k; q++) {
                const float *restrict aq = a[q];
                #pragma omp simd
                for (size_t j = 0; j < nj; j++) acc[j] += rt[q] * (double)aq[j];
            }
            break;
        }
        const float *restrict a0 = a[0], *restrict a1 = a[1], *restrict a2 = a[2],
                              *restrict a3 = a[3];
        #pragma omp simd   /* over columns: each column's sum keeps its row order */
        for (size_t j = 0; j < nj; j++) {
            double v = acc[j];
            v += rt[0] * (double)a0[j];
            v += rt[1] * (double)a1[j];
            v += rt[2] * (double)a2[j];
            v += rt[3] * (double)a3[j];
            acc[j] = v;
        }
    }
    for (size_t j = 0; j < nj; j++) grad[j0 + j] += (float)(gscale * acc[j]);
}

static samc_status glm_loss_grad(const samc_model *m, const samc_dataset *ds,
                                 const size_t *idx, size_t nb, const float *x,
                                 float *grad, double gscale, double *loss_sum)
{
    const size_t d = m->d;
    const double b = m->bias ? (double)x[d] : 0.0;
    double r[ROW_BLOCK_PAR];
    double lsum = 0.0, bsum = 0.0;

    if ((double)nb * (double)d < PAR_MIN || omp_get_max_threads() == 1) {
        for (size_t t0 = 0; t0 < nb; t0 += ROW_BLOCK) {
            const size_t nt = nb - t0 < ROW_BLOCK ? nb - t0 : ROW_BLOCK;
            glm_rows(m, ds, idx, x, b, t0, 0, nt, r, &lsum, &bsum);
            if (grad)
                for (size_t j0 = 0; j0 < d; j0 += COL_BLOCK)
                    glm_cols(ds, idx, t0, nt, r, j0, d - j0 < COL_BLOCK ? d - j0 : COL_BLOCK,
                             grad, gscale);
        }
    } else {
        /* per-thread loss sums, added in thread order after (deterministic) */
        double part[2 * MAX_THREADS];
        int nth = omp_get_max_threads();
        if (nth > MAX_THREADS) nth = MAX_THREADS;
        int used = 1;
        #pragma omp parallel num_threads(nth)
        {
            const size_t T = (size_t)omp_get_num_threads(), th = (size_t)omp_get_thread_num();
            if (th == 0) used = (int)T;
            /* column blocks: at most COL_BLOCK wide, at least one per thread */
            size_t cb = (d + T - 1) / T;
            cb = cb > COL_BLOCK ? COL_BLOCK : (cb + 15) / 16 * 16;
            double ls = 0.0, bs = 0.0;
            for (size_t t0 = 0; t0 < nb; t0 += ROW_BLOCK_PAR) {
                const size_t nt = nb - t0 < ROW_BLOCK_PAR ? nb - t0 : ROW_BLOCK_PAR;
                glm_rows(m, ds, idx, x, b, t0, nt * th / T, nt * (th + 1) / T, r, &ls, &bs);
                #pragma omp barrier
                if (grad) {
                    #pragma omp for schedule(static)
                    for (size_t j0 = 0; j0 < d; j0 += cb)
                        glm_cols(ds, idx, t0, nt, r, j0, d - j0 < cb ? d - j0 : cb, grad, gscale);
                } else {
                    #pragma omp barrier
                }
            }
            part[2 * th] = ls;
            part[2 * th + 1] = bs;
        }
        for (int u = 0; u < used; u++) {
            lsum += part[2 * u];
            bsum += part[2 * u + 1];
        }
    }
    if (grad && m->bias) grad[d] += (float)(gscale * bsum);
    *loss_sum = lsum;
    return SAMC_OK;
}

static samc_status glm_evaluate(const samc_model *m, const samc_dataset *ds,
                                const float *x, double *loss_sum, double *n_correct)
{
    const size_t d = m->d;
    const double b = m->bias ? (double)x[d] : 0.0;
    const samc_model_kind kind = m->kind;
    const long long n = (long long)ds->n;
    double lsum = 0.0, correct = 0.0;
#pragma omp parallel for reduction(+ : lsum, correct) schedule(static)
    for (long long i = 0; i < n; i++) {
        const float *a = ds->x + (size_t)i * d;
        const float y = regression_target(m, ds, ds->y[i]);
        double z = dot_fd(a, x, d) + b, dz;
        lsum += glm_row(kind, z, y, &dz);
        if (kind == SAMC_MODEL_LOGREG && (z >= 0.0) == (y > 0.5f)) correct += 1.0;
    }
    *loss_sum = lsum;
    *n_correct = kind == SAMC_MODEL_LOGREG ? correct : NAN;
    return SAMC_OK;
}

/* ------------------------------------------------------------------ softmax */

/* Per-model scratch of the softmax gradient: K probabilities and a double
 * accumulator for the whole gradient.  Because of it, one softmax handle must
 * not run samc_model_loss_grad from two threads at once (evaluate does not
 * use it and is safe). */
typedef struct softmax_scratch {
    double *p;   /* K */
    double *g;   /* n_params */
} softmax_scratch;

static void softmax_destroy(samc_model *m)
{
    softmax_scratch *s = m->priv;
    if (!s) return;
    free(s->p);
    free(s->g);
    free(s);
    m->priv = NULL;
}

static samc_status softmax_setup(samc_model *m, const char *args, char *err)
{
    if (args)
        return samc_errf(err, SAMC_EINVAL, "model softmax takes no options (got \"%.64s\")", args);
    if (m->n_classes < 2)
        return samc_errf(err, SAMC_EINVAL, "model softmax needs classification data with at least "
                         "2 classes, these have %d", m->n_classes);
    const size_t K = (size_t)m->n_classes, d = m->d;
    if (d > (SIZE_MAX / sizeof(double) - 1) / K - 1)
        return samc_errf(err, SAMC_EINVAL, "model softmax: %zu x %zu parameters overflow", K, d);
    m->target_classes = m->n_classes;
    m->n_params = K * d + (m->bias ? K : 0);
    softmax_scratch *s = calloc(1, sizeof *s);
    if (s) {
        m->priv = s;
        s->p = malloc(K * sizeof *s->p);
        s->g = malloc(m->n_params * sizeof *s->g);
    }
    if (!s || !s->p || !s->g)
        /* model.c frees through destroy */
        return samc_errf(err, SAMC_ENOMEM, "model softmax: out of memory (%zu parameters)", m->n_params);
    return SAMC_OK;
}

static samc_status softmax_loss_grad(const samc_model *m, const samc_dataset *ds,
                                     const size_t *idx, size_t nb, const float *x,
                                     float *grad, double gscale, double *loss_sum)
{
    softmax_scratch *s = m->priv;
    const size_t K = (size_t)m->n_classes, d = m->d, np = m->n_params;
    const float *bvec = m->bias ? x + K * d : NULL;
    double *p = s->p, *g = s->g;
    double lsum = 0.0;
    const double eps = m->smoothing, q_y = 1.0 - eps, q_o = eps / (double)(K - 1);
    if (grad) memset(g, 0, np * sizeof *g);

    for (size_t t = 0; t < nb; t++) {
        const float *a = row_of(ds, idx, t);
        const size_t y = (size_t)target_of(ds, idx, t);
        double zmax = -INFINITY;
        for (size_t k = 0; k < K; k++) {
            p[k] = dot_fd(a, x + k * d, d) + (bvec ? (double)bvec[k] : 0.0);
            if (p[k] > zmax) zmax = p[k];
        }
        double se = 0.0;
        for (size_t k = 0; k < K; k++) se += exp(p[k] - zmax);
        const double lse = zmax + log(se);
        double zsum = 0.0;
        for (size_t k = 0; eps != 0.0 && k < K; k++) zsum += p[k];
        lsum += nn_smooth_xent_row(lse, p[y], zsum, (int)K, eps);
        if (!grad) continue;
        for (size_t k = 0; k < K; k++) {
            const double r = exp(p[k] - lse) - (k == y ? q_y : q_o);
            double *gk = g + k * d;
            for (size_t j = 0; j < d; j++) gk[j] += r * (double)a[j];
            if (bvec) g[K * d + k] += r;
        }
    }
    if (grad)
        for (size_t i = 0; i < np; i++) grad[i] += (float)(gscale * g[i]);
    *loss_sum = lsum;
    return SAMC_OK;
}

static samc_status softmax_evaluate(const samc_model *m, const samc_dataset *ds,
                                    const float *x, double *loss_sum, double *n_correct)
{
    const size_t K = (size_t)m->n_classes, d = m->d;
    const float *bvec = m->bias ? x + K * d : NULL;
    const long long n = (long long)ds->n;
    double lsum = 0.0, correct = 0.0;
    /* One pass over the classes per row, with a running log-sum-exp, so no
     * buffer is needed (and the threads share nothing but the reductions). */
#pragma omp parallel for reduction(+ : lsum, correct) schedule(static)
    for (long long i = 0; i < n; i++) {
        const float *a = ds->x + (size_t)i * d;
        const size_t y = (size_t)ds->y[i];
        double zmax = -INFINITY, se = 0.0, zy = 0.0, zsum = 0.0;
        size_t arg = 0;
        for (size_t k = 0; k < K; k++) {
            double z = dot_fd(a, x + k * d, d) + (bvec ? (double)bvec[k] : 0.0);
            if (k == y) zy = z;
            zsum += z;
            if (z > zmax) {
                se = se * exp(zmax - z) + 1.0;   /* exp(-inf) = 0 on the first */
                zmax = z;
                arg = k;
            } else {
                se += exp(z - zmax);
            }
        }
        lsum += nn_smooth_xent_row(zmax + log(se), zy, zsum, (int)K, m->smoothing);
        if (arg == y) correct += 1.0;
    }
    *loss_sum = lsum;
    *n_correct = correct;
    return SAMC_OK;
}

/* ------------------------------------------------------------------ logits */

/* z = W a + b with K outputs per row, in the layout above. */
static void affine_logits(const samc_model *m, size_t K, const samc_dataset *ds,
                          const size_t *idx, size_t nb, const float *x, float *out)
{
    const size_t d = m->d;
    const float *b = m->bias ? x + K * d : NULL;
    for (size_t t = 0; t < nb; t++) {
        const float *a = row_of(ds, idx, t);
        for (size_t k = 0; k < K; k++) {
            const float *w = x + k * d;
            double z = b ? (double)b[k] : 0.0;
            for (size_t j = 0; j < d; j++) z += (double)w[j] * (double)a[j];
            out[t * K + k] = (float)z;
        }
    }
}

static samc_status glm_logits(const samc_model *m, const samc_dataset *ds,
                              const size_t *idx, size_t nb, const float *x, float *out)
{
    affine_logits(m, 1, ds, idx, nb, x, out);
    return SAMC_OK;
}

static samc_status softmax_logits(const samc_model *m, const samc_dataset *ds,
                                  const size_t *idx, size_t nb, const float *x, float *out)
{
    affine_logits(m, (size_t)m->n_classes, ds, idx, nb, x, out);
    return SAMC_OK;
}

static size_t glm_row_floats(const samc_model *m) { (void)m; return 1; }
static size_t softmax_row_floats(const samc_model *m) { return (size_t)m->n_classes; }

/* ------------------------------------------------------------------- tables */

/* linear and logreg share every operation; the kind picks the row loss. */
#define GLM_OPS(NAME, KIND)                                                    \
    {                                                                          \
        .name = NAME, .kind = KIND, .setup = glm_setup, .destroy = NULL,       \
        .init_params = NULL, .loss_grad = glm_loss_grad,                       \
        .evaluate = glm_evaluate, .logits = glm_logits,                        \
        .row_floats = glm_row_floats,                                          \
    }
const samc_model_ops samc_model_linear_ops = GLM_OPS("linear", SAMC_MODEL_LINEAR);
const samc_model_ops samc_model_logreg_ops = GLM_OPS("logreg", SAMC_MODEL_LOGREG);

const samc_model_ops samc_model_softmax_ops = {
    .name = "softmax",
    .kind = SAMC_MODEL_SOFTMAX,
    .setup = softmax_setup,
    .destroy = softmax_destroy,
    .init_params = NULL,
    .loss_grad = softmax_loss_grad,
    .evaluate = softmax_evaluate,
    .logits = softmax_logits,
    .row_floats = softmax_row_floats,
};
