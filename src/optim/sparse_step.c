/*
 * sparse_step.c -- the SAM-family step of a linear model on sparse rows in
 * O(nonzeros of the batch) (sparse_step.h; the algebra is docs/MATH.md
 * section 7).
 *
 * The batch's rows touch the columns J; the data term's gradient G lives on
 * the support S (J, for softmax every class's copy of J, and the biases).
 * With the l2 term lambda and theta = s v, every vector of the step is a
 * sparse part on S plus a multiple of theta:
 *   g  = G + lambda theta                          (pass 1 at theta)
 *   d  = P + e theta    (SAM, USAM, unified, GSAM: P = c G, e = c lambda;
 *                        ASAM, lambda = 0 only: P = rho T^2 G / ||T G||, e = 0)
 *   theta + d = (1 + e) theta + P                  (pass 2: G')
 *   gp = H + a theta,   H = G' + lambda P,  a = lambda (1 + e)
 *   u  = U + b theta    (U = H, b = a; GSAM: U = (1 + alpha beta) H - alpha G,
 *                        b = (1 + alpha beta) a - alpha lambda)
 *   theta' = (1 - gamma (b + wd)) theta - gamma U
 * so every norm and inner product is a sum over S plus terms in ||theta||^2
 * = s^2 ||v||^2, which is kept incrementally in double (and recomputed at
 * each sync), and the update is s' = s (1 - gamma (b + wd)) with
 * v_S -= gamma U_S / s'.
 *
 * The batch's rows are copied once per step with their columns renumbered
 * 0..|J|-1 (a local CSR), so both passes run on arrays of |S| entries that
 * stay in cache instead of touching d-long vectors at random: per entry of
 * the batch, one look-up of its column's number, and the gather and the
 * update of v once per column.  The passes compute the outputs z with
 * sequential sums in double and take each row's loss and dloss/dz from the
 * model (samc_linear_row), so the gradient is summed in double (the dense
 * path rounds it to float: the two agree to rounding).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/sparse.h"
#include "model/model_internal.h"
#include "optim/optim_internal.h"
#include "optim/sparse_step.h"
#include "util/err.h"
#include "util/mem.h"

struct samc_sparse_step {
    samc_optim_params p;
    samc_model *m;
    int mode;
    size_t n, d, K;        /* parameters, features, outputs */
    double lam;            /* the model's l2 */
    double scale, nv2;     /* theta = scale v, ||v||^2 */
    int fresh;             /* nv2 still to be computed */
    uint32_t *loc;         /* d: a column's local number in the batch (UINT32_MAX: none) */
    size_t *cols, cols_cap, nj;     /* the batch's columns, by local number */
    size_t *lptr, lptr_cap;         /* the batch's rows: local CSR */
    uint32_t *lcol;
    float *lval;
    size_t lcap;
    double *z;             /* K outputs of a row */
    size_t *S, cap, ns;
    double *th, *g, *h, *pp, *pt;   /* on S: theta, G, G' -> H, P, the point of pass 2 */
    int bias_role;         /* the biases have their role: ASAM's T = 1, no decay with SAMC_WD_WEIGHTS */
    int64_t count;
};

int samc_sparse_step_usable(const samc_optim_params *p, const samc_model *m,
                            const samc_dataset *train, const char **why)
{
    const char *w = NULL;
    if (!m || m->kind == SAMC_MODEL_NET) w = "the model is a network";
    else if (!samc_dataset_is_sparse(train)) w = "the data is dense";
    else if (p->momentum > 0.0) w = "momentum needs its buffer updated in every coordinate";
    else if (p->kind == SAMC_OPT_ASAM && m->l2 > 0.0) w = "ASAM with l2: T^2 theta is not a multiple of theta";
    else if (p->base != SAMC_BASE_SGD) w = "AdamW keeps its moments in every coordinate";
    if (why) *why = w;
    return w == NULL;
}

