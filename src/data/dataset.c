/*
 * dataset.c -- data sets: loading by spec string (libsvm:, csv:, synth:,
 * fashion-mnist, mnist, idx:, cifar10:, npy:), label indexing, widening to a
 * common feature count, the options of samc_data_load_ex (validation split,
 * standardization with train statistics), freeing; plus the small helpers
 * (error formatting, number parsing) shared by the readers.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "samc.h"

#define SAMC_DATA_MAX_CLASSES 1000

/* ------------------------------------------------------------------ helpers */

void samc_data_errf(char *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SAMC_ERRLEN, fmt, ap);
    va_end(ap);
}

int samc_data_next_line(FILE *f, char **line, size_t *cap, const char *path, size_t *lineno,
                        samc_status *st, char *err)
{
    errno = 0;
    ssize_t len = getline(line, cap, f);
    if (len < 0) {
        if (feof(f) && !ferror(f)) return 0;
        int e = errno;
        if (e == ENOMEM) {
            samc_data_errf(err, "%s:%zu: out of memory reading a line", path, *lineno + 1);
            *st = SAMC_ENOMEM;
        } else {
            samc_data_errf(err, "%s: read error: %s", path, strerror(e ? e : EIO));
            *st = SAMC_EIO;
        }
        return -1;
    }
    ++*lineno;
    if ((size_t)len != strlen(*line)) {
        samc_data_errf(err, "%s:%zu: NUL byte in line (not a text file?)", path, *lineno);
        *st = SAMC_EFORMAT;
        return -1;
    }
    return 1;
}

int samc_data_parse_num(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') return 1;
    if (!isfinite(v) || fabs(v) > FLT_MAX) return 2; /* nan, inf, overflow */
    *out = v; /* an underflow (ERANGE towards 0) is accepted as tiny/zero */
    return 0;
}

const char *samc_data_quote(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);
    if (n <= 40 || len < 48)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "%.40s...", s);
    return buf;
}

const char *samc_data_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

int samc_data_size(size_t n, size_t d, size_t size, size_t *out)
{
    if (d && n > SIZE_MAX / d) return 0;
    size_t nd = n * d;
    if (size && nd > SIZE_MAX / size) return 0;
    *out = nd * size;
    return 1;
}

/* ----------------------------------------------------------------- freeing */

