/*
 * train.c -- the training loop behind `samc train`.
 *
 * Per epoch: the batch size b_e from the batch schedule, a fresh shuffle of
 * the sample order from the seeded RNG, ceil(n / b_e) steps; per step: eta_t
 * and rho_t from the schedules, one optimizer step on the batch, one row of
 * steps.csv; per epoch: full-pass train and test evaluation, one row of
 * metrics.csv.  Every row is flushed as written, so a crash loses nothing
 * already measured.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "samc.h"

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
} batch_ctx;

static int batch_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    batch_ctx *c = user;
    samc_model_set_pass(c->model, pass);
    if (grad) memset(grad, 0, c->n_params * sizeof *grad);
    return samc_model_loss_grad(c->model, c->ds, c->idx, c->nb, x, grad, 1.0, 1, loss) == SAMC_OK ? 0 : -1;
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

static FILE *open_csv(const char *dir, const char *name, const char *header, char *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot write %.400s: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    fflush(f);
    return f;
}

static samc_status make_dir(const char *dir, char *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot create output directory %s: %s", dir, strerror(errno));
        return SAMC_EIO;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (err) snprintf(err, SAMC_ERRLEN, "%s exists and is not a directory", dir);
        return SAMC_EIO;
    }
    return SAMC_OK;
}

samc_status samc_train_run(const samc_train_params *p, const samc_data *data,
                           samc_model *model, const char *out_dir, float *x,
                           FILE *log, char *err)
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

    samc_rng rng;
    samc_rng_seed(&rng, p->seed);
    samc_model_init_params(model, x, &rng);

    samc_optim *opt = NULL;
    size_t *perm = NULL;
    FILE *fs = NULL, *fm = NULL;
    aug_buf aug;
    memset(&aug, 0, sizeof aug);
    aug.batch = *tr;
    aug.batch.x = NULL;
    aug.batch.y = NULL;
    st = samc_optim_init(&opt, np, &p->optim, err);
    if (st != SAMC_OK) goto out;
    perm = malloc(n * sizeof *perm);
    if (!perm) { st = SAMC_ENOMEM; goto out; }
    for (size_t i = 0; i < n; i++) perm[i] = i;

    st = make_dir(out_dir, err);
    if (st != SAMC_OK) goto out;
    fs = open_csv(out_dir, "steps.csv",
                  "step,epoch,batch_size,lr,rho,loss,loss_perturbed,grad_norm,grad_norm_perturbed,polyak_numerator", err);
    {
        char header[1024] = "epoch,step,batch_size,lr,rho,train_loss,train_acc,test_loss,test_acc,time_s,val_loss,val_acc";
        for (int k = 0; p->measure_every > 0 && k < SAMC_MEASURE_COUNT; k++)
            if (p->measure.which & (1u << k)) {
                size_t used = strlen(header);
                snprintf(header + used, sizeof header - used, ",%s", samc_measure_name((samc_measure_kind)k));
            }
        fm = open_csv(out_dir, "metrics.csv", header, err);
    }
    if (!fs || !fm) { st = SAMC_EIO; goto out; }

    const int64_t T = samc_train_total_steps(p, n);
    const double t0 = now_s();
    double last_progress = t0;
    int64_t step = 0;
    int epochs_done = 0;
    double eta = 0.0, rho = 0.0, last_step = 0.0;
    size_t b = 0;
    batch_ctx ctx = { model, tr, NULL, 0, np };
    samc_oracle orc = { np, batch_loss_grad, &ctx };

    for (int epoch = 0; step < T; epoch++) {
        b = samc_batch_at(&p->batch, epoch, n);
        if (b < n) samc_rng_shuffle(&rng, perm, n);
        int64_t k_max = samc_batch_steps_in_epoch(&p->batch, epoch, n);
        int64_t k = 0;
        for (; k < k_max && step < T; k++, step++) {
            ctx.idx = perm + (size_t)k * b;
            ctx.nb = (size_t)k * b + b <= n ? b : n - (size_t)k * b;
            ctx.ds = tr;
            if (p->augment) {
                st = aug_prepare(&aug, tr, ctx.idx, ctx.nb, &rng);
                if (st != SAMC_OK) {
                    if (err) snprintf(err, SAMC_ERRLEN, "out of memory for a batch of %zu", ctx.nb);
                    goto out;
                }
                ctx.ds = &aug.batch;
                ctx.idx = NULL;
            }
            eta = samc_lr_at(&p->lr, step, T, epoch);
            rho = samc_rho_at(&p->rho, &p->lr, eta);
            samc_step_info info;
            st = samc_optim_step(opt, &orc, x, eta, rho, &info);
            if (st == SAMC_ENAN) {
                if (err) snprintf(err, SAMC_ERRLEN,
                                  "loss or gradient became NaN/Inf at step %lld (epoch %d); "
                                  "the run diverged: lower the step size (--lr, --polyak-cap) or rho",
                                  (long long)step, epoch);
                goto out;
            }
            if (st != SAMC_OK) {
                if (err) snprintf(err, SAMC_ERRLEN, "model evaluation failed at step %lld", (long long)step);
                goto out;
            }
            last_step = info.step;
            fprintf(fs, "%lld,%d,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", (long long)step, epoch,
                    ctx.nb, info.step, rho, info.loss, info.loss_perturbed, info.grad_norm,
                    info.grad_norm_perturbed, info.numerator);
            if (log && p->progress_s > 0 && now_s() - last_progress >= p->progress_s) {
                last_progress = now_s();
                fprintf(log, "  step %lld/%lld epoch %d batch %zu loss %.5g lr %.4g rho %.4g (%.1fs)\n",
                        (long long)step + 1, (long long)T, epoch, ctx.nb, info.loss, info.step, rho,
                        last_progress - t0);
                fflush(log);
            }
        }
        if (fflush(fs) != 0) {
            if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s/steps.csv: %s", out_dir, strerror(errno));
            st = SAMC_EIO;
            goto out;
        }

        /* epoch done (or the run ends inside it: a fractional epoch count) */
        double ep_done = epoch + (double)k / (double)k_max;
        epochs_done = k == k_max ? epoch + 1 : epoch;
        double trl, tra, tel = NAN, tea = NAN, val = NAN, vaa = NAN;
        samc_model_evaluate(model, tr, x, &trl, &tra);
        if (te->n > 0) samc_model_evaluate(model, te, x, &tel, &tea);
        if (data->val.n > 0) samc_model_evaluate(model, &data->val, x, &val, &vaa);
        double el = now_s() - t0;
        last_progress = now_s();
        fprintf(fm, "%.9g,%lld,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.3f,%.9g,%.9g", ep_done, (long long)step, b,
                last_step, rho, trl, tra, tel, tea, el, val, vaa);
        if (p->measure_every > 0) {
            samc_measure_result mr;
            int due = (epochs_done > 0 && epochs_done % p->measure_every == 0) || step >= T;
            if (due) {
                st = samc_measure_model(model, tr, x, &p->measure, &mr, err);
                if (st != SAMC_OK) goto out;
            }
            for (int q = 0; q < SAMC_MEASURE_COUNT; q++)
                if (p->measure.which & (1u << q)) fprintf(fm, ",%.9g", due ? mr.value[q] : NAN);
        }
        fputc('\n', fm);
        if (fflush(fm) != 0) {
            if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s/metrics.csv: %s", out_dir, strerror(errno));
            st = SAMC_EIO;
            goto out;
        }
        if (log)
            fprintf(log, "epoch %g step %lld/%lld batch %zu lr %.4g rho %.4g train_loss %.6g train_acc %.4f "
                         "test_loss %.6g test_acc %.4f time %.1fs\n",
                    ep_done, (long long)step, (long long)T, b, last_step, rho, trl, tra, tel, tea, el),
            fflush(log);
    }
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/final.ckpt", out_dir);
        samc_ckpt ck = { .step = step, .epoch = epochs_done, .params = x, .n_params = np,
                         .buffers = samc_model_buffers(model), .n_buffers = samc_model_n_buffers(model) };
        snprintf(ck.model, sizeof ck.model, "%s", samc_model_name(model));
        st = samc_ckpt_save(path, &ck, err);
    }
out:
    if (fs && fclose(fs) != 0 && st == SAMC_OK) st = SAMC_EIO;
    if (fm && fclose(fm) != 0 && st == SAMC_OK) st = SAMC_EIO;
    free(perm);
    free(aug.batch.x);
    free(aug.batch.y);
    free(aug.gather);
    samc_optim_free(opt);
    return st;
}
