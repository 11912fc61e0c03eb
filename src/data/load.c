/*
 * load.c -- samc_data_load: the spec picks a reader from the registry below
 * (each reader, in its own file, parses the rest of the spec and reads the
 * files; see data_internal.h), then what is common to all data: label
 * indexing over train and test, widening to a common feature count, and the
 * options of samc_data_load_ex (train rows, validation split, standardization
 * with train statistics).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/sparse.h"

#define SAMC_DATA_MAX_CLASSES 1000

/* Every reader samc_data_load knows, in the order listed in messages. */
static const samc_data_reader *const registry[] = {
    &samc_reader_libsvm,        &samc_reader_csv,  &samc_reader_synth,
    &samc_reader_fashion_mnist, &samc_reader_mnist, &samc_reader_idx,
    &samc_reader_cifar10,       &samc_reader_cifar100, &samc_reader_npy,
};
#define N_REGISTRY (sizeof registry / sizeof registry[0])

/* The reader of spec ("PREFIX:..." or a bare name), or NULL. */
static const samc_data_reader *find_reader(const char *spec, const char **arg)
{
    const char *colon = strchr(spec, ':');
    for (size_t i = 0; i < N_REGISTRY; i++) {
        const samc_data_reader *r = registry[i];
        size_t len = strlen(r->prefix);
        if (r->bare ? !strcmp(spec, r->prefix)
                    : colon && (size_t)(colon - spec) == len && !strncmp(spec, r->prefix, len)) {
            *arg = r->bare ? "" : colon + 1;
            return r;
        }
    }
    return NULL;
}

static samc_status unknown_spec(const char *spec, char *err)
{
    char forms[SAMC_ERRLEN] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_REGISTRY && used < sizeof forms; i++) {
        int k = snprintf(forms + used, sizeof forms - used, "%s%s", i ? ", " : "",
                         registry[i]->form);
        if (k < 0) break;
        used += (size_t)k;
    }
    return samc_errf(err, SAMC_EINVAL, "unknown data spec '%.100s'; accepted forms: %s", spec,
                     forms);
}

/* ------------------------------------------------- validation split, scaling */

/* Keep the first k rows of ds, the `what` set (the rest is freed). */
static samc_status keep_rows(samc_dataset *ds, size_t k, const char *what, char *err)
{
    SAMC_CHECK(k <= ds->n, SAMC_EINVAL,
               "the %s set has %zu rows, fewer than the %zu asked for", what, ds->n, k);
    if (samc_dataset_is_sparse(ds)) return samc_csr_keep(ds, k);
    float *x = realloc(ds->x, k * ds->d * sizeof *x + 1);
    float *y = realloc(ds->y, k * sizeof *y + 1);
    if (x) ds->x = x;   /* shrinking: a failed realloc keeps the larger block */
    if (y) ds->y = y;
    ds->n = k;
    return SAMC_OK;
}