void samc_dataset_free(samc_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
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
    if (ds->n == 0) {
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

/*
 * The previous table of train and test (if any) is dropped first, so after a
 * call both are either indexed by the same table or n_classes = 0.  On error
 * (an unseen test label) y of both is left as it was and n_classes = 0.
 * Calling it again on already indexed data would number the indices.
 */
samc_status samc_data_index_labels(samc_dataset *train, samc_dataset *test,
                                   int max_classes, char *err)
{
    if (!train || max_classes < 0) {
        samc_data_errf(err, "samc_data_index_labels: %s",
                       train ? "max_classes must be >= 0" : "NULL train set");
        return SAMC_EINVAL;
    }
    free(train->labels);
    train->labels = NULL;
    train->n_classes = 0;
    if (test) {
        free(test->labels);
        test->labels = NULL;
        test->n_classes = 0;
    }
    if (train->n == 0 || max_classes == 0) return SAMC_OK;

    double *t = malloc(train->n * sizeof *t);
    if (!t) {
        samc_data_errf(err, "out of memory indexing %zu labels", train->n);
        return SAMC_ENOMEM;
    }
    for (size_t i = 0; i < train->n; i++) {
        double v = train->y[i];
        if (!isfinite(v) || floor(v) != v) { /* not a class label: regression */
            free(t);
            return SAMC_OK;
        }
        t[i] = v;
    }
    qsort(t, train->n, sizeof *t, cmp_double);
    size_t k = 1;
    for (size_t i = 1; i < train->n; i++)
        if (t[i] != t[k - 1]) {
            if (k >= (size_t)max_classes) { /* too many classes: regression */
                free(t);
                return SAMC_OK;
            }
            t[k++] = t[i];
        }
    int K = (int)k;

    if (test) {
        for (size_t i = 0; i < test->n; i++) {
            if (find_label(t, K, test->y[i]) < 0) {
                samc_data_errf(err,
                               "test row %zu: label %.9g does not occur in the training "
                               "set (%d classes)",
                               i + 1, (double)test->y[i], K);
                free(t);
                return SAMC_EFORMAT;
            }
        }
    }

    double *lt = malloc(k * sizeof *lt);
    double *lv = NULL;
    if (lt && test && test->n > 0) lv = malloc(k * sizeof *lv);
    if (!lt || (test && test->n > 0 && !lv)) {
        free(t);
        free(lt);
        free(lv);
        samc_data_errf(err, "out of memory indexing labels");
        return SAMC_ENOMEM;
    }
    memcpy(lt, t, k * sizeof *lt);
    for (size_t i = 0; i < train->n; i++)
        train->y[i] = (float)find_label(t, K, train->y[i]);
    train->labels = lt;
    train->n_classes = K;
    if (lv) {
        memcpy(lv, t, k * sizeof *lv);
        for (size_t i = 0; i < test->n; i++)
            test->y[i] = (float)find_label(t, K, test->y[i]);
        test->labels = lv;
        test->n_classes = K;
    }
    free(t);
    return SAMC_OK;
}

/* ----------------------------------------------------------------- loading */

static const char accepted_forms[] =
    "libsvm:TRAIN[,TEST], csv:TRAIN[,TEST][,label=first|last|K][,header], "
    "synth:ridge|logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S], "
    "fashion-mnist, mnist, idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS], "
    "cifar10:DIR, npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy]";

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define MNIST_DIR "/usr/share/datasets/mnist"

/* Split s (modified in place) at commas; returns the count, at most max. */
static size_t split_commas(char *s, char **tok, size_t max)
{
    size_t n = 0;
    for (;;) {
        char *c = strchr(s, ',');
        if (c) *c = '\0';
        if (n == max) return max + 1;
        tok[n++] = s;
        if (!c) return n;
        s = c + 1;
    }
}

/* Parse "label=..." of a csv spec: first -> 0, last -> -1, K -> K. */
static int parse_label_col(const char *v, int *col)
{
    if (!strcmp(v, "first")) { *col = 0; return 1; }
    if (!strcmp(v, "last")) { *col = -1; return 1; }
    if (!*v) return 0;
    long k = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        k = k * 10 + (*p - '0');
        if (k > 1000000000L) return 0;
    }
    *col = (int)k;
    return 1;
}

/* Read TRAIN and optional TEST with the reader of `kind`. */
static samc_status load_files(samc_data *data, const char *kind, char **paths,
                              size_t npaths, int label_col, int header, char *err)
{
    int libsvm = !strcmp(kind, "libsvm");
    samc_status st = libsvm ? samc_read_libsvm(&data->train, paths[0], 0, err)
                            : samc_read_csv(&data->train, paths[0], label_col, header, err);
    if (st != SAMC_OK) return st;
    if (npaths > 1) {
        st = libsvm ? samc_read_libsvm(&data->test, paths[1], data->train.d, err)
                    : samc_read_csv(&data->test, paths[1], label_col, header, err);
        if (st != SAMC_OK) return st;
    }
    snprintf(data->name, sizeof data->name, "%s:%s", kind, samc_data_basename(paths[0]));
    return SAMC_OK;
}

/* ----------------------------------------------------------- image loaders */

/* The four IDX files of (Fashion-)MNIST in dir (NULL: the default). */
static samc_status load_mnist_dir(samc_data *data, int fashion, const char *dir,
                                  char *test_path, size_t tp_len, char *err)
{
    const char *kind = fashion ? "fashion-mnist" : "mnist";
    if (!dir || !*dir) dir = fashion ? FASHION_MNIST_DIR : MNIST_DIR;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        if (fashion)
            samc_data_errf(err,
                           "%s: data directory %.300s not found; install the package "
                           "`dataset-fashion-mnist` (apt-get install dataset-fashion-mnist) "
                           "or pass --data-dir",
                           kind, dir);
        else
            samc_data_errf(err,
                           "%s: data directory %.300s not found; put train-images-idx3-"
                           "ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
                           "and t10k-labels-idx1-ubyte.gz there or pass --data-dir",
                           kind, dir);
        return SAMC_EIO;
    }
    static const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                   "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    char *paths[4] = {NULL};
    samc_status st = SAMC_OK;
    size_t dlen = strlen(dir);
    for (int i = 0; i < 4 && st == SAMC_OK; i++) {
        size_t len = dlen + 1 + strlen(names[i]) + 1;
        paths[i] = malloc(len);
        if (!paths[i]) {
            samc_data_errf(err, "out of memory");
            st = SAMC_ENOMEM;
        } else {
            snprintf(paths[i], len, "%s/%s", dir, names[i]);
        }
    }
    if (st == SAMC_OK) st = samc_read_idx(&data->train, paths[0], paths[1], err);
    if (st == SAMC_OK) st = samc_read_idx(&data->test, paths[2], paths[3], err);
    if (st == SAMC_OK && (data->test.height != data->train.height ||
                          data->test.width != data->train.width)) {
        samc_data_errf(err, "%s: images are %dx%d, but the training images are %dx%d",
                       paths[2], data->test.height, data->test.width, data->train.height,
                       data->train.width);
        st = SAMC_EFORMAT;
    }
    if (st == SAMC_OK) {
        snprintf(test_path, tp_len, "%s", paths[3]);
        snprintf(data->name, sizeof data->name, "%s", kind);
    }
    for (int i = 0; i < 4; i++) free(paths[i]);
    return st;
}

