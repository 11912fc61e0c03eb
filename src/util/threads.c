/*
 * threads.c -- one place that sets the thread count of both the OpenMP loops
 * and the BLAS (OpenBLAS), so they do not fight over the cores.
 */
#include <cblas.h>
#include <omp.h>

#include "samc.h"

void samc_set_threads(int n)
{
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}
