/*
 * progress.c -- the printer of a run's progress behind `samc train` and
 * samc_train_run (include/samc.h, samc_train_log): trainer callbacks that
 * print epoch lines on one stream and a bar or plain lines on another.
 * ETA from the rate since this trainer started.
 */
#include <stdio.h>

#include "samc.h"

/* Clears a bar drawn on the progress stream before another line is printed. */
static void clear_bar(samc_train_log *lg)
{
    if (!lg->bar_shown) return;
    fputs("\r\033[K", lg->progress);
    fflush(lg->progress);
    lg->bar_shown = 0;
}

static void draw(samc_train_log *lg, const samc_train_progress *s)
{
    double rate = (double)(s->step - s->first_step) / (s->elapsed_s > 0 ? s->elapsed_s : 1e-9);
    double eta = rate > 0 ? (double)(s->total - s->step) / rate : 0.0;
    FILE *f = lg->progress;
    if (lg->mode == SAMC_PROGRESS_BAR) {
        char bar[31];
        int fill = (int)(30.0 * (double)s->step / (double)s->total);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(f, "\r\033[K[%s] step %lld/%lld epoch %d loss %.4g lr %.3g batch %zu ETA %dm%02ds", bar,
                (long long)s->step, (long long)s->total, s->epoch, s->info->loss, s->lr, s->batch, (int)(eta / 60),
                (int)eta % 60);
        lg->bar_shown = 1;
    } else {
        fprintf(f, "  step %lld/%lld epoch %d batch %zu loss %.5g lr %.4g rho %.4g (%.1fs, ETA %.0fs)\n",
                (long long)s->step, (long long)s->total, s->epoch, s->batch, s->info->loss, s->lr, s->rho,
                s->elapsed_s, eta);
    }
    fflush(f);
}

static void on_step(void *user, const samc_train_progress *s)
{
    samc_train_log *lg = user;
    if (!lg->progress || lg->mode == SAMC_PROGRESS_NONE) return;
    const double now = samc_now_s();
    const int bar = lg->mode == SAMC_PROGRESS_BAR;
    if (lg->last_s == 0.0 && !bar) lg->last_s = now;   /* lines: the first after one interval */
    if (lg->last_s != 0.0 && now - lg->last_s < (bar ? 0.25 : lg->every_s)) return;   /* a bar: at once */
    lg->last_s = now;
    draw(lg, s);
}

static void on_checkpoint(void *user, const char *path, int64_t step)
{
    samc_train_log *lg = user;
    if (!lg->progress || lg->mode != SAMC_PROGRESS_LINES) return;
    fprintf(lg->progress, "  checkpoint step %lld: %s\n", (long long)step, path);
    fflush(lg->progress);
}

static void on_epoch(void *user, const samc_train_epoch *e)
{
    samc_train_log *lg = user;
    lg->last_s = samc_now_s();
    if (lg->progress) clear_bar(lg);
    if (!lg->out) return;
    fprintf(lg->out, "epoch %g step %lld/%lld batch %zu lr %.4g rho %.4g train_loss %.6g train_acc %.4f "
                     "test_loss %.6g test_acc %.4f time %.1fs\n",
            e->epoch, (long long)e->step, (long long)e->total, e->batch, e->lr, e->rho, e->train_loss, e->train_acc,
            e->test_loss, e->test_acc, e->elapsed_s);
    fflush(lg->out);
}

static void on_finish(void *user, const samc_train_stats *s)
{
    samc_train_log *lg = user;
    if (lg->progress) clear_bar(lg);
    if (!lg->out || !s->data_parallel) return;   /* what data parallelism costs */
    fprintf(lg->out, "# data parallel: %d rank%s, %s perturbation; %.0f samples in %.2fs of steps "
                     "(%.1f samples/s); communication %.3fs in %ld collectives (%.1f%% of the step time)\n",
            s->ranks, s->ranks > 1 ? "s" : "", s->perturb_local ? "local" : "global", s->samples, s->step_s,
            s->step_s > 0 ? s->samples / s->step_s : 0.0, s->comm_s, s->comm_calls,
            s->step_s > 0 ? 100.0 * s->comm_s / s->step_s : 0.0);
    fflush(lg->out);
}

samc_train_callbacks samc_train_log_callbacks(samc_train_log *lg)
{
    samc_train_callbacks cb = { on_step, on_epoch, on_checkpoint, on_finish, lg };
    return cb;
}
