/*
 * test_sparse.c -- sparse rows (CSR) against the dense path on the same
 * data: the reader's values, the linear models' loss, gradient, evaluation
 * and logits (bit for bit on small sets, to rounding on wide ones), the
 * gradient against finite differences, the loader's row cuts and checksum,
 * the measures, and the O(nnz) SAM-family step against samc_optim_step one
 * step at a time and over whole runs, with the trainer's resume.
 */
#include <unistd.h>

#include "testutil.h"
#include "model/roles.h"
#include "optim/sparse_step.h"

/* A random LIBSVM file: n rows over d features, each entry present with
 * probability dens (the feature popularity falling with the index), K classes. */
static void write_random(const char *path, size_t n, size_t d, double dens, int K, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%d", (int)samc_rng_below(&r, (uint64_t)K) + 1);
        for (size_t j = 1; j <= d; j++)
            if (samc_rng_uniform(&r) < dens * 8.0 / (8.0 + (double)j * 16.0 / (double)d))
                fprintf(f, " %zu:%.6g", j, samc_rng_normal(&r) * 0.5);
        fprintf(f, "\n");
    }
    fclose(f);
}

typedef struct pair {
    samc_data sp, de;   /* the same file, sparse and made dense */
    char path[64];
} pair;

static void pair_make(pair *p, size_t n, size_t d, double dens, int K, uint64_t seed)
{
    snprintf(p->path, sizeof p->path, "/tmp/samc_sparse_XXXXXX");
    int fd = mkstemp(p->path);
    assert_true(fd >= 0);
    close(fd);
    write_random(p->path, n, d, dens, K, seed);
    char spec[128];
    snprintf(spec, sizeof spec, "libsvm:%s", p->path);
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&p->sp, spec, err), SAMC_OK);
    assert_int_equal(samc_data_load(&p->de, spec, err), SAMC_OK);
    assert_true(samc_dataset_is_sparse(&p->sp.train));
    assert_int_equal(samc_dataset_densify(&p->de.train), SAMC_OK);
    /* every column counts, present in a row or not */
    assert_int_equal(samc_dataset_widen(&p->sp.train, d), SAMC_OK);
    assert_int_equal(samc_dataset_widen(&p->de.train, d), SAMC_OK);
    assert_false(samc_dataset_is_sparse(&p->de.train));
}

static void pair_free(pair *p)
{
    samc_data_free(&p->sp);
    samc_data_free(&p->de);
    unlink(p->path);
}

static void random_x(float *x, size_t n, double sd, uint64_t seed)
{
    samc_rng r;
    samc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(sd * samc_rng_normal(&r));
}

/* |a - b| <= tol * max |b| over n floats. */
static void assert_vec_close(const float *a, const float *b, size_t n, double tol, const char *what)
{
    double mx = 0.0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= tol * mx + 1e-30))
            fail_msg("%s[%zu] = %.9g, dense %.9g (tol %g x %g)", what, i, (double)a[i], (double)b[i], tol, mx);
}

static const char *const MODELS[] = {"linear", "logreg", "softmax"};

/* Loss, gradient, evaluation and logits of one model on both storages;
 * exact: bit for bit, else to rounding. */
