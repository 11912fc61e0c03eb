/*
 * dist_mpi.c -- the data-parallel layer over MPI (make MPI=1): collectives
 * on MPI_COMM_WORLD, timed so that the trainer can report the share of a
 * step spent communicating.  MPI_Init / MPI_Finalize belong to the program
 * (cli/samc.c); before MPI_Init (or after MPI_Finalize) this layer behaves
 * like the single-process one.
 */
#ifdef SAMC_MPI
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "dist/dist.h"
#include "util/err.h"

static double comm_s;
static long comm_n;

static int live(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

int samc_dist_enabled(void) { return 1; }

int samc_dist_rank(void)
{
    int r = 0;
    if (live()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int samc_dist_size(void)
{
    int k = 1;
    if (live()) MPI_Comm_size(MPI_COMM_WORLD, &k);
    return k;
}

/* MPI counts are int: large vectors go in chunks. */
#define CHUNK ((size_t)INT_MAX / 2)

static void sum(void *v, size_t n, MPI_Datatype t, size_t elem)
{
    if (!live() || n == 0) return;
    double t0 = MPI_Wtime();
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, (char *)v + at * elem, (int)m, t, MPI_SUM, MPI_COMM_WORLD);
    }
    comm_s += MPI_Wtime() - t0;
    comm_n++;
}

void samc_dist_sum_f(float *v, size_t n) { sum(v, n, MPI_FLOAT, sizeof *v); }
void samc_dist_sum_d(double *v, size_t n) { sum(v, n, MPI_DOUBLE, sizeof *v); }

int samc_dist_any(int flag)
{
    int in = flag != 0, out = in;
    if (!live()) return in;
    double t0 = MPI_Wtime();
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    comm_s += MPI_Wtime() - t0;
    comm_n++;
    return out;
}

void samc_dist_minmax_u64(uint64_t v, uint64_t *min, uint64_t *max)
{
    *min = *max = v;
    if (!live()) return;
    MPI_Allreduce(&v, min, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&v, max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
}

void samc_dist_bcast_f(float *v, size_t n, int root)
{
    if (!live() || n == 0) return;
    double t0 = MPI_Wtime();
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        MPI_Bcast(v + at, (int)m, MPI_FLOAT, root, MPI_COMM_WORLD);
    }
    comm_s += MPI_Wtime() - t0;
    comm_n++;
}

samc_status samc_dist_agree(samc_status st, char *err)
{
    if (!live() || samc_dist_size() == 1) return st;
    int me = samc_dist_rank(), k = samc_dist_size();
    int mine = st != SAMC_OK ? me : k, first = k;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == k) return SAMC_OK;
    int code = (int)st;
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    char msg[SAMC_ERRLEN];
    memset(msg, 0, sizeof msg);
    if (me == first) {
        if (first > 0) snprintf(msg, sizeof msg, "rank %d: %s", first, err ? err : "failed");
        else snprintf(msg, sizeof msg, "%s", err ? err : "failed");
    }
    MPI_Bcast(msg, SAMC_ERRLEN, MPI_CHAR, first, MPI_COMM_WORLD);
    return samc_errf(err, (samc_status)code, "%s", msg);
}

void samc_dist_abort(const char *msg)
{
    if (!live()) {
        fprintf(stderr, "samc: error: %s\n", msg);
        exit(1);
    }
    fprintf(stderr, "samc: error: rank %d: %s\n", samc_dist_rank(), msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

double samc_dist_comm_seconds(void) { return comm_s; }
long samc_dist_comm_calls(void) { return comm_n; }
void samc_dist_comm_reset(void) { comm_s = 0.0; comm_n = 0; }
#else
typedef int samc_dist_mpi_unused;   /* ISO C: no empty translation unit */
#endif
