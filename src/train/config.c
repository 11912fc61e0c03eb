/*
 * config.c -- the flags of `samc train` and `samc sharpness` in one table
 * (include/samc.h, section 11): each sets fields of a samc_config from a
 * value string and shows them back, so --help, the configuration table a
 * run prints and OUT/config.txt read the library's live defaults.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "samc.h"
#include "train/train_internal.h"
#include "util/err.h"

#define DEFAULT_DATA "fashion-mnist"

void samc_config_defaults(samc_config *c)
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
    snprintf(c->measure_l2, sizeof c->measure_l2, "run");
}

samc_config *samc_config_new(void)
{
    samc_config *c = malloc(sizeof *c);
    if (c) samc_config_defaults(c);
    return c;
}

void samc_config_free(samc_config *c) { free(c); }

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

enum { CMD_BOTH = SAMC_CMD_TRAIN | SAMC_CMD_SHARPNESS };

/* Plain fields are set and shown through their type and offset; the rest
 * through their own setter and getter. */
typedef enum ftype { F_DOUBLE, F_DOUBLE_INF, F_INT, F_I64, F_U64, F_SIZE, F_ON, F_OFF, F_CUSTOM } ftype;

typedef samc_status (*setter)(samc_config *c, const char *v, char *err);
typedef void (*getter)(const samc_config *c, char *buf, size_t len);

/* A flag of the table: its name, value, commands and help (samc_flag),
 * then how its value is stored. */
typedef struct flag {
    samc_flag f;        /* f.cmds: SAMC_CMD_TRAIN, SAMC_CMD_SHARPNESS */
    ftype type;
    size_t off;         /* offset into samc_config for the plain types */
    setter set;         /* F_CUSTOM */
    getter get;         /* F_CUSTOM */
} flag;

#define OFF(field) offsetof(samc_config, field)

static samc_status set_plain(const flag *fl, samc_config *c, const char *v, char *err)
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

static void get_plain(const flag *fl, const samc_config *c, char *b, size_t n)
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

static samc_status set_data(samc_config *c, const char *v, char *err) { return set_string(c->data, sizeof c->data, "data", v, err); }
static void get_data(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->data); }
/* the library checks the model name when it builds the model */
static samc_status set_model(samc_config *c, const char *v, char *err) { return set_string(c->model, sizeof c->model, "model", v, err); }
static void get_model(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->model); }
static samc_status set_out(samc_config *c, const char *v, char *err) { return set_string(c->out, sizeof c->out, "out", v, err); }
static void get_out(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->out); }
static samc_status set_ckpt(samc_config *c, const char *v, char *err) { return set_string(c->ckpt, sizeof c->ckpt, "checkpoint", v, err); }
static void get_ckpt(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->ckpt[0] ? c->ckpt : "(required)"); }

static samc_status set_data_dir(samc_config *c, const char *v, char *err)
{
    return set_string(c->data_dir, sizeof c->data_dir, "data-dir", v, err);
}
static void get_data_dir(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->data_dir); }

/* --checkpoint-every N (steps) | Nm (minutes) | Ns (seconds) */
static samc_status set_ckpt_every(samc_config *c, const char *v, char *err)
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
static void get_ckpt_every(const samc_config *c, char *b, size_t n)
{
    if (c->p.ckpt_every_steps > 0) snprintf(b, n, "%lld", (long long)c->p.ckpt_every_steps);
    else if (c->p.ckpt_every_s > 0 && fmod(c->p.ckpt_every_s, 60) == 0) snprintf(b, n, "%.9gm", c->p.ckpt_every_s / 60);
    else snprintf(b, n, "%.9gs", c->p.ckpt_every_s);
}

static samc_status set_format(samc_config *c, const char *v, char *err)
{
    if (strcmp(v, "table") && strcmp(v, "csv") && strcmp(v, "json"))
        return samc_errf(err, SAMC_EINVAL, "--format: expected table, csv or json, got '%s'", v);
    return set_string(c->format, sizeof c->format, "format", v, err);
}
static void get_format(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->format); }

