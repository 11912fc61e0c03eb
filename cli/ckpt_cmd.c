/*
 * ckpt_cmd.c -- the flags of samc eval / predict / export, their help, and
 * opening a checkpoint with its run's data and model (ckpt_cmd.h).  The data
 * flags are resolved as samc sharpness resolves them: defaults < the
 * config.txt beside the checkpoint < the flags given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_cmd.h"
#include "flags.h"
#include "util/err.h"

enum { CK_ALL = CK_EVAL | CK_PREDICT | CK_EXPORT };

/* A flag (its help in f.help), and whether it is a data flag (those go to
 * the run's configuration, over its config.txt). */
typedef struct ck_flag {
    cli_flag f;
    int data;
} ck_flag;

static const ck_flag ck_flags[] = {
    { { "checkpoint", "FILE", CK_ALL, 0, "the checkpoint (e.g. OUT/final.ckpt; required)" }, 0 },
    { { "data", "SPEC", CK_ALL, 0, "the data (as samc train --data; default: the run's, from config.txt)" }, 1 },
    { { "data-dir", "DIR", CK_ALL, 0, "where fashion-mnist / mnist files are looked for" }, 1 },
    { { "train-rows", "N", CK_ALL, 0, "the run's --train-rows" }, 1 },
    { { "val", "N", CK_ALL, 0, "the run's --val" }, 1 },
    { { "test-rows", "N", CK_EVAL | CK_PREDICT, 0, "the run's --test-rows (0: the whole test set)" }, 1 },
    { { "normalize", NULL, CK_ALL, 0, "the run's --normalize" }, 1 },
    { { "threads", "N", CK_EVAL | CK_PREDICT, 0, "OpenMP and BLAS threads (0: all cores)" }, 0 },
    { { "format", "FMT", CK_EVAL, 0, "table | csv | json (default table)" }, 0 },
    { { "format", "FMT", CK_EXPORT, 0,
      "npy (a folder of NAME.npy) | safetensors (one file); default: safetensors\n"
      "  when --output ends in .safetensors, else npy" }, 0 },
    { { "output", "P.csv|P.npy", CK_PREDICT, 0, "where the probabilities go (required)" }, 0 },
    { { "logits", NULL, CK_PREDICT, 0, "write the logits (the model's outputs before the loss) instead" }, 0 },
    { { "output", "PATH", CK_EXPORT, 0, "the folder or file written (required)" }, 0 },
};
#define N_CK_FLAGS (sizeof ck_flags / sizeof *ck_flags)

static const char *const usage[] = {
    "usage: samc eval --checkpoint FILE [flags]\n\n"
    "The loss, accuracy, per-class accuracy and confusion matrix (rows: true class,\n"
    "columns: predicted) of a checkpoint on the test set of its data, in evaluation\n"
    "mode; the loss includes the run's --l2 term as metrics.csv's test_loss does.\n",
    "usage: samc predict --checkpoint FILE --output P.csv|P.npy [flags]\n\n"
    "One row per test sample: the class probabilities (softmax of the logits;\n"
    "binary logreg: P(y = +1), the larger label; linear: the prediction), as CSV\n"
    "with a header line or as a float32 .npy array of shape (rows, columns).\n",
    "usage: samc export --checkpoint FILE --output PATH [--format npy|safetensors] [flags]\n\n"
    "The parameters and BatchNorm buffers as named arrays, named and shaped as the\n"
    "PyTorch state_dict of the equivalent module (load_state_dict, strict): a\n"
    "folder of NAME.npy files, or one .safetensors file. BatchNorm's\n"
    "num_batches_tracked is written too (int64: the steps taken). The data are read\n"
    "for the model's shapes only.\n",
};

int ckpt_cmd_help(unsigned cmd, int argc, char **argv)
{
    int asked = 0;
    for (int i = 0; i < argc; i++) asked |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
    if (!asked) return 0;
    fputs(usage[cmd == CK_EVAL ? 0 : cmd == CK_PREDICT ? 1 : 2], stdout);
    fputs("\nThe data flags default to those in config.txt beside the checkpoint (a run's\n"
          "OUT); data other than the run's is refused.\n\nflags:\n", stdout);
    for (size_t k = 0; k < N_CK_FLAGS; k++) {
        const ck_flag *fl = &ck_flags[k];
        if (!(fl->f.cmds & cmd)) continue;
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", fl->f.name, fl->f.arg ? " " : "", fl->f.arg ? fl->f.arg : "");
        printf("  %-22s ", left);
        for (const char *h = fl->f.help; *h; h++) {
            putchar(*h);
            if (*h == '\n') printf("  %-22s ", "");
        }
        putchar('\n');
    }
    printf("  %-22s this text\n", "--help");
    return 1;
}

static const char *cmd_name(unsigned cmd)
{
    return cmd == CK_EVAL ? "eval" : cmd == CK_PREDICT ? "predict" : "export";
}

