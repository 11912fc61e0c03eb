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
 * weighted by the shares of the rows.  m-sharpness in one process splits a
 * rank's rows the same way into the optimizer's chunks (samc_oracle.chunk),
 * and gradient accumulation splits whatever the model batch holds into
 * parts (samc_model_batch.parts).
 */
#include <math.h>
#include <string.h>

#include "dist/dist.h"

/* Points the model batch at part r of K of rows [first, first + n) of the
 * global batch, rows first + [floor(r n / K), floor((r+1) n / K)); returns
 * the part's share of the n rows. */
static double point_at(samc_dist_batch *b, size_t first, size_t n, int r, int K)
{
    const size_t lo = first + n * (size_t)r / (size_t)K, hi = first + n * (size_t)(r + 1) / (size_t)K;
    b->mb.ds = b->ds;
    b->mb.idx = b->idx ? b->idx + lo : NULL;
    b->mb.nb = hi - lo;
    if (!b->idx) {   /* rows 0..nb of ds (an augmented batch): a view of rows lo..hi */
        b->view = samc_dataset_rows(b->ds, lo, hi - lo);
        b->mb.ds = &b->view;
    }
    return n ? (double)(hi - lo) / (double)n : 0.0;
}

/* Points the model batch at this rank's rows of the global batch. */
static void shard(samc_dist_batch *b)
{
    b->first = b->nb * (size_t)b->rank / (size_t)b->size;
    b->rows = b->nb * (size_t)(b->rank + 1) / (size_t)b->size - b->first;
    b->share = point_at(b, 0, b->nb, b->rank, b->size);
    b->mb.scale = b->local ? 1.0 : b->share;
}

void samc_dist_set_batch(samc_dist_batch *b, const samc_dataset *ds, const size_t *idx, size_t nb)
{
    b->sharded = 0;
    b->ds = ds;
    b->idx = idx;
    b->nb = nb;
    if (b->size == 1 && !b->local) {   /* one process: the whole batch, as it is */
        b->mb.ds = ds;
        b->mb.idx = idx;
        b->mb.nb = nb;
        b->mb.scale = 1.0;
        b->share = 1.0;
        b->first = 0;
        b->rows = nb;
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
    b->first = 0;
    b->rows = nb;
    b->sharded = 1;
}

/* m-sharpness (samc_oracle.chunk): part j of this rank's rows, its own
 * mean (what a rank with a local perturbation is); j = -1: all of them. */
static int select_chunk(void *user, int j, double *weight)
{
    samc_dist_batch *b = user;
    if (j < 0) {
        if (b->sharded) samc_dist_set_shard(b, b->ds, b->idx, b->rows, b->nb);
        else samc_dist_set_batch(b, b->ds, b->idx, b->nb);
        return 0;
    }
    *weight = point_at(b, b->first, b->rows, j, b->chunks);
    b->mb.scale = 1.0;
    return 0;
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

samc_oracle samc_dist_oracle(samc_dist_batch *b, samc_model *m, int perturb_local, int chunks, int parts)
{
    memset(b, 0, sizeof *b);
    b->rank = samc_dist_rank();
    b->size = samc_dist_size();
    b->local = perturb_local;
    b->chunks = chunks;
    b->mb.model = m;
    b->mb.scale = 1.0;
    b->mb.parts = parts;
    b->model_orc = samc_model_oracle(&b->mb);
    samc_oracle o = b->model_orc;
    if (perturb_local) o.reduce = shard_reduce, o.user = b;
    else if (b->size > 1) o.loss_grad = global_loss_grad, o.user = b;
    if (chunks > 1) o.chunks = chunks, o.chunk = select_chunk, o.user = b;   /* b->mb first: the model's user */
    return o;
}
