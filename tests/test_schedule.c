/*
 * test_schedule.c -- tests of the learning-rate, rho and batch-size schedules
 * and their spec strings (docs/MATH.md section 3): every schedule at
 * its boundary points, the [IB] batch run, caps, parse/format round trips and
 * rejection of bad specs.
 */
#include <limits.h>
#include <stdint.h>

#include "testutil.h"

#define TOL 1e-12

static samc_lr_schedule lr_base(samc_lr_kind kind)
{
    samc_lr_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.eta_max = 0.1;
    s.eta_min = 0.001;
    s.power = 1.0;
    s.gamma = 0.1;
    s.every = 30;
    s.warmup = 0;
    s.eta_init = 0.0;
    return s;
}

static samc_batch_schedule batch_base(samc_batch_kind kind)
{
    samc_batch_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.b0 = 16;
    s.delta = 2.0;
    s.a = 0.0;
    s.c = 1.0;
    s.every = 40;
    s.max = 0;
    return s;
}

/* ------------------------------------------------------------ learning rate */

static void test_lr_const(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_CONST);
    assert_close(samc_lr_at(&s, 0, 100, 0), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, 50, 100, 3), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, 100, 100, 9), 0.1, 0, TOL);
}

static void test_lr_cosine(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_COSINE);
    const int64_t T = 1000;
    assert_close(samc_lr_at(&s, 0, T, 0), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, T, T, 0), 0.001, 0, TOL);
    assert_close(samc_lr_at(&s, T / 2, T, 0), (0.1 + 0.001) / 2, 0, TOL);
    /* a quarter of the way: eta_min + (eta_max - eta_min)(1 + cos(pi/4))/2 */
    assert_close(samc_lr_at(&s, T / 4, T, 0),
                 0.001 + 0.099 * (1 + sqrt(0.5)) / 2, 0, TOL);
    assert_close(samc_lr_at(&s, 3 * T / 4, T, 0),
                 0.001 + 0.099 * (1 - sqrt(0.5)) / 2, 0, TOL);
    /* strictly decreasing in between */
    double prev = samc_lr_at(&s, 0, T, 0);
    for (int64_t t = 1; t <= T; t++) {
        double v = samc_lr_at(&s, t, T, 0);
        assert_true(v < prev);
        prev = v;
    }
    /* past the end it stays at eta_min (does not swing back up) */
    assert_close(samc_lr_at(&s, T + 300, T, 0), 0.001, 0, TOL);
    /* T = 0: progress counts as complete */
    assert_close(samc_lr_at(&s, 0, 0, 0), 0.001, 0, TOL);
}

static void test_lr_linear(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_POLY);
    s.power = 1.0;
    const int64_t T = 200;
    assert_close(samc_lr_at(&s, 0, T, 0), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, T, T, 0), 0.001, 0, TOL);
    assert_close(samc_lr_at(&s, T / 4, T, 0), 0.001 + 0.75 * 0.099, 0, TOL);
    assert_close(samc_lr_at(&s, T / 2, T, 0), 0.001 + 0.5 * 0.099, 0, TOL);
    /* equal decrements per step */
    double d0 = samc_lr_at(&s, 0, T, 0) - samc_lr_at(&s, 1, T, 0);
    for (int64_t t = 1; t < T; t++)
        assert_close(samc_lr_at(&s, t, T, 0) - samc_lr_at(&s, t + 1, T, 0), d0, 1e-9, 1e-15);
    assert_close(d0, 0.099 / T, 1e-9, 0);
}

static void test_lr_poly(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_POLY);
    s.power = 2.0;
    const int64_t T = 100;
    assert_close(samc_lr_at(&s, 0, T, 0), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, T, T, 0), 0.001, 0, TOL);
    assert_close(samc_lr_at(&s, T / 2, T, 0), 0.001 + 0.25 * 0.099, 0, TOL);
    assert_close(samc_lr_at(&s, 90, T, 0), 0.001 + 0.01 * 0.099, 0, TOL);
    s.power = 0.5;
    assert_close(samc_lr_at(&s, 75, T, 0), 0.001 + 0.5 * 0.099, 0, TOL);
    /* progress is clamped: t > T stays at eta_min, no NaN from a negative base */
    assert_close(samc_lr_at(&s, 2 * T, T, 0), 0.001, 0, TOL);
}

