/*
 * vec.c -- reductions over flat float vectors, accumulated in double.
 */
#include <math.h>

#include "samc.h"

double samc_dot(const float *restrict a, const float *restrict b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

double samc_nrm2(const float *a, size_t n)
{
    return sqrt(samc_dot(a, a, n));
}
