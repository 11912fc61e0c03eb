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
 *        416   uint64    n_momentum     424 double label_smoothing
 *        432   int32     accumulate     436 int32  m_sharpness
 *        440   int32     nesterov       444 int32  wd_groups
 *        448   int32     base           456 double clip
 *        464   double    adam_beta1     472 double adam_beta2
 *        480   double    adam_eps       488 double l2
 *        496   uint64    n_second       504 ... zero up to H
 *          H   n_params, n_buffers, n_momentum, n_second float32
 * (a file written before the recipe fields has zeros there: the defaults,
 * with accumulate and m_sharpness 0 read as 1).
 *        end   uint32    crc32 (zlib) of every byte before it
 * Written to PATH.tmp, flushed, fsync'd and renamed over PATH.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "samc.h"
#include "data/sparse.h"
#include "util/err.h"
#include "util/mem.h"

#define CKPT_MAGIC "SAMCCKPT"
#define CKPT_VERSION 1u
#define CKPT_HEADER 512u
#define CKPT_NAME 128u
#define CKPT_MAX_FLOATS ((uint64_t)1 << 34)

/* The header fields, each listed once, read by both save and load: the
 * name, the offset and size in the file, where it lives in samc_ckpt and
 * how it is stored (as it is, as int32, as uint64, or a NUL-padded string). */
typedef enum { K_RAW, K_INT32, K_SIZE64, K_STRING } kind;
typedef struct field {
    const char *name;
    size_t off, len;   /* in the header */
    size_t at;         /* offsetof(samc_ckpt, ...) */
    kind k;
} field;
#define RAW(name, off, m) { name, off, sizeof(((samc_ckpt *)0)->m), offsetof(samc_ckpt, m), K_RAW }
static const field fields[] = {
    { "model", 16, CKPT_NAME, offsetof(samc_ckpt, model), K_STRING },
    { "data", 144, CKPT_NAME, offsetof(samc_ckpt, data), K_STRING },
    RAW("data_n", 272, data_n),
    RAW("data_crc", 280, data_crc),
    RAW("step", 288, step),
    { "epoch", 296, 4, offsetof(samc_ckpt, epoch), K_INT32 },
    RAW("epoch_step", 304, epoch_step),
    RAW("shuffle_rng", 312, shuffle_rng),
    RAW("aug_rng", 344, aug_rng),
    RAW("decsps_prev", 376, decsps_prev),
    RAW("optim_steps", 384, optim_steps),
    RAW("elapsed_s", 392, elapsed_s),
    { "n_params", 400, 8, offsetof(samc_ckpt, n_params), K_SIZE64 },
    { "n_buffers", 408, 8, offsetof(samc_ckpt, n_buffers), K_SIZE64 },
    { "n_momentum", 416, 8, offsetof(samc_ckpt, n_momentum), K_SIZE64 },
    RAW("label_smoothing", 424, label_smoothing),
    { "accumulate", 432, 4, offsetof(samc_ckpt, accumulate), K_INT32 },
    { "m_sharpness", 436, 4, offsetof(samc_ckpt, m_sharpness), K_INT32 },
    { "nesterov", 440, 4, offsetof(samc_ckpt, nesterov), K_INT32 },
    { "wd_groups", 444, 4, offsetof(samc_ckpt, wd_groups), K_INT32 },
    { "base", 448, 4, offsetof(samc_ckpt, base), K_INT32 },
    RAW("clip", 456, clip),
    RAW("adam_beta1", 464, adam_beta1),
    RAW("adam_beta2", 472, adam_beta2),
    RAW("adam_eps", 480, adam_eps),
    RAW("l2", 488, l2),
    { "n_second", 496, 8, offsetof(samc_ckpt, n_second), K_SIZE64 },
};
#undef RAW
#define N_FIELDS (sizeof fields / sizeof *fields)

/* The header of c (magic, version, size, then every field). */
static void encode_header(unsigned char *h, const samc_ckpt *c)
{
    memset(h, 0, CKPT_HEADER);
    memcpy(h, CKPT_MAGIC, 8);
    uint32_t v = CKPT_VERSION, hs = CKPT_HEADER;
    memcpy(h + 8, &v, 4);
    memcpy(h + 12, &hs, 4);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        const char *src = (const char *)c + f->at;
        int32_t i32;
        uint64_t u64;
        switch (f->k) {
        case K_RAW: memcpy(h + f->off, src, f->len); break;
        case K_INT32: i32 = *(const int *)src; memcpy(h + f->off, &i32, 4); break;
        case K_SIZE64: u64 = *(const size_t *)src; memcpy(h + f->off, &u64, 8); break;
        case K_STRING: memcpy(h + f->off, src, strnlen(src, f->len - 1)); break;
        }
    }
}

