/*
 * trainer.c -- the training loop in layers (include/samc.h, section 10):
 * init (a fresh run or a resume), step, end of epoch, save, finish.
 *
 * Per epoch: the batch size b_e from the batch schedule, a shuffle of the
 * sample order (identity, then Fisher-Yates from the shuffle stream, so the
 * stream's state at the epoch start alone fixes the order), ceil(n / b_e)
 * steps; per step: eta_t and rho_t from the schedules, an augmented copy of
 * the batch (from its own stream), one optimizer step, one row of
 * steps.csv; per epoch: full-pass evaluation, one row of metrics.csv, and a
 * checkpoint.  Every row is flushed as written, so a crash loses nothing
 * already measured, and a checkpoint holds everything the next step needs.
 *
 * The position of a run (train_pos) is always the next step to take; a
 * checkpoint records a position it is given, so nothing is changed around
 * a save.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "dist/dist.h"
#include "model/roles.h"
#include "optim/sparse_step.h"
#include "train/train_internal.h"
#include "util/err.h"

/* Where a run stands before its next step. */
typedef struct train_pos {
    int64_t step;           /* steps taken */
    int epoch;
    int64_t epoch_step;     /* steps of epoch taken */
    samc_rng shuffle_rng;   /* at the start of epoch, before its shuffle */
    samc_rng aug_rng;
} train_pos;

/* Augmented batches: the rows gathered, then cropped and flipped into a
 * buffer that grows only when the batch size does (stage changes). */
typedef struct aug_buf {
    samc_dataset batch;   /* x, y of capacity cap rows; shape of the train set */
    float *gather;
    size_t cap;
} aug_buf;

struct samc_trainer {
    samc_train_params p;
    const samc_data *data;
    samc_model *model;
    float *x;
    char dir[4096];
    samc_train_callbacks cb;
    samc_optim *opt;
    samc_sparse_step *sparse;   /* the O(nnz) step (NULL: samc_optim_step alone) */
    size_t n, np;
    int shard;              /* --data-shard: this rank holds n_local of the n rows */
    size_t n_local, *shard_idx;
    double shard_loss, shard_acc;   /* the train set's evaluation over all shards */
    int rank, size, lead;
    int64_t T, first_step;
    uint32_t crc;
    train_pos pos;
    int drawn;              /* the epoch whose order perm holds (-1: none) */
    samc_rng after_draw;    /* the shuffle stream after that epoch's shuffle */
    size_t *perm, b;        /* the order and the batch size of epoch `drawn` */
    int pending;            /* a step was taken since the last end of epoch */
    double t0;              /* the clock at step 0 (across resumes) */
    double lr, rho;         /* of the last step taken */
    aug_buf aug;
    samc_dist_batch batch;
    samc_oracle orc;
    FILE *fs, *fm;
    unsigned measures;
    int64_t kept[1000];     /* steps of the ckpt-STEP files still on disk, oldest first */
    int n_kept;
    double last_ckpt_s;
    int64_t last_ckpt_step;
    double step_s, samples;
};

static volatile sig_atomic_t stop_requested;

void samc_train_request_stop(void) { stop_requested = 1; }

/* A failure this rank alone saw (rank 0's files, memory): the others would
 * wait for it in the next collective, so it ends the whole job. */
static samc_status alone(const samc_trainer *t, samc_status st, const char *err)
{
    if (st != SAMC_OK && t->size > 1) samc_dist_abort(err ? err : samc_strerror(st));
    return st;
}

static int64_t steps_in(const samc_trainer *t, int epoch)
{
    return train_steps_in_epoch(&t->p, epoch, t->n);
}

/* ---------------------------------------------------------------- position */

/* The order of the epoch at pos (drawn once per epoch). */
static void draw_epoch(samc_trainer *t)
{
    t->b = train_batch_at(&t->p, t->pos.epoch, t->n);
    t->after_draw = t->pos.shuffle_rng;
    for (size_t i = 0; i < t->n_local; i++) t->perm[i] = i;
    if (t->b < t->n && t->shard) {   /* shards of unequal rows: the stream advances alike on every rank */
        samc_rng own;
        samc_rng_seed(&own, samc_rng_next(&t->after_draw));
        samc_rng_shuffle(&own, t->perm, t->n_local);
    } else if (t->b < t->n) {
        samc_rng_shuffle(&t->after_draw, t->perm, t->n_local);
    }
    t->drawn = t->pos.epoch;
}