static samc_status set_opt(samc_config *c, const char *v, char *err)
{
    for (int k = 0; k < (int)(sizeof opt_names / sizeof *opt_names); k++)
        if (!strcmp(v, opt_names[k])) {
            c->p.optim.kind = (samc_opt_kind)k;
            return 0;
        }
    return samc_errf(err, SAMC_EINVAL, "--opt: unknown optimizer '%s' (expected sgd, sam, usam, unified, asam or gsam)", v);
}
static void get_opt(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", opt_names[c->p.optim.kind]); }

static samc_status set_lr(samc_config *c, const char *v, char *err)
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
static void get_lr(const samc_config *c, char *b, size_t n)
{
    const samc_optim_params *o = &c->p.optim;
    if (o->rule == SAMC_STEP_SCHEDULED) snprintf(b, n, "%.9g", c->p.lr.eta_max);
    else if (o->rule == SAMC_STEP_DECSPS) snprintf(b, n, "decsps:%.9g", o->polyak_c);
    else if (o->polyak_c == 1.0) snprintf(b, n, "polyak");
    else snprintf(b, n, "sps:%.9g", o->polyak_c);
}

static samc_status set_lr_schedule(samc_config *c, const char *v, char *err)
{
    return samc_lr_schedule_parse(&c->p.lr, v, err);
}
static void get_lr_schedule(const samc_config *c, char *b, size_t n) { samc_lr_schedule_format(&c->p.lr, b, n); }
static samc_status set_rho_schedule(samc_config *c, const char *v, char *err)
{
    return samc_rho_schedule_parse(&c->p.rho, v, err);
}
static void get_rho_schedule(const samc_config *c, char *b, size_t n) { samc_rho_schedule_format(&c->p.rho, b, n); }
static samc_status set_batch_schedule(samc_config *c, const char *v, char *err)
{
    return samc_batch_schedule_parse(&c->p.batch, v, err);
}
static void get_batch_schedule(const samc_config *c, char *b, size_t n) { samc_batch_schedule_format(&c->p.batch, b, n); }

static samc_status set_batch(samc_config *c, const char *v, char *err)
{
    long long k;
    if (!strcmp(v, "full")) { c->p.batch.b0 = 0; return 0; }
    if (parse_int64(v, &k) || k <= 0) return samc_errf(err, SAMC_EINVAL, "--batch: expected a positive integer or 'full', got '%s'", v);
    c->p.batch.b0 = (size_t)k;
    return 0;
}
static void get_batch(const samc_config *c, char *b, size_t n)
{
    if (c->p.batch.b0 == 0) snprintf(b, n, "full");
    else snprintf(b, n, "%zu", c->p.batch.b0);
}

/* --metric worst-linf,hessian-top | all */
static samc_status set_metric(samc_config *c, const char *v, char *err)
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
static void get_metric(const samc_config *c, char *b, size_t n)
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

static samc_status set_perturb(samc_config *c, const char *v, char *err)
{
    if (!strcmp(v, "global")) c->p.perturb_local = 0;
    else if (!strcmp(v, "local")) c->p.perturb_local = 1;
    else return samc_errf(err, SAMC_EINVAL, "--perturb: expected global or local, got '%s'", v);
    return 0;
}
static void get_perturb(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->p.perturb_local ? "local" : "global"); }

/* One of n names into *dst (its index), for the flags that pick a name. */
static samc_status set_pick(int *dst, const char *flag, const char *const *names, int n, const char *v, char *err)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(v, names[k])) {
            *dst = k;
            return 0;
        }
    return samc_errf(err, SAMC_EINVAL, "--%s: expected %s or %s, got '%s'", flag, names[0], names[1], v);
}
static const char *const base_names[] = { "sgd", "adamw" }, *const wd_group_names[] = { "all", "weights" },
                        *const start_names[] = { "random", "zero" };
/* The setter and getter of a flag that picks one of two names into an enum field. */
#define PICK_FLAG(NAME, FLAG, NAMES, FIELD, TYPE)                                          \
    static samc_status set_##NAME(samc_config *c, const char *v, char *err)                \
    {                                                                                      \
        int k = 0;                                                                         \
        samc_status st = set_pick(&k, FLAG, NAMES, 2, v, err);                             \
        if (st == SAMC_OK) c->FIELD = (TYPE)k;                                             \
        return st;                                                                         \
    }                                                                                      \
    static void get_##NAME(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", NAMES[c->FIELD]); }
