/*
 * samc.c -- the command-line program: `samc train`, `samc --help`.
 *
 * Every flag lives in one table below; --help and the configuration table
 * printed at the start of a run both read the values through describe(), so
 * the defaults shown are the library's live defaults.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "samc.h"

#define DEFAULT_DATA "libsvm:/usr/share/doc/liblinear-tools/examples/heart_scale"

typedef struct cli {
    samc_train_params p;
    char data[1024];
    char model[64];
    char out[1024];
} cli;

static void cli_defaults(cli *c)
{
    memset(c, 0, sizeof *c);
    c->p = samc_train_default_params();
    snprintf(c->data, sizeof c->data, "%s", DEFAULT_DATA);
    snprintf(c->model, sizeof c->model, "logreg");
    snprintf(c->out, sizeof c->out, "out");
}

/* ---- value parsers: strict, whole string, finite unless allowed ---- */

static int parse_num(const char *s, double *v, int allow_inf)
{
    if (allow_inf && (!strcasecmp(s, "inf") || !strcasecmp(s, "none"))) {
        *v = INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(d)) return -1;
    *v = d;
    return 0;
}

static int parse_int64(const char *s, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE) return -1;
    *v = x;
    return 0;
}

static const char *opt_names[] = { "sgd", "sam", "usam", "unified", "asam", "gsam" };

/* ---- the flag table ---- */

typedef int (*setter)(cli *c, const char *v, char *err);
typedef void (*getter)(const cli *c, char *buf, size_t len);

typedef struct flag {
    const char *name;   /* without the leading -- */
    const char *arg;    /* NULL: a switch that takes no value */
    setter set;
    getter get;
    const char *help;
} flag;

#define BAD(...) (snprintf(err, SAMC_ERRLEN, __VA_ARGS__), -1)

static int set_data(cli *c, const char *v, char *err) { (void)err; snprintf(c->data, sizeof c->data, "%s", v); return 0; }
static void get_data(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->data); }

static int set_model(cli *c, const char *v, char *err)
{
    /* the library checks the name when it builds the model */
    if (!*v || strlen(v) >= sizeof c->model) return BAD("--model: bad model spec '%.80s'", v);
    snprintf(c->model, sizeof c->model, "%s", v);
    return 0;
}
static void get_model(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->model); }

static int set_nobias(cli *c, const char *v, char *err) { (void)v; (void)err; c->p.bias = 0; return 0; }
static void get_nobias(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->p.bias ? "off" : "on"); }

