/*
 * sam.c -- one step of the SAM family over a flat parameter vector (SPEC
 * section 1), driven by a loss-and-gradient oracle.
 *
 *   SAM:   Foret et al., ICLR 2021, Eq. (2):   d = rho g / ||g||
 *   USAM:  Andriushchenko & Flammarion 2022:   d = rho g
 *   unified lambda ([PS] Eq. (3)):             d = rho ((1-lambda) + lambda/||g||) g
 *   ASAM:  Kwon et al., ICML 2021:             d = rho T^2 g / ||T g||, T = |x| + eta_a
 *   GSAM:  Zhuang et al., ICLR 2022, Alg. 1:   u = gp - alpha g_perp
 * and the base update: heavy ball m <- beta m + (u + wd x), x <- x - gamma m.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optim_internal.h"

struct samc_optim {
    size_t n;
    samc_optim_params p;
    float *g;      /* pass-1 gradient */
    float *gp;     /* pass-2 gradient (the direction u is built in place) */
    float *d;      /* perturbation */
    float *xp;     /* x + d */
    float *mom;    /* heavy-ball buffer, NULL without momentum */
    double decsps_prev;
    int64_t steps;
};

samc_optim_params samc_optim_default_params(void)
{
    samc_optim_params p = {
        .kind = SAMC_OPT_SGD,
        .lambda = 1.0,
        .alpha = 0.0,
        .asam_eta = 0.01,
        .momentum = 0.0,
        .weight_decay = 0.0,
        .rule = SAMC_STEP_SCHEDULED,
        .polyak_c = 1.0,
        .polyak_cap = 1.0,
        .polyak_lb = 0.0,
        .eps = 1e-12,
    };
    return p;
}

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (err) snprintf(err, SAMC_ERRLEN, __VA_ARGS__);                  \
            return SAMC_EINVAL;                                                \
        }                                                                      \
    } while (0)

samc_status samc_optim_params_check(const samc_optim_params *p, char *err)
{
    CHECK(p->kind >= SAMC_OPT_SGD && p->kind <= SAMC_OPT_GSAM, "unknown optimizer kind %d", (int)p->kind);
    CHECK(p->lambda >= 0.0 && p->lambda <= 1.0, "lambda must be in [0, 1], got %g", p->lambda);
    CHECK(p->alpha >= 0.0 && isfinite(p->alpha), "alpha must be >= 0, got %g", p->alpha);
    CHECK(p->asam_eta > 0.0 && isfinite(p->asam_eta), "asam eta must be > 0, got %g", p->asam_eta);
    CHECK(p->momentum >= 0.0 && p->momentum < 1.0, "momentum must be in [0, 1), got %g", p->momentum);
    CHECK(p->weight_decay >= 0.0 && isfinite(p->weight_decay), "weight decay must be >= 0, got %g", p->weight_decay);
    CHECK(p->rule >= SAMC_STEP_SCHEDULED && p->rule <= SAMC_STEP_DECSPS, "unknown step-size rule %d", (int)p->rule);
    CHECK(p->polyak_c > 0.0 && isfinite(p->polyak_c), "polyak c must be > 0, got %g", p->polyak_c);
    CHECK(p->polyak_cap > 0.0, "polyak cap gamma_b must be > 0, got %g", p->polyak_cap);
    CHECK(isfinite(p->polyak_lb), "polyak lower bound l* must be finite, got %g", p->polyak_lb);
    CHECK(p->eps > 0.0 && isfinite(p->eps), "eps must be > 0, got %g", p->eps);
    return SAMC_OK;
}

