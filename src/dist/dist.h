/*
 * dist.h -- the data-parallel layer of the trainer: the few collectives a
 * run over K workers needs (docs/MATH.md section 1, "Data parallel").
 *
 * Two implementations behind one interface: dist_mpi.c (built with
 * `make MPI=1`: mpicc and -DSAMC_MPI; collectives over MPI_COMM_WORLD) and
 * dist_single.c (the default build: one worker, every collective is the
 * identity and nothing is communicated).  Each file compiles to nothing in
 * the other build, so both are always in the source list.
 *
 * Every collective must be called by all ranks in the same order; the
 * trainer (src/train/trainer.c) is written so that every rank takes the same
 * branches around them (decisions come from agreed values only).
 */
#ifndef SAMC_DIST_H
#define SAMC_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "samc.h"

/* 1 in an MPI build (even with one rank), 0 in the default build. */
int samc_dist_enabled(void);
int samc_dist_rank(void);
int samc_dist_size(void);

/* In-place sums over all ranks (MPI_Allreduce, MPI_SUM). */
void samc_dist_sum_f(float *v, size_t n);
void samc_dist_sum_d(double *v, size_t n);
/* 1 on every rank if flag is non-zero on any rank. */
int samc_dist_any(int flag);
/* Minimum and maximum of v over the ranks. */
void samc_dist_minmax_u64(uint64_t v, uint64_t *min, uint64_t *max);
/* Rank root's v[0..n) to every rank. */
void samc_dist_bcast_f(float *v, size_t n, int root);

/* Agree on the outcome of a phase every rank went through: if any rank's
 * st is not SAMC_OK, every rank returns the status of the lowest failing
 * rank and receives its message in err ("rank R: ..." when R > 0). */
samc_status samc_dist_agree(samc_status st, char *err);

/* A failure only this rank saw: print "samc: error: rank R: msg" on
 * stderr and end the whole job (MPI_Abort; exit(1) in the default build). */
void samc_dist_abort(const char *msg);

/* --data-shard (dist_data.c): after every rank read its share of the train
 * rows (labels not yet indexed), agree on the feature count (train and test
 * widened to the largest) and number the labels by the union of the ranks'
 * (or leave regression targets); every rank returns the same status. */
samc_status samc_dist_shard_agree(samc_data *data, char *err);
/* The rows of the whole train set and a checksum of the ranks' checksums
 * (their sum mod 2^32), the same on every rank. */
void samc_dist_shard_identity(size_t n, uint32_t crc, size_t *n_all, uint32_t *crc_all);

/* Seconds spent inside collectives since the last reset, and their count. */
double samc_dist_comm_seconds(void);
long samc_dist_comm_calls(void);
void samc_dist_comm_reset(void);

/*
 * The oracle of one step's batch in a data-parallel run (dist_oracle.c):
 * rank r of K evaluates rows [floor(r b/K), floor((r+1) b/K)) of the global
 * batch; perturb_local = 0: loss and gradient summed over the ranks with
 * weights (rows of the shard) / b, the one-process step; 1: the shard's own,
 * with the optimizer's reduction hook (samc_oracle.reduce).  One process
 * (K = 1, global): the model's oracle on the whole batch.  The oracle keeps
 * the pointer b; samc_dist_set_batch gives it each step's batch (rows idx[0..nb)
 * of ds, idx NULL: rows 0..nb).
 */
typedef struct samc_dist_batch {
    samc_model_batch mb;        /* this rank's rows */
    samc_oracle model_orc;      /* the model's oracle on mb */
    const samc_dataset *ds;     /* the global batch */
    const size_t *idx;
    size_t nb;
    samc_dataset view;          /* rows lo..hi of an augmented batch */
    double share;               /* (rows of this rank) / nb */
    size_t first, rows;         /* this rank's rows of the global batch */
    int rank, size, local;
    int chunks;                 /* m-sharpness: parts of this rank's rows (<= 1: none) */
    int sharded;                /* --data-shard: idx are this rank's own rows (samc_dist_set_shard) */
} samc_dist_batch;

/* chunks > 1: m-sharpness, each of that many parts of this rank's rows
 * perturbed by its own gradient (samc_oracle.chunk; with perturb_local 0
 * only in one process); parts > 1: each evaluation in that many micro-batches
 * (samc_model_batch.parts). */
samc_oracle samc_dist_oracle(samc_dist_batch *b, samc_model *m, int perturb_local, int chunks, int parts);
void samc_dist_set_batch(samc_dist_batch *b, const samc_dataset *ds, const size_t *idx, size_t nb);
/* --data-shard: this rank's rows idx[0..nb) of its own shard ds, its part of
 * a global batch of nb_all rows (the weights as above). */
void samc_dist_set_shard(samc_dist_batch *b, const samc_dataset *ds, const size_t *idx, size_t nb,
                         size_t nb_all);

#endif
