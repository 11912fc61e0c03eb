/*
 * cifar.c -- reader for the binary CIFAR-10 format: DIR/data_batch_1.bin ..
 * data_batch_5.bin (train) and DIR/test_batch.bin (test), each a sequence of
 * 3073-byte records: one label byte (0..9), then 3072 pixel bytes -- the red,
 * green and blue planes of a 32 x 32 image, each row-major.  That is already
 * CHW order, so pixel (c, y, x) of record r becomes x[r*3072 + c*1024 + y*32 + x]
 * = byte / 255.  Every file's size is checked (a multiple of 3073) before the
 * data set is allocated, so a malformed batch never yields a partial set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "samc.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_RECORD (1 + CIFAR_PIXELS)            /* 3073 */
#define CIFAR_TRAIN_FILES 5
#define CIFAR_PATH 4096

/* Open path and find its number of records; on error err names the file. */
static samc_status open_batch(const char *path, FILE **fp, size_t *records, char *err)
{
    *fp = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        samc_data_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return SAMC_EIO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        samc_data_errf(err, "%s: cannot stat: %s", path, strerror(errno));
        fclose(f);
        return SAMC_EIO;
    }
    if (!S_ISREG(sb.st_mode)) {
        samc_data_errf(err, "%s: not a regular file", path);
        fclose(f);
        return SAMC_EIO;
    }
    size_t size = (size_t)sb.st_size;
    if (size == 0 || size % CIFAR_RECORD != 0) {
        samc_data_errf(err,
                       "%s: size %zu bytes is not a positive multiple of the %d-byte "
                       "CIFAR-10 record (1 label + 3072 pixels)",
                       path, size, CIFAR_RECORD);
        fclose(f);
        return SAMC_EFORMAT;
    }
    *records = size / CIFAR_RECORD;
    *fp = f;
    return SAMC_OK;
}

samc_status samc_read_cifar10(samc_dataset *ds, const char *dir, int test, char *err)
{
    if (!ds || !dir) {
        samc_data_errf(err, "samc_read_cifar10: NULL argument");
        return SAMC_EINVAL;
    }
    memset(ds, 0, sizeof *ds);

    int nfiles = test ? 1 : CIFAR_TRAIN_FILES;
    char paths[CIFAR_TRAIN_FILES][CIFAR_PATH];
    FILE *files[CIFAR_TRAIN_FILES] = {NULL};
    size_t counts[CIFAR_TRAIN_FILES] = {0}, n = 0;
    samc_status st = SAMC_OK;

    for (int k = 0; k < nfiles && st == SAMC_OK; k++) {
        int len = test ? snprintf(paths[k], CIFAR_PATH, "%s/test_batch.bin", dir)
                       : snprintf(paths[k], CIFAR_PATH, "%s/data_batch_%d.bin", dir, k + 1);
        if (len < 0 || len >= CIFAR_PATH) {
            samc_data_errf(err, "cifar10: directory name too long: %.100s...", dir);
            st = SAMC_EINVAL;
            break;
        }
        st = open_batch(paths[k], &files[k], &counts[k], err);
        n += counts[k];
    }

    size_t bytes = 0;
    unsigned char *rec = NULL;
    if (st == SAMC_OK && !samc_data_size(n, CIFAR_PIXELS, sizeof(float), &bytes)) {
        samc_data_errf(err, "%s: %zu records is too many", paths[0], n);
        st = SAMC_ENOMEM;
    }
    if (st == SAMC_OK) {
        ds->x = malloc(bytes);
        ds->y = malloc(n * sizeof(float));
        rec = malloc(CIFAR_RECORD);
        if (!ds->x || !ds->y || !rec) {
            samc_data_errf(err, "%s: out of memory for %zu images", paths[0], n);
            st = SAMC_ENOMEM;
        }
    }
    size_t row = 0;
    for (int k = 0; k < nfiles && st == SAMC_OK; k++) {
        for (size_t r = 0; r < counts[k]; r++, row++) {
            size_t got = fread(rec, 1, CIFAR_RECORD, files[k]);
            if (got != CIFAR_RECORD) {
                samc_data_errf(err, "%s: record %zu: %s", paths[k], r + 1,
                               ferror(files[k]) ? strerror(errno ? errno : EIO)
                                                : "file shrank while being read");
                st = ferror(files[k]) ? SAMC_EIO : SAMC_EFORMAT;
                break;
            }
            if (rec[0] > 9) {
                samc_data_errf(err, "%s: record %zu: label %u out of range 0..9",
                               paths[k], r + 1, (unsigned)rec[0]);
                st = SAMC_EFORMAT;
                break;
            }
            ds->y[row] = (float)rec[0];
            float *dst = ds->x + row * CIFAR_PIXELS;
            for (size_t j = 0; j < CIFAR_PIXELS; j++)
                dst[j] = (float)rec[1 + j] / 255.0f;
        }
    }
    for (int k = 0; k < nfiles; k++)
        if (files[k]) fclose(files[k]);
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
