/*
 * libsvm.c -- reader for the LIBSVM / SVMlight text format:
 *     label idx:val idx:val ...   # optional comment
 * with 1-based, strictly ascending feature indices.  Blank lines are skipped,
 * CRLF line ends are accepted, lines may be of any length (getline).  The
 * sparse entries are collected in growable arrays in one pass and then
 * scattered into a dense n x d row-major float matrix, so a malformed file
 * never yields a partial data set.  Also the reader of the spec
 * libsvm:TRAIN[,TEST] (the test file padded to the train file's features).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Next whitespace-separated token of *s, NUL-terminated in place; NULL at end. */
static char *next_token(char **s)
{
    char *p = *s;
    while (*p && is_space(*p)) p++;
    if (!*p) { *s = p; return NULL; }
    char *tok = p;
    while (*p && !is_space(*p)) p++;
    if (*p) *p++ = '\0';
    *s = p;
    return tok;
}

/* A feature index: decimal digits only, no sign.  Returns 0 on success, 1 if
 * not an integer, 2 if too large. */
static int parse_index(const char *s, size_t *out)
{
    if (!*s) return 1;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 1;
        size_t dgt = (size_t)(*p - '0');
        if (v > (SIZE_MAX - dgt) / 10) return 2;
        v = v * 10 + dgt;
    }
    *out = v;
    return 0;
}

/* The sparse entries read so far: row r holds entries starts[r] .. starts[r+1]. */
typedef struct svm_rows {
    float *labels, *vals;
    size_t *starts, *idx;
    size_t labels_cap, vals_cap, starts_cap, idx_cap;
    size_t n, nnz, d;
} svm_rows;

static void svm_rows_free(svm_rows *r)
{
    free(r->labels);
    free(r->starts);
    free(r->idx);
    free(r->vals);
}

/* One "idx:val" token of row r (prev: the index before it, updated). */
static samc_status add_entry(svm_rows *r, char *tok, size_t *prev, const samc_text *t,
                             char *err)
{
    char q[64];
    char *colon = strchr(tok, ':');
    SAMC_CHECK(colon, SAMC_EFORMAT, "%s:%zu: expected index:value, got '%s'", t->path,
               t->lineno, samc_data_quote(tok, q, sizeof q));
    *colon = '\0';
    size_t j;
    int rc = parse_index(tok, &j);
    if (rc || j == 0) {
        *colon = ':';
        return samc_errf(err, SAMC_EFORMAT, "%s:%zu: %s in '%s'", t->path, t->lineno,
                         rc == 2   ? "feature index too large"
                         : rc == 1 ? "feature index is not a positive integer"
                                   : "feature index 0 (indices start at 1)",
                         samc_data_quote(tok, q, sizeof q));
    }
    SAMC_CHECK(j > *prev, SAMC_EFORMAT,
               "%s:%zu: feature index %zu after %zu (indices must be strictly ascending)",
               t->path, t->lineno, j, *prev);
    double v;
    rc = samc_data_parse_num(colon + 1, &v);
    SAMC_CHECK(!rc, SAMC_EFORMAT, "%s:%zu: %s value of feature %zu, got '%s'", t->path,
               t->lineno, rc == 1 ? "expected a numeric" : "non-finite or out-of-range", j,
               samc_data_quote(colon + 1, q, sizeof q));
    SAMC_CHECK(samc_grow((void **)&r->idx, &r->idx_cap, r->nnz + 1, sizeof *r->idx) &&
                   samc_grow((void **)&r->vals, &r->vals_cap, r->nnz + 1, sizeof *r->vals),
               SAMC_ENOMEM, "%s:%zu: out of memory", t->path, t->lineno);
    r->idx[r->nnz] = j - 1;
    r->vals[r->nnz] = (float)v;
    r->nnz++;
    *prev = j;
    if (j > r->d) r->d = j;
    return SAMC_OK;
}

