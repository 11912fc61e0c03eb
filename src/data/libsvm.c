/*
 * libsvm.c -- reader for the LIBSVM / SVMlight text format:
 *     label idx:val idx:val ...   # optional comment
 * with 1-based, strictly ascending feature indices.  Blank lines are skipped,
 * CRLF line ends are accepted, lines may be of any length (getline).  The
 * sparse entries are collected in growable arrays in one pass and then
 * scattered into a dense n x d row-major float matrix, so a malformed file
 * never yields a partial data set.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "samc.h"

/* Grow *p (elements of size elem, capacity *cap) to hold at least need. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    size_t bytes;
    if (!samc_data_size(nc, 1, elem, &bytes)) return 0;
    void *q = realloc(*p, bytes);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

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

samc_status samc_read_libsvm(samc_dataset *ds, const char *path, size_t d_min, char *err)
{
    if (!ds || !path) {
        samc_data_errf(err, "samc_read_libsvm: NULL argument");
        return SAMC_EINVAL;
    }
    memset(ds, 0, sizeof *ds);

    FILE *f = fopen(path, "r");
    if (!f) {
        samc_data_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return SAMC_EIO;
    }

    samc_status st = SAMC_OK;
    char *line = NULL;
    size_t line_cap = 0;
    float *labels = NULL, *vals = NULL;
    size_t *starts = NULL, *idx = NULL; /* starts[r]: first entry of row r */
    size_t labels_cap = 0, vals_cap = 0, starts_cap = 0, idx_cap = 0;
    size_t n = 0, nnz = 0, d = d_min;
    size_t lineno = 0;
    char q[64];

    while (samc_data_next_line(f, &line, &line_cap, path, &lineno, &st, err) > 0) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';

        char *cur = line;
        char *tok = next_token(&cur);
        if (!tok) continue; /* blank or comment-only line */

        double v;
        int rc = samc_data_parse_num(tok, &v);
        if (rc) {
            samc_data_errf(err, "%s:%zu: %s label, got '%s'", path, lineno,
                           rc == 1 ? "expected a numeric" : "non-finite or out-of-range",
                           samc_data_quote(tok, q, sizeof q));
            st = SAMC_EFORMAT;
            break;
        }
        if (!grow((void **)&labels, &labels_cap, n + 1, sizeof *labels) ||
            !grow((void **)&starts, &starts_cap, n + 2, sizeof *starts)) {
            samc_data_errf(err, "%s:%zu: out of memory", path, lineno);
            st = SAMC_ENOMEM;
            break;
        }
        labels[n] = (float)v;
        starts[n] = nnz;

        size_t prev = 0;
        while (st == SAMC_OK && (tok = next_token(&cur)) != NULL) {
            char *colon = strchr(tok, ':');
            if (!colon) {
                samc_data_errf(err, "%s:%zu: expected index:value, got '%s'", path,
                               lineno, samc_data_quote(tok, q, sizeof q));
                st = SAMC_EFORMAT;
                break;
            }
            *colon = '\0';
            size_t j;
            rc = parse_index(tok, &j);
            if (rc || j == 0) {
                *colon = ':';
                samc_data_errf(err, "%s:%zu: %s in '%s'", path, lineno,
                               rc == 2 ? "feature index too large"
                               : rc == 1 ? "feature index is not a positive integer"
                                         : "feature index 0 (indices start at 1)",
                               samc_data_quote(tok, q, sizeof q));
                st = SAMC_EFORMAT;
                break;
            }
            if (j <= prev) {
                samc_data_errf(err,
                               "%s:%zu: feature index %zu after %zu (indices must be "
                               "strictly ascending)",
                               path, lineno, j, prev);
                st = SAMC_EFORMAT;
                break;
            }
            rc = samc_data_parse_num(colon + 1, &v);
            if (rc) {
                samc_data_errf(err, "%s:%zu: %s value of feature %zu, got '%s'", path,
                               lineno, rc == 1 ? "expected a numeric" : "non-finite or out-of-range",
                               j, samc_data_quote(colon + 1, q, sizeof q));
                st = SAMC_EFORMAT;
                break;
            }
            if (!grow((void **)&idx, &idx_cap, nnz + 1, sizeof *idx) ||
                !grow((void **)&vals, &vals_cap, nnz + 1, sizeof *vals)) {
                samc_data_errf(err, "%s:%zu: out of memory", path, lineno);
                st = SAMC_ENOMEM;
                break;
            }
            idx[nnz] = j - 1;
            vals[nnz] = (float)v;
            nnz++;
            prev = j;
            if (j > d) d = j;
        }
        if (st != SAMC_OK) break;
        n++;
    }
    free(line);
    fclose(f);

    if (st == SAMC_OK && n == 0) {
        samc_data_errf(err, "%s: no data rows (empty file)", path);
        st = SAMC_EFORMAT;
    }
    size_t bytes = 0;
    if (st == SAMC_OK && (d == 0 || !samc_data_size(n, d, sizeof(float), &bytes))) {
        if (d == 0)
            samc_data_errf(err, "%s: no features in any row", path);
        else
            samc_data_errf(err, "%s: %zu rows x %zu features is too large", path, n, d);
        st = d == 0 ? SAMC_EFORMAT : SAMC_ENOMEM;
    }
    if (st == SAMC_OK) {
        starts[n] = nnz;
        ds->x = calloc(n * d, sizeof(float));
        ds->y = malloc(n * sizeof(float));
        if (!ds->x || !ds->y) {
            samc_data_errf(err, "%s: out of memory for %zu x %zu floats", path, n, d);
            st = SAMC_ENOMEM;
        } else {
            for (size_t r = 0; r < n; r++) {
                ds->y[r] = labels[r];
                float *row = ds->x + r * d;
                for (size_t k = starts[r]; k < starts[r + 1]; k++)
                    row[idx[k]] = vals[k];
            }
            ds->n = n;
            ds->d = d;
        }
    }
    free(labels);
    free(starts);
    free(idx);
    free(vals);
    if (st != SAMC_OK) samc_dataset_free(ds);
    return st;
}
