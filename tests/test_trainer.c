/*
 * test_trainer.c -- the trainer's layers driven step by step, as a program
 * or a binding would: callbacks and positions, a driver that never ends an
 * epoch, and save / resume in the middle of an epoch, each against the
 * whole loop (samc_train_run) on the same seed.
 */
#include <unistd.h>

#include "testutil.h"

static char root[] = "/tmp/samc_trainer_XXXXXX";

typedef struct counts {
    int steps, epochs, ckpts;
    int64_t last_step;
    double last_epoch;
} counts;

static void on_step(void *u, const samc_train_progress *s)
{
    counts *c = u;
    c->steps++;
    assert_int_equal(s->step, c->last_step + 1);   /* one call per step, in order */
    assert_non_null(s->info);
    c->last_step = s->step;
}

static void on_epoch(void *u, const samc_train_epoch *e)
{
    counts *c = u;
    c->epochs++;
    c->last_epoch = e->epoch;
    assert_true(isfinite(e->train_loss));
}

static void on_checkpoint(void *u, const char *path, int64_t step)
{
    counts *c = u;
    (void)step;
    assert_int_equal(access(path, F_OK), 0);   /* called once the file is there */
    c->ckpts++;
}

typedef struct run {
    samc_data data;
    samc_model *m;
    samc_train_params p;
    float *x;
    char dir[300];
} run;

static void run_init(run *r, const char *name)
{
    samc_errbuf err;
    assert_int_equal(samc_data_load(&r->data, "synth:ridge,n=40,d=5,kappa=10,seed=1", err), SAMC_OK);
    assert_int_equal(samc_model_create(&r->m, "linear", 5, 0, 0.0, 1, err), SAMC_OK);
    r->p = samc_train_default_params();
    r->p.batch.b0 = 8;      /* 5 steps an epoch */
    r->p.epochs = 3;
    r->p.optim.momentum = 0.5;
    r->p.ckpt_every_s = 0;
    r->p.threads = 1;
    r->x = malloc(samc_model_n_params(r->m) * sizeof(float));
    snprintf(r->dir, sizeof r->dir, "%s/%s", root, name);
}

static void run_free(run *r)
{
    free(r->x);
    samc_model_free(r->m);
    samc_data_free(&r->data);
}

static char *slurp(const char *dir, const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4][1 << 16];
    static int k;
    char *b = buf[k++ % 4];
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* The whole loop, for reference. */
static void reference(run *ref)
{
    samc_errbuf err;
    run_init(ref, "ref");
    assert_int_equal(samc_train_run(&ref->p, &ref->data, ref->m, ref->dir, ref->x, 0, NULL, err), SAMC_OK);
}

static void test_callbacks_and_positions(void **state)
{
    (void)state;
    run r, ref;
    reference(&ref);
    run_init(&r, "layers");
    counts c = { 0 };
    samc_train_callbacks cb = { on_step, on_epoch, on_checkpoint, NULL, &c };
    samc_trainer *t;
    samc_errbuf err;
    assert_int_equal(samc_trainer_init(&t, &r.p, &r.data, r.m, r.dir, r.x, 0, &cb, err), SAMC_OK);
    assert_int_equal(samc_trainer_total(t), 15);
    assert_int_equal(samc_trainer_end_epoch(t, err), SAMC_EINVAL);   /* no epoch is over yet */
    while (!samc_trainer_done(t)) {
        assert_int_equal(samc_trainer_step(t, err), SAMC_OK);
        assert_int_equal(samc_trainer_epoch_over(t), samc_trainer_position(t) % 5 == 0);
        if (samc_trainer_epoch_over(t)) assert_int_equal(samc_trainer_end_epoch(t, err), SAMC_OK);
    }
    assert_int_equal(samc_trainer_step(t, err), SAMC_EINVAL);   /* the run is over */
    assert_int_equal(samc_trainer_finish(t, err), SAMC_OK);
    samc_trainer_free(t);
    assert_int_equal(c.steps, 15);
    assert_int_equal(c.epochs, 3);
    assert_true(c.last_epoch == 3.0);
    assert_int_equal(c.ckpts, 3 + 2);   /* each epoch end, then last.ckpt and final.ckpt */
    assert_string_equal(slurp(r.dir, "steps.csv"), slurp(ref.dir, "steps.csv"));
    assert_memory_equal(r.x, ref.x, samc_model_n_params(r.m) * sizeof(float));
    run_free(&r);
    run_free(&ref);
}

/* Steps alone: the same steps (epochs follow on by themselves), no metrics rows. */
static void test_steps_only(void **state)
{
    (void)state;
    run r, ref;
    reference(&ref);
    run_init(&r, "steps_only");
    samc_trainer *t;
    samc_errbuf err;
    assert_int_equal(samc_trainer_init(&t, &r.p, &r.data, r.m, r.dir, r.x, 0, NULL, err), SAMC_OK);
    while (!samc_trainer_done(t)) assert_int_equal(samc_trainer_step(t, err), SAMC_OK);
    assert_int_equal(samc_trainer_finish(t, err), SAMC_OK);
    samc_trainer_free(t);
    assert_string_equal(slurp(r.dir, "steps.csv"), slurp(ref.dir, "steps.csv"));
    const char *m = slurp(r.dir, "metrics.csv");
    assert_string_equal(strchr(m, '\n') + 1, "");   /* the header alone */
    assert_memory_equal(r.x, ref.x, samc_model_n_params(r.m) * sizeof(float));
    run_free(&r);
    run_free(&ref);
}

/* samc_trainer_save in the middle of epoch 1, a new trainer resumes there. */
static void test_save_and_resume(void **state)
{
    (void)state;
    run r, ref;
    reference(&ref);
    run_init(&r, "resumed");
    samc_trainer *t;
    samc_errbuf err;
    assert_int_equal(samc_trainer_init(&t, &r.p, &r.data, r.m, r.dir, r.x, 0, NULL, err), SAMC_OK);
    while (samc_trainer_position(t) < 7) {
        assert_int_equal(samc_trainer_step(t, err), SAMC_OK);
        if (samc_trainer_epoch_over(t)) assert_int_equal(samc_trainer_end_epoch(t, err), SAMC_OK);
    }
    assert_int_equal(samc_trainer_save(t, "last.ckpt", err), SAMC_OK);
    samc_trainer_free(t);   /* as if the process had ended here */
    memset(r.x, 0, samc_model_n_params(r.m) * sizeof(float));
    assert_int_equal(samc_trainer_init(&t, &r.p, &r.data, r.m, r.dir, r.x, 1, NULL, err), SAMC_OK);
    assert_int_equal(samc_trainer_position(t), 7);
    while (!samc_trainer_done(t)) {
        assert_int_equal(samc_trainer_step(t, err), SAMC_OK);
        if (samc_trainer_epoch_over(t)) assert_int_equal(samc_trainer_end_epoch(t, err), SAMC_OK);
    }
    assert_int_equal(samc_trainer_finish(t, err), SAMC_OK);
    samc_trainer_free(t);
    assert_string_equal(slurp(r.dir, "steps.csv"), slurp(ref.dir, "steps.csv"));
    assert_memory_equal(r.x, ref.x, samc_model_n_params(r.m) * sizeof(float));
    run_free(&r);
    run_free(&ref);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callbacks_and_positions),
        cmocka_unit_test(test_steps_only),
        cmocka_unit_test(test_save_and_resume),
    };
    return cmocka_run_group_tests_name("trainer", tests, setup, teardown);
}
