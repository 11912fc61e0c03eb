/*
 * summary.c -- `samc plot --summary FILE.csv --x COL --y COL [--group COL]
 * [--err COL]`: a table of results (one row per run, e.g. written by an
 * experiment script), a line with points per group sorted by x, error bars,
 * and horizontal lines at given values (--hline) or at the means of another
 * table's column (--hline-from).  Tables are read by name through the
 * library's CSV reader; fields may carry blanks around them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"
#include "util/err.h"

/* One row of a --summary table. */
typedef struct trow {
    double x, y, e;
    size_t order;
    int g;
} trow;

typedef struct table {
    trow *r;
    size_t n, cap;
    char **gname; /* distinct group values, in order of first appearance */
    int ng, gcap;
} table;

static void table_free(table *t)
{
    for (int k = 0; k < t->ng; k++) free(t->gname[k]);
    free(t->gname);
    free(t->r);
    memset(t, 0, sizeof *t);
}

/* Field k of the current row without surrounding blanks, into b[n]. */
static char *trimmed(const samc_csv *c, int k, char *b, size_t n)
{
    const char *s = samc_csv_field(c, k);
    while (*s == ' ' || *s == '\t') s++;
    snprintf(b, n, "%s", s);
    size_t l = strlen(b);
    while (l && (b[l - 1] == ' ' || b[l - 1] == '\t')) b[--l] = 0;
    return b;
}

/* A field that must be a number (nan and inf are numbers, and left out of
 * the plot later). */
static samc_status table_num(const samc_csv *c, int k, double *v, char *err)
{
    char b[128], *end;
    const char *s = trimmed(c, k, b, sizeof b);
    SAMC_CHECK(*s, SAMC_EFORMAT, "%s:%ld: column %s: empty field (a number is needed)", samc_csv_path(c),
               samc_csv_lineno(c), samc_csv_name(c, k));
    *v = strtod(s, &end);
    SAMC_CHECK(end != s && !*end, SAMC_EFORMAT, "%s:%ld: column %s: '%.60s' is not a number", samc_csv_path(c),
               samc_csv_lineno(c), samc_csv_name(c, k), s);
    return SAMC_OK;
}

/* The index of column name (into *k), when asked for (name not NULL). */
static samc_status table_col(const samc_csv *c, const char *name, const char *what, int *k, char *err)
{
    *k = name ? samc_csv_col(c, name) : -1;
    SAMC_CHECK(!name || *k >= 0, SAMC_EFORMAT, "%s has no column '%s' (%s; header: %.300s)", samc_csv_path(c),
               name, what, samc_csv_header(c));
    return SAMC_OK;
}

static samc_status group_of(table *t, const char *v, int *g, char *err)
{
    for (*g = 0; *g < t->ng; ++*g)
        if (!strcmp(t->gname[*g], v)) return SAMC_OK;
    if (t->ng == t->gcap) {
        int cap = t->gcap ? 2 * t->gcap : 16;
        char **p = realloc(t->gname, (size_t)cap * sizeof *p);
        SAMC_CHECK(p, SAMC_ENOMEM, "out of memory");
        t->gname = p;
        t->gcap = cap;
    }
    SAMC_CHECK(t->gname[t->ng] = strdup(v), SAMC_ENOMEM, "out of memory");
    *g = t->ng++;
    return SAMC_OK;
}

/* One row: its numbers and group. */
static samc_status table_row(const samc_csv *c, table *t, const int *col, char *err)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        trow *p = realloc(t->r, cap * sizeof *p);
        SAMC_CHECK(p, SAMC_ENOMEM, "out of memory reading %s", samc_csv_path(c));
        t->r = p;
        t->cap = cap;
    }
    trow *w = &t->r[t->n];
    w->x = w->e = NAN;
    w->g = 0;
    w->order = t->n;
    samc_status st = col[0] >= 0 ? table_num(c, col[0], &w->x, err) : SAMC_OK;
    if (st == SAMC_OK) st = table_num(c, col[1], &w->y, err);
    if (st == SAMC_OK && col[2] >= 0) st = table_num(c, col[2], &w->e, err);
    char b[1024];
    if (st == SAMC_OK && col[3] >= 0) st = group_of(t, trimmed(c, col[3], b, sizeof b), &w->g, err);
    if (st == SAMC_OK) t->n++;
    return st;
}

/* Reads columns xcol, ycol (and ecol, gcol when not NULL) of every row. */
static samc_status read_table(const char *path, const char *xcol, const char *ycol, const char *ecol,
                              const char *gcol, const char *what, table *t, char *err)
{
    memset(t, 0, sizeof *t);
    samc_csv *c;
    samc_status st = samc_csv_open(&c, path, err);
    if (st != SAMC_OK) return st;
    int col[4];
    const double *row;
    st = table_col(c, xcol, what, &col[0], err);
    if (st == SAMC_OK) st = table_col(c, ycol, what, &col[1], err);
    if (st == SAMC_OK) st = table_col(c, ecol, "--err", &col[2], err);
    if (st == SAMC_OK) st = table_col(c, gcol, "--group", &col[3], err);
    while (st == SAMC_OK && (st = samc_csv_next(c, &row, err)) == SAMC_OK && row) st = table_row(c, t, col, err);
    if (st == SAMC_OK && t->n == 0) st = samc_errf(err, SAMC_EFORMAT, "%s has no rows", path);
    samc_csv_close(c);
    if (st != SAMC_OK) table_free(t);
    return st;
}

