/*
 * test_config.c -- the library's flag table (samc_config_*): every value
 * shown reads back to itself, values land in the fields they name, switches
 * and errors, config.txt written and read back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* a and b show the same value for every train flag. */
static void assert_same_values(const samc_config *a, const samc_config *b)
{
    const samc_flag *f;
    for (size_t i = 0; (f = samc_config_flag(i)); i++) {
        if (!(f->cmds & SAMC_CMD_TRAIN)) continue;
        char va[1200], vb[1200];
        samc_config_get(a, f, va, sizeof va);
        samc_config_get(b, f, vb, sizeof vb);
        assert_string_equal(va, vb);
    }
}

/* Every flag's shown value, set again on a fresh config, shows the same. */
static void test_values_read_back(void **state)
{
    (void)state;
    samc_config a, b;
    samc_config_defaults(&a);
    samc_errbuf err;
    const char *set[][2] = { { "lr", "decsps:2" }, { "batch", "full" }, { "metric", "worst-linf,avg" },
                             { "checkpoint-every", "90s" }, { "lr-schedule", "cosine:0.001" },
                             { "polyak-cap", "inf" }, { "no-bias", "on" }, { "data-dir", "/d" } };
    for (size_t i = 0; i < sizeof set / sizeof *set; i++)
        assert_int_equal(samc_config_set_by_name(&a, SAMC_CMD_TRAIN, set[i][0], set[i][1], err), SAMC_OK);
    samc_config_defaults(&b);
    const samc_flag *f;
    int n = 0;
    for (size_t i = 0; (f = samc_config_flag(i)); i++) {
        if (!(f->cmds & SAMC_CMD_TRAIN) || !strcmp(f->name, "resume") || !strcmp(f->name, "config")) continue;
        char va[1200], vb[1200];
        samc_config_get(&a, f, va, sizeof va);
        assert_int_equal(samc_config_set(&b, f, va, err), SAMC_OK);
        samc_config_get(&b, f, vb, sizeof vb);
        assert_string_equal(va, vb);
        n++;
    }
    assert_true(n > 40);
    assert_same_values(&a, &b);
    assert_true(b.p.optim.rule == SAMC_STEP_DECSPS && b.p.optim.polyak_c == 2.0 && b.p.batch.b0 == 0);
    assert_true(b.p.ckpt_every_s == 90 && isinf(b.p.optim.polyak_cap) && b.p.bias == 0);
    assert_string_equal(b.data_dir, "/d");
}

static void test_fields(void **state)
{
    (void)state;
    samc_config c;
    samc_config_defaults(&c);
    samc_errbuf err;
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "lr", "0.25", err), SAMC_OK);
    assert_int_equal(c.p.optim.rule, SAMC_STEP_SCHEDULED);
    assert_true(c.p.lr.eta_max == 0.25);
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "rho", "0.125", err), SAMC_OK);
    assert_true(c.p.rho.rho_max == 0.125);
    /* the same name on the other command: the sharpness ball */
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_SHARPNESS, "rho", "0.5", err), SAMC_OK);
    assert_true(c.p.measure.sharp.rho == 0.5 && c.p.rho.rho_max == 0.125);
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "no-bias", NULL, err), SAMC_OK);
    assert_int_equal(c.p.bias, 0);
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "no-bias", "off", err), SAMC_OK);
    assert_int_equal(c.p.bias, 1);
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "steps", "-1", err), SAMC_EINVAL);
    assert_string_equal(err, "--steps: expected an integer >= 0, got '-1'");
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "normalize", "maybe", err), SAMC_EINVAL);
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "format", "csv", err), SAMC_EINVAL);
    assert_string_equal(err, "unknown flag 'format'");
    assert_int_equal(samc_config_set_by_name(&c, SAMC_CMD_TRAIN, "lr", NULL, err), SAMC_EINVAL);
}

static void test_config_txt_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/samc_config_XXXXXX";
    assert_non_null(mkdtemp(dir));
    samc_config a, b;
    samc_config_defaults(&a);
    samc_errbuf err;
    assert_int_equal(samc_config_set_by_name(&a, SAMC_CMD_TRAIN, "out", dir, err), SAMC_OK);
    assert_int_equal(samc_config_set_by_name(&a, SAMC_CMD_TRAIN, "opt", "gsam", err), SAMC_OK);
    assert_int_equal(samc_config_set_by_name(&a, SAMC_CMD_TRAIN, "batch-schedule", "exp:2@1,max=64", err), SAMC_OK);
    assert_int_equal(samc_config_write(&a, err), SAMC_OK);
    char path[200];
    snprintf(path, sizeof path, "%s/config.txt", dir);
    samc_config_defaults(&b);
    assert_int_equal(samc_config_read(&b, SAMC_CMD_TRAIN, path, NULL, err), SAMC_OK);
    assert_same_values(&a, &b);
    assert_true(b.p.optim.kind == SAMC_OPT_GSAM && b.p.batch.kind == SAMC_BATCH_EXP && b.p.batch.max == 64);
    assert_string_equal(b.out, dir);
    /* an unknown key names the file and line */
    FILE *f = fopen(path, "a");
    fputs("bogus = 1\n", f);
    fclose(f);
    assert_int_equal(samc_config_read(&b, SAMC_CMD_TRAIN, path, NULL, err), SAMC_EINVAL);
    assert_non_null(strstr(err, "config.txt:"));
    assert_non_null(strstr(err, ": unknown key 'bogus'"));
    remove(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_read_back),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_config_txt_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
