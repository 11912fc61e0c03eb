/*
 * samc.c -- the command-line program: `samc train`, `samc sharpness`.
 *
 * Every flag lives in one table below, marked with the commands that take
 * it; --help and the configuration table printed at the start of a run both
 * read the values through get_plain(), so the defaults shown are the
 * library's live defaults.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "samc.h"
#include "ckpt_cmd.h"
#include "flags.h"
#include "plot.h"
#include "report.h"
#include "util/err.h"
#include "dist/dist.h"
#ifdef SAMC_MPI
#include <mpi.h>
#endif

#define DEFAULT_DATA "fashion-mnist"

typedef struct cli {
    samc_train_params p;      /* p.measure serves both commands */
    samc_data_options dopt;
    char data[1024];
    char data_dir[1024];
    char model[128];
    char out[1024];
    char ckpt[1024];
    char format[16];
    char progress[8];
} cli;

static void cli_defaults(cli *c)
{
    memset(c, 0, sizeof *c);
    c->p = samc_train_default_params();
    c->dopt = samc_data_default_options();
    snprintf(c->data, sizeof c->data, "%s", DEFAULT_DATA);
    snprintf(c->model, sizeof c->model, "cnn");
    c->p.batch.b0 = 128;
    c->p.epochs = 5;
    snprintf(c->out, sizeof c->out, "out");
    snprintf(c->format, sizeof c->format, "table");
    snprintf(c->progress, sizeof c->progress, "auto");
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

enum { CMD_TRAIN = 1, CMD_SHARP = 2, CMD_BOTH = 3 };

/* Plain fields are set and shown through their type and offset; the rest
 * through their own setter and getter. */
typedef enum ftype { F_DOUBLE, F_DOUBLE_INF, F_INT, F_I64, F_U64, F_SIZE, F_ON, F_OFF, F_CUSTOM } ftype;

typedef samc_status (*setter)(cli *c, const char *v, char *err);
typedef void (*getter)(const cli *c, char *buf, size_t len);

/* A flag of the table: its name, value and commands (cli_flag, the type
 * plot's table shares), then how its value is stored. */
typedef struct flag {
    cli_flag f;         /* f.cmds: CMD_TRAIN, CMD_SHARP */
    ftype type;
    size_t off;         /* offset into cli for the plain types */
    setter set;         /* F_CUSTOM */
    getter get;         /* F_CUSTOM */
    const char *help;
} flag;

#define OFF(field) offsetof(cli, field)

static samc_status set_plain(const flag *fl, cli *c, const char *v, char *err)
{
    char *at = (char *)c + fl->off;
    double x;
    long long k;
    switch (fl->type) {
    case F_DOUBLE:
    case F_DOUBLE_INF:
        if (parse_num(v, &x, fl->type == F_DOUBLE_INF))
            return samc_errf(err, SAMC_EINVAL, "--%s: expected a number%s, got '%s'", fl->f.name, fl->type == F_DOUBLE_INF ? " or inf" : "", v);
        *(double *)at = x;
        return 0;
    case F_INT:
    case F_I64:
    case F_U64:
    case F_SIZE:
        if (parse_int64(v, &k) || k < 0 || (fl->type == F_INT && k > 1000000000LL))
            return samc_errf(err, SAMC_EINVAL, "--%s: expected an integer >= 0, got '%s'", fl->f.name, v);
        if (fl->type == F_INT) *(int *)at = (int)k;
        else if (fl->type == F_I64) *(int64_t *)at = k;
        else if (fl->type == F_U64) *(uint64_t *)at = (uint64_t)k;
        else *(size_t *)at = (size_t)k;
        return 0;
    case F_ON: *(int *)at = 1; return 0;
    case F_OFF: *(int *)at = 0; return 0;
    case F_CUSTOM: break;
    }
    return fl->set(c, v, err);
}

static void get_plain(const flag *fl, const cli *c, char *b, size_t n)
{
    const char *at = (const char *)c + fl->off;
    switch (fl->type) {
    case F_DOUBLE:
    case F_DOUBLE_INF: snprintf(b, n, "%.9g", *(const double *)at); return;
    case F_INT: snprintf(b, n, "%d", *(const int *)at); return;
    case F_I64: snprintf(b, n, "%lld", (long long)*(const int64_t *)at); return;
    case F_U64: snprintf(b, n, "%llu", (unsigned long long)*(const uint64_t *)at); return;
    case F_SIZE: snprintf(b, n, "%zu", *(const size_t *)at); return;
    case F_ON: snprintf(b, n, "%s", *(const int *)at ? "on" : "off"); return;
    case F_OFF: snprintf(b, n, "%s", *(const int *)at ? "off" : "on"); return;
    case F_CUSTOM: break;
    }
    fl->get(c, b, n);
}

static samc_status set_string(char *dst, size_t cap, const char *name, const char *v, char *err)
{
    if (!*v || strlen(v) >= cap) return samc_errf(err, SAMC_EINVAL, "--%s: empty or too long: '%.80s'", name, v);
    snprintf(dst, cap, "%s", v);
    return 0;
}

static samc_status set_data(cli *c, const char *v, char *err) { return set_string(c->data, sizeof c->data, "data", v, err); }
static void get_data(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->data); }
/* the library checks the model name when it builds the model */
static samc_status set_model(cli *c, const char *v, char *err) { return set_string(c->model, sizeof c->model, "model", v, err); }
static void get_model(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->model); }
static samc_status set_out(cli *c, const char *v, char *err) { return set_string(c->out, sizeof c->out, "out", v, err); }
static void get_out(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->out); }
static samc_status set_ckpt(cli *c, const char *v, char *err) { return set_string(c->ckpt, sizeof c->ckpt, "checkpoint", v, err); }
static void get_ckpt(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->ckpt[0] ? c->ckpt : "(required)"); }

