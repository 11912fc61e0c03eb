/*
 * quad.c -- the closed-form quadratic f(x) = 1/2 x'Hx - b'x + c as an oracle,
 * for tests of the optimizers against exact results.  Computed in double.
 */
#include "samc.h"

static int quad_loss_grad(void *user, const float *x, float *grad, double *loss, int pass)
{
    (void)pass;
    const samc_quad *q = user;
    const size_t n = q->n;
    double f = q->c;
    for (size_t i = 0; i < n; i++) {
        double hx = 0.0;
        for (size_t j = 0; j < n; j++)
            hx += q->H[i * n + j] * (double)x[j];
        f += 0.5 * (double)x[i] * hx - q->b[i] * (double)x[i];
        if (grad) grad[i] = (float)(hx - q->b[i]);
    }
    *loss = f;
    return 0;
}

samc_oracle samc_quad_oracle(samc_quad *q)
{
    samc_oracle o = { .n = q->n, .loss_grad = quad_loss_grad, .user = q };
    return o;
}
