/*
 * spec.c -- what the data-spec readers share (data_internal.h): splitting
 * the ARG of "PREFIX:ARG" at commas, the TRAIN[,TEST] file list with its
 * options (libsvm:, csv:), the X,Y[,XTEST,YTEST] pairs (idx:, npy:).
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

samc_status samc_spec_split(samc_spec_fields *f, const char *arg, char *err)
{
    size_t n = 1;
    for (const char *p = arg; *p; p++) n += *p == ',';
    f->n = 0;
    f->buf = strdup(arg);
    f->tok = malloc(n * sizeof *f->tok);
    if (!f->buf || !f->tok) {
        samc_spec_fields_free(f);
        return samc_errf(err, SAMC_ENOMEM, "out of memory");
    }
    for (char *s = f->buf;; s++) {
        f->tok[f->n++] = s;
        s = strchr(s, ',');
        if (!s) break;
        *s = '\0';
    }
    return SAMC_OK;
}

void samc_spec_fields_free(samc_spec_fields *f)
{
    free(f->buf);
    free(f->tok);
    f->buf = NULL;
    f->tok = NULL;
    f->n = 0;
}

int samc_data_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Sort the fields of a TRAIN[,TEST] spec into options and at most two files. */
static samc_status collect_files(const samc_data_source *src, const samc_data_reader *r,
                                 const samc_spec_fields *f, samc_spec_option_fn option,
                                 void *ctx, char **paths, size_t *npaths, char *err)
{
    SAMC_CHECK(f->n <= 8, SAMC_EINVAL, "too many fields in data spec '%.200s'", src->spec);
    *npaths = 0;
    for (size_t i = 0; i < f->n; i++) {
        char *tok = f->tok[i];
        samc_status st = SAMC_OK;
        if (option && option(tok, ctx, &st, err)) {
            if (st != SAMC_OK) return st;
            continue;
        }
        SAMC_CHECK(*tok, SAMC_EINVAL, "empty file name in data spec '%.200s'; expected %s",
                   src->spec, r->form);
        SAMC_CHECK(*npaths < 2, SAMC_EINVAL,
                   "data spec '%.200s' names more than two files (TRAIN[,TEST])", src->spec);
        paths[(*npaths)++] = tok;
    }
    SAMC_CHECK(*npaths > 0, SAMC_EINVAL, "data spec '%.200s' names no file", src->spec);
    return SAMC_OK;
}

samc_status samc_spec_train_test(samc_data_source *src, const samc_data_reader *r,
                                 samc_spec_option_fn option, samc_file_read_fn read,
                                 void *ctx, char *err)
{
    samc_spec_fields f;
    samc_status st = samc_spec_split(&f, src->arg, err);
    if (st != SAMC_OK) return st;
    char *paths[2];
    size_t npaths = 0;
    samc_data *data = src->data;
    st = collect_files(src, r, &f, option, ctx, paths, &npaths, err);
    if (st == SAMC_OK && npaths == 2)
        snprintf(src->test_path, sizeof src->test_path, "%s", paths[1]);
    if (st == SAMC_OK) st = read(&data->train, paths[0], NULL, ctx, err);
    if (st == SAMC_OK && npaths == 2) st = read(&data->test, paths[1], &data->train, ctx, err);
    if (st == SAMC_OK)
        snprintf(data->name, sizeof data->name, "%s:%s", r->prefix,
                 samc_data_basename(paths[0]));
    samc_spec_fields_free(&f);
    return st;
}

/* The test rows of a pair spec must have the shape of the train rows. */
static samc_status same_shape(const samc_dataset *a, const samc_dataset *b,
                              const char *test_path, char *err)
{
    if (a->d == b->d && a->channels == b->channels && a->height == b->height &&
        a->width == b->width)
        return SAMC_OK;
    if (a->channels)
        return samc_errf(err, SAMC_EFORMAT,
                         "%s: test rows are %dx%dx%d (%zu values), but the training rows "
                         "are %dx%dx%d",
                         test_path, b->channels, b->height, b->width, b->d, a->channels,
                         a->height, a->width);
    return samc_errf(err, SAMC_EFORMAT,
                     "%s: test rows have %zu features (shape %dx%dx%d), but the training "
                     "rows have %zu",
                     test_path, b->d, b->channels, b->height, b->width, a->d);
}

samc_status samc_spec_pairs(samc_data_source *src, const samc_data_reader *r,
                            samc_pair_read_fn read, char *err)
{
    samc_spec_fields f;
    samc_status st = samc_spec_split(&f, src->arg, err);
    if (st != SAMC_OK) return st;
    size_t n = f.n;
    char **tok = f.tok;
    samc_data *data = src->data;
    if (n != 2 && n != 4)
        st = samc_errf(err, SAMC_EINVAL, "data spec '%.200s' names %s files; expected %s",
                       src->spec, n > 4 ? "more than four" : n == 3 ? "three" : "one",
                       r->form);
    for (size_t i = 0; st == SAMC_OK && i < n; i++)
        if (!*tok[i])
            st = samc_errf(err, SAMC_EINVAL,
                           "empty file name in data spec '%.200s'; expected %s", src->spec,
                           r->form);
    if (st == SAMC_OK) st = read(&data->train, tok[0], tok[1], err);
    if (st == SAMC_OK && n == 4) {
        st = read(&data->test, tok[2], tok[3], err);
        if (st == SAMC_OK) st = same_shape(&data->train, &data->test, tok[2], err);
        if (st == SAMC_OK) snprintf(src->test_path, sizeof src->test_path, "%s", tok[3]);
    }
    if (st == SAMC_OK)
        snprintf(data->name, sizeof data->name, "%s:%s", r->prefix,
                 samc_data_basename(tok[0]));
    samc_spec_fields_free(&f);
    return st;
}