/* Every field of header h into c (the arrays untouched). */
static void decode_header(const unsigned char *h, samc_ckpt *c)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        char *dst = (char *)c + f->at;
        int32_t i32;
        uint64_t u64;
        switch (f->k) {
        case K_RAW: memcpy(dst, h + f->off, f->len); break;
        case K_INT32: memcpy(&i32, h + f->off, 4); *(int *)dst = i32; break;
        case K_SIZE64: memcpy(&u64, h + f->off, 8); *(size_t *)dst = (size_t)u64; break;
        case K_STRING: memcpy(dst, h + f->off, f->len); dst[f->len - 1] = '\0'; break;
        }
    }
}

static uLong crc_floats(uLong crc, const float *v, size_t n)
{
    return n ? crc32_z(crc, (const Bytef *)v, n * sizeof(float)) : crc;
}

samc_status samc_ckpt_save(const char *path, const samc_ckpt *c, char *err)
{
    unsigned char hdr[CKPT_HEADER];
    encode_header(hdr, c);
    const uint64_t nb = c->n_buffers, nm = c->n_momentum, n2 = c->n_second;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc_floats(crc, c->params, c->n_params);
    crc = crc_floats(crc, c->buffers, c->n_buffers);
    crc = crc_floats(crc, c->momentum, c->n_momentum);
    crc = crc_floats(crc, c->second, c->n_second);
    uint32_t crc32v = (uint32_t)crc;

    size_t len = strlen(path) + 5;
    char *tmp = malloc(len);
    SAMC_CHECK(tmp, SAMC_ENOMEM, "out of memory writing %.400s", path);
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", tmp, strerror(errno));
        free(tmp);
        return SAMC_EIO;
    }
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr
          && fwrite(c->params, sizeof(float), c->n_params, f) == c->n_params
          && (nb == 0 || fwrite(c->buffers, sizeof(float), c->n_buffers, f) == c->n_buffers)
          && (nm == 0 || fwrite(c->momentum, sizeof(float), c->n_momentum, f) == c->n_momentum)
          && (n2 == 0 || fwrite(c->second, sizeof(float), c->n_second, f) == c->n_second)
          && fwrite(&crc32v, 4, 1, f) == 1
          && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (fclose(f) != 0 && ok) ok = 0, saved_errno = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, saved_errno = errno;
    if (!ok) {
        samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", path, strerror(saved_errno));
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
    SAMC_FREE_ALL(c->params, c->buffers, c->momentum, c->second);
    c->params = c->buffers = c->momentum = c->second = NULL;
    c->n_params = c->n_buffers = c->n_momentum = c->n_second = 0;
}

/* Reads n floats into a new array (NULL for n == 0): NULL on success, else
 * what went wrong. */
static const char *read_floats(FILE *f, uint64_t n, float **out)
{
    *out = NULL;
    if (n == 0) return NULL;
    if (!(*out = malloc((size_t)n * sizeof(float)))) return "out of memory";
    return fread(*out, sizeof(float), (size_t)n, f) != n ? "truncated data" : NULL;
}

/* Reads the rest of an opened checkpoint into c; NULL on success, else
 * what is wrong with the file. */
static const char *read_ckpt(FILE *f, samc_ckpt *c)
{
    unsigned char hdr[CKPT_HEADER];
    uint32_t v = 0, h = 0, crc_file = 0;
    if (fread(hdr, 1, 16, f) != 16 || memcmp(hdr, CKPT_MAGIC, 8) != 0) return "not a samc checkpoint (bad magic)";
    memcpy(&v, hdr + 8, 4);
    memcpy(&h, hdr + 12, 4);
    if (v != CKPT_VERSION || h != CKPT_HEADER) return "unsupported checkpoint version";
    if (fread(hdr + 16, 1, CKPT_HEADER - 16, f) != CKPT_HEADER - 16) return "truncated header";
    samc_ckpt hd;
    memset(&hd, 0, sizeof hd);
    decode_header(hdr, &hd);
    const uint64_t np = hd.n_params, nb = hd.n_buffers, nm = hd.n_momentum, n2 = hd.n_second;
    if (np == 0 || np > CKPT_MAX_FLOATS || nb > CKPT_MAX_FLOATS || (nm != 0 && nm != np) || (n2 != 0 && n2 != np))
        return "implausible parameter count";
    if (hd.accumulate == 0) hd.accumulate = 1;   /* a file from before the recipe fields */
    if (hd.m_sharpness == 0) hd.m_sharpness = 1;
    /* the counts must match the file's size before anything is allocated:
     * a short file must not make us malloc what its header claims */
    const uint64_t want = (uint64_t)CKPT_HEADER + 4 * (np + nb + nm + n2) + 4;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size != want)
        return (uint64_t)sb.st_size < want ? "truncated data" : "trailing bytes after the checksum";
    const char *why = read_floats(f, np, &c->params);
    if (!why) why = read_floats(f, nb, &c->buffers);
    if (!why) why = read_floats(f, nm, &c->momentum);
    if (!why) why = read_floats(f, n2, &c->second);
    if (why) return why;
    if (fread(&crc_file, 4, 1, f) != 1) return "truncated data";
    if (fgetc(f) != EOF) return "trailing bytes after the checksum";
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, sizeof hdr);
    crc = crc_floats(crc, c->params, (size_t)np);
    crc = crc_floats(crc, c->buffers, (size_t)nb);
    crc = crc_floats(crc, c->momentum, (size_t)nm);
    crc = crc_floats(crc, c->second, (size_t)n2);
    if ((uint32_t)crc != crc_file) return "checksum mismatch (corrupt file)";
    hd.params = c->params;
    hd.buffers = c->buffers;
    hd.momentum = c->momentum;
    hd.second = c->second;
    *c = hd;
    return NULL;
}

