/*
 * csv.c -- reader for numeric CSV: comma-separated numbers, one row per line,
 * one column holding the label and the others the features.  Fields may be
 * surrounded by blanks or double quotes; blank lines are skipped; CRLF line
 * ends are accepted; lines may be of any length (getline).  Every data row must
 * have the same number of fields.  An optional first line is a header (see
 * samc_read_csv).  Errors name the file and the 1-based line number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "samc.h"

static int grow_floats(float **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    size_t bytes;
    if (!samc_data_size(nc, 1, sizeof(float), &bytes)) return 0;
    float *q = realloc(*p, bytes);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Split line (modified in place) at commas into fields (trimmed, quotes
 * stripped).  *fields is grown as needed.  Returns the field count, 0 for a
 * blank line, (size_t)-1 when out of memory. */
static size_t split_fields(char *line, char ***fields, size_t *cap)
{
    char *p = line;
    while (*p && is_blank(*p)) p++;
    if (!*p) return 0;
    size_t nf = 0;
    for (char *start = line;;) {
        char *comma = strchr(start, ',');
        if (comma) *comma = '\0';
        char *a = start, *b = start + strlen(start);
        while (a < b && is_blank(*a)) a++;
        while (b > a && is_blank(b[-1])) b--;
        if (b - a >= 2 && *a == '"' && b[-1] == '"') { a++; b--; }
        *b = '\0';
        if (nf == *cap) {
            size_t nc = *cap ? 2 * *cap : 16;
            char **q = realloc(*fields, nc * sizeof *q);
            if (!q) return (size_t)-1;
            *fields = q;
            *cap = nc;
        }
        (*fields)[nf++] = a;
        if (!comma) break;
        start = comma + 1;
    }
    return nf;
}

/*
 * header: 1 = the first non-blank line is a header and is skipped;
 *         0 = automatic: skipped only if one of its fields is not a number;
 *        <0 = no header (every line is data).
 */
samc_status samc_read_csv(samc_dataset *ds, const char *path, int label_col,
                          int header, char *err)
{
    if (!ds || !path) {
        samc_data_errf(err, "samc_read_csv: NULL argument");
        return SAMC_EINVAL;
    }
    memset(ds, 0, sizeof *ds);
    if (label_col < -1) {
        samc_data_errf(err, "%s: label column %d out of range (0-based, -1 = last)",
                       path, label_col);
        return SAMC_EINVAL;
    }

    FILE *f = fopen(path, "r");
    if (!f) {
        samc_data_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return SAMC_EIO;
    }

    samc_status st = SAMC_OK;
    char *line = NULL;
    size_t line_cap = 0;
    char **fields = NULL;
    size_t fields_cap = 0;
    float *x = NULL, *y = NULL;
    size_t x_cap = 0, y_cap = 0;
    size_t n = 0, ncols = 0, first_data_line = 0, lineno = 0, lab = 0;
    int seen_first = 0;
    char q[64];

    while (samc_data_next_line(f, &line, &line_cap, path, &lineno, &st, err) > 0) {
        size_t nf = split_fields(line, &fields, &fields_cap);
        if (nf == (size_t)-1) {
            samc_data_errf(err, "%s:%zu: out of memory", path, lineno);
            st = SAMC_ENOMEM;
            break;
        }
        if (nf == 0) continue;

        if (!seen_first) {
            seen_first = 1;
            int skip = header > 0;
            if (header == 0) {
                double v;
                for (size_t k = 0; k < nf && !skip; k++)
                    if (samc_data_parse_num(fields[k], &v) == 1) skip = 1;
            }
            if (skip) continue;
        }

        if (ncols == 0) {
            ncols = nf;
            first_data_line = lineno;
            if (ncols < 2) {
                samc_data_errf(err,
                               "%s:%zu: only one column; need a label and at least one "
                               "feature",
                               path, lineno);
                st = SAMC_EFORMAT;
                break;
            }
            if (label_col >= 0 && (size_t)label_col >= ncols) {
                samc_data_errf(err, "%s:%zu: label column %d (0-based) but the row has "
                                    "%zu fields",
                               path, lineno, label_col, ncols);
                st = SAMC_EINVAL;
                break;
            }
            lab = label_col < 0 ? ncols - 1 : (size_t)label_col;
        } else if (nf != ncols) {
            samc_data_errf(err, "%s:%zu: %zu field%s, expected %zu (as on line %zu)",
                           path, lineno, nf, nf == 1 ? "" : "s", ncols, first_data_line);
            st = SAMC_EFORMAT;
            break;
        }

        size_t d = ncols - 1;
        if (!grow_floats(&y, &y_cap, n + 1) ||
            (n + 1 > SIZE_MAX / d) || !grow_floats(&x, &x_cap, (n + 1) * d)) {
            samc_data_errf(err, "%s:%zu: out of memory", path, lineno);
            st = SAMC_ENOMEM;
            break;
        }
        float *row = x + n * d;
        for (size_t k = 0, j = 0; k < nf; k++) {
            double v;
            int rc = samc_data_parse_num(fields[k], &v);
            if (rc) {
                samc_data_errf(err, "%s:%zu: field %zu: %s, got '%s'", path, lineno,
                               k + 1,
                               rc == 1 ? "expected a number"
                                       : "non-finite or out-of-range number",
                               samc_data_quote(fields[k], q, sizeof q));
                st = SAMC_EFORMAT;
                break;
            }
            if (k == lab)
                y[n] = (float)v;
            else
                row[j++] = (float)v;
        }
        if (st != SAMC_OK) break;
        n++;
    }
    free(line);
    free(fields);
    fclose(f);

    if (st == SAMC_OK && n == 0) {
        samc_data_errf(err, "%s: no data rows", path);
        st = SAMC_EFORMAT;
    }
    if (st != SAMC_OK) {
        free(x);
        free(y);
        return st;
    }
    /* Trim the growth slack (a failed shrink keeps the larger block). */
    float *xs = realloc(x, n * (ncols - 1) * sizeof(float));
    if (xs) x = xs;
    float *ys = realloc(y, n * sizeof(float));
    if (ys) y = ys;
    ds->x = x;
    ds->y = y;
    ds->n = n;
    ds->d = ncols - 1;
    return SAMC_OK;
}
