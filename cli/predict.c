/*
 * predict.c -- `samc predict --checkpoint F [--data ...] --output P.csv|P.npy`:
 * one row per test sample, in the test set's order: the class probabilities
 * (the softmax of the logits, in double), for a binary logreg P(y = +1) (the
 * larger label: the logistic function of the logit), for linear least
 * squares the prediction.  CSV: a header line (p_LABEL per class with the
 * data's original label values, or "prediction"), numbers with 9 significant
 * digits; .npy: float32, shape (rows, columns).  --logits writes the logits
 * (samc_model_logits) instead.  Written through a temporary renamed at the end.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_cmd.h"
#include "flags.h"
#include "util/err.h"

/* Logits row z[0..ncol) into probabilities p (the prediction for a regression). */
static void probabilities(ck_kind kind, const float *z, size_t ncol, float *p)
{
    if (kind == CK_REGRESSION) {
        p[0] = z[0];
        return;
    }
    if (kind == CK_BINARY) {
        p[0] = (float)(1.0 / (1.0 + exp(-(double)z[0])));
        return;
    }
    double zmax = z[0], sum = 0.0;
    for (size_t j = 1; j < ncol; j++) zmax = z[j] > zmax ? z[j] : zmax;
    for (size_t j = 0; j < ncol; j++) sum += exp((double)z[j] - zmax);
    for (size_t j = 0; j < ncol; j++) p[j] = (float)(exp((double)z[j] - zmax) / sum);
}

/* The header names a column by the class's original label: p_LABEL (z_LABEL
 * for logits; a binary model's one column is the larger label's). */
static void write_csv(FILE *f, const ckpt_run *r, ck_kind kind, const float *p, size_t n, size_t ncol, int logits)
{
    const double *labels = r->data.train.labels;
    if (kind == CK_REGRESSION) fputs("prediction", f);
    for (size_t j = 0; kind != CK_REGRESSION && j < ncol; j++)
        fprintf(f, "%s%s%.9g", j ? "," : "", logits ? "z_" : "p_", labels[kind == CK_BINARY ? 1 : j]);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ncol; j++) fprintf(f, "%.9g%c", p[i * ncol + j], j + 1 < ncol ? ',' : '\n');
}

static samc_status check_args(const ckpt_args *a, char *err)
{
    SAMC_CHECK(ck_ends_with(a->output, ".npy") || ck_ends_with(a->output, ".csv"), SAMC_EINVAL,
               "--output %.300s: expected a name ending in .csv or .npy", a->output);
    return SAMC_OK;
}

static samc_status predict(const ckpt_args *a, const ckpt_run *r, char *err)
{
    const char *path = a->output;
    const int npy = ck_ends_with(path, ".npy"), logits = a->logits;
    float *z = NULL;
    size_t ncol = 0, n = r->data.test.n;
    samc_status st = ckpt_test_logits(r, &z, &ncol, err);
    if (st != SAMC_OK) return st;
    const ck_kind kind = ckpt_kind(r);
    for (size_t i = 0; !logits && i < n; i++) probabilities(kind, z + i * ncol, ncol, z + i * ncol);
    out_file o;
    st = out_open(&o, path, err);
    if (st == SAMC_OK) {
        const int64_t shape[2] = { (int64_t)n, (int64_t)ncol };
        if (npy) {
            npy_write_header(o.f, "<f4", 2, shape);
            write_f32le(o.f, z, n * ncol);
        } else {
            write_csv(o.f, r, kind, z, n, ncol, logits);
        }
        st = out_commit(&o, err);
    }
    free(z);
    return st;
}

int samc_cmd_predict(int argc, char **argv)
{
    return ckpt_cmd_main(CK_PREDICT, argc, argv, check_args, predict);
}
