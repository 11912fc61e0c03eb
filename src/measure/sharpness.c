/*
 * sharpness.c -- worst-case and average-case sharpness of a point w
 * (docs/MATH.md section 4), through the loss-and-gradient oracle.
 *
 * Worst case: max_{delta in C} f(w + delta) - f(w) by projected ascent with
 * the step-size schedule of Auto-PGD (Croce & Hein, ICML 2020, Alg. 1):
 * momentum alpha = 0.75, initial step 2 rho, checkpoints at fractions
 * p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) of the
 * steps, where the step is halved (and the ascent restarted from the best
 * point) if fewer than 75% of the steps since the last checkpoint increased
 * f, or if neither the step nor the best value changed since then.
 * Every restart starts at a uniform random point of the ball (at a
 * stationary point the gradient gives no direction), or, with zero_start,
 * the first one at delta = 0; delta = 0 is the starting candidate, so the
 * result is >= 0.
 * Ball coordinates: delta = T u with T = |w| (adaptive) or 1, u in the
 * L-inf or L2 ball of radius rho; the gradient in u is T g.
 * Oracle calls use pass 0 (evaluation mode).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "util/err.h"

samc_sharpness_params samc_sharpness_default_params(void)
{
    samc_sharpness_params p = { SAMC_BALL_LINF, 2e-4, 0, 20, 1, 0, 0 };
    return p;
}

typedef struct ascent {
    const samc_oracle *o;
    const float *w;
    size_t n;
    const samc_sharpness_params *p;
    float *T;      /* ball scale, NULL: 1 */
    float *xp;     /* w + T u */
    float *g;      /* gradient at xp */
    /* the ascent in u coordinates: the point, the previous point, the next
     * point, the gradient at u, the best point of the restart and its gradient */
    float *u, *up, *z, *gu, *ub, *gub;
    int ckpt[64], nck;  /* Auto-PGD checkpoints, as step counts */
} ascent;

/* f and gradient (in u coordinates, into gu) at u. */
static int eval_at(ascent *a, const float *u, double *f, float *gu)
{
    for (size_t i = 0; i < a->n; i++) a->xp[i] = a->w[i] + (a->T ? a->T[i] : 1.0f) * u[i];
    if (a->o->loss_grad(a->o->user, a->xp, gu ? a->g : NULL, f, 0) != 0) return -1;
    if (gu)
        for (size_t i = 0; i < a->n; i++) gu[i] = a->T ? a->T[i] * a->g[i] : a->g[i];
    return isfinite(*f) ? 0 : -2;
}

static void project(const samc_sharpness_params *p, float *u, size_t n)
{
    const float r = (float)p->rho;
    if (p->ball == SAMC_BALL_LINF) {
        for (size_t i = 0; i < n; i++) u[i] = u[i] > r ? r : u[i] < -r ? -r : u[i];
    } else {
        double nr = samc_nrm2(u, n);
        if (nr > p->rho) {
            double s = p->rho / nr;
            for (size_t i = 0; i < n; i++) u[i] = (float)(u[i] * s);
        }
    }
}

static void random_point(const samc_sharpness_params *p, samc_rng *r, float *u, size_t n)
{
    if (p->ball == SAMC_BALL_LINF) {
        for (size_t i = 0; i < n; i++) u[i] = (float)(p->rho * (2.0 * samc_rng_uniform(r) - 1.0));
    } else {
        for (size_t i = 0; i < n; i++) u[i] = (float)samc_rng_normal(r);
        double nr = samc_nrm2(u, n), rad = p->rho * pow(samc_rng_uniform(r), 1.0 / (double)n);
        for (size_t i = 0; i < n; i++) u[i] = (float)(u[i] * rad / (nr > 0 ? nr : 1.0));
    }
}