/* cifar10:DIR (the whole rest of the spec is the directory). */
static samc_status load_cifar(samc_data *data, const char *dir, char *test_path,
                              size_t tp_len, char *err)
{
    if (!*dir) {
        samc_data_errf(err, "data spec 'cifar10:' names no directory; expected cifar10:DIR");
        return SAMC_EINVAL;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        samc_data_errf(err, "cifar10: %.300s is not a directory (expected the one holding "
                            "data_batch_1.bin .. data_batch_5.bin and test_batch.bin)",
                       dir);
        return SAMC_EIO;
    }
    samc_status st = samc_read_cifar10(&data->train, dir, 0, err);
    if (st == SAMC_OK) st = samc_read_cifar10(&data->test, dir, 1, err);
    if (st == SAMC_OK) {
        snprintf(test_path, tp_len, "%s/test_batch.bin", dir);
        snprintf(data->name, sizeof data->name, "cifar10:%s", samc_data_basename(dir));
    }
    return st;
}

/* idx: or npy: with TRAIN_X,TRAIN_Y[,TEST_X,TEST_Y]. */
static samc_status load_pairs(samc_data *data, int is_idx, const char *spec,
                              const char *rest, char *test_path, size_t tp_len, char *err)
{
    const char *form = is_idx ? "idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]"
                              : "npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy]";
    char *buf = strdup(rest);
    if (!buf) {
        samc_data_errf(err, "out of memory");
        return SAMC_ENOMEM;
    }
    char *tok[5];
    size_t ntok = split_commas(buf, tok, 4);
    samc_status st = SAMC_OK;
    if (ntok != 2 && ntok != 4) {
        samc_data_errf(err, "data spec '%.200s' names %s files; expected %s", spec,
                       ntok > 4 ? "more than four" : ntok == 3 ? "three" : "one", form);
        st = SAMC_EINVAL;
    }
    for (size_t i = 0; st == SAMC_OK && i < ntok; i++)
        if (!*tok[i]) {
            samc_data_errf(err, "empty file name in data spec '%.200s'; expected %s", spec,
                           form);
            st = SAMC_EINVAL;
        }
    if (st == SAMC_OK)
        st = is_idx ? samc_read_idx(&data->train, tok[0], tok[1], err)
                    : samc_read_npy(&data->train, tok[0], tok[1], err);
    if (st == SAMC_OK && ntok == 4) {
        st = is_idx ? samc_read_idx(&data->test, tok[2], tok[3], err)
                    : samc_read_npy(&data->test, tok[2], tok[3], err);
        const samc_dataset *a = &data->train, *b = &data->test;
        if (st == SAMC_OK && (a->d != b->d || a->channels != b->channels ||
                              a->height != b->height || a->width != b->width)) {
            if (a->channels)
                samc_data_errf(err, "%s: test rows are %dx%dx%d (%zu values), but the "
                                    "training rows are %dx%dx%d",
                               tok[2], b->channels, b->height, b->width, b->d,
                               a->channels, a->height, a->width);
            else
                samc_data_errf(err, "%s: test rows have %zu features (shape %dx%dx%d), but "
                                    "the training rows have %zu",
                               tok[2], b->d, b->channels, b->height, b->width, a->d);
            st = SAMC_EFORMAT;
        }
        if (st == SAMC_OK) snprintf(test_path, tp_len, "%s", tok[3]);
    }
    if (st == SAMC_OK)
        snprintf(data->name, sizeof data->name, "%s:%s", is_idx ? "idx" : "npy",
                 samc_data_basename(tok[0]));
    free(buf);
    return st;
}

