/*
 * schedule.c -- learning-rate, rho and batch-size schedules and their
 * command-line spec strings (docs/MATH.md section 3).
 *
 * Everything here is a pure function of its arguments: the trainer asks for
 * eta_t, rho_t and the batch size of an epoch, so a resumed run reproduces the
 * same values.  The parsers are strict (every character must be consumed,
 * every number finite and in range) and leave the struct untouched on error.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "util/err.h"

#define SCHED_PI 3.14159265358979323846

/* ------------------------------------------------------------ learning rate */

double samc_lr_at(const samc_lr_schedule *s, int64_t t, int64_t T, int epoch)
{
    if (t < 0)
        t = 0;
    if (epoch < 0)
        epoch = 0;
    if (s->warmup > 0 && t < s->warmup)
        return s->eta_init +
               (s->eta_max - s->eta_init) * (double)t / (double)s->warmup;

    int64_t w = s->warmup > 0 ? s->warmup : 0;
    int64_t tp = t - w, Tp = T - w;
    /* progress through the base schedule, clamped to [0, 1] so that steps
     * past T stay at eta_min instead of wrapping (cosine) or overshooting */
    double prog = Tp <= 0 ? 1.0 : (double)tp / (double)Tp;
    if (prog > 1.0)
        prog = 1.0;
    if (prog < 0.0)
        prog = 0.0;

    switch (s->kind) {
    case SAMC_LR_CONST:
        return s->eta_max;
    case SAMC_LR_COSINE:
        return s->eta_min +
               (s->eta_max - s->eta_min) * (1.0 + cos(SCHED_PI * prog)) / 2.0;
    case SAMC_LR_POLY:
        return s->eta_min + (s->eta_max - s->eta_min) * pow(1.0 - prog, s->power);
    case SAMC_LR_STEP: {
        int m = s->every > 0 ? epoch / s->every : 0;
        return s->eta_max * pow(s->gamma, (double)m);
    }
    }
    return s->eta_max;
}

/* ---------------------------------------------------------------------- rho */

double samc_rho_at(const samc_rho_schedule *s, const samc_lr_schedule *lr,
                   double eta)
{
    if (s->kind != SAMC_RHO_PROP || lr == NULL || lr->eta_max == lr->eta_min)
        return s->rho_max;
    double f = (eta - lr->eta_min) / (lr->eta_max - lr->eta_min);
    /* keep rho inside [rho_min, rho_max] when eta leaves [eta_min, eta_max]
     * (a warm-up starting below eta_min, a step schedule with gamma > 1):
     * a negative rho would flip the perturbation */
    if (!(f >= 0.0))
        f = 0.0;
    if (f > 1.0)
        f = 1.0;
    return s->rho_min + (s->rho_max - s->rho_min) * f;
}

/* --------------------------------------------------------------- batch size */

size_t samc_batch_at(const samc_batch_schedule *s, int epoch, size_t n)
{
    if (s->b0 == 0)
        return n; /* full batch (0 when the data set is empty) */

    int m = (s->every > 0 && epoch > 0) ? epoch / s->every : 0;

    /* the smallest of max and n that applies; SIZE_MAX when neither does */
    size_t limit = SIZE_MAX;
    if (s->max > 0 && s->max < limit)
        limit = s->max;
    if (n > 0 && n < limit)
        limit = n;

    /* compute in double: pow() overflows to +inf, never wraps */
    double v;
    switch (s->kind) {
    case SAMC_BATCH_EXP: {
        double delta = (isfinite(s->delta) && s->delta > 0.0) ? s->delta : 1.0;
        v = (double)s->b0 * pow(delta, (double)m);
        break;
    }
    case SAMC_BATCH_POLY: {
        double base = s->a * (double)m + (double)s->b0;
        v = base > 0.0 ? pow(base, s->c) : 1.0;
        break;
    }
    case SAMC_BATCH_CONST:
    default:
        v = (double)s->b0;
        break;
    }
    if (isnan(v))
        v = 1.0;
    v = floor(v + 0.5); /* round to nearest */

    size_t b;
    if (v >= (double)limit) /* (double)SIZE_MAX rounds up to 2^64 */
        b = limit;
    else if (v < 1.0)
        b = 1;
    else
        b = (size_t)v;
    return b < 1 ? 1 : b;
}

int64_t samc_batch_steps_in_epoch(const samc_batch_schedule *s, int epoch, size_t n)
{
    if (n == 0)
        return 0;
    size_t b = samc_batch_at(s, epoch, n);
    if (b == 0)
        b = 1;
    size_t k = n / b + (n % b != 0);
    return k > (size_t)INT64_MAX ? INT64_MAX : (int64_t)k;
}

