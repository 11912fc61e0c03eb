/*
 * dist_data.c -- the training rows split across the ranks (--data-shard):
 * after each rank has read only its share of the rows (samc_data_options
 * shard / shards), the ranks agree on what the whole set would have given:
 * the feature count (the largest over the ranks) and the numbering of the
 * labels (the sorted union of every rank's labels, as samc_data_index_labels
 * numbers them for one process; regression targets when any label is not an
 * integer or there are more than SAMC_DIST_MAX_CLASSES of them).  Also the
 * identity of the whole set for checkpoints: its rows and a checksum.
 * Collectives: every rank calls them, in the same order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "util/err.h"

#define SAMC_DIST_MAX_CLASSES 1000

/* doubles as unsigned keys in the same order (for the min over the ranks) */
static uint64_t key_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u >> 63 ? ~u : u | (1ULL << 63);
}

static double value_of(uint64_t k)
{
    uint64_t u = k >> 63 ? k & ~(1ULL << 63) : ~k;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of v in t[0..k) (ascending), or -1; with above, the first entry > v (k: none). */
static long find(const double *t, size_t k, double v, int above)
{
    size_t lo = 0, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < v || (above && t[mid] == v)) lo = mid + 1;
        else hi = mid;
    }
    if (above) return (long)lo;
    return lo < k && t[lo] == v ? (long)lo : -1;
}

/* The union of the ranks' sorted labels own[0..k) into table (at most
 * SAMC_DIST_MAX_CLASSES): its size, or 0 when there are more. */
static size_t union_labels(const double *own, size_t k, double *table)
{
    size_t K = 0;
    double cur = -INFINITY;
    for (;;) {
        size_t i = (size_t)find(own, k, cur, 1);
        uint64_t lo, hi;
        samc_dist_minmax_u64(i < k ? key_of(own[i]) : UINT64_MAX, &lo, &hi);
        if (lo == UINT64_MAX) return K;
        if (K == SAMC_DIST_MAX_CLASSES) return 0;
        table[K++] = cur = value_of(lo);
    }
}

/* y of ds through table[0..K) (a copy of it into ds->labels); -1 at an
 * unseen label's row. */
static long apply(samc_dataset *ds, const double *table, size_t K)
{
    for (size_t i = 0; i < ds->n; i++) {
        long c = find(table, K, ds->y[i], 0);
        if (c < 0) return (long)i;
        ds->y[i] = (float)c;
    }
    ds->labels = malloc(K * sizeof *ds->labels);
    if (!ds->labels) return -2;
    memcpy(ds->labels, table, K * sizeof *table);
    ds->n_classes = (int)K;
    return -1;
}

/* This rank's distinct train labels, sorted, into own: their count, or
 * SIZE_MAX when one is not an integer. */
static size_t own_labels(const samc_dataset *tr, double *own)
{
    for (size_t i = 0; i < tr->n; i++) {
        if (!isfinite(tr->y[i]) || floorf(tr->y[i]) != tr->y[i]) return SIZE_MAX;
        own[i] = tr->y[i];
    }
    qsort(own, tr->n, sizeof *own, cmp_double);
    size_t k = 0;
    for (size_t i = 0; i < tr->n; i++)
        if (k == 0 || own[i] != own[k - 1]) own[k++] = own[i];
    return k;
}

samc_status samc_dist_shard_agree(samc_data *data, char *err)
{
    samc_dataset *tr = &data->train, *te = &data->test;
    uint64_t lo, d;
    samc_dist_minmax_u64(tr->d > te->d ? tr->d : te->d, &lo, &d);
    samc_status st = samc_dataset_widen(tr, (size_t)d);
    if (st == SAMC_OK && te->n > 0) st = samc_dataset_widen(te, (size_t)d);
    double *own = malloc((tr->n ? tr->n : 1) * sizeof *own), *table = malloc(SAMC_DIST_MAX_CLASSES * sizeof *table);
    if (st == SAMC_OK && (!own || !table)) st = SAMC_ENOMEM;
    st = samc_dist_agree(st == SAMC_OK ? SAMC_OK : samc_errf(err, st, "out of memory agreeing on the shards"), err);
    size_t k = st == SAMC_OK ? own_labels(tr, own) : 0;
    if (st == SAMC_OK && !samc_dist_any(k == SIZE_MAX)) {
        size_t K = union_labels(own, k, table);
        long bad = K ? apply(tr, table, K) : -1;
        long bad_te = K && bad == -1 && te->n ? apply(te, table, K) : -1;
        if (bad == -2 || bad_te == -2) st = samc_errf(err, SAMC_ENOMEM, "out of memory indexing labels");
        else if (bad_te >= 0)
            st = samc_errf(err, SAMC_EFORMAT, "test row %ld: label %.9g does not occur in the training set (%zu classes)",
                           bad_te + 1, (double)te->y[bad_te], K);
        st = samc_dist_agree(st, err);
    }
    free(own);
    free(table);
    return st;
}

void samc_dist_shard_identity(size_t n, uint32_t crc, size_t *n_all, uint32_t *crc_all)
{
    double v[2] = { (double)n, (double)crc };
    samc_dist_sum_d(v, 2);
    *n_all = (size_t)v[0];
    *crc_all = (uint32_t)fmod(v[1], 4294967296.0);
}