static int by_x(const void *a, const void *b)
{
    const trow *p = a, *q = b;
    if (p->x < q->x) return -1;
    if (p->x > q->x) return 1;
    return p->order < q->order ? -1 : p->order > q->order;
}

/* The --hline and --hline-from lines. */
typedef struct hline {
    double y;
    char label[512];
} hline;

typedef struct hlines {
    hline *h;
    int n, cap;
} hlines;

static hline *hline_add(hlines *l, char *err)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        hline *p = realloc(l->h, (size_t)cap * sizeof *p);
        if (!p) {
            samc_errf(err, SAMC_ENOMEM, "out of memory");
            return NULL;
        }
        l->h = p;
        l->cap = cap;
    }
    return &l->h[l->n++];
}

/* --hline-from FILE:COL[:GROUPCOL]: the mean of COL per GROUPCOL value. */
static samc_status hlines_from(const char *spec, hlines *l, char *err)
{
    char buf[4200];
    SAMC_CHECK(snprintf(buf, sizeof buf, "%s", spec) < (int)sizeof buf, SAMC_EINVAL, "--hline-from: too long");
    char *col = strchr(buf, ':'), *gcol = col ? strchr(col + 1, ':') : NULL;
    if (gcol) *gcol++ = 0;
    SAMC_CHECK(col && col != buf && col[1] && (!gcol || *gcol), SAMC_EINVAL,
               "--hline-from: '%.300s' is not FILE.csv:COL[:GROUPCOL]", spec);
    *col++ = 0;
    table t;
    samc_status st = read_table(buf, NULL, col, NULL, gcol, "--hline-from", &t, err);
    for (int g = 0; st == SAMC_OK && g < (gcol ? t.ng : 1); g++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < t.n; i++)
            if (t.r[i].g == g && isfinite(t.r[i].y)) sum += t.r[i].y, cnt++;
        if (!cnt) {
            st = samc_errf(err, SAMC_EINVAL, "--hline-from: %s has no finite value of %s%s%s", buf, col,
                           gcol ? " for " : "", gcol ? t.gname[g] : "");
            break;
        }
        hline *w = hline_add(l, err);
        if (!w) st = SAMC_ENOMEM;
        if (!w) break;
        w->y = sum / (double)cnt;
        char mean[64] = "";
        if (cnt > 1) snprintf(mean, sizeof mean, " (mean of %zu)", cnt);
        const char *base = strrchr(buf, '/');
        if (gcol) snprintf(w->label, sizeof w->label, "%.400s%s", t.gname[g], mean);
        else snprintf(w->label, sizeof w->label, "%.200s: %.200s%s", base ? base + 1 : buf, col, mean);
    }
    table_free(&t);
    return st;
}

static samc_status read_hlines(const mopts *o, hlines *l, char *err)
{
    for (int k = 0; k < o->nlist[O_HLINE]; k++) {
        const char *spec = o->list[O_HLINE][k], *eq = strchr(spec, '=');
        char num[128];
        snprintf(num, sizeof num, "%.*s", eq ? (int)(eq - spec < 127 ? eq - spec : 127) : 127, spec);
        hline *w = hline_add(l, err);
        if (!w) return SAMC_ENOMEM;
        samc_status st = arg_num("hline", num, &w->y, err);
        if (st != SAMC_OK) return st;
        snprintf(w->label, sizeof w->label, "%s", eq && eq[1] ? eq + 1 : num);
    }
    for (int k = 0; k < o->nlist[O_HFROM]; k++) {
        samc_status st = hlines_from(o->list[O_HFROM][k], l, err);
        if (st != SAMC_OK) return st;
    }
    return SAMC_OK;
}

