/*
 * reflinalg.h -- small dense linear algebra in double, the independent
 * references the tests solve against (normal equations, Newton steps,
 * dense eigenvalues).  Naive and O(n^3): for test sizes only.
 */
#ifndef SAMC_REFLINALG_H
#define SAMC_REFLINALG_H

#include <stddef.h>

/* In-place Cholesky A = L L' of a symmetric n x n matrix (lower triangle
 * overwritten).  Returns 0, or -1 if A is not positive definite. */
int ref_cholesky(double *A, size_t n);
/* Solves L L' z = z in place with the factor of ref_cholesky. */
void ref_chol_solve(const double *L, size_t n, double *z);
/* Eigenvalues of a symmetric n x n matrix (destroyed) by cyclic Jacobi,
 * ascending into ev. */
void ref_eigenvalues(double *A, size_t n, double *ev);

#endif