/* The current line of t (comment cut) as a row of r; blank lines add none. */
static samc_status add_line(svm_rows *r, samc_text *t, char *err)
{
    char *hash = strchr(t->line, '#');
    if (hash) *hash = '\0';
    char *cur = t->line;
    char *tok = next_token(&cur);
    if (!tok) return SAMC_OK; /* blank or comment-only line */
    char q[64];
    double v;
    int rc = samc_data_parse_num(tok, &v);
    SAMC_CHECK(!rc, SAMC_EFORMAT, "%s:%zu: %s label, got '%s'", t->path, t->lineno,
               rc == 1 ? "expected a numeric" : "non-finite or out-of-range",
               samc_data_quote(tok, q, sizeof q));
    SAMC_CHECK(samc_grow((void **)&r->labels, &r->labels_cap, r->n + 1, sizeof(float)) &&
                   samc_grow((void **)&r->starts, &r->starts_cap, r->n + 2,
                                  sizeof(size_t)),
               SAMC_ENOMEM, "%s:%zu: out of memory", t->path, t->lineno);
    r->labels[r->n] = (float)v;
    r->starts[r->n] = r->nnz;
    size_t prev = 0;
    while ((tok = next_token(&cur)) != NULL) {
        samc_status st = add_entry(r, tok, &prev, t, err);
        if (st != SAMC_OK) return st;
    }
    r->n++;
    return SAMC_OK;
}

/* Scatter the entries of r into the dense rows of ds. */
static samc_status scatter(samc_dataset *ds, svm_rows *r, const char *path, char *err)
{
    size_t n = r->n, d = r->d, bytes = 0;
    SAMC_CHECK(n > 0, SAMC_EFORMAT, "%s: no data rows (empty file)", path);
    SAMC_CHECK(d > 0, SAMC_EFORMAT, "%s: no features in any row", path);
    SAMC_CHECK(samc_data_size(n, d, sizeof(float), &bytes), SAMC_ENOMEM,
               "%s: %zu rows x %zu features is too large", path, n, d);
    samc_status st = samc_dataset_alloc(ds, n, d, 1, path, err);
    if (st != SAMC_OK) return st;
    r->starts[n] = r->nnz;
    for (size_t i = 0; i < n; i++) {
        ds->y[i] = r->labels[i];
        float *row = ds->x + i * d;
        for (size_t k = r->starts[i]; k < r->starts[i + 1]; k++) row[r->idx[k]] = r->vals[k];
    }
    return SAMC_OK;
}

samc_status samc_read_libsvm(samc_dataset *ds, const char *path, size_t d_min, char *err)
{
    SAMC_CHECK(ds && path, SAMC_EINVAL, "samc_read_libsvm: NULL argument");
    memset(ds, 0, sizeof *ds);
    samc_text t;
    samc_status st = samc_text_open(&t, path, err);
    if (st != SAMC_OK) return st;
    svm_rows r = {.d = d_min};
    while (st == SAMC_OK && samc_text_next(&t, &st, err) > 0) st = add_line(&r, &t, err);
    samc_text_close(&t);
    if (st == SAMC_OK) st = scatter(ds, &r, path, err);
    svm_rows_free(&r);
    return st;
}

/* -------------------------------------------------------- the libsvm: spec */

/* The test file is padded to the train file's feature count. */
static samc_status libsvm_file(samc_dataset *ds, const char *path, const samc_dataset *train,
                               const void *ctx, char *err)
{
    (void)ctx;
    return samc_read_libsvm(ds, path, train ? train->d : 0, err);
}

static samc_status libsvm_load(samc_data_source *src, char *err)
{
    return samc_spec_train_test(src, &samc_reader_libsvm, NULL, libsvm_file, NULL, err);
}

const samc_data_reader samc_reader_libsvm = {"libsvm", 0, "libsvm:TRAIN[,TEST]", libsvm_load};
