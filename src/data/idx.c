/*
 * idx.c -- reader for the IDX format of MNIST and Fashion-MNIST: a big-endian
 * header (magic 0x00000803 for unsigned-byte images of n x H x W, 0x00000801
 * for n unsigned-byte labels) followed by the bytes.  Files are read through
 * zlib, so gzip-compressed and plain files are read alike.  The byte count
 * must match the header exactly (a short file or a cut gzip stream and
 * trailing bytes are errors), and the pixel bytes are read in chunks before
 * the float matrix is allocated, so a lying header costs no huge allocation.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data_internal.h"
#include "samc.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_N 100000000u
#define IDX_MAX_SIDE 4096u
#define IDX_CHUNK (1u << 20)

/* The cause of the last zlib failure on g, for a message. */
static const char *gz_cause(gzFile g, int *zerr)
{
    int e = Z_OK;
    const char *msg = gzerror(g, &e);
    *zerr = e;
    if (e == Z_ERRNO) return strerror(errno ? errno : EIO);
    if (e == Z_BUF_ERROR) return "unexpected end of gzip stream";
    return msg && *msg ? msg : "read error";
}

/*
 * Read up to `want` bytes into *buf (malloc'd here, grown in chunks); *got is
 * how many arrived.  Returns SAMC_OK (even on a short read: the caller words
 * the truncation), SAMC_ENOMEM, or SAMC_EIO / SAMC_EFORMAT with err written.
 */
static samc_status read_bytes(gzFile g, const char *path, const char *what, size_t want,
                              unsigned char **buf, size_t *got, char *err)
{
    *buf = NULL;
    *got = 0;
    size_t cap = 0, have = 0;
    unsigned char *b = NULL;
    while (have < want) {
        size_t chunk = want - have < IDX_CHUNK ? want - have : IDX_CHUNK;
        if (have + chunk > cap) {
            size_t nc = cap ? cap : IDX_CHUNK;
            while (nc < have + chunk) nc = nc > want / 2 ? want : nc * 2;
            if (nc > want) nc = want;
            unsigned char *q = realloc(b, nc);
            if (!q) {
                free(b);
                samc_data_errf(err, "%s: out of memory for %zu bytes of %s", path, want,
                               what);
                return SAMC_ENOMEM;
            }
            b = q;
            cap = nc;
        }
        int r = gzread(g, b + have, (unsigned)chunk);
        if (r < 0) {
            int zerr;
            const char *cause = gz_cause(g, &zerr);
            if (zerr == Z_BUF_ERROR) break; /* a cut gzip stream: a short read */
            free(b);
            samc_data_errf(err, "%s: error reading %s: %s", path, what, cause);
            return zerr == Z_ERRNO ? SAMC_EIO : SAMC_EFORMAT;
        }
        if (r == 0) break;
        have += (size_t)r;
    }
    *buf = b;
    *got = have;
    return SAMC_OK;
}

/* After the payload: the stream must end here, cleanly. */
static samc_status expect_end(gzFile g, const char *path, char *err)
{
    unsigned char extra[64];
    int r = gzread(g, extra, sizeof extra);
    int zerr = Z_OK;
    const char *cause = gz_cause(g, &zerr);
    if (r > 0) {
        samc_data_errf(err, "%s: trailing bytes after the data the header announces", path);
        return SAMC_EFORMAT;
    }
    if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
        samc_data_errf(err, "%s: %s", path,
                       zerr == Z_BUF_ERROR ? "truncated gzip stream (no proper end)" : cause);
        return zerr == Z_ERRNO ? SAMC_EIO : SAMC_EFORMAT;
    }
    return SAMC_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Open path and read an IDX header with the given magic and ndims dims into
 * dims[]; checks each dim is in 1..max[i].  On success *gp is open.
 */