static void compare_model(const char *spec, pair *p, double l2, int bias, int exact)
{
    const samc_dataset *s = &p->sp.train, *dn = &p->de.train;
    samc_model *m;
    samc_errbuf err = "";
    int K = strcmp(spec, "softmax") ? 2 : s->n_classes;
    assert_int_equal(samc_model_create(&m, spec, s->d, K, l2, bias, err), SAMC_OK);
    const size_t np = samc_model_n_params(m), nb = 7;
    float *x = malloc(np * sizeof *x), *g1 = calloc(np, sizeof *g1), *g2 = calloc(np, sizeof *g2);
    float *o1 = malloc(nb * 8 * sizeof *o1), *o2 = malloc(nb * 8 * sizeof *o2);
    random_x(x, np, 0.3, 5);
    const size_t idx[7] = {3, 0, 11, 11, 7, 2, 19};
    double f1, f2, a1, a2, e1, e2;
    assert_int_equal(samc_model_loss_grad(m, s, idx, nb, x, g1, 0.5, 1, &f1), SAMC_OK);
    assert_int_equal(samc_model_loss_grad(m, dn, idx, nb, x, g2, 0.5, 1, &f2), SAMC_OK);
    assert_int_equal(samc_model_evaluate(m, s, x, &e1, &a1), SAMC_OK);
    assert_int_equal(samc_model_evaluate(m, dn, x, &e2, &a2), SAMC_OK);
    assert_int_equal(samc_model_logits(m, s, idx, nb, x, o1), SAMC_OK);
    assert_int_equal(samc_model_logits(m, dn, idx, nb, x, o2), SAMC_OK);
    const size_t no = nb * (strcmp(spec, "softmax") ? 1 : (size_t)K);
    if (exact) {
        assert_true(f1 == f2 && e1 == e2);
        assert_memory_equal(g1, g2, np * sizeof *g1);
        assert_memory_equal(o1, o2, no * sizeof *o1);
    } else {
        assert_close(f1, f2, 1e-12, 0);
        assert_close(e1, e2, 1e-12, 0);
        assert_vec_close(g1, g2, np, 1e-6, "grad");
        assert_vec_close(o1, o2, no, 1e-6, "logits");
    }
    if (!isnan(a2)) assert_true(a1 == a2);
    free(x), free(g1), free(g2), free(o1), free(o2);
    samc_model_free(m);
}

static void test_models_match_dense(void **state)
{
    (void)state;
    for (int wide = 0; wide < 2; wide++) {
        pair p;   /* 20 features: rows go through the dense dot; 900: entry by entry */
        pair_make(&p, 24, wide ? 900 : 20, wide ? 0.02 : 0.4, 3, 11 + (uint64_t)wide);
        for (int k = 0; k < 3; k++)
            for (int bias = 0; bias < 2; bias++) {
                if (k == 1) {   /* logreg: two classes */
                    pair q;
                    pair_make(&q, 24, wide ? 900 : 20, wide ? 0.02 : 0.4, 2, 21 + (uint64_t)wide);
                    compare_model(MODELS[k], &q, 0.01, bias, !wide);
                    pair_free(&q);
                } else {
                    compare_model(MODELS[k], &p, bias ? 0.0 : 0.01, bias, !wide);
                }
            }
        pair_free(&p);
    }
}

/* The sparse gradient against central differences of the loss (in double),
 * on coordinates the batch touches and on some it does not. */
static void test_gradient_fd(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        pair p;
        pair_make(&p, 30, 700, 0.03, k == 1 ? 2 : 3, 31);
        const samc_dataset *s = &p.sp.train;
        samc_model *m;
        samc_errbuf err = "";
        assert_int_equal(samc_model_create(&m, MODELS[k], s->d, s->n_classes, 0.02, 1, err), SAMC_OK);
        const size_t np = samc_model_n_params(m);
        float *x = malloc(np * sizeof *x), *g = calloc(np, sizeof *g);
        random_x(x, np, 0.2, 7);
        const size_t idx[5] = {1, 4, 9, 16, 25};
        double f, fp, fm;
        assert_int_equal(samc_model_loss_grad(m, s, idx, 5, x, g, 1.0, 1, &f), SAMC_OK);
        const float h = 1.0f / 256;
        for (size_t i = 0; i < np; i += np / 97 + 1) {
            const float xi = x[i];
            x[i] = xi + h;
            assert_int_equal(samc_model_loss_grad(m, s, idx, 5, x, NULL, 1.0, 1, &fp), SAMC_OK);
            x[i] = xi - h;
            assert_int_equal(samc_model_loss_grad(m, s, idx, 5, x, NULL, 1.0, 1, &fm), SAMC_OK);
            x[i] = xi;
            assert_close(g[i], (fp - fm) / (2.0 * h), 1e-3, 1e-5);
        }
        free(x);
        free(g);
        samc_model_free(m);
        pair_free(&p);
    }
}

