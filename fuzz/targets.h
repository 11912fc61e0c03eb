/*
 * fuzz/targets.h -- the per-target calling code shared by the libFuzzer entry
 * points (fuzz/fuzz_<name>.c) and the corpus replay test
 * (tests/test_fuzz_corpus.c).  Each fuzz_<name>(data, size) turns the bytes
 * into the reader's input (files in a per-process temporary directory),
 * calls the public reader, frees everything and returns the reader's status
 * (or SAMC_OK for a skipped input, see below).  Nothing is asserted here:
 * the sanitizers and the caller judge.
 *
 * Input layouts (what the seeds in fuzz/seeds/<name>/ look like):
 *   libsvm    the file
 *   csv       byte 0 picks label_col (b % 5 - 1: -1..3) and header
 *             ((b / 5) % 3 - 1: -1..1); the rest is the file
 *   idx       2 bytes (little-endian) k, then k bytes of the images file,
 *             then the labels file (k is clipped to what there is)
 *   cifar10   the file test_batch.bin (samc_read_cifar10 with test = 1)
 *   cifar100  byte 0: bit 0 coarse; the rest is the file test.bin
 *             (samc_read_cifar100 with test = 1)
 *   npy       2 bytes k, then k bytes of X.npy, then Y.npy
 *   ckpt      the checkpoint file
 *   dataspec  byte 0: bit 0 normalize, bits 1-2 the validation rows (0..3);
 *             the rest is the text after "synth:" given to samc_data_load_ex
 *   schedule  the text, given to all three of samc_lr/rho/batch_schedule_parse
 *             (and the parsed schedules formatted back)
 *
 * Skipped inputs (return SAMC_OK at once, the reader is not called): synth
 * specs whose n, test or d exceed small caps (the data set is dense by
 * design: its size is what the input asks for, not a bug).  LIBSVM rows are
 * sparse, so any feature index is read; the target checks the CSR
 * invariants of what it returns.
 */
#ifndef SAMC_FUZZ_TARGETS_H
#define SAMC_FUZZ_TARGETS_H

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samc.h"

/* each includer uses some of the targets */
#pragma GCC diagnostic ignored "-Wunused-function"

static char fuzz_dir_[64];

static void fuzz_cleanup_(void)
{
    static const char *names[] = {"in", "x", "y", "test_batch.bin"};
    char p[128];
    if (!fuzz_dir_[0]) return;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir_, names[i]);
        unlink(p);
    }
    rmdir(fuzz_dir_);
}

/* The per-process directory (created on first use, removed at exit): in
 * /dev/shm where there is one (memory: a file written and read per input
 * costs microseconds there, milliseconds on a disk), else /tmp. */
static const char *fuzz_dir(void)
{
    if (!fuzz_dir_[0]) {
        char shm[] = "/dev/shm/samc_fuzz_XXXXXX", tmp[] = "/tmp/samc_fuzz_XXXXXX";
        const char *d = mkdtemp(shm);
        if (!d) d = mkdtemp(tmp);
        if (!d) {
            perror("fuzz: mkdtemp");
            abort();
        }
        snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s", d);
        atexit(fuzz_cleanup_);
    }
    return fuzz_dir_;
}

/* Write data into fuzz_dir()/name; path receives the file name. */
static void fuzz_write(const char *name, const uint8_t *data, size_t size, char *path,
                       size_t len)
{
    snprintf(path, len, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: writing the input");
        abort();
    }
}

/* A NUL-terminated copy of data (NUL bytes inside end the string early). */
static char *fuzz_string(const uint8_t *data, size_t size, const char *prefix)
{
    size_t pl = strlen(prefix);
    char *s = malloc(pl + size + 1);
    if (!s) abort();
    memcpy(s, prefix, pl);
    if (size) memcpy(s + pl, data, size);
    s[pl + size] = '\0';
    return s;
}

