/*
 * ckpt_cmd.h -- what the commands on a checkpoint share (samc eval, samc
 * predict, samc export): their flags, the checkpoint opened with its run's
 * data and its model rebuilt around it (samc_ckpt_model), and output files
 * that appear whole or not at all.
 */
#ifndef SAMC_CLI_CKPT_CMD_H
#define SAMC_CLI_CKPT_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "samc.h"

/* The commands (bits of a flag's cmds). */
enum { CK_EVAL = 1, CK_PREDICT = 2, CK_EXPORT = 4 };

#define CK_MAX_DATA_FLAGS 16

/* The flags as given. */
typedef struct ckpt_args {
    const char *ckpt;       /* --checkpoint */
    const char *format;     /* --format (NULL: the command's default) */
    const char *output;     /* --output */
    int threads;            /* --threads (0: all cores) */
    int logits;             /* predict --logits: the logits, not probabilities */
    int n_data;             /* the data flags, in order, over the run's config.txt */
    const char *data_name[CK_MAX_DATA_FLAGS];
    const char *data_value[CK_MAX_DATA_FLAGS];
} ckpt_args;

/* A checkpoint and its model on the run's data. */
typedef struct ckpt_run {
    samc_ckpt ck;
    samc_data data;
    samc_model *m;          /* its buffers hold the checkpoint's */
} ckpt_run;

/* `samc NAME --help` text when argv asks for it: 1 (printed), else 0. */
int ckpt_cmd_help(unsigned cmd, int argc, char **argv);
/* argv (after the command's name) into a; --checkpoint required, and
 * --output where the command needs it. */
samc_status ckpt_cmd_parse(unsigned cmd, int argc, char **argv, ckpt_args *a, char *err);
/* Loads a->ckpt and its data (flags over the run's config.txt), rebuilds
 * the model and checks that they belong together.  On failure r is closed. */
samc_status ckpt_run_open(const ckpt_args *a, ckpt_run *r, char *err);
void ckpt_run_close(ckpt_run *r);

/* What a model's outputs are: a regression (linear: one column, the
 * prediction), a binary classifier (logreg: one logit, class 1 when >= 0)
 * or K logits (softmax, the networks). */
typedef enum ck_kind { CK_REGRESSION = 0, CK_BINARY, CK_MULTICLASS } ck_kind;
ck_kind ckpt_kind(const ckpt_run *r);
/* The logits of every test row, [test.n][*ncol] (malloc'd); an error when
 * the data have no test set. */
samc_status ckpt_test_logits(const ckpt_run *r, float **z, size_t *ncol, char *err);
/* The class a row of logits predicts (first maximum; binary: z >= 0). */
int ckpt_predicted(ck_kind kind, const float *z, size_t ncol);

/* s ends with suffix. */
int ck_ends_with(const char *s, const char *suffix);

/* An output file written whole or not at all: out_open opens PATH.tmp,
 * out_commit flushes, syncs and renames it over PATH (on failure, or by
 * out_abort, the temporary is removed).  tmp holds room for PATH.tmp. */
typedef struct out_file {
    FILE *f;
    char path[1100], tmp[1110];
} out_file;
samc_status out_open(out_file *o, const char *path, char *err);
samc_status out_commit(out_file *o, char *err);
void out_abort(out_file *o);

/* A .npy header (version 1.0, C order) for an array of dtype descr
 * ("<f4", "<i8") and shape[0..ndim) (ndim 0: a scalar). */
void npy_write_header(FILE *f, const char *descr, int ndim, const int64_t *shape);
/* n floats / one int64 as little-endian bytes. */
void write_f32le(FILE *f, const float *x, size_t n);
void write_i64le(FILE *f, int64_t v);

/* A command's whole run: --help, the flags, check(a) (may be NULL: what can
 * be refused before loading anything), the checkpoint opened, body, the
 * error line; returns the exit status. */
typedef samc_status (*ckpt_check_fn)(const ckpt_args *a, char *err);
typedef samc_status (*ckpt_body_fn)(const ckpt_args *a, const ckpt_run *r, char *err);
int ckpt_cmd_main(unsigned cmd, int argc, char **argv, ckpt_check_fn check, ckpt_body_fn body);

/* The commands (argv after the command's name; the exit status). */
int samc_cmd_eval(int argc, char **argv);
int samc_cmd_predict(int argc, char **argv);
int samc_cmd_export(int argc, char **argv);

#endif
