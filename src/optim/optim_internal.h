/*
 * optim_internal.h -- pieces of the optimizer shared between its files.
 */
#ifndef SAMC_OPTIM_INTERNAL_H
#define SAMC_OPTIM_INTERNAL_H

#include "samc.h"

/* The parameter roles samc_optim_set_roles takes: the values of the model's
 * tensor roles (include/samc.h, section 7). */
enum {
    SAMC_OPT_ROLE_WEIGHT = 0,
    SAMC_OPT_ROLE_BIAS = 1,
    SAMC_OPT_ROLE_BN_SCALE = 2,
    SAMC_OPT_ROLE_BN_SHIFT = 3
};

/* DecSPS step for step index k; *prev holds c_{k-1} gamma_{k-1} and is updated. */
double samc_decsps_step(const samc_optim_params *p, double numerator, double gp_norm2,
                        int64_t k, double *prev);
/* The starting value c_{-1} gamma_{-1} = c_0 gamma_b. */
double samc_decsps_initial(const samc_optim_params *p);

#endif