PICK_FLAG(base, "base", base_names, p.optim.base, samc_base_kind)
PICK_FLAG(wd_groups, "wd-groups", wd_group_names, p.optim.wd_groups, samc_wd_groups)
PICK_FLAG(ascent_start, "ascent-start", start_names, p.measure.sharp.zero_start, int)
#undef PICK_FLAG
static samc_status set_measure_l2(samc_config *c, const char *v, char *err)
{
    double x;
    if (strcmp(v, "run") && (parse_num(v, &x, 0) || x < 0))
        return samc_errf(err, SAMC_EINVAL, "--measure-l2: expected run, 0 or a number >= 0, got '%s'", v);
    return set_string(c->measure_l2, sizeof c->measure_l2, "measure-l2", v, err);
}
static void get_measure_l2(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->measure_l2); }

static samc_status set_progress(samc_config *c, const char *v, char *err)
{
    if (strcmp(v, "auto") && strcmp(v, "bar") && strcmp(v, "lines") && strcmp(v, "none"))
        return samc_errf(err, SAMC_EINVAL, "--progress: expected auto, bar, lines or none, got '%s'", v);
    return set_string(c->progress, sizeof c->progress, "progress", v, err);
}
static void get_progress(const samc_config *c, char *b, size_t n) { snprintf(b, n, "%s", c->progress); }

static samc_status set_noop(samc_config *c, const char *v, char *err) { (void)c; (void)v; (void)err; return 0; }
static void get_none(const samc_config *c, char *b, size_t n) { (void)c; snprintf(b, n, "%s", ""); }

