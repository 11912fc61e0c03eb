/*
 * sam.c -- one step of the SAM family over a flat parameter vector
 * (docs/MATH.md section 1), driven by a loss-and-gradient oracle.
 *
 *   SAM:   Foret et al., ICLR 2021, Eq. (2):   d = rho g / ||g||
 *   USAM:  Andriushchenko & Flammarion 2022:   d = rho g
 *   unified lambda ([PS] Eq. (3)):             d = rho ((1-lambda) + lambda/||g||) g
 *   ASAM:  Kwon et al., ICML 2021:             d = rho T^2 g / ||T g||, T = |x| + eta_a
 *   GSAM:  Zhuang et al., ICLR 2022, Alg. 1:   u = gp - alpha g_perp
 * ASAM scales weights only (T = 1 on biases and BatchNorm shifts), as the
 * official code does.  Optionally u is clipped to a norm, then the base
 * update: heavy ball m <- beta m + (u + wd x), x <- x - gamma m (or its
 * Nesterov form), or AdamW.  m-sharpness in one process splits the step into
 * the oracle's chunks (docs/MATH.md section 1).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optim_internal.h"
#include "util/err.h"
#include "util/mem.h"

struct samc_optim {
    size_t n;
    samc_optim_params p;
    float *g;      /* pass-1 gradient */
    float *gp;     /* pass-2 gradient (the direction u is built in place) */
    float *d;      /* perturbation */
    float *xp;     /* x + d */
    float *mom;    /* heavy-ball buffer (AdamW: first moment), NULL without */
    float *v2;     /* AdamW's second moment, NULL for the SGD base */
    unsigned char *role;  /* per parameter (samc_optim_set_roles), NULL: all weights */
    float *acc_gp, *acc_u; /* m-sharpness: the chunks' weighted sums (lazily) */
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
        .nesterov = 0,
        .clip = 0.0,
        .wd_groups = SAMC_WD_ALL,
        .base = SAMC_BASE_SGD,
        .adam_beta1 = 0.9,
        .adam_beta2 = 0.999,
        .adam_eps = 1e-8,
    };
    return p;
}

/* The recipe fields: clipping, Nesterov, decay groups, the base. */
static samc_status recipe_check(const samc_optim_params *p, char *err)
{
    SAMC_CHECK(p->clip >= 0.0 && isfinite(p->clip), SAMC_EINVAL, "clip norm must be >= 0 (0: none), got %g", p->clip);
    SAMC_CHECK(p->nesterov == 0 || p->nesterov == 1, SAMC_EINVAL, "nesterov must be 0 or 1, got %d", p->nesterov);
    SAMC_CHECK(p->wd_groups == SAMC_WD_ALL || p->wd_groups == SAMC_WD_WEIGHTS, SAMC_EINVAL, "unknown weight-decay groups %d",
               (int)p->wd_groups);
    SAMC_CHECK(p->base == SAMC_BASE_SGD || p->base == SAMC_BASE_ADAMW, SAMC_EINVAL, "unknown base update %d", (int)p->base);
    SAMC_CHECK(!p->nesterov || (p->momentum > 0.0 && p->base == SAMC_BASE_SGD), SAMC_EINVAL,
               "nesterov needs the SGD base with momentum > 0");
    if (p->base != SAMC_BASE_ADAMW) return SAMC_OK;
    SAMC_CHECK(p->rule == SAMC_STEP_SCHEDULED, SAMC_EINVAL,
               "the Polyak step sizes are derived for the SGD base, not AdamW: give --lr a number with --base adamw");
    SAMC_CHECK(p->momentum == 0.0, SAMC_EINVAL, "AdamW has its own moments: momentum must be 0 (set adam beta1 instead)");
    SAMC_CHECK(p->adam_beta1 >= 0.0 && p->adam_beta1 < 1.0 && p->adam_beta2 >= 0.0 && p->adam_beta2 < 1.0, SAMC_EINVAL,
               "adam betas must be in [0, 1), got %g, %g", p->adam_beta1, p->adam_beta2);
    SAMC_CHECK(p->adam_eps > 0.0 && isfinite(p->adam_eps), SAMC_EINVAL, "adam eps must be > 0, got %g", p->adam_eps);
    return SAMC_OK;
}

