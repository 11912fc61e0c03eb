/*
 * model.c -- the samc_model handle: creation from a spec string through a
 * registry of model operations (model_internal.h), and the generic parts of
 * the loss: argument and row checks, the batch mean, the scale and the
 * (l2/2)||theta||^2 term, the SAM pass, the non-trainable buffers, the
 * logits, and the model as an oracle (samc_model_oracle).  The models
 * themselves live in their own files (linear.c: linear, logreg, softmax;
 * net.c: mlp, cnn, resnet, resnet18, wrn).
 */
#include "model/model_internal.h"
#include "model/roles.h"
#include "util/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Every model samc_model_create knows, in the order listed in messages. */
static const samc_model_ops *const registry[] = {
    &samc_model_linear_ops,
    &samc_model_logreg_ops,
    &samc_model_softmax_ops,
    &samc_model_mlp_ops,
    &samc_model_cnn_ops,
    &samc_model_resnet_ops,
    &samc_model_resnet18_ops,
    &samc_model_wrn_ops,
};
#define N_REGISTRY (sizeof registry / sizeof registry[0])

/* "linear", "logreg", "softmax" into buf. */
static void accepted_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_REGISTRY && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s\"%s\"", i ? ", " : "",
                         registry[i]->name);
        if (k < 0) break;
        used += (size_t)k;
    }
}

/* The tensors of a model that is one nn.Linear: "weight" [rows][d] (rows 1,
 * or K for softmax), then "bias" [rows] if it has one. */
static samc_status linear_table(samc_model *m, char *err)
{
    const size_t rows = m->kind == SAMC_MODEL_SOFTMAX ? (size_t)m->n_classes : 1;
    m->n_tensors = m->bias ? 2 : 1;
    m->tensors = calloc(m->n_tensors, sizeof *m->tensors);
    if (!m->tensors)
        return samc_errf(err, SAMC_ENOMEM, "model %s: out of memory", m->ops->name);
    samc_tensor *w = &m->tensors[0], *b = &m->tensors[1];
    snprintf(w->name, sizeof w->name, "weight");
    w->role = SAMC_ROLE_WEIGHT;
    w->size = rows * m->d;
    w->ndim = 2;
    w->shape[0] = (int64_t)rows;
    w->shape[1] = (int64_t)m->d;
    if (m->bias) {
        snprintf(b->name, sizeof b->name, "bias");
        b->role = SAMC_ROLE_BIAS;
        b->offset = w->size;
        b->size = rows;
        b->ndim = 1;
        b->shape[0] = (int64_t)rows;
    }
    return SAMC_OK;
}

/* samc_model_create with an image shape (C, H, W all > 0 and C*H*W == d,
 * or all 0). */
static samc_status create_shaped(samc_model **m, const char *spec, size_t d,
                                 int n_classes, int C, int H, int W, double l2,
                                 int bias, char *err)
{
    if (!m)
        return samc_errf(err, SAMC_EINVAL, "samc_model_create: NULL model pointer");
    *m = NULL;
    if (!spec)
        return samc_errf(err, SAMC_EINVAL, "samc_model_create: NULL model spec");
    const char *colon = strchr(spec, ':');
    size_t base_len = colon ? (size_t)(colon - spec) : strlen(spec);
    const samc_model_ops *ops = NULL;
    for (size_t i = 0; i < N_REGISTRY; i++) {
        if (strlen(registry[i]->name) == base_len &&
            strncmp(registry[i]->name, spec, base_len) == 0) {
            ops = registry[i];
            break;
        }
    }
    if (!ops) {
        char names[256];
        accepted_names(names, sizeof names);
        return samc_errf(err, SAMC_EINVAL, "unknown model \"%.64s\" (accepted: %s)", spec, names);
    }
    if (strlen(spec) >= SAMC_MODEL_NAME_LEN)
        return samc_errf(err, SAMC_EINVAL, "model spec \"%.64s...\" is too long (at most %d characters)",
                         spec, SAMC_MODEL_NAME_LEN - 1);
    if (d == 0)
        return samc_errf(err, SAMC_EINVAL, "model %s: the data have no features (d = 0)", ops->name);
    if (n_classes < 0)
        return samc_errf(err, SAMC_EINVAL, "model %s: n_classes = %d is negative", ops->name, n_classes);
    if (!(l2 >= 0.0) || !isfinite(l2))
        return samc_errf(err, SAMC_EINVAL, "model %s: l2 = %g must be a finite number >= 0", ops->name, l2);
    if (bias != 0 && bias != 1)
        return samc_errf(err, SAMC_EINVAL, "model %s: bias = %d must be 0 or 1", ops->name, bias);

    samc_model *mm = calloc(1, sizeof *mm);
    if (!mm)
        return samc_errf(err, SAMC_ENOMEM, "model %s: out of memory", ops->name);
    mm->ops = ops;
    mm->kind = ops->kind;
    memcpy(mm->name, spec, strlen(spec) + 1);
    mm->d = d;
    mm->n_classes = n_classes;
    mm->l2 = l2;
    mm->bias = bias;
    mm->channels = C;
    mm->height = H;
    mm->width = W;
    mm->pass = 1;
    samc_status st = ops->setup(mm, colon ? colon + 1 : NULL, err);
    if (st == SAMC_OK && !mm->tensors) st = linear_table(mm, err);
    if (st != SAMC_OK) {
        samc_model_free(mm);
        return st;
    }
    *m = mm;
    return SAMC_OK;
}

