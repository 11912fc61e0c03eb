/*
 * command.c -- `samc plot`: its flags (one table for the three modes), its
 * usage, and which mode runs:
 *   samc plot OUT [--format png|svg] [--out DIR]        figures.c
 *   samc plot --compare OUT1[=LABEL] OUT2 ... --y COL   compare.c
 *   samc plot --summary FILE.csv --x COL --y COL        summary.c
 * Errors end in one line "samc: error: ..." and exit status 1.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../plot.h"
#include "plot_internal.h"
#include "util/err.h"

#define M_MULTI (M_COMPARE | M_SUMMARY)
#define M_ALL (M_RUN | M_COMPARE | M_SUMMARY)

static const cli_flag plot_flags[O_N] = {
    [O_COMPARE] = { "compare", NULL, M_COMPARE, 0 },
    [O_SUMMARY] = { "summary", "FILE.csv", M_SUMMARY, 0 },
    [O_Y] = { "y", "COLUMN", M_MULTI, 0 },
    [O_X] = { "x", "COL", M_MULTI, 0 },
    [O_MINUS] = { "minus", "F", M_COMPARE, 0 },
    [O_RUNMIN] = { "running-min", NULL, M_COMPARE, 0 },
    [O_REF] = { "ref", "EXPR[=LABEL]", M_COMPARE, CLI_REPEAT },
    [O_GROUP] = { "group", "COL", M_SUMMARY, 0 },
    [O_ERR] = { "err", "COL", M_SUMMARY, 0 },
    [O_HLINE] = { "hline", "VALUE[=LABEL]", M_SUMMARY, CLI_REPEAT },
    [O_HFROM] = { "hline-from", "F.csv:COL[:GROUPCOL]", M_SUMMARY, CLI_REPEAT },
    [O_LOGX] = { "logx", NULL, M_MULTI, 0 },
    [O_LOGY] = { "logy", NULL, M_MULTI, 0 },
    [O_TITLE] = { "title", "TEXT", M_MULTI, CLI_EMPTY },
    [O_XLABEL] = { "xlabel", "TEXT", M_MULTI, CLI_EMPTY },
    [O_YLABEL] = { "ylabel", "TEXT", M_MULTI, CLI_EMPTY },
    [O_OUTPUT] = { "output", "FILE.png|FILE.svg", M_MULTI, 0 },
    [O_KEEP] = { "keep-script", NULL, M_MULTI, 0 },
    [O_FORMAT] = { "format", "png|svg", M_RUN, 0 },
    [O_OUT] = { "out", "DIR", M_RUN, 0 },
};

static const char *mode_name(int mode) { return mode == M_COMPARE ? "--compare" : "--summary"; }

static void mopts_free(mopts *o)
{
    for (int k = 0; k < O_N; k++) free(o->list[k]);
    free(o->runs);
}

samc_status arg_num(const char *flag, const char *s, double *v, char *err)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    SAMC_CHECK(end != s && !*end && isfinite(*v) && errno != ERANGE, SAMC_EINVAL,
               "--%s: '%.60s' is not a finite number", flag, s);
    return SAMC_OK;
}

/* An argument that is not a flag: the run directory (OUT), the runs of --compare. */
static samc_status positional(mopts *o, const char *a, char *err)
{
    SAMC_CHECK(o->mode != M_SUMMARY, SAMC_EINVAL,
               "unexpected argument '%s' (samc plot --summary reads the one file given to --summary)", a);
    SAMC_CHECK(o->mode != M_RUN || o->nruns == 0, SAMC_EINVAL,
               "unexpected argument '%s' (samc plot takes one run directory)", a);
    o->runs[o->nruns++] = a;
    return SAMC_OK;
}