/* The checkpoints of Auto-PGD for `steps` steps (see the top of the file). */
static void apgd_checkpoints(ascent *a, int steps)
{
    double pm = 0.0, pj = 0.22;
    a->nck = 0;
    while (a->nck < 64) {
        int k = (int)ceil(pj * steps);
        if (k >= steps) break;
        if (a->nck == 0 || k > a->ckpt[a->nck - 1]) a->ckpt[a->nck++] = k;
        double nx = pj + fmax(pj - pm - 0.03, 0.06);
        pm = pj;
        pj = nx;
    }
}

/* Step k of the ascent: z = P(u + eta dir) (dir the sign of gu, or gu
 * normalized), then with momentum 0.75 from the step before (k > 0). */
static void ascent_step(ascent *a, double eta, int k)
{
    const size_t n = a->n;
    float *z = a->z, *u = a->u, *gu = a->gu, *up = a->up;
    if (a->p->ball == SAMC_BALL_LINF) {
        for (size_t i = 0; i < n; i++)
            z[i] = u[i] + (float)eta * (gu[i] > 0 ? 1.0f : gu[i] < 0 ? -1.0f : 0.0f);
    } else {
        double gn = samc_nrm2(gu, n);
        double s = gn > 0 ? eta / gn : 0.0;
        for (size_t i = 0; i < n; i++) z[i] = (float)(u[i] + s * gu[i]);
    }
    project(a->p, z, n);
    if (k > 0) {
        for (size_t i = 0; i < n; i++) z[i] = u[i] + 0.75f * (z[i] - u[i]) + 0.25f * (u[i] - up[i]);
        project(a->p, z, n);
    }
}

/* One restart from a random point of the ball (from 0 when zero): the best
 * value into *best, its point into a->ub.  SAMC_ENAN when the loss is not
 * finite. */
static samc_status restart(ascent *a, samc_rng *rng, int zero, double *best_out)
{
    const samc_sharpness_params *p = a->p;
    const size_t n = a->n, bytes = n * sizeof(float);
    if (zero) memset(a->u, 0, bytes);
    else random_point(p, rng, a->u, n);
    double f;
    if (eval_at(a, a->u, &f, a->gu) != 0) return SAMC_ENAN;
    double best = f, best_at_ck = f, eta = 2.0 * p->rho, eta_at_ck = eta;
    memcpy(a->ub, a->u, bytes);
    memcpy(a->gub, a->gu, bytes);
    memcpy(a->up, a->u, bytes);
    int success = 0, last_ck = 0, ci = 0;
    for (int k = 0; k < p->steps; k++) {
        ascent_step(a, eta, k);
        memcpy(a->up, a->u, bytes);
        memcpy(a->u, a->z, bytes);
        double fn;
        if (eval_at(a, a->u, &fn, a->gu) != 0) return SAMC_ENAN;
        if (fn > f) success++;
        f = fn;
        if (fn > best) {
            best = fn;
            memcpy(a->ub, a->u, bytes);
            memcpy(a->gub, a->gu, bytes);
        }
        if (ci < a->nck && k + 1 == a->ckpt[ci]) {
            int stalled = success < 0.75 * (k + 1 - last_ck);
            int flat = eta == eta_at_ck && best == best_at_ck;
            if (stalled || flat) {   /* halve the step, back to the best point */
                eta *= 0.5;
                memcpy(a->u, a->ub, bytes);
                memcpy(a->up, a->ub, bytes);
                memcpy(a->gu, a->gub, bytes);
                f = best;
            }
            success = 0;
            last_ck = k + 1;
            eta_at_ck = eta;
            best_at_ck = best;
            ci++;
        }
    }
    *best_out = best;
    return SAMC_OK;
}

