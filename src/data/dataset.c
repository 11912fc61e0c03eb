/*
 * dataset.c -- operations on samc_dataset shared by the readers and the
 * loader: freeing, widening to a common feature count, label indexing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/readutil.h"

/* ----------------------------------------------------------------- freeing */

void samc_dataset_free(samc_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    free(ds->ptr);
    free(ds->col32);
    free(ds->col64);
    free(ds->val);
    memset(ds, 0, sizeof *ds);
}

void samc_data_free(samc_data *data)
{
    if (!data) return;
    samc_dataset_free(&data->train);
    samc_dataset_free(&data->test);
    samc_dataset_free(&data->val);
    memset(data->name, 0, sizeof data->name);
}

/* ---------------------------------------------------------------- widening */

samc_status samc_dataset_widen(samc_dataset *ds, size_t d)
{
    if (!ds) return SAMC_EINVAL;
    if (d <= ds->d) return SAMC_OK;
    if (ds->n == 0 || samc_dataset_is_sparse(ds)) {   /* sparse rows: the entries stay */
        ds->d = d;
        ds->channels = ds->height = ds->width = 0; /* no longer C*H*W */
        return SAMC_OK;
    }
    size_t bytes;
    if (!samc_data_size(ds->n, d, sizeof(float), &bytes)) return SAMC_ENOMEM;
    float *x = malloc(bytes);
    if (!x) return SAMC_ENOMEM;
    for (size_t r = 0; r < ds->n; r++) {
        float *dst = x + r * d;
        if (ds->d) memcpy(dst, ds->x + r * ds->d, ds->d * sizeof(float));
        memset(dst + ds->d, 0, (d - ds->d) * sizeof(float));
    }
    free(ds->x);
    ds->x = x;
    ds->d = d;
    ds->channels = ds->height = ds->width = 0; /* padded rows are not images */
    return SAMC_OK;
}

/* ---------------------------------------------------------- label indexing */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of v in the ascending table t[0..k), or -1. */
static long find_label(const double *t, int k, double v)
{
    int lo = 0, hi = k - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (t[mid] < v) lo = mid + 1;
        else if (t[mid] > v) hi = mid - 1;
        else return mid;
    }
    return -1;
}

/* The ascending distinct labels of train into t (train->n slots): their
 * count, or 0 if train is not a classification set (a label that is not an
 * integer, or more than max_classes distinct ones). */
static int label_table(const samc_dataset *train, double *t, int max_classes)
{
    for (size_t i = 0; i < train->n; i++) {
        double v = train->y[i];
        if (!isfinite(v) || floor(v) != v) return 0; /* not a class label */
        t[i] = v;
    }
    qsort(t, train->n, sizeof *t, cmp_double);
    size_t k = 1;
    for (size_t i = 1; i < train->n; i++)
        if (t[i] != t[k - 1]) {
            if (k >= (size_t)max_classes) return 0; /* too many classes */
            t[k++] = t[i];
        }
    return (int)k;
}

/* y[i] -> its index in t[0..K), and a copy of the table into ds->labels. */
static void apply_table(samc_dataset *ds, const double *t, int K, double *labels)
{
    memcpy(labels, t, (size_t)K * sizeof *labels);
    for (size_t i = 0; i < ds->n; i++) ds->y[i] = (float)find_label(t, K, ds->y[i]);
    ds->labels = labels;
    ds->n_classes = K;
}

static void drop_table(samc_dataset *ds)
{
    free(ds->labels);
    ds->labels = NULL;
    ds->n_classes = 0;
}

/*
 * The previous table of train and test (if any) is dropped first, so after a
 * call both are either indexed by the same table or n_classes = 0.  On error
 * (an unseen test label) y of both is left as it was and n_classes = 0.
 * Calling it again on already indexed data would number the indices.
 */
samc_status samc_data_index_labels(samc_dataset *train, samc_dataset *test,
                                   int max_classes, char *err)
{
    SAMC_CHECK(train && max_classes >= 0, SAMC_EINVAL, "samc_data_index_labels: %s",
               train ? "max_classes must be >= 0" : "NULL train set");
    drop_table(train);
    if (test) drop_table(test);
    if (train->n == 0 || max_classes == 0) return SAMC_OK;

    double *t = malloc(train->n * sizeof *t);
    SAMC_CHECK(t, SAMC_ENOMEM, "out of memory indexing %zu labels", train->n);
    int K = label_table(train, t, max_classes);
    samc_status st = SAMC_OK;
    for (size_t i = 0; K > 0 && test && i < test->n && st == SAMC_OK; i++)
        if (find_label(t, K, test->y[i]) < 0)
            st = samc_errf(err, SAMC_EFORMAT,
                           "test row %zu: label %.9g does not occur in the training set (%d "
                           "classes)",
                           i + 1, (double)test->y[i], K);
    int with_test = test && test->n > 0;
    double *lt = NULL, *lv = NULL;
    if (st == SAMC_OK && K > 0) {
        lt = malloc((size_t)K * sizeof *lt);
        if (lt && with_test) lv = malloc((size_t)K * sizeof *lv);
        if (!lt || (with_test && !lv))
            st = samc_errf(err, SAMC_ENOMEM, "out of memory indexing labels");
    }
    if (st == SAMC_OK && K > 0) {
        apply_table(train, t, K, lt);
        if (with_test) apply_table(test, t, K, lv);
    } else {
        free(lt);
        free(lv);
    }
    free(t);
    return st;
}