size_t samc_model_n_tensors(const samc_model *m)
{
    return m ? m->n_tensors : 0;
}

const samc_tensor *samc_model_tensors(const samc_model *m)
{
    return m ? m->tensors : NULL;
}

samc_status samc_model_create(samc_model **m, const char *spec, size_t d,
                              int n_classes, double l2, int bias, char *err)
{
    return create_shaped(m, spec, d, n_classes, 0, 0, 0, l2, bias, err);
}

samc_status samc_model_create_for(samc_model **m, const char *spec,
                                  const samc_dataset *train, double l2, int bias,
                                  char *err)
{
    if (m) *m = NULL;
    if (!train)
        return samc_errf(err, SAMC_EINVAL, "samc_model_create_for: NULL data set");
    int C = train->channels, H = train->height, W = train->width;
    if (C <= 0 || H <= 0 || W <= 0 ||
        (size_t)C * (size_t)H * (size_t)W != train->d)
        C = H = W = 0;   /* not images (or an inconsistent shape): flat rows */
    return create_shaped(m, spec, train->d, train->n_classes, C, H, W, l2, bias, err);
}

void samc_model_free(samc_model *m)
{
    if (!m) return;
    if (m->ops && m->ops->destroy) m->ops->destroy(m);
    free(m->tensors);
    free(m);
}

size_t samc_model_n_params(const samc_model *m)
{
    return m ? m->n_params : 0;
}

const char *samc_model_name(const samc_model *m)
{
    return m ? m->name : "";
}

void samc_model_init_params(const samc_model *m, float *x, samc_rng *rng)
{
    if (!m || !x) return;
    if (m->ops->init_params)
        m->ops->init_params(m, x, rng);
    else
        memset(x, 0, m->n_params * sizeof *x);
}

/* Row r's target is a valid class index for m (or m takes raw targets). */
static int target_ok(const samc_model *m, float y)
{
    if (m->target_classes == 0) return 1;
    return y >= 0.0f && y < (float)m->target_classes && y == floorf(y);
}

/* Checks shared by loss_grad, evaluate and logits: shapes, rows and (if
 * targets) the targets. */
static samc_status check_rows_t(const samc_model *m, const samc_dataset *ds,
                                const size_t *idx, size_t nb, int targets)
{
    if (ds->d != m->d || (!ds->x && !ds->val) || (targets && !ds->y)) return SAMC_EINVAL;
    if (!idx && nb > ds->n) return SAMC_EINVAL;
    for (size_t t = 0; t < nb; t++) {
        size_t r = idx ? idx[t] : t;
        if (r >= ds->n) return SAMC_EINVAL;
        if (targets && !target_ok(m, ds->y[r])) return SAMC_EINVAL;
    }
    return SAMC_OK;
}

static samc_status check_rows(const samc_model *m, const samc_dataset *ds,
                              const size_t *idx, size_t nb)
{
    return check_rows_t(m, ds, idx, nb, 1);
}