samc_status samc_ckpt_load(const char *path, samc_ckpt *c, char *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    SAMC_CHECK(f, SAMC_EIO, "cannot open %.400s: %s", path, strerror(errno));
    const char *why = read_ckpt(f, c);
    fclose(f);
    if (!why) return SAMC_OK;
    samc_ckpt_free(c);
    return samc_errf(err, strcmp(why, "out of memory") ? SAMC_EFORMAT : SAMC_ENOMEM, "%.400s: %s", path, why);
}

/* Sparse rows are checksummed as the dense bytes they stand for up to this
 * many values (so a run on a small LIBSVM set resumes from a checkpoint of
 * the dense reader), else by their CSR arrays (docs/MATH.md section 7). */
#define SAMC_CKPT_DENSE_CRC_MAX ((size_t)1 << 24)

uint32_t samc_ckpt_data_crc(const samc_dataset *ds)
{
    if (samc_dataset_is_sparse(ds)) return samc_csr_crc(ds, SAMC_CKPT_DENSE_CRC_MAX);
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32_z(c, (const Bytef *)ds->x, ds->n * ds->d * sizeof(float));
    c = crc32_z(c, (const Bytef *)ds->y, ds->n * sizeof(float));
    return (uint32_t)c;
}

/* A model of spec on train with l2 and bias whose size is the checkpoint's;
 * 0 when the sizes differ (*m NULL), -1 when it cannot be made. */
static int model_of_size(const samc_ckpt *ck, const samc_dataset *train, double l2, int bias, samc_model **m,
                         char *err)
{
    if (samc_model_create_for(m, ck->model, train, l2, bias, err) != SAMC_OK) return -1;
    if (samc_model_n_params(*m) == ck->n_params && samc_model_n_buffers(*m) == ck->n_buffers) return 1;
    samc_model_free(*m);
    *m = NULL;
    return 0;
}

samc_status samc_ckpt_model(samc_model **m, const samc_ckpt *ck, const samc_dataset *train, double l2,
                            const char *path, const char *data_spec, char *err)
{
    *m = NULL;
    SAMC_CHECK(ck->data_n == train->n && ck->data_crc == samc_ckpt_data_crc(train), SAMC_EINVAL,
               "%.200s was trained on other data than --data %.100s gives (%llu rows there, %zu here"
               "): give the run's --data, --data-dir, --normalize and --train-rows",
               path, data_spec, (unsigned long long)ck->data_n, train->n);
    int got = model_of_size(ck, train, l2, 1, m, err);
    if (got == 0) got = model_of_size(ck, train, l2, 0, m, err);   /* a linear model without bias */
    if (got < 0) return SAMC_EINVAL;
    if (got == 0) {
        samc_model *want = NULL;
        if (samc_model_create_for(&want, ck->model, train, l2, 1, err) != SAMC_OK) return SAMC_EINVAL;
        samc_errf(err, SAMC_EINVAL,
                  "%.200s holds %zu parameters and %zu buffers of model %.100s, but that model on %.100s has %zu and %zu",
                  path, ck->n_params, ck->n_buffers, ck->model, data_spec, samc_model_n_params(want),
                  samc_model_n_buffers(want));
        samc_model_free(want);
        return SAMC_EINVAL;
    }
    if (ck->n_buffers) memcpy(samc_model_buffers(*m), ck->buffers, ck->n_buffers * sizeof(float));
    return SAMC_OK;
}
