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
#include <omp.h>
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
#undef CHECK
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

/* The oracle: the model's loss and gradient on one batch of the train set. */
typedef struct batch_ctx {
    const samc_model *model;
    const samc_dataset *ds;
    const size_t *idx;
    size_t nb;
    size_t n_params;
} batch_ctx;

static int batch_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    (void)pass;
    batch_ctx *c = user;
    if (grad) memset(grad, 0, c->n_params * sizeof *grad);
    return samc_model_loss_grad(c->model, c->ds, c->idx, c->nb, x, grad, 1.0, 1, loss) == SAMC_OK ? 0 : -1;
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
                           const samc_model *model, const char *out_dir, float *x,
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
    if (p->threads > 0) omp_set_num_threads(p->threads);

    samc_rng rng;
    samc_rng_seed(&rng, p->seed);
    samc_model_init_params(model, x, &rng);

    samc_optim *opt = NULL;
    size_t *perm = NULL;
    FILE *fs = NULL, *fm = NULL;
    st = samc_optim_init(&opt, np, &p->optim, err);
    if (st != SAMC_OK) goto out;
    perm = malloc(n * sizeof *perm);
    if (!perm) { st = SAMC_ENOMEM; goto out; }
    for (size_t i = 0; i < n; i++) perm[i] = i;

    st = make_dir(out_dir, err);
    if (st != SAMC_OK) goto out;
    fs = open_csv(out_dir, "steps.csv",
                  "step,epoch,batch_size,lr,rho,loss,loss_perturbed,grad_norm,grad_norm_perturbed,polyak_numerator", err);
    fm = open_csv(out_dir, "metrics.csv",
                  "epoch,step,batch_size,lr,rho,train_loss,train_acc,test_loss,test_acc,time_s", err);
    if (!fs || !fm) { st = SAMC_EIO; goto out; }

    const int64_t T = samc_train_total_steps(p, n);
    const double t0 = now_s();
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
        }
        if (fflush(fs) != 0) {
            if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s/steps.csv: %s", out_dir, strerror(errno));
            st = SAMC_EIO;
            goto out;
        }

        /* epoch done (or the run ends inside it: a fractional epoch count) */
        double ep_done = epoch + (double)k / (double)k_max;
        epochs_done = k == k_max ? epoch + 1 : epoch;
        double trl, tra, tel = NAN, tea = NAN;
        samc_model_evaluate(model, tr, x, &trl, &tra);
        if (te->n > 0) samc_model_evaluate(model, te, x, &tel, &tea);
        double el = now_s() - t0;
        fprintf(fm, "%.9g,%lld,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.3f\n", ep_done, (long long)step, b,
                last_step, rho, trl, tra, tel, tea, el);
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
        st = samc_ckpt_save(path, samc_model_name(model), step, epochs_done, x, np, err);
    }
out:
    if (fs && fclose(fs) != 0 && st == SAMC_OK) st = SAMC_EIO;
    if (fm && fclose(fm) != 0 && st == SAMC_OK) st = SAMC_EIO;
    free(perm);
    samc_optim_free(opt);
    return st;
}