/* ------------------------------------------------- validation split, scaling */

/* Keep the first k rows of ds (the rest is freed). */
static samc_status keep_rows(samc_dataset *ds, size_t k, char *err)
{
    if (k > ds->n) {
        samc_data_errf(err, "the train set has %zu rows, fewer than the %zu asked for", ds->n, k);
        return SAMC_EINVAL;
    }
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
    if (k >= train->n) {
        samc_data_errf(err, "validation split of %zu rows leaves no training rows (the "
                            "train set has %zu)",
                       k, train->n);
        return SAMC_EINVAL;
    }
    size_t keep = train->n - k, d = train->d, bytes = 0;
    memset(val, 0, sizeof *val);
    if (!samc_data_size(k, d, sizeof(float), &bytes)) {
        samc_data_errf(err, "out of memory for a validation set of %zu rows", k);
        return SAMC_ENOMEM;
    }
    val->x = malloc(bytes ? bytes : 1);
    val->y = malloc(k * sizeof(float));
    if (train->n_classes > 0 && train->labels)
        val->labels = malloc((size_t)train->n_classes * sizeof(double));
    if (!val->x || !val->y || (train->n_classes > 0 && train->labels && !val->labels)) {
        samc_dataset_free(val);
        samc_data_errf(err, "out of memory for a validation set of %zu rows", k);
        return SAMC_ENOMEM;
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
    int image = tr->channels > 0 && tr->height > 0 && tr->width > 0 &&
                (size_t)tr->channels * (size_t)tr->height * (size_t)tr->width == d;
    size_t per = image ? (size_t)tr->height * (size_t)tr->width : 1;
    size_t G = d / per;
    double *mean = calloc(G, sizeof *mean), *sd = calloc(G, sizeof *sd);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        samc_data_errf(err, "out of memory normalizing %zu features", d);
        return SAMC_ENOMEM;
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
    samc_data_options o = {.data_dir = NULL, .train_rows = 0, .val = 0, .normalize = 0};
    return o;
}

samc_status samc_data_load(samc_data *data, const char *spec, char *err)
{
    return samc_data_load_ex(data, spec, NULL, err);
}

samc_status samc_data_load_ex(samc_data *data, const char *spec,
                              const samc_data_options *opt, char *err)
{
    if (!data || !spec) {
        samc_data_errf(err, "samc_data_load: NULL argument");
        return SAMC_EINVAL;
    }
    memset(data, 0, sizeof *data);
    samc_data_options defaults = samc_data_default_options();
    if (!opt) opt = &defaults;

    const char *colon = strchr(spec, ':');
    size_t plen = colon ? (size_t)(colon - spec) : 0;
    int is_libsvm = colon && plen == 6 && !strncmp(spec, "libsvm", 6);
    int is_csv = colon && plen == 3 && !strncmp(spec, "csv", 3);
    int is_synth = colon && plen == 5 && !strncmp(spec, "synth", 5);
    int is_idx = colon && plen == 3 && !strncmp(spec, "idx", 3);
    int is_cifar = colon && plen == 7 && !strncmp(spec, "cifar10", 7);
    int is_npy = colon && plen == 3 && !strncmp(spec, "npy", 3);
    int is_fashion = !strcmp(spec, "fashion-mnist");
    int is_mnist = !strcmp(spec, "mnist");
    if (!is_libsvm && !is_csv && !is_synth && !is_idx && !is_cifar && !is_npy &&
        !is_fashion && !is_mnist) {
        samc_data_errf(err, "unknown data spec '%.100s'; accepted forms: %s", spec,
                       accepted_forms);
        return SAMC_EINVAL;
    }

    samc_status st = SAMC_OK;
    char test_path[4096] = ""; /* for naming the file in a label error */
    if (is_synth) {
        st = samc_synth_load(data, colon + 1, err);
    } else if (is_fashion || is_mnist) {
        st = load_mnist_dir(data, is_fashion, opt->data_dir, test_path, sizeof test_path,
                            err);
    } else if (is_cifar) {
        st = load_cifar(data, colon + 1, test_path, sizeof test_path, err);
    } else if (is_idx || is_npy) {
        st = load_pairs(data, is_idx, spec, colon + 1, test_path, sizeof test_path, err);
    } else {
        char *buf = strdup(colon + 1);
        if (!buf) {
            samc_data_errf(err, "out of memory");
            return SAMC_ENOMEM;
        }
        char *tok[8], *paths[2];
        size_t ntok = split_commas(buf, tok, 8), npaths = 0;
        int label_col = 0, header = 0;
        if (ntok > 8) {
            samc_data_errf(err, "too many fields in data spec '%.200s'", spec);
            st = SAMC_EINVAL;
        }
        for (size_t i = 0; st == SAMC_OK && i < ntok; i++) {
            if (is_csv && !strncmp(tok[i], "label=", 6)) {
                if (!parse_label_col(tok[i] + 6, &label_col)) {
                    samc_data_errf(err, "bad csv option '%.100s': expected "
                                        "label=first, label=last or label=K (0-based)",
                                   tok[i]);
                    st = SAMC_EINVAL;
                }
            } else if (is_csv && !strcmp(tok[i], "header")) {
                header = 1;
            } else if (!*tok[i]) {
                samc_data_errf(err, "empty file name in data spec '%.200s'; expected %s",
                               spec,
                               is_csv ? "csv:TRAIN[,TEST][,label=first|last|K][,header]"
                                      : "libsvm:TRAIN[,TEST]");
                st = SAMC_EINVAL;
            } else if (npaths == 2) {
                samc_data_errf(err, "data spec '%.200s' names more than two files "
                                    "(TRAIN[,TEST])",
                               spec);
                st = SAMC_EINVAL;
            } else {
                paths[npaths++] = tok[i];
            }
        }
        if (st == SAMC_OK && npaths == 0) {
            samc_data_errf(err, "data spec '%.200s' names no file", spec);
            st = SAMC_EINVAL;
        }
        if (st == SAMC_OK && npaths == 2)
            snprintf(test_path, sizeof test_path, "%s", paths[1]);
        if (st == SAMC_OK)
            st = load_files(data, is_csv ? "csv" : "libsvm", paths, npaths, label_col,
                            header, err);
        free(buf);
    }

    if (st == SAMC_OK) {
        samc_errbuf e = "";
        st = samc_data_index_labels(&data->train, &data->test, SAMC_DATA_MAX_CLASSES, e);
        if (st != SAMC_OK)
            samc_data_errf(err, "%s%s%s", test_path, *test_path ? ": " : "", e);
    }
    if (st == SAMC_OK) {
        /* only where d differs: widening drops an image shape */
        size_t d = data->train.d > data->test.d ? data->train.d : data->test.d;
        if (data->train.d != d) st = samc_dataset_widen(&data->train, d);
        if (st == SAMC_OK && data->test.n > 0 && data->test.d != d)
            st = samc_dataset_widen(&data->test, d);
        if (st != SAMC_OK) samc_data_errf(err, "out of memory widening to %zu features", d);
    }
    if (st == SAMC_OK && opt->train_rows > 0) st = keep_rows(&data->train, opt->train_rows, err);
    if (st == SAMC_OK && opt->val > 0) st = split_val(&data->train, &data->val, opt->val, err);
    if (st == SAMC_OK && opt->normalize) st = normalize(data, err);
    if (st != SAMC_OK) samc_data_free(data);
    return st;
}
