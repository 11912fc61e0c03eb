/*
 * sparse.c -- operations on data sets held as sparse rows (CSR, samc.h
 * section 6): views of row ranges, a row as dense floats, densifying, the
 * row cuts of the loader (train rows, validation split) and the checksum a
 * checkpoint records.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/readutil.h"
#include "data/sparse.h"

int samc_dataset_is_sparse(const samc_dataset *ds) { return ds && !ds->x && ds->val; }

size_t samc_dataset_nnz(const samc_dataset *ds)
{
    if (!ds || ds->n == 0) return 0;
    return samc_dataset_is_sparse(ds) ? ds->ptr[ds->n] - ds->ptr[0] : ds->n * ds->d;
}

samc_dataset samc_dataset_rows(const samc_dataset *ds, size_t first, size_t n)
{
    samc_dataset v = *ds;
    if (ds->x) v.x = ds->x + first * ds->d;
    if (ds->ptr) v.ptr = ds->ptr + first;
    v.y = ds->y + first;
    v.n = n;
    return v;
}

void samc_dataset_row_dense(const samc_dataset *ds, size_t r, float *out)
{
    if (!samc_dataset_is_sparse(ds)) {
        memcpy(out, ds->x + r * ds->d, ds->d * sizeof *out);
        return;
    }
    memset(out, 0, ds->d * sizeof *out);
    for (size_t k = ds->ptr[r]; k < ds->ptr[r + 1]; k++) out[samc_csr_col(ds, k)] = ds->val[k];
}

static void free_csr(samc_dataset *ds)
{
    free(ds->ptr);
    free(ds->col32);
    free(ds->col64);
    free(ds->val);
    ds->ptr = NULL;
    ds->col32 = NULL;
    ds->col64 = NULL;
    ds->val = NULL;
}

samc_status samc_dataset_densify(samc_dataset *ds)
{
    if (!samc_dataset_is_sparse(ds)) return SAMC_OK;
    size_t bytes;
    if (!samc_data_size(ds->n, ds->d, sizeof(float), &bytes)) return SAMC_ENOMEM;
    float *x = malloc(bytes ? bytes : 1);
    if (!x) return SAMC_ENOMEM;
    for (size_t r = 0; r < ds->n; r++) samc_dataset_row_dense(ds, r, x + r * ds->d);
    free_csr(ds);
    ds->x = x;
    return SAMC_OK;
}

/* Shrinking reallocs: a failed one keeps the larger block. */
static void shrink(void **p, size_t bytes)
{
    void *q = realloc(*p, bytes ? bytes : 1);
    if (q) *p = q;
}

samc_status samc_csr_keep(samc_dataset *ds, size_t k)
{
    size_t nz = ds->ptr[k];   /* the reader's offsets start at 0 */
    shrink((void **)&ds->ptr, (k + 1) * sizeof *ds->ptr);
    shrink((void **)&ds->val, nz * sizeof *ds->val);
    if (ds->col32) shrink((void **)&ds->col32, nz * sizeof *ds->col32);
    if (ds->col64) shrink((void **)&ds->col64, nz * sizeof *ds->col64);
    shrink((void **)&ds->y, k * sizeof *ds->y);
    ds->n = k;
    return SAMC_OK;
}

samc_status samc_csr_copy_rows(const samc_dataset *ds, size_t first, size_t k, samc_dataset *out)
{
    const size_t a = ds->ptr[first], nz = ds->ptr[first + k] - a;
    out->ptr = malloc((k + 1) * sizeof *out->ptr);
    out->val = malloc(nz ? nz * sizeof *out->val : 1);
    size_t cw = ds->col32 ? sizeof *ds->col32 : sizeof *ds->col64;
    void *col = malloc(nz ? nz * cw : 1);
    if (ds->col32) out->col32 = col;
    else out->col64 = col;
    if (!out->ptr || !out->val || !col) {
        free_csr(out);
        return SAMC_ENOMEM;
    }
    for (size_t i = 0; i <= k; i++) out->ptr[i] = ds->ptr[first + i] - a;
    memcpy(out->val, ds->val + a, nz * sizeof *out->val);
    memcpy(col, ds->col32 ? (const void *)(ds->col32 + a) : (const void *)(ds->col64 + a), nz * cw);
    return SAMC_OK;
}

/* crc of `len` zero bytes appended to c. */
static uLong crc_zeros(uLong c, size_t len)
{
    static const Bytef zeros[4096];
    for (; len > 0; ) {
        size_t m = len < sizeof zeros ? len : sizeof zeros;
        c = crc32_z(c, zeros, m);
        len -= m;
    }
    return c;
}

uint32_t samc_csr_crc(const samc_dataset *ds, size_t max_floats)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const size_t n = ds->n, d = ds->d;
    if (d == 0 || n <= max_floats / d) {      /* the dense bytes, zero runs and all */
        for (size_t r = 0; r < n; r++) {
            size_t j0 = 0;
            for (size_t k = ds->ptr[r]; k < ds->ptr[r + 1]; k++) {
                size_t j = samc_csr_col(ds, k);
                c = crc_zeros(c, (j - j0) * sizeof(float));
                c = crc32_z(c, (const Bytef *)&ds->val[k], sizeof(float));
                j0 = j + 1;
            }
            c = crc_zeros(c, (d - j0) * sizeof(float));
        }
    } else {
        const size_t a = ds->ptr[0], nz = ds->ptr[n] - a;
        for (size_t r = 0; r <= n; r++) {
            uint64_t off = ds->ptr[r] - a;
            c = crc32_z(c, (const Bytef *)&off, sizeof off);
        }
        if (ds->col32) c = crc32_z(c, (const Bytef *)(ds->col32 + a), nz * sizeof *ds->col32);
        else c = crc32_z(c, (const Bytef *)(ds->col64 + a), nz * sizeof *ds->col64);
        c = crc32_z(c, (const Bytef *)(ds->val + a), nz * sizeof *ds->val);
    }
    c = crc32_z(c, (const Bytef *)ds->y, n * sizeof(float));
    return (uint32_t)c;
}