static void test_lr_step(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_STEP);
    s.gamma = 0.1;
    s.every = 30;
    const int64_t T = 100000; /* the step count does not matter */
    assert_close(samc_lr_at(&s, 0, T, 0), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, 500, T, 29), 0.1, 0, TOL);   /* E - 1 */
    assert_close(samc_lr_at(&s, 500, T, 30), 0.01, 0, TOL);  /* E */
    assert_close(samc_lr_at(&s, 500, T, 59), 0.01, 0, TOL);  /* 2E - 1 */
    assert_close(samc_lr_at(&s, 500, T, 60), 0.001, 0, TOL); /* 2E */
    assert_close(samc_lr_at(&s, 500, T, 90), 1e-4, 0, TOL);
    /* increasing step ([IB] family: eta_0 gamma^m with gamma > 1) */
    s.gamma = 2.0;
    assert_close(samc_lr_at(&s, 0, T, 65), 0.4, 0, TOL);
    /* every <= 0: a single stage, no division by zero */
    s.every = 0;
    assert_close(samc_lr_at(&s, 0, T, 65), 0.1, 0, TOL);
}

static void test_lr_warmup(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_COSINE);
    s.warmup = 10;
    s.eta_init = 0.01;
    const int64_t T = 110; /* the cosine then runs over 100 steps */
    assert_close(samc_lr_at(&s, 0, T, 0), 0.01, 0, TOL);
    assert_close(samc_lr_at(&s, 5, T, 0), 0.01 + 0.5 * 0.09, 0, TOL);
    /* the warm-up is linear: equal increments, each 0.09 / 10 */
    for (int64_t t = 0; t < 9; t++)
        assert_close(samc_lr_at(&s, t + 1, T, 0) - samc_lr_at(&s, t, T, 0), 0.009, 1e-9, 0);
    /* below eta_max one step before the end, eta_max at the end */
    assert_true(samc_lr_at(&s, 9, T, 0) < 0.1);
    assert_close(samc_lr_at(&s, 9, T, 0), 0.01 + 0.9 * 0.09, 0, TOL);
    assert_close(samc_lr_at(&s, 10, T, 0), 0.1, 0, TOL);
    /* the base schedule runs over t - warmup of T - warmup */
    assert_close(samc_lr_at(&s, 60, T, 0), (0.1 + 0.001) / 2, 0, TOL);
    assert_close(samc_lr_at(&s, T, T, 0), 0.001, 0, TOL);

    /* warm-up in front of a constant and a step schedule */
    s.kind = SAMC_LR_CONST;
    assert_close(samc_lr_at(&s, 0, T, 0), 0.01, 0, TOL);
    assert_close(samc_lr_at(&s, 10, T, 0), 0.1, 0, TOL);
    assert_close(samc_lr_at(&s, T, T, 0), 0.1, 0, TOL);
    s.kind = SAMC_LR_STEP;
    assert_close(samc_lr_at(&s, 3, T, 0), 0.01 + 0.3 * 0.09, 0, TOL);
    assert_close(samc_lr_at(&s, 50, T, 30), 0.01, 0, TOL);

    /* T <= warmup: after the warm-up the base schedule is already at its end */
    s.kind = SAMC_LR_COSINE;
    assert_close(samc_lr_at(&s, 5, 10, 0), 0.055, 0, TOL);
    assert_close(samc_lr_at(&s, 10, 10, 0), 0.001, 0, TOL);
    assert_close(samc_lr_at(&s, 12, 8, 0), 0.001, 0, TOL);
}

/* ---------------------------------------------------------------------- rho */

