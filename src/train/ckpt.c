/*
 * ckpt.c -- checkpoint files.
 *
 * Layout (little-endian as written by this machine; version 1):
 *   offset 0   char[8]   magic "SAMCCKPT"
 *          8   uint32    version
 *         12   uint32    header size H (256: room to grow)
 *         16   char[128] model spec, NUL-padded
 *        144   int64     step
 *        152   int32     epoch
 *        160   uint64    n_params
 *        168   uint64    n_buffers
 *        176   ...       zero up to H
 *          H   n_params float32, then n_buffers float32
 *        end   uint32    crc32 (zlib) of every byte before it
 * Written to PATH.tmp, flushed, fsync'd and renamed over PATH, so a crash
 * leaves either the old file or the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "samc.h"

#define CKPT_MAGIC "SAMCCKPT"
#define CKPT_VERSION 1u
#define CKPT_HEADER 256u
#define CKPT_NAME 128u
#define CKPT_MAX_FLOATS ((uint64_t)1 << 34)

static uLong crc_floats(uLong crc, const float *v, size_t n)
{
    return n ? crc32_z(crc, (const Bytef *)v, n * sizeof(float)) : crc;
}

samc_status samc_ckpt_save(const char *path, const samc_ckpt *c, char *err)
{
    unsigned char hdr[CKPT_HEADER];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, CKPT_MAGIC, 8);
    uint32_t v = CKPT_VERSION, h = CKPT_HEADER;
    uint64_t np = c->n_params, nb = c->n_buffers;
    int32_t e = c->epoch;
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &h, 4);
    memcpy(hdr + 16, c->model, strnlen(c->model, CKPT_NAME - 1));
    memcpy(hdr + 144, &c->step, 8);
    memcpy(hdr + 152, &e, 4);
    memcpy(hdr + 160, &np, 8);
    memcpy(hdr + 168, &nb, 8);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc_floats(crc, c->params, c->n_params);
    crc = crc_floats(crc, c->buffers, c->n_buffers);
    uint32_t crc32v = (uint32_t)crc;

    size_t len = strlen(path) + 5;
    char *tmp = malloc(len);
    if (!tmp) return SAMC_ENOMEM;
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot write %.400s: %s", tmp, strerror(errno));
        free(tmp);
        return SAMC_EIO;
    }
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr
          && fwrite(c->params, sizeof(float), c->n_params, f) == c->n_params
          && (c->n_buffers == 0 || fwrite(c->buffers, sizeof(float), c->n_buffers, f) == c->n_buffers)
          && fwrite(&crc32v, 4, 1, f) == 1
          && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (fclose(f) != 0 && ok) ok = 0, saved_errno = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, saved_errno = errno;
    if (!ok) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot write %.400s: %s", path, strerror(saved_errno));
        remove(tmp);
        free(tmp);
        return SAMC_EIO;
    }
    free(tmp);
    return SAMC_OK;
}

void samc_ckpt_free(samc_ckpt *c)
{
    if (!c) return;
    free(c->params);
    free(c->buffers);
    c->params = c->buffers = NULL;
    c->n_params = c->n_buffers = 0;
}

samc_status samc_ckpt_load(const char *path, samc_ckpt *c, char *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot open %.400s: %s", path, strerror(errno));
        return SAMC_EIO;
    }
    unsigned char hdr[CKPT_HEADER];
    uint64_t np = 0, nb = 0;
    uint32_t v = 0, h = 0, crc_file = 0;
    samc_status st = SAMC_EFORMAT;
    const char *why = NULL;
    if (fread(hdr, 1, 16, f) != 16 || memcmp(hdr, CKPT_MAGIC, 8) != 0) {
        why = "not a samc checkpoint (bad magic)";
        goto out;
    }
    memcpy(&v, hdr + 8, 4);
    memcpy(&h, hdr + 12, 4);
    if (v != CKPT_VERSION || h != CKPT_HEADER) {
        why = "unsupported checkpoint version";
        goto out;
    }
    if (fread(hdr + 16, 1, CKPT_HEADER - 16, f) != CKPT_HEADER - 16) {
        why = "truncated header";
        goto out;
    }
    memcpy(&np, hdr + 160, 8);
    memcpy(&nb, hdr + 168, 8);
    if (np == 0 || np > CKPT_MAX_FLOATS || nb > CKPT_MAX_FLOATS) {
        why = "implausible parameter count";
        goto out;
    }
    c->params = malloc((size_t)np * sizeof(float));
    c->buffers = nb ? malloc((size_t)nb * sizeof(float)) : NULL;
    if (!c->params || (nb && !c->buffers)) {
        st = SAMC_ENOMEM;
        why = "out of memory";
        goto out;
    }
    if (fread(c->params, sizeof(float), (size_t)np, f) != np
        || (nb && fread(c->buffers, sizeof(float), (size_t)nb, f) != nb)
        || fread(&crc_file, 4, 1, f) != 1) {
        why = "truncated data";
        goto out;
    }
    if (fgetc(f) != EOF) {
        why = "trailing bytes after the checksum";
        goto out;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc_floats(crc, c->params, (size_t)np);
    crc = crc_floats(crc, c->buffers, (size_t)nb);
    if ((uint32_t)crc != crc_file) {
        why = "checksum mismatch (corrupt file)";
        goto out;
    }
    memcpy(c->model, hdr + 16, CKPT_NAME - 1);
    c->model[CKPT_NAME - 1] = '\0';
    memcpy(&c->step, hdr + 144, 8);
    int32_t e;
    memcpy(&e, hdr + 152, 4);
    c->epoch = e;
    c->n_params = (size_t)np;
    c->n_buffers = (size_t)nb;
    st = SAMC_OK;
out:
    if (st != SAMC_OK) {
        if (err) snprintf(err, SAMC_ERRLEN, "%.400s: %s", path, why);
        samc_ckpt_free(c);
    }
    fclose(f);
    return st;
}