samc_status ckpt_cmd_parse(unsigned cmd, int argc, char **argv, ckpt_args *a, char *err)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        SAMC_CHECK(!strncmp(argv[i], "--", 2), SAMC_EINVAL, "unexpected argument '%.200s' (flags start with --)",
                   argv[i]);
        cli_arg g;
        samc_status st = cli_arg_read(ck_flags, N_CK_FLAGS, sizeof *ck_flags, cmd, argc, argv, &i, &g, err);
        if (st != SAMC_OK) return st;
        SAMC_CHECK(g.flag, SAMC_EINVAL, "unknown flag '--%.*s' (see samc %s --help)", (int)g.len, g.name,
                   cmd_name(cmd));
        const ck_flag *fl = (const ck_flag *)g.flag;
        const char *name = fl->f.name;
        if (fl->data) {
            SAMC_CHECK(a->n_data < CK_MAX_DATA_FLAGS, SAMC_EINVAL, "too many data flags");
            a->data_name[a->n_data] = name;
            a->data_value[a->n_data++] = g.value;
        } else if (!strcmp(name, "checkpoint")) {
            a->ckpt = g.value;
        } else if (!strcmp(name, "format")) {
            a->format = g.value;
        } else if (!strcmp(name, "output")) {
            a->output = g.value;
        } else if (!strcmp(name, "logits")) {
            a->logits = 1;
        } else {
            char *end;
            long v = strtol(g.value, &end, 10);
            SAMC_CHECK(*g.value && !*end && v >= 0 && v <= 4096, SAMC_EINVAL,
                       "--threads: expected an integer in 0..4096, got '%.80s'", g.value);
            a->threads = (int)v;
        }
    }
    SAMC_CHECK(a->ckpt && *a->ckpt, SAMC_EINVAL, "--checkpoint FILE is required (e.g. OUT/final.ckpt)");
    SAMC_CHECK(cmd == CK_EVAL || (a->output && *a->output), SAMC_EINVAL, "--output %s is required",
               cmd == CK_PREDICT ? "P.csv|P.npy" : "PATH");
    return SAMC_OK;
}

/* The checkpoint's run set up as `samc sharpness` sets it up: the data keys of
 * the config.txt beside it, then the data flags given; its data loaded and
 * the checkpoint's model rebuilt on it (the run's l2 and label smoothing,
 * from the checkpoint). */
static samc_status open_model(const ckpt_args *a, ckpt_run *r, samc_config *c, char *err)
{
    const unsigned cmds = SAMC_CMD_TRAIN | SAMC_CMD_SHARPNESS;
    samc_status st = samc_config_set_by_name(c, SAMC_CMD_SHARPNESS, "checkpoint", a->ckpt, err);
    if (st == SAMC_OK) st = samc_config_read_run_data(c, a->ckpt, err);
    for (int i = 0; st == SAMC_OK && i < a->n_data; i++)
        st = samc_config_set_by_name(c, cmds, a->data_name[i], a->data_value[i], err);
    if (st == SAMC_OK) st = samc_config_load_data(c, &r->data, NULL, err);
    if (st == SAMC_OK) st = samc_config_checkpoint_model(c, &r->ck, &r->data, &r->m, err);
    return st;
}

samc_status ckpt_run_open(const ckpt_args *a, ckpt_run *r, char *err)
{
    memset(r, 0, sizeof *r);
    samc_status st = samc_ckpt_load(a->ckpt, &r->ck, err);
    if (st != SAMC_OK) return st;
    if (a->threads > 0) samc_set_threads(a->threads);
    samc_config *c = samc_config_new();
    st = c ? open_model(a, r, c, err) : samc_errf(err, SAMC_ENOMEM, "out of memory");
    samc_config_free(c);
    if (st != SAMC_OK) ckpt_run_close(r);
    return st;
}

void ckpt_run_close(ckpt_run *r)
{
    samc_model_free(r->m);
    r->m = NULL;
    samc_data_free(&r->data);
    samc_ckpt_free(&r->ck);
}

ck_kind ckpt_kind(const ckpt_run *r)
{
    const char *spec = r->ck.model;
    if (!strcmp(spec, "linear")) return CK_REGRESSION;
    return !strcmp(spec, "logreg") ? CK_BINARY : CK_MULTICLASS;
}

samc_status ckpt_test_logits(const ckpt_run *r, float **z, size_t *ncol, char *err)
{
    const samc_dataset *test = &r->data.test;
    *z = NULL;
    SAMC_CHECK(test->n > 0, SAMC_EINVAL, "--data %.200s has no test set (give one: e.g. libsvm:TRAIN,TEST)",
               r->data.name);
    *ncol = ckpt_kind(r) == CK_MULTICLASS ? (size_t)r->data.train.n_classes : 1;
    *z = malloc(test->n * *ncol * sizeof **z);
    SAMC_CHECK(*z, SAMC_ENOMEM, "out of memory (%zu x %zu logits)", test->n, *ncol);
    samc_status st = samc_model_logits(r->m, test, NULL, test->n, r->ck.params, *z);
    if (st == SAMC_OK) return st;
    free(*z);
    *z = NULL;
    return samc_errf(err, st, "the logits of the test set of %.200s: %s", r->data.name, samc_strerror(st));
}

int ckpt_predicted(ck_kind kind, const float *z, size_t ncol)
{
    if (kind != CK_MULTICLASS) return z[0] >= 0.0f;
    size_t arg = 0;
    for (size_t j = 1; j < ncol; j++)
        if (z[j] > z[arg]) arg = j;
    return (int)arg;
}

int ck_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

int ckpt_cmd_main(unsigned cmd, int argc, char **argv, ckpt_check_fn check, ckpt_body_fn body)
{
    if (ckpt_cmd_help(cmd, argc, argv)) return 0;
    samc_errbuf err = "";
    ckpt_args a;
    ckpt_run r;
    if (ckpt_cmd_parse(cmd, argc, argv, &a, err) != SAMC_OK || (check && check(&a, err) != SAMC_OK) ||
        ckpt_run_open(&a, &r, err) != SAMC_OK)
        return cli_die(err);
    samc_status st = body(&a, &r, err);
    ckpt_run_close(&r);
    return st == SAMC_OK ? 0 : cli_die(err);
}
