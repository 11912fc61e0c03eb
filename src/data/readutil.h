/*
 * readutil.h -- what the file readers of src/data share: number parsing,
 * quoting a token for a message, sizes with an overflow check, growable
 * arrays, text files read line by line (errors name file:line), and the
 * allocation of a data set's rows.  Not part of the public interface.
 */
#ifndef SAMC_DATA_READUTIL_H
#define SAMC_DATA_READUTIL_H

#include <stdio.h>

#include "samc.h"
#include "util/err.h"

/* Parse the whole NUL-terminated string s as a finite number that also fits
 * in a float.  Returns 0 on success, 1 if s is not a number, 2 if it is NaN,
 * infinite or out of float range. */
int samc_data_parse_num(const char *s, double *out);

/* A token quoted for an error message: at most 40 characters of s (with "..."
 * when cut), written into buf (len >= 48). */
const char *samc_data_quote(const char *s, char *buf, size_t len);

/* The last path component of path (a pointer into path). */
const char *samc_data_basename(const char *path);

/* n * d * size with an overflow check: 0 on overflow, else 1 and *out. */
int samc_data_size(size_t n, size_t d, size_t size, size_t *out);

/* Growing arrays: samc_grow (util/mem.h). */
#include "util/mem.h"

/* A text file read line by line (getline: lines of any length). */
typedef struct samc_text {
    FILE *f;
    const char *path;
    char *line;    /* the current line, NUL-terminated */
    size_t cap;
    size_t lineno; /* 1-based number of the current line */
} samc_text;

/* Open path for reading ("PATH: cannot open: ..." on failure). */
samc_status samc_text_open(samc_text *t, const char *path, char *err);

/* The next line into t->line: 1 with t->lineno advanced, 0 at the end of the
 * file, or -1 with *st and err set (a read error, out of memory, or a NUL
 * byte: not a text file), the message naming path and line. */
int samc_text_next(samc_text *t, samc_status *st, char *err);

void samc_text_close(samc_text *t);

/* Open the regular file path for binary reading, *size its length ("PATH:
 * cannot open / cannot stat / not a regular file" on failure). */
samc_status samc_open_regular(const char *path, FILE **fp, size_t *size, char *err);

/* ds->x (n x d floats, zeroed if zero) and ds->y (n floats), ds->n = n,
 * ds->d = d.  On failure ds is freed and err says "PATH: ..." (too large /
 * out of memory). */
samc_status samc_dataset_alloc(samc_dataset *ds, size_t n, size_t d, int zero,
                               const char *path, char *err);

#endif
