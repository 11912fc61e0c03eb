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
 * Also the reader of the spec npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy].
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

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
                return samc_errf(err, SAMC_EFORMAT,
                                 "%s: fortran_order True is not supported (save a C-ordered "
                                 "array, e.g. np.ascontiguousarray)",
                                 path);
            } else {
                goto bad;
            }
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            p = parse_shape(p, a);
            if (!p) goto bad;
            have_shape = 1;
        } else {
            return samc_errf(err, SAMC_EFORMAT, "%s: unexpected key '%s' in the .npy header",
                             path, key);
        }
        p = skip_ws(p);
        if (*p == ',') p = skip_ws(p + 1);
        else if (*p != '}') goto bad;
    }
    p = skip_ws(p + 1);
    if (*p) goto bad;
    SAMC_CHECK(have_descr && have_order && have_shape, SAMC_EFORMAT,
               "%s: .npy header lacks '%s'", path,
               !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    static const struct { const char *name; npy_type t; size_t item; } types[] = {
        {"<f4", NPY_F4, 4}, {"<f8", NPY_F8, 8}, {"|u1", NPY_U1, 1},
        {"<u1", NPY_U1, 1}, {"<i4", NPY_I4, 4}, {"<i8", NPY_I8, 8}};
    size_t k;
    for (k = 0; k < sizeof types / sizeof *types; k++)
        if (!strcmp(descr, types[k].name)) break;
    SAMC_CHECK(k < sizeof types / sizeof *types, SAMC_EFORMAT,
               "%s: unsupported dtype '%s' (accepted: <f4, <f8, |u1, <i4, <i8)", path, descr);
    a->type = types[k].t;
    a->item = types[k].item;
    return SAMC_OK;
bad:
    return samc_errf(err, SAMC_EFORMAT, "%s: malformed .npy header dict", path);
}

/* The magic, the version and the header length; *pos: where the header starts. */
static samc_status read_preamble(FILE *f, const char *path, size_t size, size_t *hlen,
                                 size_t *pos, char *err)
{
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    SAMC_CHECK(got >= 8 && memcmp(pre, "\x93NUMPY", 6) == 0, SAMC_EFORMAT,
               "%s: bad magic: not a NumPy .npy file", path);
    int major = pre[6];
    SAMC_CHECK(major >= 1 && major <= 3, SAMC_EFORMAT,
               "%s: unsupported .npy format version %d.%d (1.0, 2.0, 3.0 accepted)", path, major,
               pre[7]);
    int wide = major > 1; /* 4-byte header length */
    SAMC_CHECK(got >= 10 && (!wide || fread(pre + 10, 1, 2, f) == 2), SAMC_EFORMAT,
               "%s: truncated .npy header", path);
    *hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (wide) *hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    *pos = wide ? 12 : 10;
    SAMC_CHECK(*hlen <= NPY_MAX_HEADER, SAMC_EFORMAT, "%s: .npy header length %zu is implausible",
               path, *hlen);
    SAMC_CHECK(*hlen <= size - *pos, SAMC_EFORMAT, "%s: truncated .npy header", path);
    return SAMC_OK;
}

/* The header dict (hlen bytes at the file position) into a. */
static samc_status read_dict(FILE *f, const char *path, size_t hlen, npy_array *a, char *err)
{
    char *h = malloc(hlen + 1);
    SAMC_CHECK(h, SAMC_ENOMEM, "%s: out of memory for the header", path);
    samc_status st = SAMC_OK;
    if (fread(h, 1, hlen, f) != hlen) {
        st = samc_errf(err, SAMC_EFORMAT, "%s: truncated .npy header", path);
    } else {
        h[hlen] = '\0';
        if (strlen(h) != hlen)
            st = samc_errf(err, SAMC_EFORMAT, "%s: NUL byte in the .npy header", path);
        else
            st = parse_header(path, h, a, err);
    }
    free(h);
    return st;
}

/* The element count of a's shape, and data_bytes must be exactly its bytes. */
static samc_status check_data(npy_array *a, const char *path, char *err)
{
    a->count = 1;
    for (int i = 0; i < a->ndim; i++) {
        SAMC_CHECK(!a->shape[i] || a->count <= SIZE_MAX / a->shape[i], SAMC_EFORMAT,
                   "%s: shape too large", path);
        a->count *= a->shape[i];
    }
    size_t want;
    SAMC_CHECK(samc_data_size(a->count, 1, a->item, &want), SAMC_EFORMAT,
               "%s: shape too large", path);
    SAMC_CHECK(a->data_bytes >= want, SAMC_EFORMAT,
               "%s: truncated: expected %zu bytes of data, got %zu", path, want, a->data_bytes);
    SAMC_CHECK(a->data_bytes <= want, SAMC_EFORMAT,
               "%s: %zu trailing bytes after the %zu bytes of data", path, a->data_bytes - want,
               want);
    return SAMC_OK;
}

