/*
 * npy.c -- reader for NumPy .npy files (format versions 1.0, 2.0 and 3.0):
 *     "\x93NUMPY" major minor  header-length (2 bytes LE in 1.0, 4 in 2.0/3.0)
 *     header: a Python dict literal {'descr': '<f4', 'fortran_order': False,
 *             'shape': (n, d), }  padded with spaces and a newline
 *     the array data, C order.
 * Accepted dtypes are '<f4', '<f8', '|u1' ('<u1'), '<i4', '<i8', decoded
 * from little-endian bytes whatever the host.  X may be (n,d), (n,H,W) (one
 * channel) or (n,C,H,W); Y (n,) or (n,1).  The data length must match the
 * shape exactly; X must be finite, and Y finite and exactly representable.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "samc.h"

#define NPY_MAX_DIMS 8
#define NPY_MAX_HEADER (1u << 20)
#define NPY_CHUNK 65536

typedef enum npy_type { NPY_F4, NPY_F8, NPY_U1, NPY_I4, NPY_I8 } npy_type;

typedef struct npy_array {
    npy_type type;
    size_t item;              /* bytes per element */
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;             /* product of shape */
    FILE *f;                  /* positioned at the data */
    size_t data_bytes;        /* bytes after the header */
} npy_array;

/* ------------------------------------------------------- header parsing */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* A quoted string ('...' or "...") at p into buf; returns the end or NULL. */
static const char *parse_str(const char *p, char *buf, size_t len)
{
    char q = *p;
    if (q != '\'' && q != '"') return NULL;
    p++;
    size_t k = 0;
    while (*p && *p != q) {
        if (k + 1 >= len) return NULL;
        buf[k++] = *p++;
    }
    if (*p != q) return NULL;
    buf[k] = '\0';
    return p + 1;
}

/* A tuple of non-negative integers "(a, b, )" at p. */
static const char *parse_shape(const char *p, npy_array *a)
{
    if (*p != '(') return NULL;
    p = skip_ws(p + 1);
    a->ndim = 0;
    while (*p != ')') {
        if (*p < '0' || *p > '9') return NULL;
        size_t v = 0;
        while (*p >= '0' && *p <= '9') {
            size_t dg = (size_t)(*p - '0');
            if (v > (SIZE_MAX - dg) / 10) return NULL;
            v = v * 10 + dg;
            p++;
        }
        if (*p == 'L') p++; /* Python 2 long */
        if (a->ndim == NPY_MAX_DIMS) return NULL;
        a->shape[a->ndim++] = v;
        p = skip_ws(p);
        if (*p == ',') p = skip_ws(p + 1);
        else if (*p != ')') return NULL;
    }
    return p + 1;
}

