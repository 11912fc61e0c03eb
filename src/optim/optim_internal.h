/*
 * optim_internal.h -- pieces of the optimizer shared between its files.
 */
#ifndef SAMC_OPTIM_INTERNAL_H
#define SAMC_OPTIM_INTERNAL_H

#include "samc.h"


/* DecSPS step for step index k; *prev holds c_{k-1} gamma_{k-1} and is updated. */
double samc_decsps_step(const samc_optim_params *p, double numerator, double gp_norm2,
                        int64_t k, double *prev);
/* The starting value c_{-1} gamma_{-1} = c_0 gamma_b. */
double samc_decsps_initial(const samc_optim_params *p);

#endif