samc_status samc_optim_params_check(const samc_optim_params *p, char *err)
{
    SAMC_CHECK(p->kind >= SAMC_OPT_SGD && p->kind <= SAMC_OPT_GSAM, SAMC_EINVAL, "unknown optimizer kind %d", (int)p->kind);
    SAMC_CHECK(p->lambda >= 0.0 && p->lambda <= 1.0, SAMC_EINVAL, "lambda must be in [0, 1], got %g", p->lambda);
    SAMC_CHECK(p->alpha >= 0.0 && isfinite(p->alpha), SAMC_EINVAL, "alpha must be >= 0, got %g", p->alpha);
    SAMC_CHECK(p->asam_eta > 0.0 && isfinite(p->asam_eta), SAMC_EINVAL, "asam eta must be > 0, got %g", p->asam_eta);
    SAMC_CHECK(p->momentum >= 0.0 && p->momentum < 1.0, SAMC_EINVAL, "momentum must be in [0, 1), got %g", p->momentum);
    SAMC_CHECK(p->weight_decay >= 0.0 && isfinite(p->weight_decay), SAMC_EINVAL, "weight decay must be >= 0, got %g", p->weight_decay);
    SAMC_CHECK(p->rule >= SAMC_STEP_SCHEDULED && p->rule <= SAMC_STEP_DECSPS, SAMC_EINVAL, "unknown step-size rule %d", (int)p->rule);
    SAMC_CHECK(p->polyak_c > 0.0 && isfinite(p->polyak_c), SAMC_EINVAL, "polyak c must be > 0, got %g", p->polyak_c);
    SAMC_CHECK(p->polyak_cap > 0.0, SAMC_EINVAL, "polyak cap gamma_b must be > 0, got %g", p->polyak_cap);
    SAMC_CHECK(isfinite(p->polyak_lb), SAMC_EINVAL, "polyak lower bound l* must be finite, got %g", p->polyak_lb);
    SAMC_CHECK(p->eps > 0.0 && isfinite(p->eps), SAMC_EINVAL, "eps must be > 0, got %g", p->eps);
    return recipe_check(p, err);
}

samc_status samc_optim_init(samc_optim **out, size_t n, const samc_optim_params *p, char *err)
{
    *out = NULL;
    samc_status s = samc_optim_params_check(p, err);
    if (s != SAMC_OK) return s;
    SAMC_CHECK(n > 0, SAMC_EINVAL, "optimizer needs at least one parameter");
    samc_optim *o = calloc(1, sizeof *o);
    SAMC_CHECK(o, SAMC_ENOMEM, "out of memory for the optimizer");
    o->n = n;
    o->p = *p;
    o->g = malloc(n * sizeof(float));
    o->gp = malloc(n * sizeof(float));
    o->d = malloc(n * sizeof(float));
    o->xp = malloc(n * sizeof(float));
    const int adam = p->base == SAMC_BASE_ADAMW;
    if (p->momentum > 0.0 || adam) o->mom = calloc(n, sizeof(float));
    if (adam) o->v2 = calloc(n, sizeof(float));
    if (!o->g || !o->gp || !o->d || !o->xp || ((p->momentum > 0.0 || adam) && !o->mom) || (adam && !o->v2)) {
        samc_optim_free(o);
        return samc_errf(err, SAMC_ENOMEM, "out of memory for %zu parameters", n);
    }
    o->decsps_prev = samc_decsps_initial(p);
    *out = o;
    return SAMC_OK;
}

void samc_optim_free(samc_optim *o)
{
    if (!o) return;
    SAMC_FREE_ALL(o->g, o->gp, o->d, o->xp, o->mom, o->v2, o->role, o->acc_gp, o->acc_u, o);
}

