/*
 * compare.c -- `samc plot --compare OUT1[=LABEL] OUT2 ... --y COLUMN
 * --output F.png`: one column of each run in one figure (its running
 * minimum with --running-min, minus a constant with --minus), per step or
 * per epoch, with --ref reference curves.  The columns are read by runs.c,
 * a data block per run.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plot_internal.h"
#include "util/err.h"

/* The --ref curves: gnuplot expressions and their labels. */
typedef struct refs {
    int n;
    char (*expr)[1200];
    char (*label)[1100];
} refs;

static samc_status read_refs(const mopts *o, refs *r, char *err)
{
    r->n = o->nlist[O_REF];
    r->expr = calloc((size_t)r->n + 1, sizeof *r->expr);
    r->label = calloc((size_t)r->n + 1, sizeof *r->label);
    SAMC_CHECK(r->expr && r->label, SAMC_ENOMEM, "out of memory");
    for (int k = 0; k < r->n; k++) {
        const char *spec = o->list[O_REF][k], *eq = strchr(spec, '=');
        char expr[1024];
        int len = eq ? (int)(eq - spec) : (int)strlen(spec);
        SAMC_CHECK(snprintf(expr, sizeof expr, "%.*s", len, spec) < (int)sizeof expr, SAMC_EINVAL,
                   "--ref: expression too long");
        samc_status st = ref_expr(expr, r->expr[k], sizeof r->expr[k], err);
        if (st != SAMC_OK) return st;
        snprintf(r->label[k], sizeof r->label[k], "%s", eq && eq[1] ? eq + 1 : expr); /* the label, or the expression */
    }
    return SAMC_OK;
}

/* Reads the runs: OUT=LABEL splits at the first '=', unless the whole is a directory. */
static samc_status read_runs(const mopts *o, cseries *s, const char *ycol, int by_epoch, double minus, char *err)
{
    for (int k = 0; k < o->nruns; k++) {
        const char *a = o->runs[k], *eq = strchr(a, '=');
        struct stat st;
        if (eq && !(stat(a, &st) == 0 && S_ISDIR(st.st_mode))) {
            snprintf(s[k].dir, sizeof s[k].dir, "%.*s", (int)(eq - a), a);
            s[k].label = eq + 1;
        } else {
            snprintf(s[k].dir, sizeof s[k].dir, "%s", a);
            s[k].label = a;
        }
        SAMC_CHECK(s[k].dir[0], SAMC_EINVAL, "'%s': no run directory before '='", a);
        samc_status r = pick_source(&s[k], ycol, by_epoch, err);
        if (r == SAMC_OK) r = read_series(&s[k], ycol, minus, o->given[O_RUNMIN], err);
        if (r != SAMC_OK) return r;
    }
    return SAMC_OK;
}

/* Default texts of --compare: the y label and the title. */
static void compare_texts(const mopts *o, int by_epoch, char *yl, size_t n, char *title, size_t nt)
{
    const char *y = o->val[O_Y];
    char v[600];
    if (o->val[O_MINUS]) snprintf(v, sizeof v, "%.250s - %.250s", y, o->val[O_MINUS]);
    else snprintf(v, sizeof v, "%.500s", y);
    if (o->given[O_RUNMIN])
        snprintf(yl, n, "min over %s <= %s of %s%s%s", by_epoch ? "epochs" : "steps", by_epoch ? "e" : "t",
                 o->val[O_MINUS] ? "(" : "", v, o->val[O_MINUS] ? ")" : "");
    else snprintf(yl, n, "%s", v);
    snprintf(title, nt, "%s per %s%s", yl, by_epoch ? "epoch" : "step", o->given[O_LOGY] ? " (log scale)" : "");
}

/* The data blocks, one per run. */
static samc_status write_blocks(const mopts *o, cseries *s, FILE *df, int *any_sub, char *err)
{
    const char *ycol = o->val[O_Y];
    int logx = o->given[O_LOGX], logy = o->given[O_LOGY];
    *any_sub = 0;
    for (int k = 0; k < o->nruns; k++) {
        cseries *r = &s[k];
        gp_comment(df, "block %d: %s = %s, column %s%s%s%s of %s, x = %s; %zu rows%s", k, r->label, r->dir, ycol,
                   o->val[O_MINUS] ? " - " : "", o->val[O_MINUS] ? o->val[O_MINUS] : "",
                   o->given[O_RUNMIN] ? ", running minimum" : "", r->path, r->xcol, r->total,
                   r->every > 1 ? ", every k-th and the last kept" : "");
        if (r->every > 1) gp_comment(df, "k = %zu", r->every);
        size_t w = gp_put_block(df, r->x, r->y, NULL, r->n, logx, logy, &r->dropped);
        *any_sub |= r->every > 1;
        SAMC_CHECK(w, SAMC_EINVAL, "%s: no %s value of %s to plot%s", r->path, logy ? "positive finite" : "finite",
                   ycol, logx ? " at x > 0" : "");
    }
    return SAMC_OK;
}