/* Parse the header dict h; on error err names path and the cause. */
static samc_status parse_header(const char *path, const char *h, npy_array *a, char *err)
{
    int have_descr = 0, have_order = 0, have_shape = 0;
    char key[32], descr[32];
    const char *p = skip_ws(h);
    if (*p != '{') goto bad;
    p = skip_ws(p + 1);
    while (*p != '}') {
        p = parse_str(p, key, sizeof key);
        if (!p) goto bad;
        p = skip_ws(p);
        if (*p != ':') goto bad;
        p = skip_ws(p + 1);
        if (!strcmp(key, "descr")) {
            p = parse_str(p, descr, sizeof descr);
            if (!p) goto bad;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (!strncmp(p, "False", 5)) {
                p += 5;
            } else if (!strncmp(p, "True", 4)) {
                samc_data_errf(err, "%s: fortran_order True is not supported (save a "
                                    "C-ordered array, e.g. np.ascontiguousarray)",
                               path);
                return SAMC_EFORMAT;
            } else {
                goto bad;
            }
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            p = parse_shape(p, a);
            if (!p) goto bad;
            have_shape = 1;
        } else {
            samc_data_errf(err, "%s: unexpected key '%s' in the .npy header", path, key);
            return SAMC_EFORMAT;
        }
        p = skip_ws(p);
        if (*p == ',') p = skip_ws(p + 1);
        else if (*p != '}') goto bad;
    }
    p = skip_ws(p + 1);
    if (*p) goto bad;
    if (!have_descr || !have_order || !have_shape) {
        samc_data_errf(err, "%s: .npy header lacks '%s'", path,
                       !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
        return SAMC_EFORMAT;
    }
    static const struct { const char *name; npy_type t; size_t item; } types[] = {
        {"<f4", NPY_F4, 4}, {"<f8", NPY_F8, 8}, {"|u1", NPY_U1, 1},
        {"<u1", NPY_U1, 1}, {"<i4", NPY_I4, 4}, {"<i8", NPY_I8, 8}};
    size_t k;
    for (k = 0; k < sizeof types / sizeof *types; k++)
        if (!strcmp(descr, types[k].name)) break;
    if (k == sizeof types / sizeof *types) {
        samc_data_errf(err, "%s: unsupported dtype '%s' (accepted: <f4, <f8, |u1, <i4, <i8)",
                       path, descr);
        return SAMC_EFORMAT;
    }
    a->type = types[k].t;
    a->item = types[k].item;
    return SAMC_OK;
bad:
    samc_data_errf(err, "%s: malformed .npy header dict", path);
    return SAMC_EFORMAT;
}

/* Open path, read and check the header; on success a->f is at the data. */
static samc_status open_npy(const char *path, npy_array *a, char *err)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        samc_data_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return SAMC_EIO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        samc_data_errf(err, "%s: not a regular file", path);
        fclose(f);
        return SAMC_EIO;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        samc_data_errf(err, "%s: bad magic: not a NumPy .npy file", path);
        fclose(f);
        return SAMC_EFORMAT;
    }
    int major = pre[6];
    size_t hlen, pos;
    if (major == 1) {
        if (got < 10) goto truncated;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        pos = 10;
    } else if (major == 2 || major == 3) {
        if (got < 10 || fread(pre + 10, 1, 2, f) != 2) goto truncated;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
               (size_t)pre[11] << 24;
        pos = 12;
    } else {
        samc_data_errf(err, "%s: unsupported .npy format version %d.%d (1.0, 2.0, 3.0 "
                            "accepted)",
                       path, major, pre[7]);
        fclose(f);
        return SAMC_EFORMAT;
    }
    if (hlen > NPY_MAX_HEADER || hlen > size - pos) {
        if (hlen <= NPY_MAX_HEADER) goto truncated;
        samc_data_errf(err, "%s: .npy header length %zu is implausible", path, hlen);
        fclose(f);
        return SAMC_EFORMAT;
    }
    char *h = malloc(hlen + 1);
    if (!h) {
        samc_data_errf(err, "%s: out of memory for the header", path);
        fclose(f);
        return SAMC_ENOMEM;
    }
    if (fread(h, 1, hlen, f) != hlen) {
        free(h);
        goto truncated;
    }
    h[hlen] = '\0';
    if (strlen(h) != hlen) {
        free(h);
        samc_data_errf(err, "%s: NUL byte in the .npy header", path);
        fclose(f);
        return SAMC_EFORMAT;
    }
    samc_status st = parse_header(path, h, a, err);
    free(h);
    if (st != SAMC_OK) {
        fclose(f);
        return st;
    }
    a->count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && a->count > SIZE_MAX / a->shape[i]) {
            samc_data_errf(err, "%s: shape too large", path);
            fclose(f);
            return SAMC_EFORMAT;
        }
        a->count *= a->shape[i];
    }
    size_t want;
    if (!samc_data_size(a->count, 1, a->item, &want)) {
        samc_data_errf(err, "%s: shape too large", path);
        fclose(f);
        return SAMC_EFORMAT;
    }
    a->data_bytes = size - pos - hlen;
    if (a->data_bytes < want) {
        samc_data_errf(err, "%s: truncated: expected %zu bytes of data, got %zu", path,
                       want, a->data_bytes);
        fclose(f);
        return SAMC_EFORMAT;
    }
    if (a->data_bytes > want) {
        samc_data_errf(err, "%s: %zu trailing bytes after the %zu bytes of data", path,
                       a->data_bytes - want, want);
        fclose(f);
        return SAMC_EFORMAT;
    }
    a->f = f;
    return SAMC_OK;
truncated:
    samc_data_errf(err, "%s: truncated .npy header", path);
    fclose(f);
    return SAMC_EFORMAT;
}

/* ------------------------------------------------------------ data */

