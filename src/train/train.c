/*
 * train.c -- the training loop behind `samc train`, with checkpoints and
 * exact resume.
 *
 * Per epoch: the batch size b_e from the batch schedule, a shuffle of the
 * sample order (identity, then Fisher-Yates from the shuffle stream, so the
 * stream's state at the epoch start alone fixes the order), ceil(n / b_e)
 * steps; per step: eta_t and rho_t from the schedules, an augmented copy of
 * the batch (from its own stream), one optimizer step, one row of
 * steps.csv; per epoch: full-pass evaluation, one row of metrics.csv, and a
 * checkpoint.  Every row is flushed as written, so a crash loses nothing
 * already measured, and a checkpoint holds everything the next step needs.
 */
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "samc.h"
#include "dist/dist.h"
#include "train/train_internal.h"

samc_train_params samc_train_default_params(void)
{
    samc_train_params p;
    memset(&p, 0, sizeof p);
    p.optim = samc_optim_default_params();
    p.optim.kind = SAMC_OPT_SAM;
    p.optim.rule = SAMC_STEP_POLYAK;
    p.lr = (samc_lr_schedule){ .kind = SAMC_LR_CONST, .eta_max = 0.1, .power = 1.0,
                               .gamma = 0.1, .every = 1 };
    p.rho = (samc_rho_schedule){ .kind = SAMC_RHO_CONST, .rho_max = 0.05 };
    p.batch = (samc_batch_schedule){ .kind = SAMC_BATCH_CONST, .b0 = 32, .delta = 2.0,
                                     .a = 1.0, .c = 1.0, .every = 1 };
    p.epochs = 10;
    p.steps = 0;
    p.seed = 0;
    p.l2 = 0.0;
    p.bias = 1;
    p.threads = 0;
    p.augment = 0;
    p.progress_s = 10.0;
    p.measure_every = 0;
    p.measure = samc_measure_default_params();
    p.ckpt_every_steps = 0;
    p.ckpt_every_s = 600.0;
    p.keep = 0;
    return p;
}

samc_status samc_train_params_check(const samc_train_params *p, char *err)
{
    samc_status s = samc_optim_params_check(&p->optim, err);
    if (s != SAMC_OK) return s;
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (err) snprintf(err, SAMC_ERRLEN, __VA_ARGS__);                  \
            return SAMC_EINVAL;                                                \
        }                                                                      \
    } while (0)
    CHECK(p->lr.eta_max > 0.0 && isfinite(p->lr.eta_max), "learning rate must be > 0, got %g", p->lr.eta_max);
    CHECK(p->lr.eta_min >= 0.0 && p->lr.eta_min <= p->lr.eta_max,
          "eta_min must be in [0, lr], got %g", p->lr.eta_min);
    CHECK(p->lr.warmup >= 0, "warm-up steps must be >= 0");
    CHECK(p->rho.rho_max >= 0.0 && isfinite(p->rho.rho_max), "rho must be >= 0, got %g", p->rho.rho_max);
    CHECK(p->rho.rho_min >= 0.0 && p->rho.rho_min <= p->rho.rho_max,
          "rho_min must be in [0, rho], got %g", p->rho.rho_min);
    CHECK(p->steps > 0 || p->epochs > 0, "need --epochs > 0 or --steps > 0");
    CHECK(p->steps >= 0 && p->epochs >= 0, "--epochs and --steps must be >= 0");
    CHECK(p->l2 >= 0.0 && isfinite(p->l2), "l2 must be >= 0, got %g", p->l2);
    CHECK(p->threads >= 0, "threads must be >= 0");
    CHECK(p->measure_every >= 0, "--measure-every must be >= 0");
    CHECK(p->ckpt_every_steps >= 0 && p->ckpt_every_s >= 0, "checkpoint intervals must be >= 0");
    CHECK(p->keep >= 0 && p->keep <= 1000, "--keep must be in [0, 1000]");
    CHECK(p->check_sync >= 0, "--check-sync must be >= 0");
#undef CHECK
    if (p->measure_every > 0) return samc_measure_params_check(&p->measure, err);
    return SAMC_OK;
}

int64_t samc_train_total_steps(const samc_train_params *p, size_t n)
{
    if (p->steps > 0) return p->steps;
    int64_t T = 0;
    for (int e = 0; e < p->epochs; e++)
        T += samc_batch_steps_in_epoch(&p->batch, e, n);
    return T;
}

