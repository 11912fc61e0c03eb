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
 * stationary point the gradient gives no direction); delta = 0 is the
 * starting candidate, so the result is >= 0.
 * Ball coordinates: delta = T u with T = |w| (adaptive) or 1, u in the
 * L-inf or L2 ball of radius rho; the gradient in u is T g.
 * Oracle calls use pass 0 (evaluation mode).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "util/err.h"

samc_sharpness_params samc_sharpness_default_params(void)
{
    samc_sharpness_params p = { SAMC_BALL_LINF, 2e-4, 0, 20, 1, 0 };
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

samc_status samc_sharpness_worst(const samc_oracle *o, const float *w,
                                 const samc_sharpness_params *p, double *value,
                                 float *best, char *err)
{
    SAMC_CHECK(p->rho >= 0.0 && isfinite(p->rho) && p->steps >= 1 && p->restarts >= 1, SAMC_EINVAL,
               "sharpness: need rho >= 0, steps >= 1, restarts >= 1");
    const size_t n = o->n;
    ascent a = { o, w, n, p, NULL, NULL, NULL };
    float *buf = malloc(8 * n * sizeof(float));
    SAMC_CHECK(buf, SAMC_ENOMEM, "sharpness: out of memory (%zu parameters)", n);
    a.xp = buf;
    a.g = buf + n;
    float *u = buf + 2 * n, *up = buf + 3 * n, *z = buf + 4 * n, *gu = buf + 5 * n;
    float *ub = buf + 6 * n, *ubest = buf + 7 * n;
    float *gub = NULL;
    if (p->adaptive) {
        a.T = malloc(n * sizeof(float));
        if (!a.T) { free(buf); return SAMC_ENOMEM; }
        for (size_t i = 0; i < n; i++) a.T[i] = fabsf(w[i]);
    }
    gub = malloc(n * sizeof(float));
    samc_status st = SAMC_OK;
    if (!gub) { st = SAMC_ENOMEM; goto out; }

    double f0;
    memset(u, 0, n * sizeof(float));
    if (eval_at(&a, u, &f0, NULL) != 0) { st = SAMC_ENAN; goto out; }
    double best_all = f0;
    memset(ubest, 0, n * sizeof(float));

    /* checkpoints of Auto-PGD, as step counts */
    int ckpt[64], nck = 0;
    {
        double pm = 0.0, pj = 0.22;
        while (nck < 64) {
            int k = (int)ceil(pj * p->steps);
            if (k >= p->steps) break;
            if (nck == 0 || k > ckpt[nck - 1]) ckpt[nck++] = k;
            double nx = pj + fmax(pj - pm - 0.03, 0.06);
            pm = pj;
            pj = nx;
        }
    }

    samc_rng rng;
    samc_rng_seed(&rng, p->seed);
    for (int r = 0; r < p->restarts; r++) {
        random_point(p, &rng, u, n);
        double f;
        if (eval_at(&a, u, &f, gu) != 0) { st = SAMC_ENAN; goto out; }
        double best = f, best_at_ck = f, eta = 2.0 * p->rho, eta_at_ck = eta;
        memcpy(ub, u, n * sizeof(float));
        memcpy(gub, gu, n * sizeof(float));
        memcpy(up, u, n * sizeof(float));
        int success = 0, last_ck = 0, ci = 0;
        for (int k = 0; k < p->steps; k++) {
            /* z = P(u + eta dir) */
            if (p->ball == SAMC_BALL_LINF) {
                for (size_t i = 0; i < n; i++)
                    z[i] = u[i] + (float)eta * (gu[i] > 0 ? 1.0f : gu[i] < 0 ? -1.0f : 0.0f);
            } else {
                double gn = samc_nrm2(gu, n);
                double s = gn > 0 ? eta / gn : 0.0;
                for (size_t i = 0; i < n; i++) z[i] = (float)(u[i] + s * gu[i]);
            }
            project(p, z, n);
            if (k > 0) {
                for (size_t i = 0; i < n; i++) z[i] = u[i] + 0.75f * (z[i] - u[i]) + 0.25f * (u[i] - up[i]);
                project(p, z, n);
            }
            memcpy(up, u, n * sizeof(float));
            memcpy(u, z, n * sizeof(float));
            double fn;
            if (eval_at(&a, u, &fn, gu) != 0) { st = SAMC_ENAN; goto out; }
            if (fn > f) success++;
            f = fn;
            if (fn > best) {
                best = fn;
                memcpy(ub, u, n * sizeof(float));
                memcpy(gub, gu, n * sizeof(float));
            }
            if (ci < nck && k + 1 == ckpt[ci]) {
                int stalled = success < 0.75 * (k + 1 - last_ck);
                int flat = eta == eta_at_ck && best == best_at_ck;
                if (stalled || flat) {
                    eta *= 0.5;
                    memcpy(u, ub, n * sizeof(float));
                    memcpy(up, ub, n * sizeof(float));
                    memcpy(gu, gub, n * sizeof(float));
                    f = best;
                }
                success = 0;
                last_ck = k + 1;
                eta_at_ck = eta;
                best_at_ck = best;
                ci++;
            }
        }
        if (best > best_all) {
            best_all = best;
            memcpy(ubest, ub, n * sizeof(float));
        }
    }
    *value = best_all - f0;
    if (best)
        for (size_t i = 0; i < n; i++) best[i] = (a.T ? a.T[i] : 1.0f) * ubest[i];
out:
    if (st == SAMC_ENAN) samc_errmsg(err, "sharpness: the loss is not finite near w");
    if (st == SAMC_ENOMEM) samc_errmsg(err, "sharpness: out of memory");
    free(gub);
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