static samc_status set_data_dir(cli *c, const char *v, char *err)
{
    samc_status st = set_string(c->data_dir, sizeof c->data_dir, "data-dir", v, err);
    if (st == SAMC_OK) c->dopt.data_dir = c->data_dir;
    return st;
}
static void get_data_dir(const cli *c, char *b, size_t n)
{
    snprintf(b, n, "%s", c->dopt.data_dir ? c->dopt.data_dir : "");   /* "": the data set's default */
}

/* --checkpoint-every N (steps) | Nm (minutes) | Ns (seconds) */
static samc_status set_ckpt_every(cli *c, const char *v, char *err)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || errno || !(x >= 0) || !isfinite(x) ||
        (*end && strcmp(end, "m") && strcmp(end, "s")) || (!*end && x != floor(x)))
        return samc_errf(err, SAMC_EINVAL, "--checkpoint-every: expected STEPS, MINUTESm or SECONDSs, got '%s'", v);
    if (!*end) {
        c->p.ckpt_every_steps = (int64_t)x;
        c->p.ckpt_every_s = 0;
    } else {
        c->p.ckpt_every_s = *end == 'm' ? 60 * x : x;
        c->p.ckpt_every_steps = 0;
    }
    return 0;
}
static void get_ckpt_every(const cli *c, char *b, size_t n)
{
    if (c->p.ckpt_every_steps > 0) snprintf(b, n, "%lld", (long long)c->p.ckpt_every_steps);
    else if (c->p.ckpt_every_s > 0 && fmod(c->p.ckpt_every_s, 60) == 0) snprintf(b, n, "%.9gm", c->p.ckpt_every_s / 60);
    else snprintf(b, n, "%.9gs", c->p.ckpt_every_s);
}

static samc_status set_format(cli *c, const char *v, char *err)
{
    if (strcmp(v, "table") && strcmp(v, "csv") && strcmp(v, "json"))
        return samc_errf(err, SAMC_EINVAL, "--format: expected table, csv or json, got '%s'", v);
    return set_string(c->format, sizeof c->format, "format", v, err);
}
static void get_format(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->format); }

static samc_status set_opt(cli *c, const char *v, char *err)
{
    for (int k = 0; k < (int)(sizeof opt_names / sizeof *opt_names); k++)
        if (!strcmp(v, opt_names[k])) {
            c->p.optim.kind = (samc_opt_kind)k;
            return 0;
        }
    return samc_errf(err, SAMC_EINVAL, "--opt: unknown optimizer '%s' (expected sgd, sam, usam, unified, asam or gsam)", v);
}
static void get_opt(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", opt_names[c->p.optim.kind]); }

static samc_status set_lr(cli *c, const char *v, char *err)
{
    samc_optim_params *o = &c->p.optim;
    double x = 0;
    if (!strcmp(v, "polyak")) {
        o->rule = SAMC_STEP_POLYAK;
        o->polyak_c = 1.0;
    } else if (!strncmp(v, "sps", 3) && (v[3] == 0 || v[3] == ':')) {
        if (v[3] == ':' && (parse_num(v + 4, &x, 0) || x <= 0))
            return samc_errf(err, SAMC_EINVAL, "--lr: bad constant in '%s' (expected sps or sps:C with C > 0)", v);
        o->rule = SAMC_STEP_POLYAK;
        o->polyak_c = v[3] ? x : 0.5;
    } else if (!strncmp(v, "decsps", 6) && (v[6] == 0 || v[6] == ':')) {
        if (v[6] == ':' && (parse_num(v + 7, &x, 0) || x <= 0))
            return samc_errf(err, SAMC_EINVAL, "--lr: bad constant in '%s' (expected decsps or decsps:C0 with C0 > 0)", v);
        o->rule = SAMC_STEP_DECSPS;
        o->polyak_c = v[6] ? x : 1.0;
    } else if (!parse_num(v, &x, 0)) {
        if (x <= 0) return samc_errf(err, SAMC_EINVAL, "--lr: learning rate must be > 0, got '%s'", v);
        o->rule = SAMC_STEP_SCHEDULED;
        c->p.lr.eta_max = x;
    } else {
        return samc_errf(err, SAMC_EINVAL, "--lr: expected a number, polyak, sps[:C] or decsps[:C0], got '%s'", v);
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

static samc_status set_lr_schedule(cli *c, const char *v, char *err)
{
    return samc_lr_schedule_parse(&c->p.lr, v, err);
}
static void get_lr_schedule(const cli *c, char *b, size_t n) { samc_lr_schedule_format(&c->p.lr, b, n); }
static samc_status set_rho_schedule(cli *c, const char *v, char *err)
{
    return samc_rho_schedule_parse(&c->p.rho, v, err);
}
static void get_rho_schedule(const cli *c, char *b, size_t n) { samc_rho_schedule_format(&c->p.rho, b, n); }
static samc_status set_batch_schedule(cli *c, const char *v, char *err)
{
    return samc_batch_schedule_parse(&c->p.batch, v, err);
}
static void get_batch_schedule(const cli *c, char *b, size_t n) { samc_batch_schedule_format(&c->p.batch, b, n); }

static samc_status set_batch(cli *c, const char *v, char *err)
{
    long long k;
    if (!strcmp(v, "full")) { c->p.batch.b0 = 0; return 0; }
    if (parse_int64(v, &k) || k <= 0) return samc_errf(err, SAMC_EINVAL, "--batch: expected a positive integer or 'full', got '%s'", v);
    c->p.batch.b0 = (size_t)k;
    return 0;
}
static void get_batch(const cli *c, char *b, size_t n)
{
    if (c->p.batch.b0 == 0) snprintf(b, n, "full");
    else snprintf(b, n, "%zu", c->p.batch.b0);
}

/* --metric worst-linf,hessian-top | all */
static samc_status set_metric(cli *c, const char *v, char *err)
{
    unsigned which = 0;
    const char *s = v;
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = 0;
        if (len == 3 && !strncmp(s, "all", 3)) {
            which = (1u << SAMC_MEASURE_COUNT) - 1;
            found = 1;
        } else if (len == 8 && !strncmp(s, "adaptive", 8)) {
            which |= 1u << SAMC_MEASURE_ADAPTIVE_LINF;
            found = 1;
        }
        for (int k = 0; k < SAMC_MEASURE_COUNT && !found; k++) {
            const char *name = samc_measure_name((samc_measure_kind)k);
            int match = strlen(name) == len;
            for (size_t i = 0; match && i < len; i++)
                match = s[i] == name[i] || (s[i] == '-' && name[i] == '_');
            if (match) which |= 1u << k, found = 1;
        }
        if (!found)
            return samc_errf(err, SAMC_EINVAL, "--metric: unknown measure '%.*s' (expected worst-linf, worst-l2, adaptive, adaptive-l2, "
                       "avg, hessian-top, hessian-trace, full-grad-norm or all, comma-separated)", (int)len, s);
        s += len;
        if (*s == ',') s++;
    }
    if (!which) return samc_errf(err, SAMC_EINVAL, "--metric: empty list");
    c->p.measure.which = which;
    return 0;
}
static void get_metric(const cli *c, char *b, size_t n)
{
    size_t used = 0;
    b[0] = '\0';
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++)
        if (c->p.measure.which & (1u << k)) {
            char name[32];
            snprintf(name, sizeof name, "%s", samc_measure_name((samc_measure_kind)k));
            for (char *q = name; *q; q++) if (*q == '_') *q = '-';
            int w = snprintf(b + used, n - used, "%s%s", used ? "," : "", name);
            if (w < 0 || (size_t)w >= n - used) break;
            used += (size_t)w;
        }
}

static samc_status set_perturb(cli *c, const char *v, char *err)
{
    if (!strcmp(v, "global")) c->p.perturb_local = 0;
    else if (!strcmp(v, "local")) c->p.perturb_local = 1;
    else return samc_errf(err, SAMC_EINVAL, "--perturb: expected global or local, got '%s'", v);
    return 0;
}
static void get_perturb(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->p.perturb_local ? "local" : "global"); }