/* The flag argv[*i]: known, of this mode, given once (but those that repeat). */
static samc_status one_flag(int argc, char **argv, int *i, mopts *o, char *err)
{
    int mode = o->mode;
    const char *name = argv[*i] + 2;
    int len = (int)strcspn(name, "=");
    const cli_flag *f = cli_flag_find(plot_flags, O_N, sizeof *plot_flags, M_ALL, name, (size_t)len);
    SAMC_CHECK(f || mode != M_RUN, SAMC_EINVAL, "unknown flag '--%.*s' (see samc plot --help)", len, name);
    SAMC_CHECK(f, SAMC_EINVAL, "unknown flag '--%.*s' for samc plot %s (see samc plot --help)", len, name,
               mode_name(mode));
    SAMC_CHECK((f->cmds & mode) || mode == M_RUN || f->cmds != M_RUN, SAMC_EINVAL,
               "--%s is a flag of samc plot OUT; with %s the format comes from --output FILE.png|FILE.svg", f->name,
               mode_name(mode));
    SAMC_CHECK((f->cmds & mode) || mode == M_RUN, SAMC_EINVAL, "--%s is a flag of samc plot %s, not %s", f->name,
               mode_name(M_MULTI - mode), mode_name(mode));
    SAMC_CHECK(f->cmds & mode, SAMC_EINVAL, "--%s is a flag of samc plot %s, not of samc plot OUT", f->name,
               f->cmds == M_MULTI ? "--compare and --summary" : mode_name(f->cmds));
    int k = (int)(f - plot_flags);
    SAMC_CHECK(!o->given[k] || (f->opts & CLI_REPEAT) || mode == M_RUN, SAMC_EINVAL, "--%s given twice", f->name);
    o->given[k] = 1;
    cli_arg a;
    samc_status st = cli_arg_read(plot_flags, O_N, sizeof *plot_flags, mode, argc, argv, i, &a, err);
    if (st != SAMC_OK && k == O_COMPARE && strlen(err) + 40 < SAMC_ERRLEN)
        strcat(err, " (list the run directories after it)");
    if (st != SAMC_OK || !f->arg) return st;
    SAMC_CHECK(*a.value || (f->opts & CLI_EMPTY), SAMC_EINVAL, "--%s needs a non-empty value", f->name);
    if (f->opts & CLI_REPEAT) o->list[k][o->nlist[k]++] = a.value;
    else o->val[k] = a.value;
    return SAMC_OK;
}

static samc_status parse(int argc, char **argv, int mode, mopts *o, char *err)
{
    memset(o, 0, sizeof *o);
    o->mode = mode;
    o->runs = malloc(((size_t)argc + 1) * sizeof *o->runs);
    int ok = o->runs != NULL;
    for (int k = 0; k < O_N; k++)
        if (plot_flags[k].opts & CLI_REPEAT) ok &= (o->list[k] = malloc(((size_t)argc + 1) * sizeof *o->list[k])) != NULL;
    SAMC_CHECK(ok, SAMC_ENOMEM, "out of memory");
    for (int i = 0; i < argc; i++) {
        samc_status st = strncmp(argv[i], "--", 2) ? positional(o, argv[i], err) : one_flag(argc, argv, &i, o, err);
        if (st != SAMC_OK) return st;
    }
    return SAMC_OK;
}

/* --compare or --summary (M_RUN without either); -1 when both are given.
 * A flag's value is skipped: --title --compare is a title. */
static int find_mode(int argc, char **argv)
{
    int mode = M_RUN;
    for (int i = 0; i < argc; i++) {
        int m = !strcmp(argv[i], "--compare") || !strncmp(argv[i], "--compare=", 10)   ? M_COMPARE
                : !strcmp(argv[i], "--summary") || !strncmp(argv[i], "--summary=", 10) ? M_SUMMARY
                                                                                        : 0;
        if (m && mode != M_RUN && m != mode) return -1;
        if (m) mode = m;
        for (int k = 0; k < O_N; k++)
            if (plot_flags[k].arg && !strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, plot_flags[k].name)) {
                i++;
                break;
            }
    }
    return mode;
}

/* --compare and --summary: one figure, --output, its format from the extension. */
static samc_status plot_multi(const mopts *o, char *err)
{
    const char *out = o->val[O_OUTPUT], *fmt;
    SAMC_CHECK(out, SAMC_EINVAL, "samc plot %s needs --output FILE.png|FILE.svg", mode_name(o->mode));
    size_t n = strlen(out);
    if (n > 4 && !strcmp(out + n - 4, ".png")) fmt = "png";
    else if (n > 4 && !strcmp(out + n - 4, ".svg")) fmt = "svg";
    else return samc_errf(err, SAMC_EINVAL, "--output: '%.300s' must end in .png or .svg (the format of the figure)", out);
    SAMC_CHECK(n < 4000, SAMC_EINVAL, "--output: path too long");
    return o->mode == M_COMPARE ? plot_compare(o, out, fmt, err) : plot_summary(o, out, fmt, err);
}

