/*
 * reflinalg.c -- see reflinalg.h.
 */
#include <math.h>

#include "reflinalg.h"

int ref_cholesky(double *A, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (size_t k = 0; k < j; k++) s -= A[j * n + k] * A[j * n + k];
        if (!(s > 0)) return -1;
        A[j * n + j] = sqrt(s);
        for (size_t i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (size_t k = 0; k < j; k++) t -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = t / A[j * n + j];
        }
    }
    return 0;
}

void ref_chol_solve(const double *L, size_t n, double *z)
{
    for (size_t i = 0; i < n; i++) {   /* L y = z */
        for (size_t k = 0; k < i; k++) z[i] -= L[i * n + k] * z[k];
        z[i] /= L[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {     /* L' z = y */
        for (size_t k = i + 1; k < n; k++) z[i] -= L[k * n + i] * z[k];
        z[i] /= L[i * n + i];
    }
}

void ref_eigenvalues(double *A, size_t n, double *ev)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
        if (off < 1e-30) break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (fabs(apq) < 1e-300) continue;
                double th = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) {
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) {
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (size_t i = 0; i < n; i++) ev[i] = A[i * n + i];
    for (size_t i = 1; i < n; i++)    /* insertion sort, ascending */
        for (size_t j = i; j > 0 && ev[j - 1] > ev[j]; j--) {
            double t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
}