static samc_status set_progress(cli *c, const char *v, char *err)
{
    if (strcmp(v, "auto") && strcmp(v, "bar") && strcmp(v, "lines") && strcmp(v, "none"))
        return samc_errf(err, SAMC_EINVAL, "--progress: expected auto, bar, lines or none, got '%s'", v);
    return set_string(c->progress, sizeof c->progress, "progress", v, err);
}
static void get_progress(const cli *c, char *b, size_t n) { snprintf(b, n, "%s", c->progress); }

static samc_status set_noop(cli *c, const char *v, char *err) { (void)c; (void)v; (void)err; return 0; }
static void get_none(const cli *c, char *b, size_t n) { (void)c; snprintf(b, n, "%s", ""); }

static const flag flags[] = {
    { { "resume", "OUT", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_noop, get_none,
      "continue the run in OUT from OUT/last.ckpt with OUT/config.txt (flags given override it,\n"
      "  e.g. --steps N to run up to step N)" },
    { { "config", "FILE", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_noop, get_none,
      "read flags from FILE (key = value lines, as in OUT/config.txt); flags given override it" },
    { { "checkpoint", "FILE", CMD_SHARP, 0 }, F_CUSTOM, 0, set_ckpt, get_ckpt, "checkpoint to measure (e.g. OUT/final.ckpt)" },
    { { "data", "SPEC", CMD_BOTH, 0 }, F_CUSTOM, 0, set_data, get_data,
      "fashion-mnist | mnist | idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]\n"
      "  | cifar10:DIR | npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy] | libsvm:TRAIN[,TEST]\n"
      "  | csv:TRAIN[,TEST][,label=first|last|K][,header]\n"
      "  | synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]" },
    { { "data-dir", "DIR", CMD_BOTH, 0 }, F_CUSTOM, 0, set_data_dir, get_data_dir, "where fashion-mnist / mnist files are looked for" },
    { { "train-rows", "N", CMD_BOTH, 0 }, F_SIZE, OFF(dopt.train_rows), NULL, NULL,
      "use only the first N training rows (0: all; before --val and --normalize)" },
    { { "val", "N", CMD_TRAIN, 0 }, F_SIZE, OFF(dopt.val), NULL, NULL, "hold out the last N training rows as a validation set" },
    { { "normalize", NULL, CMD_BOTH, 0 }, F_ON, OFF(dopt.normalize), NULL, NULL,
      "standardize inputs with train statistics (per channel for images)" },
    { { "augment", NULL, CMD_TRAIN, 0 }, F_ON, OFF(p.augment), NULL, NULL, "images: random crop (padding 4) and horizontal flip" },
    { { "model", "SPEC", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_model, get_model,
      "linear (least squares) | logreg (binary logistic) | softmax\n"
      "  | mlp:H1,H2,... | cnn | resnet:N (N = 6k+2)" },
    { { "no-bias", NULL, CMD_TRAIN, 0 }, F_OFF, OFF(p.bias), NULL, NULL, "linear models without a bias term" },
    { { "opt", "NAME", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_opt, get_opt, "sgd | sam | usam | unified | asam | gsam" },
    { { "lambda", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.optim.lambda), NULL, NULL, "unified perturbation mix in [0,1] (0 = usam, 1 = sam)" },
    { { "alpha", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.optim.alpha), NULL, NULL, "gsam: weight of the surrogate-gap direction" },
    { { "asam-eta", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.optim.asam_eta), NULL, NULL, "asam: offset of the scaling |x| + eta" },
    { { "lr", "RULE", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_lr, get_lr,
      "step size: NUMBER (scheduled eta_max) | polyak (the SAM Polyak scheduler)\n"
      "  | sps[:C] (polyak divided by C, default 0.5) | decsps[:C0] (default 1)" },
    { { "lr-schedule", "SPEC", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_lr_schedule, get_lr_schedule,
      "const | cosine[:ETA_MIN] | linear[:ETA_MIN] | poly:P[:ETA_MIN] | step:GAMMA@E" },
    { { "warmup", "STEPS", CMD_TRAIN, 0 }, F_I64, OFF(p.lr.warmup), NULL, NULL, "linear warm-up steps before the schedule" },
    { { "warmup-init", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.lr.eta_init), NULL, NULL, "learning rate at the start of warm-up" },
    { { "rho", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.rho.rho_max), NULL, NULL,
      "perturbation radius (rho at eta_max with --rho-schedule prop)" },
    { { "rho-schedule", "SPEC", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_rho_schedule, get_rho_schedule,
      "const | prop:RHO_MIN (rho follows the learning rate)" },
    { { "momentum", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.optim.momentum), NULL, NULL, "heavy-ball momentum in [0,1)" },
    { { "weight-decay", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.optim.weight_decay), NULL, NULL, "weight decay: u += wd x in the update" },
    { { "l2", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.l2), NULL, NULL, "L2 term (l2/2)||theta||^2 added to the objective" },
    { { "polyak-cap", "X", CMD_TRAIN, 0 }, F_DOUBLE_INF, OFF(p.optim.polyak_cap), NULL, NULL,
      "gamma_b, the cap of the Polyak step (inf: none)" },
    { { "polyak-lb", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.optim.polyak_lb), NULL, NULL,
      "l*, the lower bound of the loss (f* for the deterministic form)" },
    { { "batch", "N|full", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_batch, get_batch, "batch size b_0" },
    { { "batch-schedule", "SPEC", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_batch_schedule, get_batch_schedule,
      "const | exp:DELTA@E[,max=B] | poly:A,C@E[,max=B]" },
    { { "epochs", "N", CMD_TRAIN, 0 }, F_INT, OFF(p.epochs), NULL, NULL, "epochs to train (when --steps is 0)" },
    { { "steps", "N", CMD_TRAIN, 0 }, F_I64, OFF(p.steps), NULL, NULL, "total steps T (0: from --epochs)" },
    { { "seed", "N", CMD_TRAIN, 0 }, F_U64, OFF(p.seed), NULL, NULL, "random seed (initialization, shuffling, augmentation)" },
    { { "threads", "N", CMD_BOTH, 0 }, F_INT, OFF(p.threads), NULL, NULL, "OpenMP and BLAS threads (0: all cores)" },
    { { "out", "DIR", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_out, get_out, "output directory (steps.csv, metrics.csv, final.ckpt)" },
    { { "measure-every", "E", CMD_TRAIN, 0 }, F_INT, OFF(p.measure_every), NULL, NULL,
      "every E epochs add the --metric measures as metrics.csv columns (0: never)" },
    { { "metric", "LIST", CMD_BOTH, 0 }, F_CUSTOM, 0, set_metric, get_metric,
      "worst-linf | worst-l2 | adaptive | adaptive-l2 | avg | hessian-top\n"
      "  | hessian-trace | full-grad-norm (||grad f|| on the samples) | all (comma-separated)" },
    { { "sharp-rho", "X", CMD_TRAIN, 0 }, F_DOUBLE, OFF(p.measure.sharp.rho), NULL, NULL, "radius of the sharpness ball" },
    { { "rho", "X", CMD_SHARP, 0 }, F_DOUBLE, OFF(p.measure.sharp.rho), NULL, NULL, "radius of the sharpness ball" },
    { { "ascent-steps", "N", CMD_BOTH, 0 }, F_INT, OFF(p.measure.sharp.steps), NULL, NULL, "projected-ascent steps per restart" },
    { { "restarts", "N", CMD_BOTH, 0 }, F_INT, OFF(p.measure.sharp.restarts), NULL, NULL, "ascent restarts" },
    { { "samples", "N", CMD_BOTH, 0 }, F_SIZE, OFF(p.measure.n_samples), NULL, NULL, "measure on the first N training samples" },
    { { "measure-batch", "M", CMD_BOTH, 0 }, F_SIZE, OFF(p.measure.batch), NULL, NULL, "sharpness and full-grad-norm: batches of M samples" },
    { { "draws", "N", CMD_BOTH, 0 }, F_INT, OFF(p.measure.avg_draws), NULL, NULL, "avg: Gaussian draws per batch" },
    { { "lanczos", "N", CMD_BOTH, 0 }, F_INT, OFF(p.measure.hessian.lanczos_steps), NULL, NULL, "hessian-top: Lanczos steps" },
    { { "probes", "N", CMD_BOTH, 0 }, F_INT, OFF(p.measure.hessian.probes), NULL, NULL, "hessian-trace: Hutchinson probes" },
    { { "measure-seed", "N", CMD_BOTH, 0 }, F_U64, OFF(p.measure.sharp.seed), NULL, NULL, "seed of the ascent starts and probes" },
    { { "format", "FMT", CMD_SHARP, 0 }, F_CUSTOM, 0, set_format, get_format, "table | csv | json" },
    { { "checkpoint-every", "N|Nm|Ns", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_ckpt_every, get_ckpt_every,
      "OUT/last.ckpt also every N steps, N minutes or N seconds (always at epoch ends)" },
    { { "keep", "N", CMD_TRAIN, 0 }, F_INT, OFF(p.keep), NULL, NULL, "keep the N newest OUT/ckpt-STEP.ckpt copies too" },
    { { "stop-at", "STEP", CMD_TRAIN, 0 }, F_I64, OFF(p.stop_at), NULL, NULL,
      "stop before STEP as on SIGINT: state saved, --resume continues (0: never)" },
    { { "quiet", NULL, CMD_TRAIN, 0 }, F_ON, OFF(p.quiet), NULL, NULL,
      "no configuration table, no epoch lines; --progress auto means none" },
    { { "progress", "MODE", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_progress, get_progress,
      "progress on stderr: bar (redrawn in place) | lines (one every 10 s,\n"
      "  one per checkpoint) | none | auto (a bar on a terminal outside mpirun,\n"
      "  else lines)" },
    { { "perturb", "MODE", CMD_TRAIN, 0 }, F_CUSTOM, 0, set_perturb, get_perturb,
      "data parallel (mpirun -np K, an MPI build): global = perturb with the pass-1 gradient\n"
      "  averaged over the ranks (= one process); local = each rank with its own (m-sharpness)" },
    { { "check-sync", "N", CMD_TRAIN, 0 }, F_I64, OFF(p.check_sync), NULL, NULL,
      "data parallel: every N steps check that all ranks hold the same parameters (0: never)" },
};
#define N_FLAGS (sizeof flags / sizeof *flags)

static void print_cmd_help(FILE *f, unsigned cmd)
{
    cli d;
    cli_defaults(&d);
    if (cmd == CMD_TRAIN)
        fprintf(f, "usage: samc train [flags]\n\n"
                   "Train a model with the SAM family of optimizers; writes OUT/steps.csv (one row\n"
                   "per step), OUT/metrics.csv (one row per epoch) and OUT/final.ckpt.\n\nflags:\n");
    else
        fprintf(f, "usage: samc sharpness --checkpoint FILE [flags]\n\n"
                   "Measure the flatness of a checkpoint on the first --samples training rows of\n"
                   "its training data, in evaluation mode. The data flags (--data, --data-dir,\n"
                   "--normalize, --train-rows, --val) default to those in config.txt beside the\n"
                   "checkpoint (a run's OUT); data other than the run's is refused. Prints one\n"
                   "line per measure: NAME VALUE [STDERR] (table), or CSV / JSON.\n\nflags:\n");
    for (size_t i = 0; i < N_FLAGS; i++) {
        const flag *fl = &flags[i];
        if (!(fl->f.cmds & cmd)) continue;
        char val[1200], left[64];
        get_plain(fl, &d, val, sizeof val);
        snprintf(left, sizeof left, "--%s%s%s", fl->f.name, fl->f.arg ? " " : "", fl->f.arg ? fl->f.arg : "");
        fprintf(f, "  %-22s ", left);
        for (const char *h = fl->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "  %-22s ", "");
        }
        fprintf(f, "\n  %-22s [default: %s]\n", "", val[0] ? val : "none");
    }
    fprintf(f, "  %-22s this text\n", "--help");
}

static void print_help(FILE *f)
{
    fprintf(f, "samc %s -- sharpness-aware minimization with Polyak step sizes\n\n"
               "usage: samc COMMAND [flags]\n\n"
               "commands:\n"
               "  train        train a model (samc train --help for every flag)\n"
               "  sharpness    measure the flatness of a checkpoint (samc sharpness --help)\n"
               "  eval         test loss, accuracy, per-class accuracy, confusion matrix of a checkpoint\n"
               "  predict      class probabilities of each test sample (csv or npy)\n"
               "  export       a checkpoint as named arrays (npy folder or safetensors) for PyTorch\n"
               "  plot         figures of a run's CSVs with gnuplot (samc plot OUT [--format png|svg])\n\n"
               "  samc --help, samc --version\n",
            SAMC_VERSION);
}

static void print_config(const cli *c, const samc_data *data, const samc_model *m, FILE *f)
{
    fprintf(f, "# samc %s configuration\n", SAMC_VERSION);
    for (size_t i = 0; i < N_FLAGS; i++) {
        if (!(flags[i].f.cmds & CMD_TRAIN)) continue;
        char val[1200];
        get_plain(&flags[i], c, val, sizeof val);
        fprintf(f, "# %-16s %s\n", flags[i].f.name, val);
    }
    fprintf(f, "# %-16s %zu x %zu train, %zu validation, %zu test, %d classes\n", "data shape",
            data->train.n, data->train.d, data->val.n, data->test.n, data->train.n_classes);
    fprintf(f, "# %-16s %zu\n", "parameters", samc_model_n_params(m));
    fprintf(f, "# %-16s %lld\n", "total steps", (long long)samc_train_total_steps(&c->p, data->train.n));
}

static samc_status parse_args(cli *c, unsigned cmd, int argc, char **argv, char *err)
{
    for (int i = 0; i < argc; i++) {
        SAMC_CHECK(!strncmp(argv[i], "--", 2), SAMC_EINVAL, "unexpected argument '%s' (flags start with --)", argv[i]);
        cli_arg a;
        samc_status st = cli_arg_read(flags, N_FLAGS, sizeof *flags, cmd, argc, argv, &i, &a, err);
        if (st != SAMC_OK) return st;
        SAMC_CHECK(a.flag, SAMC_EINVAL, "unknown flag '--%.*s' (see samc %s --help)", (int)a.len, a.name,
                   cmd == CMD_TRAIN ? "train" : "sharpness");
        if ((st = set_plain((const flag *)a.flag, c, a.value, err)) != SAMC_OK) return st;
    }
    return SAMC_OK;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

static samc_status load_data(cli *c, samc_data *data, int verbose, char *err)
{
    memset(data, 0, sizeof *data);
    if (verbose) {
        printf("# loading %s\n", c->data);
        fflush(stdout);
    }
    return samc_data_load_ex(data, c->data, &c->dopt, err);
}

/* ---- configuration files: "key = value" lines, '#' comments ---- */

static samc_status set_by_name(cli *c, unsigned cmd, const char *name, const char *v, const char *where, char *err)
{
    const flag *fl = (const flag *)cli_flag_find(flags, N_FLAGS, sizeof *flags, cmd, name, strlen(name));
    SAMC_CHECK(fl, SAMC_EINVAL, "%.200s: unknown key '%.60s'", where, name);
    if (!fl->f.arg) {   /* a switch: on / off */
        int on = !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1");
        SAMC_CHECK(on || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"), SAMC_EINVAL,
                   "%.200s: %.40s takes on or off, got '%.40s'", where, name, v);
        *(int *)((char *)c + fl->off) = (fl->type == F_ON) == on;
        return SAMC_OK;
    }
    if (!*v) return SAMC_OK;   /* empty: keep the default */
    samc_errbuf sub;
    samc_status st = set_plain(fl, c, v, sub);
    return st == SAMC_OK ? st : samc_errf(err, st, "%.200s: %.280s", where, sub);
}

/* Reads the "key = value" lines of PATH; keys NULL: every key (an unknown one
 * is an error), else only those in the NULL-terminated list keys. */
static samc_status read_config(cli *c, unsigned cmd, const char *path, const char *const *keys, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return samc_errf(err, SAMC_EIO, "cannot read configuration %.400s: %s", path, strerror(errno));
    char line[2048], where[600];
    int ln = 0;
    samc_status rc = SAMC_OK;
    while (rc == SAMC_OK && fgets(line, sizeof line, f)) {
        ln++;
        snprintf(where, sizeof where, "%.500s:%d", path, ln);
        char *h = strchr(line, '#');
        if (h) *h = '\0';
        char *key = line + strspn(line, " \t\r\n");
        if (!*key) continue;
        char *eq = strchr(key, '=');
        if (!eq) {
            rc = samc_errf(err, SAMC_EINVAL, "%.300s: expected key = value", where);
            break;
        }
        char *ke = eq;
        while (ke > key && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
        *ke = '\0';
        char *v = eq + 1 + strspn(eq + 1, " \t");
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == '\n' || v[vl - 1] == '\r' || v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = '\0';
        int wanted = !keys;
        for (const char *const *k = keys; k && *k && !wanted; k++) wanted = !strcmp(*k, key);
        if (wanted) rc = set_by_name(c, cmd, key, v, where, err);
    }
    fclose(f);
    return rc;
}

/* The data keys of config.txt in the directory of checkpoint PATH, when that
 * file exists: a checkpoint is measured on the data its run trained on unless
 * flags say otherwise. */
static const char *const data_keys[] = { "data", "data-dir", "normalize", "train-rows", "val", NULL };
static samc_status read_run_data_config(cli *c, const char *ckpt_path, const char *const *keys, char *err)
{
    char path[4200];
    const char *slash = strrchr(ckpt_path, '/');
    if (slash) snprintf(path, sizeof path, "%.*s/config.txt", (int)(slash - ckpt_path), ckpt_path);
    else snprintf(path, sizeof path, "config.txt");
    if (access(path, F_OK) != 0) return 0;   /* a checkpoint outside a run directory: flags alone */
    return read_config(c, CMD_TRAIN, path, keys, err);
}

samc_status cli_run_data(const char *ckpt, int n, const char *const *names, const char *const *values,
                         samc_data *data, double *l2, char *err)
{
    static const char *const keys[] = { "data", "data-dir", "normalize", "train-rows", "val", "l2", NULL };
    cli c;
    cli_defaults(&c);
    memset(data, 0, sizeof *data);
    samc_status st = read_run_data_config(&c, ckpt, keys, err);
    for (int i = 0; st == SAMC_OK && i < n; i++) {
        const flag *fl = (const flag *)cli_flag_find(flags, N_FLAGS, sizeof *flags, CMD_BOTH, names[i], strlen(names[i]));
        st = fl ? set_plain(fl, &c, values[i], err) : samc_errf(err, SAMC_EINVAL, "unknown flag --%.60s", names[i]);
    }
    *l2 = c.p.l2;
    return st == SAMC_OK ? load_data(&c, data, 0, err) : st;
}

/* OUT/config.txt: every train flag with its resolved value, written through a
 * temporary and renamed. */
static samc_status write_config(const cli *c, char *err)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/config.txt", c->out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", tmp, strerror(errno));
    fprintf(f, "# samc %s: the resolved configuration of this run (samc train --config FILE reads it)\n",
            SAMC_VERSION);
    for (size_t i = 0; i < N_FLAGS; i++) {
        if (!(flags[i].f.cmds & CMD_TRAIN)) continue;
        char val[1200];
        get_plain(&flags[i], c, val, sizeof val);
        fprintf(f, "%s = %s\n", flags[i].f.name, val);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", path, strerror(errno));
    }
    return 0;
}

/* Data parallel: when one rank dies, mpirun sends SIGTERM to the others and
 * SIGKILL a second later, while they wait for the dead rank inside a
 * collective, so this handler is all of a rank that still runs: it writes a
 * line prepared beforehand (write(2) is async-signal-safe).  Rank 0 writes
 * it (the line names last.ckpt's step, updated at each checkpoint); rank 1
 * only when rank 0, on the same machine, is gone (lead_pid > 0). */
static char signal_line[1400];
static volatile sig_atomic_t signal_len;
static pid_t lead_pid;

static void on_signal(int sig)
{
    (void)sig;
    samc_train_request_stop();
    size_t n = (size_t)signal_len;
    if (!n || (lead_pid > 0 && kill(lead_pid, 0) == 0)) return;
    signal_len = 0;
    if (write(STDERR_FILENO, signal_line, n) < 0) signal_len = 0;
}

/* Rank 1: the line to write if rank 0 died (ranks on one machine only). */
static void watch_lead(const char *out)
{
#ifdef SAMC_MPI
    long pid = (long)getpid();
    char host[MPI_MAX_PROCESSOR_NAME + 1] = "", lead_host[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0;
    MPI_Get_processor_name(host, &len);
    memcpy(lead_host, host, sizeof host);
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    MPI_Bcast(lead_host, (int)sizeof lead_host, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (samc_dist_rank() != 1 || strcmp(host, lead_host) != 0) return;
    int n = snprintf(signal_line, sizeof signal_line,
                     "samc: error: rank 1 was ended by a signal after rank 0 died (under mpirun); %s/last.ckpt "
                     "holds rank 0's last checkpoint: continue with --resume %s\n", out, out);
    lead_pid = (pid_t)pid;
    if (n > 0 && (size_t)n < sizeof signal_line) signal_len = n;
#else
    (void)out;
#endif
}

static void note_checkpoint(const char *out, int64_t step)
{
    signal_len = 0;
    int n = snprintf(signal_line, sizeof signal_line,
                     "samc: error: rank 0 was ended by a signal (under mpirun: a rank died, or the job was stopped); "
                     "%s/last.ckpt holds step %lld: continue with --resume %s\n", out, (long long)step, out);
    if (n > 0 && (size_t)n < sizeof signal_line) signal_len = n;
}

/* A run's inputs, checked on every rank: flags (defaults < OUT/config.txt
 * with --resume < --config FILE < flags), data, model, parameter vector,
 * the output directory and its config.txt (rank 0).  0 or -1 (err). */
static int train_prepare(cli *c, int argc, char **argv, const char **resume, samc_data *data, samc_model **m,
                         float **x, char *err)
{
    const int lead = samc_dist_rank() == 0;
    const char *config = NULL;
    char path[1100];
    for (int i = 0; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--resume")) *resume = argv[i + 1];
        if (!strcmp(argv[i], "--config")) config = argv[i + 1];
    }
    if (*resume) {
        snprintf(path, sizeof path, "%s/config.txt", *resume);
        if (read_config(c, CMD_TRAIN, path, NULL, err) != 0) return -1;
        set_string(c->out, sizeof c->out, "out", *resume, err);
    }
    if (config && read_config(c, CMD_TRAIN, config, NULL, err) != 0) return -1;
    if (parse_args(c, CMD_TRAIN, argc, argv, err) != 0) return -1;
    if (*resume && strcmp(c->out, *resume) != 0) {
        snprintf(err, SAMC_ERRLEN, "--resume OUT continues in OUT: leave out --out");
        return -1;
    }
    snprintf(c->p.data_name, sizeof c->p.data_name, "%.127s", c->data);
    if (samc_train_params_check(&c->p, err) != SAMC_OK) return -1;
    if (load_data(c, data, !c->p.quiet && lead, err) != SAMC_OK) return -1;
    if (samc_model_create_for(m, c->model, &data->train, c->p.l2, c->p.bias, err) != SAMC_OK) return -1;
    if (!c->p.quiet && lead) {
        print_config(c, data, *m, stdout);
        fflush(stdout);
    }
    if (!(*x = malloc(samc_model_n_params(*m) * sizeof(float)))) {
        snprintf(err, SAMC_ERRLEN, "out of memory");
        return -1;
    }
    if (lead && !*resume && samc_make_dir(c->out, err) != SAMC_OK) return -1;
    if (lead && write_config(c, err) != 0) return -1;
    return 0;
}

/* Data parallel: the cores of a node shared among its ranks, unless the
 * threads are given (--threads, OMP_NUM_THREADS). */
static void share_cores(cli *c)
{
#ifdef SAMC_MPI
    if (c->p.threads != 0 || getenv("OMP_NUM_THREADS")) return;
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (local > 1) c->p.threads = cores / local > 1 ? (int)(cores / local) : 1;
#else
    (void)c;
#endif
}

/* --progress auto: a bar when stderr is a terminal, plain lines otherwise --
 * and under an MPI launcher, which may give every rank a pseudo-terminal
 * whatever the output is redirected to (Open MPI does). */
static samc_progress_mode progress_mode(const cli *c)
{
    static const char *const launcher_env[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE" };
    if (!strcmp(c->progress, "bar")) return SAMC_PROGRESS_BAR;
    if (!strcmp(c->progress, "lines")) return SAMC_PROGRESS_LINES;
    if (!strcmp(c->progress, "none") || c->p.quiet) return SAMC_PROGRESS_NONE;
    for (size_t i = 0; i < sizeof launcher_env / sizeof *launcher_env; i++)
        if (getenv(launcher_env[i])) return SAMC_PROGRESS_LINES;
    return isatty(STDERR_FILENO) ? SAMC_PROGRESS_BAR : SAMC_PROGRESS_LINES;
}

static void on_checkpoint_mpi(void *user, const char *path, int64_t step)
{
    samc_train_log_callbacks(user).on_checkpoint(user, path, step);
    size_t len = strlen(path);
    if (len >= 10 && !strcmp(path + len - 10, "/last.ckpt")) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%.*s", (int)(len - 10), path);
        note_checkpoint(dir, step);
    }
}

/* The run: the layered trainer (include/samc.h, section 10: init, then its
 * loop of steps and epoch ends), its callbacks printing epoch lines on
 * stdout and progress on stderr. */
static samc_status train_loop(const cli *c, const samc_data *data, samc_model *m, float *x, int resume,
                              samc_train_log *lg, char *err)
{
    samc_train_callbacks cb = samc_train_log_callbacks(lg);
    if (samc_dist_size() > 1) {   /* the lines a signal prints */
        watch_lead(c->out);
        if (samc_dist_rank() == 0) note_checkpoint(c->out, 0);
        cb = (samc_train_callbacks){ cb.on_step, cb.on_epoch, on_checkpoint_mpi, cb.on_finish, lg };
    }
    samc_trainer *t;
    samc_status st = samc_trainer_init(&t, &c->p, data, m, c->out, x, resume, &cb, err);
    if (st == SAMC_OK) st = samc_trainer_fit(t, err);
    samc_trainer_free(t);
    return st;
}

static int cmd_train(int argc, char **argv)
{
    /* data parallel (an MPI build under mpirun): every rank runs this; rank 0
     * (the lead) alone prints and writes files; set-up failures on any rank
     * are agreed below, so every rank exits with the lead's one-line message */
    const int lead = samc_dist_rank() == 0;
    if (wants_help(argc, argv)) {
        if (lead) print_cmd_help(stdout, CMD_TRAIN);
        return 0;
    }
    cli c;
    cli_defaults(&c);
    samc_errbuf err = "";
    const char *resume = NULL;
    samc_data data;
    memset(&data, 0, sizeof data);
    samc_model *m = NULL;
    float *x = NULL;
    int rc = 0;
    int bad = train_prepare(&c, argc, argv, &resume, &data, &m, &x, err) != 0;
    if (samc_dist_agree(bad ? SAMC_EINVAL : SAMC_OK, err) != SAMC_OK) {
        rc = lead ? cli_die(err) : 1;
        goto out;
    }
    share_cores(&c);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    samc_train_log lg = { c.p.quiet ? NULL : stdout, stderr, progress_mode(&c), c.p.progress_s, 0.0, 0 };
    samc_status st = train_loop(&c, &data, m, x, resume != NULL, &lg, err);
    if (lg.bar_shown) fputs("\r\033[K", stderr);
    if (st == SAMC_EINTR) {
        if (lead) fprintf(stderr, "samc: %s\n", err);
        rc = 130;
    } else if (st != SAMC_OK) {
        rc = lead ? cli_die(err) : 1;
    } else if (!c.p.quiet && lead) {
        printf("done: wrote %s/steps.csv, %s/metrics.csv, %s/final.ckpt\n", c.out, c.out, c.out);
    }
out:
    free(x);
    samc_model_free(m);
    samc_data_free(&data);
    return rc;
}

/* The model of checkpoint ck on the data it was trained on, measured into r. */
static samc_status measure_checkpoint(const cli *c, const samc_ckpt *ck, const samc_data *data, samc_model **m,
                                      samc_measure_result *r, char *err)
{
    samc_status st = ckpt_model(c->ckpt, ck, &data->train, c->data, 0.0, m, err);
    if (st != SAMC_OK) return st;
    return samc_measure_model(*m, &data->train, ck->params, &c->p.measure, r, err);
}

static int cmd_sharpness(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        print_cmd_help(stdout, CMD_SHARP);
        return 0;
    }
    cli c;
    cli_defaults(&c);
    samc_errbuf err = "";
    if (parse_args(&c, CMD_SHARP, argc, argv, err) != SAMC_OK) return cli_die(err);
    if (!c.ckpt[0]) return cli_die("--checkpoint FILE is required (e.g. OUT/final.ckpt)");
    /* precedence: defaults < the data keys of the run's config.txt (beside
     * the checkpoint) < flags */
    char ckpt[sizeof c.ckpt];
    snprintf(ckpt, sizeof ckpt, "%s", c.ckpt);
    cli_defaults(&c);
    if (read_run_data_config(&c, ckpt, data_keys, err) != SAMC_OK || parse_args(&c, CMD_SHARP, argc, argv, err) != SAMC_OK)
        return cli_die(err);
    if (samc_measure_params_check(&c.p.measure, err) != SAMC_OK) return cli_die(err);
    samc_ckpt ck;
    if (samc_ckpt_load(c.ckpt, &ck, err) != SAMC_OK) return cli_die(err);
    if (c.p.threads > 0) samc_set_threads(c.p.threads);
    samc_data data;
    samc_model *m = NULL;
    samc_measure_result r;
    samc_status st = load_data(&c, &data, 0, err);
    if (st == SAMC_OK) st = measure_checkpoint(&c, &ck, &data, &m, &r, err);
    sharp_report rep = { c.ckpt, ck.model, c.p.measure.which, &r };
    if (st == SAMC_OK && !strcmp(c.format, "csv")) report_csv(stdout, &rep);
    else if (st == SAMC_OK && !strcmp(c.format, "table")) report_table(stdout, stderr, &rep);
    else if (st == SAMC_OK) st = report_json(stdout, &rep, err);
    samc_model_free(m);
    samc_data_free(&data);
    samc_ckpt_free(&ck);
    return st == SAMC_OK ? 0 : cli_die(err);
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
    if (!strcmp(cmd, "train")) {
#ifdef SAMC_MPI
        /* data parallel: mpirun -np K samc train ... (one rank without mpirun) */
        MPI_Init(&argc, &argv);
        int rc = cmd_train(argc - 2, argv + 2);
        MPI_Finalize();
        return rc;
#else
        return cmd_train(argc - 2, argv + 2);
#endif
    }
    if (!strcmp(cmd, "sharpness")) return cmd_sharpness(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot")) return samc_cmd_plot(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return samc_cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "predict")) return samc_cmd_predict(argc - 2, argv + 2);
    if (!strcmp(cmd, "export")) return samc_cmd_export(argc - 2, argv + 2);
    fprintf(stderr, "samc: error: unknown command '%s' (see samc --help)\n", cmd);
    return 2;
}