/* The data blocks, one per group with a point to plot (index[g], else -1). */
static samc_status write_groups(const mopts *o, const table *t, FILE *df, int *index, char *err)
{
    const char *path = o->val[O_SUMMARY], *xcol = o->val[O_X], *ycol = o->val[O_Y], *gcol = o->val[O_GROUP];
    const char *ecol = o->val[O_ERR];
    int logx = o->given[O_LOGX], logy = o->given[O_LOGY], ng = gcol ? t->ng : 1, lines = 0;
    trow *rows = malloc(t->n * sizeof *rows);
    double *x = malloc(t->n * sizeof *x), *y = malloc(t->n * sizeof *y), *e = malloc(t->n * sizeof *e);
    for (int g = 0; rows && x && y && e && g < ng; g++) {
        size_t n = 0, dropped;
        for (size_t i = 0; i < t->n; i++)
            if (t->r[i].g == g) rows[n++] = t->r[i];
        qsort(rows, n, sizeof *rows, by_x);
        for (size_t i = 0; i < n; i++) x[i] = rows[i].x, y[i] = rows[i].y, e[i] = rows[i].e;
        gp_comment(df, "block %d: %s%s%s, %zu rows of %s sorted by %s; columns %s %s%s%s", lines,
                   gcol ? gcol : "all rows", gcol ? " = " : "", gcol ? t->gname[g] : "", n, path, xcol, xcol, ycol,
                   ecol ? " " : "", ecol ? ecol : "");
        size_t wrote = gp_put_block(df, x, y, ecol ? e : NULL, n, logx, logy, &dropped);
        index[g] = wrote ? lines++ : -1;
        const char *name = gcol ? t->gname[g] : ycol;
        if (!wrote) gp_comment(df, "(nothing to plot)");
        if (!wrote) printf("# skipped %s: no point to plot%s\n", name, logx || logy ? " on the log axes" : "");
        else if (dropped) printf("# %s: %zu points with x <= 0 or y <= 0 not shown on the log axis\n", name, dropped);
    }
    samc_status st = SAMC_OK;
    if (!rows || !x || !y || !e) st = samc_errf(err, SAMC_ENOMEM, "out of memory");
    else if (!lines)
        st = samc_errf(err, SAMC_EINVAL, "%s: no row with finite %s and %s to plot%s", path, xcol, ycol,
                       logx || logy ? " on the log axes" : "");
    free(rows), free(x), free(y), free(e);
    return st;
}

static void write_script(const mopts *o, const table *t, const hlines *l, const int *index, gpfiles *f,
                         const char *out, const char *fmt)
{
    const char *xcol = o->val[O_X], *ycol = o->val[O_Y], *gcol = o->val[O_GROUP];
    char title[1200];
    snprintf(title, sizeof title, "%.300s against %.300s%s%.300s", ycol, xcol, gcol ? " by " : "", gcol ? gcol : "");
    fprintf(f->g, "# samc plot --summary: generated gnuplot script\nset datafile separator whitespace\n");
    gp_begin_file(f->g, fmt, out, o->val[O_TITLE] ? o->val[O_TITLE] : title, o->val[O_XLABEL] ? o->val[O_XLABEL] : xcol,
                  o->val[O_YLABEL] ? o->val[O_YLABEL] : ycol, o->given[O_LOGX], o->given[O_LOGY]);
    int first = 1;
    for (int g = 0; g < (gcol ? t->ng : 1); g++) {
        if (index[g] < 0) continue;
        fprintf(f->g, "%s%s index %d using %s lw 2 pt %d ps 1.2 lc rgb '%s' title %s", first ? "plot " : ", \\\n     ",
                gp_quote(f->data), index[g], o->val[O_ERR] ? "1:2:3 w yerrorlines" : "1:2 w lp",
                gp_point_types[index[g] % 6], gp_palette[index[g] % 10], gp_quote(gcol ? t->gname[g] : ycol));
        first = 0;
    }
    for (int k = 0; k < l->n; k++)
        fprintf(f->g, ", \\\n     (%.9g) w l dt %d lw 2 lc rgb '#404040' title %s", l->h[k].y, 2 + k % 4,
                gp_quote(l->h[k].label));
    fputs("\nset output\n", f->g);
}

samc_status plot_summary(const mopts *o, const char *out, const char *fmt, char *err)
{
    const char *path = o->val[O_SUMMARY], *xcol = o->val[O_X], *ycol = o->val[O_Y];
    SAMC_CHECK(xcol && ycol, SAMC_EINVAL, "samc plot --summary needs --x COL and --y COL (columns of %s)", path);
    hlines l = { NULL, 0, 0 };
    table t;
    memset(&t, 0, sizeof t);
    gpfiles f;
    memset(&f, 0, sizeof f);
    int *index = NULL;
    samc_status st = read_hlines(o, &l, err);
    if (st == SAMC_OK) st = read_table(path, xcol, ycol, o->val[O_ERR], o->val[O_GROUP], "--x/--y", &t, err);
    if (st == SAMC_OK) st = gp_start_for(&f, out, o->given[O_KEEP], err);
    if (st == SAMC_OK && !(index = malloc((size_t)(t.ng + 1) * sizeof *index)))
        st = samc_errf(err, SAMC_ENOMEM, "out of memory");
    if (st == SAMC_OK) st = write_groups(o, &t, f.df, index, err);
    if (st == SAMC_OK) {
        write_script(o, &t, &l, index, &f, out, fmt);
        st = gp_draw(&f, out, err);
    }
    if (st == SAMC_OK) {
        printf("wrote %s\n", out);
        if (f.keep) printf("wrote %s\nwrote %s\n", f.script, f.data);
    }
    gp_cleanup(&f);
    free(index);
    free(l.h);
    table_free(&t);
    return st;
}