samc_status samc_sparse_step_init(samc_sparse_step **out, const samc_optim_params *p, samc_model *m,
                                  int mode, char *err)
{
    *out = NULL;
    SAMC_CHECK(m->d <= UINT32_MAX, SAMC_EINVAL, "the sparse step takes at most 2^32 features");
    samc_sparse_step *s = calloc(1, sizeof *s);
    SAMC_CHECK(s, SAMC_ENOMEM, "out of memory for the sparse step");
    s->p = *p;
    s->m = m;
    s->mode = mode;
    s->n = m->n_params;
    s->d = m->d;
    s->K = m->kind == SAMC_MODEL_SOFTMAX ? (size_t)m->n_classes : 1;
    s->lam = m->l2;
    s->scale = 1.0;
    s->fresh = 1;
    s->loc = malloc((s->d ? s->d : 1) * sizeof *s->loc);
    s->z = malloc(s->K * sizeof *s->z);
    if (s->loc) memset(s->loc, 0xff, s->d * sizeof *s->loc);
    if (!s->loc || !s->z) {
        samc_sparse_step_free(s);
        return samc_errf(err, SAMC_ENOMEM, "out of memory for the sparse step (%zu parameters)", m->n_params);
    }
    *out = s;
    return SAMC_OK;
}

void samc_sparse_step_free(samc_sparse_step *s)
{
    if (!s) return;
    SAMC_FREE_ALL(s->loc, s->z, s->cols, s->lptr, s->lcol, s->lval, s->S, s->th, s->g, s->h, s->pp, s->pt, s);
}

int64_t samc_sparse_step_count(const samc_sparse_step *s) { return s ? s->count : 0; }

void samc_sparse_step_set_bias_role(samc_sparse_step *s, int on) { s->bias_role = on; }

int samc_sparse_step_env_mode(void)
{
    const char *e = getenv("SAMC_SPARSE_STEP");
    if (!e || !*e || !strcmp(e, "auto")) return 0;
    if (!strcmp(e, "on")) return 1;
    if (!strcmp(e, "off")) return -1;
    return -2;
}

static double sumsq(const float *v, size_t n)
{
    double a = 0.0;
    for (size_t i = 0; i < n; i++) a += (double)v[i] * (double)v[i];
    return a;
}

void samc_sparse_step_sync(samc_sparse_step *s, float *x)
{
    if (!s) return;
    if (s->scale != 1.0)
        for (size_t i = 0; i < s->n; i++) x[i] = (float)(s->scale * (double)x[i]);
    s->scale = 1.0;
    s->fresh = 1;
}

/* ------------------------------------------------------------- the support */

/* The batch's rows as a local CSR (columns renumbered in order of first
 * appearance), its columns into cols[0..nj).  0: out of memory. */
static int local_rows(samc_sparse_step *s, const samc_model_batch *b)
{
    const samc_dataset *ds = b->ds;
    size_t e = 0;
    for (size_t t = 0; t < b->nb; t++) e += ds->ptr[(b->idx ? b->idx[t] : t) + 1] - ds->ptr[b->idx ? b->idx[t] : t];
    size_t c1 = s->lcap, c2 = s->lcap;
    if (!samc_grow((void **)&s->lptr, &s->lptr_cap, b->nb + 1, sizeof *s->lptr) ||
        !samc_grow((void **)&s->lcol, &c1, e, sizeof *s->lcol) || !samc_grow((void **)&s->lval, &c2, e, sizeof *s->lval) ||
        !samc_grow((void **)&s->cols, &s->cols_cap, e, sizeof *s->cols))
        return 0;
    s->lcap = c1 < c2 ? c1 : c2;
    s->nj = 0;
    e = 0;
    for (size_t t = 0; t < b->nb; t++) {
        const size_t r = b->idx ? b->idx[t] : t;
        if (t + 2 < b->nb && ds->col32) {   /* the rows are scattered: fetch ahead */
            const size_t r2 = b->idx ? b->idx[t + 2] : t + 2;
            for (size_t k = ds->ptr[r2]; k < ds->ptr[r2 + 1]; k += 16) {
                __builtin_prefetch(ds->col32 + k);
                __builtin_prefetch(ds->val + k);
            }
        }
        s->lptr[t] = e;
        for (size_t k = ds->ptr[r]; k < ds->ptr[r + 1]; k++, e++) {
            const size_t j = samc_csr_col(ds, k);
            if (s->loc[j] == UINT32_MAX) s->loc[j] = (uint32_t)s->nj, s->cols[s->nj++] = j;
            s->lcol[e] = s->loc[j];
            s->lval[e] = ds->val[k];
        }
    }
    s->lptr[b->nb] = e;
    for (size_t i = 0; i < s->nj; i++) s->loc[s->cols[i]] = UINT32_MAX;
    return 1;
}

