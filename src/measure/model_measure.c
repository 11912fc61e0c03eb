/*
 * model_measure.c -- the measurements of section 9 (samc.h) applied to a model on
 * the first rows of a data set, in evaluation mode (pass 0): worst-case and
 * average sharpness as means over batches, the Hessian on one fixed batch,
 * the gradient norm of the mean loss over all the rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "util/err.h"

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
    SAMC_CHECK(p->sharp.rho >= 0.0 && isfinite(p->sharp.rho), SAMC_EINVAL, "measure: the sharpness radius rho must be >= 0");
    SAMC_CHECK(p->sharp.steps >= 1, SAMC_EINVAL, "measure: ascent steps must be >= 1");
    SAMC_CHECK(p->sharp.restarts >= 1, SAMC_EINVAL, "measure: restarts must be >= 1");
    SAMC_CHECK(p->n_samples >= 1, SAMC_EINVAL, "measure: samples must be >= 1");
    SAMC_CHECK(p->batch >= 1, SAMC_EINVAL, "measure: the measure batch must be >= 1");
    SAMC_CHECK(p->avg_draws >= 2, SAMC_EINVAL, "measure: draws must be >= 2");
    SAMC_CHECK(p->hessian.lanczos_steps >= 1, SAMC_EINVAL, "measure: Lanczos steps must be >= 1");
    SAMC_CHECK(p->hessian.probes >= 2, SAMC_EINVAL, "measure: probes must be >= 2");
    SAMC_CHECK(p->hessian.eps > 0.0, SAMC_EINVAL, "measure: the HVP eps must be > 0");
    SAMC_CHECK(p->which != 0 && p->which < (1u << SAMC_MEASURE_COUNT), SAMC_EINVAL,
               "measure: no (or an unknown) measure chosen");
    return SAMC_OK;
}

/* What a measure runs on: the model on rows first..first+nb-1 of a data set
 * (a view of them, so the model sees a contiguous batch), through
 * samc_model_oracle, at the point x. */
typedef struct rows_ctx {
    const samc_dataset *ds;
    samc_dataset view;
    samc_model_batch b;
    samc_oracle o;
    size_t np, N;       /* parameters; rows measured */
    const float *x;
    const samc_measure_params *p;
} rows_ctx;

static void set_rows(rows_ctx *c, size_t first, size_t nb)
{
    c->view = samc_dataset_rows(c->ds, first, nb);
    c->b.nb = nb;
}

/* How a measure uses the rows:
 *   PER_BATCH  run on each batch of `batch` rows; the value is the mean over
 *              the batches, the standard error sqrt(sum se^2) / batches
 *   ALL_ROWS   run once on all N rows as one batch
 *   OWN_ROWS   run once; it walks the rows itself */
typedef enum rows_use { PER_BATCH, ALL_ROWS, OWN_ROWS } rows_use;

typedef struct measure_def measure_def;
struct measure_def {
    const char *name;
    rows_use rows;
    int has_stderr;     /* the measure is an estimate with a standard error */
    samc_ball ball;     /* worst-case sharpness: the ball, */
    int adaptive;       /* scaled by |w| */
    /* The value (and its standard error) on the current rows; batch is the
     * batch's number (seeds the draws). */
    samc_status (*run)(const measure_def *d, rows_ctx *c, int batch, double *value, double *se,
                       char *err);
};

static samc_status run_worst(const measure_def *d, rows_ctx *c, int batch, double *value,
                             double *se, char *err)
{
    (void)se;
    samc_sharpness_params sp = c->p->sharp;
    sp.ball = d->ball;
    sp.adaptive = d->adaptive;
    sp.seed = c->p->sharp.seed + (uint64_t)batch;
    return samc_sharpness_worst(&c->o, c->x, &sp, value, NULL, err);
}

static samc_status run_avg(const measure_def *d, rows_ctx *c, int batch, double *value, double *se,
                           char *err)
{
    (void)d;
    return samc_sharpness_average(&c->o, c->x, c->p->sharp.rho, 0, c->p->avg_draws,
                                  c->p->sharp.seed + (uint64_t)batch, value, se, err);
}

static samc_status run_hessian_top(const measure_def *d, rows_ctx *c, int batch, double *value,
                                   double *se, char *err)
{
    (void)d, (void)batch, (void)se;
    samc_hessian_params hp = c->p->hessian;
    hp.top_k = 1;
    return samc_hessian_top(&c->o, c->x, &hp, value, err);
}

static samc_status run_hessian_trace(const measure_def *d, rows_ctx *c, int batch, double *value,
                                     double *se, char *err)
{
    (void)d, (void)batch;
    return samc_hessian_trace(&c->o, c->x, &c->p->hessian, value, se, err);
}

/* ||grad f|| of the mean loss over rows 0..N-1, accumulated over batches of
 * `batch` rows in double (each batch's mean gradient weighted by its share). */
