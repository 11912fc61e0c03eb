/*
 * train_internal.h -- what the files of src/train share: the CSV writer of
 * columns.c (headers and rows from the column tables, resume's truncation),
 * used by trainer.c; of config.c, switch values and the lines of the train
 * flags, used by config_file.c and run.c.
 */
#ifndef SAMC_TRAIN_INTERNAL_H
#define SAMC_TRAIN_INTERNAL_H

#include <stdio.h>

#include "samc.h"

/* The header line of cols[0..n) and the measure columns selected by the
 * bits of measures, comma-separated, into buf. */
void train_csv_header(char *buf, size_t len, const samc_column *cols, int n, unsigned measures);
/* One row: v[0..n) in the columns' formats, then mv[k] for each bit k of
 * measures, and a newline. */
void train_csv_row(FILE *f, const samc_column *cols, int n, const double *v, unsigned measures,
                   const double *mv);
/* dir/name created with its header line. */
samc_status train_csv_create(FILE **f, const char *dir, const char *name, const char *header, char *err);
/* dir/name cut back to the rows whose column col is < limit (<= with
 * inclusive) and opened for appending; its header must be header. */
samc_status train_csv_truncate(FILE **f, const char *dir, const char *name, const char *header, int col,
                               double limit, int inclusive, char *err);

/* A switch's value: 1 for NULL, "on", "true", "1"; 0 for "off", "false",
 * "0"; -1 for anything else. */
int config_switch_value(const char *v);
/* Every train flag of c on f, one line each: "name = value" (config.txt),
 * or "# name             value" (table: the run's configuration table). */
void config_print_train_flags(const samc_config *c, FILE *f, int table);

/* The rows of a step in epoch `epoch` over n samples: the batch schedule's
 * b times p->accumulate, at most n; and the steps of that epoch, ceil(n / that). */
size_t train_batch_at(const samc_train_params *p, int epoch, size_t n);
int64_t train_steps_in_epoch(const samc_train_params *p, int epoch, size_t n);

#endif