static int set_opt(cli *c, const char *v, char *err)
{
    for (int k = 0; k < (int)(sizeof opt_names / sizeof *opt_names); k++)
        if (!strcmp(v, opt_names[k])) {
            c->p.optim.kind = (samc_opt_kind)k;
            return 0;
        }
    return BAD("--opt: unknown optimizer '%s' (expected sgd, sam, usam, unified, asam or gsam)", v);
}
static void get_opt(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", opt_names[c->p.optim.kind]); }

static int set_lr(cli *c, const char *v, char *err)
{
    samc_optim_params *o = &c->p.optim;
    double x;
    if (!strcmp(v, "polyak")) {
        o->rule = SAMC_STEP_POLYAK;
        o->polyak_c = 1.0;
    } else if (!strncmp(v, "sps", 3) && (v[3] == 0 || v[3] == ':')) {
        if (v[3] == ':' && (parse_num(v + 4, &x, 0) || x <= 0))
            return BAD("--lr: bad constant in '%s' (expected sps or sps:C with C > 0)", v);
        o->rule = SAMC_STEP_POLYAK;
        o->polyak_c = v[3] ? x : 0.5;
    } else if (!strncmp(v, "decsps", 6) && (v[6] == 0 || v[6] == ':')) {
        if (v[6] == ':' && (parse_num(v + 7, &x, 0) || x <= 0))
            return BAD("--lr: bad constant in '%s' (expected decsps or decsps:C0 with C0 > 0)", v);
        o->rule = SAMC_STEP_DECSPS;
        o->polyak_c = v[6] ? x : 1.0;
    } else if (!parse_num(v, &x, 0)) {
        if (x <= 0) return BAD("--lr: learning rate must be > 0, got '%s'", v);
        o->rule = SAMC_STEP_SCHEDULED;
        c->p.lr.eta_max = x;
    } else {
        return BAD("--lr: expected a number, polyak, sps[:C] or decsps[:C0], got '%s'", v);
    }
    return 0;
}
static void get_lr(const cli *c, char *b, size_t n)
{
    const samc_optim_params *o = &c->p.optim;
    if (o->rule == SAMC_STEP_SCHEDULED) snprintf(b, n, "%.9g", c->p.lr.eta_max);
    else if (o->rule == SAMC_STEP_DECSPS) snprintf(b, n, "decsps:%.9g", o->polyak_c);
    else if (o->polyak_c == 1.0) snprintf(b, n, "polyak");
    else snprintf(b, n, "sps:%.9g", o->polyak_c);
}

static int set_lr_schedule(cli *c, const char *v, char *err)
{
    return samc_lr_schedule_parse(&c->p.lr, v, err) == SAMC_OK ? 0 : -1;
}
static void get_lr_schedule(const cli *c, char *b, size_t n) { samc_lr_schedule_format(&c->p.lr, b, n); }
static int set_rho_schedule(cli *c, const char *v, char *err)
{
    return samc_rho_schedule_parse(&c->p.rho, v, err) == SAMC_OK ? 0 : -1;
}
static void get_rho_schedule(const cli *c, char *b, size_t n) { samc_rho_schedule_format(&c->p.rho, b, n); }
static int set_batch_schedule(cli *c, const char *v, char *err)
{
    return samc_batch_schedule_parse(&c->p.batch, v, err) == SAMC_OK ? 0 : -1;
}
static void get_batch_schedule(const cli *c, char *b, size_t n) { samc_batch_schedule_format(&c->p.batch, b, n); }

static int set_batch(cli *c, const char *v, char *err)
{
    long long k;
    if (!strcmp(v, "full")) { c->p.batch.b0 = 0; return 0; }
    if (parse_int64(v, &k) || k <= 0) return BAD("--batch: expected a positive integer or 'full', got '%s'", v);
    c->p.batch.b0 = (size_t)k;
    return 0;
}
static void get_batch(const cli *c, char *b, size_t n)
{
    if (c->p.batch.b0 == 0) snprintf(b, n, "full");
    else snprintf(b, n, "%zu", c->p.batch.b0);
}

/* Plain numeric fields: one setter/getter pair per field through offsets. */
#define NUM_FLAG(fname, field, allow_inf)                                                   \
    static int set_##fname(cli *c, const char *v, char *err)                               \
    {                                                                                       \
        double x;                                                                           \
        if (parse_num(v, &x, allow_inf)) return BAD("--%s: expected a number, got '%s'",   \
                                                    flag_name_##fname, v);                  \
        c->p.field = x;                                                                     \
        return 0;                                                                           \
    }                                                                                       \
    static void get_##fname(const cli *c, char *b, size_t n) { snprintf(b, n, "%.9g", (double)c->p.field); }
#define INT_FLAG(fname, field, type)                                                        \
    static int set_##fname(cli *c, const char *v, char *err)                               \
    {                                                                                       \
        long long x;                                                                        \
        if (parse_int64(v, &x) || x < 0) return BAD("--%s: expected an integer >= 0, got '%s'", \
                                                    flag_name_##fname, v);                  \
        c->p.field = (type)x;                                                               \
        return 0;                                                                           \
    }                                                                                       \
    static void get_##fname(const cli *c, char *b, size_t n) { snprintf(b, n, "%lld", (long long)c->p.field); }

static const char flag_name_rho[] = "rho", flag_name_alpha[] = "alpha", flag_name_lambda[] = "lambda",
                  flag_name_asam_eta[] = "asam-eta", flag_name_momentum[] = "momentum",
                  flag_name_weight_decay[] = "weight-decay", flag_name_l2[] = "l2",
                  flag_name_polyak_cap[] = "polyak-cap", flag_name_polyak_lb[] = "polyak-lb",
                  flag_name_warmup_init[] = "warmup-init", flag_name_epochs[] = "epochs",
                  flag_name_steps[] = "steps", flag_name_seed[] = "seed", flag_name_threads[] = "threads",
                  flag_name_warmup[] = "warmup";
NUM_FLAG(rho, rho.rho_max, 0)
NUM_FLAG(alpha, optim.alpha, 0)
NUM_FLAG(lambda, optim.lambda, 0)
NUM_FLAG(asam_eta, optim.asam_eta, 0)
NUM_FLAG(momentum, optim.momentum, 0)
NUM_FLAG(weight_decay, optim.weight_decay, 0)
NUM_FLAG(l2, l2, 0)
NUM_FLAG(polyak_cap, optim.polyak_cap, 1)
NUM_FLAG(polyak_lb, optim.polyak_lb, 0)
NUM_FLAG(warmup_init, lr.eta_init, 0)
INT_FLAG(epochs, epochs, int)
INT_FLAG(steps, steps, int64_t)
INT_FLAG(seed, seed, uint64_t)
INT_FLAG(threads, threads, int)
INT_FLAG(warmup, lr.warmup, int64_t)

static int set_out(cli *c, const char *v, char *err)
{
    if (!*v) return BAD("--out: empty directory name");
    snprintf(c->out, sizeof c->out, "%s", v);
    return 0;
}
static void get_out(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->out); }
static int set_quiet(cli *c, const char *v, char *err) { (void)v; (void)err; c->p.quiet = 1; return 0; }
static void get_quiet(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->p.quiet ? "on" : "off"); }

static const flag train_flags[] = {
    { "data", "SPEC", set_data, get_data,
      "data set: libsvm:TRAIN[,TEST] | csv:TRAIN[,TEST][,label=first|last|K][,header]\n"
      "  | synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]" },
    { "model", "NAME", set_model, get_model, "linear (least squares) | logreg (binary logistic) | softmax" },
    { "no-bias", NULL, set_nobias, get_nobias, "linear models without a bias term" },
    { "opt", "NAME", set_opt, get_opt, "sgd | sam | usam | unified | asam | gsam" },
    { "lambda", "X", set_lambda, get_lambda, "unified perturbation mix in [0,1] (0 = usam, 1 = sam)" },
    { "alpha", "X", set_alpha, get_alpha, "gsam: weight of the surrogate-gap direction" },
    { "asam-eta", "X", set_asam_eta, get_asam_eta, "asam: offset of the scaling |x| + eta" },
    { "lr", "RULE", set_lr, get_lr,
      "step size: NUMBER (scheduled eta_max) | polyak (the SAM Polyak scheduler)\n"
      "  | sps[:C] (polyak divided by C, default 0.5) | decsps[:C0] (default 1)" },
    { "lr-schedule", "SPEC", set_lr_schedule, get_lr_schedule,
      "const | cosine[:ETA_MIN] | linear[:ETA_MIN] | poly:P[:ETA_MIN] | step:GAMMA@E" },
    { "warmup", "STEPS", set_warmup, get_warmup, "linear warm-up steps before the schedule" },
    { "warmup-init", "X", set_warmup_init, get_warmup_init, "learning rate at the start of warm-up" },
    { "rho", "X", set_rho, get_rho, "perturbation radius (rho at eta_max with --rho-schedule prop)" },
    { "rho-schedule", "SPEC", set_rho_schedule, get_rho_schedule, "const | prop:RHO_MIN (rho follows the learning rate)" },
    { "momentum", "X", set_momentum, get_momentum, "heavy-ball momentum in [0,1)" },
    { "weight-decay", "X", set_weight_decay, get_weight_decay, "decoupled weight decay: u += wd x in the update" },
    { "l2", "X", set_l2, get_l2, "L2 term (l2/2)||theta||^2 added to the objective" },
    { "polyak-cap", "X", set_polyak_cap, get_polyak_cap, "gamma_b, the cap of the Polyak step (inf: none)" },
    { "polyak-lb", "X", set_polyak_lb, get_polyak_lb, "l*, the lower bound of the loss (f* for the deterministic form)" },
    { "batch", "N|full", set_batch, get_batch, "batch size b_0" },
    { "batch-schedule", "SPEC", set_batch_schedule, get_batch_schedule,
      "const | exp:DELTA@E[,max=B] | poly:A,C@E[,max=B]" },
    { "epochs", "N", set_epochs, get_epochs, "epochs to train (when --steps is 0)" },
    { "steps", "N", set_steps, get_steps, "total steps T (0: from --epochs)" },
    { "seed", "N", set_seed, get_seed, "random seed (initialization and shuffling)" },
    { "threads", "N", set_threads, get_threads, "OpenMP threads (0: all cores)" },
    { "out", "DIR", set_out, get_out, "output directory (steps.csv, metrics.csv, final.ckpt)" },
    { "quiet", NULL, set_quiet, get_quiet, "no configuration table, no progress lines" },
};
#define N_FLAGS (sizeof train_flags / sizeof *train_flags)

static void print_train_help(FILE *f)
{
    cli d;
    cli_defaults(&d);
    fprintf(f, "usage: samc train [flags]\n\n"
               "Train a model with the SAM family of optimizers; writes OUT/steps.csv (one row\n"
               "per step), OUT/metrics.csv (one row per epoch) and OUT/final.ckpt.\n\nflags:\n");
    for (size_t i = 0; i < N_FLAGS; i++) {
        const flag *fl = &train_flags[i];
        char val[1200], left[64];
        fl->get(&d, val, sizeof val);
        snprintf(left, sizeof left, "--%s%s%s", fl->name, fl->arg ? " " : "", fl->arg ? fl->arg : "");
        fprintf(f, "  %-22s ", left);
        for (const char *h = fl->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "  %-22s ", "");
        }
        fprintf(f, "\n  %-22s [default: %s]\n", "", val);
    }
    fprintf(f, "  %-22s this text\n", "--help");
}