/* Values the fast path parses are strtod's, rounded to float. */
static void test_reader_numbers(void **state)
{
    (void)state;
    const char *vals[] = {"0.1", "-0", "+3", ".5", "5.", "1e-5", "1E+3", "-2.5e-3", "123456789012345678",
                          "0.12345678901234567890123", "3.4e38", "1e-50", "7e22", "9007199254740993",
                          "0.000000000000000000000000001", "0x1p3", "00012.5"};
    const size_t nv = sizeof vals / sizeof *vals;
    char path[] = "/tmp/samc_sparse_num_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < nv; i++) fprintf(f, "%s %zu:%s\n", vals[i], i + 1, vals[i]);
    fclose(f);
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_libsvm(&ds, path, 0, err), SAMC_OK);
    assert_int_equal(ds.n, nv);
    for (size_t i = 0; i < nv; i++) {
        const float want = (float)strtod(vals[i], NULL);
        assert_int_equal(ds.ptr[i + 1] - ds.ptr[i], 1);
        assert_int_equal(ds.col32[ds.ptr[i]], i);
        if (memcmp(&ds.val[ds.ptr[i]], &want, sizeof want) || memcmp(&ds.y[i], &want, sizeof want))
            fail_msg("'%s' read as %.9g / %.9g, strtod gives %.9g", vals[i], (double)ds.val[ds.ptr[i]],
                     (double)ds.y[i], (double)want);
    }
    samc_dataset_free(&ds);
    unlink(path);
}

/* --train-rows, --val and the checkpoint's crc on sparse rows: the rows and
 * the crc of the dense reading. */
static void test_loader_cuts(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, 30, 50, 0.2, 2, 41);
    char spec[128];
    snprintf(spec, sizeof spec, "libsvm:%s", p.path);
    samc_data_options o = samc_data_default_options();
    o.train_rows = 25;
    o.val = 6;
    samc_data a;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load_ex(&a, spec, &o, err), SAMC_OK);
    assert_int_equal(a.train.n, 19);
    assert_int_equal(a.val.n, 6);
    assert_true(samc_dataset_is_sparse(&a.train) && samc_dataset_is_sparse(&a.val));
    float r1[50], r2[50];
    for (size_t i = 0; i < 25; i++) {
        const samc_dataset *s = i < 19 ? &a.train : &a.val;
        samc_dataset_row_dense(s, i < 19 ? i : i - 19, r1);
        samc_dataset_row_dense(&p.de.train, i, r2);
        assert_memory_equal(r1, r2, sizeof r1);
        assert_true(s->y[i < 19 ? i : i - 19] == p.de.train.y[i]);
    }
    assert_int_equal(samc_ckpt_data_crc(&p.sp.train), samc_ckpt_data_crc(&p.de.train));
    samc_dataset v = samc_dataset_rows(&p.sp.train, 4, 9);
    assert_int_equal(samc_dataset_nnz(&v), p.sp.train.ptr[13] - p.sp.train.ptr[4]);
    samc_dataset_row_dense(&v, 2, r1);
    samc_dataset_row_dense(&p.de.train, 6, r2);
    assert_memory_equal(r1, r2, sizeof r1);
    samc_data_free(&a);
    o.normalize = 1;   /* centering: the rows are made dense */
    assert_int_equal(samc_data_load_ex(&a, spec, &o, err), SAMC_OK);
    assert_false(samc_dataset_is_sparse(&a.train));
    samc_data_free(&a);
    pair_free(&p);
}

/* A sharded load: the parts of 1..5 ranks hold every row once, in order
 * (LIBSVM by the bytes its lines start at, CSV by rows); an error in a
 * later part names its line in the whole file. */
