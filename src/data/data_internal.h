/*
 * data_internal.h -- pieces of the data-set code shared between its files
 * (the files in src/data): error formatting, number parsing, the synthetic generator.
 * Not part of the public interface.
 */
#ifndef SAMC_DATA_INTERNAL_H
#define SAMC_DATA_INTERNAL_H

#include <stdio.h>

#include "samc.h"

/* printf into err (SAMC_ERRLEN bytes; err may be NULL). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void samc_data_errf(char *err, const char *fmt, ...);

/* Parse the whole NUL-terminated string s as a finite number that also fits
 * in a float.  Returns 0 on success, 1 if s is not a number, 2 if it is NaN,
 * infinite or out of float range. */
int samc_data_parse_num(const char *s, double *out);

/* A token quoted for an error message: at most 40 characters of s (with "..."
 * when cut), written into buf (len >= 48). */
const char *samc_data_quote(const char *s, char *buf, size_t len);

/* The next line of a text file f (read with getline into *line, growing
 * *cap), for the text readers.  Returns 1 with *lineno advanced, 0 at the
 * end of the file, or -1 with *st and err set (a read error, out of memory,
 * or a NUL byte: not a text file), the message naming path and line. */
int samc_data_next_line(FILE *f, char **line, size_t *cap, const char *path, size_t *lineno,
                        samc_status *st, char *err);

/* The last path component of path (a pointer into path). */
const char *samc_data_basename(const char *path);

/* n * d * size with an overflow check: 0 on overflow, else 1 and *out. */
int samc_data_size(size_t n, size_t d, size_t size, size_t *out);

/* Generate a synthetic data set (spec = the part after "synth:", e.g.
 * "ridge,n=100,d=10,kappa=100").  Fills data->train, data->test (test.n may be
 * 0) and data->name; targets are raw (+1/-1 for logreg), not yet indexed.
 * On error everything is freed and err names the cause. */
samc_status samc_synth_load(samc_data *data, const char *spec, char *err);

#endif
