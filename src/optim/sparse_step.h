/*
 * sparse_step.h -- the SAM-family step of a linear model (linear, logreg,
 * softmax) on sparse rows in O(nonzeros of the batch), beside samc_optim_step
 * (docs/MATH.md section 7).  The trainer uses it in one process when the
 * settings allow and the batch is sparse enough; otherwise (or per batch)
 * it falls back to samc_optim_step.  Not part of the public interface.
 *
 *   samc_sparse_step *s;
 *   if (samc_sparse_step_usable(&p, model, &data->train, &why))
 *       samc_sparse_step_init(&s, &p, model, err);
 *   st = samc_sparse_step_run(s, opt, &orc, &batch, x, eta, rho, &info);
 *   samc_sparse_step_sync(s, x);        before anything reads x
 *
 * Between syncs x holds v with the parameters theta = scale * v: the l2
 * term and weight decay shrink every coordinate each step, which the scale
 * takes in O(1); sync writes theta into x (O(d)) and sets scale = 1.  With
 * l2 = 0 and weight decay 0 the scale stays 1 and sync does nothing.
 */
#ifndef SAMC_OPTIM_SPARSE_STEP_H
#define SAMC_OPTIM_SPARSE_STEP_H

#include "samc.h"

typedef struct samc_sparse_step samc_sparse_step;

/* 1 if the O(nnz) step applies to these settings, model and data: a linear
 * model, sparse rows, no momentum, the SGD base, and for ASAM l2 = 0.
 * Else 0 and *why
 * (may be NULL) says which setting needs the dense step. */
int samc_sparse_step_usable(const samc_optim_params *p, const samc_model *m,
                            const samc_dataset *train, const char **why);

/* mode: 0 auto (a batch whose rows touch fewer than a quarter of the
 * parameters takes the sparse step, any other the dense one), 1 every batch
 * sparse, -1 never (samc_sparse_step_run is samc_optim_step). */
samc_status samc_sparse_step_init(samc_sparse_step **s, const samc_optim_params *p,
                                  samc_model *m, int mode, char *err);
void samc_sparse_step_free(samc_sparse_step *s);

/* One step on the batch b (its model, rows idx[0..nb) of ds): the step of
 * samc_optim_step to rounding, the same statuses, and the optimizer state
 * (step count, DecSPS product) kept in o.  orc is the oracle of b, for the
 * dense fallback.  x is v (see above). */
samc_status samc_sparse_step_run(samc_sparse_step *s, samc_optim *o, const samc_oracle *orc,
                                 const samc_model_batch *b, float *x, double eta, double rho,
                                 samc_step_info *info);

/* The biases have their role (samc_optim_set_roles was given the model's
 * roles): ASAM's T = 1 on them, and weight decay skips them with
 * SAMC_WD_WEIGHTS, as in samc_optim_step. */
void samc_sparse_step_set_bias_role(samc_sparse_step *s, int on);

/* theta into x, scale 1 (s NULL: nothing). */
void samc_sparse_step_sync(samc_sparse_step *s, float *x);

/* Steps taken by the sparse path since init (tests, benchmarks). */
int64_t samc_sparse_step_count(const samc_sparse_step *s);

/* The mode from the environment: SAMC_SPARSE_STEP=auto|on|off (unset:
 * auto); -2 for another value. */
int samc_sparse_step_env_mode(void);

#endif
