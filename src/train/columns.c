/*
 * columns.c -- the columns of a run's steps.csv and metrics.csv (one table
 * each, include/samc.h "run output") and the writer that prints headers and
 * rows from them, so that the file layout is written down once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "samc.h"
#include "train/train_internal.h"
#include "util/err.h"

const samc_column samc_steps_columns[SAMC_STEPS_NCOL] = {
    { "step", "0-based index of the step", "%lld" },
    { "epoch", "0-based epoch of the step", "%lld" },
    { "batch_size", "rows in the step's batch", "%lld" },
    { "lr", "step size taken (Polyak or scheduled)", "%.9g" },
    { "rho", "perturbation radius", "%.9g" },
    { "loss", "f_S(x_t), with the l2 term", "%.9g" },
    { "loss_perturbed", "f_S(x_t + d), with the l2 term", "%.9g" },
    { "grad_norm", "||g||, the gradient at x_t", "%.9g" },
    { "grad_norm_perturbed", "||gp||, the gradient at x_t + d", "%.9g" },
    { "polyak_numerator", "fp - l* - <gp, d>", "%.9g" },
};

const samc_column samc_metrics_columns[SAMC_METRICS_NCOL] = {
    { "epoch", "completed epochs (fractional when a run ends inside an epoch)", "%.9g" },
    { "step", "steps taken", "%lld" },
    { "batch_size", "the epoch's batch size", "%lld" },
    { "lr", "the last step size taken", "%.9g" },
    { "rho", "the last perturbation radius", "%.9g" },
    { "train_loss", "full-pass training loss", "%.9g" },
    { "train_acc", "training accuracy (nan for regression)", "%.9g" },
    { "test_loss", "full-pass test loss (nan without a test set)", "%.9g" },
    { "test_acc", "test accuracy", "%.9g" },
    { "time_s", "seconds of training so far (across resumes)", "%.3f" },
    { "val_loss", "validation loss (nan without --val)", "%.9g" },
    { "val_acc", "validation accuracy", "%.9g" },
};

/* The measure columns of metrics.csv after the fixed ones. */
static const char measure_format[] = "%.9g";

static void put_value(FILE *f, const char *format, double v)
{
    if (!strcmp(format, "%lld")) fprintf(f, "%lld", (long long)v);
    else fprintf(f, format, v);
}

void train_csv_header(char *buf, size_t len, const samc_column *cols, int n, unsigned measures)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < n + SAMC_MEASURE_COUNT; k++) {
        const char *name = k < n ? cols[k].name
                         : measures & (1u << (k - n)) ? samc_measure_name((samc_measure_kind)(k - n)) : NULL;
        if (!name) continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
        if (w < 0 || (size_t)w >= len - used) return;
        used += (size_t)w;
    }
}

void train_csv_row(FILE *f, const samc_column *cols, int n, const double *v, unsigned measures,
                   const double *mv)
{
    for (int k = 0; k < n; k++) {
        if (k) fputc(',', f);
        put_value(f, cols[k].format, v[k]);
    }
    for (int q = 0; q < SAMC_MEASURE_COUNT; q++)
        if (measures & (1u << q)) {
            fputc(',', f);
            put_value(f, measure_format, mv[q]);
        }
    fputc('\n', f);
}

samc_status train_csv_create(FILE **f, const char *dir, const char *name, const char *header, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *f = fopen(path, "w");
    SAMC_CHECK(*f, SAMC_EIO, "cannot write %.400s: %s", path, strerror(errno));
    fprintf(*f, "%s\n", header);
    SAMC_CHECK(fflush(*f) == 0, SAMC_EIO, "cannot write %.400s: %s", path, strerror(errno));
    return SAMC_OK;
}

/* Resume: keep the header and the rows whose column col is < limit (<= with
 * inclusive), through a temporary renamed over the file, and open it for
 * appending.  The header must be the one this configuration writes. */
samc_status train_csv_truncate(FILE **f, const char *dir, const char *name, const char *header, int col,
                               double limit, int inclusive, char *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    *f = NULL;
    samc_csv *in;
    samc_errbuf why = "";
    samc_status st = samc_csv_open(&in, path, why);
    if (st != SAMC_OK) return samc_errf(err, st, "cannot resume: %s", why);
    if (strcmp(samc_csv_header(in), header) != 0) {
        samc_csv_close(in);
        return samc_errf(err, SAMC_EINVAL, "cannot resume: the columns of %.400s differ from this configuration's",
                         path);
    }
    FILE *out = fopen(tmp, "w");
    if (!out) {
        samc_csv_close(in);
        return samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", tmp, strerror(errno));
    }
    fprintf(out, "%s\n", header);
    const double *v;
    while ((st = samc_csv_next(in, &v, err)) == SAMC_OK && v)
        if (inclusive ? v[col] <= limit : v[col] < limit) fputs(samc_csv_line(in), out);
    samc_csv_close(in);
    int bad = fflush(out) != 0;
    if ((fclose(out) != 0 || bad) && st == SAMC_OK)
        st = samc_errf(err, SAMC_EIO, "cannot rewrite %.400s: %s", path, strerror(errno));
    if (st == SAMC_OK && rename(tmp, path) != 0)
        st = samc_errf(err, SAMC_EIO, "cannot rewrite %.400s: %s", path, strerror(errno));
    if (st != SAMC_OK) {
        remove(tmp);
        return st;
    }
    *f = fopen(path, "a");
    SAMC_CHECK(*f, SAMC_EIO, "cannot append to %.400s: %s", path, strerror(errno));
    return SAMC_OK;
}
