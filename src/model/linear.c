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
 *
 * Sparse rows (CSR, LIBSVM data) are never made dense: the forward pass is
 * a sparse-times-dense dot per row and the gradient a sparse-transpose
 * product into a double accumulator that only the batch's columns touch, so
 * a batch costs O(its nonzeros), not O(rows x d).  Both give the same bits
 * as the dense kernels on the same rows: each column's gradient is summed in
 * the same row order (a zero entry adds nothing), and a row of a set with at
 * most SMALL_D features is scattered into a dense row on the stack and goes
 * through the dense dot (whose vector lanes round differently from a
 * sequential sum), so small LIBSVM sets train exactly as they did dense
 * (docs/MATH.md section 7).
 */
#include "data/sparse.h"
#include "model/model_internal.h"
#include "nn/nn.h"
#include "util/err.h"
#include "util/mem.h"

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
#define SMALL_D 256

/* A row as the kernels read it: dense floats, or the entries [k0, k1) of a
 * sparse set. */
typedef struct row_ref {
    const float *dense;
    const samc_dataset *ds;
    size_t k0, k1;
} row_ref;

/* Row t of the batch; buf (SMALL_D floats) holds a small sparse row made dense. */
static row_ref get_row(const samc_dataset *ds, const size_t *idx, size_t t, float *buf)
{
    const size_t r = idx ? idx[t] : t;
    row_ref a = { NULL, ds, 0, 0 };
    if (ds->x) {
        a.dense = ds->x + r * ds->d;
    } else if (ds->d <= SMALL_D) {
        samc_dataset_row_dense(ds, r, buf);
        a.dense = buf;
    } else {
        a.k0 = ds->ptr[r];
        a.k1 = ds->ptr[r + 1];
    }
    return a;
}

/* Rows the gradient reads entry by entry (a set without dense rows). */
static int sparse_rows(const samc_dataset *ds) { return ds->x == NULL; }

static const float *row_of(const samc_dataset *ds, const size_t *idx, size_t t)
{
    size_t r = idx ? idx[t] : t;
    return ds->x + r * ds->d;
}

static size_t row_index(const size_t *idx, size_t t) { return idx ? idx[t] : t; }

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

/* w'a for a row of either kind. */
static double row_dot(const row_ref *a, const float *w, size_t d)
{
    if (a->dense) return dot_fd(a->dense, w, d);
    const float *v = a->ds->val;
    double s = 0.0;
    if (a->ds->col32) {
        const uint32_t *c = a->ds->col32;
        for (size_t k = a->k0; k < a->k1; k++) s += (double)v[k] * (double)w[c[k]];
    } else {
        const uint64_t *c = a->ds->col64;
        for (size_t k = a->k0; k < a->k1; k++) s += (double)v[k] * (double)w[c[k]];
    }
    return s;
}

/* Scratch of the sparse gradient (d columns): a double accumulator, which
 * columns the batch touched (mark, and their list).  Entries are zeroed at
 * their first touch and the marks cleared after, so nothing is O(d) per
 * batch.  Because of it one handle must not run loss_grad on sparse rows
 * from two threads at once. */
typedef struct col_scratch {
    double *acc;
    unsigned char *mark;
    size_t *touched;
    size_t n_touched;
} col_scratch;

static int col_scratch_init(col_scratch *c, size_t d, int with_acc)
{
    c->acc = with_acc ? malloc((d ? d : 1) * sizeof *c->acc) : NULL;
    c->mark = calloc(d ? d : 1, 1);
    c->touched = malloc((d ? d : 1) * sizeof *c->touched);
    c->n_touched = 0;
    return (!with_acc || c->acc) && c->mark && c->touched;
}

static void col_scratch_free(col_scratch *c) { SAMC_FREE_ALL(c->acc, c->mark, c->touched); }

/* Column j touched: 1 the first time (since the last clear). */
static int touch(col_scratch *c, size_t j)
{
    if (c->mark[j]) return 0;
    c->mark[j] = 1;
    c->touched[c->n_touched++] = j;
    return 1;
}