static void test_shards(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, 37, 60, 0.2, 3, 91);
    char spec[128], bad[] = "/tmp/samc_sparse_bad_XXXXXX";
    snprintf(spec, sizeof spec, "libsvm:%s", p.path);
    float r1[60], r2[60];
    samc_errbuf err = "";
    for (size_t K = 1; K <= 5; K++) {
        size_t row = 0;
        for (size_t s = 0; s < K; s++) {
            samc_data_options o = samc_data_default_options();
            o.shard = s;
            o.shards = K;
            samc_data a;
            assert_int_equal(samc_data_load_ex(&a, spec, &o, err), SAMC_OK);
            assert_true(samc_dataset_is_sparse(&a.train));
            if (K > 1) assert_int_equal(a.train.n_classes, 0);   /* labels as read, for the ranks to number */
            for (size_t i = 0; i < a.train.n; i++, row++) {
                assert_true(row < 37);
                assert_int_equal(samc_dataset_widen(&a.train, 60), SAMC_OK);
                samc_dataset_row_dense(&a.train, i, r1);
                samc_dataset_row_dense(&p.de.train, row, r2);
                assert_memory_equal(r1, r2, sizeof r1);
            }
            samc_data_free(&a);
        }
        assert_int_equal(row, 37);
    }
    char csv[] = "/tmp/samc_sparse_csv_XXXXXX";   /* a dense reader: blocks of rows */
    int fd = mkstemp(csv);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 10; i++) fprintf(f, "%d,%d,%d\n", i % 2, i, 10 * i);
    fclose(f);
    snprintf(spec, sizeof spec, "csv:%s", csv);
    for (size_t s = 0, row = 0; s < 3; s++) {
        samc_data_options o = samc_data_default_options();
        o.shard = s;
        o.shards = 3;
        samc_data a;
        assert_int_equal(samc_data_load_ex(&a, spec, &o, err), SAMC_OK);
        assert_int_equal(a.train.n, 10 * (s + 1) / 3 - 10 * s / 3);
        for (size_t i = 0; i < a.train.n; i++, row++) assert_true(a.train.x[2 * i] == (float)row);
        samc_data_free(&a);
    }
    unlink(csv);
    fd = mkstemp(bad);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    for (int i = 0; i < 40; i++) fprintf(f, i == 31 ? "1 2:1 1:1\n" : "1 1:0.5 2:0.25\n");
    fclose(f);
    snprintf(spec, sizeof spec, "libsvm:%s", bad);
    samc_data_options o = samc_data_default_options();
    o.shard = 1;
    o.shards = 2;
    samc_data a;
    assert_int_equal(samc_data_load_ex(&a, spec, &o, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, ":32: feature index 1 after 2"));
    o.val = 3;
    assert_int_equal(samc_data_load_ex(&a, spec, &o, err), SAMC_EINVAL);
    unlink(bad);
    pair_free(&p);
}

/* The measures read the model through its oracle: the same on both storages. */
static void test_measures(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, 64, 600, 0.03, 2, 51);
    samc_model *m;
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&m, "logreg", 600, 2, 1e-3, 1, err), SAMC_OK);
    float *x = malloc(601 * sizeof *x);
    random_x(x, 601, 0.3, 9);
    samc_measure_params mp = samc_measure_default_params();
    mp.which = (1u << SAMC_MEASURE_AVG) | (1u << SAMC_MEASURE_HESSIAN_TOP) | (1u << SAMC_MEASURE_HESSIAN_TRACE) |
               (1u << SAMC_MEASURE_GRAD_NORM) | (1u << SAMC_MEASURE_WORST_L2);
    mp.n_samples = 64;
    mp.batch = 32;
    mp.hessian.probes = 10;
    samc_measure_result r1, r2;
    assert_int_equal(samc_measure_model(m, &p.sp.train, x, &mp, &r1, err), SAMC_OK);
    assert_int_equal(samc_measure_model(m, &p.de.train, x, &mp, &r2, err), SAMC_OK);
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++)
        if (mp.which & (1u << k)) assert_close(r1.value[k], r2.value[k], 1e-3, 1e-7);
    free(x);
    samc_model_free(m);
    pair_free(&p);
}

/* ------------------------------------------------------ the O(nnz) step */

typedef struct step_case {
    const char *model;
    samc_opt_kind kind;
    samc_step_rule rule;
    double l2, wd;
    double clip;      /* > 0: the direction clipped */
    int roles;        /* the model's parameter roles given (ASAM's T = 1 on biases; decay groups) */
    double smooth;    /* softmax label smoothing */
} step_case;