static const flag flags[] = {
    { { "resume", "OUT", SAMC_CMD_TRAIN, 0,
        "continue the run in OUT from OUT/last.ckpt with OUT/config.txt (flags given override it,\n"
        "  e.g. --steps N to run up to step N)" }, F_CUSTOM, 0, set_noop, get_none },
    { { "config", "FILE", SAMC_CMD_TRAIN, 0,
        "read flags from FILE (key = value lines, as in OUT/config.txt); flags given override it" }, F_CUSTOM, 0, set_noop, get_none },
    { { "checkpoint", "FILE", SAMC_CMD_SHARPNESS, 0,
        "checkpoint to measure (e.g. OUT/final.ckpt)" }, F_CUSTOM, 0, set_ckpt, get_ckpt },
    { { "data", "SPEC", CMD_BOTH, 0,
        "fashion-mnist | mnist | idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]\n"
        "  | cifar10:DIR | cifar100:DIR[,coarse] | npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy]\n"
        "  | libsvm:TRAIN[,TEST] | csv:TRAIN[,TEST][,label=first|last|K][,header]\n"
        "  | synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]" }, F_CUSTOM, 0, set_data, get_data },
    { { "data-dir", "DIR", CMD_BOTH, 0,
        "where fashion-mnist / mnist files are looked for" }, F_CUSTOM, 0, set_data_dir, get_data_dir },
    { { "train-rows", "N", CMD_BOTH, 0,
        "use only the first N training rows (0: all; before --val and --normalize)" }, F_SIZE, OFF(dopt.train_rows), NULL, NULL },
    { { "val", "N", SAMC_CMD_TRAIN, 0,
        "hold out the last N training rows as a validation set" }, F_SIZE, OFF(dopt.val), NULL, NULL },
    { { "test-rows", "N", SAMC_CMD_TRAIN, 0,
        "use only the first N test rows for the per-epoch test columns (0: all)" }, F_SIZE, OFF(dopt.test_rows), NULL, NULL },
    { { "normalize", NULL, CMD_BOTH, 0,
        "standardize inputs with train statistics (per channel for images)" }, F_ON, OFF(dopt.normalize), NULL, NULL },
    { { "augment", NULL, SAMC_CMD_TRAIN, 0,
        "images: random crop (padding 4) and horizontal flip" }, F_ON, OFF(p.augment), NULL, NULL },
    { { "model", "SPEC", SAMC_CMD_TRAIN, 0,
        "linear (least squares) | logreg (binary logistic) | softmax\n"
        "  | mlp:H1,H2,... | cnn | resnet:N (N = 6k+2)\n"
        "  | resnet18 (CIFAR ResNet-18) | wrn:D-K (WideResNet, D = 6n+4, e.g. wrn:28-10)" },
      F_CUSTOM, 0, set_model, get_model },
    { { "no-bias", NULL, SAMC_CMD_TRAIN, 0,
        "linear models without a bias term" }, F_OFF, OFF(p.bias), NULL, NULL },
    { { "dropout", "P", SAMC_CMD_TRAIN, 0,
        "wrn:D-K: dropout rate between the two convolutions of each block, in [0,1);\n"
        "  pass 2 of a SAM step uses the masks of pass 1" }, F_DOUBLE, OFF(p.dropout), NULL, NULL },
    { { "opt", "NAME", SAMC_CMD_TRAIN, 0,
        "sgd | sam | usam | unified | asam | gsam" }, F_CUSTOM, 0, set_opt, get_opt },
    { { "lambda", "X", SAMC_CMD_TRAIN, 0,
        "unified perturbation mix in [0,1] (0 = usam, 1 = sam)" }, F_DOUBLE, OFF(p.optim.lambda), NULL, NULL },
    { { "alpha", "X", SAMC_CMD_TRAIN, 0,
        "gsam: weight of the surrogate-gap direction" }, F_DOUBLE, OFF(p.optim.alpha), NULL, NULL },
    { { "asam-eta", "X", SAMC_CMD_TRAIN, 0,
        "asam: offset of the scaling |x| + eta" }, F_DOUBLE, OFF(p.optim.asam_eta), NULL, NULL },
    { { "lr", "RULE", SAMC_CMD_TRAIN, 0,
        "step size: NUMBER (scheduled eta_max) | polyak (the SAM Polyak scheduler)\n"
        "  | sps[:C] (polyak divided by C, default 0.5) | decsps[:C0] (default 1)" }, F_CUSTOM, 0, set_lr, get_lr },
    { { "lr-schedule", "SPEC", SAMC_CMD_TRAIN, 0,
        "const | cosine[:ETA_MIN] | linear[:ETA_MIN] | poly:P[:ETA_MIN] | step:GAMMA@E" }, F_CUSTOM, 0, set_lr_schedule, get_lr_schedule },
    { { "warmup", "STEPS", SAMC_CMD_TRAIN, 0,
        "linear warm-up steps before the schedule" }, F_I64, OFF(p.lr.warmup), NULL, NULL },
    { { "warmup-init", "X", SAMC_CMD_TRAIN, 0,
        "learning rate at the start of warm-up" }, F_DOUBLE, OFF(p.lr.eta_init), NULL, NULL },
    { { "rho", "X", SAMC_CMD_TRAIN, 0,
        "perturbation radius (rho at eta_max with --rho-schedule prop)" }, F_DOUBLE, OFF(p.rho.rho_max), NULL, NULL },
    { { "rho-schedule", "SPEC", SAMC_CMD_TRAIN, 0,
        "const | prop:RHO_MIN (rho follows the learning rate)" }, F_CUSTOM, 0, set_rho_schedule, get_rho_schedule },
    { { "momentum", "X", SAMC_CMD_TRAIN, 0,
        "heavy-ball momentum in [0,1)" }, F_DOUBLE, OFF(p.optim.momentum), NULL, NULL },
    { { "weight-decay", "X", SAMC_CMD_TRAIN, 0,
        "weight decay: u += wd x in the update" }, F_DOUBLE, OFF(p.optim.weight_decay), NULL, NULL },
    { { "l2", "X", SAMC_CMD_TRAIN, 0,
        "L2 term (l2/2)||theta||^2 added to the objective" }, F_DOUBLE, OFF(p.l2), NULL, NULL },
    { { "wd-groups", "GROUPS", SAMC_CMD_TRAIN, 0,
        "which parameters --weight-decay applies to: all | weights (biases and\n"
        "  BatchNorm scales and shifts exempt)" }, F_CUSTOM, 0, set_wd_groups, get_wd_groups },
    { { "nesterov", NULL, SAMC_CMD_TRAIN, 0,
        "Nesterov's form of --momentum (as torch.optim.SGD(nesterov=True))" }, F_ON, OFF(p.optim.nesterov), NULL, NULL },
    { { "clip-norm", "X", SAMC_CMD_TRAIN, 0,
        "clip the update direction (the pass-2 gradient, after averaging) to norm X\n"
        "  before momentum and weight decay; the perturbation and the Polyak step use\n"
        "  the unclipped gradients (0: none)" }, F_DOUBLE, OFF(p.optim.clip), NULL, NULL },
    { { "base", "NAME", SAMC_CMD_TRAIN, 0,
        "the update that takes the SAM direction: sgd (momentum, nesterov) | adamw\n"
        "  (decoupled --weight-decay; needs --lr NUMBER: the Polyak rules are for sgd)" }, F_CUSTOM, 0, set_base, get_base },
    { { "adam-beta1", "X", SAMC_CMD_TRAIN, 0, "adamw: first-moment decay" }, F_DOUBLE, OFF(p.optim.adam_beta1), NULL, NULL },
    { { "adam-beta2", "X", SAMC_CMD_TRAIN, 0, "adamw: second-moment decay" }, F_DOUBLE, OFF(p.optim.adam_beta2), NULL, NULL },
    { { "adam-eps", "X", SAMC_CMD_TRAIN, 0, "adamw: denominator guard" }, F_DOUBLE, OFF(p.optim.adam_eps), NULL, NULL },
    { { "label-smoothing", "EPS", SAMC_CMD_TRAIN, 0,
        "softmax and networks: smoothed cross-entropy, target 1-EPS on the label and\n"
        "  EPS/(K-1) on each other class (the loss is KL(target || softmax))" }, F_DOUBLE, OFF(p.label_smoothing), NULL, NULL },
    { { "accumulate", "K", SAMC_CMD_TRAIN, 0,
        "a step's batch is K micro-batches of --batch rows taken one after another\n"
        "  (the step of one batch of K x b; BatchNorm normalizes per micro-batch)" }, F_INT, OFF(p.accumulate), NULL, NULL },
    { { "m-sharpness", "M", SAMC_CMD_TRAIN, 0,
        "split each batch into M chunks, each perturbed by its own gradient (as\n"
        "  --perturb local across ranks, in one process; 1: none)" }, F_INT, OFF(p.m_sharpness), NULL, NULL },
    { { "polyak-cap", "X", SAMC_CMD_TRAIN, 0,
        "gamma_b, the cap of the Polyak step (inf: none)" }, F_DOUBLE_INF, OFF(p.optim.polyak_cap), NULL, NULL },
    { { "polyak-lb", "X", SAMC_CMD_TRAIN, 0,
        "l*, the lower bound of the loss (f* for the deterministic form)" }, F_DOUBLE, OFF(p.optim.polyak_lb), NULL, NULL },
    { { "batch", "N|full", SAMC_CMD_TRAIN, 0,
        "batch size b_0" }, F_CUSTOM, 0, set_batch, get_batch },
    { { "batch-schedule", "SPEC", SAMC_CMD_TRAIN, 0,
        "const | exp:DELTA@E[,max=B] | poly:A,C@E[,max=B]" }, F_CUSTOM, 0, set_batch_schedule, get_batch_schedule },
    { { "epochs", "N", SAMC_CMD_TRAIN, 0,
        "epochs to train (when --steps is 0)" }, F_INT, OFF(p.epochs), NULL, NULL },
    { { "steps", "N", SAMC_CMD_TRAIN, 0,
        "total steps T (0: from --epochs)" }, F_I64, OFF(p.steps), NULL, NULL },
    { { "seed", "N", SAMC_CMD_TRAIN, 0,
        "random seed (initialization, shuffling, augmentation)" }, F_U64, OFF(p.seed), NULL, NULL },
    { { "threads", "N", CMD_BOTH, 0,
        "OpenMP and BLAS threads (0: all cores)" }, F_INT, OFF(p.threads), NULL, NULL },
    { { "out", "DIR", SAMC_CMD_TRAIN, 0,
        "output directory (steps.csv, metrics.csv, final.ckpt)" }, F_CUSTOM, 0, set_out, get_out },
    { { "measure-every", "E", SAMC_CMD_TRAIN, 0,
        "every E epochs add the --metric measures as metrics.csv columns (0: never)" }, F_INT, OFF(p.measure_every), NULL, NULL },
    { { "metric", "LIST", CMD_BOTH, 0,
        "worst-linf | worst-l2 | adaptive | adaptive-l2 | avg | hessian-top\n"
        "  | hessian-trace | full-grad-norm (||grad f|| on the samples) | all (comma-separated)" }, F_CUSTOM, 0, set_metric, get_metric },
    { { "sharp-rho", "X", SAMC_CMD_TRAIN, 0,
        "radius of the sharpness ball" }, F_DOUBLE, OFF(p.measure.sharp.rho), NULL, NULL },
    { { "rho", "X", SAMC_CMD_SHARPNESS, 0,
        "radius of the sharpness ball" }, F_DOUBLE, OFF(p.measure.sharp.rho), NULL, NULL },
    { { "ascent-steps", "N", CMD_BOTH, 0,
        "projected-ascent steps per restart" }, F_INT, OFF(p.measure.sharp.steps), NULL, NULL },
    { { "restarts", "N", CMD_BOTH, 0,
        "ascent restarts" }, F_INT, OFF(p.measure.sharp.restarts), NULL, NULL },
    { { "ascent-start", "WHERE", CMD_BOTH, 0,
        "random (every restart at a random point of the ball) | zero (the first at delta = 0)" },
      F_CUSTOM, 0, set_ascent_start, get_ascent_start },
    { { "samples", "N", CMD_BOTH, 0,
        "measure on the first N training samples" }, F_SIZE, OFF(p.measure.n_samples), NULL, NULL },
    { { "measure-batch", "M", CMD_BOTH, 0,
        "sharpness and full-grad-norm: batches of M samples" }, F_SIZE, OFF(p.measure.batch), NULL, NULL },
    { { "draws", "N", CMD_BOTH, 0,
        "avg: Gaussian draws per batch" }, F_INT, OFF(p.measure.avg_draws), NULL, NULL },
    { { "lanczos", "N", CMD_BOTH, 0,
        "hessian-top: Lanczos steps" }, F_INT, OFF(p.measure.hessian.lanczos_steps), NULL, NULL },
    { { "probes", "N", CMD_BOTH, 0,
        "hessian-trace: Hutchinson probes" }, F_INT, OFF(p.measure.hessian.probes), NULL, NULL },
    { { "measure-seed", "N", CMD_BOTH, 0,
        "seed of the ascent starts and probes" }, F_U64, OFF(p.measure.sharp.seed), NULL, NULL },
    { { "format", "FMT", SAMC_CMD_SHARPNESS, 0,
        "table | csv | json" }, F_CUSTOM, 0, set_format, get_format },
    { { "measure-l2", "run|0|X", SAMC_CMD_SHARPNESS, 0,
        "the l2 term of the measured objective: run (the checkpoint's --l2, the objective\n"
        "  the run trained, with its --label-smoothing) | 0 (the data loss) | X" }, F_CUSTOM, 0, set_measure_l2, get_measure_l2 },
    { { "checkpoint-every", "N|Nm|Ns", SAMC_CMD_TRAIN, 0,
        "OUT/last.ckpt also every N steps, N minutes or N seconds (always at epoch ends)" }, F_CUSTOM, 0, set_ckpt_every, get_ckpt_every },
    { { "keep", "N", SAMC_CMD_TRAIN, 0,
        "keep the N newest OUT/ckpt-STEP.ckpt copies too" }, F_INT, OFF(p.keep), NULL, NULL },
    { { "stop-at", "STEP", SAMC_CMD_TRAIN, 0,
        "stop before STEP as on SIGINT: state saved, --resume continues (0: never)" }, F_I64, OFF(p.stop_at), NULL, NULL },
    { { "quiet", NULL, SAMC_CMD_TRAIN, 0,
        "no configuration table, no epoch lines; --progress auto means none" }, F_ON, OFF(p.quiet), NULL, NULL },
    { { "progress", "MODE", SAMC_CMD_TRAIN, 0,
        "progress on stderr: bar (redrawn in place) | lines (one every 10 s,\n"
        "  one per checkpoint) | none | auto (a bar on a terminal outside mpirun,\n"
        "  else lines)" }, F_CUSTOM, 0, set_progress, get_progress },
    { { "perturb", "MODE", SAMC_CMD_TRAIN, 0,
        "data parallel (mpirun -np K, an MPI build): global = perturb with the pass-1 gradient\n"
        "  averaged over the ranks (= one process); local = each rank with its own (m-sharpness)" }, F_CUSTOM, 0, set_perturb, get_perturb },
    { { "data-shard", NULL, SAMC_CMD_TRAIN, 0,
        "data parallel: each rank holds and samples only its 1/K of the training rows (LIBSVM:\n"
        "  reads only its share of the file); default: every rank holds all" }, F_ON, OFF(p.data_shard), NULL, NULL },
    { { "check-sync", "N", SAMC_CMD_TRAIN, 0,
        "data parallel: every N steps check that all ranks hold the same parameters (0: never)" }, F_I64, OFF(p.check_sync), NULL, NULL },
};
#define N_FLAGS (sizeof flags / sizeof *flags)

