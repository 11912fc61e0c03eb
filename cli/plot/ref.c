/*
 * ref.c -- a --ref expression of `samc plot --compare` translated for
 * gnuplot, after checking it against
 *   expr := term (('+' | '-' | '*' | '/' | '**' | '^') term)*
 *   term := ('+' | '-')* (NUMBER | 'x' | 'pi' | FUNC '(' expr ')' | '(' expr ')')
 * '^' becomes '**' (gnuplot's '^' is exclusive or) and an integer literal
 * gets ".0" (gnuplot divides integers as integers: 1/2 is 0).  Nothing but
 * these tokens passes, so the expression cannot end the plot command.
 */
#include <string.h>

#include "plot_internal.h"
#include "util/err.h"

static const char *const ref_funcs[] = { "exp", "log", "log10", "sqrt", "abs", "sin", "cos", "tan", "atan",
                                         "sinh", "cosh", "tanh" };
#define NREF_FUNCS (int)(sizeof ref_funcs / sizeof ref_funcs[0])

/* The translation so far, and where the reading stands. */
typedef struct ref {
    const char *s0, *s; /* the expression, the next character */
    char *out;
    size_t o, cap;
    int depth;          /* open parentheses */
    int operand;        /* expecting an operand (else an operator) */
} ref;

static samc_status emit(ref *r, const char *str, char *err)
{
    size_t l = strlen(str);
    SAMC_CHECK(r->o + l + 1 <= r->cap, SAMC_EINVAL, "--ref: expression too long: '%.80s'", r->s0);
    memcpy(r->out + r->o, str, l + 1);
    r->o += l;
    return SAMC_OK;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A number: digits with at most one '.', an optional exponent. */
static samc_status number(ref *r, char *err)
{
    const char *b = r->s;
    int digits = 0, dots = 0, real;
    while (is_digit(*r->s) || *r->s == '.') {
        digits += *r->s != '.';
        dots += *r->s == '.';
        r->s++;
    }
    real = dots > 0;
    SAMC_CHECK(digits && dots <= 1, SAMC_EINVAL, "--ref: malformed number '%.*s' in '%.80s'", (int)(r->s - b), b,
               r->s0);
    if (*r->s == 'e' || *r->s == 'E') {
        const char *e = r->s + 1;
        if (*e == '+' || *e == '-') e++;
        if (is_digit(*e)) {
            while (is_digit(*e)) e++;
            r->s = e;
            real = 1;
        }
    }
    SAMC_CHECK(r->s - b < 40, SAMC_EINVAL, "--ref: number too long in '%.80s'", r->s0);
    char tok[64];
    snprintf(tok, sizeof tok, "%.*s%s", (int)(r->s - b), b, real ? "" : ".0");
    r->operand = 0;
    return emit(r, tok, err);
}

/* A name: x, pi, or a function and its '('. */
static samc_status name(ref *r, char *err)
{
    const char *b = r->s;
    while (is_alpha(*r->s) || is_digit(*r->s) || *r->s == '_') r->s++;
    size_t l = (size_t)(r->s - b);
    if ((l == 1 && *b == 'x') || (l == 2 && !strncmp(b, "pi", 2))) {
        r->operand = 0;
        return emit(r, l == 1 ? "x" : "pi", err);
    }
    int f = 0;
    while (f < NREF_FUNCS && !(strlen(ref_funcs[f]) == l && !strncmp(ref_funcs[f], b, l))) f++;
    SAMC_CHECK(f < NREF_FUNCS, SAMC_EINVAL,
               "--ref: unknown name '%.*s' in '%.80s' (allowed: x, pi, exp, log, log10, sqrt, abs, "
               "sin, cos, tan, atan, sinh, cosh, tanh)", (int)(l < 40 ? l : 40), b, r->s0);
    while (*r->s == ' ') r->s++;
    SAMC_CHECK(*r->s == '(', SAMC_EINVAL, "--ref: %s needs '(' after it in '%.80s'", ref_funcs[f], r->s0);
    r->depth++;
    r->s++;
    samc_status st = emit(r, ref_funcs[f], err);
    return st == SAMC_OK ? emit(r, "(", err) : st;
}

static samc_status bad_char(const ref *r, char *err)
{
    unsigned char c = (unsigned char)*r->s;
    if (c < 32 || c > 126)
        return samc_errf(err, SAMC_EINVAL, "--ref: character 0x%02x not allowed in '%.80s' (numbers, x, pi, "
                         "+ - * / ** ^ ( ) and exp, log, log10, sqrt, abs, ...)", c, r->s0);
    return samc_errf(err, SAMC_EINVAL, "--ref: '%c' not allowed here in '%.80s' (numbers, x, pi, + - * / ** ^ ( ) "
                     "and exp, log, log10, sqrt, abs, ...)", c, r->s0);
}

/* Where an operand is expected: a sign, '(', a number or a name. */
static samc_status operand(ref *r, char *err)
{
    char c = *r->s, tok[2] = { c, 0 };
    if (c == '+' || c == '-' || c == '(') {
        r->depth += c == '(';
        r->s++;
        return emit(r, tok, err);
    }
    if (is_digit(c) || c == '.') return number(r, err);
    if (is_alpha(c)) return name(r, err);
    return bad_char(r, err);
}

/* Where an operator is expected: ')' or an operator. */
static samc_status operator(ref *r, char *err)
{
    char c = *r->s, tok[2] = { c, 0 };
    if (c == ')') {
        SAMC_CHECK(r->depth, SAMC_EINVAL, "--ref: unbalanced ')' in '%.80s'", r->s0);
        r->depth--;
        r->s++;
        return emit(r, ")", err);
    }
    if ((c == '*' && r->s[1] == '*') || c == '^') {
        r->s += c == '*' ? 2 : 1;
        r->operand = 1;
        return emit(r, "**", err);
    }
    if (c == '+' || c == '-' || c == '*' || c == '/') {
        r->s++;
        r->operand = 1;
        return emit(r, tok, err);
    }
    SAMC_CHECK(!strchr("0123456789.xpeE(", c) && !(c >= 'a' && c <= 'z'), SAMC_EINVAL,
               "--ref: an operator is missing before '%.20s' in '%.80s'", r->s, r->s0);
    return bad_char(r, err);
}

samc_status ref_expr(const char *s, char *out, size_t cap, char *err)
{
    ref r = { s, s, out, 0, cap, 0, 1 };
    out[0] = 0;
    while (*r.s) {
        if (*r.s == ' ') {
            r.s++;
            continue;
        }
        samc_status st = r.operand ? operand(&r, err) : operator(&r, err);
        if (st != SAMC_OK) return st;
    }
    SAMC_CHECK(r.o, SAMC_EINVAL, "--ref: empty expression (give EXPR=LABEL, e.g. 0.5/x=O(1/T))");
    SAMC_CHECK(!r.operand, SAMC_EINVAL, "--ref: '%.80s' ends in an operator", s);
    SAMC_CHECK(!r.depth, SAMC_EINVAL, "--ref: unbalanced '(' in '%.80s'", s);
    return SAMC_OK;
}