/* pos at the end of its epoch: the start of the next. */
static void next_epoch(samc_trainer *t)
{
    if (t->pos.epoch_step < steps_in(t, t->pos.epoch)) return;
    if (t->drawn != t->pos.epoch) draw_epoch(t);
    t->pos.epoch++;
    t->pos.epoch_step = 0;
    t->pos.shuffle_rng = t->after_draw;
}

/* ------------------------------------------------------------- checkpoints */

static samc_ckpt ckpt_of(const samc_trainer *t, const train_pos *pos)
{
    samc_optim_state os = samc_optim_get_state(t->opt);
    samc_ckpt c;
    memset(&c, 0, sizeof c);
    snprintf(c.model, sizeof c.model, "%s", samc_model_name(t->model));
    snprintf(c.data, sizeof c.data, "%s", t->p.data_name);
    c.data_n = t->n;
    c.data_crc = t->crc;
    c.step = pos->step;
    c.epoch = pos->epoch;
    c.epoch_step = pos->epoch_step;
    c.shuffle_rng = pos->shuffle_rng;
    c.aug_rng = pos->aug_rng;
    c.decsps_prev = os.decsps_prev;
    c.optim_steps = os.steps;
    c.elapsed_s = samc_now_s() - t->t0;
    c.params = t->x;
    c.n_params = t->np;
    c.buffers = samc_model_buffers(t->model);
    c.n_buffers = samc_model_n_buffers(t->model);
    c.momentum = os.momentum;
    c.n_momentum = os.momentum ? t->np : 0;
    c.second = os.second;
    c.n_second = os.second ? t->np : 0;
    const samc_optim_params *o = &t->p.optim;
    c.l2 = t->p.l2;
    c.label_smoothing = t->p.label_smoothing;
    c.accumulate = t->p.accumulate;
    c.m_sharpness = t->p.m_sharpness;
    c.nesterov = o->nesterov;
    c.wd_groups = (int)o->wd_groups;
    c.base = (int)o->base;
    c.clip = o->clip;
    c.adam_beta1 = o->adam_beta1;
    c.adam_beta2 = o->adam_beta2;
    c.adam_eps = o->adam_eps;
    return c;
}

/* The numbered copy ckpt-STEP.ckpt, keeping the newest p.keep. */
static samc_status save_numbered(samc_trainer *t, const samc_ckpt *c, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/ckpt-%09lld.ckpt", t->dir, (long long)c->step);
    samc_status st = samc_ckpt_save(path, c, err);
    if (st != SAMC_OK) return st;
    if (t->n_kept == t->p.keep) {   /* drop the oldest */
        snprintf(path, sizeof path, "%s/ckpt-%09lld.ckpt", t->dir, (long long)t->kept[0]);
        if (t->kept[0] != c->step) remove(path);
        memmove(t->kept, t->kept + 1, (size_t)(t->n_kept - 1) * sizeof *t->kept);
        t->n_kept--;
    }
    t->kept[t->n_kept++] = c->step;
    return SAMC_OK;
}

/* Writes dir/name holding position pos (rank 0; the others do nothing);
 * numbered: also a ckpt-STEP copy. */
static samc_status save_pos(samc_trainer *t, const char *name, const train_pos *pos, int numbered, char *err)
{
    samc_sparse_step_sync(t->sparse, t->x);
    if (!t->lead) return SAMC_OK;
    if (t->fs) fflush(t->fs);
    samc_ckpt c = ckpt_of(t, pos);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    samc_status st = samc_ckpt_save(path, &c, err);
    if (st == SAMC_OK && numbered && t->p.keep > 0) st = save_numbered(t, &c, err);
    if (st != SAMC_OK) return st;
    t->last_ckpt_s = samc_now_s();
    t->last_ckpt_step = pos->step;
    if (t->cb.on_checkpoint) t->cb.on_checkpoint(t->cb.user, path, pos->step);
    return SAMC_OK;
}

samc_status samc_trainer_save(samc_trainer *t, const char *name, char *err)
{
    return save_pos(t, name, &t->pos, 0, err);
}

