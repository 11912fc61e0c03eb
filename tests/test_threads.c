/*
 * test_threads.c -- results do not depend on the thread count beyond
 * rounding.  The loss, the gradient and the BatchNorm running statistics of
 * each model, and the parameters after a few SAM steps, computed with
 * samc_set_threads(1) are compared with those on 2 and 3 threads (3 splits
 * the batch unevenly; more threads than cores is fine for a test).
 *
 * The networks run on both engines.  With oneDNN (the default) each
 * primitive splits its own work over the threads, and what changes with T
 * is again only the order of float sums (over the batch, and within the
 * convolutions' reductions); the same bounds hold.
 *
 * Tolerance, and why: with T threads the reference engine splits the batch
 * into T blocks of rows; per row everything is computed as on one thread, and what
 * changes is only the order of the sums over the batch -- the parameter
 * gradient is the sum of T per-thread float partials, BatchNorm's batch
 * statistics and sums combine T double partials, the convex models' gradient
 * columns are summed in double either way.  Reordering a float sum of the
 * batch's terms moves it by a few float roundings (eps = 6e-8) of the terms'
 * magnitudes, and a gradient entry can be a small difference of large terms,
 * so entries are not compared one by one against their own size: the
 * difference must be small against the whole gradient,
 *     ||g_T - g_1|| <= 1e-5 ||g_1||,   |loss_T - loss_1| <= 1e-6 |loss_1|,
 * and after 3 SAM steps (each step's rounding fed through the next pass)
 *     ||x_T - x_1|| <= 1e-4 ||x_1 - x_0||
 * (relative to how far the steps moved).  A race or a wrongly split
 * reduction -- a thread's rows counted twice or not at all, a partial read
 * before it is written -- moves these by O(1) relative amounts, far beyond
 * the tolerances (checked by planting such bugs in network.c and linear.c).
 */
#include "testutil.h"

#include <omp.h>

typedef struct problem {
    const char *spec;
    int C, H, W, K;
    size_t n;
} problem;

static samc_dataset make_data(const problem *pb, uint64_t seed)
{
    const size_t d = (size_t)pb->C * pb->H * pb->W;
    samc_dataset ds = { .n = pb->n, .d = d, .n_classes = pb->K, .channels = pb->C,
                        .height = pb->H, .width = pb->W };
    if (pb->H == 1 && pb->W == 1) ds.channels = ds.height = ds.width = 0;
    ds.x = malloc(pb->n * d * sizeof(float));
    ds.y = malloc(pb->n * sizeof(float));
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (size_t i = 0; i < pb->n * d; i++) ds.x[i] = (float)samc_rng_normal(&r);
    for (size_t i = 0; i < pb->n; i++) ds.y[i] = (float)samc_rng_below(&r, (uint64_t)pb->K);
    return ds;
}

static double diff_norm(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s);
}

static double norm(const float *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

/* Loss, gradient (pass 1, training mode), running statistics after it, and
 * the parameters after 3 SAM steps, on `threads` threads, all from the same
 * fresh model and initial point. */
typedef struct result {
    double loss;
    float *grad, *buffers, *x0, *x;
} result;

static result run(const problem *pb, int threads)
{
    samc_set_threads(threads);
    samc_dataset ds = make_data(pb, 7);
    samc_model *m;
    samc_errbuf err;
    if (samc_model_create_for(&m, pb->spec, &ds, 1e-4, 1, err) != SAMC_OK) fail_msg("%s", err);
    result res = { 0 };
    const size_t np = samc_model_n_params(m), nb = samc_model_n_buffers(m);
    res.grad = calloc(np, sizeof(float));
    res.x0 = malloc(np * sizeof(float));
    res.x = malloc(np * sizeof(float));
    res.buffers = malloc((nb ? nb : 1) * sizeof(float));
    samc_rng r;
    samc_rng_seed(&r, 3);
    samc_model_init_params(m, res.x0, &r);
    if (pb->spec[0] == 'l' || pb->spec[0] == 's')   /* convex models start at zero */
        for (size_t i = 0; i < np; i++) res.x0[i] = (float)(0.1 * samc_rng_normal(&r));
    memcpy(res.x, res.x0, np * sizeof(float));
    samc_model_set_pass(m, 1);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, ds.n, res.x, res.grad, 1.0, 1, &res.loss),
                     SAMC_OK);
    if (nb) memcpy(res.buffers, samc_model_buffers(m), nb * sizeof(float));

    samc_optim_params p = samc_optim_default_params();
    p.kind = SAMC_OPT_SAM;
    p.momentum = 0.9;
    samc_optim *o;
    assert_int_equal(samc_optim_init(&o, np, &p, err), SAMC_OK);
    samc_model_batch c = { .model = m, .ds = &ds, .nb = ds.n, .scale = 1.0 };
    samc_oracle orc = samc_model_oracle(&c);
    for (int t = 0; t < 3; t++)
        assert_int_equal(samc_optim_step(o, &orc, res.x, 0.05, 0.05, NULL), SAMC_OK);
    samc_optim_free(o);
    samc_model_free(m);
    free(ds.x);
    free(ds.y);
    return res;
}

