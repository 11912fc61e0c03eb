/*
 * roles.h -- the role of each parameter of a model (weight, bias, BatchNorm
 * scale or shift), what ASAM's scaling and the weight-decay groups need
 * (docs/MATH.md section 1), from the model's tensor table
 * (samc_model_tensors), one byte per parameter as samc_optim_set_roles takes.
 */
#ifndef SAMC_MODEL_ROLES_H
#define SAMC_MODEL_ROLES_H

#include "samc.h"

/* role[0..n_params): the samc_tensor_role of each parameter (0 weight,
 * 1 bias, 2 BatchNorm scale, 3 BatchNorm shift). */
void samc_model_param_roles(const samc_model *m, unsigned char *role);

#endif
