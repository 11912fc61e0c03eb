/*
 * test_tensors.c -- the named tensors of every model (samc_model_tensors):
 * each parameter and buffer float covered exactly once in flat order, shapes
 * that multiply to the sizes, unique names whose suffix matches the role,
 * and for each model kind the PyTorch names and shapes of a few entries
 * (those of the definitions in tools/make_torch_fixtures.py; the export test
 * tests/cli_export.sh loads a whole table into them).
 */
#include "testutil.h"

typedef struct expect {
    int index;              /* entry of the table; -1: the last one */
    const char *name;
    int buffer;
    int ndim;
    int64_t shape[4];
} expect;

typedef struct model_case {
    const char *spec;
    int C, H, W, K, bias;
    size_t n_tensors;
    expect e[6];            /* name NULL ends the list */
} model_case;

/* One case per model kind (a new model adds its line). */
static const model_case cases[] = {
    { "linear", 5, 1, 1, 0, 1, 2, { { 0, "weight", 0, 2, { 1, 5 } }, { 1, "bias", 0, 1, { 1 } } } },
    { "linear", 5, 1, 1, 0, 0, 1, { { 0, "weight", 0, 2, { 1, 5 } } } },
    { "logreg", 7, 1, 1, 2, 1, 2, { { 0, "weight", 0, 2, { 1, 7 } }, { -1, "bias", 0, 1, { 1 } } } },
    { "softmax", 2, 3, 3, 3, 1, 2, { { 0, "weight", 0, 2, { 3, 18 } }, { 1, "bias", 0, 1, { 3 } } } },
    { "softmax", 6, 1, 1, 4, 0, 1, { { 0, "weight", 0, 2, { 4, 6 } } } },
    { "mlp:16,8", 1, 6, 6, 3, 1, 6,
      { { 0, "lins.0.weight", 0, 2, { 16, 36 } }, { 3, "lins.1.bias", 0, 1, { 8 } },
        { -1, "lins.2.bias", 0, 1, { 3 } } } },
    { "mlp:4", 9, 1, 1, 2, 1, 4, { { 2, "lins.1.weight", 0, 2, { 2, 4 } } } },
    { "cnn", 1, 8, 8, 4, 1, 8,
      { { 0, "conv1.weight", 0, 4, { 16, 1, 3, 3 } }, { 1, "conv1.bias", 0, 1, { 16 } },
        { 2, "conv2.weight", 0, 4, { 32, 16, 3, 3 } }, { 4, "fc1.weight", 0, 2, { 128, 128 } },
        { -1, "fc2.bias", 0, 1, { 4 } } } },
    /* conv1, bn1 (4), block 0 (10), blocks 1 and 2 with a shortcut (15 each), fc (2) */
    { "resnet:8", 3, 8, 8, 3, 1, 47,
      { { 0, "conv1.weight", 0, 4, { 16, 3, 3, 3 } }, { 3, "bn1.running_mean", 1, 1, { 16 } },
        { 4, "bn1.running_var", 1, 1, { 16 } }, { 5, "blocks.0.conv1.weight", 0, 4, { 16, 16, 3, 3 } },
        { 25, "blocks.1.shortcut.0.weight", 0, 4, { 32, 16, 1, 1 } },
        { -2, "fc.weight", 0, 2, { 3, 64 } } } },
    { "resnet:14", 3, 8, 8, 5, 1, 47 + 3 * 10,
      { { 5 + 10, "blocks.1.conv1.weight", 0, 4, { 16, 16, 3, 3 } },
        { -3, "blocks.5.bn2.running_var", 1, 1, { 64 } } } },
};
#define N_CASES (sizeof cases / sizeof cases[0])