/* Continues from dir/last.ckpt: parameters, buffers, optimizer state, position. */
static samc_status restore(samc_trainer *t, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/last.ckpt", t->dir);
    samc_ckpt c;
    samc_status st = samc_ckpt_load(path, &c, err);
    if (st != SAMC_OK) return st;
    samc_optim_state os = samc_optim_get_state(t->opt);
    const char *why = NULL;
    if (strcmp(c.model, samc_model_name(t->model)) != 0 || c.n_params != t->np) why = "it holds another model";
    else if (c.n_buffers != samc_model_n_buffers(t->model)) why = "its model buffers do not match";
    else if (c.data_n != t->n || c.data_crc != t->crc) why = "it was made on other training data";
    else if ((c.n_momentum != 0) != (os.momentum != NULL)) why = "its momentum setting differs";
    else if ((c.n_second != 0) != (os.second != NULL)) why = "its base update (sgd / adamw) differs";
    if (why) {
        samc_errf(err, SAMC_EINVAL, "cannot resume from %.300s: %s (model %.60s, data %.60s)", path, why,
                  c.model, c.data);
        samc_ckpt_free(&c);
        return SAMC_EINVAL;
    }
    memcpy(t->x, c.params, t->np * sizeof *t->x);
    if (c.n_buffers) memcpy(samc_model_buffers(t->model), c.buffers, c.n_buffers * sizeof(float));
    if (os.momentum) memcpy(os.momentum, c.momentum, t->np * sizeof(float));
    if (os.second) memcpy(os.second, c.second, t->np * sizeof(float));
    samc_optim_set_state(t->opt, c.decsps_prev, c.optim_steps);
    t->pos = (train_pos){ c.step, c.epoch, c.epoch_step, c.shuffle_rng, c.aug_rng };
    t->t0 = c.elapsed_s;   /* the elapsed time, made a start time once set-up is done */
    samc_ckpt_free(&c);
    return SAMC_OK;
}

/* ------------------------------------------------------------------ set-up */

/* Rank 0: the CSVs created (a fresh run) or cut back to the checkpoint. */
static samc_status open_files(samc_trainer *t, int resume, char *err)
{
    char sh[1024], mh[1024];
    train_csv_header(sh, sizeof sh, samc_steps_columns, SAMC_STEPS_NCOL, 0);
    train_csv_header(mh, sizeof mh, samc_metrics_columns, SAMC_METRICS_NCOL, t->measures);
    samc_status st;
    if (resume) {
        const double at = (double)t->pos.step;
        st = train_csv_truncate(&t->fs, t->dir, "steps.csv", sh, SAMC_STEPS_STEP, at, 0, err);
        if (st == SAMC_OK) st = train_csv_truncate(&t->fm, t->dir, "metrics.csv", mh, SAMC_METRICS_STEP, at, 1, err);
        return st;
    }
    if ((st = samc_make_dir(t->dir, err)) != SAMC_OK) return st;
    st = train_csv_create(&t->fs, t->dir, "steps.csv", sh, err);
    if (st == SAMC_OK) st = train_csv_create(&t->fm, t->dir, "metrics.csv", mh, err);
    return st;
}

static samc_status check_inputs(const samc_train_params *p, const samc_data *data, const char *dir, char *err)
{
    samc_status st = samc_train_params_check(p, err);
    if (st != SAMC_OK) return st;
    SAMC_CHECK(data->train.n > 0, SAMC_EINVAL, "the training set is empty");
    SAMC_CHECK(!p->augment || data->train.channels > 0, SAMC_EINVAL,
               "--augment needs image data (this data set has no image shape)");
    SAMC_CHECK(!p->augment || !p->data_shard || samc_dist_size() == 1, SAMC_EINVAL,
               "--augment with --data-shard is not supported (the augmentation stream is the global batch's)");
    SAMC_CHECK(strlen(dir) < 4096, SAMC_EINVAL, "output directory name too long");
    SAMC_CHECK(p->m_sharpness <= 1 || p->perturb_local || samc_dist_size() == 1, SAMC_EINVAL,
               "--m-sharpness with more than one rank needs --perturb local (each rank then splits its own rows)");
    return SAMC_OK;
}

