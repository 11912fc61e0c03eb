/*
 * eval.c -- `samc eval --checkpoint F [--data ...] [--format table|csv|json]`:
 * a checkpoint on the test set of its data, in evaluation mode: the loss
 * and accuracy (samc_model_evaluate, so the numbers metrics.csv's test_loss
 * and test_acc hold for the same parameters), and from the logits each
 * class's rows and accuracy and the confusion matrix (rows: true class,
 * columns: predicted class).  CSV is long: "metric,class,predicted,value"
 * with one row per number; JSON is written by cJSON (a number that is not
 * finite is null).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ckpt_cmd.h"
#include "flags.h"
#include "util/err.h"

typedef struct eval_result {
    const char *ckpt, *model;
    size_t n;
    double loss, acc;
    int K;                  /* classes (0: a regression) */
    const double *labels;   /* [K] the original label values */
    size_t *conf;           /* [K][K] */
} eval_result;

static size_t class_rows(const eval_result *e, int k)
{
    size_t s = 0;
    for (int j = 0; j < e->K; j++) s += e->conf[(size_t)k * (size_t)e->K + (size_t)j];
    return s;
}

static double class_acc(const eval_result *e, int k)
{
    size_t rows = class_rows(e, k);
    return rows ? (double)e->conf[(size_t)k * (size_t)e->K + (size_t)k] / (double)rows : NAN;
}

static void print_table(const eval_result *e)
{
    printf("checkpoint %s\nmodel      %s\nrows       %zu\nloss       %.9g\naccuracy   %.9g\n", e->ckpt, e->model,
           e->n, e->loss, e->acc);
    if (!e->K) return;
    printf("\nclass  label         rows  accuracy\n");
    for (int k = 0; k < e->K; k++)
        printf("%5d  %-12.9g %5zu  %.9g\n", k, e->labels[k], class_rows(e, k), class_acc(e, k));
    printf("\nconfusion matrix (rows: true class, columns: predicted class)\n     ");
    for (int j = 0; j < e->K; j++) printf(" %6d", j);
    for (int k = 0; k < e->K; k++) {
        printf("\n%5d", k);
        for (int j = 0; j < e->K; j++) printf(" %6zu", e->conf[(size_t)k * (size_t)e->K + (size_t)j]);
    }
    printf("\n");
}

static void print_csv(const eval_result *e)
{
    printf("metric,class,predicted,value\nrows,,,%zu\nloss,,,%.9g\naccuracy,,,%.9g\n", e->n, e->loss, e->acc);
    for (int k = 0; k < e->K; k++)
        printf("class_label,%d,,%.9g\nclass_rows,%d,,%zu\nclass_accuracy,%d,,%.9g\n", k, e->labels[k], k,
               class_rows(e, k), k, class_acc(e, k));
    for (int k = 0; k < e->K; k++)
        for (int j = 0; j < e->K; j++)
            printf("confusion,%d,%d,%zu\n", k, j, e->conf[(size_t)k * (size_t)e->K + (size_t)j]);
}

/* v, or null when it is not finite. */
static cJSON *number(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int add_classes(cJSON *root, const eval_result *e)
{
    cJSON *cl = cJSON_AddArrayToObject(root, "classes"), *cm = cJSON_AddArrayToObject(root, "confusion");
    int ok = cl && cm;
    for (int k = 0; ok && k < e->K; k++) {
        cJSON *c = cJSON_CreateObject(), *row = cJSON_CreateArray();
        ok = c && row && cJSON_AddItemToArray(cl, c) && cJSON_AddItemToArray(cm, row) &&
             cJSON_AddNumberToObject(c, "class", k) && cJSON_AddItemToObject(c, "label", number(e->labels[k])) &&
             cJSON_AddNumberToObject(c, "rows", (double)class_rows(e, k)) &&
             cJSON_AddItemToObject(c, "accuracy", number(class_acc(e, k)));
        for (int j = 0; ok && j < e->K; j++)
            ok = cJSON_AddItemToArray(row, cJSON_CreateNumber((double)e->conf[(size_t)k * (size_t)e->K + (size_t)j]));
    }
    return ok;
}

static samc_status print_json(const eval_result *e, char *err)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root && cJSON_AddStringToObject(root, "checkpoint", e->ckpt) &&
             cJSON_AddStringToObject(root, "model", e->model) && cJSON_AddNumberToObject(root, "rows", (double)e->n) &&
             cJSON_AddItemToObject(root, "loss", number(e->loss)) &&
             cJSON_AddItemToObject(root, "accuracy", number(e->acc)) && add_classes(root, e);
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    SAMC_CHECK(text, SAMC_ENOMEM, "out of memory writing JSON");
    printf("%s\n", text);
    cJSON_free(text);
    return SAMC_OK;
}

/* The loss, accuracy and confusion matrix of r on its test set into e. */
static samc_status evaluate(const ckpt_run *r, eval_result *e, char *err)
{
    const samc_dataset *test = &r->data.test;
    float *z = NULL;
    size_t ncol = 0;
    samc_status st = ckpt_test_logits(r, &z, &ncol, err);
    if (st != SAMC_OK) return st;
    st = samc_model_evaluate(r->m, test, r->ck.params, &e->loss, &e->acc);
    if (st != SAMC_OK) {
        free(z);
        return samc_errf(err, st, "evaluating %.200s on the test set: %s", e->ckpt, samc_strerror(st));
    }
    const ck_kind kind = ckpt_kind(r);
    e->n = test->n;
    e->K = kind == CK_REGRESSION ? 0 : r->data.train.n_classes;
    e->labels = r->data.train.labels;
    e->conf = calloc((size_t)e->K * (size_t)e->K + 1, sizeof *e->conf);
    if (!e->conf) st = samc_errf(err, SAMC_ENOMEM, "out of memory");
    for (size_t i = 0; st == SAMC_OK && e->K && i < test->n; i++) {
        const int y = (int)test->y[i], p = ckpt_predicted(kind, z + i * ncol, ncol);
        e->conf[(size_t)y * (size_t)e->K + (size_t)p]++;
    }
    free(z);
    return st;
}

static samc_status check_args(const ckpt_args *a, char *err)
{
    const char *fmt = a->format ? a->format : "table";
    SAMC_CHECK(!strcmp(fmt, "table") || !strcmp(fmt, "csv") || !strcmp(fmt, "json"), SAMC_EINVAL,
               "--format: expected table, csv or json, got '%.40s'", fmt);
    return SAMC_OK;
}

static samc_status run(const ckpt_args *a, const ckpt_run *r, char *err)
{
    const char *fmt = a->format ? a->format : "table";
    eval_result e = { a->ckpt, r->ck.model, 0, NAN, NAN, 0, NULL, NULL };
    samc_status st = evaluate(r, &e, err);
    if (st == SAMC_OK && !strcmp(fmt, "table")) print_table(&e);
    else if (st == SAMC_OK && !strcmp(fmt, "csv")) print_csv(&e);
    else if (st == SAMC_OK) st = print_json(&e, err);
    free(e.conf);
    return st;
}

int samc_cmd_eval(int argc, char **argv)
{
    return ckpt_cmd_main(CK_EVAL, argc, argv, check_args, run);
}