static samc_status run_grad_norm(const measure_def *d, rows_ctx *c, int batch, double *value,
                                 double *se, char *err)
{
    (void)d, (void)batch, (void)se;
    const size_t N = c->N, B = c->p->batch;
    float *g = malloc(c->np * sizeof *g);
    double *acc = calloc(c->np, sizeof *acc);
    samc_status st = SAMC_OK;
    if (!g || !acc)
        st = samc_errf(err, SAMC_ENOMEM, "measure: out of memory (gradient of %zu parameters)", c->np);
    for (size_t first = 0; first < N && st == SAMC_OK; first += B) {
        set_rows(c, first, first + B <= N ? B : N - first);
        double loss, w = (double)c->b.nb / (double)N;
        if (c->o.loss_grad(c->o.user, c->x, g, &loss, 0) != 0) {
            st = samc_errf(err, SAMC_ECALLBACK, "measure: gradient evaluation failed (%s)",
                           samc_strerror(c->b.status));
            break;
        }
        for (size_t i = 0; i < c->np; i++) acc[i] += w * g[i];
    }
    if (st == SAMC_OK) {
        double s = 0.0;
        for (size_t i = 0; i < c->np; i++) s += acc[i] * acc[i];
        *value = sqrt(s);
    }
    free(g);
    free(acc);
    return st;
}

/* Every measure, indexed by samc_measure_kind. */
static const measure_def measures[SAMC_MEASURE_COUNT] = {
    [SAMC_MEASURE_WORST_LINF] = { "worst_linf", PER_BATCH, 0, SAMC_BALL_LINF, 0, run_worst },
    [SAMC_MEASURE_WORST_L2] = { "worst_l2", PER_BATCH, 0, SAMC_BALL_L2, 0, run_worst },
    [SAMC_MEASURE_ADAPTIVE_LINF] = { "adaptive_linf", PER_BATCH, 0, SAMC_BALL_LINF, 1, run_worst },
    [SAMC_MEASURE_ADAPTIVE_L2] = { "adaptive_l2", PER_BATCH, 0, SAMC_BALL_L2, 1, run_worst },
    [SAMC_MEASURE_AVG] = { "avg", PER_BATCH, 1, SAMC_BALL_L2, 0, run_avg },
    [SAMC_MEASURE_HESSIAN_TOP] = { "hessian_top", ALL_ROWS, 0, SAMC_BALL_L2, 0, run_hessian_top },
    [SAMC_MEASURE_HESSIAN_TRACE] = { "hessian_trace", ALL_ROWS, 1, SAMC_BALL_L2, 0, run_hessian_trace },
    [SAMC_MEASURE_GRAD_NORM] = { "full_grad_norm", OWN_ROWS, 0, SAMC_BALL_L2, 0, run_grad_norm },
};

const char *samc_measure_name(samc_measure_kind k)
{
    return (unsigned)k < SAMC_MEASURE_COUNT ? measures[k].name : "unknown";
}

/* One measure into *value and *se (se stays NAN unless d->has_stderr). */
static samc_status run_measure(const measure_def *d, rows_ctx *c, double *value, double *se,
                               char *err)
{
    double v = NAN, e = NAN;
    if (d->rows != PER_BATCH) {
        set_rows(c, 0, c->N);
        samc_status st = d->run(d, c, 0, &v, &e, err);
        if (st != SAMC_OK) return st;
    } else {
        double sum = 0.0, sum2 = 0.0;
        int nbatch = 0;
        for (size_t first = 0; first < c->N; first += c->p->batch, nbatch++) {
            set_rows(c, first, first + c->p->batch <= c->N ? c->p->batch : c->N - first);
            double bv, be = 0.0;
            samc_status st = d->run(d, c, nbatch, &bv, &be, err);
            if (st != SAMC_OK) return st;
            sum += bv;
            sum2 += be * be;
        }
        v = sum / nbatch;
        e = sqrt(sum2) / nbatch;
    }
    *value = v;
    if (d->has_stderr) *se = e;
    return SAMC_OK;
}

samc_status samc_measure_model(samc_model *m, const samc_dataset *ds, const float *x,
                               const samc_measure_params *p, samc_measure_result *r,
                               char *err)
{
    samc_status st = samc_measure_params_check(p, err);
    if (st != SAMC_OK) return st;
    size_t N = p->n_samples < ds->n ? p->n_samples : ds->n;
    SAMC_CHECK(N > 0, SAMC_EINVAL, "measure: the data set is empty");
    rows_ctx c = { .ds = ds, .b = { .model = m, .ds = &c.view, .scale = 1.0 },
                   .np = samc_model_n_params(m), .N = N, .x = x, .p = p };
    c.o = samc_model_oracle(&c.b);
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++) {
        r->value[k] = r->stderr_[k] = r->seconds[k] = NAN;
        if (!(p->which & (1u << k))) continue;
        double t0 = samc_now_s();
        st = run_measure(&measures[k], &c, &r->value[k], &r->stderr_[k], err);
        if (st != SAMC_OK) return st;
        r->seconds[k] = samc_now_s() - t0;
    }
    samc_model_set_pass(m, 1);
    return SAMC_OK;
}