static void free_result(result *r)
{
    free(r->grad);
    free(r->buffers);
    free(r->x0);
    free(r->x);
}

static void compare(const problem *pb)
{
    samc_errbuf err;
    samc_dataset probe = make_data(pb, 7);
    samc_model *m;
    assert_int_equal(samc_model_create_for(&m, pb->spec, &probe, 1e-4, 1, err), SAMC_OK);
    const size_t np = samc_model_n_params(m), nb = samc_model_n_buffers(m);
    samc_model_free(m);
    free(probe.x);
    free(probe.y);

    result r1 = run(pb, 1);
    const double gn = norm(r1.grad, np), moved = diff_norm(r1.x, r1.x0, np);
    assert_true(gn > 1e-3);       /* a gradient worth comparing */
    assert_true(moved > 1e-4);    /* steps that went somewhere */
    for (int T = 2; T <= 3; T++) {
        result rT = run(pb, T);
        const double dg = diff_norm(rT.grad, r1.grad, np), dx = diff_norm(rT.x, r1.x, np);
        print_message("%-12s %d threads: |dloss| %.2e (loss %.6f), |dgrad| / |grad| %.2e, "
                      "|dx| / |x - x0| %.2e after 3 SAM steps\n", pb->spec, T,
                      fabs(rT.loss - r1.loss), r1.loss, dg / gn, dx / moved);
        assert_close(rT.loss, r1.loss, 1e-6, 0.0);
        if (!(dg <= 1e-5 * gn))
            fail_msg("%s: gradient on %d threads differs by %.3g (relative to |g| = %.3g)",
                     pb->spec, T, dg / gn, gn);
        if (nb) {
            const double db = diff_norm(rT.buffers, r1.buffers, nb);
            if (!(db <= 1e-5 * norm(r1.buffers, nb)))
                fail_msg("%s: BatchNorm running statistics on %d threads differ by %.3g",
                         pb->spec, T, db);
        }
        if (!(dx <= 1e-4 * moved))
            fail_msg("%s: parameters after 3 SAM steps on %d threads differ by %.3g "
                     "(relative to the distance moved %.3g)", pb->spec, T, dx / moved, moved);
        free_result(&rT);
    }
    free_result(&r1);
    samc_set_threads(1);
}

/* The networks on both engines (SAMC_ENGINE, read at model creation). */
static void compare_engines(const problem *pb)
{
    const char *engines[] = { "ref", "dnnl" };
    for (int e = 0; e < 2; e++) {
        setenv("SAMC_ENGINE", engines[e], 1);
        print_message("    engine %s\n", engines[e]);
        compare(pb);
    }
    unsetenv("SAMC_ENGINE");
}

/* Batches large enough that every kernel is split over the threads. */
static void test_threads_mlp(void **state)
{
    (void)state;
    const problem pb = { "mlp:256,128", 1, 1, 200, 10, 96 };
    compare_engines(&pb);
}

static void test_threads_cnn(void **state)
{
    (void)state;
    const problem pb = { "cnn", 1, 16, 16, 10, 40 };
    compare_engines(&pb);
}

static void test_threads_resnet(void **state)
{
    (void)state;
    const problem pb = { "resnet:8", 3, 16, 16, 10, 24 };
    compare_engines(&pb);
}

static void test_threads_logreg(void **state)
{
    (void)state;
    const problem pb = { "logreg", 1, 1, 123, 2, 20000 };
    compare(&pb);
}

static void test_threads_softmax(void **state)
{
    (void)state;
    const problem pb = { "softmax", 1, 1, 60, 7, 5000 };
    compare(&pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_mlp),
        cmocka_unit_test(test_threads_cnn),
        cmocka_unit_test(test_threads_resnet),
        cmocka_unit_test(test_threads_logreg),
        cmocka_unit_test(test_threads_softmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
