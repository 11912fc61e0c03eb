/*
 * hessian.c -- the Hessian of the oracle's loss at w, seen through
 * Hessian-vector products (docs/MATH.md section 4):
 *   samc_hvp            central differences of gradients
 *   samc_hessian_top    top eigenvalues by Lanczos (full reorthogonalization),
 *                       Ritz values from LAPACK's tridiagonal dsterf
 *   samc_hessian_trace  Hutchinson with Rademacher probes (Hutchinson 1990)
 * Oracle calls use pass 0 (evaluation mode).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "util/err.h"

samc_hessian_params samc_hessian_default_params(void)
{
    samc_hessian_params p = { 1, 30, 100, 1e-3, 0 };
    return p;
}

/* Work space for HVPs: two points and two gradients. */
typedef struct hvp_ws {
    float *xp, *xm, *gp, *gm;
} hvp_ws;

static samc_status hvp_ws_init(hvp_ws *w, size_t n)
{
    float *b = malloc(4 * n * sizeof(float));
    if (!b) return SAMC_ENOMEM;
    w->xp = b;
    w->xm = b + n;
    w->gp = b + 2 * n;
    w->gm = b + 3 * n;
    return SAMC_OK;
}

static samc_status hvp_with(const samc_oracle *o, const float *w, const float *v, double eps,
                            float *hv, hvp_ws *ws)
{
    const size_t n = o->n;
    double vn = samc_nrm2(v, n);
    if (vn == 0.0) {
        memset(hv, 0, n * sizeof(float));
        return SAMC_OK;
    }
    double h = eps / vn, fp, fm;
    for (size_t i = 0; i < n; i++) {
        ws->xp[i] = (float)(w[i] + h * v[i]);
        ws->xm[i] = (float)(w[i] - h * v[i]);
    }
    if (o->loss_grad(o->user, ws->xp, ws->gp, &fp, 0) != 0 ||
        o->loss_grad(o->user, ws->xm, ws->gm, &fm, 0) != 0)
        return SAMC_ECALLBACK;
    if (!isfinite(fp) || !isfinite(fm)) return SAMC_ENAN;
    for (size_t i = 0; i < n; i++)
        hv[i] = (float)(((double)ws->gp[i] - (double)ws->gm[i]) / (2.0 * h));
    return SAMC_OK;
}

samc_status samc_hvp(const samc_oracle *o, const float *w, const float *v, double eps,
                     float *hv, char *err)
{
    SAMC_CHECK(eps > 0.0, SAMC_EINVAL, "hvp: eps must be > 0");
    hvp_ws ws;
    SAMC_CHECK(hvp_ws_init(&ws, o->n) == SAMC_OK, SAMC_ENOMEM, "hvp: out of memory (%zu parameters)", o->n);
    samc_status st = hvp_with(o, w, v, eps, hv, &ws);
    free(ws.xp);
    SAMC_CHECK(st == SAMC_OK, st, "hvp: %s", st == SAMC_ENAN ? "the loss is not finite" : "the oracle failed");
    return SAMC_OK;
}

/* LAPACK (exported by OpenBLAS): every eigenvalue of the symmetric
 * tridiagonal matrix with diagonal d[0..n) and off-diagonal e[0..n-1),
 * ascending, into d (e is destroyed); info > 0 when it did not converge. */
extern void dsterf_(const int *n, double *d, double *e, int *info);

samc_status samc_tridiag_eigenvalues(double *d, double *b, int n)
{
    if (n <= 0) return SAMC_OK;
    int info = 0;
    dsterf_(&n, d, b, &info);
    return info == 0 ? SAMC_OK : SAMC_EINVAL;
}

