/*
 * csvread.c -- the streaming reader of comma-separated tables with a header
 * line (include/samc.h, "run output"): what resume uses to cut the trainer's
 * CSVs back to a checkpoint, and what `samc plot` reads columns by name with.
 * One line in memory at a time, so a steps.csv of millions of rows streams.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "util/err.h"
#include "util/mem.h"

struct samc_csv {
    char *path;
    FILE *f;
    char *line;      /* the current line as read (getline buffer) */
    size_t cap;
    char *work;      /* a copy split at the commas */
    size_t work_cap;
    long lineno;
    int ncol;
    char *hdr;       /* the header, split into names */
    char *hdr_line;  /* the header as it is */
    char **name;
    char **field;
    double *value;
};

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
}

/* Splits s at its commas in place into at most max fields (pointers in out);
 * returns the number of fields (more than max when there are more). */
static int split(char *s, char **out, int max)
{
    int n = 0;
    for (;;) {
        if (n < max) out[n] = s;
        n++;
        char *c = strchr(s, ',');
        if (!c || n > max) break;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

void samc_csv_close(samc_csv *c)
{
    if (!c) return;
    if (c->f) fclose(c->f);
    SAMC_FREE_ALL(c->path, c->line, c->work, c->hdr, c->hdr_line, c->name, c->field, c->value, c);
}

samc_status samc_csv_open(samc_csv **out, const char *path, char *err)
{
    *out = NULL;
    samc_csv *c = calloc(1, sizeof *c);
    SAMC_CHECK(c, SAMC_ENOMEM, "out of memory opening %.400s", path);
    samc_status st = SAMC_ENOMEM;
    if (!(c->path = strdup(path))) goto fail;
    if (!(c->f = fopen(path, "r"))) {
        st = samc_errf(err, SAMC_EIO, "cannot open %.400s: %s", path, strerror(errno));
        goto fail;
    }
    if (getline(&c->line, &c->cap, c->f) < 0) {
        st = samc_errf(err, SAMC_EFORMAT, "%.400s is empty (no header line)", path);
        goto fail;
    }
    c->lineno = 1;
    chomp(c->line);
    c->ncol = 1;
    for (const char *p = c->line; *p; p++) c->ncol += *p == ',';
    c->hdr = strdup(c->line);
    c->hdr_line = strdup(c->line);
    c->name = malloc((size_t)c->ncol * sizeof *c->name);
    c->field = malloc((size_t)c->ncol * sizeof *c->field);
    c->value = malloc((size_t)c->ncol * sizeof *c->value);
    if (!c->hdr || !c->hdr_line || !c->name || !c->field || !c->value) goto fail;
    split(c->hdr, c->name, c->ncol);
    c->line[0] = '\0';
    *out = c;
    return SAMC_OK;
fail:
    if (st == SAMC_ENOMEM) samc_errf(err, st, "out of memory opening %.400s", path);
    samc_csv_close(c);
    return st;
}

int samc_csv_ncols(const samc_csv *c) { return c->ncol; }
const char *samc_csv_name(const samc_csv *c, int k) { return k >= 0 && k < c->ncol ? c->name[k] : NULL; }
const char *samc_csv_header(const samc_csv *c) { return c->hdr_line; }
const char *samc_csv_path(const samc_csv *c) { return c->path; }
const char *samc_csv_line(const samc_csv *c) { return c->line; }
long samc_csv_lineno(const samc_csv *c) { return c->lineno; }
const char *samc_csv_field(const samc_csv *c, int k) { return k >= 0 && k < c->ncol ? c->field[k] : NULL; }

int samc_csv_col(const samc_csv *c, const char *name)
{
    for (int k = 0; k < c->ncol; k++)
        if (!strcmp(c->name[k], name)) return k;
    return -1;
}

/* The number in s, or NaN ("nan", "-", empty or not a number); *ok tells
 * whether s was one of those NaN spellings or a whole number. */
static double parse_value(const char *s, int *ok)
{
    *ok = 1;
    if (!*s || !strcmp(s, "-")) return NAN;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) {
        *ok = 0;
        return NAN;
    }
    return v;
}

samc_status samc_csv_number(const samc_csv *c, int k, double *v, char *err)
{
    SAMC_CHECK(k >= 0 && k < c->ncol, SAMC_EINVAL, "%.400s: no column %d", c->path, k);
    int ok;
    *v = parse_value(c->field[k], &ok);
    SAMC_CHECK(ok, SAMC_EFORMAT, "%.400s:%ld: column %.60s: '%.60s' is not a number", c->path, c->lineno,
               c->name[k], c->field[k]);
    return SAMC_OK;
}

samc_status samc_csv_next(samc_csv *c, const double **values, char *err)
{
    *values = NULL;
    for (;;) {
        ssize_t len = getline(&c->line, &c->cap, c->f);
        if (len < 0) {
            SAMC_CHECK(!ferror(c->f), SAMC_EIO, "reading %.400s: %s", c->path, strerror(errno));
            c->line[0] = '\0';
            return SAMC_OK;
        }
        c->lineno++;
        if (c->line[len - 1] != '\n') {   /* a row still being written */
            c->line[0] = '\0';
            return SAMC_OK;
        }
        if ((size_t)len + 1 > c->work_cap) {
            char *w = realloc(c->work, (size_t)len + 1);
            SAMC_CHECK(w, SAMC_ENOMEM, "out of memory reading %.400s", c->path);
            c->work = w;
            c->work_cap = (size_t)len + 1;
        }
        memcpy(c->work, c->line, (size_t)len + 1);
        chomp(c->work);
        if (!c->work[0]) continue;
        int n = split(c->work, c->field, c->ncol);
        SAMC_CHECK(n == c->ncol, SAMC_EFORMAT, "%.400s:%ld: %s%d fields, the header has %d", c->path,
                   c->lineno, n > c->ncol ? "more than " : "", n > c->ncol ? c->ncol : n, c->ncol);
        for (int k = 0; k < c->ncol; k++) {
            int ok;
            c->value[k] = parse_value(c->field[k], &ok);
        }
        *values = c->value;
        return SAMC_OK;
    }
}