const samc_optim_params *samc_optim_get_params(const samc_optim *o) { return &o->p; }

samc_optim_state samc_optim_get_state(samc_optim *o)
{
    samc_optim_state s = { o->mom, o->decsps_prev, o->steps, o->v2 };
    return s;
}

samc_status samc_optim_set_roles(samc_optim *o, const unsigned char *roles, char *err)
{
    if (!roles) {
        free(o->role);
        o->role = NULL;
        return SAMC_OK;
    }
    for (size_t i = 0; i < o->n; i++)
        SAMC_CHECK(roles[i] <= SAMC_ROLE_BN_SHIFT, SAMC_EINVAL, "parameter %zu has an unknown role %d", i, roles[i]);
    if (!o->role) SAMC_CHECK((o->role = malloc(o->n)), SAMC_ENOMEM, "out of memory for %zu parameter roles", o->n);
    memcpy(o->role, roles, o->n);
    return SAMC_OK;
}

/* ASAM scales parameter i (a weight or a BatchNorm scale; not a bias or a
 * BatchNorm shift, as the official code). */
static inline int asam_scaled(const unsigned char *role, size_t i)
{
    return !role || (role[i] != SAMC_ROLE_BIAS && role[i] != SAMC_ROLE_BN_SHIFT);
}

/* Weight decay applies to parameter i under the groups. */
static inline int decayed(const samc_optim *o, size_t i)
{
    return o->p.wd_groups == SAMC_WD_ALL || !o->role || o->role[i] == SAMC_ROLE_WEIGHT;
}

void samc_optim_set_state(samc_optim *o, double decsps_prev, int64_t steps)
{
    o->decsps_prev = decsps_prev;
    o->steps = steps;
}

/* d = s_i g_i with s_i = c t_i^2 (asam, t = |x| + eta_a where role says so,
 * else 1) or s_i = c, into d (if not NULL) and xp = x + d (if not NULL), in
 * one pass. */
static void scale_into(const float *restrict x, const float *restrict g, double c, int asam, double eta_a,
                       const unsigned char *role, float *restrict d, float *restrict xp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double t = asam && asam_scaled(role, i) ? fabs((double)x[i]) + eta_a : 1.0;
        float di = (float)(c * t * t * (double)g[i]);
        if (d) d[i] = di;
        if (xp) xp[i] = x[i] + di;
    }
}

/* The scale c of d = c g for every kind but ASAM (SGD: 0), given gn = ||g||. */
static double perturbation_scale(const samc_optim_params *p, double gn, double rho)
{
    switch (p->kind) {
    case SAMC_OPT_SGD: return 0.0;
    case SAMC_OPT_USAM: return rho;
    case SAMC_OPT_UNIFIED: return rho * ((1.0 - p->lambda) + p->lambda / (gn + p->eps));
    case SAMC_OPT_SAM:
    case SAMC_OPT_GSAM:
    default: return rho / (gn + p->eps);
    }
}

/* ASAM: d = rho T^2 g / ||T g||, T = |x| + eta_a on the scaled parameters
 * (role NULL: all), T = 1 on the others, into d and xp = x + d (each if not
 * NULL).  d is not a multiple of g here. */