/* The model's parameter roles to the optimizer (ASAM's scaling, the decay groups). */
static samc_status set_roles(samc_trainer *t, char *err)
{
    unsigned char *role = malloc(t->np);
    SAMC_CHECK(role, SAMC_ENOMEM, "out of memory for %zu parameter roles", t->np);
    samc_model_param_roles(t->model, role);
    samc_status st = samc_optim_set_roles(t->opt, role, err);
    free(role);
    return st;
}

/* Everything one rank sets up: streams, optimizer, buffers, the checkpoint
 * on resume, rank 0's files. */
static samc_status set_up(samc_trainer *t, int resume, char *err)
{
    samc_rng init;   /* three independent streams from the seed */
    samc_rng_seed(&init, t->p.seed);
    samc_model_init_params(t->model, t->x, &init);
    train_shuffle_rng(&t->p, &t->pos.shuffle_rng);
    samc_rng_seed(&t->pos.aug_rng, t->p.seed ^ 0x4155474d454e54ULL);
    samc_status st = samc_optim_init(&t->opt, t->np, &t->p.optim, err);
    if (st == SAMC_OK) st = samc_model_set_label_smoothing(t->model, t->p.label_smoothing, err);
    if (st == SAMC_OK) st = set_roles(t, err);
    if (st != SAMC_OK) return st;
    const int mode = samc_sparse_step_env_mode();
    SAMC_CHECK(mode != -2, SAMC_EINVAL, "SAMC_SPARSE_STEP must be auto, on or off");
    if (mode >= 0 && t->size == 1 && !t->p.augment && t->p.m_sharpness <= 1 &&
        samc_sparse_step_usable(&t->p.optim, t->model, &t->data->train, NULL)) {
        if ((st = samc_sparse_step_init(&t->sparse, &t->p.optim, t->model, mode, err)) != SAMC_OK) return st;
        samc_sparse_step_set_bias_role(t->sparse, 1);   /* set_roles gave the optimizer the model's */
    }
    SAMC_CHECK((t->perm = malloc(t->n_local * sizeof *t->perm)), SAMC_ENOMEM, "out of memory for %zu samples", t->n_local);
    SAMC_CHECK(!t->shard || (t->shard_idx = malloc(t->n * sizeof *t->shard_idx)), SAMC_ENOMEM, "out of memory");
    if (resume && (st = restore(t, err)) != SAMC_OK) return st;
    return t->lead ? open_files(t, resume, err) : SAMC_OK;
}

samc_status samc_trainer_init(samc_trainer **out, const samc_train_params *p, const samc_data *data,
                              samc_model *model, const char *out_dir, float *x, int resume,
                              const samc_train_callbacks *cb, char *err)
{
    *out = NULL;
    samc_status st = check_inputs(p, data, out_dir, err);
    if (st != SAMC_OK) return st;
    samc_trainer *t = calloc(1, sizeof *t);
    SAMC_CHECK(t, SAMC_ENOMEM, "out of memory");
    samc_set_threads(p->threads);
    stop_requested = 0;
    t->p = *p;
    t->data = data;
    t->model = model;
    t->x = x;
    snprintf(t->dir, sizeof t->dir, "%s", out_dir);
    if (cb) t->cb = *cb;
    t->n = data->train.n;
    t->np = samc_model_n_params(model);
    t->rank = samc_dist_rank();
    t->size = samc_dist_size();
    t->lead = t->rank == 0;   /* rank 0 alone writes files and calls back */
    if (!t->lead) memset(&t->cb, 0, sizeof t->cb);
    t->measures = p->measure_every > 0 ? p->measure.which : 0;
    t->crc = samc_ckpt_data_crc(&data->train);
    t->n_local = t->n;
    t->shard = p->data_shard && t->size > 1;   /* the whole set's rows and identity */
    if (t->shard) samc_dist_shard_identity(t->n_local, t->crc, &t->n, &t->crc);
    t->drawn = -1;
    t->aug.batch = data->train;
    t->aug.batch.x = t->aug.batch.y = NULL;
    st = samc_model_set_dropout(model, p->dropout, err);
    if (st == SAMC_OK) st = set_up(t, resume, err);
    st = samc_dist_agree(st, err);
    if (st != SAMC_OK) {
        samc_trainer_free(t);
        return st;
    }
    t->T = samc_train_total_steps(p, t->n);
    t->first_step = t->last_ckpt_step = t->pos.step;
    t->t0 = samc_now_s() - t->t0;
    t->last_ckpt_s = samc_now_s();
    t->orc = samc_dist_oracle(&t->batch, model, p->perturb_local, p->m_sharpness, p->accumulate);
    samc_dist_comm_reset();
    *out = t;
    return SAMC_OK;
}