/* Move the last k rows of train into val (which gets the shape and labels). */
static samc_status split_val(samc_dataset *train, samc_dataset *val, size_t k, char *err)
{
    SAMC_CHECK(k < train->n, SAMC_EINVAL,
               "validation split of %zu rows leaves no training rows (the train set has %zu)", k,
               train->n);
    size_t keep = train->n - k, d = train->d, bytes = 0;
    memset(val, 0, sizeof *val);
    int sparse = samc_dataset_is_sparse(train);
    SAMC_CHECK(sparse || samc_data_size(k, d, sizeof(float), &bytes), SAMC_ENOMEM,
               "out of memory for a validation set of %zu rows", k);
    if (sparse) SAMC_CHECK(samc_csr_copy_rows(train, keep, k, val) == SAMC_OK, SAMC_ENOMEM,
                           "out of memory for a validation set of %zu rows", k);
    else val->x = malloc(bytes ? bytes : 1);
    val->y = malloc(k * sizeof(float));
    if (train->n_classes > 0 && train->labels)
        val->labels = malloc((size_t)train->n_classes * sizeof(double));
    if ((!sparse && !val->x) || !val->y || (train->n_classes > 0 && train->labels && !val->labels)) {
        samc_dataset_free(val);
        return samc_errf(err, SAMC_ENOMEM, "out of memory for a validation set of %zu rows", k);
    }
    if (bytes) memcpy(val->x, train->x + keep * d, bytes);
    memcpy(val->y, train->y + keep, k * sizeof(float));
    if (val->labels)
        memcpy(val->labels, train->labels, (size_t)train->n_classes * sizeof(double));
    val->n = k;
    val->d = d;
    val->n_classes = val->labels ? train->n_classes : 0;
    val->channels = train->channels;
    val->height = train->height;
    val->width = train->width;

    if (sparse) return samc_csr_keep(train, keep);
    train->n = keep; /* shrink; a failed realloc keeps the larger block */
    if (d > 0) {
        float *x = realloc(train->x, keep * d * sizeof(float));
        if (x) train->x = x;
    }
    float *y = realloc(train->y, keep * sizeof(float));
    if (y) train->y = y;
    return SAMC_OK;
}

/* (x - mean_g) / std_g on every row of ds; group g of column j is j / per. */
static void standardize(samc_dataset *ds, const double *mean, const double *sd, size_t per)
{
    for (size_t r = 0; r < ds->n; r++) {
        float *row = ds->x + r * ds->d;
        for (size_t j = 0; j < ds->d; j++) {
            size_t g = j / per;
            row[j] = (float)(((double)row[j] - mean[g]) / sd[g]);
        }
    }
}

/* Standardize train, val and test with the train statistics: per channel for
 * images, per feature otherwise; std of a constant group is taken as 1. */
static samc_status normalize(samc_data *data, char *err)
{
    samc_dataset *tr = &data->train;
    size_t d = tr->d;
    if (tr->n == 0 || d == 0) return SAMC_OK;
    samc_dataset *sets[] = {tr, &data->val, &data->test};
    for (int i = 0; i < 3; i++)   /* centering fills every entry */
        SAMC_CHECK(samc_dataset_densify(sets[i]) == SAMC_OK, SAMC_ENOMEM,
                   "out of memory normalizing: %zu x %zu floats (the sparse rows made dense)",
                   sets[i]->n, d);
    int image = tr->channels > 0 && tr->height > 0 && tr->width > 0 &&
                (size_t)tr->channels * (size_t)tr->height * (size_t)tr->width == d;
    size_t per = image ? (size_t)tr->height * (size_t)tr->width : 1;
    size_t G = d / per;
    double *mean = calloc(G, sizeof *mean), *sd = calloc(G, sizeof *sd);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        return samc_errf(err, SAMC_ENOMEM, "out of memory normalizing %zu features", d);
    }
    double count = (double)tr->n * (double)per;
    for (size_t r = 0; r < tr->n; r++) {
        const float *row = tr->x + r * d;
        for (size_t j = 0; j < d; j++) mean[j / per] += row[j];
    }
    for (size_t g = 0; g < G; g++) mean[g] /= count;
    for (size_t r = 0; r < tr->n; r++) {
        const float *row = tr->x + r * d;
        for (size_t j = 0; j < d; j++) {
            double e = row[j] - mean[j / per];
            sd[j / per] += e * e;
        }
    }
    for (size_t g = 0; g < G; g++) {
        sd[g] = sqrt(sd[g] / count);
        if (!(sd[g] > 0) || !isfinite(sd[g])) sd[g] = 1;
    }
    standardize(tr, mean, sd, per);
    if (data->val.n > 0 && data->val.d == d) standardize(&data->val, mean, sd, per);
    if (data->test.n > 0 && data->test.d == d) standardize(&data->test, mean, sd, per);
    free(mean);
    free(sd);
    return SAMC_OK;
}