static samc_model *make(const model_case *c)
{
    samc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.d = (size_t)c->C * (size_t)c->H * (size_t)c->W;
    ds.n_classes = c->K;
    if (c->H > 1) {
        ds.channels = c->C;
        ds.height = c->H;
        ds.width = c->W;
    }
    samc_model *m = NULL;
    samc_errbuf err = "";
    if (samc_model_create_for(&m, c->spec, &ds, 0.0, c->bias, err) != SAMC_OK)
        fail_msg("%s: %s", c->spec, err);
    return m;
}

static const char *const suffix[] = { "weight", "bias", "weight", "bias", "running_mean", "running_var" };

/* The contract of the table, for any model. */
static void check_cover(const samc_model *m)
{
    const samc_tensor *t = samc_model_tensors(m);
    const size_t n = samc_model_n_tensors(m);
    assert_non_null(t);
    size_t next[2] = { 0, 0 };   /* the next float of the parameters, of the buffers */
    for (size_t i = 0; i < n; i++) {
        const samc_tensor *a = &t[i];
        assert_true(a->buffer == 0 || a->buffer == 1);
        assert_int_equal(a->offset, next[a->buffer]);
        next[a->buffer] += a->size;
        assert_true(a->ndim >= 1 && a->ndim <= 4);
        size_t prod = 1;
        for (int k = 0; k < a->ndim; k++) {
            assert_true(a->shape[k] > 0);
            prod *= (size_t)a->shape[k];
        }
        assert_int_equal(prod, a->size);
        assert_true((int)a->role >= 0 && a->role <= SAMC_ROLE_BN_VAR);
        assert_int_equal(a->buffer, a->role >= SAMC_ROLE_BN_MEAN);
        const char *dot = strrchr(a->name, '.');
        assert_string_equal(dot ? dot + 1 : a->name, suffix[a->role]);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t[j].name, a->name)) fail_msg("%s: two tensors named %s", samc_model_name(m), a->name);
    }
    assert_int_equal(next[0], samc_model_n_params(m));
    assert_int_equal(next[1], samc_model_n_buffers(m));
}

static void test_every_model(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        samc_model *m = make(&cases[c]);
        check_cover(m);
        const size_t n = samc_model_n_tensors(m);
        assert_int_equal(n, cases[c].n_tensors);
        const samc_tensor *t = samc_model_tensors(m);
        for (const expect *e = cases[c].e; e < cases[c].e + 6 && e->name; e++) {
            const samc_tensor *a = &t[e->index >= 0 ? (size_t)e->index : n - (size_t)-e->index];
            assert_string_equal(a->name, e->name);
            assert_int_equal(a->buffer, e->buffer);
            assert_int_equal(a->ndim, e->ndim);
            for (int k = 0; k < e->ndim; k++) assert_int_equal(a->shape[k], e->shape[k]);
        }
        samc_model_free(m);
    }
}

/* BatchNorm layers come as four entries in PyTorch's order: weight, bias,
 * running_mean, running_var of one module, the buffers' offsets 2C apart. */
static void test_batchnorm_groups(void **state)
{
    (void)state;
    samc_model *m = make(&cases[N_CASES - 1]);
    const samc_tensor *t = samc_model_tensors(m);
    size_t groups = 0;
    for (size_t i = 0; i < samc_model_n_tensors(m); i++) {
        if (t[i].role != SAMC_ROLE_BN_SCALE) continue;
        assert_int_equal(t[i + 1].role, SAMC_ROLE_BN_SHIFT);
        assert_int_equal(t[i + 2].role, SAMC_ROLE_BN_MEAN);
        assert_int_equal(t[i + 3].role, SAMC_ROLE_BN_VAR);
        assert_int_equal(t[i + 3].offset, t[i + 2].offset + t[i + 2].size);
        const size_t len = strlen(t[i].name) - strlen("weight");
        for (int k = 1; k < 4; k++) assert_memory_equal(t[i + k].name, t[i].name, len);
        groups++;
    }
    assert_int_equal(groups, 1 + 6 * 2 + 2);   /* resnet:14: stem, 2 per block, 2 shortcuts */
    samc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_model),
        cmocka_unit_test(test_batchnorm_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