samc_status samc_optim_init(samc_optim **out, size_t n, const samc_optim_params *p, char *err)
{
    *out = NULL;
    samc_status s = samc_optim_params_check(p, err);
    if (s != SAMC_OK) return s;
    if (n == 0) {
        if (err) snprintf(err, SAMC_ERRLEN, "optimizer needs at least one parameter");
        return SAMC_EINVAL;
    }
    samc_optim *o = calloc(1, sizeof *o);
    if (!o) return SAMC_ENOMEM;
    o->n = n;
    o->p = *p;
    o->g = malloc(n * sizeof(float));
    o->gp = malloc(n * sizeof(float));
    o->d = malloc(n * sizeof(float));
    o->xp = malloc(n * sizeof(float));
    if (p->momentum > 0.0) o->mom = calloc(n, sizeof(float));
    if (!o->g || !o->gp || !o->d || !o->xp || (p->momentum > 0.0 && !o->mom)) {
        samc_optim_free(o);
        if (err) snprintf(err, SAMC_ERRLEN, "out of memory for %zu parameters", n);
        return SAMC_ENOMEM;
    }
    o->decsps_prev = samc_decsps_initial(p);
    *out = o;
    return SAMC_OK;
}

void samc_optim_free(samc_optim *o)
{
    if (!o) return;
    free(o->g);
    free(o->gp);
    free(o->d);
    free(o->xp);
    free(o->mom);
    free(o);
}

const samc_optim_params *samc_optim_get_params(const samc_optim *o) { return &o->p; }

samc_optim_state samc_optim_get_state(samc_optim *o)
{
    samc_optim_state s = { o->mom, o->decsps_prev, o->steps };
    return s;
}

void samc_optim_set_state(samc_optim *o, double decsps_prev, int64_t steps)
{
    o->decsps_prev = decsps_prev;
    o->steps = steps;
}

/* d = s_i g_i with s_i = c t_i^2 (asam, t = |x| + eta_a) or s_i = c, into d
 * (if not NULL) and xp = x + d (if not NULL), in one pass. */
static void scale_into(const float *restrict x, const float *restrict g, double c, int asam, double eta_a,
                       float *restrict d, float *restrict xp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double t = asam ? fabs((double)x[i]) + eta_a : 1.0;
        float di = (float)(c * t * t * (double)g[i]);
        if (d) d[i] = di;
        if (xp) xp[i] = x[i] + di;
    }
}

/* samc_perturbation given gn = ||g|| (the step has it from its NaN check),
 * writing xp = x + d too when xp is not NULL.  Returns c where d = c g (every
 * kind but asam); then, when xp is given, d itself is not written (the step
 * needs only x + d and <gp, d> = c <gp, g>).  asam returns NAN and writes d. */
static double perturbation(const samc_optim_params *p, const float *restrict x, const float *restrict g,
                           double gn, double rho, float *restrict d, float *restrict xp, size_t n)
{
    double scale;
    switch (p->kind) {
    case SAMC_OPT_SGD:
        scale = 0.0;
        break;
    case SAMC_OPT_USAM:
        scale = rho;
        break;
    case SAMC_OPT_UNIFIED:
        scale = rho * ((1.0 - p->lambda) + p->lambda / (gn + p->eps));
        break;
    case SAMC_OPT_ASAM: {
        /* ||T g|| with T = |x| + eta_a, then d = rho T^2 g / ||T g||. */
        double tg2 = 0.0;
        #pragma omp simd reduction(+ : tg2)
        for (size_t i = 0; i < n; i++) {
            double t = fabs((double)x[i]) + p->asam_eta;
            tg2 += t * t * (double)g[i] * (double)g[i];
        }
        scale_into(x, g, rho / (sqrt(tg2) + p->eps), 1, p->asam_eta, d, xp, n);
        return NAN;
    }
    case SAMC_OPT_SAM:
    case SAMC_OPT_GSAM:
    default:
        scale = rho / (gn + p->eps);
        break;
    }
    scale_into(x, g, scale, 0, 0.0, xp ? NULL : d, xp, n);
    return scale;
}