void samc_trainer_free(samc_trainer *t)
{
    if (!t) return;
    if (t->fs) fclose(t->fs);
    if (t->fm) fclose(t->fm);
    free(t->perm);
    free(t->shard_idx);
    free(t->aug.batch.x);
    free(t->aug.batch.y);
    free(t->aug.gather);
    samc_sparse_step_sync(t->sparse, t->x);
    samc_sparse_step_free(t->sparse);
    samc_optim_free(t->opt);
    free(t);
}

int64_t samc_trainer_position(const samc_trainer *t) { return t->pos.step; }
int64_t samc_trainer_total(const samc_trainer *t) { return t->T; }
int samc_trainer_done(const samc_trainer *t) { return t->pos.step >= t->T; }

int samc_trainer_epoch_over(const samc_trainer *t)
{
    return t->pending && (t->pos.epoch_step >= steps_in(t, t->pos.epoch) || t->pos.step >= t->T);
}

/* -------------------------------------------------------------------- step */

static samc_status aug_prepare(aug_buf *a, const samc_dataset *tr, const size_t *idx, size_t nb, samc_rng *rng)
{
    const size_t d = tr->d;
    if (nb > a->cap) {
        float *x = realloc(a->batch.x, nb * d * sizeof *x);
        if (x) a->batch.x = x;
        float *y = realloc(a->batch.y, nb * sizeof *y);
        if (y) a->batch.y = y;
        float *g = realloc(a->gather, nb * d * sizeof *g);
        if (g) a->gather = g;
        if (!x || !y || !g) return SAMC_ENOMEM;
        a->cap = nb;
    }
    for (size_t i = 0; i < nb; i++) {
        samc_dataset_row_dense(tr, idx[i], a->gather + i * d);
        a->batch.y[i] = tr->y[idx[i]];
    }
    samc_augment_crop_flip(tr, a->gather, a->batch.x, nb, 4, 1, rng);
    a->batch.n = nb;
    return SAMC_OK;
}

/* The oracle's batch for the step at pos (augmented: a copy); its rows in *nb. */
static samc_status prepare_batch(samc_trainer *t, size_t *nb, char *err)
{
    const samc_dataset *tr = &t->data->train;
    const size_t k = (size_t)t->pos.epoch_step, b = t->b;
    const size_t *idx = t->perm + k * b;
    *nb = k * b + b <= t->n ? b : t->n - k * b;
    if (t->shard) {   /* this rank's share of the global batch, from its own rows */
        const size_t r = (size_t)t->rank, K = (size_t)t->size;
        const size_t full = b * (r + 1) / K - b * r / K, c = *nb * (r + 1) / K - *nb * r / K;
        for (size_t i = 0; i < c; i++) t->shard_idx[i] = t->perm[(k * full + i) % t->n_local];
        samc_dist_set_shard(&t->batch, tr, t->shard_idx, c, *nb);
        return SAMC_OK;
    }
    if (!t->p.augment) {
        samc_dist_set_batch(&t->batch, tr, idx, *nb);
        return SAMC_OK;
    }
    SAMC_CHECK(aug_prepare(&t->aug, tr, idx, *nb, &t->pos.aug_rng) == SAMC_OK, SAMC_ENOMEM,
               "out of memory for a batch of %zu", *nb);
    samc_dist_set_batch(&t->batch, &t->aug.batch, NULL, *nb);
    return SAMC_OK;
}

/* A stop request (or p.stop_at), agreed by every rank: the state saved. */
static int stop_due(const samc_trainer *t)
{
    int stop = stop_requested || (t->p.stop_at > 0 && t->pos.step == t->p.stop_at);
    return t->size > 1 ? samc_dist_any(stop) : stop;   /* no rank is left waiting in a collective */
}

static samc_status stop(samc_trainer *t, char *err)
{
    samc_status st = alone(t, save_pos(t, "last.ckpt", &t->pos, 0, err), err);
    if (st != SAMC_OK) return st;
    return samc_errf(err, SAMC_EINTR, "stopped at step %lld; state saved in %.200s/last.ckpt "
                     "(continue with --resume %.200s)", (long long)t->pos.step, t->dir, t->dir);
}