/* The local rows, then S (every output's copy of the columns, the biases)
 * with room for the per-entry arrays.  0: out of memory. */
static int build_support(samc_sparse_step *s, const samc_model_batch *b)
{
    if (!local_rows(s, b)) return 0;
    const size_t nb_bias = s->n - s->K * s->d, need = s->K * s->nj + nb_bias;
    if (need > s->cap) {
        size_t c = s->cap;
        if (!samc_grow((void **)&s->S, &c, need, sizeof *s->S)) return 0;
        double **arr[] = {&s->th, &s->g, &s->h, &s->pp, &s->pt};
        for (int q = 0; q < 5; q++) {
            double *a = realloc(*arr[q], c * sizeof **arr[q]);
            if (!a) return 0;
            *arr[q] = a;
        }
        s->cap = c;
    }
    s->ns = 0;
    for (size_t k = 0; k < s->K; k++)
        for (size_t i = 0; i < s->nj; i++) s->S[s->ns++] = k * s->d + s->cols[i];
    for (size_t i = s->K * s->d; i < s->n; i++) s->S[s->ns++] = i;
    return 1;
}

/* One pass at the point pt (on S): the data term's mean loss, and its
 * gradient on S into out (pt and out may not be the same array). */
static void model_pass(samc_sparse_step *s, const samc_model_batch *b, const double *pt, double *out,
                       double *loss)
{
    const size_t K = s->K, nj = s->nj, nb = b->nb;
    const int bias = s->ns > K * nj;
    memset(out, 0, s->ns * sizeof *out);
    double lsum = 0.0;
    for (size_t t = 0; t < nb; t++) {
        const size_t e0 = s->lptr[t], e1 = s->lptr[t + 1];
        for (size_t k = 0; k < K; k++) {
            const double *w = pt + k * nj;
            double z = 0.0;
            for (size_t e = e0; e < e1; e++) z += (double)s->lval[e] * w[s->lcol[e]];
            s->z[k] = z + (bias ? pt[K * nj + k] : 0.0);
        }
        lsum += samc_linear_row(s->m, b->ds, b->idx ? b->idx[t] : t, s->z);
        for (size_t k = 0; k < K; k++) {
            double *g = out + k * nj;
            const double r = s->z[k];
            if (r == 0.0) continue;
            for (size_t e = e0; e < e1; e++) g[s->lcol[e]] += r * (double)s->lval[e];
            if (bias) out[K * nj + k] += r;
        }
    }
    const double inv = 1.0 / (double)nb;
    for (size_t i = 0; i < s->ns; i++) out[i] *= inv;
    *loss = lsum * inv;
}

/* sum over S of a_i b_i */
static double dot_s(const double *a, const double *b, size_t n)
{
    double r = 0.0;
    for (size_t i = 0; i < n; i++) r += a[i] * b[i];
    return r;
}

/* ------------------------------------------------------------------ the step */

/* P of d = P + e theta into pp, given ||g||; returns e. */
static double perturbation(samc_sparse_step *s, double gn, double rho)
{
    const samc_optim_params *p = &s->p;
    if (p->kind == SAMC_OPT_ASAM) {   /* lambda = 0: g = G */
        double tg2 = 0.0;
        const size_t nw = s->bias_role ? s->K * s->nj : s->ns;   /* T = 1 on the biases */
        for (size_t i = 0; i < s->ns; i++) {
            const double t = i < nw ? fabs(s->th[i]) + p->asam_eta : 1.0;
            tg2 += t * t * s->g[i] * s->g[i];
        }
        const double c = rho / (sqrt(tg2) + p->eps);
        for (size_t i = 0; i < s->ns; i++) {
            const double t = i < nw ? fabs(s->th[i]) + p->asam_eta : 1.0;
            s->pp[i] = c * t * t * s->g[i];
        }
        return 0.0;
    }
    double c = rho / (gn + p->eps);
    if (p->kind == SAMC_OPT_USAM) c = rho;
    else if (p->kind == SAMC_OPT_UNIFIED) c = rho * ((1.0 - p->lambda) + p->lambda / (gn + p->eps));
    for (size_t i = 0; i < s->ns; i++) s->pp[i] = c * s->g[i];
    return c * s->lam;
}

