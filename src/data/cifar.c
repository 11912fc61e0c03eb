/*
 * cifar.c -- readers for the binary CIFAR-10 and CIFAR-100 formats.
 *   CIFAR-10:  DIR/data_batch_1.bin .. data_batch_5.bin (train) and
 *              DIR/test_batch.bin (test), 3073-byte records: one label byte
 *              (0..9), then 3072 pixel bytes.
 *   CIFAR-100: DIR/train.bin and DIR/test.bin, 3074-byte records: a coarse
 *              label byte (0..19, the super-class), a fine label byte
 *              (0..99), then 3072 pixel bytes; the fine labels are taken by
 *              default, the coarse ones on request.
 * The pixels are the red, green and blue planes of a 32 x 32 image, each
 * row-major.  That is already CHW order, so pixel (c, y, x) of record r
 * becomes x[r*3072 + c*1024 + y*32 + x] = byte / 255.  Every file's size is
 * checked (a multiple of the record) before the data set is allocated, so a
 * malformed file never yields a partial set.  Also the readers of the specs
 * cifar10:DIR and cifar100:DIR[,coarse].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_MAX_FILES 5
#define CIFAR_PATH 4096

/* One of the two formats (and, for CIFAR-100, which label it keeps). */
typedef struct cifar_format {
    const char *name;        /* "cifar10", "cifar100" */
    int label_bytes;         /* bytes before the pixels */
    int label_at;            /* the byte of the label taken */
    unsigned lim[2];         /* the largest value of each label byte */
    const char *label[2];    /* their names in messages */
    const char *what;        /* the record, for messages */
    int n_train;             /* train files */
    const char *train_fmt;   /* its name (%d: 1..n_train when n_train > 1) */
    const char *test_name;
} cifar_format;

static const cifar_format CIFAR10 = {
    "cifar10", 1, 0, { 9, 0 }, { "label", NULL }, "CIFAR-10 record (1 label + 3072 pixels)",
    5, "%s/data_batch_%d.bin", "test_batch.bin" };
#define CIFAR100(AT)                                                                    \
    { "cifar100", 2, AT, { 19, 99 }, { "coarse label", "fine label" },                  \
      "CIFAR-100 record (coarse label, fine label, 3072 pixels)", 1, "%s/train.bin",     \
      "test.bin" }
static const cifar_format CIFAR100_FINE = CIFAR100(1), CIFAR100_COARSE = CIFAR100(0);

static size_t record_size(const cifar_format *fm) { return (size_t)fm->label_bytes + CIFAR_PIXELS; }

/* Open path and find its number of records; on error err names the file. */
static samc_status open_batch(const cifar_format *fm, const char *path, FILE **fp,
                              size_t *records, char *err)
{
    size_t size = 0;
    samc_status st = samc_open_regular(path, fp, &size, err);
    if (st != SAMC_OK) return st;
    if (size == 0 || size % record_size(fm) != 0) {
        fclose(*fp);
        *fp = NULL;
        return samc_errf(err, SAMC_EFORMAT,
                         "%s: size %zu bytes is not a positive multiple of the %zu-byte %s",
                         path, size, record_size(fm), fm->what);
    }
    *records = size / record_size(fm);
    return SAMC_OK;
}

/* The files of a set: their names, open streams and record counts. */
typedef struct cifar_files {
    int n;
    char paths[CIFAR_MAX_FILES][CIFAR_PATH];
    FILE *f[CIFAR_MAX_FILES];
    size_t counts[CIFAR_MAX_FILES], records;
} cifar_files;

static samc_status open_batches(const cifar_format *fm, cifar_files *b, const char *dir,
                                int test, char *err)
{
    memset(b, 0, sizeof *b);
    b->n = test ? 1 : fm->n_train;
    for (int k = 0; k < b->n; k++) {
        int len = test ? snprintf(b->paths[k], CIFAR_PATH, "%s/%s", dir, fm->test_name)
                       : snprintf(b->paths[k], CIFAR_PATH, fm->train_fmt, dir, k + 1);
        SAMC_CHECK(len >= 0 && len < CIFAR_PATH, SAMC_EINVAL,
                   "%s: directory name too long: %.100s...", fm->name, dir);
        samc_status st = open_batch(fm, b->paths[k], &b->f[k], &b->counts[k], err);
        if (st != SAMC_OK) return st;
        b->records += b->counts[k];
    }
    return SAMC_OK;
}

/* Every record of b into the rows of ds (allocated); rec: one record's buffer. */
static samc_status read_records(const cifar_format *fm, samc_dataset *ds, cifar_files *b,
                                unsigned char *rec, char *err)
{
    const size_t rs = record_size(fm);
    size_t row = 0;
    for (int k = 0; k < b->n; k++) {
        for (size_t r = 0; r < b->counts[k]; r++, row++) {
            FILE *f = b->f[k];
            if (fread(rec, 1, rs, f) != rs)
                return samc_errf(err, ferror(f) ? SAMC_EIO : SAMC_EFORMAT, "%s: record %zu: %s",
                                 b->paths[k], r + 1,
                                 ferror(f) ? strerror(errno ? errno : EIO)
                                           : "file shrank while being read");
            for (int j = 0; j < fm->label_bytes; j++)   /* both labels of CIFAR-100 */
                SAMC_CHECK(rec[j] <= fm->lim[j], SAMC_EFORMAT,
                           "%s: record %zu: %s %u out of range 0..%u", b->paths[k], r + 1,
                           fm->label[j], (unsigned)rec[j], fm->lim[j]);
            ds->y[row] = (float)rec[fm->label_at];
            float *dst = ds->x + row * CIFAR_PIXELS;
            const unsigned char *px = rec + fm->label_bytes;
            for (size_t j = 0; j < CIFAR_PIXELS; j++) dst[j] = (float)px[j] / 255.0f;
        }
    }
    return SAMC_OK;
}

