/*
 * train.c -- the trainer's parameters, samc_train_run (the layers of
 * trainer.c driven in one call), and the output directory.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samc.h"
#include "train/train_internal.h"
#include "util/err.h"

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
    p.label_smoothing = 0.0;
    p.accumulate = 1;
    p.m_sharpness = 1;
    return p;
}

samc_status samc_train_params_check(const samc_train_params *p, char *err)
{
    samc_status s = samc_optim_params_check(&p->optim, err);
    if (s != SAMC_OK) return s;
#define CHECK(cond, ...) SAMC_CHECK(cond, SAMC_EINVAL, __VA_ARGS__)
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
    CHECK(p->label_smoothing >= 0.0 && p->label_smoothing < 1.0, "--label-smoothing must be in [0, 1), got %g",
          p->label_smoothing);
    CHECK(p->accumulate >= 1 && p->accumulate <= 65536, "--accumulate must be in [1, 65536], got %d", p->accumulate);
    CHECK(p->m_sharpness >= 1 && p->m_sharpness <= 65536, "--m-sharpness must be in [1, 65536], got %d", p->m_sharpness);
#undef CHECK
    if (p->measure_every > 0) return samc_measure_params_check(&p->measure, err);
    return SAMC_OK;
}

size_t train_batch_at(const samc_train_params *p, int epoch, size_t n)
{
    const size_t b = samc_batch_at(&p->batch, epoch, n);
    if (p->accumulate <= 1) return b;
    return b > n / (size_t)p->accumulate ? n : b * (size_t)p->accumulate;
}

int64_t train_steps_in_epoch(const samc_train_params *p, int epoch, size_t n)
{
    if (p->accumulate <= 1) return samc_batch_steps_in_epoch(&p->batch, epoch, n);
    const size_t b = train_batch_at(p, epoch, n);
    return n == 0 ? 0 : (int64_t)((n + b - 1) / b);
}

int64_t samc_train_total_steps(const samc_train_params *p, size_t n)
{
    if (p->steps > 0) return p->steps;
    int64_t T = 0;
    for (int e = 0; e < p->epochs; e++)
        T += train_steps_in_epoch(p, e, n);
    return T;
}

samc_status samc_make_dir(const char *dir, char *err)
{
    /* mkdir -p: every missing component, then a check that dir is a directory */
    char path[4096];
    size_t len = strlen(dir);
    SAMC_CHECK(len > 0 && len < sizeof path, SAMC_EINVAL, "bad output directory name '%.100s'", dir);
    memcpy(path, dir, len + 1);
    for (char *q = path + 1;; q++) {
        if (*q != '/' && *q != '\0') continue;
        char c = *q;
        *q = '\0';
        SAMC_CHECK(mkdir(path, 0777) == 0 || errno == EEXIST, SAMC_EIO, "cannot create output directory %.400s: %s",
                   path, strerror(errno));
        *q = c;
        if (!c) break;
    }
    struct stat st;
    SAMC_CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), SAMC_EIO, "%.400s exists and is not a directory", dir);
    return SAMC_OK;
}

samc_status samc_train_run(const samc_train_params *p, const samc_data *data, samc_model *model,
                           const char *out_dir, float *x, int resume, FILE *log, char *err)
{
    samc_train_log lg = { log, log, SAMC_PROGRESS_NONE, p->progress_s, 0.0, 0 };
    if (log && p->progress_s > 0) lg.mode = isatty(fileno(log)) ? SAMC_PROGRESS_BAR : SAMC_PROGRESS_LINES;
    samc_train_callbacks cb = samc_train_log_callbacks(&lg);
    samc_trainer *t;
    samc_status st = samc_trainer_init(&t, p, data, model, out_dir, x, resume, &cb, err);
    if (st == SAMC_OK) st = samc_trainer_fit(t, err);
    samc_trainer_free(t);
    return st;
}