static const step_case CASES[] = {
    {"logreg", SAMC_OPT_SGD, SAMC_STEP_SCHEDULED, 0.0, 0.0, 0.0, 0, 0.0},
    {"logreg", SAMC_OPT_SAM, SAMC_STEP_POLYAK, 0.01, 1e-3, 0.0, 0, 0.0},
    {"softmax", SAMC_OPT_SAM, SAMC_STEP_SCHEDULED, 0.01, 0.0, 0.0, 0, 0.0},
    {"linear", SAMC_OPT_USAM, SAMC_STEP_SCHEDULED, 0.01, 0.0, 0.0, 0, 0.0},
    {"logreg", SAMC_OPT_UNIFIED, SAMC_STEP_DECSPS, 0.0, 0.0, 0.0, 0, 0.0},
    {"softmax", SAMC_OPT_GSAM, SAMC_STEP_POLYAK, 0.01, 1e-3, 0.0, 0, 0.0},
    {"logreg", SAMC_OPT_ASAM, SAMC_STEP_SCHEDULED, 0.0, 1e-3, 0.0, 0, 0.0},
    {"logreg", SAMC_OPT_SGD, SAMC_STEP_POLYAK, 0.02, 0.0, 0.0, 0, 0.0},
    {"logreg", SAMC_OPT_SAM, SAMC_STEP_SCHEDULED, 0.01, 1e-2, 0.05, 1, 0.0},   /* clipped, biases not decayed */
    {"logreg", SAMC_OPT_ASAM, SAMC_STEP_POLYAK, 0.0, 1e-3, 0.0, 1, 0.0},      /* T = 1 on the bias */
    {"softmax", SAMC_OPT_SAM, SAMC_STEP_POLYAK, 0.01, 0.0, 0.0, 0, 0.1},      /* label smoothing */
};

typedef struct stepper {
    pair p;
    samc_model *m;
    samc_optim *od, *os;
    samc_sparse_step *ss;
    float *xd, *xs;
    size_t np, idx[8];
    samc_model_batch bd, bs;
    samc_oracle od_orc, os_orc;
    samc_rng r;
} stepper;

static void stepper_init(stepper *s, const step_case *c)
{
    const int K = strcmp(c->model, "softmax") ? 2 : 3;
    pair_make(&s->p, 40, 600, 0.02, K, 61);
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&s->m, c->model, 600, K, c->l2, 1, err), SAMC_OK);
    samc_optim_params op = samc_optim_default_params();
    op.kind = c->kind;
    op.rule = c->rule;
    op.weight_decay = c->wd;
    op.lambda = 0.5;
    op.alpha = 0.3;
    op.polyak_cap = 2.0;
    op.clip = c->clip;
    op.wd_groups = c->roles ? SAMC_WD_WEIGHTS : SAMC_WD_ALL;
    s->np = samc_model_n_params(s->m);
    assert_int_equal(samc_model_set_label_smoothing(s->m, c->smooth, err), SAMC_OK);
    assert_int_equal(samc_optim_init(&s->od, s->np, &op, err), SAMC_OK);
    assert_int_equal(samc_optim_init(&s->os, s->np, &op, err), SAMC_OK);
    assert_true(samc_sparse_step_usable(&op, s->m, &s->p.sp.train, NULL));
    assert_int_equal(samc_sparse_step_init(&s->ss, &op, s->m, 1, err), SAMC_OK);
    if (c->roles) {
        unsigned char *role = malloc(s->np);
        samc_model_param_roles(s->m, role);
        assert_int_equal(samc_optim_set_roles(s->od, role, err), SAMC_OK);
        samc_sparse_step_set_bias_role(s->ss, 1);
        free(role);
    }
    s->xd = malloc(s->np * sizeof *s->xd);
    s->xs = malloc(s->np * sizeof *s->xs);
    random_x(s->xd, s->np, 0.1, 3);
    memcpy(s->xs, s->xd, s->np * sizeof *s->xs);
    s->bd = (samc_model_batch){ s->m, &s->p.de.train, s->idx, 8, 1.0, SAMC_OK, 1 };
    s->bs = (samc_model_batch){ s->m, &s->p.sp.train, s->idx, 8, 1.0, SAMC_OK, 1 };
    s->od_orc = samc_model_oracle(&s->bd);
    s->os_orc = samc_model_oracle(&s->bs);
    samc_rng_seed(&s->r, 77);
}

static void stepper_free(stepper *s)
{
    samc_optim_free(s->od);
    samc_optim_free(s->os);
    samc_sparse_step_free(s->ss);
    free(s->xd);
    free(s->xs);
    samc_model_free(s->m);
    pair_free(&s->p);
}

