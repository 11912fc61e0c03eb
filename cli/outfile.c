/*
 * outfile.c -- output files of the commands on a checkpoint (ckpt_cmd.h):
 * written to PATH.tmp, flushed, synced and renamed over PATH, so a failed
 * command leaves no half-written file; the .npy header and little-endian
 * numbers they hold.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_cmd.h"
#include "util/err.h"

samc_status out_open(out_file *o, const char *path, char *err)
{
    o->f = NULL;
    SAMC_CHECK(strlen(path) < sizeof o->path, SAMC_EINVAL, "output path too long: %.100s...", path);
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);
    o->f = fopen(o->tmp, "wb");
    SAMC_CHECK(o->f, SAMC_EIO, "cannot write %.400s: %s", o->tmp, strerror(errno));
    return SAMC_OK;
}

samc_status out_commit(out_file *o, char *err)
{
    int bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
    int e = errno;
    bad |= fclose(o->f) != 0;
    o->f = NULL;
    if (!bad && rename(o->tmp, o->path) == 0) return SAMC_OK;
    if (!bad) e = errno;
    remove(o->tmp);
    return samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", o->path, strerror(e ? e : EIO));
}

void out_abort(out_file *o)
{
    if (o->f) fclose(o->f);
    o->f = NULL;
    remove(o->tmp);
}

void npy_write_header(FILE *f, const char *descr, int ndim, const int64_t *shape)
{
    char dict[256], dims[160] = "";
    size_t used = 0;
    for (int i = 0; i < ndim; i++)
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%lld%s", (long long)shape[i],
                                 ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    /* magic (6) + version (2) + header length (2) + dict + padding + '\n', a multiple of 64 */
    size_t total = (10 + (size_t)len + 1 + 63) / 64 * 64, hlen = total - 10;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hlen & 0xff), f);
    fputc((int)(hlen >> 8), f);
    fputs(dict, f);
    for (size_t i = (size_t)len; i + 1 < hlen; i++) fputc(' ', f);
    fputc('\n', f);
}

void write_f32le(FILE *f, const float *x, size_t n)
{
    unsigned char b[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int j = 0; j < 4; j++) b[k++] = (unsigned char)(u >> (8 * j));
        if (k == sizeof b) {
            fwrite(b, 1, k, f);
            k = 0;
        }
    }
    fwrite(b, 1, k, f);
}

void write_i64le(FILE *f, int64_t v)
{
    const uint64_t u = (uint64_t)v;
    for (int j = 0; j < 8; j++) fputc((int)(u >> (8 * j)) & 0xff, f);
}