static void test_rho(void **state)
{
    (void)state;
    samc_lr_schedule lr = lr_base(SAMC_LR_COSINE);
    samc_rho_schedule r = {SAMC_RHO_CONST, 0.05, 0.01};
    assert_close(samc_rho_at(&r, &lr, 0.1), 0.05, 0, TOL);
    assert_close(samc_rho_at(&r, &lr, 0.001), 0.05, 0, TOL);

    r.kind = SAMC_RHO_PROP;
    assert_close(samc_rho_at(&r, &lr, 0.1), 0.05, 0, TOL);   /* eta_max -> rho_max */
    assert_close(samc_rho_at(&r, &lr, 0.001), 0.01, 0, TOL); /* eta_min -> rho_min */
    assert_close(samc_rho_at(&r, &lr, 0.0505), 0.03, 0, TOL); /* halfway */
    assert_close(samc_rho_at(&r, &lr, 0.001 + 0.25 * 0.099), 0.02, 0, TOL);
    /* following the cosine schedule: midpoint of T gives the midpoint rho */
    double eta = samc_lr_at(&lr, 500, 1000, 0);
    assert_close(samc_rho_at(&r, &lr, eta), 0.03, 0, TOL);
    /* an eta outside [eta_min, eta_max] (warm-up from below) stays in range */
    assert_close(samc_rho_at(&r, &lr, 0.0), 0.01, 0, TOL);
    assert_close(samc_rho_at(&r, &lr, 0.2), 0.05, 0, TOL);
    /* eta_max == eta_min: rho_max, no division by zero */
    lr.eta_min = lr.eta_max;
    assert_close(samc_rho_at(&r, &lr, 0.1), 0.05, 0, TOL);
}

/* --------------------------------------------------------------- batch size */

static void test_batch_ib_run(void **state)
{
    (void)state;
    samc_batch_schedule s = batch_base(SAMC_BATCH_EXP); /* b0 16, delta 2, E 40 */
    const size_t n = 50000;
    assert_int_equal(samc_batch_at(&s, 0, n), 16);
    assert_int_equal(samc_batch_at(&s, 40, n), 32);
    assert_int_equal(samc_batch_at(&s, 80, n), 64);
    assert_int_equal(samc_batch_at(&s, 120, n), 128);
    assert_int_equal(samc_batch_at(&s, 160, n), 256);
    assert_int_equal(samc_batch_at(&s, 39, n), 16);
    assert_int_equal(samc_batch_at(&s, 79, n), 32);
    assert_int_equal(samc_batch_at(&s, 199, n), 256);
    /* n = 0: no data-size limit */
    assert_int_equal(samc_batch_at(&s, 160, 0), 256);
}

static void test_batch_const(void **state)
{
    (void)state;
    samc_batch_schedule s = batch_base(SAMC_BATCH_CONST);
    assert_int_equal(samc_batch_at(&s, 0, 1000), 16);
    assert_int_equal(samc_batch_at(&s, 400, 1000), 16);
    assert_int_equal(samc_batch_at(&s, 400, 10), 10); /* capped at n */
    s.max = 8;
    assert_int_equal(samc_batch_at(&s, 0, 1000), 8); /* capped at max */
}

static void test_batch_caps(void **state)
{
    (void)state;
    samc_batch_schedule s = batch_base(SAMC_BATCH_EXP);
    s.max = 100;
    assert_int_equal(samc_batch_at(&s, 80, 50000), 64);
    assert_int_equal(samc_batch_at(&s, 120, 50000), 100);
    assert_int_equal(samc_batch_at(&s, 160, 50000), 100);
    /* n smaller than max: n wins */
    assert_int_equal(samc_batch_at(&s, 160, 70), 70);
    s.max = 0;
    assert_int_equal(samc_batch_at(&s, 160, 100), 100);
    assert_int_equal(samc_batch_at(&s, 80, 100), 64);
    /* many stages: no overflow, the cap holds */
    s.every = 1;
    assert_int_equal(samc_batch_at(&s, 5000, 1000), 1000);
    assert_int_equal(samc_batch_at(&s, INT_MAX, 1000), 1000);
    s.max = (size_t)1 << 20;
    assert_int_equal(samc_batch_at(&s, INT_MAX, 0), (size_t)1 << 20);
    s.max = 0;
    assert_true(samc_batch_at(&s, INT_MAX, 0) == SIZE_MAX);
    /* every <= 0: one stage */
    s.every = 0;
    assert_int_equal(samc_batch_at(&s, 1000, 50000), 16);
}

static void test_batch_full(void **state)
{
    (void)state;
    samc_batch_kind kinds[] = {SAMC_BATCH_CONST, SAMC_BATCH_EXP, SAMC_BATCH_POLY};
    for (size_t k = 0; k < 3; k++) {
        samc_batch_schedule s = batch_base(kinds[k]);
        s.b0 = 0;
        s.a = 3;
        s.c = 2;
        assert_int_equal(samc_batch_at(&s, 0, 123), 123);
        assert_int_equal(samc_batch_at(&s, 400, 123), 123);
        assert_int_equal(samc_batch_at(&s, 0, 0), 0);
        assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 123), 1);
        assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 0), 0);
    }
}

