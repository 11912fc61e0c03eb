/*
 * csv.c -- reader for numeric CSV: comma-separated numbers, one row per line,
 * one column holding the label and the others the features.  Fields may be
 * surrounded by blanks or double quotes; blank lines are skipped; CRLF line
 * ends are accepted; lines may be of any length (getline).  Every data row must
 * have the same number of fields.  An optional first line is a header (see
 * samc_read_csv).  Errors name the file and the 1-based line number.  Also
 * the reader of the spec csv:TRAIN[,TEST][,label=first|last|K][,header].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

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

/* The rows read so far. */
typedef struct csv_rows {
    float *x, *y;
    size_t x_cap, y_cap, n;
    size_t ncols, lab, first_line; /* ncols 0: no data row yet */
} csv_rows;

/* The first data row fixes the column count and the label column. */
static samc_status first_row(csv_rows *r, size_t nf, int label_col, const samc_text *t,
                             char *err)
{
    SAMC_CHECK(nf >= 2, SAMC_EFORMAT,
               "%s:%zu: only one column; need a label and at least one feature", t->path,
               t->lineno);
    SAMC_CHECK(label_col < 0 || (size_t)label_col < nf, SAMC_EINVAL,
               "%s:%zu: label column %d (0-based) but the row has %zu fields", t->path,
               t->lineno, label_col, nf);
    r->ncols = nf;
    r->first_line = t->lineno;
    r->lab = label_col < 0 ? nf - 1 : (size_t)label_col;
    return SAMC_OK;
}

/* Append the data row fields[0..nf) to r. */
static samc_status add_row(csv_rows *r, char **fields, size_t nf, const samc_text *t,
                           char *err)
{
    SAMC_CHECK(nf == r->ncols, SAMC_EFORMAT, "%s:%zu: %zu field%s, expected %zu (as on line %zu)",
               t->path, t->lineno, nf, nf == 1 ? "" : "s", r->ncols, r->first_line);
    size_t n = r->n, d = r->ncols - 1;
    SAMC_CHECK(samc_grow((void **)&r->y, &r->y_cap, n + 1, sizeof(float)) &&
                   n + 1 <= SIZE_MAX / d &&
                   samc_grow((void **)&r->x, &r->x_cap, (n + 1) * d, sizeof(float)),
               SAMC_ENOMEM, "%s:%zu: out of memory", t->path, t->lineno);
    float *row = r->x + n * d;
    char q[64];
    for (size_t k = 0, j = 0; k < nf; k++) {
        double v;
        int rc = samc_data_parse_num(fields[k], &v);
        SAMC_CHECK(!rc, SAMC_EFORMAT, "%s:%zu: field %zu: %s, got '%s'", t->path, t->lineno,
                   k + 1, rc == 1 ? "expected a number" : "non-finite or out-of-range number",
                   samc_data_quote(fields[k], q, sizeof q));
        if (k == r->lab)
            r->y[n] = (float)v;
        else
            row[j++] = (float)v;
    }
    r->n++;
    return SAMC_OK;
}

/* header 0: the first line is a header if one of its fields is not a number. */
static int is_header(char **fields, size_t nf, int header)
{
    if (header != 0) return header > 0;
    double v;
    for (size_t k = 0; k < nf; k++)
        if (samc_data_parse_num(fields[k], &v) == 1) return 1;
    return 0;
}

/* Every line of t into r. */
static samc_status read_rows(samc_text *t, csv_rows *r, int label_col, int header, char *err)
{
    samc_status st = SAMC_OK;
    char **fields = NULL;
    size_t fields_cap = 0;
    int seen_first = 0;
    while (st == SAMC_OK && samc_text_next(t, &st, err) > 0) {
        size_t nf = split_fields(t->line, &fields, &fields_cap);
        if (nf == (size_t)-1) {
            st = samc_errf(err, SAMC_ENOMEM, "%s:%zu: out of memory", t->path, t->lineno);
            break;
        }
        if (nf == 0) continue;
        if (!seen_first) {
            seen_first = 1;
            if (is_header(fields, nf, header)) continue;
        }
        if (r->ncols == 0) st = first_row(r, nf, label_col, t, err);
        if (st == SAMC_OK) st = add_row(r, fields, nf, t, err);
    }
    free(fields);
    return st;
}

/*
 * header: 1 = the first non-blank line is a header and is skipped;
 *         0 = automatic: skipped only if one of its fields is not a number;
 *        <0 = no header (every line is data).
 */
samc_status samc_read_csv(samc_dataset *ds, const char *path, int label_col,
                          int header, char *err)
{
    SAMC_CHECK(ds && path, SAMC_EINVAL, "samc_read_csv: NULL argument");
    memset(ds, 0, sizeof *ds);
    SAMC_CHECK(label_col >= -1, SAMC_EINVAL,
               "%s: label column %d out of range (0-based, -1 = last)", path, label_col);
    samc_text t;
    samc_status st = samc_text_open(&t, path, err);
    if (st != SAMC_OK) return st;
    csv_rows r = {0};
    st = read_rows(&t, &r, label_col, header, err);
    samc_text_close(&t);
    if (st == SAMC_OK && r.n == 0) st = samc_errf(err, SAMC_EFORMAT, "%s: no data rows", path);
    if (st != SAMC_OK) {
        free(r.x);
        free(r.y);
        return st;
    }
    /* Trim the growth slack (a failed shrink keeps the larger block). */
    size_t d = r.ncols - 1;
    float *xs = realloc(r.x, r.n * d * sizeof(float));
    if (xs) r.x = xs;
    float *ys = realloc(r.y, r.n * sizeof(float));
    if (ys) r.y = ys;
    ds->x = r.x;
    ds->y = r.y;
    ds->n = r.n;
    ds->d = d;
    return SAMC_OK;
}

/* ----------------------------------------------------------- the csv: spec */

typedef struct csv_opts {
    int label_col, header;
} csv_opts;

/* Parse "label=..." of a csv spec: first -> 0, last -> -1, K -> K. */
static int parse_label_col(const char *v, int *col)
{
    if (!strcmp(v, "first")) { *col = 0; return 1; }
    if (!strcmp(v, "last")) { *col = -1; return 1; }
    if (!*v) return 0;
    long k = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        k = k * 10 + (*p - '0');
        if (k > 1000000000L) return 0;
    }
    *col = (int)k;
    return 1;
}

static int csv_option(const char *tok, void *ctx, samc_status *st, char *err)
{
    csv_opts *o = ctx;
    if (!strcmp(tok, "header")) {
        o->header = 1;
        return 1;
    }
    if (strncmp(tok, "label=", 6)) return 0;
    if (!parse_label_col(tok + 6, &o->label_col))
        *st = samc_errf(err, SAMC_EINVAL,
                        "bad csv option '%.100s': expected label=first, label=last or "
                        "label=K (0-based)",
                        tok);
    return 1;
}

static samc_status csv_file(samc_dataset *ds, const char *path, const samc_dataset *train,
                            const void *ctx, char *err)
{
    (void)train;
    const csv_opts *o = ctx;
    return samc_read_csv(ds, path, o->label_col, o->header, err);
}

static samc_status csv_load(samc_data_source *src, char *err)
{
    csv_opts o = {.label_col = 0, .header = 0};
    return samc_spec_train_test(src, &samc_reader_csv, csv_option, csv_file, &o, err);
}

const samc_data_reader samc_reader_csv = {
    "csv", 0, "csv:TRAIN[,TEST][,label=first|last|K][,header]", csv_load};
