/*
 * test_noalloc.c -- a training step allocates nothing: malloc, calloc and
 * realloc called from the library are counted (the test is linked with
 * -Wl,--wrap), and after warm-up steps a run of SAM steps of each model
 * kind, at the batch sizes already seen, makes no call.  The oneDNN engine
 * (the default for networks) builds its primitives once per batch size, so
 * the warm-up sees both sizes the counted steps use; the reference engine
 * (SAMC_ENGINE=ref) is counted too.  oneDNN's own allocations inside a
 * primitive's execution are not seen here (libdnnl is a shared library):
 * a step creates no primitive or memory object, and the scratchpads are the
 * library's (user-managed).
 */
#include "testutil.h"

static long n_alloc;
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { n_alloc++; return __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { n_alloc++; return __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { n_alloc++; return __real_realloc(p, n); }

static void steps_allocate_nothing(const char *spec, int C, int H, int W, int K,
                                   const char *engine)
{
    setenv("SAMC_ENGINE", engine, 1);
    const size_t n = 32, d = (size_t)C * H * W;
    samc_dataset ds = { .n = n, .d = d, .n_classes = K, .channels = C, .height = H, .width = W };
    ds.x = malloc(n * d * sizeof(float));
    ds.y = malloc(n * sizeof(float));
    samc_rng r;
    samc_rng_seed(&r, 1);
    for (size_t i = 0; i < n * d; i++) ds.x[i] = (float)samc_rng_normal(&r);
    for (size_t i = 0; i < n; i++) ds.y[i] = (float)(i % (size_t)K);
    samc_model *m;
    samc_errbuf err;
    assert_int_equal(samc_model_create_for(&m, spec, &ds, 1e-4, 1, err), SAMC_OK);
    samc_model_batch c = { .model = m, .ds = &ds, .nb = n, .scale = 1.0 };
    samc_oracle orc = samc_model_oracle(&c);
    float *x = malloc(orc.n * sizeof *x);
    samc_model_init_params(m, x, &r);
    samc_optim_params p = samc_optim_default_params();
    p.kind = SAMC_OPT_GSAM;
    p.alpha = 0.1;
    p.momentum = 0.9;
    p.rule = SAMC_STEP_POLYAK;
    samc_optim *o;
    assert_int_equal(samc_optim_init(&o, orc.n, &p, err), SAMC_OK);
    for (int t = 0; t < 2; t++) {   /* warm-up: the reference engine at the larger size only */
        c.nb = t % 2 || !strcmp(engine, "ref") ? n : n / 2;
        assert_int_equal(samc_optim_step(o, &orc, x, 0.01, 0.05, NULL), SAMC_OK);
    }
    long before = n_alloc;
    for (int t = 0; t < 4; t++) {
        c.nb = t % 2 ? n : n / 2;
        assert_int_equal(samc_optim_step(o, &orc, x, 0.01, 0.05, NULL), SAMC_OK);
    }
    double loss, acc;
    long during_steps = n_alloc - before;
    print_message("%-10s %-4s %ld allocations in 4 steps\n", spec, engine, during_steps);
    assert_int_equal(during_steps, 0);
    assert_int_equal(samc_model_evaluate(m, &ds, x, &loss, &acc), SAMC_OK);
    assert_true(n_alloc > 0); /* the counter does count (setup allocated) */
    samc_optim_free(o);
    samc_model_free(m);
    free(x);
    free(ds.x);
    free(ds.y);
    unsetenv("SAMC_ENGINE");
}

/* A network on each engine. */
static void on_both_engines(const char *spec, int C, int H, int W, int K)
{
    steps_allocate_nothing(spec, C, H, W, K, "dnnl");
    steps_allocate_nothing(spec, C, H, W, K, "ref");
}
static void test_mlp(void **state) { (void)state; on_both_engines("mlp:32,16", 1, 6, 6, 4); }
static void test_cnn(void **state) { (void)state; on_both_engines("cnn", 1, 8, 8, 4); }
static void test_resnet(void **state) { (void)state; on_both_engines("resnet:8", 3, 8, 8, 4); }
/* the convex models have no engine: one run */
static void test_softmax(void **state) { (void)state; steps_allocate_nothing("softmax", 1, 3, 3, 3, "auto"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_cnn),
        cmocka_unit_test(test_resnet),
        cmocka_unit_test(test_softmax),
    };
    return cmocka_run_group_tests_name("noalloc", tests, NULL, NULL);
}