static void test_batch_poly(void **state)
{
    (void)state;
    samc_batch_schedule s = batch_base(SAMC_BATCH_POLY);
    s.b0 = 4;
    s.a = 2;
    s.c = 2;
    s.every = 10;
    assert_int_equal(samc_batch_at(&s, 0, 0), 16);   /* (0 + 4)^2 */
    assert_int_equal(samc_batch_at(&s, 9, 0), 16);
    assert_int_equal(samc_batch_at(&s, 10, 0), 36);  /* (2 + 4)^2 */
    assert_int_equal(samc_batch_at(&s, 25, 0), 64);  /* (4 + 4)^2 */
    assert_int_equal(samc_batch_at(&s, 30, 0), 100); /* (6 + 4)^2 */
    s.max = 50;
    assert_int_equal(samc_batch_at(&s, 25, 0), 50);
    assert_int_equal(samc_batch_at(&s, 25, 40), 40);
    /* non-integer powers round to the nearest integer */
    s.max = 0;
    s.b0 = 2;
    s.a = 1;
    s.c = 1.5;
    assert_int_equal(samc_batch_at(&s, 0, 0), 3);  /* 2^1.5 = 2.83 */
    assert_int_equal(samc_batch_at(&s, 10, 0), 5); /* 3^1.5 = 5.20 */
    assert_int_equal(samc_batch_at(&s, 20, 0), 8); /* 4^1.5 = 8 */
    assert_int_equal(samc_batch_at(&s, 30, 0), 11); /* 5^1.5 = 11.18 */
    /* never below 1 */
    s.b0 = 1;
    s.a = 0;
    s.c = 0.001;
    assert_int_equal(samc_batch_at(&s, 30, 0), 1);
}

static void test_batch_never_zero(void **state)
{
    (void)state;
    samc_batch_schedule s = batch_base(SAMC_BATCH_EXP);
    s.b0 = 4;
    s.delta = 0.5; /* shrinking (not accepted by the parser, but harmless) */
    s.every = 1;
    assert_int_equal(samc_batch_at(&s, 1, 100), 2);
    assert_int_equal(samc_batch_at(&s, 10, 100), 1);
}

static void test_steps_in_epoch(void **state)
{
    (void)state;
    samc_batch_schedule s = batch_base(SAMC_BATCH_EXP);
    assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 100), 7);  /* ceil(100/16) */
    assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 96), 6);   /* exact */
    assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 97), 7);
    assert_int_equal(samc_batch_steps_in_epoch(&s, 40, 100), 4); /* ceil(100/32) */
    assert_int_equal(samc_batch_steps_in_epoch(&s, 160, 100), 1); /* batch = n */
    assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 5), 1);
    assert_int_equal(samc_batch_steps_in_epoch(&s, 0, 0), 0);
    assert_int_equal(samc_batch_steps_in_epoch(&s, 160, 50000), 196); /* ceil(50000/256) */
}

/* ------------------------------------------------------------------ parsing */

static void test_parse_lr(void **state)
{
    (void)state;
    samc_errbuf err;
    samc_lr_schedule s = lr_base(SAMC_LR_CONST);
    s.eta_max = 0.3;
    s.warmup = 7;
    s.eta_init = 0.02;
    s.eta_min = 0.5;

    assert_int_equal(samc_lr_schedule_parse(&s, "cosine", err), SAMC_OK);
    assert_int_equal(s.kind, SAMC_LR_COSINE);
    assert_true(s.eta_min == 0.0); /* default */
    assert_int_equal(samc_lr_schedule_parse(&s, "cosine:0.001", err), SAMC_OK);
    assert_true(s.eta_min == 0.001);
    assert_int_equal(samc_lr_schedule_parse(&s, "linear", err), SAMC_OK);
    assert_int_equal(s.kind, SAMC_LR_POLY);
    assert_true(s.power == 1.0 && s.eta_min == 0.0);
    assert_int_equal(samc_lr_schedule_parse(&s, "linear:1e-4", err), SAMC_OK);
    assert_true(s.power == 1.0 && s.eta_min == 1e-4);
    assert_int_equal(samc_lr_schedule_parse(&s, "poly:2.5", err), SAMC_OK);
    assert_int_equal(s.kind, SAMC_LR_POLY);
    assert_true(s.power == 2.5 && s.eta_min == 0.0);
    assert_int_equal(samc_lr_schedule_parse(&s, "poly:0.9:0.002", err), SAMC_OK);
    assert_true(s.power == 0.9 && s.eta_min == 0.002);
    assert_int_equal(samc_lr_schedule_parse(&s, "step:0.1@30", err), SAMC_OK);
    assert_int_equal(s.kind, SAMC_LR_STEP);
    assert_true(s.gamma == 0.1);
    assert_int_equal(s.every, 30);
    assert_int_equal(samc_lr_schedule_parse(&s, "const", NULL), SAMC_OK);
    assert_int_equal(s.kind, SAMC_LR_CONST);
    /* never touched */
    assert_true(s.eta_max == 0.3);
    assert_int_equal(s.warmup, 7);
    assert_true(s.eta_init == 0.02);
}