const samc_flag *samc_config_flag(size_t i) { return i < N_FLAGS ? &flags[i].f : NULL; }

const samc_flag *samc_config_find(unsigned cmds, const char *name, size_t len)
{
    for (size_t k = 0; k < N_FLAGS; k++) {
        const samc_flag *f = &flags[k].f;
        if ((f->cmds & cmds) && strlen(f->name) == len && !strncmp(f->name, name, len)) return f;
    }
    return NULL;
}

/* The table entry of f, a pointer into the table. */
static const flag *entry(const samc_flag *f) { return (const flag *)((const char *)f - offsetof(flag, f)); }

int config_switch_value(const char *v)
{
    if (!v || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1")) return 1;
    if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0")) return 0;
    return -1;
}

samc_status samc_config_set(samc_config *c, const samc_flag *f, const char *value, char *err)
{
    const flag *fl = entry(f);
    if (f->arg) {
        SAMC_CHECK(value, SAMC_EINVAL, "--%s needs a value (%s)", f->name, f->arg);
        return set_plain(fl, c, value, err);
    }
    int on = config_switch_value(value);
    SAMC_CHECK(on >= 0, SAMC_EINVAL, "--%s: takes on or off, got '%.40s'", f->name, value);
    *(int *)((char *)c + fl->off) = (fl->type == F_ON) == on;
    return SAMC_OK;
}

samc_status samc_config_set_by_name(samc_config *c, unsigned cmds, const char *name, const char *value, char *err)
{
    const samc_flag *f = samc_config_find(cmds, name, strlen(name));
    SAMC_CHECK(f, SAMC_EINVAL, "unknown flag '%.60s'", name);
    return samc_config_set(c, f, value, err);
}

void samc_config_get(const samc_config *c, const samc_flag *f, char *buf, size_t len)
{
    get_plain(entry(f), c, buf, len);
}

void config_print_train_flags(const samc_config *c, FILE *f, int table)
{
    for (size_t i = 0; i < N_FLAGS; i++) {
        const samc_flag *fl = &flags[i].f;
        if (!(fl->cmds & SAMC_CMD_TRAIN)) continue;
        char val[1200];
        samc_config_get(c, fl, val, sizeof val);
        if (table) fprintf(f, "# %-16s %s\n", fl->name, val);
        else fprintf(f, "%s = %s\n", fl->name, val);
    }
}

void samc_config_print_help(FILE *f, unsigned cmd)
{
    samc_config d;
    samc_config_defaults(&d);
    for (size_t i = 0; i < N_FLAGS; i++) {
        const samc_flag *fl = &flags[i].f;
        if (!(fl->cmds & cmd)) continue;
        char val[1200], left[64];
        samc_config_get(&d, fl, val, sizeof val);
        snprintf(left, sizeof left, "--%s%s%s", fl->name, fl->arg ? " " : "", fl->arg ? fl->arg : "");
        fprintf(f, "  %-22s ", left);
        for (const char *h = fl->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "  %-22s ", "");
        }
        fprintf(f, "\n  %-22s [default: %s]\n", "", val[0] ? val : "none");
    }
}