double samc_perturbation(const samc_optim_params *p, const float *restrict x,
                         const float *restrict g, double rho, float *restrict d, size_t n)
{
    double gn = samc_nrm2(g, n);
    (void)perturbation(p, x, g, gn, rho, d, NULL, n);
    return gn;
}

/* ||gp||^2 and <gp, d> in one pass, in double: d = o->d when the
 * perturbation returned NAN, else d = c g (c the value it returned). */
static void norm_and_dot(const samc_optim *o, double c, double *gp2, double *gpd)
{
    const size_t n = o->n;
    const float *restrict gp = o->gp, *restrict d = isnan(c) ? o->d : o->g;
    double a = 0.0, b = 0.0;
    #pragma omp simd reduction(+ : a, b)
    for (size_t i = 0; i < n; i++) {
        a += (double)gp[i] * (double)gp[i];
        b += (double)gp[i] * (double)d[i];
    }
    *gp2 = a;
    *gpd = isnan(c) ? b : c * b;
}

/* ||v||^2 in double: finite iff every entry is (and none overflows it). */
static double sq_norm(const float *v, size_t n) { return samc_dot(v, v, n); }

/* The step size of the rule (eta for SCHEDULED). */
static double step_size(samc_optim *o, double numer, double gp2, double eta)
{
    const samc_optim_params *p = &o->p;
    switch (p->rule) {
    case SAMC_STEP_POLYAK: return samc_polyak_step(p, numer, gp2);
    case SAMC_STEP_DECSPS: return samc_decsps_step(p, numer, gp2, o->steps, &o->decsps_prev);
    case SAMC_STEP_SCHEDULED:
    default: return eta;
    }
}