static void test_parse_rho_batch(void **state)
{
    (void)state;
    samc_errbuf err;
    samc_rho_schedule r = {SAMC_RHO_CONST, 0.05, 0.0};
    assert_int_equal(samc_rho_schedule_parse(&r, "prop:0.02", err), SAMC_OK);
    assert_int_equal(r.kind, SAMC_RHO_PROP);
    assert_true(r.rho_min == 0.02 && r.rho_max == 0.05);
    assert_int_equal(samc_rho_schedule_parse(&r, "prop:0", err), SAMC_OK);
    assert_true(r.rho_min == 0.0);
    assert_int_equal(samc_rho_schedule_parse(&r, "const", err), SAMC_OK);
    assert_int_equal(r.kind, SAMC_RHO_CONST);
    assert_true(r.rho_max == 0.05);

    samc_batch_schedule b = batch_base(SAMC_BATCH_CONST);
    b.b0 = 64;
    assert_int_equal(samc_batch_schedule_parse(&b, "exp:2@40", err), SAMC_OK);
    assert_int_equal(b.kind, SAMC_BATCH_EXP);
    assert_true(b.delta == 2.0);
    assert_int_equal(b.every, 40);
    assert_int_equal(b.max, 0);
    assert_int_equal(samc_batch_schedule_parse(&b, "exp:1.5@3,max=512", err), SAMC_OK);
    assert_true(b.delta == 1.5);
    assert_int_equal(b.every, 3);
    assert_int_equal(b.max, 512);
    assert_int_equal(samc_batch_schedule_parse(&b, "poly:4,2@10", err), SAMC_OK);
    assert_int_equal(b.kind, SAMC_BATCH_POLY);
    assert_true(b.a == 4.0 && b.c == 2.0);
    assert_int_equal(b.every, 10);
    assert_int_equal(b.max, 0); /* reset: the spec has none */
    assert_int_equal(samc_batch_schedule_parse(&b, "poly:0.5,1.5@7,max=100", err), SAMC_OK);
    assert_true(b.a == 0.5 && b.c == 1.5);
    assert_int_equal(b.every, 7);
    assert_int_equal(b.max, 100);
    assert_int_equal(samc_batch_schedule_parse(&b, "const", err), SAMC_OK);
    assert_int_equal(b.kind, SAMC_BATCH_CONST);
    assert_int_equal(b.b0, 64); /* never touched */
    /* the parsed [IB] schedule gives the [IB] batch sizes */
    b.b0 = 16;
    assert_int_equal(samc_batch_schedule_parse(&b, "exp:2@40", err), SAMC_OK);
    assert_int_equal(samc_batch_at(&b, 120, 50000), 128);
}