static samc_status read_cifar(const cifar_format *fm, samc_dataset *ds, const char *dir,
                              int test, char *err)
{
    SAMC_CHECK(ds && dir, SAMC_EINVAL, "samc_read_%s: NULL argument", fm->name);
    memset(ds, 0, sizeof *ds);
    cifar_files files, *b = &files;
    samc_status st = open_batches(fm, b, dir, test, err);
    size_t n = b->records, bytes = 0;
    unsigned char *rec = NULL;
    if (st == SAMC_OK && !samc_data_size(n, CIFAR_PIXELS, sizeof(float), &bytes))
        st = samc_errf(err, SAMC_ENOMEM, "%s: %zu records is too many", b->paths[0], n);
    if (st == SAMC_OK) {
        ds->x = malloc(bytes);
        ds->y = malloc(n * sizeof(float));
        rec = malloc(record_size(fm));
        if (!ds->x || !ds->y || !rec)
            st = samc_errf(err, SAMC_ENOMEM, "%s: out of memory for %zu images", b->paths[0], n);
    }
    if (st == SAMC_OK) st = read_records(fm, ds, b, rec, err);
    for (int k = 0; k < b->n; k++)
        if (b->f[k]) fclose(b->f[k]);
    free(rec);
    if (st != SAMC_OK) {
        samc_dataset_free(ds);
        return st;
    }
    ds->n = n;
    ds->d = CIFAR_PIXELS;
    ds->channels = 3;
    ds->height = CIFAR_SIDE;
    ds->width = CIFAR_SIDE;
    return SAMC_OK;
}

samc_status samc_read_cifar10(samc_dataset *ds, const char *dir, int test, char *err)
{
    return read_cifar(&CIFAR10, ds, dir, test, err);
}

samc_status samc_read_cifar100(samc_dataset *ds, const char *dir, int test, int coarse,
                               char *err)
{
    return read_cifar(coarse ? &CIFAR100_COARSE : &CIFAR100_FINE, ds, dir, test, err);
}

/* ------------------------------------------------ the cifar10: / cifar100: specs */

/* Both sets of dir in format fm; the data set named PREFIX:basename(dir). */
static samc_status load_dir(samc_data_source *src, const cifar_format *fm, const char *dir,
                            const char *files, char *err)
{
    samc_data *data = src->data;
    SAMC_CHECK(*dir, SAMC_EINVAL, "data spec '%s:' names no directory; expected %s:DIR", fm->name,
               fm->name);
    SAMC_CHECK(samc_data_is_dir(dir), SAMC_EIO,
               "%s: %.300s is not a directory (expected the one holding %s)", fm->name, dir,
               files);
    samc_status st = read_cifar(fm, &data->train, dir, 0, err);
    if (st == SAMC_OK) st = read_cifar(fm, &data->test, dir, 1, err);
    if (st == SAMC_OK) {
        snprintf(src->test_path, sizeof src->test_path, "%s/%s", dir, fm->test_name);
        snprintf(data->name, sizeof data->name, "%s:%s", fm->name, samc_data_basename(dir));
    }
    return st;
}

/* cifar10:DIR (the whole rest of the spec is the directory). */
static samc_status cifar10_load(samc_data_source *src, char *err)
{
    return load_dir(src, &CIFAR10, src->arg, "data_batch_1.bin .. data_batch_5.bin and test_batch.bin",
                    err);
}

/* cifar100:DIR or cifar100:DIR,coarse (a directory whose name ends in
 * ",coarse" cannot be named; ",fine" is accepted for the default). */
static samc_status cifar100_load(samc_data_source *src, char *err)
{
    char dir[SAMC_DATA_PATH_MAX];
    const char *comma = strrchr(src->arg, ',');
    const cifar_format *fm = &CIFAR100_FINE;
    size_t len = strlen(src->arg);
    if (comma && (!strcmp(comma, ",coarse") || !strcmp(comma, ",fine"))) {
        if (!strcmp(comma, ",coarse")) fm = &CIFAR100_COARSE;
        len = (size_t)(comma - src->arg);
    } else if (comma) {
        return samc_errf(err, SAMC_EINVAL, "data spec '%.200s': unknown option '%.40s' "
                         "(expected cifar100:DIR or cifar100:DIR,coarse)", src->spec, comma + 1);
    }
    SAMC_CHECK(len < sizeof dir, SAMC_EINVAL, "cifar100: directory name too long: %.100s...",
               src->arg);
    memcpy(dir, src->arg, len);
    dir[len] = '\0';
    return load_dir(src, fm, dir, "train.bin and test.bin", err);
}

const samc_data_reader samc_reader_cifar10 = {"cifar10", 0, "cifar10:DIR", cifar10_load};
const samc_data_reader samc_reader_cifar100 = {"cifar100", 0, "cifar100:DIR[,coarse]",
                                               cifar100_load};