static samc_status open_idx(const char *path, uint32_t magic, int ndims,
                            const uint32_t *max, uint32_t *dims, gzFile *gp, char *err)
{
    *gp = NULL;
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) {
        samc_data_errf(err, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
        return errno ? SAMC_EIO : SAMC_ENOMEM;
    }
    const char *kind = magic == IDX_MAGIC_IMAGES ? "images" : "labels";
    unsigned char h[16];
    size_t hlen = 4 + 4 * (size_t)ndims, got = 0;
    while (got < hlen) {
        int r = gzread(g, h + got, (unsigned)(hlen - got));
        if (r < 0) {
            int zerr;
            const char *cause = gz_cause(g, &zerr);
            if (zerr == Z_BUF_ERROR) break; /* a cut gzip stream: a short read */
            samc_data_errf(err, "%s: error reading the IDX header: %s", path, cause);
            gzclose(g);
            return zerr == Z_ERRNO ? SAMC_EIO : SAMC_EFORMAT;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got < 4) {
        samc_data_errf(err, "%s: truncated: %zu bytes, too short for an IDX header", path,
                       got);
        gzclose(g);
        return SAMC_EFORMAT;
    }
    uint32_t m = be32(h);
    if (m != magic) {
        const char *hint = m == IDX_MAGIC_IMAGES   ? " (an IDX images file)"
                           : m == IDX_MAGIC_LABELS ? " (an IDX labels file)"
                                                   : "";
        samc_data_errf(err,
                       "%s: bad magic 0x%08x%s, expected 0x%08x (IDX unsigned-byte %s)",
                       path, (unsigned)m, hint, (unsigned)magic, kind);
        gzclose(g);
        return SAMC_EFORMAT;
    }
    if (got < hlen) {
        samc_data_errf(err, "%s: truncated: expected a %zu-byte IDX header, got %zu bytes",
                       path, hlen, got);
        gzclose(g);
        return SAMC_EFORMAT;
    }
    static const char *names[] = {"count", "height", "width"};
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > max[i]) {
            samc_data_errf(err, "%s: bad dimension: %s %u (expected 1..%u)", path, names[i],
                           (unsigned)dims[i], (unsigned)max[i]);
            gzclose(g);
            return SAMC_EFORMAT;
        }
    }
    *gp = g;
    return SAMC_OK;
}

samc_status samc_read_idx(samc_dataset *ds, const char *images_path,
                          const char *labels_path, char *err)
{
    if (!ds || !images_path || !labels_path) {
        samc_data_errf(err, "samc_read_idx: NULL argument");
        return SAMC_EINVAL;
    }
    memset(ds, 0, sizeof *ds);

    static const uint32_t img_max[3] = {IDX_MAX_N, IDX_MAX_SIDE, IDX_MAX_SIDE};
    static const uint32_t lab_max[1] = {IDX_MAX_N};
    uint32_t idims[3], ldims[1];
    unsigned char *pix = NULL, *lab = NULL;
    size_t got = 0;
    gzFile g = NULL;

    samc_status st = open_idx(images_path, IDX_MAGIC_IMAGES, 3, img_max, idims, &g, err);
    if (st != SAMC_OK) return st;
    size_t n = idims[0], d = (size_t)idims[1] * idims[2], bytes = 0;
    if (!samc_data_size(n, d, 1, &bytes)) {
        samc_data_errf(err, "%s: %zu images of %zu pixels is too large", images_path, n, d);
        gzclose(g);
        return SAMC_ENOMEM;
    }
    st = read_bytes(g, images_path, "pixels", bytes, &pix, &got, err);
    if (st == SAMC_OK && got < bytes) {
        samc_data_errf(err, "%s: truncated: expected %zu bytes of pixels, got %zu",
                       images_path, bytes, got);
        st = SAMC_EFORMAT;
    }
    if (st == SAMC_OK) st = expect_end(g, images_path, err);
    gzclose(g);
    g = NULL;

    if (st == SAMC_OK)
        st = open_idx(labels_path, IDX_MAGIC_LABELS, 1, lab_max, ldims, &g, err);
    if (st == SAMC_OK && ldims[0] != n) {
        samc_data_errf(err, "%s: %u labels, but %s has %zu images", labels_path,
                       (unsigned)ldims[0], images_path, n);
        st = SAMC_EFORMAT;
    }
    if (st == SAMC_OK) st = read_bytes(g, labels_path, "labels", n, &lab, &got, err);
    if (st == SAMC_OK && got < n) {
        samc_data_errf(err, "%s: truncated: expected %zu bytes of labels, got %zu",
                       labels_path, n, got);
        st = SAMC_EFORMAT;
    }
    if (st == SAMC_OK) st = expect_end(g, labels_path, err);
    if (g) gzclose(g);

    size_t fbytes = 0;
    if (st == SAMC_OK && !samc_data_size(n, d, sizeof(float), &fbytes)) {
        samc_data_errf(err, "%s: %zu x %zu floats is too large", images_path, n, d);
        st = SAMC_ENOMEM;
    }
    if (st == SAMC_OK) {
        ds->x = malloc(fbytes);
        ds->y = malloc(n * sizeof(float));
        if (!ds->x || !ds->y) {
            samc_data_errf(err, "%s: out of memory for %zu x %zu floats", images_path, n, d);
            st = SAMC_ENOMEM;
        }
    }
    if (st == SAMC_OK) {
        for (size_t i = 0; i < bytes; i++) ds->x[i] = (float)pix[i] / 255.0f;
        for (size_t i = 0; i < n; i++) ds->y[i] = (float)lab[i]; /* < 256 by type */
        ds->n = n;
        ds->d = d;
        ds->channels = 1;
        ds->height = (int)idims[1];
        ds->width = (int)idims[2];
    }
    free(pix);
    free(lab);
    if (st != SAMC_OK) samc_dataset_free(ds);
    return st;
}
