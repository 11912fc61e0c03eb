/*
 * readutil.c -- helpers shared by the file readers of src/data (readutil.h):
 * numbers, quoting, sizes, growable arrays, text lines, row allocation.
 */
#include "data/readutil.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int samc_data_parse_num(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') return 1;
    if (!isfinite(v) || fabs(v) > FLT_MAX) return 2; /* nan, inf, overflow */
    *out = v; /* an underflow (ERANGE towards 0) is accepted as tiny/zero */
    return 0;
}

const char *samc_data_quote(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);
    if (n <= 40 || len < 48)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "%.40s...", s);
    return buf;
}

const char *samc_data_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

int samc_data_size(size_t n, size_t d, size_t size, size_t *out)
{
    if (d && n > SIZE_MAX / d) return 0;
    size_t nd = n * d;
    if (size && nd > SIZE_MAX / size) return 0;
    *out = nd * size;
    return 1;
}


/* ------------------------------------------------------------ text files */

samc_status samc_text_open(samc_text *t, const char *path, char *err)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    t->f = fopen(path, "r");
    if (!t->f) return samc_errf(err, SAMC_EIO, "%s: cannot open: %s", path, strerror(errno));
    return SAMC_OK;
}

int samc_text_next(samc_text *t, samc_status *st, char *err)
{
    errno = 0;
    ssize_t len = getline(&t->line, &t->cap, t->f);
    if (len < 0) {
        if (feof(t->f) && !ferror(t->f)) return 0;
        int e = errno;
        if (e == ENOMEM)
            *st = samc_errf(err, SAMC_ENOMEM, "%s:%zu: out of memory reading a line", t->path,
                            t->lineno + 1);
        else
            *st = samc_errf(err, SAMC_EIO, "%s: read error: %s", t->path,
                            strerror(e ? e : EIO));
        return -1;
    }
    ++t->lineno;
    if ((size_t)len != strlen(t->line)) {
        *st = samc_errf(err, SAMC_EFORMAT, "%s:%zu: NUL byte in line (not a text file?)",
                        t->path, t->lineno);
        return -1;
    }
    return 1;
}

void samc_text_close(samc_text *t)
{
    free(t->line);
    t->line = NULL;
    if (t->f) fclose(t->f);
    t->f = NULL;
}

samc_status samc_open_regular(const char *path, FILE **fp, size_t *size, char *err)
{
    *fp = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return samc_errf(err, SAMC_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    samc_status st = SAMC_OK;
    if (fstat(fileno(f), &sb) != 0)
        st = samc_errf(err, SAMC_EIO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = samc_errf(err, SAMC_EIO, "%s: not a regular file", path);
    if (st != SAMC_OK) {
        fclose(f);
        return st;
    }
    *size = (size_t)sb.st_size;
    *fp = f;
    return SAMC_OK;
}

/* ------------------------------------------------------------ allocation */

samc_status samc_dataset_alloc(samc_dataset *ds, size_t n, size_t d, int zero,
                               const char *path, char *err)
{
    size_t bytes = 0;
    if (!samc_data_size(n, d, sizeof(float), &bytes))
        return samc_errf(err, SAMC_ENOMEM, "%s: %zu x %zu floats is too large", path, n, d);
    ds->x = zero ? calloc(n * d, sizeof(float)) : malloc(bytes);
    ds->y = malloc(n * sizeof(float));
    if (!ds->x || !ds->y) {
        samc_dataset_free(ds);
        return samc_errf(err, SAMC_ENOMEM, "%s: out of memory for %zu x %zu floats", path, n,
                         d);
    }
    ds->n = n;
    ds->d = d;
    return SAMC_OK;
}
