/*
 * stepsize.c -- Polyak-type step sizes for the SAM family (docs/MATH.md section 2).
 *
 *   [PS] Oikonomou & Loizou 2026, the SAM Polyak scheduler:
 *        gamma_t = min( [fp - l* - <gp, d>]_+ / (c ||gp||^2), gamma_b )
 *        (c = 1 in the paper; d = 0 gives SPS_max of Loizou et al. 2021).
 *   DecSPS, Orvieto et al. 2022: c_k = c_0 sqrt(k+1),
 *        gamma_k = min( N_k / ||gp||^2, c_{k-1} gamma_{k-1} ) / c_k  when N_k > 0;
 *        a step whose numerator N_k <= 0 (possible with a SAM-family
 *        numerator, never with the original f - l*) is 0 and leaves the
 *        carried bound c_{k-1} gamma_{k-1} as it was (docs/MATH.md section 2).
 * A (near) zero ||gp|| gives a zero step, never NaN.
 */
#include <math.h>

#include "optim/optim_internal.h"

/* A zero gradient, or one so small that the ratio overflows, means there
 * is nothing to do: the step is 0. */
static int negligible(double numerator, double gp_norm2)
{
    return !(gp_norm2 > 0.0) || !isfinite(numerator / gp_norm2);
}

double samc_polyak_step(const samc_optim_params *p, double numerator, double gp_norm2)
{
    if (!(numerator > 0.0) || negligible(numerator, gp_norm2))
        return 0.0;
    double g = numerator / (p->polyak_c * gp_norm2);
    return g < p->polyak_cap ? g : p->polyak_cap;
}

double samc_decsps_step(const samc_optim_params *p, double numerator, double gp_norm2,
                        int64_t k, double *prev)
{
    if (!(numerator > 0.0) || negligible(numerator, gp_norm2))
        return 0.0;   /* nothing to learn from this step: the bound is kept */
    double sps = numerator / gp_norm2;
    double m = sps < *prev ? sps : *prev;     /* = c_k gamma_k */
    *prev = m;
    return m / (p->polyak_c * sqrt((double)k + 1.0));
}

double samc_decsps_initial(const samc_optim_params *p)
{
    return p->polyak_c * p->polyak_cap;     /* c_{-1} gamma_{-1} := c_0 gamma_b */
}