/* A NaN loss: x, momentum and counters are those before the step; so is
 * the augmentation stream once restored. */
static samc_status diverged(samc_trainer *t, const samc_rng *aug_before, char *err)
{
    t->pos.aug_rng = *aug_before;
    samc_errbuf e2;
    int saved = t->lead && save_pos(t, "last.ckpt", &t->pos, 0, e2) == SAMC_OK;
    return samc_errf(err, SAMC_ENAN, "loss or gradient became NaN/Inf at step %lld (epoch %d); the run diverged: "
                     "lower the step size (--lr, --polyak-cap) or rho%s", (long long)t->pos.step, t->pos.epoch,
                     saved ? "; the last good state is in last.ckpt" : "");
}

/* A checksum of the parameters and buffers (FNV-1a of their bytes). */
static uint64_t state_checksum(const samc_trainer *t)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *b = (const unsigned char *)t->x;
    for (size_t i = 0; i < t->np * sizeof *t->x; i++) h = (h ^ b[i]) * 1099511628211ULL;
    b = (const unsigned char *)samc_model_buffers(t->model);
    for (size_t i = 0; b && i < samc_model_n_buffers(t->model) * sizeof(float); i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* --check-sync: every rank holds the same parameters after the step at pos. */
static samc_status check_sync(const samc_trainer *t, char *err)
{
    if (t->p.check_sync <= 0 || t->size == 1 || (t->pos.step + 1) % t->p.check_sync != 0) return SAMC_OK;
    uint64_t lo, hi;
    samc_dist_minmax_u64(state_checksum(t), &lo, &hi);
    SAMC_CHECK(lo == hi, SAMC_EINVAL, "the ranks' parameters differ after step %lld (checksums %016llx .. %016llx; "
               "--check-sync)", (long long)t->pos.step, (unsigned long long)lo, (unsigned long long)hi);
    return SAMC_OK;
}

void train_schedules(const samc_train_params *p, int64_t t, int64_t T, int epoch, double *eta, double *rho)
{
    *eta = samc_lr_at(&p->lr, t, T, epoch);
    *rho = p->optim.kind == SAMC_OPT_SGD ? 0.0 : samc_rho_at(&p->rho, &p->lr, *eta);
}

void train_shuffle_rng(const samc_train_params *p, samc_rng *r) { samc_rng_seed(r, p->seed ^ 0x53485546464c45ULL); }

/* One optimizer step on the batch at pos; rank 0's BatchNorm statistics to
 * every rank after it (as DDP's broadcast_buffers). */
static samc_status take_step(samc_trainer *t, size_t nb, samc_step_info *info, char *err)
{
    double eta;
    train_schedules(&t->p, t->pos.step, t->T, t->pos.epoch, &eta, &t->rho);
    const size_t n_buf = samc_model_n_buffers(t->model);
    const double ts = samc_now_s();
    samc_status st = t->sparse ? samc_sparse_step_run(t->sparse, t->opt, &t->orc, &t->batch.mb, t->x, eta, t->rho, info)
                               : samc_optim_step(t->opt, &t->orc, t->x, eta, t->rho, info);
    if (st == SAMC_OK && t->size > 1 && n_buf) samc_dist_bcast_f(samc_model_buffers(t->model), n_buf, 0);
    t->step_s += samc_now_s() - ts;
    t->samples += (double)nb;
    if (st == SAMC_ENAN || st == SAMC_OK) return st;
    return samc_errf(err, st, "model evaluation failed at step %lld", (long long)t->pos.step);
}

static void write_step_row(samc_trainer *t, size_t nb, const samc_step_info *in)
{
    if (!t->fs) return;
    const double row[SAMC_STEPS_NCOL] = { (double)t->pos.step, t->pos.epoch, (double)nb, in->step, t->rho,
                                          in->loss, in->loss_perturbed, in->grad_norm, in->grad_norm_perturbed,
                                          in->numerator };
    train_csv_row(t->fs, samc_steps_columns, SAMC_STEPS_NCOL, row, 0, NULL);
}

/* last.ckpt every ckpt_every_steps steps / ckpt_every_s seconds inside an
 * epoch (its end has its own). */
static samc_status periodic_save(samc_trainer *t, char *err)
{
    const samc_train_params *p = &t->p;
    int by_steps = p->ckpt_every_steps > 0 && t->pos.step - t->last_ckpt_step >= p->ckpt_every_steps;
    int by_time = p->ckpt_every_s > 0 && samc_now_s() - t->last_ckpt_s >= p->ckpt_every_s;
    if (!(by_steps || by_time) || t->pos.epoch_step >= steps_in(t, t->pos.epoch) || t->pos.step >= t->T)
        return SAMC_OK;
    return alone(t, save_pos(t, "last.ckpt", &t->pos, 1, err), err);
}

samc_status samc_trainer_step(samc_trainer *t, char *err)
{
    SAMC_CHECK(t->pos.step < t->T, SAMC_EINVAL, "the run is over: %lld of %lld steps taken",
               (long long)t->pos.step, (long long)t->T);
    next_epoch(t);   /* an epoch that ended without samc_trainer_end_epoch */
    if (t->drawn != t->pos.epoch) draw_epoch(t);
    if (stop_due(t)) return stop(t, err);
    size_t nb;
    samc_status st = alone(t, prepare_batch(t, &nb, err), err);
    if (st != SAMC_OK) return st;
    samc_rng aug_before = t->pos.aug_rng;
    /* the dropout masks of step s come from a stream seeded by (seed, s): a
     * checkpoint's step number restores them, a resumed run draws the same */
    samc_rng *mr = samc_model_rng(t->model);
    if (mr) samc_rng_seed(mr, t->p.seed ^ 0x44524f504f5554ULL ^ ((uint64_t)t->pos.step * 0x9E3779B97F4A7C15ULL));
    samc_step_info info;
    if ((st = take_step(t, nb, &info, err)) != SAMC_OK)   /* from averaged values: every rank has it */
        return st == SAMC_ENAN ? diverged(t, &aug_before, err) : st;
    t->lr = info.step;
    if ((st = check_sync(t, err)) != SAMC_OK) return st;
    write_step_row(t, nb, &info);
    t->pos.step++;
    t->pos.epoch_step++;
    t->pending = 1;
    if (t->cb.on_step) {
        samc_train_progress pr = { t->pos.step, t->T, t->first_step, t->pos.epoch, nb, info.step, t->rho,
                                   &info, samc_now_s() - t->t0 };
        t->cb.on_step(t->cb.user, &pr);
    }
    return periodic_save(t, err);
}

/* ----------------------------------------------------------- end of epoch */

/* Rank 0: the full-pass evaluation and (when due) the measures of the
 * metrics.csv row ending the epoch at pos. */
static samc_status evaluate(samc_trainer *t, samc_train_epoch *e, double *mv, char *err)
{
    const samc_dataset *tr = &t->data->train, *te = &t->data->test, *va = &t->data->val;
    const int64_t k_max = steps_in(t, t->pos.epoch), k_done = t->pos.epoch_step;
    *e = (samc_train_epoch){ .epoch = t->pos.epoch + (double)k_done / (double)k_max, .step = t->pos.step,
                             .total = t->T, .batch = t->b, .lr = t->lr, .rho = t->rho, .test_loss = NAN,
                             .test_acc = NAN, .val_loss = NAN, .val_acc = NAN, .measures = t->measures,
                             .measure = mv };
    if (t->shard) e->train_loss = t->shard_loss, e->train_acc = t->shard_acc;
    else samc_model_evaluate(t->model, tr, t->x, &e->train_loss, &e->train_acc);
    if (te->n > 0) samc_model_evaluate(t->model, te, t->x, &e->test_loss, &e->test_acc);
    if (va->n > 0) samc_model_evaluate(t->model, va, t->x, &e->val_loss, &e->val_acc);
    e->elapsed_s = samc_now_s() - t->t0;
    for (int q = 0; q < SAMC_MEASURE_COUNT; q++) mv[q] = NAN;
    if (!t->measures) return SAMC_OK;
    const int epochs_done = k_done == k_max ? t->pos.epoch + 1 : t->pos.epoch;
    if (!((k_done == k_max && epochs_done % t->p.measure_every == 0) || t->pos.step >= t->T)) return SAMC_OK;
    samc_measure_result mr;
    samc_status st = samc_measure_model(t->model, tr, t->x, &t->p.measure, &mr, err);
    if (st == SAMC_OK) memcpy(mv, mr.value, sizeof mr.value);
    return st;
}

static samc_status write_metrics_row(samc_trainer *t, const samc_train_epoch *e, char *err)
{
    const double row[SAMC_METRICS_NCOL] = { e->epoch, (double)e->step, (double)e->batch, e->lr, e->rho,
                                            e->train_loss, e->train_acc, e->test_loss, e->test_acc,
                                            e->elapsed_s, e->val_loss, e->val_acc };
    train_csv_row(t->fm, samc_metrics_columns, SAMC_METRICS_NCOL, row, t->measures, e->measure);
    SAMC_CHECK(fflush(t->fm) == 0, SAMC_EIO, "cannot write %.400s/metrics.csv: %s", t->dir, strerror(errno));
    return SAMC_OK;
}

/* Rank 0's part of an epoch end: the metrics row, the epoch line, and at a
 * complete epoch the checkpoint of the next epoch's start. */
static samc_status lead_end_epoch(samc_trainer *t, char *err)
{
    SAMC_CHECK(fflush(t->fs) == 0, SAMC_EIO, "cannot write %.400s/steps.csv: %s", t->dir, strerror(errno));
    samc_train_epoch e;
    double mv[SAMC_MEASURE_COUNT];
    samc_status st = evaluate(t, &e, mv, err);
    if (st == SAMC_OK) st = write_metrics_row(t, &e, err);
    if (st != SAMC_OK) return st;
    if (t->cb.on_epoch) t->cb.on_epoch(t->cb.user, &e);
    if (t->pos.epoch_step < steps_in(t, t->pos.epoch)) return SAMC_OK;
    next_epoch(t);
    return save_pos(t, "last.ckpt", &t->pos, 1, err);
}

samc_status samc_trainer_end_epoch(samc_trainer *t, char *err)
{
    SAMC_CHECK(samc_trainer_epoch_over(t), SAMC_EINVAL, "step %lld does not end an epoch", (long long)t->pos.step);
    t->pending = 0;
    samc_sparse_step_sync(t->sparse, t->x);   /* the evaluation reads x */
    if (t->shard) {   /* the train set's loss and accuracy: every shard's, weighted by its rows */
        double v[2] = { NAN, NAN };
        samc_model_evaluate(t->model, &t->data->train, t->x, &v[0], &v[1]);
        v[0] *= (double)t->n_local / (double)t->n;
        v[1] *= (double)t->n_local / (double)t->n;
        samc_dist_sum_d(v, 2);
        t->shard_loss = v[0];
        t->shard_acc = v[1];
    }
    if (t->lead) {
        samc_status st = alone(t, lead_end_epoch(t, err), err);
        if (st != SAMC_OK) return st;
    }
    next_epoch(t);
    return SAMC_OK;
}

samc_status samc_trainer_finish(samc_trainer *t, char *err)
{
    if (t->cb.on_finish) {
        samc_train_stats s = { samc_dist_enabled(), t->size, t->p.perturb_local, t->samples, t->step_s,
                               samc_dist_comm_seconds(), samc_dist_comm_calls() };
        t->cb.on_finish(t->cb.user, &s);
    }
    next_epoch(t);
    samc_status st = save_pos(t, "last.ckpt", &t->pos, 0, err);
    if (st == SAMC_OK) st = save_pos(t, "final.ckpt", &t->pos, 0, err);
    FILE *fs = t->fs, *fm = t->fm;
    t->fs = t->fm = NULL;
    int bad = (fs && fclose(fs) != 0) | (fm && fclose(fm) != 0);
    if (st == SAMC_OK && bad) st = samc_errf(err, SAMC_EIO, "cannot write the CSV files in %.400s", t->dir);
    return alone(t, st, err);
}

samc_status samc_trainer_fit(samc_trainer *t, char *err)
{
    samc_status st = SAMC_OK;
    while (st == SAMC_OK && !samc_trainer_done(t)) {
        st = samc_trainer_step(t, err);
        if (st == SAMC_OK && samc_trainer_epoch_over(t)) st = samc_trainer_end_epoch(t, err);
    }
    return st == SAMC_OK ? samc_trainer_finish(t, err) : st;
}