/* The oracle: the model's loss and gradient on one batch, rows idx[0..nb)
 * of ds (idx NULL: the augmented copy in ds).  Both passes of a step see the
 * same rows; pass 2 leaves BatchNorm running statistics alone. */
typedef struct batch_ctx {
    samc_model *model;
    const samc_dataset *ds;
    const size_t *idx;
    size_t nb;
    size_t n_params;
    int rank, size;        /* data parallel: this rank of size */
} batch_ctx;

static int batch_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    batch_ctx *c = user;
    samc_model_set_pass(c->model, pass);
    if (grad) memset(grad, 0, c->n_params * sizeof *grad);
    return samc_model_loss_grad(c->model, c->ds, c->idx, c->nb, x, grad, 1.0, 1, loss) == SAMC_OK ? 0 : -1;
}

/* Data parallel: this rank's rows [lo, hi) of the batch, floor(r b / K). */
static void shard_rows(const batch_ctx *c, size_t *lo, size_t *hi)
{
    *lo = c->nb * (size_t)c->rank / (size_t)c->size;
    *hi = c->nb * (size_t)(c->rank + 1) / (size_t)c->size;
}

/* The loss and gradient of this rank's shard, times scale (0 rows: zero). */
static int shard_loss_grad(batch_ctx *c, const float *x, float *grad, double *loss, int pass, double scale)
{
    size_t lo, hi;
    shard_rows(c, &lo, &hi);
    samc_model_set_pass(c->model, pass);
    if (grad) memset(grad, 0, c->n_params * sizeof *grad);
    *loss = 0.0;
    if (hi == lo) return 0;
    samc_dataset view;
    const samc_dataset *ds = c->ds;
    const size_t *idx = c->idx ? c->idx + lo : NULL;
    if (!c->idx) {   /* rows 0..nb of ds (an augmented batch): a view of rows lo..hi */
        view = *c->ds;
        view.x += lo * view.d;
        view.y += lo;
        view.n = hi - lo;
        ds = &view;
    }
    if (scale < 0) scale = (double)(hi - lo) / (double)c->nb;
    return samc_model_loss_grad(c->model, ds, idx, hi - lo, x, grad, scale, 1, loss) == SAMC_OK ? 0 : -1;
}

/* Global perturbation over K ranks: each rank's sum contribution (its mean
 * times its share of the rows, l2 term included with the same weight, so the
 * weights sum to 1), summed over the ranks: the global batch's loss and
 * gradient on every rank.  A rank that fails contributes NaN, so every rank
 * sees the same non-finite loss and stops at the same step. */
static int global_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    batch_ctx *c = user;
    if (shard_loss_grad(c, x, grad, loss, pass, -1.0) != 0) *loss = NAN;
    samc_dist_sum_d(loss, 1);
    if (grad) samc_dist_sum_f(grad, c->n_params);
    return 0;
}

/* Local perturbation: the shard's own loss and gradient (its mean) ... */
static int local_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    return shard_loss_grad(user, x, grad, loss, pass, 1.0);
}

/* ... and the optimizer's reduction hook: the mean over the ranks weighted
 * by their shares of the rows (= the global batch mean). */
static int shard_reduce(void *user, double *vals, size_t n_vals, float *vec, size_t n_vec)
{
    batch_ctx *c = user;
    size_t lo, hi;
    shard_rows(c, &lo, &hi);
    const double w = (double)(hi - lo) / (double)c->nb;
    if (w != 1.0) {
        for (size_t i = 0; i < n_vals; i++) vals[i] = hi > lo ? w * vals[i] : 0.0;
        for (size_t i = 0; i < n_vec; i++) vec[i] = hi > lo ? (float)(w * (double)vec[i]) : 0.0f;
    }
    samc_dist_sum_d(vals, n_vals);
    samc_dist_sum_f(vec, n_vec);
    return 0;
}

