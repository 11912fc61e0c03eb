/*
 * dist_oracle.c -- the oracle of one step's batch, split across the ranks of
 * a data-parallel run (one process: the model's own oracle on the batch).
 *
 * Rank r of K takes rows [floor(r b / K), floor((r+1) b / K)) of the global
 * batch of b rows.  Global perturbation: each rank's loss and gradient are
 * its shard mean times its share of the rows (the l2 term included with the
 * same weight, so the weights sum to 1), summed over the ranks -- the global
 * batch's loss and gradient on every rank.  A rank whose model fails
 * contributes NaN, so every rank sees the same non-finite loss and stops at
 * the same step.  Local perturbation: the shard's own mean, and the
 * optimizer's reduction hook (samc_oracle.reduce) averages what it needs,
 * weighted by the shares of the rows.
 */
#include <math.h>
#include <string.h>

#include "dist/dist.h"

/* Points the model batch at this rank's rows of the global batch. */
static void shard(samc_dist_batch *b)
{
    const size_t lo = b->nb * (size_t)b->rank / (size_t)b->size;
    const size_t hi = b->nb * (size_t)(b->rank + 1) / (size_t)b->size;
    b->share = (double)(hi - lo) / (double)b->nb;
    b->mb.ds = b->ds;
    b->mb.idx = b->idx ? b->idx + lo : NULL;
    b->mb.nb = hi - lo;
    b->mb.scale = b->local ? 1.0 : b->share;
    if (!b->idx) {   /* rows 0..nb of ds (an augmented batch): a view of rows lo..hi */
        b->view = samc_dataset_rows(b->ds, lo, hi - lo);
        b->mb.ds = &b->view;
    }
}

void samc_dist_set_batch(samc_dist_batch *b, const samc_dataset *ds, const size_t *idx, size_t nb)
{
    b->ds = ds;
    b->idx = idx;
    b->nb = nb;
    if (b->size == 1 && !b->local) {   /* one process: the whole batch, as it is */
        b->mb.ds = ds;
        b->mb.idx = idx;
        b->mb.nb = nb;
        b->mb.scale = 1.0;
        b->share = 1.0;
        return;
    }
    shard(b);
}

void samc_dist_set_shard(samc_dist_batch *b, const samc_dataset *ds, const size_t *idx, size_t nb,
                         size_t nb_all)
{
    b->ds = ds;
    b->idx = idx;
    b->nb = nb_all;
    b->share = (double)nb / (double)nb_all;
    b->mb.ds = ds;
    b->mb.idx = idx;
    b->mb.nb = nb;
    b->mb.scale = b->local ? 1.0 : b->share;
}

static int global_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    samc_dist_batch *b = user;
    if (b->model_orc.loss_grad(b->model_orc.user, x, grad, loss, pass) != 0) *loss = NAN;
    samc_dist_sum_d(loss, 1);
    if (grad) samc_dist_sum_f(grad, b->model_orc.n);
    return 0;
}

static int shard_reduce(void *user, double *vals, size_t n_vals, float *vec, size_t n_vec)
{
    samc_dist_batch *b = user;
    const double w = b->share;
    if (w != 1.0) {
        for (size_t i = 0; i < n_vals; i++) vals[i] = b->mb.nb ? w * vals[i] : 0.0;
        for (size_t i = 0; i < n_vec; i++) vec[i] = b->mb.nb ? (float)(w * (double)vec[i]) : 0.0f;
    }
    samc_dist_sum_d(vals, n_vals);
    samc_dist_sum_f(vec, n_vec);
    return 0;
}

samc_oracle samc_dist_oracle(samc_dist_batch *b, samc_model *m, int perturb_local)
{
    memset(b, 0, sizeof *b);
    b->rank = samc_dist_rank();
    b->size = samc_dist_size();
    b->local = perturb_local;
    b->mb.model = m;
    b->mb.scale = 1.0;
    b->model_orc = samc_model_oracle(&b->mb);
    samc_oracle o = b->model_orc;
    if (perturb_local) o.reduce = shard_reduce, o.user = b;
    else if (b->size > 1) o.loss_grad = global_loss_grad, o.user = b;
    return o;
}
