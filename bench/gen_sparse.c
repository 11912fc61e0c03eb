/*
 * gen_sparse.c -- seeded LIBSVM sets shaped like the text-classification
 * benchmarks, for `make bench` (bench/sparse.sh):
 *
 *   gen_sparse SHAPE SEED OUT        SHAPE: rcv1 | news20 | url | N,D,NNZ
 *
 *   rcv1     20242 rows x 47236 features, ~1.35M nonzeros (~67 a row)
 *   news20   19996 rows x 1355191 features, ~8.0M nonzeros (~400 a row)
 *   url      2396130 rows x 3231961 features, ~277M nonzeros (~116 a row;
 *            optional, ~3.5 GB of text)
 *
 * Rows: a count of entries around the mean (uniform on [m/2, 3m/2]), their
 * features drawn without repeats from a Zipf-like popularity p_j ~ 1/(j+10)
 * over a seeded permutation of the columns, positive tf-idf-like values
 * log(1 + 9u) scaled to unit norm; labels sign(w'x + noise) (+1 / -1) with a
 * planted w ~ N(0, 1), so the sets are learnable but not separable.  Written
 * with "%.6g".  The same SHAPE and SEED give the same file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"

static int cmp_sz(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The index of u in the ascending cumulative table c[0..d). */
static size_t draw(const double *c, size_t d, double u)
{
    size_t lo = 0, hi = d - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int shape_of(const char *s, size_t *n, size_t *d, double *nnz)
{
    if (!strcmp(s, "rcv1")) *n = 20242, *d = 47236, *nnz = 1.35e6;
    else if (!strcmp(s, "news20")) *n = 19996, *d = 1355191, *nnz = 8.0e6;
    else if (!strcmp(s, "url")) *n = 2396130, *d = 3231961, *nnz = 277e6;
    else if (sscanf(s, "%zu,%zu,%lf", n, d, nnz) != 3 || *n == 0 || *d == 0) return 0;
    return 1;
}

/* One row: k distinct columns (sorted) and unit-norm values; its label. */
static void write_row(FILE *f, samc_rng *r, const double *cdf, const size_t *perm, const float *w,
                      size_t d, size_t k, size_t *cols, double *vals, unsigned char *seen)
{
    size_t m = 0;
    for (size_t tries = 0; m < k && tries < 50 * k; tries++) {
        size_t j = perm[draw(cdf, d, samc_rng_uniform(r))];
        if (seen[j]) continue;
        seen[j] = 1;
        cols[m++] = j;
    }
    qsort(cols, m, sizeof *cols, cmp_sz);
    double nn = 0.0, z = 0.0;
    for (size_t i = 0; i < m; i++) {
        vals[i] = log1p(9.0 * samc_rng_uniform(r)) + 1e-3;
        nn += vals[i] * vals[i];
    }
    nn = nn > 0 ? 1.0 / sqrt(nn) : 0.0;
    for (size_t i = 0; i < m; i++) z += w[cols[i]] * vals[i] * nn;
    fprintf(f, "%s", z + 0.3 * samc_rng_normal(r) >= 0.0 ? "+1" : "-1");
    for (size_t i = 0; i < m; i++) {
        fprintf(f, " %zu:%.6g", cols[i] + 1, vals[i] * nn);
        seen[cols[i]] = 0;
    }
    fputc('\n', f);
}

int main(int argc, char **argv)
{
    size_t n, d;
    double nnz;
    if (argc != 4 || !shape_of(argv[1], &n, &d, &nnz)) {
        fprintf(stderr, "usage: gen_sparse rcv1|news20|url|N,D,NNZ SEED OUT\n");
        return 2;
    }
    samc_rng r;
    samc_rng_seed(&r, strtoull(argv[2], NULL, 10));
    double *cdf = malloc(d * sizeof *cdf);
    size_t *perm = malloc(d * sizeof *perm), *cols = malloc(d * sizeof *cols);
    float *w = malloc(d * sizeof *w);
    double *vals = malloc(d * sizeof *vals);
    unsigned char *seen = calloc(d, 1);
    FILE *f = fopen(argv[3], "w");
    if (!cdf || !perm || !cols || !w || !vals || !seen || !f) {
        fprintf(stderr, "gen_sparse: out of memory or cannot write %s\n", argv[3]);
        return 1;
    }
    double acc = 0.0;
    for (size_t j = 0; j < d; j++) acc += 1.0 / ((double)j + 10.0), cdf[j] = acc;
    for (size_t j = 0; j < d; j++) cdf[j] /= acc, perm[j] = j, w[j] = (float)samc_rng_normal(&r);
    samc_rng_shuffle(&r, perm, d);
    const double mean = nnz / (double)n;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(mean * (0.5 + samc_rng_uniform(&r)) + 0.5);
        if (k < 1) k = 1;
        if (k > d / 2) k = d / 2 ? d / 2 : 1;
        write_row(f, &r, cdf, perm, w, d, k, cols, vals, seen);
    }
    int bad = fclose(f) != 0;
    free(cdf), free(perm), free(cols), free(w), free(vals), free(seen);
    return bad;
}