/* A checksum of the parameters and buffers (FNV-1a of their bytes). */
static uint64_t state_checksum(const float *x, size_t np, samc_model *m)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < np * sizeof *x; i++) h = (h ^ b[i]) * 1099511628211ULL;
    b = (const unsigned char *)samc_model_buffers(m);
    for (size_t i = 0; b && i < samc_model_n_buffers(m) * sizeof(float); i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Augmented batches: the rows gathered, then cropped and flipped into a
 * buffer that grows only when the batch size does (stage changes). */
typedef struct aug_buf {
    samc_dataset batch;   /* x, y of capacity cap rows; shape of the train set */
    float *gather;
    size_t cap;
} aug_buf;

static samc_status aug_prepare(aug_buf *a, const samc_dataset *tr, const size_t *idx, size_t nb,
                               samc_rng *rng)
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
        memcpy(a->gather + i * d, tr->x + idx[i] * d, d * sizeof(float));
        a->batch.y[i] = tr->y[idx[i]];
    }
    samc_augment_crop_flip(tr, a->gather, a->batch.x, nb, 4, 1, rng);
    a->batch.n = nb;
    return SAMC_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

samc_status samc_make_dir(const char *dir, char *err)
{
    /* mkdir -p: every missing component, then a check that dir is a directory */
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) {
        if (err) snprintf(err, SAMC_ERRLEN, "bad output directory name '%.100s'", dir);
        return SAMC_EINVAL;
    }
    memcpy(path, dir, len + 1);
    for (char *q = path + 1; ; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                if (err) snprintf(err, SAMC_ERRLEN, "cannot create output directory %.400s: %s", path, strerror(errno));
                return SAMC_EIO;
            }
            *q = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (err) snprintf(err, SAMC_ERRLEN, "%.400s exists and is not a directory", dir);
        return SAMC_EIO;
    }
    return SAMC_OK;
}

/* One progress report: on a terminal a bar redrawn in place, otherwise a
 * plain line (grep-friendly).  ETA from the rate since this run started. */
static void progress_line(FILE *log, int tty, int64_t step, int64_t T, int epoch, size_t batch,
                          double loss, double lr, double rho, double elapsed, int64_t first_step)
{
    double rate = (double)(step - first_step) / (elapsed > 0 ? elapsed : 1e-9);
    double eta = rate > 0 ? (double)(T - step) / rate : 0.0;
    if (tty) {
        char bar[31];
        int fill = (int)(30.0 * (double)step / (double)T);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(log, "\r\033[K[%s] step %lld/%lld epoch %d loss %.4g lr %.3g batch %zu ETA %dm%02ds",
                bar, (long long)step, (long long)T, epoch, loss, lr, batch, (int)(eta / 60), (int)eta % 60);
    } else {
        fprintf(log, "  step %lld/%lld epoch %d batch %zu loss %.5g lr %.4g rho %.4g (%.1fs, ETA %.0fs)\n",
                (long long)step, (long long)T, epoch, batch, loss, lr, rho, elapsed, eta);
    }
    fflush(log);
}

static volatile sig_atomic_t stop_requested;

void samc_train_request_stop(void) { stop_requested = 1; }

/* The state of a run between two steps. */
typedef struct run_state {
    const samc_train_params *p;
    samc_model *model;
    samc_optim *opt;
    const float *x;
    size_t np;
    int64_t step;
    int epoch;
    int64_t epoch_step;
    samc_rng epoch_rng;     /* shuffle stream at the start of `epoch` */
    int shuffled;           /* epoch's shuffle done: shuffle_rng is past it */
    samc_rng shuffle_rng, aug_rng;
    double elapsed;
    uint32_t crc;
    uint64_t n;
    int64_t kept[1000];     /* steps of the ckpt-STEP files still on disk, oldest first */
    int n_kept;
} run_state;

/* Writes dir/name; numbered: also a ckpt-STEP copy, keeping the newest p->keep. */
static samc_status save_state(run_state *r, const char *dir, const char *name, int numbered, char *err)
{
    samc_optim_state os = samc_optim_get_state(r->opt);
    samc_ckpt c;
    memset(&c, 0, sizeof c);
    snprintf(c.model, sizeof c.model, "%s", samc_model_name(r->model));
    snprintf(c.data, sizeof c.data, "%s", r->p->data_name);
    c.data_n = r->n;
    c.data_crc = r->crc;
    c.step = r->step;
    c.epoch = r->epoch;
    c.epoch_step = r->epoch_step;
    c.shuffle_rng = r->shuffled ? r->epoch_rng : r->shuffle_rng;
    c.aug_rng = r->aug_rng;
    c.decsps_prev = os.decsps_prev;
    c.optim_steps = os.steps;
    c.elapsed_s = r->elapsed;
    c.params = (float *)r->x;
    c.n_params = r->np;
    c.buffers = samc_model_buffers(r->model);
    c.n_buffers = samc_model_n_buffers(r->model);
    c.momentum = os.momentum;
    c.n_momentum = os.momentum ? r->np : 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    samc_status st = samc_ckpt_save(path, &c, err);
    if (st != SAMC_OK || !numbered || r->p->keep == 0) return st;
    snprintf(path, sizeof path, "%s/ckpt-%09lld.ckpt", dir, (long long)r->step);
    if ((st = samc_ckpt_save(path, &c, err)) != SAMC_OK) return st;
    if (r->n_kept == r->p->keep) {   /* drop the oldest */
        snprintf(path, sizeof path, "%s/ckpt-%09lld.ckpt", dir, (long long)r->kept[0]);
        if (r->kept[0] != r->step) remove(path);
        memmove(r->kept, r->kept + 1, (size_t)(r->n_kept - 1) * sizeof *r->kept);
        r->n_kept--;
    }
    r->kept[r->n_kept++] = r->step;
    return SAMC_OK;
}