/* Open path, read and check the header; on success a->f is at the data. */
static samc_status open_npy(const char *path, npy_array *a, char *err)
{
    memset(a, 0, sizeof *a);
    FILE *f;
    size_t size = 0, hlen = 0, pos = 0;
    samc_status st = samc_open_regular(path, &f, &size, err);
    if (st != SAMC_OK) return st;
    st = read_preamble(f, path, size, &hlen, &pos, err);
    if (st == SAMC_OK) st = read_dict(f, path, hlen, a, err);
    if (st == SAMC_OK) {
        a->data_bytes = size - pos - hlen;
        st = check_data(a, path, err);
    }
    if (st != SAMC_OK) {
        fclose(f);
        return st;
    }
    a->f = f;
    return SAMC_OK;
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
    SAMC_CHECK(buf, SAMC_ENOMEM, "%s: out of memory", path);
    samc_status st = SAMC_OK;
    for (size_t done = 0; done < a->count && st == SAMC_OK;) {
        size_t k = a->count - done < NPY_CHUNK ? a->count - done : NPY_CHUNK;
        if (fread(buf, a->item, k, a->f) != k) {
            st = samc_errf(err, ferror(a->f) ? SAMC_EIO : SAMC_EFORMAT, "%s: %s", path,
                           ferror(a->f) ? strerror(errno ? errno : EIO)
                                        : "truncated: file shrank while being read");
            break;
        }
        for (size_t i = 0; i < k && st == SAMC_OK; i++) {
            double v = decode(a->type, buf + i * a->item);
            float fv = (float)v;
            size_t e = done + i;
            if (isfinite(v) && isfinite(fv) && (!labels || (double)fv == v))
                out[e] = fv;
            else if (labels)
                st = samc_errf(err, SAMC_EFORMAT, "%s: label %zu is %.17g, %s", path, e, v,
                               isfinite(v) ? "not exactly representable as a float"
                                           : "not finite");
            else
                st = samc_errf(err, SAMC_EFORMAT, "%s: element %zu (row %zu) is %.9g: %s", path,
                               e, a->shape[0] ? e / (a->count / a->shape[0]) : 0, v,
                               isfinite(v) ? "out of float range"
                                           : "NaN or infinite values are not accepted");
        }
        done += k;
    }
    free(buf);
    return st;
}

/* n, d and the image shape (C, H, W, or 0s) of X. */
static samc_status x_shape(const npy_array *xa, const char *x_path, samc_dataset *shape,
                           char *err)
{
    SAMC_CHECK(xa->ndim >= 2 && xa->ndim <= 4, SAMC_EFORMAT,
               "%s: X has %d dimensions; expected (n,d), (n,H,W) or (n,C,H,W)", x_path,
               xa->ndim);
    SAMC_CHECK(xa->count > 0, SAMC_EFORMAT, "%s: X is empty (a dimension is 0)", x_path);
    shape->n = xa->shape[0];
    shape->d = xa->count / shape->n;
    if (xa->ndim < 3) return SAMC_OK;
    size_t c = xa->ndim == 4 ? xa->shape[1] : 1, h = xa->shape[xa->ndim - 2],
           w = xa->shape[xa->ndim - 1];
    SAMC_CHECK(c <= 65535 && h <= 65535 && w <= 65535, SAMC_EFORMAT,
               "%s: image shape %zu x %zu x %zu is too large", x_path, c, h, w);
    shape->channels = (int)c;
    shape->height = (int)h;
    shape->width = (int)w;
    return SAMC_OK;
}

/* Y: (n,) or (n,1) for the n rows of X. */
static samc_status y_shape(const npy_array *ya, const char *y_path, const char *x_path,
                           size_t n, char *err)
{
    SAMC_CHECK(ya->ndim == 1 || (ya->ndim == 2 && ya->shape[1] == 1), SAMC_EFORMAT,
               "%s: Y must have shape (n,) (or (n,1)), got %d dimensions", y_path, ya->ndim);
    SAMC_CHECK(ya->shape[0] == n, SAMC_EFORMAT, "%s: %zu labels, but %s has %zu rows", y_path,
               ya->shape[0], x_path, n);
    return SAMC_OK;
}

samc_status samc_read_npy(samc_dataset *ds, const char *x_path, const char *y_path,
                          char *err)
{
    SAMC_CHECK(ds && x_path && y_path, SAMC_EINVAL, "samc_read_npy: NULL argument");
    memset(ds, 0, sizeof *ds);

    npy_array xa, ya;
    memset(&ya, 0, sizeof ya);
    samc_dataset shape = {0};
    samc_status st = open_npy(x_path, &xa, err);
    if (st != SAMC_OK) return st;
    st = x_shape(&xa, x_path, &shape, err);
    if (st == SAMC_OK) st = open_npy(y_path, &ya, err);
    if (st == SAMC_OK) st = y_shape(&ya, y_path, x_path, shape.n, err);
    if (st == SAMC_OK) st = samc_dataset_alloc(ds, shape.n, shape.d, 0, x_path, err);
    if (st == SAMC_OK) st = read_values(x_path, &xa, ds->x, 0, err);
    if (st == SAMC_OK) st = read_values(y_path, &ya, ds->y, 1, err);
    if (xa.f) fclose(xa.f);
    if (ya.f) fclose(ya.f);
    if (st != SAMC_OK) {
        samc_dataset_free(ds);
        return st;
    }
    ds->channels = shape.channels;
    ds->height = shape.height;
    ds->width = shape.width;
    return SAMC_OK;
}

/* ----------------------------------------------------------- the npy: spec */

static samc_status npy_load(samc_data_source *src, char *err)
{
    return samc_spec_pairs(src, &samc_reader_npy, samc_read_npy, err);
}

const samc_data_reader samc_reader_npy = {"npy", 0, "npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy]",
                                          npy_load};
