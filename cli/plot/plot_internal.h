/*
 * plot_internal.h -- the parts of `samc plot` (cli/plot/) and what they share:
 *   command.c   the command: its flags, usage, and which mode runs
 *   runs.c      reading a run's steps.csv / metrics.csv (and one column of it)
 *   gnuplot.c   the gnuplot files (quoting, data blocks), running gnuplot
 *   figures.c   samc plot OUT: the figures of one run
 *   compare.c   samc plot --compare: one column of several runs
 *   ref.c       --ref expressions checked and translated for gnuplot
 *   summary.c   samc plot --summary: a table of results
 * Every function that can fail returns a samc_status with a one-line message
 * in err (SAMC_ERRLEN bytes); the command prints it as "samc: error: ...".
 */
#ifndef SAMC_CLI_PLOT_INTERNAL_H
#define SAMC_CLI_PLOT_INTERNAL_H

#include <stdio.h>

#include "../flags.h"
#include "samc.h"

#define MAX_POINTS 20000 /* rows of a series kept at most (about) */

/* ------------------------------------------------------------ runs.c */

enum { S_STEP, S_BATCH, S_LR, S_RHO, S_LOSS, S_LOSSP, S_G, S_GP, S_NCOL };

/* The steps.csv columns of the figures, every k-th row kept (and the last). */
typedef struct steps {
    size_t total;      /* rows read */
    size_t every;      /* k: every k-th row kept (and the last) */
    size_t n;          /* rows kept */
    size_t window;     /* the running means are over this many rows */
    double *v[S_NCOL]; /* kept rows */
    double *mean[3];   /* centred running means of lr, loss, loss_perturbed at the kept rows */
    size_t lr_nonpos;  /* rows with lr <= 0 */
    size_t lr_finite;
} steps;

enum { M_EPOCH, M_STEP, M_TRLOSS, M_TELOSS, M_TRACC, M_TEACC, M_REQUIRED,
       M_VLOSS = M_REQUIRED, M_VACC, M_MEAS, M_NCOL = M_MEAS + 7 };
/* The name of metrics column k (M_*; M_MEAS + j: measure j). */
const char *metrics_col(int k);

/* The metrics.csv columns, every row (NAN where a column is absent). */
typedef struct metrics {
    size_t n, cap;
    int present[M_NCOL];
    double *v[M_NCOL];
} metrics;

samc_status read_steps(const char *path, steps *s, char *err);
void steps_free(steps *s);
samc_status read_metrics(const char *path, metrics *m, char *err);
void metrics_free(metrics *m);

/* One column of a run for --compare: x and y, every k-th row kept (and the last). */
typedef struct cseries {
    char dir[4096];
    const char *label;
    char path[4200]; /* the file read: DIR/steps.csv or DIR/metrics.csv */
    const char *xcol;
    double *x, *y;
    size_t n, total, every, dropped;
} cseries;

/* Picks the file of the run in s->dir that holds ycol (s->path, s->xcol). */
samc_status pick_source(cseries *s, const char *ycol, int by_epoch, char *err);
/* Reads x and ycol - minus (its running minimum over every row with runmin). */
samc_status read_series(cseries *s, const char *ycol, double minus, int runmin, char *err);

/* ------------------------------------------------------------ gnuplot.c */

/* A gnuplot double-quoted string of s (eight rotating buffers: several fit
 * in one printf); nothing in s can end the string or run a command. */
const char *gp_quote(const char *s);
/* "set terminal ..." for png (pngcairo where gnuplot has it) or svg. */
void gp_terminal(FILE *g, const char *fmt, int w, int h);
/* Starts the single figure of --compare / --summary in file out. */
void gp_begin_file(FILE *g, const char *fmt, const char *out, const char *title, const char *xlabel,
                   const char *ylabel, int logx, int logy);

/* Writes the finite points (x > 0 with logx, y > 0 with logy) of a line as a
 * data block of f; *dropped counts those a log axis left out. */
size_t gp_put_block(FILE *f, const double *x, const double *y, const double *e, size_t n, int logx, int logy,
                    size_t *dropped);
/* "# TEXT" with control characters as spaces: a comment of a data file. */
void gp_comment(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern const char *const gp_palette[10];
extern const int gp_point_types[6];

/* The gnuplot files of a figure: in a temporary directory, or (keep) beside
 * the figure as STEM.gp and STEM.dat. */
typedef struct gpfiles {
    char gnuplot[4200]; /* the program */
    char tmp[4096], data[4200], script[4200], errpath[4200];
    int keep;
    FILE *df, *g;
} gpfiles;

/* Finds gnuplot, makes directory dir (when not NULL) and opens the files:
 * with keep, STEM.gp and STEM.dat beside the figure out (STEM: out without
 * its .png / .svg), else in a temporary directory. */
samc_status gp_start(gpfiles *f, const char *dir, const char *out, int keep, char *err);
/* gp_start for the figure out of --compare / --summary: its directory made. */
samc_status gp_start_for(gpfiles *f, const char *out, int keep, char *err);
/* Closes the files and runs gnuplot on the script (its exit status checked). */
samc_status gp_run(gpfiles *f, char *err);
/* gp_run, then checks that out was drawn. */
samc_status gp_draw(gpfiles *f, const char *out, char *err);
/* Closes what is open, removes the temporary files. */
void gp_cleanup(gpfiles *f);

/* ------------------------------------------------------------ command.c */

enum { M_RUN = 1, M_COMPARE = 2, M_SUMMARY = 4 };
enum { O_COMPARE, O_SUMMARY, O_Y, O_X, O_MINUS, O_RUNMIN, O_REF, O_GROUP, O_ERR, O_HLINE, O_HFROM,
       O_LOGX, O_LOGY, O_TITLE, O_XLABEL, O_YLABEL, O_OUTPUT, O_KEEP, O_FORMAT, O_OUT, O_N };

/* The flags given to samc plot. */
typedef struct mopts {
    int mode;
    int given[O_N];
    const char *val[O_N];
    const char **list[O_N]; /* the values of repeatable flags */
    int nlist[O_N];
    const char **runs;      /* the arguments that are not flags */
    int nruns;
} mopts;

/* A number given on the command line (finite). */
samc_status arg_num(const char *flag, const char *s, double *v, char *err);

/* ------------------------------------------------------------ the modes */

samc_status plot_run(const mopts *o, char *err);                                           /* figures.c */
samc_status plot_compare(const mopts *o, const char *out, const char *fmt, char *err);     /* compare.c */
samc_status plot_summary(const mopts *o, const char *out, const char *fmt, char *err);     /* summary.c */
/* A --ref expression checked against its grammar and written for gnuplot. */
samc_status ref_expr(const char *s, char *out, size_t cap, char *err);                     /* ref.c */

#endif
