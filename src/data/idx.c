/*
 * idx.c -- reader for the IDX format of MNIST and Fashion-MNIST: a big-endian
 * header (magic 0x00000803 for unsigned-byte images of n x H x W, 0x00000801
 * for n unsigned-byte labels) followed by the bytes.  Files are read through
 * zlib, so gzip-compressed and plain files are read alike.  The byte count
 * must match the header exactly (a short file or a cut gzip stream and
 * trailing bytes are errors), and the pixel bytes are read in chunks before
 * the float matrix is allocated, so a lying header costs no huge allocation.
 * Also the reader of the spec idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_...] (and
 * mnist.c reads the MNIST directories with it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

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
                return samc_errf(err, SAMC_ENOMEM, "%s: out of memory for %zu bytes of %s", path,
                                 want, what);
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
            return samc_errf(err, zerr == Z_ERRNO ? SAMC_EIO : SAMC_EFORMAT,
                             "%s: error reading %s: %s", path, what, cause);
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
    SAMC_CHECK(r <= 0, SAMC_EFORMAT, "%s: trailing bytes after the data the header announces",
               path);
    if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
        return samc_errf(err, zerr == Z_ERRNO ? SAMC_EIO : SAMC_EFORMAT, "%s: %s", path,
                         zerr == Z_BUF_ERROR ? "truncated gzip stream (no proper end)" : cause);
    return SAMC_OK;
}

/* Exactly `want` bytes of `what` into *buf (malloc'd), then the end of the
 * stream; g is closed. */
static samc_status read_payload(gzFile g, const char *path, const char *what, size_t want,
                                unsigned char **buf, char *err)
{
    size_t got = 0;
    samc_status st = read_bytes(g, path, what, want, buf, &got, err);
    if (st == SAMC_OK && got < want)
        st = samc_errf(err, SAMC_EFORMAT, "%s: truncated: expected %zu bytes of %s, got %zu",
                       path, want, what, got);
    if (st == SAMC_OK) st = expect_end(g, path, err);
    gzclose(g);
    return st;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read an IDX header with the given magic and ndims dims from g into dims[];
 * checks each dim is in 1..max[i]. */
static samc_status read_header(gzFile g, const char *path, uint32_t magic, int ndims,
                               const uint32_t *max, uint32_t *dims, char *err)
{
    const char *kind = magic == IDX_MAGIC_IMAGES ? "images" : "labels";
    unsigned char h[16];
    size_t hlen = 4 + 4 * (size_t)ndims, got = 0;
    while (got < hlen) {
        int r = gzread(g, h + got, (unsigned)(hlen - got));
        if (r < 0) {
            int zerr;
            const char *cause = gz_cause(g, &zerr);
            if (zerr == Z_BUF_ERROR) break; /* a cut gzip stream: a short read */
            return samc_errf(err, zerr == Z_ERRNO ? SAMC_EIO : SAMC_EFORMAT,
                             "%s: error reading the IDX header: %s", path, cause);
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    SAMC_CHECK(got >= 4, SAMC_EFORMAT, "%s: truncated: %zu bytes, too short for an IDX header",
               path, got);
    uint32_t m = be32(h);
    const char *hint = m == IDX_MAGIC_IMAGES   ? " (an IDX images file)"
                       : m == IDX_MAGIC_LABELS ? " (an IDX labels file)"
                                               : "";
    SAMC_CHECK(m == magic, SAMC_EFORMAT,
               "%s: bad magic 0x%08x%s, expected 0x%08x (IDX unsigned-byte %s)", path,
               (unsigned)m, hint, (unsigned)magic, kind);
    SAMC_CHECK(got >= hlen, SAMC_EFORMAT,
               "%s: truncated: expected a %zu-byte IDX header, got %zu bytes", path, hlen, got);
    static const char *names[] = {"count", "height", "width"};
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        SAMC_CHECK(dims[i] > 0 && dims[i] <= max[i], SAMC_EFORMAT,
                   "%s: bad dimension: %s %u (expected 1..%u)", path, names[i],
                   (unsigned)dims[i], (unsigned)max[i]);
    }
    return SAMC_OK;
}

/* Open path and read its header (read_header); on success *gp is open. */
static samc_status open_idx(const char *path, uint32_t magic, int ndims,
                            const uint32_t *max, uint32_t *dims, gzFile *gp, char *err)
{
    *gp = NULL;
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g)
        return samc_errf(err, errno ? SAMC_EIO : SAMC_ENOMEM, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    samc_status st = read_header(g, path, magic, ndims, max, dims, err);
    if (st != SAMC_OK) {
        gzclose(g);
        return st;
    }
    *gp = g;
    return SAMC_OK;
}

/* The label bytes of labels_path: as many as the n images of images_path. */
static samc_status read_labels(const char *labels_path, const char *images_path, size_t n,
                               unsigned char **lab, char *err)
{
    static const uint32_t lab_max[1] = {IDX_MAX_N};
    uint32_t ldims[1];
    gzFile g;
    samc_status st = open_idx(labels_path, IDX_MAGIC_LABELS, 1, lab_max, ldims, &g, err);
    if (st != SAMC_OK) return st;
    if (ldims[0] != n) {
        gzclose(g);
        return samc_errf(err, SAMC_EFORMAT, "%s: %u labels, but %s has %zu images",
                         labels_path, (unsigned)ldims[0], images_path, n);
    }
    return read_payload(g, labels_path, "labels", n, lab, err);
}

samc_status samc_read_idx(samc_dataset *ds, const char *images_path,
                          const char *labels_path, char *err)
{
    SAMC_CHECK(ds && images_path && labels_path, SAMC_EINVAL, "samc_read_idx: NULL argument");
    memset(ds, 0, sizeof *ds);

    static const uint32_t img_max[3] = {IDX_MAX_N, IDX_MAX_SIDE, IDX_MAX_SIDE};
    uint32_t idims[3];
    unsigned char *pix = NULL, *lab = NULL;
    gzFile g;
    samc_status st = open_idx(images_path, IDX_MAGIC_IMAGES, 3, img_max, idims, &g, err);
    if (st != SAMC_OK) return st;
    size_t n = idims[0], d = (size_t)idims[1] * idims[2], bytes = 0;
    if (!samc_data_size(n, d, 1, &bytes)) {
        gzclose(g);
        return samc_errf(err, SAMC_ENOMEM, "%s: %zu images of %zu pixels is too large",
                         images_path, n, d);
    }
    st = read_payload(g, images_path, "pixels", bytes, &pix, err);
    if (st == SAMC_OK) st = read_labels(labels_path, images_path, n, &lab, err);
    if (st == SAMC_OK) st = samc_dataset_alloc(ds, n, d, 0, images_path, err);
    if (st == SAMC_OK) {
        for (size_t i = 0; i < bytes; i++) ds->x[i] = (float)pix[i] / 255.0f;
        for (size_t i = 0; i < n; i++) ds->y[i] = (float)lab[i]; /* < 256 by type */
        ds->channels = 1;
        ds->height = (int)idims[1];
        ds->width = (int)idims[2];
    }
    free(pix);
    free(lab);
    return st;
}

/* ----------------------------------------------------------- the idx: spec */

static samc_status idx_load(samc_data_source *src, char *err)
{
    return samc_spec_pairs(src, &samc_reader_idx, samc_read_idx, err);
}

const samc_data_reader samc_reader_idx = {
    "idx", 0, "idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]", idx_load};