static void test_roundtrip_strings(void **state)
{
    (void)state;
    /* canonical specs: parse then format gives the same text */
    static const char *const lr[] = {"const", "cosine", "cosine:0.001", "linear",
                                     "linear:1e-05", "poly:2", "poly:0.9:0.002",
                                     "step:0.1@30", "step:2@1"};
    static const char *const rho[] = {"const", "prop:0.01", "prop:0"};
    static const char *const batch[] = {"const", "exp:2@40", "exp:1.5@3,max=512",
                                        "poly:4,2@10", "poly:0.5,1.5@7,max=100"};
    samc_errbuf err;
    char buf[128];
    for (size_t i = 0; i < sizeof lr / sizeof *lr; i++) {
        samc_lr_schedule s = lr_base(SAMC_LR_CONST);
        assert_int_equal(samc_lr_schedule_parse(&s, lr[i], err), SAMC_OK);
        samc_lr_schedule_format(&s, buf, sizeof buf);
        assert_string_equal(buf, lr[i]);
    }
    for (size_t i = 0; i < sizeof rho / sizeof *rho; i++) {
        samc_rho_schedule s = {SAMC_RHO_CONST, 0.05, 0.0};
        assert_int_equal(samc_rho_schedule_parse(&s, rho[i], err), SAMC_OK);
        samc_rho_schedule_format(&s, buf, sizeof buf);
        assert_string_equal(buf, rho[i]);
    }
    for (size_t i = 0; i < sizeof batch / sizeof *batch; i++) {
        samc_batch_schedule s = batch_base(SAMC_BATCH_CONST);
        assert_int_equal(samc_batch_schedule_parse(&s, batch[i], err), SAMC_OK);
        samc_batch_schedule_format(&s, buf, sizeof buf);
        assert_string_equal(buf, batch[i]);
    }
}

static void assert_lr_equal(const samc_lr_schedule *a, const samc_lr_schedule *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_true(a->eta_max == b->eta_max);
    assert_true(a->eta_min == b->eta_min);
    assert_true(a->power == b->power);
    assert_true(a->gamma == b->gamma);
    assert_int_equal(a->every, b->every);
    assert_int_equal(a->warmup, b->warmup);
    assert_true(a->eta_init == b->eta_init);
}

static void test_roundtrip_structs(void **state)
{
    (void)state;
    samc_errbuf err;
    char buf[128];

    /* struct -> format -> parse into a fresh struct (same eta_max etc.) */
    samc_lr_schedule lrs[5];
    for (int i = 0; i < 5; i++) {
        memset(&lrs[i], 0, sizeof lrs[i]);
        lrs[i].eta_max = 0.05;
        lrs[i].warmup = 100;
        lrs[i].eta_init = 1e-4;
        lrs[i].power = 1.0;
        lrs[i].gamma = 1.0;
    }
    lrs[1].kind = SAMC_LR_COSINE;
    lrs[1].eta_min = 1.23456789e-5;
    lrs[2].kind = SAMC_LR_POLY;
    lrs[2].power = 3.25;
    lrs[2].eta_min = 0.0007;
    lrs[3].kind = SAMC_LR_POLY; /* linear */
    lrs[3].eta_min = 0.002;
    lrs[4].kind = SAMC_LR_STEP;
    lrs[4].gamma = 0.316227766;
    lrs[4].every = 25;
    for (int i = 0; i < 5; i++) {
        samc_lr_schedule_format(&lrs[i], buf, sizeof buf);
        samc_lr_schedule t;
        memset(&t, 0, sizeof t);
        t.eta_max = 0.05;
        t.warmup = 100;
        t.eta_init = 1e-4;
        t.eta_min = 9.0; /* overwritten */
        t.every = 99;
        assert_int_equal(samc_lr_schedule_parse(&t, buf, err), SAMC_OK);
        assert_lr_equal(&t, &lrs[i]);
    }

    samc_rho_schedule r = {SAMC_RHO_PROP, 0.1, 0.0123}, r2 = {SAMC_RHO_CONST, 0.1, 5.0};
    samc_rho_schedule_format(&r, buf, sizeof buf);
    assert_int_equal(samc_rho_schedule_parse(&r2, buf, err), SAMC_OK);
    assert_int_equal(r2.kind, SAMC_RHO_PROP);
    assert_true(r2.rho_min == r.rho_min && r2.rho_max == r.rho_max);

    samc_batch_schedule bs[3] = {batch_base(SAMC_BATCH_CONST), batch_base(SAMC_BATCH_EXP),
                                 batch_base(SAMC_BATCH_POLY)};
    bs[0].delta = 1.0;
    bs[0].every = 0;
    bs[1].delta = 1.41421356;
    bs[1].every = 12;
    bs[1].max = 4096;
    bs[2].a = 8;
    bs[2].c = 1.25;
    bs[2].every = 5;
    bs[2].delta = 1.0;
    for (int i = 0; i < 3; i++) {
        samc_batch_schedule_format(&bs[i], buf, sizeof buf);
        samc_batch_schedule t = batch_base(SAMC_BATCH_CONST);
        t.max = 77;
        assert_int_equal(samc_batch_schedule_parse(&t, buf, err), SAMC_OK);
        assert_int_equal(t.kind, bs[i].kind);
        assert_int_equal(t.b0, bs[i].b0);
        assert_int_equal(t.every, bs[i].every);
        assert_int_equal(t.max, bs[i].max);
        if (bs[i].kind == SAMC_BATCH_EXP)
            assert_true(t.delta == bs[i].delta);
        if (bs[i].kind == SAMC_BATCH_POLY)
            assert_true(t.a == bs[i].a && t.c == bs[i].c);
        /* and the schedules agree */
        for (int e = 0; e < 100; e += 3)
            assert_int_equal(samc_batch_at(&t, e, 100000), samc_batch_at(&bs[i], e, 100000));
    }
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    samc_lr_schedule s = lr_base(SAMC_LR_STEP);
    char buf[6];
    memset(buf, 'x', sizeof buf);
    samc_lr_schedule_format(&s, buf, sizeof buf);
    assert_int_equal(buf[5], '\0');
    assert_memory_equal(buf, "step:", 5);
    samc_lr_schedule_format(&s, buf, 0); /* no write, no crash */
    samc_lr_schedule_format(&s, NULL, 0);
}

