/*
 * vec.c -- reductions over flat float vectors, accumulated in double.  The
 * sums are vectorized (omp simd: partial sums per lane, added at the end), so
 * their order is fixed by the build, not by the thread count; a strictly
 * sequential double sum costs one add latency per element and was most of
 * an optimizer step's own time.
 */
#include <math.h>

#include "samc.h"

double samc_dot(const float *restrict a, const float *restrict b, size_t n)
{
    double s = 0.0;
    #pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

double samc_nrm2(const float *a, size_t n)
{
    return sqrt(samc_dot(a, a, n));
}
