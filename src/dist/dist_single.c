/*
 * dist_single.c -- the data-parallel layer for the default (MPI-free)
 * build: one worker; every collective is the identity.
 */
#ifndef SAMC_MPI
#include <stdio.h>
#include <stdlib.h>

#include "dist/dist.h"

int samc_dist_enabled(void) { return 0; }
int samc_dist_rank(void) { return 0; }
int samc_dist_size(void) { return 1; }
void samc_dist_sum_f(float *v, size_t n) { (void)v; (void)n; }
void samc_dist_sum_d(double *v, size_t n) { (void)v; (void)n; }
int samc_dist_any(int flag) { return flag != 0; }
void samc_dist_minmax_u64(uint64_t v, uint64_t *min, uint64_t *max) { *min = v; *max = v; }
void samc_dist_bcast_f(float *v, size_t n, int root) { (void)v; (void)n; (void)root; }
samc_status samc_dist_agree(samc_status st, char *err) { (void)err; return st; }
void samc_dist_abort(const char *msg)
{
    fprintf(stderr, "samc: error: %s\n", msg);
    exit(1);
}
double samc_dist_comm_seconds(void) { return 0.0; }
long samc_dist_comm_calls(void) { return 0; }
void samc_dist_comm_reset(void) {}
#else
typedef int samc_dist_single_unused;   /* ISO C: no empty translation unit */
#endif
