/*
 * data_internal.h -- the data-spec readers behind samc_data_load.  Each
 * reader file defines one samc_data_reader (or a few) that load.c lists in
 * its registry; a spec "PREFIX:ARG" (or a bare name) picks the reader, whose
 * load() parses ARG itself and fills the train and test sets.  Plus the small
 * helpers those readers share (spec.c).  Not part of the public interface.
 */
#ifndef SAMC_DATA_INTERNAL_H
#define SAMC_DATA_INTERNAL_H

#include "data/readutil.h"

#define SAMC_DATA_PATH_MAX 4096

/* What a reader gets and fills. */
typedef struct samc_data_source {
    samc_data *data;              /* fill train, test (may stay empty) and name;
                                   * on error load.c frees it */
    const char *spec;             /* the whole spec, for messages */
    const char *arg;              /* the text after "PREFIX:" ("" for a bare name) */
    const samc_data_options *opt; /* never NULL */
    char test_path[SAMC_DATA_PATH_MAX]; /* the file of the test labels, named in a
                                   * label error ("" if none) */
    int sharded;                  /* the reader kept only opt's share of the train rows */
} samc_data_source;

typedef struct samc_data_reader {
    const char *prefix; /* spec "PREFIX:ARG", or exactly "PREFIX" if bare */
    int bare;
    const char *form;   /* the accepted form, for messages */
    samc_status (*load)(samc_data_source *src, char *err);
} samc_data_reader;

/* The readers, one file each (mnist.c has both MNIST names). */
extern const samc_data_reader samc_reader_libsvm, samc_reader_csv, samc_reader_synth,
    samc_reader_fashion_mnist, samc_reader_mnist, samc_reader_idx, samc_reader_cifar10,
    samc_reader_cifar100, samc_reader_npy;

/* ------------------------------------------------- spec helpers (spec.c) */

/* The comma-separated fields of a spec's ARG (copied; "" is one empty field). */
typedef struct samc_spec_fields {
    char *buf;
    char **tok;
    size_t n;
} samc_spec_fields;

samc_status samc_spec_split(samc_spec_fields *f, const char *arg, char *err);
void samc_spec_fields_free(samc_spec_fields *f);

/* 1 if path is a directory. */
int samc_data_is_dir(const char *path);

/* "PREFIX:TRAIN[,TEST][,OPTION...]": at most 8 fields; option(tok) returns 1
 * for a field it takes as an option (setting *st on a bad one), 0 for a file
 * name (option may be NULL: no options).  read() reads one file; train is
 * NULL for the train file itself, else the train set read before.  The name
 * becomes "PREFIX:basename(TRAIN)". */
typedef int (*samc_spec_option_fn)(const char *tok, void *ctx, samc_status *st, char *err);
typedef samc_status (*samc_file_read_fn)(samc_dataset *ds, const char *path,
                                         const samc_dataset *train, const void *ctx,
                                         char *err);
samc_status samc_spec_train_test(samc_data_source *src, const samc_data_reader *r,
                                 samc_spec_option_fn option, samc_file_read_fn read,
                                 void *ctx, char *err);

/* "PREFIX:TRAIN_X,TRAIN_Y[,TEST_X,TEST_Y]" read pairwise by read(); the test
 * rows must have the train rows' shape.  The name becomes
 * "PREFIX:basename(TRAIN_X)". */
typedef samc_status (*samc_pair_read_fn)(samc_dataset *ds, const char *x_path,
                                         const char *y_path, char *err);
samc_status samc_spec_pairs(samc_data_source *src, const samc_data_reader *r,
                            samc_pair_read_fn read, char *err);

#endif