static uint64_t le(const unsigned char *p, size_t k)
{
    uint64_t v = 0;
    for (size_t i = k; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static double decode(npy_type t, const unsigned char *p)
{
    switch (t) {
    case NPY_F4: {
        uint32_t u = (uint32_t)le(p, 4);
        float v;
        memcpy(&v, &u, 4);
        return v;
    }
    case NPY_F8: {
        uint64_t u = le(p, 8);
        double v;
        memcpy(&v, &u, 8);
        return v;
    }
    case NPY_U1: return p[0];
    case NPY_I4: return (double)(int32_t)(uint32_t)le(p, 4);
    case NPY_I8: return (double)(int64_t)le(p, 8);
    }
    return 0;
}

/*
 * Read all a->count elements as floats into out.  labels 0: each must be
 * finite and fit a float; labels 1: finite and exactly a float (an integer
 * label must not round).  On error err names path and the element.
 */
static samc_status read_values(const char *path, npy_array *a, float *out, int labels,
                               char *err)
{
    unsigned char *buf = malloc(NPY_CHUNK * 8);
    if (!buf) {
        samc_data_errf(err, "%s: out of memory", path);
        return SAMC_ENOMEM;
    }
    size_t done = 0;
    while (done < a->count) {
        size_t k = a->count - done < NPY_CHUNK ? a->count - done : NPY_CHUNK;
        if (fread(buf, a->item, k, a->f) != k) {
            samc_data_errf(err, "%s: %s", path,
                           ferror(a->f) ? strerror(errno ? errno : EIO)
                                        : "truncated: file shrank while being read");
            free(buf);
            return ferror(a->f) ? SAMC_EIO : SAMC_EFORMAT;
        }
        for (size_t i = 0; i < k; i++) {
            double v = decode(a->type, buf + i * a->item);
            float fv = (float)v;
            if (!isfinite(v) || !isfinite(fv) || (labels && (double)fv != v)) {
                size_t e = done + i;
                if (labels)
                    samc_data_errf(err, "%s: label %zu is %.17g, %s", path, e, v,
                                   isfinite(v) ? "not exactly representable as a float"
                                               : "not finite");
                else
                    samc_data_errf(err, "%s: element %zu (row %zu) is %.9g: %s", path, e,
                                   a->shape[0] ? e / (a->count / a->shape[0]) : 0, v,
                                   isfinite(v) ? "out of float range"
                                               : "NaN or infinite values are not accepted");
                free(buf);
                return SAMC_EFORMAT;
            }
            out[done + i] = fv;
        }
        done += k;
    }
    free(buf);
    return SAMC_OK;
}

samc_status samc_read_npy(samc_dataset *ds, const char *x_path, const char *y_path,
                          char *err)
{
    if (!ds || !x_path || !y_path) {
        samc_data_errf(err, "samc_read_npy: NULL argument");
        return SAMC_EINVAL;
    }
    memset(ds, 0, sizeof *ds);

    npy_array xa, ya;
    memset(&ya, 0, sizeof ya);
    samc_status st = open_npy(x_path, &xa, err);
    if (st != SAMC_OK) return st;

    size_t n = xa.ndim ? xa.shape[0] : 0, d = 0;
    int C = 0, H = 0, W = 0;
    if (xa.ndim < 2 || xa.ndim > 4) {
        samc_data_errf(err, "%s: X has %d dimensions; expected (n,d), (n,H,W) or (n,C,H,W)",
                       x_path, xa.ndim);
        st = SAMC_EFORMAT;
    } else if (xa.count == 0) {
        samc_data_errf(err, "%s: X is empty (a dimension is 0)", x_path);
        st = SAMC_EFORMAT;
    } else {
        d = xa.count / n;
        if (xa.ndim >= 3) {
            size_t c = xa.ndim == 4 ? xa.shape[1] : 1, h = xa.shape[xa.ndim - 2],
                   w = xa.shape[xa.ndim - 1];
            if (c > 65535 || h > 65535 || w > 65535) {
                samc_data_errf(err, "%s: image shape %zu x %zu x %zu is too large", x_path,
                               c, h, w);
                st = SAMC_EFORMAT;
            } else {
                C = (int)c;
                H = (int)h;
                W = (int)w;
            }
        }
    }
    if (st == SAMC_OK) st = open_npy(y_path, &ya, err);
    if (st == SAMC_OK) {
        int shape_ok = (ya.ndim == 1) || (ya.ndim == 2 && ya.shape[1] == 1);
        if (!shape_ok) {
            samc_data_errf(err, "%s: Y must have shape (n,) (or (n,1)), got %d dimensions",
                           y_path, ya.ndim);
            st = SAMC_EFORMAT;
        } else if (ya.shape[0] != n) {
            samc_data_errf(err, "%s: %zu labels, but %s has %zu rows", y_path, ya.shape[0],
                           x_path, n);
            st = SAMC_EFORMAT;
        }
    }
    size_t bytes = 0;
    if (st == SAMC_OK && !samc_data_size(n, d, sizeof(float), &bytes)) {
        samc_data_errf(err, "%s: %zu x %zu floats is too large", x_path, n, d);
        st = SAMC_ENOMEM;
    }
    if (st == SAMC_OK) {
        ds->x = malloc(bytes);
        ds->y = malloc(n * sizeof(float));
        if (!ds->x || !ds->y) {
            samc_data_errf(err, "%s: out of memory for %zu x %zu floats", x_path, n, d);
            st = SAMC_ENOMEM;
        }
    }
    if (st == SAMC_OK) st = read_values(x_path, &xa, ds->x, 0, err);
    if (st == SAMC_OK) st = read_values(y_path, &ya, ds->y, 1, err);
    if (xa.f) fclose(xa.f);
    if (ya.f) fclose(ya.f);
    if (st != SAMC_OK) {
        samc_dataset_free(ds);
        return st;
    }
    ds->n = n;
    ds->d = d;
    ds->channels = C;
    ds->height = H;
    ds->width = W;
    return SAMC_OK;
}