static void print_help(FILE *f)
{
    fprintf(f, "samc %s -- sharpness-aware minimization with Polyak step sizes\n\n"
               "usage: samc COMMAND [flags]\n\n"
               "commands:\n"
               "  train        train a model (samc train --help for every flag)\n\n"
               "  samc --help, samc --version\n",
            SAMC_VERSION);
}

static void print_config(const cli *c, const samc_data *data, const samc_model *m, FILE *f)
{
    fprintf(f, "# samc %s configuration\n", SAMC_VERSION);
    for (size_t i = 0; i < N_FLAGS; i++) {
        char val[1200];
        train_flags[i].get(c, val, sizeof val);
        fprintf(f, "# %-16s %s\n", train_flags[i].name, val);
    }
    fprintf(f, "# %-16s %zu x %zu train, %zu test, %d classes\n", "samples", data->train.n,
            data->train.d, data->test.n, data->train.n_classes);
    fprintf(f, "# %-16s %zu\n", "parameters", samc_model_n_params(m));
    fprintf(f, "# %-16s %lld\n", "total steps", (long long)samc_train_total_steps(&c->p, data->train.n));
}

static int die(const char *msg)
{
    fprintf(stderr, "samc: error: %s\n", msg);
    return 1;
}

static int parse_train_args(cli *c, int argc, char **argv, char *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) return BAD("unexpected argument '%s' (flags start with --)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const flag *fl = NULL;
        for (size_t k = 0; k < N_FLAGS; k++)
            if (strlen(train_flags[k].name) == len && !strncmp(train_flags[k].name, name, len))
                fl = &train_flags[k];
        if (!fl) return BAD("unknown flag '%.*s' (see samc train --help)", (int)len + 2, a);
        const char *v = NULL;
        if (fl->arg) {
            if (eq) v = eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else return BAD("--%s needs a value (%s)", fl->name, fl->arg);
        } else if (eq) {
            return BAD("--%s takes no value", fl->name);
        }
        if (fl->set(c, v, err) != 0) return -1;
    }
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_train_help(stdout);
            return 0;
        }
    cli c;
    cli_defaults(&c);
    samc_errbuf err = "";
    if (parse_train_args(&c, argc, argv, err) != 0) return die(err);
    if (samc_train_params_check(&c.p, err) != SAMC_OK) return die(err);

    samc_data data;
    memset(&data, 0, sizeof data);
    if (samc_data_load(&data, c.data, err) != SAMC_OK) return die(err);
    samc_model *m = NULL;
    if (samc_model_create(&m, c.model, data.train.d, data.train.n_classes, c.p.l2, c.p.bias, err) != SAMC_OK) {
        samc_data_free(&data);
        return die(err);
    }
    if (!c.p.quiet) {
        print_config(&c, &data, m, stdout);
        fflush(stdout);
    }
    float *x = malloc(samc_model_n_params(m) * sizeof(float));
    int rc = 0;
    if (!x) {
        rc = die("out of memory");
    } else if (samc_train_run(&c.p, &data, m, c.out, x, c.p.quiet ? NULL : stdout, err) != SAMC_OK) {
        rc = die(err);
    } else if (!c.p.quiet) {
        printf("done: wrote %s/steps.csv, %s/metrics.csv, %s/final.ckpt\n", c.out, c.out, c.out);
    }
    free(x);
    samc_model_free(m);
    samc_data_free(&data);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("samc %s\n", SAMC_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    fprintf(stderr, "samc: error: unknown command '%s' (see samc --help)\n", cmd);
    return 2;
}