static void clear_marks(col_scratch *c)
{
    for (size_t i = 0; i < c->n_touched; i++) c->mark[c->touched[i]] = 0;
    c->n_touched = 0;
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
    col_scratch *c = calloc(1, sizeof *c);
    m->priv = c;
    if (!c || !col_scratch_init(c, m->d, 1))   /* model.c frees through destroy */
        return samc_errf(err, SAMC_ENOMEM, "model %s: out of memory (%zu features)", m->ops->name, m->d);
    return SAMC_OK;
}

static void glm_destroy(samc_model *m)
{
    if (!m->priv) return;
    col_scratch_free(m->priv);
    free(m->priv);
    m->priv = NULL;
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
    float buf[SMALL_D];
    for (size_t t = a; t < e; t++) {
        const row_ref row = get_row(ds, idx, t0 + t, buf);
        double z = row_dot(&row, x, m->d) + b;
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

/* The gradient of the block's nt rows from their sparse entries: per
 * column the same sums in the same row order as glm_cols. */
static void csr_cols(const samc_model *m, const samc_dataset *ds, const size_t *idx, size_t t0,
                     size_t nt, const double *r, float *grad, double gscale)
{
    col_scratch *c = m->priv;
    double *acc = c->acc;
    for (size_t t = 0; t < nt; t++) {
        if (r[t] == 0.0) continue;
        const size_t row = row_index(idx, t0 + t);
        for (size_t k = ds->ptr[row]; k < ds->ptr[row + 1]; k++) {
            const size_t j = samc_csr_col(ds, k);
            if (touch(c, j)) acc[j] = 0.0;
            acc[j] += r[t] * (double)ds->val[k];
        }
    }
    for (size_t i = 0; i < c->n_touched; i++) {
        const size_t j = c->touched[i];
        grad[j] += (float)(gscale * acc[j]);
    }
    clear_marks(c);
}

static samc_status glm_loss_grad(const samc_model *m, const samc_dataset *ds,
                                 const size_t *idx, size_t nb, const float *x,
                                 float *grad, double gscale, double *loss_sum)
{
    const size_t d = m->d;
    const double b = m->bias ? (double)x[d] : 0.0;
    double r[ROW_BLOCK_PAR];
    double lsum = 0.0, bsum = 0.0;

    if (sparse_rows(ds) || (double)nb * (double)d < PAR_MIN || omp_get_max_threads() == 1) {
        for (size_t t0 = 0; t0 < nb; t0 += ROW_BLOCK) {
            const size_t nt = nb - t0 < ROW_BLOCK ? nb - t0 : ROW_BLOCK;
            glm_rows(m, ds, idx, x, b, t0, 0, nt, r, &lsum, &bsum);
            if (grad && sparse_rows(ds))
                csr_cols(m, ds, idx, t0, nt, r, grad, gscale);
            else if (grad)
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

/* The loss of row r (read as a) at x, and whether it is classified right. */
typedef double (*row_eval_fn)(const samc_model *m, const samc_dataset *ds, size_t r,
                              const row_ref *a, const float *x, int *right);

/* Over all rows of ds, on the OpenMP threads: the sum of the per-row losses
 * and the number classified right (reductions in row order per thread). */
static void eval_rows(const samc_model *m, const samc_dataset *ds, const float *x, row_eval_fn f,
                      double *loss_sum, double *n_correct)
{
    const long long n = (long long)ds->n;
    double lsum = 0.0, correct = 0.0;
#pragma omp parallel for reduction(+ : lsum, correct) schedule(static)
    for (long long i = 0; i < n; i++) {
        float buf[SMALL_D];
        const row_ref a = get_row(ds, NULL, (size_t)i, buf);
        int right = 0;
        lsum += f(m, ds, (size_t)i, &a, x, &right);
        if (right) correct += 1.0;
    }
    *loss_sum = lsum;
    *n_correct = correct;
}

static double glm_eval_row(const samc_model *m, const samc_dataset *ds, size_t r, const row_ref *a,
                           const float *x, int *right)
{
    const float y = regression_target(m, ds, ds->y[r]);
    double z = row_dot(a, x, m->d) + (m->bias ? (double)x[m->d] : 0.0), dz;
    *right = m->kind == SAMC_MODEL_LOGREG && (z >= 0.0) == (y > 0.5f);
    return glm_row(m->kind, z, y, &dz);
}

static samc_status glm_evaluate(const samc_model *m, const samc_dataset *ds,
                                const float *x, double *loss_sum, double *n_correct)
{
    eval_rows(m, ds, x, glm_eval_row, loss_sum, n_correct);
    if (m->kind != SAMC_MODEL_LOGREG) *n_correct = NAN;
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
    col_scratch cols;   /* the columns sparse rows touched (g is the accumulator) */
} softmax_scratch;

static void softmax_destroy(samc_model *m)
{
    softmax_scratch *s = m->priv;
    if (!s) return;
    free(s->p);
    free(s->g);
    col_scratch_free(&s->cols);
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
    if (!s || !s->p || !s->g || !col_scratch_init(&s->cols, d, 0))
        /* model.c frees through destroy */
        return samc_errf(err, SAMC_ENOMEM, "model softmax: out of memory (%zu parameters)", m->n_params);
    return SAMC_OK;
}

/* The cross-entropy of logits z[0..K) at class y; with dz, z becomes
 * dloss / dz (softmax minus the one-hot of y). */
static double softmax_row(double *z, size_t K, size_t y, double eps, int dz)
{
    double zmax = -INFINITY;
    for (size_t k = 0; k < K; k++)
        if (z[k] > zmax) zmax = z[k];
    double se = 0.0;
    for (size_t k = 0; k < K; k++) se += exp(z[k] - zmax);
    const double lse = zmax + log(se);
    double zsum = 0.0;
    for (size_t k = 0; eps != 0.0 && k < K; k++) zsum += z[k];
    const double loss = nn_smooth_xent_row(lse, z[y], zsum, (int)K, eps);
    const double q_y = 1.0 - eps, q_o = eps / (double)(K - 1);   /* the smoothed targets */
    if (dz)
        for (size_t k = 0; k < K; k++) z[k] = exp(z[k] - lse) - (k == y ? q_y : q_o);
    return loss;
}

double samc_linear_row(const samc_model *m, const samc_dataset *ds, size_t r, double *z)
{
    if (m->kind == SAMC_MODEL_SOFTMAX) return softmax_row(z, (size_t)m->n_classes, (size_t)ds->y[r], m->smoothing, 1);
    double dz;
    const double loss = glm_row(m->kind, z[0], regression_target(m, ds, ds->y[r]), &dz);
    z[0] = dz;
    return loss;
}

/* g[k*d + j] += r_k a_j for the row's entries (K classes, r[0..K)); the
 * columns a sparse row touches are zeroed at their first touch. */
static void softmax_row_grad(softmax_scratch *s, const row_ref *a, size_t K, size_t d,
                             const double *r)
{
    double *g = s->g;
    if (a->dense) {
        for (size_t k = 0; k < K; k++) {
            double *gk = g + k * d;
            for (size_t j = 0; j < d; j++) gk[j] += r[k] * (double)a->dense[j];
        }
        return;
    }
    const samc_dataset *ds = a->ds;
    for (size_t q = a->k0; q < a->k1; q++) {
        const size_t j = samc_csr_col(ds, q);
        if (touch(&s->cols, j))
            for (size_t k = 0; k < K; k++) g[k * d + j] = 0.0;
    }
    for (size_t k = 0; k < K; k++) {
        double *gk = g + k * d;
        for (size_t q = a->k0; q < a->k1; q++) gk[samc_csr_col(ds, q)] += r[k] * (double)ds->val[q];
    }
}

/* grad += gscale g over what the batch touched (every entry for dense rows). */
static void softmax_flush(softmax_scratch *s, size_t K, size_t d, size_t np, int sparse,
                          float *grad, double gscale)
{
    const double *g = s->g;
    if (!sparse) {
        for (size_t i = 0; i < np; i++) grad[i] += (float)(gscale * g[i]);
        return;
    }
    for (size_t i = 0; i < s->cols.n_touched; i++)
        for (size_t k = 0, j = s->cols.touched[i]; k < K; k++)
            grad[k * d + j] += (float)(gscale * g[k * d + j]);
    for (size_t i = K * d; i < np; i++) grad[i] += (float)(gscale * g[i]);
    clear_marks(&s->cols);
}

static samc_status softmax_loss_grad(const samc_model *m, const samc_dataset *ds,
                                     const size_t *idx, size_t nb, const float *x,
                                     float *grad, double gscale, double *loss_sum)
{
    softmax_scratch *s = m->priv;
    const size_t K = (size_t)m->n_classes, d = m->d, np = m->n_params;
    const float *bvec = m->bias ? x + K * d : NULL;
    const int sparse = sparse_rows(ds) && d > SMALL_D;
    double *p = s->p, *g = s->g;
    double lsum = 0.0;
    float buf[SMALL_D];
    if (grad && !sparse) memset(g, 0, np * sizeof *g);
    if (grad && sparse) memset(g + K * d, 0, (np - K * d) * sizeof *g);

    for (size_t t = 0; t < nb; t++) {
        const row_ref a = get_row(ds, idx, t, buf);
        const size_t y = (size_t)target_of(ds, idx, t);
        for (size_t k = 0; k < K; k++) p[k] = row_dot(&a, x + k * d, d) + (bvec ? (double)bvec[k] : 0.0);
        lsum += softmax_row(p, K, y, m->smoothing, grad != NULL);
        if (!grad) continue;
        if (bvec)
            for (size_t k = 0; k < K; k++) g[K * d + k] += p[k];
        softmax_row_grad(s, &a, K, d, p);
    }
    if (grad) softmax_flush(s, K, d, np, sparse, grad, gscale);
    *loss_sum = lsum;
    return SAMC_OK;
}

/* One pass over the classes per row, with a running log-sum-exp, so no
 * buffer is needed (and the threads share nothing but the reductions). */
static double softmax_eval_row(const samc_model *m, const samc_dataset *ds, size_t r, const row_ref *a,
                               const float *x, int *right)
{
    const size_t K = (size_t)m->n_classes, d = m->d;
    const float *bvec = m->bias ? x + K * d : NULL;
    const size_t y = (size_t)ds->y[r];
    double zmax = -INFINITY, se = 0.0, zy = 0.0, zsum = 0.0;
    size_t arg = 0;
    for (size_t k = 0; k < K; k++) {
        double z = row_dot(a, x + k * d, d) + (bvec ? (double)bvec[k] : 0.0);
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
    *right = arg == y;
    return nn_smooth_xent_row(zmax + log(se), zy, zsum, (int)K, m->smoothing);
}

static samc_status softmax_evaluate(const samc_model *m, const samc_dataset *ds,
                                    const float *x, double *loss_sum, double *n_correct)
{
    eval_rows(m, ds, x, softmax_eval_row, loss_sum, n_correct);
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
        if (sparse_rows(ds)) {   /* the same sequential sum over the entries */
            const size_t r = row_index(idx, t);
            for (size_t k = 0; k < K; k++) {
                const float *w = x + k * d;
                double z = b ? (double)b[k] : 0.0;
                for (size_t q = ds->ptr[r]; q < ds->ptr[r + 1]; q++)
                    z += (double)w[samc_csr_col(ds, q)] * (double)ds->val[q];
                out[t * K + k] = (float)z;
            }
            continue;
        }
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
        .name = NAME, .kind = KIND, .setup = glm_setup, .destroy = glm_destroy,       \
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