static samc_status restore(run_state *r, const char *dir, float *x, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/last.ckpt", dir);
    samc_ckpt c;
    samc_status st = samc_ckpt_load(path, &c, err);
    if (st != SAMC_OK) return st;
    const char *why = NULL;
    if (strcmp(c.model, samc_model_name(r->model)) != 0 || c.n_params != r->np)
        why = "it holds another model";
    else if (c.n_buffers != samc_model_n_buffers(r->model))
        why = "its model buffers do not match";
    else if (c.data_n != r->n || c.data_crc != r->crc)
        why = "it was made on other training data";
    else if ((c.n_momentum != 0) != (samc_optim_get_state(r->opt).momentum != NULL))
        why = "its momentum setting differs";
    if (why) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot resume from %.300s: %s (model %.60s, data %.60s)", path, why,
                          c.model, c.data);
        samc_ckpt_free(&c);
        return SAMC_EINVAL;
    }
    memcpy(x, c.params, r->np * sizeof *x);
    if (c.n_buffers) memcpy(samc_model_buffers(r->model), c.buffers, c.n_buffers * sizeof(float));
    samc_optim_state os = samc_optim_get_state(r->opt);
    if (os.momentum) memcpy(os.momentum, c.momentum, r->np * sizeof(float));
    samc_optim_set_state(r->opt, c.decsps_prev, c.optim_steps);
    r->step = c.step;
    r->epoch = c.epoch;
    r->epoch_step = c.epoch_step;
    r->shuffle_rng = c.shuffle_rng;
    r->aug_rng = c.aug_rng;
    r->elapsed = c.elapsed_s;
    samc_ckpt_free(&c);
    return SAMC_OK;
}

