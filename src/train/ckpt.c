/*
 * ckpt.c -- checkpoint files.
 *
 * Layout (little-endian as written by this machine; version 1):
 *   offset 0   char[8]  magic "SAMCCKPT"
 *          8   uint32   version
 *         12   uint32   header size H (256: room to grow)
 *         16   char[64] model name, NUL-padded
 *         80   int64    step
 *         88   int32    epoch
 *         92   ...      zero up to H
 *          H   uint64   n, then n float32 parameters
 *        end   uint32   crc32 (zlib) of every byte before it
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
#define CKPT_NAME 64u

samc_status samc_ckpt_save(const char *path, const char *model_name, int64_t step,
                           int epoch, const float *x, size_t n, char *err)
{
    unsigned char hdr[CKPT_HEADER];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, CKPT_MAGIC, 8);
    uint32_t v = CKPT_VERSION, h = CKPT_HEADER;
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &h, 4);
    strncpy((char *)hdr + 16, model_name, CKPT_NAME - 1);
    memcpy(hdr + 80, &step, 8);
    int32_t e = epoch;
    memcpy(hdr + 88, &e, 4);
    uint64_t n64 = n;

    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc32(crc, (const Bytef *)&n64, sizeof n64);
    crc = crc32_z(crc, (const Bytef *)x, n * sizeof(float));
    uint32_t crc32v = (uint32_t)crc;

    size_t len = strlen(path) + 5;
    char *tmp = malloc(len);
    if (!tmp) return SAMC_ENOMEM;
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return SAMC_EIO;
    }
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr
          && fwrite(&n64, sizeof n64, 1, f) == 1
          && fwrite(x, sizeof(float), n, f) == n
          && fwrite(&crc32v, 4, 1, f) == 1
          && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved_errno = errno;
        if (err) snprintf(err, SAMC_ERRLEN, "cannot write %s: %s", path, strerror(saved_errno));
        remove(tmp);
        free(tmp);
        return SAMC_EIO;
    }
    free(tmp);
    return SAMC_OK;
}

samc_status samc_ckpt_load(const char *path, char *model_name, size_t name_len,
                           int64_t *step, int *epoch, float **x, size_t *n, char *err)
{
    *x = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err) snprintf(err, SAMC_ERRLEN, "cannot open %s: %s", path, strerror(errno));
        return SAMC_EIO;
    }
    unsigned char hdr[CKPT_HEADER];
    uint64_t n64 = 0;
    uint32_t v = 0, h = 0, crc_file = 0;
    samc_status st = SAMC_EFORMAT;
    const char *why = NULL;
    float *buf = NULL;
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
    if (fread(hdr + 16, 1, CKPT_HEADER - 16, f) != CKPT_HEADER - 16 || fread(&n64, 8, 1, f) != 1) {
        why = "truncated header";
        goto out;
    }
    if (n64 == 0 || n64 > ((uint64_t)1 << 34)) {
        why = "implausible parameter count";
        goto out;
    }
    buf = malloc((size_t)n64 * sizeof(float));
    if (!buf) {
        st = SAMC_ENOMEM;
        why = "out of memory";
        goto out;
    }
    if (fread(buf, sizeof(float), (size_t)n64, f) != n64 || fread(&crc_file, 4, 1, f) != 1) {
        why = "truncated parameters";
        goto out;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc32(crc, (const Bytef *)&n64, sizeof n64);
    crc = crc32_z(crc, (const Bytef *)buf, (size_t)n64 * sizeof(float));
    if ((uint32_t)crc != crc_file) {
        why = "checksum mismatch (corrupt file)";
        goto out;
    }
    if (model_name && name_len) {
        size_t k = strnlen((char *)hdr + 16, CKPT_NAME - 1);
        if (k >= name_len) k = name_len - 1;
        memcpy(model_name, hdr + 16, k);
        model_name[k] = '\0';
    }
    memcpy(step, hdr + 80, 8);
    int32_t e;
    memcpy(&e, hdr + 88, 4);
    *epoch = e;
    *n = (size_t)n64;
    *x = buf;
    buf = NULL;
    st = SAMC_OK;
out:
    if (st != SAMC_OK && err) snprintf(err, SAMC_ERRLEN, "%s: %s", path, why);
    free(buf);
    fclose(f);
    return st;
}