samc_data_options samc_data_default_options(void)
{
    samc_data_options o = {.data_dir = NULL, .train_rows = 0, .val = 0, .test_rows = 0,
                           .shard = 0, .shards = 0, .normalize = 0};
    return o;
}

samc_status samc_data_load(samc_data *data, const char *spec, char *err)
{
    return samc_data_load_ex(data, spec, NULL, err);
}

/* Index the labels (a label error names the test file) and widen train and
 * test to one feature count. */
static samc_status common_labels_width(samc_data *data, const char *test_path, int index, char *err)
{
    samc_errbuf e = "";
    samc_status st = index ? samc_data_index_labels(&data->train, &data->test, SAMC_DATA_MAX_CLASSES, e) : SAMC_OK;
    if (st != SAMC_OK)
        return samc_errf(err, st, "%s%s%s", test_path, *test_path ? ": " : "", e);
    /* only where d differs: widening drops an image shape */
    size_t d = data->train.d > data->test.d ? data->train.d : data->test.d;
    if (data->train.d != d) st = samc_dataset_widen(&data->train, d);
    if (st == SAMC_OK && data->test.n > 0 && data->test.d != d)
        st = samc_dataset_widen(&data->test, d);
    if (st != SAMC_OK) return samc_errf(err, st, "out of memory widening to %zu features", d);
    return SAMC_OK;
}

/* Keep rows [floor(s n/K), floor((s+1) n/K)) of a dense set (a reader that
 * read them all). */
static samc_status keep_block(samc_dataset *ds, size_t s, size_t K, char *err)
{
    const size_t lo = ds->n * s / K, hi = ds->n * (s + 1) / K;
    SAMC_CHECK(hi > lo, SAMC_EINVAL, "--data-shard: %zu training rows leave none for part %zu of %zu", ds->n, s + 1, K);
    SAMC_CHECK(!samc_dataset_is_sparse(ds), SAMC_EINVAL, "--data-shard: sparse rows not read by shard");
    memmove(ds->x, ds->x + lo * ds->d, (hi - lo) * ds->d * sizeof *ds->x);
    memmove(ds->y, ds->y + lo, (hi - lo) * sizeof *ds->y);
    return keep_rows(ds, hi - lo, "train", err);
}

samc_status samc_data_load_ex(samc_data *data, const char *spec,
                              const samc_data_options *opt, char *err)
{
    SAMC_CHECK(data && spec, SAMC_EINVAL, "samc_data_load: NULL argument");
    memset(data, 0, sizeof *data);
    samc_data_options defaults = samc_data_default_options();
    if (!opt) opt = &defaults;
    const int sharded = opt->shards > 1;
    SAMC_CHECK(!sharded || (opt->shard < opt->shards && !opt->train_rows && !opt->val && !opt->normalize),
               SAMC_EINVAL, "--data-shard takes no --train-rows, --val or --normalize");
    samc_data_source src = {.data = data, .spec = spec, .opt = opt};
    const samc_data_reader *r = find_reader(spec, &src.arg);
    samc_status st = r ? r->load(&src, err) : unknown_spec(spec, err);
    if (st == SAMC_OK) st = common_labels_width(data, src.test_path, !sharded, err);
    if (st == SAMC_OK && sharded && !src.sharded) st = keep_block(&data->train, opt->shard, opt->shards, err);
    if (st == SAMC_OK && opt->train_rows > 0) st = keep_rows(&data->train, opt->train_rows, "train", err);
    if (st == SAMC_OK && opt->test_rows > 0) st = keep_rows(&data->test, opt->test_rows, "test", err);
    if (st == SAMC_OK && opt->val > 0) st = split_val(&data->train, &data->val, opt->val, err);
    if (st == SAMC_OK && opt->normalize) st = normalize(data, err);
    if (st != SAMC_OK) samc_data_free(data);
    return st;
}