/* Each bad spec: SAMC_EINVAL, a one-line message quoting the spec, struct
 * unchanged, and err = NULL accepted. */
static void check_message(const char *err, const char *spec)
{
    char quoted[256];
    snprintf(quoted, sizeof quoted, "\"%s\"", spec);
    if (strstr(err, quoted) == NULL)
        fail_msg("message for %s does not quote it: %s", quoted, err);
    if (strchr(err, '\n') != NULL)
        fail_msg("message for %s has a newline: %s", quoted, err);
    if (strstr(err, "expected") == NULL)
        fail_msg("message for %s does not say what is expected: %s", quoted, err);
}

static void test_bad_lr(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "Const", "const ", " const", "const:1", "cos", "cosinex", "cosine:",
        "cosine:x", "cosine:-0.1", "cosine:0.1x", "cosine:nan", "cosine:inf",
        "cosine: 0.1", "cosine:0.1:", "linear:", "linear:-1", "linear:1:2",
        "poly", "poly:", "poly:0", "poly:-1", "poly:x", "poly:2:", "poly:2:-1",
        "poly:2:0.1:3", "poly:inf", "step", "step:", "step:0.1", "step:0.1@",
        "step:0.1@0", "step:0@30", "step:-0.1@30", "step:0.1@-3", "step:0.1@30x",
        "step:0.1@3.5", "step:@30", "step:0.1@+3", "step:0.1@99999999999",
        "step:0.1@30:0.1", "exp:2@40", "prop:0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        samc_lr_schedule s = lr_base(SAMC_LR_COSINE), keep;
        memcpy(&keep, &s, sizeof s);
        samc_errbuf err = "";
        if (samc_lr_schedule_parse(&s, bad[i], err) != SAMC_EINVAL)
            fail_msg("lr spec \"%s\" accepted", bad[i]);
        check_message(err, bad[i]);
        assert_memory_equal(&s, &keep, sizeof s);
        assert_int_equal(samc_lr_schedule_parse(&s, bad[i], NULL), SAMC_EINVAL);
        assert_memory_equal(&s, &keep, sizeof s);
    }
}

static void test_bad_rho(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "prop", "prop:", "prop:-0.1", "prop:x",
                                      "prop:0.1 ", "prop:0.1:0.2", "const:0", "propx",
                                      "prop:inf", "prop:nan", "cosine", "CONST"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        samc_rho_schedule s = {SAMC_RHO_CONST, 0.05, 0.003}, keep;
        memcpy(&keep, &s, sizeof s);
        samc_errbuf err = "";
        if (samc_rho_schedule_parse(&s, bad[i], err) != SAMC_EINVAL)
            fail_msg("rho spec \"%s\" accepted", bad[i]);
        check_message(err, bad[i]);
        assert_memory_equal(&s, &keep, sizeof s);
        assert_int_equal(samc_rho_schedule_parse(&s, bad[i], NULL), SAMC_EINVAL);
        assert_memory_equal(&s, &keep, sizeof s);
    }
}