/* Split "k (2 bytes LE), k bytes, rest" into two files a and b. */
static void fuzz_split2(const uint8_t *data, size_t size, char *pa, char *pb, size_t len)
{
    size_t k = size >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 : 0;
    const uint8_t *p = size >= 2 ? data + 2 : data;
    size_t rest = size >= 2 ? size - 2 : size;
    if (k > rest) k = rest;
    fuzz_write("x", p, k, pa, len);
    fuzz_write("y", p + k, rest - k, pb, len);
}

/* ------------------------------------------------------------ the targets */

/* The CSR rows the LIBSVM reader returns hold its invariants: offsets from
 * 0 to nnz, columns strictly ascending within a row and below d. */
static void fuzz_check_csr_(const samc_dataset *ds)
{
    if (ds->ptr[0] != 0 || !ds->val || (!ds->col32 == !ds->col64)) abort();
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->ptr[i + 1] < ds->ptr[i]) abort();
        for (size_t k = ds->ptr[i]; k < ds->ptr[i + 1]; k++) {
            uint64_t j = ds->col32 ? ds->col32[k] : ds->col64[k];
            uint64_t prev = k > ds->ptr[i] ? (ds->col32 ? ds->col32[k - 1] : ds->col64[k - 1]) : 0;
            if (j >= ds->d || (k > ds->ptr[i] && j <= prev) || !isfinite(ds->val[k])) abort();
        }
    }
}

static int fuzz_libsvm(const uint8_t *data, size_t size)
{
    char path[128];
    fuzz_write("in", data, size, path, sizeof path);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status st = samc_read_libsvm(&ds, path, 0, err);
    if (st == SAMC_OK) fuzz_check_csr_(&ds);
    samc_dataset_free(&ds);
    return st;
}

static int fuzz_csv(const uint8_t *data, size_t size)
{
    int label_col = -1, header = 0;
    if (size > 0) {
        label_col = data[0] % 5 - 1;
        header = (data[0] / 5) % 3 - 1;
        data++;
        size--;
    }
    char path[128];
    fuzz_write("in", data, size, path, sizeof path);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status st = samc_read_csv(&ds, path, label_col, header, err);
    samc_dataset_free(&ds);
    return st;
}

/* A reader of two files (idx, npy) on the two parts of the input. */
static int fuzz_pair(const uint8_t *data, size_t size,
                     samc_status (*read)(samc_dataset *, const char *, const char *, char *))
{
    char pa[128], pb[128];
    fuzz_split2(data, size, pa, pb, sizeof pa);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status st = read(&ds, pa, pb, err);
    samc_dataset_free(&ds);
    return st;
}

static int fuzz_idx(const uint8_t *data, size_t size)
{
    return fuzz_pair(data, size, samc_read_idx);
}

static int fuzz_cifar10(const uint8_t *data, size_t size)
{
    char path[128];
    fuzz_write("test_batch.bin", data, size, path, sizeof path);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status st = samc_read_cifar10(&ds, fuzz_dir(), 1, err);
    samc_dataset_free(&ds);
    return st;
}

static int fuzz_cifar100(const uint8_t *data, size_t size)
{
    char path[128];
    const int coarse = size > 0 && (data[0] & 1);
    if (size > 0) data++, size--;
    fuzz_write("test.bin", data, size, path, sizeof path);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status st = samc_read_cifar100(&ds, fuzz_dir(), 1, coarse, err);
    samc_dataset_free(&ds);
    return st;
}

static int fuzz_npy(const uint8_t *data, size_t size)
{
    return fuzz_pair(data, size, samc_read_npy);
}

static int fuzz_ckpt(const uint8_t *data, size_t size)
{
    char path[128];
    fuzz_write("in", data, size, path, sizeof path);
    samc_ckpt c;
    samc_errbuf err = "";
    samc_status st = samc_ckpt_load(path, &c, err);
    samc_ckpt_free(&c);
    return st;
}