/* x <- x - gamma m, m <- beta m + (u + wd x) (heavy ball; plain without momentum). */
static void base_update(samc_optim *o, float *restrict x, const float *u, double gamma)
{
    const size_t n = o->n;
    const double wd = o->p.weight_decay, beta = o->p.momentum;
    if (o->mom) {
        for (size_t i = 0; i < n; i++) {
            float m = (float)(beta * o->mom[i] + (double)u[i] + wd * x[i]);
            o->mom[i] = m;
            x[i] = (float)((double)x[i] - gamma * m);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((double)x[i] - gamma * ((double)u[i] + wd * x[i]));
    }
    o->steps++;
}

static void fill_info(samc_step_info *info, double f, double fp, double gn, double gp2,
                      double numer, double gamma)
{
    if (!info) return;
    info->loss = f;
    info->loss_perturbed = fp;
    info->grad_norm = gn;
    info->grad_norm_perturbed = sqrt(gp2);
    info->numerator = numer;
    info->step = gamma;
}

/* GSAM: dst = gp - alpha g_perp, g_perp = g - (<g,gp> / ||gp||^2) gp. */
static void gsam_direction(const samc_optim_params *p, const float *g, const float *gp, double gp2,
                           float *dst, size_t n)
{
    double c = gp2 > 0.0 ? samc_dot(g, gp, n) / gp2 : 0.0;
    for (size_t i = 0; i < n; i++) {
        double gperp = (double)g[i] - c * (double)gp[i];
        dst[i] = (float)((double)gp[i] - p->alpha * gperp);
    }
}

/* The step with a reduction hook (samc_oracle.reduce): local perturbation
 * per worker, then the averages.  With one worker (reduce = identity) it
 * computes exactly what the plain step does. */
static samc_status step_reduced(samc_optim *o, const samc_oracle *orc, float *restrict x,
                                double eta, double rho, samc_step_info *info)
{
    const samc_optim_params *p = &o->p;
    const size_t n = o->n;
    const int gsam = p->kind == SAMC_OPT_GSAM && p->alpha != 0.0;
    double f = 0.0, fp = 0.0, gn = 0.0, gpd = 0.0;
    float *gp = p->kind == SAMC_OPT_SGD ? o->g : o->gp;

    /* local: pass 1, the perturbation, pass 2, the GSAM direction (into xp) */
    double g2 = 0.0, gp2_local = 0.0;
    int ok = orc->loss_grad(orc->user, x, o->g, &f, 1) == 0 && isfinite(f) && isfinite(g2 = sq_norm(o->g, n));
    if (ok) {
        gn = sqrt(g2);
        if (p->kind == SAMC_OPT_SGD) {
            fp = f;
        } else {
            double c = perturbation(p, x, o->g, gn, rho, o->d, o->xp, n);
            ok = orc->loss_grad(orc->user, o->xp, o->gp, &fp, 2) == 0 && isfinite(fp);
            if (ok) norm_and_dot(o, c, &gp2_local, &gpd);
            ok = ok && isfinite(gp2_local);
        }
    }
    if (ok && gsam) gsam_direction(p, o->g, o->gp, gp2_local, o->xp, n);
    if (!ok) {   /* every worker must still reduce: contribute NaN, all stop together */
        f = NAN;
        memset(gp, 0, n * sizeof *gp);
        if (gsam) memset(o->xp, 0, n * sizeof *o->xp);
    }

    /* global: the averages */
    double vals[4] = { f, fp, gn, gpd };
    if (orc->reduce(orc->user, vals, 4, gp, n) != 0) return SAMC_ECALLBACK;
    if (gsam && orc->reduce(orc->user, NULL, 0, o->xp, n) != 0) return SAMC_ECALLBACK;
    f = vals[0], fp = vals[1], gn = vals[2], gpd = vals[3];
    double gp2 = sq_norm(gp, n);
    if (!isfinite(f) || !isfinite(fp) || !isfinite(gp2) || (gsam && !isfinite(sq_norm(o->xp, n))))
        return SAMC_ENAN;
    double numer = fp - p->polyak_lb - gpd;
    double gamma = step_size(o, numer, gp2, eta);
    base_update(o, x, gsam ? o->xp : gp, gamma);
    fill_info(info, f, fp, gn, gp2, numer, gamma);
    return SAMC_OK;
}

samc_status samc_optim_step(samc_optim *o, const samc_oracle *orc, float *restrict x,
                            double eta, double rho, samc_step_info *info)
{
    if (orc->reduce) return step_reduced(o, orc, x, eta, rho, info);
    const samc_optim_params *p = &o->p;
    const size_t n = o->n;
    double f = 0.0, fp = 0.0;

    /* pass 1 */
    if (orc->loss_grad(orc->user, x, o->g, &f, 1) != 0) return SAMC_ECALLBACK;
    double g2 = sq_norm(o->g, n);
    if (!isfinite(f) || !isfinite(g2)) return SAMC_ENAN;

    /* perturbation and pass 2 (sgd: d = 0, gp = g) */
    const float *gp = o->g;
    double gn = sqrt(g2), gp2 = g2, gpd = 0.0;
    if (p->kind == SAMC_OPT_SGD) {
        fp = f;
    } else {
        double c = perturbation(p, x, o->g, gn, rho, o->d, o->xp, n);
        if (orc->loss_grad(orc->user, o->xp, o->gp, &fp, 2) != 0) return SAMC_ECALLBACK;
        norm_and_dot(o, c, &gp2, &gpd);
        if (!isfinite(fp) || !isfinite(gp2)) return SAMC_ENAN;
        gp = o->gp;
    }
    double numer = fp - p->polyak_lb - gpd;

    /* step size */
    double gamma = step_size(o, numer, gp2, eta);

    /* direction: GSAM removes alpha times the part of g orthogonal to gp */
    if (p->kind == SAMC_OPT_GSAM && p->alpha != 0.0)
        gsam_direction(p, o->g, o->gp, gp2, o->gp, n);

    /* base update */
    base_update(o, x, gp, gamma);
    fill_info(info, f, fp, gn, gp2, numer, gamma);
    return SAMC_OK;
}
