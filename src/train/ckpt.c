/*
 * ckpt.c -- checkpoint files.
 *
 * Layout (little-endian as written by this machine; version 1):
 *   offset 0   char[8]   magic "SAMCCKPT"
 *          8   uint32    version
 *         12   uint32    header size H (512: room to grow)
 *         16   char[128] model spec, NUL-padded
 *        144   char[128] data name, NUL-padded
 *        272   uint64    data rows      280 uint32 data crc32
 *        288   int64     step           296 int32  epoch
 *        304   int64     epoch_step     312 uint64 shuffle rng [4]
 *        344   uint64    aug rng [4]    376 double decsps_prev
 *        384   int64     optim_steps    392 double elapsed_s
 *        400   uint64    n_params       408 uint64 n_buffers
 *        416   uint64    n_momentum     424 ... zero up to H
 *          H   n_params, n_buffers, n_momentum float32
 *        end   uint32    crc32 (zlib) of every byte before it
 * Written to PATH.tmp, flushed, fsync'd and renamed over PATH.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "samc.h"

#define CKPT_MAGIC "SAMCCKPT"
#define CKPT_VERSION 1u
#define CKPT_HEADER 512u
#define CKPT_NAME 128u
#define CKPT_MAX_FLOATS ((uint64_t)1 << 34)

/* One header field: its offset, its address in the struct and its size. */
typedef struct field { size_t off; size_t len; } field;
enum { F_MODEL, F_DATA, F_DATA_N, F_DATA_CRC, F_STEP, F_EPOCH, F_EPOCH_STEP, F_SHUF, F_AUG,
       F_DECSPS, F_OSTEPS, F_ELAPSED, F_NP, F_NB, F_NM, F_COUNT };
static const field layout[F_COUNT] = {
    { 16, 128 }, { 144, 128 }, { 272, 8 }, { 280, 4 }, { 288, 8 }, { 296, 4 }, { 304, 8 },
    { 312, 32 }, { 344, 32 }, { 376, 8 }, { 384, 8 }, { 392, 8 }, { 400, 8 }, { 408, 8 }, { 416, 8 },
};

static void put(unsigned char *h, int f, const void *v) { memcpy(h + layout[f].off, v, layout[f].len); }
static void get(const unsigned char *h, int f, void *v) { memcpy(v, h + layout[f].off, layout[f].len); }

static uLong crc_floats(uLong crc, const float *v, size_t n)
{
    return n ? crc32_z(crc, (const Bytef *)v, n * sizeof(float)) : crc;
}

static void put_string(unsigned char *h, int f, const char *s)
{
    memcpy(h + layout[f].off, s, strnlen(s, CKPT_NAME - 1));
}

samc_status samc_ckpt_save(const char *path, const samc_ckpt *c, char *err)
{
    unsigned char hdr[CKPT_HEADER];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, CKPT_MAGIC, 8);
    uint32_t v = CKPT_VERSION, h = CKPT_HEADER;
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &h, 4);
    uint64_t np = c->n_params, nb = c->n_buffers, nm = c->n_momentum;
    int32_t e = c->epoch;
    put_string(hdr, F_MODEL, c->model);
    put_string(hdr, F_DATA, c->data);
    put(hdr, F_DATA_N, &c->data_n);
    put(hdr, F_DATA_CRC, &c->data_crc);
    put(hdr, F_STEP, &c->step);
    put(hdr, F_EPOCH, &e);
    put(hdr, F_EPOCH_STEP, &c->epoch_step);
    put(hdr, F_SHUF, c->shuffle_rng.s);
    put(hdr, F_AUG, c->aug_rng.s);
    put(hdr, F_DECSPS, &c->decsps_prev);
    put(hdr, F_OSTEPS, &c->optim_steps);
    put(hdr, F_ELAPSED, &c->elapsed_s);
    put(hdr, F_NP, &np);
    put(hdr, F_NB, &nb);
    put(hdr, F_NM, &nm);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc_floats(crc, c->params, c->n_params);
    crc = crc_floats(crc, c->buffers, c->n_buffers);
    crc = crc_floats(crc, c->momentum, c->n_momentum);
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
          && (nb == 0 || fwrite(c->buffers, sizeof(float), c->n_buffers, f) == c->n_buffers)
          && (nm == 0 || fwrite(c->momentum, sizeof(float), c->n_momentum, f) == c->n_momentum)
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
    free(c->momentum);
    c->params = c->buffers = c->momentum = NULL;
    c->n_params = c->n_buffers = c->n_momentum = 0;
}

/* Reads n floats into a new array (NULL for n == 0); 0 on success. */
static int read_floats(FILE *f, uint64_t n, float **out)
{
    *out = NULL;
    if (n == 0) return 0;
    *out = malloc((size_t)n * sizeof(float));
    return !*out || fread(*out, sizeof(float), (size_t)n, f) != n;
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
    uint64_t np = 0, nb = 0, nm = 0;
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
    get(hdr, F_NP, &np);
    get(hdr, F_NB, &nb);
    get(hdr, F_NM, &nm);
    if (np == 0 || np > CKPT_MAX_FLOATS || nb > CKPT_MAX_FLOATS || (nm != 0 && nm != np)) {
        why = "implausible parameter count";
        goto out;
    }
    /* the counts must match the file's size before anything is allocated:
     * a short file must not make us malloc what its header claims */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
        (uint64_t)sb.st_size != (uint64_t)CKPT_HEADER + 4 * (np + nb + nm) + 4) {
        why = (uint64_t)sb.st_size < (uint64_t)CKPT_HEADER + 4 * (np + nb + nm) + 4
                  ? "truncated data" : "trailing bytes after the checksum";
        goto out;
    }
    if (read_floats(f, np, &c->params) || read_floats(f, nb, &c->buffers) ||
        read_floats(f, nm, &c->momentum) || fread(&crc_file, 4, 1, f) != 1) {
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
    crc = crc_floats(crc, c->momentum, (size_t)nm);
    if ((uint32_t)crc != crc_file) {
        why = "checksum mismatch (corrupt file)";
        goto out;
    }
    int32_t e;
    get(hdr, F_MODEL, c->model);
    get(hdr, F_DATA, c->data);
    c->model[CKPT_NAME - 1] = c->data[CKPT_NAME - 1] = '\0';
    get(hdr, F_DATA_N, &c->data_n);
    get(hdr, F_DATA_CRC, &c->data_crc);
    get(hdr, F_STEP, &c->step);
    get(hdr, F_EPOCH, &e);
    c->epoch = e;
    get(hdr, F_EPOCH_STEP, &c->epoch_step);
    get(hdr, F_SHUF, c->shuffle_rng.s);
    get(hdr, F_AUG, c->aug_rng.s);
    get(hdr, F_DECSPS, &c->decsps_prev);
    get(hdr, F_OSTEPS, &c->optim_steps);
    get(hdr, F_ELAPSED, &c->elapsed_s);
    c->n_params = (size_t)np;
    c->n_buffers = (size_t)nb;
    c->n_momentum = (size_t)nm;
    st = SAMC_OK;
out:
    if (st != SAMC_OK) {
        if (err) snprintf(err, SAMC_ERRLEN, "%.400s: %s", path, why ? why : "out of memory");
        samc_ckpt_free(c);
    }
    fclose(f);
    return st;
}

uint32_t samc_ckpt_data_crc(const samc_dataset *ds)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32_z(c, (const Bytef *)ds->x, ds->n * ds->d * sizeof(float));
    c = crc32_z(c, (const Bytef *)ds->y, ds->n * sizeof(float));
    return (uint32_t)c;
}