/* What a step measured (the fields of samc_step_info) and the coefficient
 * of theta in the direction. */
typedef struct sp_vals {
    double f, fp, gn, D, gpd, X2, Gx, a;
} sp_vals;

/* Pass 2 at theta + d: H on S (in h), fp, ||gp||^2, <gp, d>. */
static void second_pass(samc_sparse_step *s, const samc_model_batch *b, double rho, sp_vals *q)
{
    const double lam = s->lam, e = perturbation(s, q->gn, rho);
    double F2;
    for (size_t i = 0; i < s->ns; i++) s->pt[i] = (1.0 + e) * s->th[i] + s->pp[i];
    model_pass(s, b, s->pt, s->h, &F2);
    const double xP = dot_s(s->th, s->pp, s->ns), PP = dot_s(s->pp, s->pp, s->ns);
    q->fp = F2 + 0.5 * lam * ((1.0 + e) * (1.0 + e) * q->X2 + 2.0 * (1.0 + e) * xP + PP);
    for (size_t i = 0; i < s->ns; i++) s->h[i] += lam * s->pp[i];
    const double a = lam * (1.0 + e);
    const double HH = dot_s(s->h, s->h, s->ns), Hx = dot_s(s->h, s->th, s->ns);
    q->D = HH + 2.0 * a * Hx + a * a * q->X2;
    q->gpd = dot_s(s->h, s->pp, s->ns) + e * Hx + a * xP + a * e * q->X2;
    q->a = a;
}

/* GSAM: U = (1 + alpha beta) H - alpha G in h, beta = <g, gp> / ||gp||^2;
 * returns the coefficient b of theta in u. */
static double gsam_direction(samc_sparse_step *s, const sp_vals *q)
{
    const double al = s->p.alpha, lam = s->lam;
    const double ggp = dot_s(s->g, s->h, s->ns) + q->a * q->Gx + lam * dot_s(s->th, s->h, s->ns) + lam * q->a * q->X2;
    const double beta = q->D > 0.0 ? ggp / q->D : 0.0;
    for (size_t i = 0; i < s->ns; i++) s->h[i] = (1.0 + al * beta) * s->h[i] - al * s->g[i];
    return (1.0 + al * beta) * q->a - al * lam;
}

/* u clipped to norm clip (factor min(1, clip / (||u|| + 1e-6)), as the
 * dense step), u = U + bc theta with U in h; returns the new bc. */
static double clip_direction(samc_sparse_step *s, double bc, double X2)
{
    if (!(s->p.clip > 0.0)) return bc;
    const double U2 = dot_s(s->h, s->h, s->ns), Ux = dot_s(s->h, s->th, s->ns);
    const double f = s->p.clip / (sqrt(U2 + 2.0 * bc * Ux + bc * bc * X2) + 1e-6);
    if (!(f < 1.0)) return bc;
    for (size_t i = 0; i < s->ns; i++) s->h[i] *= f;
    return bc * f;
}

/* theta' = (1 - gamma (bc + wd)) theta - gamma U (U in h; the biases without
 * wd when the decay groups exempt them), as scale and v. */