/* One step of both paths on a new batch; the infos compared. */
static void step_both(stepper *s, double tol)
{
    for (int i = 0; i < 8; i++) s->idx[i] = (size_t)samc_rng_below(&s->r, 40);
    samc_step_info a, b;
    assert_int_equal(samc_optim_step(s->od, &s->od_orc, s->xd, 0.5, 0.05, &a), SAMC_OK);
    assert_int_equal(samc_sparse_step_run(s->ss, s->os, &s->os_orc, &s->bs, s->xs, 0.5, 0.05, &b), SAMC_OK);
    const double va[] = {a.loss, a.loss_perturbed, a.grad_norm, a.grad_norm_perturbed, a.numerator, a.step};
    const double vb[] = {b.loss, b.loss_perturbed, b.grad_norm, b.grad_norm_perturbed, b.numerator, b.step};
    for (int k = 0; k < 6; k++) assert_close(vb[k], va[k], tol, tol * 1e-2);
}

/* From the same point, one step at a time: every value and the new point
 * equal to rounding. */
static void test_step_one_at_a_time(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        stepper s;
        stepper_init(&s, &CASES[c]);
        for (int t = 0; t < 20; t++) {
            step_both(&s, 1e-5);
            samc_sparse_step_sync(s.ss, s.xs);
            assert_vec_close(s.xs, s.xd, s.np, 1e-5, "x");
            memcpy(s.xs, s.xd, s.np * sizeof *s.xs);   /* the next step from the same point */
            samc_optim_state st = samc_optim_get_state(s.od);
            samc_optim_set_state(s.os, st.decsps_prev, st.steps);
        }
        assert_int_equal(samc_sparse_step_count(s.ss), 20);
        stepper_free(&s);
    }
}

/* Whole runs without a sync (the scale accumulating): the trajectories stay
 * together; with l2 = 0 and no weight decay the columns no batch touched
 * keep their bits. */
static void test_step_runs(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        stepper s;
        stepper_init(&s, &CASES[c]);
        float *x0 = malloc(s.np * sizeof *x0);
        memcpy(x0, s.xs, s.np * sizeof *x0);
        for (int t = 0; t < 60; t++) step_both(&s, 1e-4);
        if (CASES[c].l2 == 0.0 && CASES[c].wd == 0.0) {
            unsigned char *used = calloc(s.np, 1);
            for (size_t k = 0; k < s.p.sp.train.ptr[40]; k++) used[s.p.sp.train.col32[k]] = 1;
            for (size_t j = 0; j < 600; j++)
                if (!used[j]) assert_memory_equal(&s.xs[j], &x0[j], sizeof *x0);
            free(used);
        }
        samc_sparse_step_sync(s.ss, s.xs);
        assert_vec_close(s.xs, s.xd, s.np, 1e-4, "x");
        free(x0);
        stepper_free(&s);
    }
}

/* Which settings take the O(nnz) step, and auto mode on a dense-ish batch. */
static void test_step_settings(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, 20, 30, 0.5, 2, 71);
    samc_model *m, *m2;
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&m, "logreg", 30, 2, 0.0, 1, err), SAMC_OK);
    assert_int_equal(samc_model_create(&m2, "logreg", 30, 2, 0.1, 1, err), SAMC_OK);
    samc_optim_params op = samc_optim_default_params();
    const char *why;
    op.kind = SAMC_OPT_SAM;
    assert_true(samc_sparse_step_usable(&op, m, &p.sp.train, &why));
    assert_false(samc_sparse_step_usable(&op, m, &p.de.train, &why));
    op.momentum = 0.9;
    assert_false(samc_sparse_step_usable(&op, m, &p.sp.train, &why));
    assert_non_null(strstr(why, "momentum"));
    op.momentum = 0.0;
    op.kind = SAMC_OPT_ASAM;
    assert_true(samc_sparse_step_usable(&op, m, &p.sp.train, &why));
    assert_false(samc_sparse_step_usable(&op, m2, &p.sp.train, &why));
    /* auto: 8 rows of 30 features touch nearly every parameter -> the dense step */
    op.kind = SAMC_OPT_SAM;
    samc_optim *o;
    samc_sparse_step *ss;
    assert_int_equal(samc_optim_init(&o, 31, &op, err), SAMC_OK);
    assert_int_equal(samc_sparse_step_init(&ss, &op, m, 0, err), SAMC_OK);
    float x[31] = {0};
    samc_model_batch b = { m, &p.sp.train, NULL, 8, 1.0, SAMC_OK, 1 };
    samc_oracle orc = samc_model_oracle(&b);
    samc_step_info info;
    assert_int_equal(samc_sparse_step_run(ss, o, &orc, &b, x, 0.1, 0.05, &info), SAMC_OK);
    assert_int_equal(samc_sparse_step_count(ss), 0);
    assert_int_equal(samc_optim_get_state(o).steps, 1);
    samc_sparse_step_free(ss);
    samc_optim_free(o);
    samc_model_free(m);
    samc_model_free(m2);
    pair_free(&p);
}

