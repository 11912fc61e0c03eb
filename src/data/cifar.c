/*
 * cifar.c -- reader for the binary CIFAR-10 format: DIR/data_batch_1.bin ..
 * data_batch_5.bin (train) and DIR/test_batch.bin (test), each a sequence of
 * 3073-byte records: one label byte (0..9), then 3072 pixel bytes -- the red,
 * green and blue planes of a 32 x 32 image, each row-major.  That is already
 * CHW order, so pixel (c, y, x) of record r becomes x[r*3072 + c*1024 + y*32 + x]
 * = byte / 255.  Every file's size is checked (a multiple of 3073) before the
 * data set is allocated, so a malformed batch never yields a partial set.
 * Also the reader of the spec cifar10:DIR.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_RECORD (1 + CIFAR_PIXELS)            /* 3073 */
#define CIFAR_TRAIN_FILES 5
#define CIFAR_PATH 4096

/* Open path and find its number of records; on error err names the file. */
static samc_status open_batch(const char *path, FILE **fp, size_t *records, char *err)
{
    size_t size = 0;
    samc_status st = samc_open_regular(path, fp, &size, err);
    if (st != SAMC_OK) return st;
    if (size == 0 || size % CIFAR_RECORD != 0) {
        fclose(*fp);
        *fp = NULL;
        return samc_errf(err, SAMC_EFORMAT,
                         "%s: size %zu bytes is not a positive multiple of the %d-byte "
                         "CIFAR-10 record (1 label + 3072 pixels)",
                         path, size, CIFAR_RECORD);
    }
    *records = size / CIFAR_RECORD;
    return SAMC_OK;
}

/* The batch files of a set: their names, open streams and record counts. */
typedef struct cifar_files {
    int n;
    char paths[CIFAR_TRAIN_FILES][CIFAR_PATH];
    FILE *f[CIFAR_TRAIN_FILES];
    size_t counts[CIFAR_TRAIN_FILES], records;
} cifar_files;

static samc_status open_batches(cifar_files *b, const char *dir, int test, char *err)
{
    memset(b, 0, sizeof *b);
    b->n = test ? 1 : CIFAR_TRAIN_FILES;
    for (int k = 0; k < b->n; k++) {
        int len = test ? snprintf(b->paths[k], CIFAR_PATH, "%s/test_batch.bin", dir)
                       : snprintf(b->paths[k], CIFAR_PATH, "%s/data_batch_%d.bin", dir, k + 1);
        SAMC_CHECK(len >= 0 && len < CIFAR_PATH, SAMC_EINVAL,
                   "cifar10: directory name too long: %.100s...", dir);
        samc_status st = open_batch(b->paths[k], &b->f[k], &b->counts[k], err);
        if (st != SAMC_OK) return st;
        b->records += b->counts[k];
    }
    return SAMC_OK;
}

/* Every record of b into the rows of ds (allocated); rec: one record's buffer. */
static samc_status read_records(samc_dataset *ds, cifar_files *b, unsigned char *rec,
                                char *err)
{
    size_t row = 0;
    for (int k = 0; k < b->n; k++) {
        for (size_t r = 0; r < b->counts[k]; r++, row++) {
            FILE *f = b->f[k];
            if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD)
                return samc_errf(err, ferror(f) ? SAMC_EIO : SAMC_EFORMAT, "%s: record %zu: %s",
                                 b->paths[k], r + 1,
                                 ferror(f) ? strerror(errno ? errno : EIO)
                                           : "file shrank while being read");
            SAMC_CHECK(rec[0] <= 9, SAMC_EFORMAT, "%s: record %zu: label %u out of range 0..9",
                       b->paths[k], r + 1, (unsigned)rec[0]);
            ds->y[row] = (float)rec[0];
            float *dst = ds->x + row * CIFAR_PIXELS;
            for (size_t j = 0; j < CIFAR_PIXELS; j++) dst[j] = (float)rec[1 + j] / 255.0f;
        }
    }
    return SAMC_OK;
}

samc_status samc_read_cifar10(samc_dataset *ds, const char *dir, int test, char *err)
{
    SAMC_CHECK(ds && dir, SAMC_EINVAL, "samc_read_cifar10: NULL argument");
    memset(ds, 0, sizeof *ds);
    cifar_files files, *b = &files;
    samc_status st = open_batches(b, dir, test, err);
    size_t n = b->records, bytes = 0;
    unsigned char *rec = NULL;
    if (st == SAMC_OK && !samc_data_size(n, CIFAR_PIXELS, sizeof(float), &bytes))
        st = samc_errf(err, SAMC_ENOMEM, "%s: %zu records is too many", b->paths[0], n);
    if (st == SAMC_OK) {
        ds->x = malloc(bytes);
        ds->y = malloc(n * sizeof(float));
        rec = malloc(CIFAR_RECORD);
        if (!ds->x || !ds->y || !rec)
            st = samc_errf(err, SAMC_ENOMEM, "%s: out of memory for %zu images", b->paths[0], n);
    }
    if (st == SAMC_OK) st = read_records(ds, b, rec, err);
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

/* ------------------------------------------------------- the cifar10: spec */

/* cifar10:DIR (the whole rest of the spec is the directory). */
static samc_status cifar_load(samc_data_source *src, char *err)
{
    const char *dir = src->arg;
    samc_data *data = src->data;
    SAMC_CHECK(*dir, SAMC_EINVAL, "data spec 'cifar10:' names no directory; expected cifar10:DIR");
    SAMC_CHECK(samc_data_is_dir(dir), SAMC_EIO,
               "cifar10: %.300s is not a directory (expected the one holding "
               "data_batch_1.bin .. data_batch_5.bin and test_batch.bin)",
               dir);
    samc_status st = samc_read_cifar10(&data->train, dir, 0, err);
    if (st == SAMC_OK) st = samc_read_cifar10(&data->test, dir, 1, err);
    if (st == SAMC_OK) {
        snprintf(src->test_path, sizeof src->test_path, "%s/test_batch.bin", dir);
        snprintf(data->name, sizeof data->name, "cifar10:%s", samc_data_basename(dir));
    }
    return st;
}

const samc_data_reader samc_reader_cifar10 = {"cifar10", 0, "cifar10:DIR", cifar_load};