samc_status samc_sharpness_worst(const samc_oracle *o, const float *w,
                                 const samc_sharpness_params *p, double *value,
                                 float *best, char *err)
{
    SAMC_CHECK(p->rho >= 0.0 && isfinite(p->rho) && p->steps >= 1 && p->restarts >= 1, SAMC_EINVAL,
               "sharpness: need rho >= 0, steps >= 1, restarts >= 1");
    const size_t n = o->n;
    ascent a = { .o = o, .w = w, .n = n, .p = p };
    float *buf = malloc(9 * n * sizeof(float)), *ubest = buf ? buf + 8 * n : NULL;
    SAMC_CHECK(buf, SAMC_ENOMEM, "sharpness: out of memory (%zu parameters)", n);
    a.xp = buf, a.g = buf + n, a.u = buf + 2 * n, a.up = buf + 3 * n, a.z = buf + 4 * n;
    a.gu = buf + 5 * n, a.ub = buf + 6 * n, a.gub = buf + 7 * n;
    samc_status st = SAMC_OK;
    if (p->adaptive) {
        a.T = malloc(n * sizeof(float));
        if (!a.T) { st = SAMC_ENOMEM; goto out; }
        for (size_t i = 0; i < n; i++) a.T[i] = fabsf(w[i]);
    }
    double f0;
    memset(a.u, 0, n * sizeof(float));
    if (eval_at(&a, a.u, &f0, NULL) != 0) { st = SAMC_ENAN; goto out; }
    double best_all = f0;
    memset(ubest, 0, n * sizeof(float));
    apgd_checkpoints(&a, p->steps);

    samc_rng rng;
    samc_rng_seed(&rng, p->seed);
    for (int r = 0; r < p->restarts; r++) {
        double b;
        if ((st = restart(&a, &rng, r == 0 && p->zero_start, &b)) != SAMC_OK) goto out;
        if (b > best_all) {
            best_all = b;
            memcpy(ubest, a.ub, n * sizeof(float));
        }
    }
    *value = best_all - f0;
    if (best)
        for (size_t i = 0; i < n; i++) best[i] = (a.T ? a.T[i] : 1.0f) * ubest[i];
out:
    if (st == SAMC_ENAN) samc_errmsg(err, "sharpness: the loss is not finite near w");
    if (st == SAMC_ENOMEM) samc_errmsg(err, "sharpness: out of memory");
    free(a.T);
    free(buf);
    return st;
}

samc_status samc_sharpness_average(const samc_oracle *o, const float *w, double rho,
                                   int adaptive, int draws, uint64_t seed,
                                   double *value, double *stderr_out, char *err)
{
    SAMC_CHECK(rho >= 0.0 && isfinite(rho) && draws >= 2, SAMC_EINVAL,
               "average sharpness: need rho >= 0 and at least 2 draws");
    const size_t n = o->n;
    float *xp = malloc(n * sizeof(float));
    SAMC_CHECK(xp, SAMC_ENOMEM, "average sharpness: out of memory (%zu parameters)", n);
    samc_rng rng;
    samc_rng_seed(&rng, seed);
    double f0, s = 0.0, s2 = 0.0;
    samc_status st = SAMC_OK;
    if (o->loss_grad(o->user, w, NULL, &f0, 0) != 0 || !isfinite(f0)) st = SAMC_ENAN;
    for (int k = 0; k < draws && st == SAMC_OK; k++) {
        for (size_t i = 0; i < n; i++) {
            double scale = adaptive ? fabs((double)w[i]) : 1.0;
            xp[i] = (float)(w[i] + rho * scale * samc_rng_normal(&rng));
        }
        double f;
        if (o->loss_grad(o->user, xp, NULL, &f, 0) != 0 || !isfinite(f)) { st = SAMC_ENAN; break; }
        s += f - f0;
        s2 += (f - f0) * (f - f0);
    }
    free(xp);
    SAMC_CHECK(st == SAMC_OK, st, "average sharpness: the loss is not finite near w");
    double mean = s / draws, var = (s2 - draws * mean * mean) / (draws - 1);
    *value = mean;
    if (stderr_out) *stderr_out = sqrt(var > 0 ? var / draws : 0.0);
    return SAMC_OK;
}