samc_status samc_train_run(const samc_train_params *p, const samc_data *data,
                           samc_model *model, const char *out_dir, float *x,
                           int resume, FILE *log, char *err)
{
    samc_status st = samc_train_params_check(p, err);
    if (st != SAMC_OK) return st;
    const samc_dataset *tr = &data->train, *te = &data->test;
    const size_t n = tr->n, np = samc_model_n_params(model);
    if (n == 0) {
        if (err) snprintf(err, SAMC_ERRLEN, "the training set is empty");
        return SAMC_EINVAL;
    }
    samc_set_threads(p->threads);
    if (p->augment && tr->channels == 0) {
        if (err) snprintf(err, SAMC_ERRLEN, "--augment needs image data (this data set has no image shape)");
        return SAMC_EINVAL;
    }
    stop_requested = 0;
    /* data parallel: rank 0 (the lead) alone writes files and the log */
    const int rank = samc_dist_rank(), size = samc_dist_size(), lead = rank == 0;
    if (!lead) log = NULL;
    int agreed = 1;   /* a failure every rank knows of (else: MPI_Abort, see out:) */

    run_state r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.model = model;
    r.x = x;
    r.np = np;
    r.n = n;
    r.crc = samc_ckpt_data_crc(tr);
    {   /* three independent streams from the seed */
        samc_rng init;
        samc_rng_seed(&init, p->seed);
        samc_model_init_params(model, x, &init);
        samc_rng_seed(&r.shuffle_rng, p->seed ^ 0x53485546464c45ULL);
        samc_rng_seed(&r.aug_rng, p->seed ^ 0x4155474d454e54ULL);
    }

    size_t *perm = NULL;
    FILE *fs = NULL, *fm = NULL;
    aug_buf aug;
    memset(&aug, 0, sizeof aug);
    aug.batch = *tr;
    aug.batch.x = NULL;
    aug.batch.y = NULL;
    st = samc_optim_init(&r.opt, np, &p->optim, err);
    if (st == SAMC_OK && !(perm = malloc(n * sizeof *perm))) {
        st = SAMC_ENOMEM;
        if (err) snprintf(err, SAMC_ERRLEN, "out of memory for %zu samples", n);
    }

    const unsigned measures = p->measure_every > 0 ? p->measure.which : 0;
    char steps_header[1024], metrics_header[1024];
    train_csv_header(steps_header, sizeof steps_header, samc_steps_columns, SAMC_STEPS_NCOL, 0);
    train_csv_header(metrics_header, sizeof metrics_header, samc_metrics_columns, SAMC_METRICS_NCOL, measures);
    if (st != SAMC_OK) {
        /* set-up failed on this rank: go on to the agreement below */
    } else if (resume) {   /* every rank reads the checkpoint; the lead alone touches the CSVs */
        if ((st = restore(&r, out_dir, x, err)) != SAMC_OK) goto agree;
        if (!lead) goto agree;
        if ((st = train_csv_truncate(&fs, out_dir, "steps.csv", steps_header, SAMC_STEPS_STEP,
                                     (double)r.step, 0, err)) != SAMC_OK) goto agree;
        st = train_csv_truncate(&fm, out_dir, "metrics.csv", metrics_header, SAMC_METRICS_STEP,
                                (double)r.step, 1, err);
    } else if (lead) {
        if ((st = samc_make_dir(out_dir, err)) != SAMC_OK) goto agree;
        if ((st = train_csv_create(&fs, out_dir, "steps.csv", steps_header, err)) == SAMC_OK)
            st = train_csv_create(&fm, out_dir, "metrics.csv", metrics_header, err);
    }
agree:
    if ((st = samc_dist_agree(st, err)) != SAMC_OK) goto out;
    agreed = 0;

    const int64_t T = samc_train_total_steps(p, n);
    const double t0 = now_s() - r.elapsed;
    double last_progress = now_s(), last_ckpt = now_s();
    const int tty = log && isatty(fileno(log));
    const int64_t steps_at_start = r.step;
    int64_t last_ckpt_step = r.step;
    double eta = 0.0, rho = 0.0, last_step = 0.0;
    size_t b = 0;
    batch_ctx ctx = { model, tr, NULL, 0, np, rank, size };
    /* one process: the batch's oracle; K ranks, global perturbation: shards
     * summed over the ranks in both passes; local perturbation: each shard
     * alone, and the optimizer's reduction hook averages what it must */
    samc_oracle orc = { np, batch_loss_grad, &ctx, NULL };
    if (p->perturb_local) orc.loss_grad = local_loss_grad, orc.reduce = shard_reduce;
    else if (size > 1) orc.loss_grad = global_loss_grad;
    const size_t n_buf = samc_model_n_buffers(model);
    double step_s = 0.0, samples = 0.0;   /* time in steps, rows trained (for the report) */
    samc_dist_comm_reset();

    for (; r.step < T; r.epoch++, r.epoch_step = 0) {
        b = samc_batch_at(&p->batch, r.epoch, n);
        r.epoch_rng = r.shuffle_rng;
        for (size_t i = 0; i < n; i++) perm[i] = i;
        if (b < n) samc_rng_shuffle(&r.shuffle_rng, perm, n);
        r.shuffled = 1;
        const int64_t k_max = samc_batch_steps_in_epoch(&p->batch, r.epoch, n);
        for (; r.epoch_step < k_max && r.step < T; r.epoch_step++, r.step++) {
            int stop = stop_requested || (p->stop_at > 0 && r.step == p->stop_at);
            if (size > 1) stop = samc_dist_any(stop);   /* no rank is left waiting in a collective */
            if (stop) {
                r.elapsed = now_s() - t0;
                st = lead ? save_state(&r, out_dir, "last.ckpt", 0, err) : SAMC_OK;
                agreed = st == SAMC_OK;
                if (st == SAMC_OK) {
                    st = SAMC_EINTR;
                    if (err) snprintf(err, SAMC_ERRLEN, "stopped at step %lld; state saved in %.200s/last.ckpt "
                                      "(continue with --resume %.200s)", (long long)r.step, out_dir, out_dir);
                }
                goto out;
            }
            const size_t k = (size_t)r.epoch_step;
            ctx.idx = perm + k * b;
            ctx.nb = k * b + b <= n ? b : n - k * b;
            ctx.ds = tr;
            if (p->augment) {
                st = aug_prepare(&aug, tr, ctx.idx, ctx.nb, &r.aug_rng);
                if (st != SAMC_OK) {
                    if (err) snprintf(err, SAMC_ERRLEN, "out of memory for a batch of %zu", ctx.nb);
                    goto out;
                }
                ctx.ds = &aug.batch;
                ctx.idx = NULL;
            }
            eta = samc_lr_at(&p->lr, r.step, T, r.epoch);
            rho = p->optim.kind == SAMC_OPT_SGD ? 0.0 : samc_rho_at(&p->rho, &p->lr, eta);
            samc_step_info info;
            samc_rng aug_before = r.aug_rng;
            double ts = now_s();
            st = samc_optim_step(r.opt, &orc, x, eta, rho, &info);
            /* BatchNorm running statistics: rank 0's on every rank (as DDP's broadcast_buffers) */
            if (st == SAMC_OK && size > 1 && n_buf) samc_dist_bcast_f(samc_model_buffers(model), n_buf, 0);
            step_s += now_s() - ts;
            samples += (double)ctx.nb;
            if (st == SAMC_ENAN || st == SAMC_ECALLBACK) agreed = 1;   /* from averaged values: every rank */
            if (st == SAMC_ENAN) {   /* x, momentum and counters are those before the step */
                r.aug_rng = aug_before;
                r.elapsed = now_s() - t0;
                samc_errbuf e2;
                int saved = lead && save_state(&r, out_dir, "last.ckpt", 0, e2) == SAMC_OK;
                if (err) snprintf(err, SAMC_ERRLEN,
                                  "loss or gradient became NaN/Inf at step %lld (epoch %d); the run diverged: "
                                  "lower the step size (--lr, --polyak-cap) or rho%s",
                                  (long long)r.step, r.epoch,
                                  saved ? "; the last good state is in last.ckpt" : "");
                goto out;
            }
            if (st != SAMC_OK) {
                if (err) snprintf(err, SAMC_ERRLEN, "model evaluation failed at step %lld", (long long)r.step);
                goto out;
            }
            last_step = info.step;
            if (p->check_sync > 0 && size > 1 && (r.step + 1) % p->check_sync == 0) {
                uint64_t lo, hi;
                samc_dist_minmax_u64(state_checksum(x, np, model), &lo, &hi);
                if (lo != hi) {
                    if (err) snprintf(err, SAMC_ERRLEN, "the ranks' parameters differ after step %lld "
                                      "(checksums %016llx .. %016llx; --check-sync)", (long long)r.step,
                                      (unsigned long long)lo, (unsigned long long)hi);
                    st = SAMC_EINVAL;
                    agreed = 1;
                    goto out;
                }
            }
            if (fs) {
                const double row[SAMC_STEPS_NCOL] = { (double)r.step, r.epoch, (double)ctx.nb, info.step, rho,
                                                      info.loss, info.loss_perturbed, info.grad_norm,
                                                      info.grad_norm_perturbed, info.numerator };
                train_csv_row(fs, samc_steps_columns, SAMC_STEPS_NCOL, row, 0, NULL);
            }
            if (log && p->progress_s > 0 && now_s() - last_progress >= (tty ? 0.25 : p->progress_s)) {
                last_progress = now_s();
                progress_line(log, tty, r.step + 1, T, r.epoch, ctx.nb, info.loss, info.step, rho,
                              last_progress - t0, steps_at_start);
            }
            /* periodic checkpoints inside an epoch (the state after this step) */
            int by_steps = p->ckpt_every_steps > 0 && r.step + 1 - last_ckpt_step >= p->ckpt_every_steps;
            int by_time = p->ckpt_every_s > 0 && now_s() - last_ckpt >= p->ckpt_every_s;
            if ((by_steps || by_time) && r.epoch_step + 1 < k_max && r.step + 1 < T) {
                r.step++, r.epoch_step++;
                r.elapsed = now_s() - t0;
                if (fs) fflush(fs);
                st = lead ? save_state(&r, out_dir, "last.ckpt", 1, err) : SAMC_OK;
                r.step--, r.epoch_step--;
                if (st != SAMC_OK) goto out;
                last_ckpt = now_s();
                last_ckpt_step = r.step + 1;
            }
        }
        if (fs && fflush(fs) != 0) {
            if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s/steps.csv: %s", out_dir, strerror(errno));
            st = SAMC_EIO;
            goto out;
        }

        /* epoch done (or the run ends inside it: a fractional epoch count) */
        const int64_t k_done = r.epoch_step;
        double ep_done = r.epoch + (double)k_done / (double)k_max;
        if (!lead) goto epoch_end;   /* evaluation, metrics.csv and checkpoints: the lead's */
        double trl, tra, tel = NAN, tea = NAN, val = NAN, vaa = NAN;
        samc_model_evaluate(model, tr, x, &trl, &tra);
        if (te->n > 0) samc_model_evaluate(model, te, x, &tel, &tea);
        if (data->val.n > 0) samc_model_evaluate(model, &data->val, x, &val, &vaa);
        double el = now_s() - t0;
        last_progress = now_s();
        if (tty) fputs("\r\033[K", log);
        samc_measure_result mr;
        for (int q = 0; q < SAMC_MEASURE_COUNT; q++) mr.value[q] = NAN;
        if (measures) {
            int epochs_done = k_done == k_max ? r.epoch + 1 : r.epoch;
            int due = (k_done == k_max && epochs_done % p->measure_every == 0) || r.step >= T;
            if (due && (st = samc_measure_model(model, tr, x, &p->measure, &mr, err)) != SAMC_OK) goto out;
        }
        const double row[SAMC_METRICS_NCOL] = { ep_done, (double)r.step, (double)b, last_step, rho,
                                                trl, tra, tel, tea, el, val, vaa };
        train_csv_row(fm, samc_metrics_columns, SAMC_METRICS_NCOL, row, measures, mr.value);
        if (fflush(fm) != 0) {
            if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s/metrics.csv: %s", out_dir, strerror(errno));
            st = SAMC_EIO;
            goto out;
        }
        if (log)
            fprintf(log, "epoch %g step %lld/%lld batch %zu lr %.4g rho %.4g train_loss %.6g train_acc %.4f "
                         "test_loss %.6g test_acc %.4f time %.1fs\n",
                    ep_done, (long long)r.step, (long long)T, b, last_step, rho, trl, tra, tel, tea, el),
            fflush(log);
        if (k_done == k_max) {   /* the epoch is complete: checkpoint the start of the next */
            r.epoch++;
            r.epoch_step = 0;
            r.shuffled = 0;
            r.elapsed = now_s() - t0;
            st = save_state(&r, out_dir, "last.ckpt", 1, err);
            r.epoch--;
            r.epoch_step = k_done;
            r.shuffled = 1;
            if (st != SAMC_OK) goto out;
            last_ckpt = now_s();
            last_ckpt_step = r.step;
        }
    epoch_end:
        if (r.step >= T) break;
    }
    if (log && samc_dist_enabled()) {   /* what data parallelism costs */
        double c = samc_dist_comm_seconds();
        fprintf(log, "# data parallel: %d rank%s, %s perturbation; %.0f samples in %.2fs of steps "
                     "(%.1f samples/s); communication %.3fs in %ld collectives (%.1f%% of the step time)\n",
                size, size > 1 ? "s" : "", p->perturb_local ? "local" : "global", samples, step_s,
                step_s > 0 ? samples / step_s : 0.0, c, samc_dist_comm_calls(),
                step_s > 0 ? 100.0 * c / step_s : 0.0);
        fflush(log);
    }
    if (lead) {
        if (r.epoch_step == samc_batch_steps_in_epoch(&p->batch, r.epoch, n))
            r.epoch++, r.epoch_step = 0, r.shuffled = 0;
        r.elapsed = now_s() - t0;
        if ((st = save_state(&r, out_dir, "last.ckpt", 0, err)) == SAMC_OK)
            st = save_state(&r, out_dir, "final.ckpt", 0, err);
    }
out:
    /* a failure this rank alone saw (rank 0's files, memory): the others
     * would wait for it in the next collective, so it ends the whole job */
    if (st != SAMC_OK && !agreed && size > 1) samc_dist_abort(err ? err : samc_strerror(st));
    if (fs && fclose(fs) != 0 && st == SAMC_OK) st = SAMC_EIO;
    if (fm && fclose(fm) != 0 && st == SAMC_OK) st = SAMC_EIO;
    free(perm);
    free(aug.batch.x);
    free(aug.batch.y);
    free(aug.gather);
    samc_optim_free(r.opt);
    return st;
}
