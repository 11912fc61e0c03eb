/*
 * model_measure.c -- the measurements of section 9 (samc.h) applied to a model on
 * the first rows of a data set, in evaluation mode (pass 0): worst-case and
 * average sharpness as means over batches, the Hessian on one fixed batch,
 * the gradient norm of the mean loss over all the rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "samc.h"

static const char *const names[SAMC_MEASURE_COUNT] = {
    "worst_linf", "worst_l2", "adaptive_linf", "adaptive_l2", "avg", "hessian_top", "hessian_trace",
    "full_grad_norm",
};

const char *samc_measure_name(samc_measure_kind k)
{
    return (unsigned)k < SAMC_MEASURE_COUNT ? names[k] : "unknown";
}

samc_measure_params samc_measure_default_params(void)
{
    samc_measure_params p;
    memset(&p, 0, sizeof p);
    p.which = 1u << SAMC_MEASURE_WORST_LINF;
    p.sharp = samc_sharpness_default_params();
    p.n_samples = 1024;
    p.batch = 128;
    p.avg_draws = 20;
    p.hessian = samc_hessian_default_params();
    return p;
}

samc_status samc_measure_params_check(const samc_measure_params *p, char *err)
{
    const char *why = NULL;
    if (!(p->sharp.rho >= 0.0) || !isfinite(p->sharp.rho)) why = "the sharpness radius rho must be >= 0";
    else if (p->sharp.steps < 1) why = "ascent steps must be >= 1";
    else if (p->sharp.restarts < 1) why = "restarts must be >= 1";
    else if (p->n_samples < 1) why = "samples must be >= 1";
    else if (p->batch < 1) why = "the measure batch must be >= 1";
    else if (p->avg_draws < 2) why = "draws must be >= 2";
    else if (p->hessian.lanczos_steps < 1) why = "Lanczos steps must be >= 1";
    else if (p->hessian.probes < 2) why = "probes must be >= 2";
    else if (!(p->hessian.eps > 0.0)) why = "the HVP eps must be > 0";
    else if (p->which == 0 || p->which >= (1u << SAMC_MEASURE_COUNT)) why = "no (or an unknown) measure chosen";
    if (!why) return SAMC_OK;
    if (err) snprintf(err, SAMC_ERRLEN, "measure: %s", why);
    return SAMC_EINVAL;
}

/* The model on rows first..first+nb-1 of a data set (a view of them, so the
 * model sees a contiguous batch), through samc_model_oracle. */
typedef struct rows_ctx {
    const samc_dataset *ds;
    samc_dataset view;
    samc_model_batch b;
    size_t np;
} rows_ctx;

static void set_rows(rows_ctx *c, size_t first, size_t nb)
{
    c->view = *c->ds;
    c->view.x = c->ds->x + first * c->ds->d;
    c->view.y = c->ds->y + first;
    c->view.n = nb;
    c->b.nb = nb;
}

/* ||grad f|| of the mean loss over rows 0..N-1, accumulated over batches of
 * `batch` rows in double (each batch's mean gradient weighted by its share). */
static samc_status grad_norm(rows_ctx *c, const samc_oracle *o, const float *x, size_t N,
                             size_t batch, double *out, char *err)
{
    float *g = malloc(c->np * sizeof *g);
    double *acc = calloc(c->np, sizeof *acc);
    if (!g || !acc) {
        free(g);
        free(acc);
        if (err) snprintf(err, SAMC_ERRLEN, "measure: out of memory (gradient of %zu parameters)", c->np);
        return SAMC_ENOMEM;
    }
    samc_status st = SAMC_OK;
    for (size_t first = 0; first < N && st == SAMC_OK; first += batch) {
        set_rows(c, first, first + batch <= N ? batch : N - first);
        double loss, w = (double)c->b.nb / (double)N;
        if (o->loss_grad(o->user, x, g, &loss, 0) != 0) {
            if (err) snprintf(err, SAMC_ERRLEN, "measure: gradient evaluation failed");
            st = SAMC_ECALLBACK;
            break;
        }
        for (size_t i = 0; i < c->np; i++) acc[i] += w * g[i];
    }
    double s = 0.0;
    for (size_t i = 0; i < c->np; i++) s += acc[i] * acc[i];
    *out = sqrt(s);
    free(g);
    free(acc);
    return st;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

samc_status samc_measure_model(samc_model *m, const samc_dataset *ds, const float *x,
                               const samc_measure_params *p, samc_measure_result *r,
                               char *err)
{
    samc_status st = samc_measure_params_check(p, err);
    if (st != SAMC_OK) return st;
    size_t N = p->n_samples < ds->n ? p->n_samples : ds->n;
    if (N == 0) {
        if (err) snprintf(err, SAMC_ERRLEN, "measure: the data set is empty");
        return SAMC_EINVAL;
    }
    rows_ctx c = { .ds = ds, .b = { .model = m, .ds = &c.view, .scale = 1.0 },
                   .np = samc_model_n_params(m) };
    samc_oracle o = samc_model_oracle(&c.b);
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++) {
        r->value[k] = r->stderr_[k] = r->seconds[k] = NAN;
        if (!(p->which & (1u << k))) continue;
        double t0 = now_s();
        if (k <= SAMC_MEASURE_AVG) {
            samc_sharpness_params sp = p->sharp;
            sp.ball = (k == SAMC_MEASURE_WORST_L2 || k == SAMC_MEASURE_ADAPTIVE_L2) ? SAMC_BALL_L2 : SAMC_BALL_LINF;
            sp.adaptive = k == SAMC_MEASURE_ADAPTIVE_LINF || k == SAMC_MEASURE_ADAPTIVE_L2;
            double sum = 0.0, sum2 = 0.0;
            int nbatch = 0;
            for (size_t first = 0; first < N; first += p->batch, nbatch++) {
                set_rows(&c, first, first + p->batch <= N ? p->batch : N - first);
                double v, se = 0.0;
                if (k == SAMC_MEASURE_AVG)
                    st = samc_sharpness_average(&o, x, sp.rho, 0, p->avg_draws, sp.seed + (uint64_t)nbatch, &v, &se, err);
                else {
                    sp.seed = p->sharp.seed + (uint64_t)nbatch;
                    st = samc_sharpness_worst(&o, x, &sp, &v, NULL, err);
                }
                if (st != SAMC_OK) return st;
                sum += v;
                sum2 += se * se;
            }
            r->value[k] = sum / nbatch;
            if (k == SAMC_MEASURE_AVG) r->stderr_[k] = sqrt(sum2) / nbatch;
        } else if (k == SAMC_MEASURE_GRAD_NORM) {
            st = grad_norm(&c, &o, x, N, p->batch, &r->value[k], err);
            if (st != SAMC_OK) return st;
        } else {
            set_rows(&c, 0, N);
            if (k == SAMC_MEASURE_HESSIAN_TOP) {
                samc_hessian_params hp = p->hessian;
                hp.top_k = 1;
                st = samc_hessian_top(&o, x, &hp, &r->value[k], err);
            } else {
                st = samc_hessian_trace(&o, x, &p->hessian, &r->value[k], &r->stderr_[k], err);
            }
            if (st != SAMC_OK) return st;
        }
        r->seconds[k] = now_s() - t0;
    }
    samc_model_set_pass(m, 1);
    return SAMC_OK;
}