static void usage(FILE *f)
{
    fputs("usage: samc plot OUT [--format png|svg] [--out DIR]\n"
          "       samc plot --compare OUT[=LABEL]... --y COLUMN [flags] --output FILE.png|FILE.svg\n"
          "       samc plot --summary FILE.csv --x COL --y COL [flags] --output FILE.png|FILE.svg\n"
          "\n"
          "samc plot OUT: the figures of a training run from OUT/steps.csv and\n"
          "OUT/metrics.csv (the --out directory of samc train), drawn with gnuplot:\n"
          "  loss       per-step loss f_S(x_t) and f_S(x_t + d), per-epoch train/test loss\n"
          "  accuracy   train / test / validation accuracy per epoch (if defined)\n"
          "  step_size  step size gamma_t taken per step (Polyak or scheduled), running mean\n"
          "  batch_rho  batch size and rho per step\n"
          "  grad_norm  ||grad f_S(x_t)|| and ||grad f_S(x_t + d)|| per step\n"
          "  sharpness  the --measure-every columns of metrics.csv per epoch (if any)\n"
          "Long runs are subsampled to about 20000 steps per series.\n"
          "  --format png|svg       image format\n"
          "                         [default: png]\n"
          "  --out DIR              where the figures go (created if missing)\n"
          "                         [default: OUT/plots]\n"
          "\n"
          "samc plot --compare: one column of several runs in one figure, a line per run.\n"
          "  OUT[=LABEL]            a run directory and its legend label [default: OUT];\n"
          "                         split at the first '=' unless the whole is a directory\n"
          "  --y COLUMN             the column, by its name in steps.csv or metrics.csv\n"
          "  --x step|epoch         step: from OUT/steps.csv, x = its step column; a COLUMN\n"
          "                         steps.csv lacks comes from metrics.csv, x = its step\n"
          "                         column; epoch: from OUT/metrics.csv, x = its epoch\n"
          "                         column  [default: step]\n"
          "  --minus F              plot COLUMN - F (e.g. F = f*: the gap f - f*)\n"
          "  --running-min          plot the minimum over the rows up to each row, over\n"
          "                         every row and after --minus (min_{s<=t} ||grad f||)\n"
          "  --ref EXPR[=LABEL]     a dashed reference curve y = EXPR(x), repeatable, e.g.\n"
          "                         '0.5/x=O(1/T)' or '1e2*0.99**x=bound'; EXPR may hold\n"
          "                         numbers, x, pi, + - * / ** ^ ( ) and exp log log10 sqrt\n"
          "                         abs sin cos tan atan sinh cosh tanh, nothing else; ^ is\n"
          "                         a power, integers are reals (1/2 is 0.5)\n"
          "  Series longer than 20000 rows are subsampled to about 20000 points (every\n"
          "  k-th row and the last); --minus and --running-min see every row.\n"
          "\n"
          "samc plot --summary: a table of results (one row per run, e.g. written by an\n"
          "experiment script), one line with points per group, sorted by x.\n"
          "  FILE.csv               comma-separated, a header of column names, no quoting\n"
          "  --x COL, --y COL       the columns of x and y\n"
          "  --group COL            one line per distinct value of COL (any text), in the\n"
          "                         order of first appearance  [default: one line]\n"
          "  --err COL              error bars y - COL .. y + COL\n"
          "  --hline VALUE[=LABEL]  a dashed horizontal line y = VALUE, repeatable\n"
          "  --hline-from F.csv:COL[:GROUPCOL]\n"
          "                         horizontal lines at the mean of column COL of F.csv,\n"
          "                         one per distinct value of GROUPCOL (labelled by it),\n"
          "                         or one for all rows; F.csv without ':'; repeatable\n"
          "  x, y and --err fields must be numbers: an empty or other field is an error\n"
          "  naming the file, line and column; rows with x or y nan or inf are left out.\n"
          "\n"
          "flags of --compare and --summary:\n"
          "  --output FILE.png|FILE.svg   the figure, its format from the extension\n"
          "                         (missing parent directories are created)\n"
          "  --logx, --logy         log axes; points with x <= 0 (e.g. step 0) or y <= 0\n"
          "                         (e.g. f - f* at 0) are left out, counted on stdout\n"
          "  --title TEXT, --xlabel TEXT, --ylabel TEXT\n"
          "                         [default: from the columns and flags]\n"
          "  --keep-script          also write STEM.gp and STEM.dat beside FILE (STEM:\n"
          "                         FILE without .png/.svg): the gnuplot script and the\n"
          "                         points plotted, a data block per line of the figure;\n"
          "                         gnuplot STEM.gp draws FILE again\n", f);
}

int samc_cmd_plot(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    int mode = find_mode(argc, argv);
    if (mode < 0) return cli_die("--compare and --summary are two modes: give one");
    samc_errbuf err = "";
    mopts o;
    samc_status st = parse(argc, argv, mode, &o, err);
    if (st == SAMC_OK) st = mode == M_RUN ? plot_run(&o, err) : plot_multi(&o, err);
    mopts_free(&o);
    return st == SAMC_OK ? 0 : cli_die(err);
}