samc_status samc_hessian_top(const samc_oracle *o, const float *w,
                             const samc_hessian_params *p, double *eig, char *err)
{
    const size_t n = o->n;
    int m = p->lanczos_steps;
    if ((size_t)m > n) m = (int)n;
    SAMC_CHECK(p->top_k >= 1 && p->top_k <= m && p->eps > 0, SAMC_EINVAL,
               "hessian: need 1 <= top_k <= lanczos steps (and <= n), eps > 0");
    float *V = malloc((size_t)(m + 1) * n * sizeof(float));
    float *z = malloc(n * sizeof(float));
    double *alpha = calloc((size_t)m, sizeof(double)), *beta = calloc((size_t)m, sizeof(double));
    hvp_ws ws = { 0 };
    samc_status st = SAMC_OK;
    int k = 0;
    if (!V || !z || !alpha || !beta || hvp_ws_init(&ws, n) != SAMC_OK) {
        st = SAMC_ENOMEM;
        goto out;
    }
    samc_rng rng;
    samc_rng_seed(&rng, p->seed);
    for (size_t i = 0; i < n; i++) V[i] = (samc_rng_next(&rng) >> 63) ? 1.0f : -1.0f;
    {
        double s = 1.0 / sqrt((double)n);
        for (size_t i = 0; i < n; i++) V[i] = (float)(V[i] * s);
    }
    for (; k < m; k++) {
        float *v = V + (size_t)k * n;
        st = hvp_with(o, w, v, p->eps, z, &ws);
        if (st != SAMC_OK) goto out;
        alpha[k] = samc_dot(z, v, n);
        /* full reorthogonalization against every Lanczos vector, twice */
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j <= k; j++) {
                const float *q = V + (size_t)j * n;
                double c = samc_dot(z, q, n);
                for (size_t i = 0; i < n; i++) z[i] = (float)(z[i] - c * q[i]);
            }
        double bn = samc_nrm2(z, n);
        if (k + 1 < m) {
            beta[k] = bn;
            if (bn < 1e-10 * (fabs(alpha[k]) + 1e-30)) { /* invariant subspace: done */
                k++;
                break;
            }
            float *vn = V + (size_t)(k + 1) * n;
            for (size_t i = 0; i < n; i++) vn[i] = (float)(z[i] / bn);
        }
    }
    if (k < p->top_k) {
        st = SAMC_EINVAL;
        goto out;
    }
    st = samc_tridiag_eigenvalues(alpha, beta, k);
    if (st != SAMC_OK) goto out;
    for (int i = 0; i < p->top_k; i++) eig[i] = alpha[k - 1 - i];
out:
    if (st == SAMC_EINVAL)
        samc_errmsg(err, "hessian: Krylov space of dimension %d < top_k %d, or no convergence", k, p->top_k);
    else if (st != SAMC_OK)
        samc_errmsg(err, "hessian: %s", samc_strerror(st));
    free(V);
    free(z);
    free(alpha);
    free(beta);
    free(ws.xp);
    return st;
}

samc_status samc_hessian_trace(const samc_oracle *o, const float *w,
                               const samc_hessian_params *p, double *trace,
                               double *stderr_out, char *err)
{
    const size_t n = o->n;
    SAMC_CHECK(p->probes >= 2 && p->eps > 0, SAMC_EINVAL, "hessian trace: need at least 2 probes and eps > 0");
    float *v = malloc(n * sizeof(float)), *hv = malloc(n * sizeof(float));
    hvp_ws ws = { 0 };
    samc_status st = SAMC_OK;
    if (!v || !hv || hvp_ws_init(&ws, n) != SAMC_OK) {
        st = SAMC_ENOMEM;
        goto out;
    }
    samc_rng rng;
    samc_rng_seed(&rng, p->seed);
    double s = 0.0, s2 = 0.0;
    for (int k = 0; k < p->probes; k++) {
        for (size_t i = 0; i < n; i++) v[i] = (samc_rng_next(&rng) >> 63) ? 1.0f : -1.0f;
        st = hvp_with(o, w, v, p->eps, hv, &ws);
        if (st != SAMC_OK) goto out;
        double q = samc_dot(v, hv, n);
        s += q;
        s2 += q * q;
    }
    double mean = s / p->probes, var = (s2 - p->probes * mean * mean) / (p->probes - 1);
    *trace = mean;
    if (stderr_out) *stderr_out = sqrt(var > 0 ? var / p->probes : 0.0);
out:
    if (st != SAMC_OK) samc_errmsg(err, "hessian trace: %s", samc_strerror(st));
    free(v);
    free(hv);
    free(ws.xp);
    return st;
}