/* ------------------------------------------------------------------ parsing */

#define LR_EXPECT "const, cosine[:ETA_MIN], linear[:ETA_MIN], poly:P[:ETA_MIN] or step:GAMMA@E"
#define RHO_EXPECT "const or prop:RHO_MIN"
#define BATCH_EXPECT "const, exp:DELTA@E[,max=B] or poly:A,C@E[,max=B]"

typedef struct parse_ctx {
    const char *what;   /* "lr schedule" */
    const char *spec;   /* the whole spec, for the message */
    const char *expect; /* the accepted forms */
    char *err;          /* SAMC_ERRLEN bytes or NULL */
} parse_ctx;

/* Copy s into out (size len) for quoting in a one-line message: control
 * characters become '?', and a long string is cut with "...". */
static void quote_text(char *out, size_t len, const char *s)
{
    size_t i = 0;
    const size_t keep = len - 4; /* room for "..." and the NUL */
    for (; *s && i < keep; s++)
        out[i++] = (iscntrl((unsigned char)*s)) ? '?' : *s;
    if (*s) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

static samc_status parse_fail(const parse_ctx *c, const char *fmt, ...)
{
    if (c->err == NULL)
        return SAMC_EINVAL;
    char detail[160], quoted[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    for (char *p = detail; *p; p++)
        if (iscntrl((unsigned char)*p))
            *p = '?';
    quote_text(quoted, sizeof quoted, c->spec ? c->spec : "(null)");
    return samc_errf(c->err, SAMC_EINVAL, "invalid %s \"%s\": %s (expected %s)", c->what, quoted,
                     detail, c->expect);
}

/* The rest of the spec from p, quoted for a message. */
static const char *rest(const char *p, char *buf, size_t len)
{
    quote_text(buf, len, p);
    return buf;
}

/* A number at *p: finite, no leading blanks; advances *p past it.
 * Returns 0 if there is no number there or it is not finite. */
static int take_double(const char **p, double *out)
{
    const char *s = *p;
    if (*s == '\0' || isspace((unsigned char)*s))
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return 0;
    *p = end;
    *out = v;
    return 1;
}

/* A decimal integer at *p in [lo, hi]; no leading blanks or '+'.
 * Returns 0 if missing, 1 if parsed (advances *p), -1 if out of range. */
static int take_integer(const char **p, long long lo, long long hi, long long *out)
{
    const char *s = *p;
    if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s)
        return 0;
    *p = end;
    if (errno == ERANGE || v < lo || v > hi)
        return -1;
    *out = v;
    return 1;
}

/* The spec is `word` alone or `word:...`; returns the text after the word
 * (pointing at '\0' or ':'), or NULL. */
static const char *match_kind(const char *spec, const char *word)
{
    size_t k = strlen(word);
    if (strncmp(spec, word, k) == 0 && (spec[k] == '\0' || spec[k] == ':'))
        return spec + k;
    return NULL;
}

/* Ranges for take_number. */
enum { GE0, GT0, GE1 };

static samc_status take_number(const parse_ctx *c, const char **p, const char *name,
                               int range, double *out)
{
    double v;
    const char *start = *p;
    static const char *const req[] = {">= 0", "> 0", ">= 1"};
    if (!take_double(p, &v)) {
        char b[64];
        if (*start == '\0')
            return parse_fail(c, "missing %s", name);
        return parse_fail(c, "%s must be a finite number %s, not \"%s\"", name,
                          req[range], rest(start, b, sizeof b));
    }
    int ok = range == GE0 ? v >= 0.0 : range == GT0 ? v > 0.0 : v >= 1.0;
    if (!ok)
        return parse_fail(c, "%s must be %s, not %.9g", name, req[range], v);
    *out = v;
    return SAMC_OK;
}

static samc_status take_epochs(const parse_ctx *c, const char **p, int *out)
{
    long long v = 0;
    const char *start = *p;
    int r = take_integer(p, LLONG_MIN, LLONG_MAX, &v);
    if (r == 0) {
        char b[64];
        if (*start == '\0')
            return parse_fail(c, "missing E (epochs per stage) after '@'");
        return parse_fail(c, "E (epochs per stage) must be an integer >= 1, not \"%s\"",
                          rest(start, b, sizeof b));
    }
    if (r < 0 || v < 1 || v > INT_MAX)
        return parse_fail(c, "E (epochs per stage) must be an integer in 1..%d", INT_MAX);
    *out = (int)v;
    return SAMC_OK;
}

static samc_status expect_char(const parse_ctx *c, const char **p, char ch,
                               const char *after)
{
    if (**p == ch) {
        (*p)++;
        return SAMC_OK;
    }
    char b[64];
    if (**p == '\0')
        return parse_fail(c, "missing '%c' after %s", ch, after);
    return parse_fail(c, "expected '%c' after %s, found \"%s\"", ch, after,
                      rest(*p, b, sizeof b));
}

static samc_status expect_end(const parse_ctx *c, const char *p)
{
    if (*p == '\0')
        return SAMC_OK;
    char b[64];
    return parse_fail(c, "unexpected trailing text \"%s\"", rest(p, b, sizeof b));
}

/* Checks shared by the three parsers; returns SAMC_OK if s and spec are set. */
static samc_status check_args(const parse_ctx *c, const void *s)
{
    char *err = c->err;
    SAMC_CHECK(s != NULL, SAMC_EINVAL, "invalid %s: no schedule to fill", c->what);
    SAMC_CHECK(c->spec != NULL, SAMC_EINVAL, "invalid %s: no spec given (expected %s)", c->what, c->expect);
    return SAMC_OK;
}

#define TRY(x)                          \
    do {                                \
        samc_status st_ = (x);          \
        if (st_ != SAMC_OK)             \
            return st_;                 \
    } while (0)

samc_status samc_lr_schedule_parse(samc_lr_schedule *s, const char *spec, char *err)
{
    parse_ctx c = {"lr schedule", spec, LR_EXPECT, err};
    TRY(check_args(&c, s));

    /* eta_max, warmup and eta_init are not in the spec; the fields the kind
     * does not use get neutral values so equal specs give equal structs */
    samc_lr_schedule r = *s;
    r.eta_min = 0.0;
    r.power = 1.0;
    r.gamma = 1.0;
    r.every = 0;

    const char *p;
    if (strncmp(spec, "const", 5) == 0) {
        r.kind = SAMC_LR_CONST;
        TRY(expect_end(&c, spec + 5));
    } else if ((p = match_kind(spec, "cosine")) || (p = match_kind(spec, "linear"))) {
        r.kind = spec[0] == 'c' ? SAMC_LR_COSINE : SAMC_LR_POLY;
        if (*p == ':') {
            p++;
            TRY(take_number(&c, &p, "ETA_MIN", GE0, &r.eta_min));
        }
        TRY(expect_end(&c, p));
    } else if ((p = match_kind(spec, "poly"))) {
        r.kind = SAMC_LR_POLY;
        TRY(expect_char(&c, &p, ':', "poly"));
        TRY(take_number(&c, &p, "P (the power)", GT0, &r.power));
        if (*p == ':') {
            p++;
            TRY(take_number(&c, &p, "ETA_MIN", GE0, &r.eta_min));
        }
        TRY(expect_end(&c, p));
    } else if ((p = match_kind(spec, "step"))) {
        r.kind = SAMC_LR_STEP;
        TRY(expect_char(&c, &p, ':', "step"));
        TRY(take_number(&c, &p, "GAMMA (the factor per stage)", GT0, &r.gamma));
        TRY(expect_char(&c, &p, '@', "GAMMA"));
        TRY(take_epochs(&c, &p, &r.every));
        TRY(expect_end(&c, p));
    } else {
        return parse_fail(&c, "unknown schedule kind");
    }
    *s = r;
    return SAMC_OK;
}

samc_status samc_rho_schedule_parse(samc_rho_schedule *s, const char *spec, char *err)
{
    parse_ctx c = {"rho schedule", spec, RHO_EXPECT, err};
    TRY(check_args(&c, s));

    samc_rho_schedule r = *s; /* rho_max is not in the spec */
    r.rho_min = 0.0;
    const char *p;
    if (strncmp(spec, "const", 5) == 0) {
        r.kind = SAMC_RHO_CONST;
        TRY(expect_end(&c, spec + 5));
    } else if ((p = match_kind(spec, "prop"))) {
        r.kind = SAMC_RHO_PROP;
        TRY(expect_char(&c, &p, ':', "prop"));
        TRY(take_number(&c, &p, "RHO_MIN", GE0, &r.rho_min));
        TRY(expect_end(&c, p));
    } else {
        return parse_fail(&c, "unknown schedule kind");
    }
    *s = r;
    return SAMC_OK;
}

/* Optional ",max=B" at the end of a batch spec. */
static samc_status take_batch_max(const parse_ctx *c, const char **p, size_t *out)
{
    if (**p != ',')
        return SAMC_OK;
    if (strncmp(*p, ",max=", 5) != 0) {
        char b[64];
        return parse_fail(c, "expected \",max=B\", found \"%s\"", rest(*p, b, sizeof b));
    }
    *p += 5;
    const char *start = *p;
    long long v = 0;
    int r = take_integer(p, LLONG_MIN, LLONG_MAX, &v);
    if (r == 0) {
        char b[64];
        if (*start == '\0')
            return parse_fail(c, "missing B after \"max=\"");
        return parse_fail(c, "B (the largest batch) must be an integer >= 1, not \"%s\"",
                          rest(start, b, sizeof b));
    }
    if (r < 0 || v < 1 || (unsigned long long)v > (unsigned long long)SIZE_MAX)
        return parse_fail(c, "B (the largest batch) must be an integer >= 1 that fits a size_t");
    *out = (size_t)v;
    return SAMC_OK;
}

samc_status samc_batch_schedule_parse(samc_batch_schedule *s, const char *spec, char *err)
{
    parse_ctx c = {"batch schedule", spec, BATCH_EXPECT, err};
    TRY(check_args(&c, s));

    samc_batch_schedule r = *s; /* b0 is not in the spec */
    r.delta = 1.0;
    r.a = 0.0;
    r.c = 1.0;
    r.every = 0;
    r.max = 0;

    const char *p;
    if (strncmp(spec, "const", 5) == 0) {
        r.kind = SAMC_BATCH_CONST;
        TRY(expect_end(&c, spec + 5));
    } else if ((p = match_kind(spec, "exp"))) {
        r.kind = SAMC_BATCH_EXP;
        TRY(expect_char(&c, &p, ':', "exp"));
        TRY(take_number(&c, &p, "DELTA (the growth factor)", GE1, &r.delta));
        TRY(expect_char(&c, &p, '@', "DELTA"));
        TRY(take_epochs(&c, &p, &r.every));
        TRY(take_batch_max(&c, &p, &r.max));
        TRY(expect_end(&c, p));
    } else if ((p = match_kind(spec, "poly"))) {
        r.kind = SAMC_BATCH_POLY;
        TRY(expect_char(&c, &p, ':', "poly"));
        TRY(take_number(&c, &p, "A (the growth per stage)", GE0, &r.a));
        TRY(expect_char(&c, &p, ',', "A"));
        TRY(take_number(&c, &p, "C (the power)", GT0, &r.c));
        TRY(expect_char(&c, &p, '@', "C"));
        TRY(take_epochs(&c, &p, &r.every));
        TRY(take_batch_max(&c, &p, &r.max));
        TRY(expect_end(&c, p));
    } else {
        return parse_fail(&c, "unknown schedule kind");
    }
    *s = r;
    return SAMC_OK;
}

/* --------------------------------------------------------------- formatting */

void samc_lr_schedule_format(const samc_lr_schedule *s, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    switch (s->kind) {
    case SAMC_LR_COSINE:
    case SAMC_LR_POLY: {
        char tail[48] = "";
        if (s->eta_min != 0.0)
            snprintf(tail, sizeof tail, ":%.9g", s->eta_min);
        if (s->kind == SAMC_LR_COSINE)
            snprintf(buf, len, "cosine%s", tail);
        else if (s->power == 1.0)
            snprintf(buf, len, "linear%s", tail);
        else
            snprintf(buf, len, "poly:%.9g%s", s->power, tail);
        return;
    }
    case SAMC_LR_STEP:
        snprintf(buf, len, "step:%.9g@%d", s->gamma, s->every);
        return;
    case SAMC_LR_CONST:
    default:
        snprintf(buf, len, "const");
        return;
    }
}

void samc_rho_schedule_format(const samc_rho_schedule *s, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    if (s->kind == SAMC_RHO_PROP)
        snprintf(buf, len, "prop:%.9g", s->rho_min);
    else
        snprintf(buf, len, "const");
}

void samc_batch_schedule_format(const samc_batch_schedule *s, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    char tail[48] = "";
    if (s->max > 0)
        snprintf(tail, sizeof tail, ",max=%zu", s->max);
    switch (s->kind) {
    case SAMC_BATCH_EXP:
        snprintf(buf, len, "exp:%.9g@%d%s", s->delta, s->every, tail);
        return;
    case SAMC_BATCH_POLY:
        snprintf(buf, len, "poly:%.9g,%.9g@%d%s", s->a, s->c, s->every, tail);
        return;
    case SAMC_BATCH_CONST:
    default:
        snprintf(buf, len, "const");
        return;
    }
}
