/*
 * sgemm_peak.c -- the machine's measured single-precision GEMM rate with the
 * BLAS samc links (OpenBLAS), at the current thread count: C = A B for
 * square matrices of size 512, 1024 and 2048, best of a few runs.
 * Prints "sgemm peak X GFLOP/s".
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    double best = 0.0;
    for (int n = 512; n <= 2048; n *= 2) {
        float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
        float *c = malloc((size_t)n * n * sizeof *c);
        if (!a || !b || !c) return 1;
        for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = 1.0f / (float)(1 + i % 7);
        for (int rep = 0; rep < 4; rep++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            double gf = 2.0 * n * n * (double)n / (now() - t0) * 1e-9;
            if (gf > best) best = gf;
        }
        free(a);
        free(b);
        free(c);
    }
    printf("sgemm peak %.1f GFLOP/s\n", best);
    return 0;
}