/* 1 if every n=, d=, test= field of the synth spec s is within the caps (or
 * does not parse as a number, which the library refuses on its own). */
static int fuzz_synth_small(const char *s)
{
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char field[64];
        if (len < sizeof field) {
            memcpy(field, p, len);
            field[len] = '\0';
            char *eq = strchr(field, '=');
            if (eq) {
                *eq = '\0';
                double cap = !strcmp(field, "d") ? 40 : (!strcmp(field, "n") ||
                             !strcmp(field, "test")) ? 200 : -1;
                char *end;
                double v = strtod(eq + 1, &end);
                if (cap > 0 && end != eq + 1 && !(fabs(v) <= cap)) return 0;
            }
        } else {
            /* a long field could be n=000...0001e9: refuse the spec */
            const char *eq = memchr(p, '=', len);
            if (eq && (size_t)(eq - p) <= 4) return 0;
        }
        if (!c) break;
        p = c + 1;
    }
    /* the defaults are n = d = 100 */
    int has_d = strstr(s, ",d=") != NULL;
    return has_d;
}

static int fuzz_dataspec(const uint8_t *data, size_t size)
{
    samc_data_options opt = samc_data_default_options();
    if (size > 0) {
        opt.normalize = data[0] & 1;
        opt.val = (data[0] >> 1) & 3;
        data++;
        size--;
    }
    char *spec = fuzz_string(data, size, "synth:");
    samc_status st = SAMC_OK;
    if (fuzz_synth_small(spec + 6)) {
        samc_data d;
        samc_errbuf err = "";
        st = samc_data_load_ex(&d, spec, &opt, err);
        samc_data_free(&d);
    }
    free(spec);
    return st;
}

static int fuzz_schedule(const uint8_t *data, size_t size)
{
    char *spec = fuzz_string(data, size, "");
    samc_errbuf err = "";
    char buf[256];
    /* the fields a spec does not name keep these values */
    samc_lr_schedule lr = {.kind = SAMC_LR_CONST, .eta_max = 0.1, .eta_init = 0.01,
                           .warmup = 5};
    samc_rho_schedule rho = {.kind = SAMC_RHO_CONST, .rho_max = 0.05};
    samc_batch_schedule b = {.kind = SAMC_BATCH_CONST, .b0 = 32};
    static const int epochs[] = {0, 1, 7, 1000, 1 << 30};
    static const int64_t steps[] = {0, 3, 50, 99, 100, 1000};
    samc_status s1 = samc_lr_schedule_parse(&lr, spec, err);
    if (s1 == SAMC_OK) {
        samc_lr_schedule_format(&lr, buf, sizeof buf);
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
            for (size_t j = 0; j < sizeof epochs / sizeof *epochs; j++)
                (void)samc_lr_at(&lr, steps[i], 100, epochs[j]);
    }
    samc_status s2 = samc_rho_schedule_parse(&rho, spec, err);
    if (s2 == SAMC_OK) {
        samc_rho_schedule_format(&rho, buf, sizeof buf);
        (void)samc_rho_at(&rho, &lr, 0.05);
        (void)samc_rho_at(&rho, &lr, lr.eta_max);
    }
    samc_status s3 = samc_batch_schedule_parse(&b, spec, NULL);
    if (s3 == SAMC_OK) {
        samc_batch_schedule_format(&b, buf, sizeof buf);
        for (size_t j = 0; j < sizeof epochs / sizeof *epochs; j++) {
            (void)samc_batch_at(&b, epochs[j], 0);
            (void)samc_batch_at(&b, epochs[j], 1000);
            (void)samc_batch_steps_in_epoch(&b, epochs[j], 1000);
        }
    }
    free(spec);
    /* OK if one parser took it (each schedule seed is valid for one of them) */
    return s1 == SAMC_OK || s2 == SAMC_OK || s3 == SAMC_OK ? SAMC_OK : s1;
}

#endif
