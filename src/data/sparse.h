/*
 * sparse.h -- reading the sparse rows (CSR) of a samc_dataset, for the
 * library's kernels (the linear models, the sparse SAM step): a row as its
 * entry range, and the column of an entry.  The public side is in samc.h
 * (section 6).  Not part of the public interface.
 */
#ifndef SAMC_DATA_SPARSE_H
#define SAMC_DATA_SPARSE_H

#include "samc.h"

/* Column of entry k of a sparse data set. */
static inline size_t samc_csr_col(const samc_dataset *ds, size_t k)
{
    return ds->col32 ? (size_t)ds->col32[k] : (size_t)ds->col64[k];
}

/* Sparse rows of a view cut or split (load.c): keep rows [0, k) of ds, or
 * copy rows [first, first + k) into out (a data set of its own). */
samc_status samc_csr_keep(samc_dataset *ds, size_t k);
samc_status samc_csr_copy_rows(const samc_dataset *ds, size_t first, size_t k,
                               samc_dataset *out);

/* crc32 of the rows of ds as the dense bytes they stand for (a sparse set
 * with at most max_floats n x d values), else of ptr, columns and values
 * (offsets rebased to 0); then y.  The identity a checkpoint records. */
uint32_t samc_csr_crc(const samc_dataset *ds, size_t max_floats);

#endif