static double sumsq(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

samc_status samc_model_loss_grad(const samc_model *m, const samc_dataset *ds,
                                 const size_t *idx, size_t nb, const float *x,
                                 float *grad, double scale, int add_l2,
                                 double *loss)
{
    if (!m || !ds || !x || !loss || nb == 0 || !isfinite(scale)) return SAMC_EINVAL;
    samc_status st = check_rows(m, ds, idx, nb);
    if (st != SAMC_OK) return st;

    double sum = 0.0;
    st = m->ops->loss_grad(m, ds, idx, nb, x, grad, scale / (double)nb, &sum);
    if (st != SAMC_OK) return st;
    double f = sum / (double)nb;
    if (add_l2 && m->l2 > 0.0) {
        f += 0.5 * m->l2 * sumsq(x, m->n_params);
        if (grad) {
            const double c = scale * m->l2;
            for (size_t i = 0; i < m->n_params; i++)
                grad[i] += (float)(c * (double)x[i]);
        }
    }
    *loss = scale * f;
    return SAMC_OK;
}

samc_status samc_model_evaluate(const samc_model *m, const samc_dataset *ds,
                                const float *x, double *loss, double *acc)
{
    if (!m || !ds || !x || ds->n == 0) return SAMC_EINVAL;
    samc_status st = check_rows(m, ds, NULL, ds->n);
    if (st != SAMC_OK) return st;
    double sum = 0.0, correct = 0.0;
    st = m->ops->evaluate(m, ds, x, &sum, &correct);
    if (st != SAMC_OK) return st;
    if (loss) *loss = sum / (double)ds->n + 0.5 * m->l2 * sumsq(x, m->n_params);
    if (acc) *acc = isnan(correct) ? NAN : correct / (double)ds->n;
    return SAMC_OK;
}

void samc_model_set_pass(samc_model *m, int pass)
{
    if (m) m->pass = pass == 0 ? 0 : pass == 2 ? 2 : 1;
}

samc_status samc_model_set_dropout(samc_model *m, double p, char *err)
{
    SAMC_CHECK(m, SAMC_EINVAL, "samc_model_set_dropout: NULL model");
    SAMC_CHECK(p >= 0.0 && p < 1.0, SAMC_EINVAL, "dropout %g: expected a rate in [0, 1)", p);
    if (m->ops->set_dropout) return m->ops->set_dropout(m, p, err);
    SAMC_CHECK(p == 0.0, SAMC_EINVAL, "dropout %g: model %.64s has no dropout (wrn:D-K has)", p,
               m->name);
    return SAMC_OK;
}

samc_rng *samc_model_rng(samc_model *m)
{
    return m && m->ops->rng ? m->ops->rng(m) : NULL;
}

size_t samc_model_n_buffers(const samc_model *m)
{
    return m ? m->n_buffers : 0;
}

float *samc_model_buffers(samc_model *m)
{
    return m && m->n_buffers ? m->buffers : NULL;
}

samc_status samc_model_logits(const samc_model *m, const samc_dataset *ds,
                              const size_t *idx, size_t nb, const float *x,
                              float *out)
{
    if (!m || !ds || !x || !out || nb == 0) return SAMC_EINVAL;
    samc_status st = check_rows_t(m, ds, idx, nb, 0);
    if (st != SAMC_OK) return st;
    return m->ops->logits(m, ds, idx, nb, x, out);
}

size_t samc_model_row_floats(const samc_model *m)
{
    return m ? m->ops->row_floats(m) : 0;
}

void samc_model_param_roles(const samc_model *m, unsigned char *role)
{
    const samc_tensor *t = samc_model_tensors(m);
    for (size_t k = 0; k < samc_model_n_tensors(m); k++)
        if (!t[k].buffer) memset(role + t[k].offset, (int)t[k].role, t[k].size);
}

samc_status samc_model_set_label_smoothing(samc_model *m, double eps, char *err)
{
    SAMC_CHECK(m, SAMC_EINVAL, "label smoothing: NULL model");
    SAMC_CHECK(eps >= 0.0 && eps < 1.0, SAMC_EINVAL, "label smoothing must be in [0, 1), got %g", eps);
    SAMC_CHECK(eps == 0.0 || m->kind == SAMC_MODEL_SOFTMAX || m->kind == SAMC_MODEL_NET, SAMC_EINVAL,
               "label smoothing needs a cross-entropy model (softmax or a network), not %s", m->name);
    m->smoothing = eps;
    return SAMC_OK;
}

double samc_model_label_smoothing(const samc_model *m) { return m ? m->smoothing : 0.0; }

/* Rows [lo, hi) of the batch b as a batch of their own: idx + lo, or
 * (idx NULL) a view of those rows of ds. */
static const size_t *part_rows(const samc_model_batch *b, size_t lo, size_t hi, samc_dataset *view)
{
    if (b->idx) return b->idx + lo;
    *view = *b->ds;
    view->x += lo * view->d;
    view->y += lo;
    view->n = hi - lo;
    return NULL;
}

/* The batch in b->parts parts, one after another (gradient accumulation):
 * part j, rows [floor(j nb / K), floor((j+1) nb / K)), adds its mean loss
 * and gradient (with the l2 term) times scale * rows / nb. */
static int accumulate(samc_model_batch *b, const float *x, float *grad, double *loss)
{
    const size_t K = (size_t)b->parts;
    *loss = 0.0;
    b->status = SAMC_OK;
    for (size_t j = 0; j < K && b->status == SAMC_OK; j++) {
        const size_t lo = b->nb * j / K, hi = b->nb * (j + 1) / K;
        if (hi == lo) continue;
        samc_dataset view;
        const size_t *idx = part_rows(b, lo, hi, &view);
        double l = 0.0;
        b->status = samc_model_loss_grad(b->model, idx ? b->ds : &view, idx, hi - lo, x, grad,
                                         b->scale * (double)(hi - lo) / (double)b->nb, 1, &l);
        *loss += l;
    }
    return b->status == SAMC_OK ? 0 : -1;
}

/* The oracle callback of samc_model_oracle. */
static int batch_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    samc_model_batch *b = user;
    samc_model_set_pass(b->model, pass);
    if (grad) memset(grad, 0, b->model->n_params * sizeof *grad);
    if (b->nb == 0) {
        *loss = 0.0;
        b->status = SAMC_OK;
        return 0;
    }
    if (b->parts > 1) return accumulate(b, x, grad, loss);
    b->status = samc_model_loss_grad(b->model, b->ds, b->idx, b->nb, x, grad, b->scale, 1, loss);
    return b->status == SAMC_OK ? 0 : -1;
}

samc_oracle samc_model_oracle(samc_model_batch *b)
{
    samc_oracle o = { .n = b && b->model ? b->model->n_params : 0, .loss_grad = batch_loss_grad, .user = b };
    return o;
}