/* ---------------------------------------------------------- the trainer */

static char root[] = "/tmp/samc_sparse_run_XXXXXX";

/* A run of SAM + Polyak on sparse data through the trainer's layers, with
 * SAMC_SPARSE_STEP=mode, stopping before step stop_at (0: never) or resuming. */
static samc_status train(pair *p, const char *mode, double l2, double wd, const char *dir, int64_t stop_at,
                         int resume, float *x)
{
    setenv("SAMC_SPARSE_STEP", mode, 1);
    samc_model *m;
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&m, "logreg", p->sp.train.d, 2, l2, 1, err), SAMC_OK);
    samc_train_params tp = samc_train_default_params();
    tp.optim.kind = SAMC_OPT_SAM;
    tp.optim.rule = SAMC_STEP_POLYAK;
    tp.optim.weight_decay = wd;
    tp.rho.rho_max = 0.05;
    tp.batch.b0 = 8;
    tp.epochs = 3;
    tp.threads = 1;
    tp.quiet = 1;
    tp.stop_at = stop_at;
    samc_status st = samc_train_run(&tp, &p->sp, m, dir, x, resume, NULL, err);
    samc_model_free(m);
    unsetenv("SAMC_SPARSE_STEP");
    return st;
}

static void test_trainer_paths_and_resume(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(root));
    pair p;
    pair_make(&p, 40, 800, 0.01, 2, 81);
    float xon[801], xoff[801], xres[801];
    char d1[128], d2[128], d3[128];
    snprintf(d1, sizeof d1, "%s/on", root);
    snprintf(d2, sizeof d2, "%s/off", root);
    snprintf(d3, sizeof d3, "%s/resumed", root);
    for (int reg = 0; reg < 2; reg++) {
        const double l2 = reg ? 1e-2 : 0.0, wd = reg ? 1e-3 : 0.0;
        assert_int_equal(train(&p, "on", l2, wd, d1, 0, 0, xon), SAMC_OK);
        assert_int_equal(train(&p, "off", l2, wd, d2, 0, 0, xoff), SAMC_OK);
        assert_vec_close(xon, xoff, 801, 1e-4, "x");
        /* stop inside the second epoch, resume: l2 = wd = 0 bit for bit */
        assert_int_equal(train(&p, "on", l2, wd, d3, 8, 0, xres), SAMC_EINTR);
        assert_int_equal(train(&p, "on", l2, wd, d3, 0, 1, xres), SAMC_OK);
        if (reg) assert_vec_close(xres, xon, 801, 1e-5, "resumed x");
        else assert_memory_equal(xres, xon, sizeof xon);
    }
    setenv("SAMC_SPARSE_STEP", "sometimes", 1);
    samc_model *m;
    samc_errbuf err = "";
    assert_int_equal(samc_model_create(&m, "logreg", 800, 2, 0.0, 1, err), SAMC_OK);
    samc_train_params tp = samc_train_default_params();
    tp.quiet = 1;
    assert_int_equal(samc_train_run(&tp, &p.sp, m, d1, xon, 0, NULL, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "SAMC_SPARSE_STEP"));
    unsetenv("SAMC_SPARSE_STEP");
    samc_model_free(m);
    pair_free(&p);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_match_dense),
        cmocka_unit_test(test_gradient_fd),
        cmocka_unit_test(test_reader_numbers),
        cmocka_unit_test(test_loader_cuts),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_measures),
        cmocka_unit_test(test_step_one_at_a_time),
        cmocka_unit_test(test_step_runs),
        cmocka_unit_test(test_step_settings),
        cmocka_unit_test(test_trainer_paths_and_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