static void asam_perturbation(const samc_optim_params *p, const unsigned char *role, const float *restrict x,
                              const float *restrict g, double rho, float *restrict d, float *restrict xp, size_t n)
{
    double tg2 = 0.0;
    if (!role) {
        #pragma omp simd reduction(+ : tg2)
        for (size_t i = 0; i < n; i++) {
            double t = fabs((double)x[i]) + p->asam_eta;
            tg2 += t * t * (double)g[i] * (double)g[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double t = asam_scaled(role, i) ? fabs((double)x[i]) + p->asam_eta : 1.0;
            tg2 += t * t * (double)g[i] * (double)g[i];
        }
    }
    scale_into(x, g, rho / (sqrt(tg2) + p->eps), 1, p->asam_eta, role, d, xp, n);
}

double samc_perturbation(const samc_optim_params *p, const float *restrict x,
                         const float *restrict g, double rho, float *restrict d, size_t n)
{
    double gn = samc_nrm2(g, n);
    if (p->kind == SAMC_OPT_ASAM)
        asam_perturbation(p, NULL, x, g, rho, d, NULL, n);
    else
        scale_into(x, g, perturbation_scale(p, gn, rho), 0, 0.0, NULL, d, NULL, n);
    return gn;
}

/* d as the step holds it: d = c v. */
typedef struct perturb {
    const float *v;
    double c;
} perturb;

/* xp = x + d for the step, given gn = ||g||.  ASAM writes d into o->d (v =
 * o->d, c = 1); every other kind has d = c g and writes only x + d (the
 * step needs nothing else: <gp, d> = c <gp, g>). */
static perturb perturb_into_xp(samc_optim *o, const float *x, double gn, double rho)
{
    perturb d = { o->g, 1.0 };
    if (o->p.kind == SAMC_OPT_ASAM) {
        asam_perturbation(&o->p, o->role, x, o->g, rho, o->d, o->xp, o->n);
        d.v = o->d;
    } else {
        d.c = perturbation_scale(&o->p, gn, rho);
        scale_into(x, o->g, d.c, 0, 0.0, NULL, NULL, o->xp, o->n);
    }
    return d;
}

/* ||gp||^2 and <gp, d> = c <gp, v> in one pass, in double. */
static void norm_and_dot(const float *restrict gp, perturb d, size_t n, double *gp2, double *gpd)
{
    const float *restrict v = d.v;
    double a = 0.0, b = 0.0;
    #pragma omp simd reduction(+ : a, b)
    for (size_t i = 0; i < n; i++) {
        a += (double)gp[i] * (double)gp[i];
        b += (double)gp[i] * (double)v[i];
    }
    *gp2 = a;
    *gpd = d.c * b;
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

/* AdamW (Loshchilov & Hutter 2019, as torch.optim.AdamW): x <- x (1 - gamma
 * wd), the moments of c u, the bias-corrected step; t = the step's number. */
static void adamw_update(samc_optim *o, float *restrict x, const float *u, double c, double gamma)
{
    const samc_optim_params *p = &o->p;
    const double b1 = p->adam_beta1, b2 = p->adam_beta2, t = (double)(o->steps + 1);
    const double bc1 = 1.0 - pow(b1, t), sbc2 = sqrt(1.0 - pow(b2, t));
    for (size_t i = 0; i < o->n; i++) {
        const double ui = c * (double)u[i], wd = decayed(o, i) ? p->weight_decay : 0.0;
        const double xi = (double)x[i] * (1.0 - gamma * wd);
        const float m = (float)(b1 * o->mom[i] + (1.0 - b1) * ui);
        const float v = (float)(b2 * o->v2[i] + (1.0 - b2) * ui * ui);
        o->mom[i] = m;
        o->v2[i] = v;
        x[i] = (float)(xi - (gamma / bc1) * (double)m / (sqrt((double)v) / sbc2 + p->adam_eps));
    }
}

/* The SGD base with direction c u: x <- x - gamma m, m <- beta m + (c u + wd x)
 * (heavy ball; Nesterov: x <- x - gamma (c u + wd x + beta m); plain without
 * momentum), wd only where the decay groups say. */
static void sgd_update(samc_optim *o, float *restrict x, const float *u, double c, double gamma)
{
    const size_t n = o->n;
    const double beta = o->p.momentum;
    const int all = o->p.wd_groups == SAMC_WD_ALL || !o->role;
    for (size_t i = 0; i < n; i++) {
        const double wd = all || decayed(o, i) ? o->p.weight_decay : 0.0;
        if (!o->mom) {
            x[i] = (float)((double)x[i] - gamma * (c * (double)u[i] + wd * x[i]));
            continue;
        }
        if (!o->p.nesterov) {
            float m = (float)(beta * o->mom[i] + c * (double)u[i] + wd * x[i]);
            o->mom[i] = m;
            x[i] = (float)((double)x[i] - gamma * m);
            continue;
        }
        const float gi = (float)(c * (double)u[i] + wd * x[i]);
        const float m = (float)(beta * o->mom[i] + gi);
        o->mom[i] = m;
        x[i] = (float)((double)x[i] - gamma * (double)(float)(gi + beta * m));
    }
}

/* The base update with direction u, clipped to norm clip (as
 * torch.nn.utils.clip_grad_norm_: factor min(1, clip / (||u|| + 1e-6))). */
static void base_update(samc_optim *o, float *restrict x, const float *u, double gamma)
{
    double c = 1.0;
    if (o->p.clip > 0.0) {
        const double un = sqrt(sq_norm(u, o->n)), f = o->p.clip / (un + 1e-6);
        if (f < 1.0) c = f;
    }
    if (o->p.base == SAMC_BASE_ADAMW) adamw_update(o, x, u, c, gamma);
    else sgd_update(o, x, u, c, gamma);
    o->steps++;
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

/* What a step measures on one worker, then (samc_oracle.reduce) averaged
 * over the workers.  The reduced scalars are the first N_VALS fields. */
enum { V_F, V_FP, V_GN, V_GPD, V_FAILED, N_VALS };
typedef struct step_vals {
    double v[N_VALS];  /* f, fp, ||g||, <gp, d>, 1 if a callback failed */
    double gp2;        /* ||gp||^2 (of the averaged gp once reduced) */
    float *gp;         /* pass-2 gradient (sgd: g) */
    float *u;          /* direction: gp, or GSAM's (in o->xp) */
} step_vals;

/* This worker's part: pass 1, the perturbation, pass 2, the direction.
 * Returns 0, or -1 when a callback failed or a value is not finite (then the
 * caller marks the worker's contribution). */
static int local_part(samc_optim *o, const samc_oracle *orc, const float *x, double rho, step_vals *s)
{
    const size_t n = o->n;
    double *v = s->v;
    if (orc->loss_grad(orc->user, x, o->g, &v[V_F], 1) != 0) return v[V_FAILED] = 1.0, -1;
    double g2 = sq_norm(o->g, n);
    if (!isfinite(v[V_F]) || !isfinite(g2)) return -1;
    v[V_GN] = sqrt(g2);
    if (o->p.kind == SAMC_OPT_SGD) {   /* d = 0, pass 2 skipped: gp = g */
        v[V_FP] = v[V_F];
        s->gp2 = g2;
        return 0;
    }
    perturb d = perturb_into_xp(o, x, v[V_GN], rho);
    if (orc->loss_grad(orc->user, o->xp, o->gp, &v[V_FP], 2) != 0) return v[V_FAILED] = 1.0, -1;
    norm_and_dot(o->gp, d, n, &s->gp2, &v[V_GPD]);
    if (!isfinite(v[V_FP]) || !isfinite(s->gp2)) return -1;
    if (s->u != s->gp) gsam_direction(&o->p, o->g, o->gp, s->gp2, s->u, n);
    return 0;
}

/* Averages over the workers (samc_oracle.reduce; NULL: one process, the
 * local values are the averages).  Every worker calls it, a failed one with
 * f = NaN and zero vectors, so that all of them return the same status. */
static samc_status average(const samc_optim *o, const samc_oracle *orc, step_vals *s, int failed)
{
    const size_t n = o->n;
    if (failed) {
        s->v[V_F] = NAN;
        memset(s->gp, 0, n * sizeof *s->gp);
        if (s->u != s->gp) memset(s->u, 0, n * sizeof *s->u);
    }
    if (!orc->reduce) return SAMC_OK;
    if (orc->reduce(orc->user, s->v, N_VALS, s->gp, n) != 0) return SAMC_ECALLBACK;
    if (s->u != s->gp && orc->reduce(orc->user, NULL, 0, s->u, n) != 0) return SAMC_ECALLBACK;
    s->gp2 = sq_norm(s->gp, n);
    return SAMC_OK;
}

/* m-sharpness in one process: each of the oracle's chunks runs this
 * worker's part with its own perturbation, and s receives the share-weighted
 * means (what average() forms over ranks).  Returns 0, or -1 as local_part. */
static int local_chunks(samc_optim *o, const samc_oracle *orc, const float *x, double rho, step_vals *s)
{
    const size_t n = o->n;
    const int own_u = s->u != s->gp;
    memset(o->acc_gp, 0, n * sizeof *o->acc_gp);
    if (own_u) memset(o->acc_u, 0, n * sizeof *o->acc_u);
    int rc = 0;
    for (int j = 0; j < orc->chunks && rc == 0; j++) {
        double w = 0.0;
        step_vals c = { .v = { 0.0 }, .gp2 = 0.0, .gp = s->gp, .u = s->u };
        if (orc->chunk(orc->user, j, &w) != 0) c.v[V_FAILED] = 1.0, rc = -1;
        else rc = local_part(o, orc, x, rho, &c);
        if (c.v[V_FAILED] > 0.0) s->v[V_FAILED] = 1.0;
        if (rc != 0) break;
        for (int k = V_F; k < V_FAILED; k++) s->v[k] += w * c.v[k];
        for (size_t i = 0; i < n; i++) o->acc_gp[i] += (float)(w * (double)c.gp[i]);
        for (size_t i = 0; own_u && i < n; i++) o->acc_u[i] += (float)(w * (double)c.u[i]);
    }
    orc->chunk(orc->user, -1, NULL);
    s->gp = o->acc_gp;
    s->u = own_u ? o->acc_u : o->acc_gp;
    s->gp2 = sq_norm(s->gp, n);
    return rc;
}

samc_status samc_optim_step(samc_optim *o, const samc_oracle *orc, float *restrict x,
                            double eta, double rho, samc_step_info *info)
{
    const samc_optim_params *p = &o->p;
    step_vals s = { .v = { 0.0 }, .gp2 = 0.0 };
    s.gp = p->kind == SAMC_OPT_SGD ? o->g : o->gp;
    s.u = p->kind == SAMC_OPT_GSAM && p->alpha != 0.0 ? o->xp : s.gp;
    const int chunked = orc->chunks > 1 && orc->chunk;
    if (chunked && !o->acc_gp) {   /* once, at the first such step */
        o->acc_gp = malloc(o->n * sizeof *o->acc_gp);
        o->acc_u = malloc(o->n * sizeof *o->acc_u);
        if (!o->acc_gp || !o->acc_u) return SAMC_ENOMEM;
    }

    int failed = (chunked ? local_chunks(o, orc, x, rho, &s) : local_part(o, orc, x, rho, &s)) != 0;
    samc_status st = average(o, orc, &s, failed);
    if (st != SAMC_OK) return st;
    const double f = s.v[V_F], fp = s.v[V_FP];
    if (s.v[V_FAILED] > 0.0) return SAMC_ECALLBACK;
    if (!isfinite(f) || !isfinite(fp) || !isfinite(s.gp2) || (s.u != s.gp && !isfinite(sq_norm(s.u, o->n))))
        return SAMC_ENAN;

    const double numer = fp - p->polyak_lb - s.v[V_GPD];
    const double gamma = step_size(o, numer, s.gp2, eta);
    base_update(o, x, s.u, gamma);
    if (info) {
        info->loss = f;
        info->loss_perturbed = fp;
        info->grad_norm = s.v[V_GN];
        info->grad_norm_perturbed = sqrt(s.gp2);
        info->numerator = numer;
        info->step = gamma;
    }
    return SAMC_OK;
}