static void write_script(const mopts *o, const cseries *s, const refs *r, gpfiles *f, const char *out,
                         const char *fmt, int any_sub)
{
    int by_epoch = o->val[O_X] && !strcmp(o->val[O_X], "epoch");
    char yl[1400], title[1600];
    compare_texts(o, by_epoch, yl, sizeof yl, title, sizeof title);
    if (any_sub && strlen(title) + 80 < sizeof title)
        snprintf(title + strlen(title), sizeof title - strlen(title),
                 "\nruns of more than %d rows: every k-th row and the last plotted", MAX_POINTS);
    fprintf(f->g, "# samc plot --compare: generated gnuplot script\nset datafile separator whitespace\n");
    gp_begin_file(f->g, fmt, out, o->val[O_TITLE] ? o->val[O_TITLE] : title,
                  o->val[O_XLABEL] ? o->val[O_XLABEL] : by_epoch ? "epoch" : "step t",
                  o->val[O_YLABEL] ? o->val[O_YLABEL] : yl, o->given[O_LOGX], o->given[O_LOGY]);
    for (int k = 0; k < o->nruns; k++) {
        const char *style = s[k].n <= 60 ? "w lp lw 2 ps 1" : "w l lw 2";
        fprintf(f->g, "%s%s index %d using 1:2 %s pt %d lc rgb '%s' title %s", k ? ", \\\n     " : "plot ",
                gp_quote(f->data), k, style, gp_point_types[k % 6], gp_palette[k % 10], gp_quote(s[k].label));
    }
    for (int k = 0; k < r->n; k++)
        fprintf(f->g, ", \\\n     (%s) w l dt %d lw 2 lc rgb '#404040' title %s", r->expr[k], 2 + k % 4,
                gp_quote(r->label[k]));
    fputs("\nset output\n", f->g);
}

static void report(const mopts *o, const cseries *s)
{
    int logx = o->given[O_LOGX], logy = o->given[O_LOGY];
    for (int k = 0; k < o->nruns; k++) {
        if (s[k].every > 1)
            printf("# %s: 1 in %zu of %zu rows plotted (and the last)\n", s[k].label, s[k].every, s[k].total);
        if (s[k].dropped)
            printf("# %s: %zu points with %s not shown on the log axis\n", s[k].label, s[k].dropped,
                   logx && logy ? "x <= 0 or y <= 0" : logx ? "x <= 0" : "y <= 0");
    }
}

samc_status plot_compare(const mopts *o, const char *out, const char *fmt, char *err)
{
    const char *ycol = o->val[O_Y], *xarg = o->val[O_X] ? o->val[O_X] : "step";
    SAMC_CHECK(ycol, SAMC_EINVAL, "samc plot --compare needs --y COLUMN (a column of steps.csv or metrics.csv)");
    SAMC_CHECK(!strcmp(xarg, "step") || !strcmp(xarg, "epoch"), SAMC_EINVAL, "--x: '%.60s' is not step or epoch",
               xarg);
    SAMC_CHECK(o->nruns, SAMC_EINVAL,
               "samc plot --compare needs run directories: --compare OUT1[=LABEL] OUT2[=LABEL] ...");
    double minus = 0;
    samc_status st = o->val[O_MINUS] ? arg_num("minus", o->val[O_MINUS], &minus, err) : SAMC_OK;
    if (st != SAMC_OK) return st;
    refs r = { 0, NULL, NULL };
    cseries *s = calloc((size_t)o->nruns, sizeof *s);
    gpfiles f;
    memset(&f, 0, sizeof f);
    int any_sub;
    st = s ? read_refs(o, &r, err) : samc_errf(err, SAMC_ENOMEM, "out of memory");
    if (st == SAMC_OK) st = read_runs(o, s, ycol, !strcmp(xarg, "epoch"), minus, err);
    if (st == SAMC_OK) st = gp_start_for(&f, out, o->given[O_KEEP], err);
    if (st == SAMC_OK) st = write_blocks(o, s, f.df, &any_sub, err);
    if (st == SAMC_OK) {
        write_script(o, s, &r, &f, out, fmt, any_sub);
        st = gp_draw(&f, out, err);
    }
    if (st == SAMC_OK) {
        report(o, s);
        printf("wrote %s\n", out);
        if (f.keep) printf("wrote %s\nwrote %s\n", f.script, f.data);
    }
    gp_cleanup(&f);
    for (int k = 0; s && k < o->nruns; k++) {
        free(s[k].x);
        free(s[k].y);
    }
    free(s);
    free(r.expr);
    free(r.label);
    return st;
}