static void update(samc_sparse_step *s, float *v, double gamma, double bc)
{
    const double rf = 1.0 - gamma * (bc + s->p.weight_decay), s2 = s->scale * rf;
    const double rf_bias = s->bias_role && s->p.wd_groups == SAMC_WD_WEIGHTS ? 1.0 - gamma * bc : rf;
    const size_t nw = s->K * s->nj;
    const int rescale = !(fabs(s2) >= 1e-10 && fabs(s2) <= 1e10);
    if (rescale) {   /* fold the scale into v first: O(d), rare */
        for (size_t i = 0; i < s->n; i++) v[i] = (float)(s2 * (double)v[i]);
        s->scale = 1.0;
        s->fresh = 1;
    }
    for (size_t i = 0; i < s->ns; i++) {
        const size_t j = s->S[i];
        const double old = v[j], th = (i < nw ? rf : rf_bias) * s->th[i] - gamma * s->h[i];
        v[j] = (float)(rescale ? th : i < nw || rf_bias == rf ? old - gamma * s->h[i] / s2 : th / s2);
        s->nv2 += (double)v[j] * (double)v[j] - old * old;
    }
    if (!rescale) s->scale = s2;
}

static double step_size(const samc_optim_params *p, double numer, double D, double eta,
                        int64_t k, double *prev)
{
    switch (p->rule) {
    case SAMC_STEP_POLYAK: return samc_polyak_step(p, numer, D);
    case SAMC_STEP_DECSPS: return samc_decsps_step(p, numer, D, k, prev);
    case SAMC_STEP_SCHEDULED:
    default: return eta;
    }
}

/* The step on S (build_support done). */
static samc_status sparse_step(samc_sparse_step *s, samc_optim *o, const samc_model_batch *b, float *v,
                               double eta, double rho, samc_step_info *info)
{
    if (s->fresh) s->nv2 = sumsq(v, s->n), s->fresh = 0;   /* O(d) once after a sync */
    const double lam = s->lam;
    sp_vals q = { .X2 = s->scale * s->scale * s->nv2 };
    for (size_t i = 0; i < s->ns; i++) s->th[i] = s->scale * (double)v[s->S[i]];
    double F;
    model_pass(s, b, s->th, s->g, &F);
    q.Gx = dot_s(s->g, s->th, s->ns);
    q.f = F + 0.5 * lam * q.X2;
    const double g2 = dot_s(s->g, s->g, s->ns) + 2.0 * lam * q.Gx + lam * lam * q.X2;
    if (!isfinite(q.f) || !isfinite(g2)) return SAMC_ENAN;
    q.gn = sqrt(g2);
    if (s->p.kind == SAMC_OPT_SGD) {   /* d = 0: gp = g */
        memcpy(s->h, s->g, s->ns * sizeof *s->h);
        q.fp = q.f, q.D = g2, q.gpd = 0.0, q.a = lam;
    } else {
        second_pass(s, b, rho, &q);
    }
    if (!isfinite(q.fp) || !isfinite(q.D)) return SAMC_ENAN;
    samc_optim_state os = samc_optim_get_state(o);
    const double numer = q.fp - s->p.polyak_lb - q.gpd;
    const double gamma = step_size(&s->p, numer, q.D, eta, os.steps, &os.decsps_prev);
    double bc = s->p.kind == SAMC_OPT_GSAM && s->p.alpha != 0.0 ? gsam_direction(s, &q) : q.a;
    bc = clip_direction(s, bc, q.X2);
    update(s, v, gamma, bc);
    samc_optim_set_state(o, os.decsps_prev, os.steps + 1);
    s->count++;
    if (info)
        *info = (samc_step_info){ .loss = q.f, .loss_perturbed = q.fp, .grad_norm = q.gn,
                                  .grad_norm_perturbed = sqrt(q.D), .numerator = numer, .step = gamma };
    return SAMC_OK;
}

samc_status samc_sparse_step_run(samc_sparse_step *s, samc_optim *o, const samc_oracle *orc,
                                 const samc_model_batch *b, float *x, double eta, double rho,
                                 samc_step_info *info)
{
    int sparse = s->mode >= 0 && b->nb > 0 && b->scale == 1.0 && samc_dataset_is_sparse(b->ds) &&
                 build_support(s, b);
    if (sparse && s->mode == 0) sparse = s->ns * 4 < s->n;
    if (!sparse) {
        samc_sparse_step_sync(s, x);
        return samc_optim_step(o, orc, x, eta, rho, info);
    }
    return sparse_step(s, o, b, x, eta, rho, info);
}
