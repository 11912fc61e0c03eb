/*
 * export.c -- `samc export --checkpoint F --output PATH [--format
 * npy|safetensors]`: a checkpoint's parameters and BatchNorm buffers as named
 * arrays, named and shaped as the PyTorch state_dict of the equivalent module
 * (samc_model_tensors, include/samc.h section 7), plus each BatchNorm's
 * num_batches_tracked (int64, shape (): the steps taken), so that
 * load_state_dict(strict=True) accepts them.
 *
 * npy: a folder PATH of NAME.npy files, written in PATH.tmp and renamed.
 * safetensors: one file, an 8-byte little-endian header length, a JSON
 * header {NAME: {"dtype": "F32"|"I64", "shape": [...], "data_offsets":
 * [BEGIN, END]}, "__metadata__": {...}} padded with spaces to a multiple of 8
 * bytes, then the raw little-endian data, offsets counted from its start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ckpt_cmd.h"
#include "flags.h"
#include "util/err.h"

/* One array of the export. */
typedef struct entry {
    char name[128];
    int i64;                /* 1: the int64 scalar value; 0: floats f[0..size) */
    int ndim;
    int64_t shape[4];
    const float *f;
    size_t size;
    int64_t value;
} entry;

/* The arrays of r in state_dict order; *n their number (malloc'd). */
static entry *entries_of(const ckpt_run *r, size_t *n, char *err)
{
    const samc_tensor *t = samc_model_tensors(r->m);
    const size_t nt = samc_model_n_tensors(r->m);
    entry *e = calloc(2 * nt + 1, sizeof *e);
    if (!e) {
        samc_errf(err, SAMC_ENOMEM, "out of memory");
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < nt; i++) {
        entry *a = &e[k++];
        snprintf(a->name, sizeof a->name, "%s", t[i].name);
        a->ndim = t[i].ndim;
        memcpy(a->shape, t[i].shape, sizeof a->shape);
        a->f = (t[i].buffer ? r->ck.buffers : r->ck.params) + t[i].offset;
        a->size = t[i].size;
        if (t[i].role == SAMC_ROLE_BN_VAR) {   /* ...running_var: the module's counter next */
            entry *c = &e[k++];
            const size_t stem = strlen(t[i].name) - strlen("running_var");
            snprintf(c->name, sizeof c->name, "%.*snum_batches_tracked", (int)stem, t[i].name);
            c->i64 = 1;
            c->value = r->ck.step;
        }
    }
    *n = k;
    return e;
}

static size_t entry_bytes(const entry *a) { return a->i64 ? 8 : 4 * a->size; }

static void write_data(FILE *f, const entry *a)
{
    if (a->i64) write_i64le(f, a->value);
    else write_f32le(f, a->f, a->size);
}

/* The safetensors header of e[0..n) (cJSON; NULL when out of memory). */
static char *st_header(const entry *e, size_t n, const char *model)
{
    cJSON *root = cJSON_CreateObject(), *meta = NULL;
    int ok = root && (meta = cJSON_AddObjectToObject(root, "__metadata__")) &&
             cJSON_AddStringToObject(meta, "format", "pt") && cJSON_AddStringToObject(meta, "samc_model", model);
    size_t off = 0;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(root, e[i].name), *shape = NULL, *offs = NULL;
        ok = t && cJSON_AddStringToObject(t, "dtype", e[i].i64 ? "I64" : "F32") &&
             (shape = cJSON_AddArrayToObject(t, "shape")) && (offs = cJSON_AddArrayToObject(t, "data_offsets"));
        for (int k = 0; ok && k < e[i].ndim; k++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e[i].shape[k]));
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += entry_bytes(&e[i]);
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static samc_status write_safetensors(const char *path, const entry *e, size_t n, const char *model, char *err)
{
    char *h = st_header(e, n, model);
    SAMC_CHECK(h, SAMC_ENOMEM, "out of memory writing the safetensors header");
    const size_t len = strlen(h), padded = (len + 7) / 8 * 8;
    out_file o;
    samc_status st = out_open(&o, path, err);
    if (st == SAMC_OK) {
        write_i64le(o.f, (int64_t)padded);
        fputs(h, o.f);
        for (size_t i = len; i < padded; i++) fputc(' ', o.f);
        for (size_t i = 0; i < n; i++) write_data(o.f, &e[i]);
        st = out_commit(&o, err);
    }
    cJSON_free(h);
    return st;
}

/* The files of e[0..k) in dir removed, then dir. */
static void remove_dir(const char *dir, const entry *e, size_t k)
{
    char p[1400];
    for (size_t i = 0; i < k; i++) {
        snprintf(p, sizeof p, "%s/%s.npy", dir, e[i].name);
        remove(p);
    }
    rmdir(dir);
}

static samc_status write_npy_dir(const char *path, const entry *e, size_t n, char *err)
{
    char tmp[1100], p[1400];
    SAMC_CHECK(strlen(path) < 1000, SAMC_EINVAL, "output path too long: %.100s...", path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    SAMC_CHECK(mkdir(tmp, 0777) == 0, SAMC_EIO, "cannot create folder %.400s: %s%s", tmp, strerror(errno),
               errno == EEXIST ? " (left by an earlier export? remove it)" : "");
    samc_status st = SAMC_OK;
    size_t i = 0;
    for (; st == SAMC_OK && i < n; i++) {
        out_file o;
        snprintf(p, sizeof p, "%s/%s.npy", tmp, e[i].name);
        if ((st = out_open(&o, p, err)) != SAMC_OK) break;
        npy_write_header(o.f, e[i].i64 ? "<i8" : "<f4", e[i].i64 ? 0 : e[i].ndim, e[i].shape);
        write_data(o.f, &e[i]);
        st = out_commit(&o, err);
    }
    if (st == SAMC_OK && rename(tmp, path) != 0)
        st = samc_errf(err, SAMC_EIO, "cannot write folder %.400s: %s%s", path, strerror(errno),
                       errno == ENOTEMPTY || errno == EEXIST ? " (it exists and is not empty)" : "");
    if (st != SAMC_OK) remove_dir(tmp, e, i);
    return st;
}

static const char *format_of(const ckpt_args *a)
{
    return a->format ? a->format : ck_ends_with(a->output, ".safetensors") ? "safetensors" : "npy";
}

static samc_status check_args(const ckpt_args *a, char *err)
{
    const char *fmt = format_of(a);
    SAMC_CHECK(!strcmp(fmt, "npy") || !strcmp(fmt, "safetensors"), SAMC_EINVAL,
               "--format: expected npy or safetensors, got '%.40s'", fmt);
    return SAMC_OK;
}

static samc_status run(const ckpt_args *a, const ckpt_run *r, char *err)
{
    size_t n = 0;
    entry *e = entries_of(r, &n, err);
    if (!e) return SAMC_ENOMEM;
    samc_status st = !strcmp(format_of(a), "npy") ? write_npy_dir(a->output, e, n, err)
                                                 : write_safetensors(a->output, e, n, r->ck.model, err);
    free(e);
    return st;
}

int samc_cmd_export(int argc, char **argv)
{
    return ckpt_cmd_main(CK_EXPORT, argc, argv, check_args, run);
}