static void test_bad_batch(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "full", "exp", "exp:", "exp:2", "exp:2@", "exp:0.5@40", "exp:0@40",
        "exp:-2@40", "exp:2@0", "exp:2@-40", "exp:2@40,", "exp:2@40,max=",
        "exp:2@40,max=0", "exp:2@40,max=-5", "exp:2@40,max=12x", "exp:2@40,max=1.5",
        "exp:2@40,min=5", "exp:2@40max=5", "exp:nan@40", "exp:inf@40", "exp:2@40 ",
        "exp:2@40,max=99999999999999999999999", "poly", "poly:1@10", "poly:1,0@10",
        "poly:1,-1@10", "poly:-1,2@10", "poly:1,2", "poly:1,2@", "poly:1,2@0",
        "poly:1;2@10", "poly:,2@10", "poly:1,@10", "poly:1,2@10,max=1.5",
        "poly:1,2@10,max=64,max=128", "const,max=5", "const:1", "expo:2@40"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        samc_batch_schedule s = batch_base(SAMC_BATCH_EXP), keep;
        s.max = 300;
        memcpy(&keep, &s, sizeof s);
        samc_errbuf err = "";
        if (samc_batch_schedule_parse(&s, bad[i], err) != SAMC_EINVAL)
            fail_msg("batch spec \"%s\" accepted", bad[i]);
        check_message(err, bad[i]);
        assert_memory_equal(&s, &keep, sizeof s);
        assert_int_equal(samc_batch_schedule_parse(&s, bad[i], NULL), SAMC_EINVAL);
        assert_memory_equal(&s, &keep, sizeof s);
    }
}

static void test_bad_messages(void **state)
{
    (void)state;
    samc_errbuf err;
    samc_lr_schedule s = lr_base(SAMC_LR_CONST);
    /* the message names what is wrong */
    assert_int_equal(samc_lr_schedule_parse(&s, "cosine:-0.5", err), SAMC_EINVAL);
    assert_non_null(strstr(err, "ETA_MIN"));
    assert_int_equal(samc_lr_schedule_parse(&s, "step:0.1@0", err), SAMC_EINVAL);
    assert_non_null(strstr(err, "epochs"));
    samc_batch_schedule b = batch_base(SAMC_BATCH_CONST);
    assert_int_equal(samc_batch_schedule_parse(&b, "exp:0.5@40", err), SAMC_EINVAL);
    assert_non_null(strstr(err, "DELTA"));
    /* a control character in the spec does not break the one-line message */
    assert_int_equal(samc_lr_schedule_parse(&s, "cos\nine", err), SAMC_EINVAL);
    assert_null(strchr(err, '\n'));
    assert_non_null(strstr(err, "\"cos?ine\""));
    /* a very long spec is cut, the message stays within SAMC_ERRLEN */
    char longspec[2000];
    memset(longspec, 'z', sizeof longspec - 1);
    longspec[sizeof longspec - 1] = '\0';
    assert_int_equal(samc_lr_schedule_parse(&s, longspec, err), SAMC_EINVAL);
    assert_true(strlen(err) < SAMC_ERRLEN);
    assert_non_null(strstr(err, "..."));
    /* NULL spec */
    assert_int_equal(samc_lr_schedule_parse(&s, NULL, err), SAMC_EINVAL);
    assert_true(strlen(err) > 0);
    assert_int_equal(samc_rho_schedule_parse(NULL, "const", err), SAMC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lr_const),
        cmocka_unit_test(test_lr_cosine),
        cmocka_unit_test(test_lr_linear),
        cmocka_unit_test(test_lr_poly),
        cmocka_unit_test(test_lr_step),
        cmocka_unit_test(test_lr_warmup),
        cmocka_unit_test(test_rho),
        cmocka_unit_test(test_batch_ib_run),
        cmocka_unit_test(test_batch_const),
        cmocka_unit_test(test_batch_caps),
        cmocka_unit_test(test_batch_full),
        cmocka_unit_test(test_batch_poly),
        cmocka_unit_test(test_batch_never_zero),
        cmocka_unit_test(test_steps_in_epoch),
        cmocka_unit_test(test_parse_lr),
        cmocka_unit_test(test_parse_rho_batch),
        cmocka_unit_test(test_roundtrip_strings),
        cmocka_unit_test(test_roundtrip_structs),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_bad_lr),
        cmocka_unit_test(test_bad_rho),
        cmocka_unit_test(test_bad_batch),
        cmocka_unit_test(test_bad_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
