/*
 * test_ckpt.c -- checkpoint files: exact round trip, and every kind of damage
 * refused with a message that says which.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char dir[] = "/tmp/samc_ckpt_XXXXXX";

static void path_of(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static void write_one(const char *path, size_t np, size_t nb)
{
    float *p = malloc(np * sizeof *p), *b = nb ? malloc(nb * sizeof *b) : NULL;
    for (size_t i = 0; i < np; i++) p[i] = (float)i * 0.5f - 3.0f;
    for (size_t i = 0; i < nb; i++) b[i] = 1.0f + (float)i;
    samc_ckpt c = { .step = 1234, .epoch = 7, .params = p, .n_params = np, .buffers = b, .n_buffers = nb,
                    .momentum = p, .n_momentum = nb ? np : 0, .epoch_step = 17, .decsps_prev = 0.25,
                    .optim_steps = 1230, .elapsed_s = 12.5, .data_n = 60000, .data_crc = 0xdeadbeef };
    snprintf(c.model, sizeof c.model, "resnet:8");
    snprintf(c.data, sizeof c.data, "fashion-mnist");
    samc_rng_seed(&c.shuffle_rng, 5);
    samc_rng_seed(&c.aug_rng, 6);
    assert_int_equal(samc_ckpt_save(path, &c, NULL), SAMC_OK);
    free(p);
    free(b);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[256];
    path_of(path, sizeof path, "a.ckpt");
    write_one(path, 100, 10);
    samc_ckpt c;
    samc_errbuf err;
    assert_int_equal(samc_ckpt_load(path, &c, err), SAMC_OK);
    assert_string_equal(c.model, "resnet:8");
    assert_int_equal(c.step, 1234);
    assert_int_equal(c.epoch, 7);
    assert_int_equal(c.n_params, 100);
    assert_int_equal(c.n_buffers, 10);
    for (size_t i = 0; i < 100; i++) assert_true(c.params[i] == (float)i * 0.5f - 3.0f);
    for (size_t i = 0; i < 10; i++) assert_true(c.buffers[i] == 1.0f + (float)i);
    assert_int_equal(c.n_momentum, 100);
    for (size_t i = 0; i < 100; i++) assert_true(c.momentum[i] == c.params[i]);
    assert_string_equal(c.data, "fashion-mnist");
    assert_int_equal(c.data_n, 60000);
    assert_int_equal(c.data_crc, 0xdeadbeef);
    assert_int_equal(c.epoch_step, 17);
    assert_int_equal(c.optim_steps, 1230);
    assert_true(c.decsps_prev == 0.25 && c.elapsed_s == 12.5);
    samc_rng r5, r6;
    samc_rng_seed(&r5, 5);
    samc_rng_seed(&r6, 6);
    assert_memory_equal(c.shuffle_rng.s, r5.s, sizeof r5.s);
    assert_memory_equal(c.aug_rng.s, r6.s, sizeof r6.s);
    samc_ckpt_free(&c);
    samc_ckpt_free(&c); /* twice is harmless */
    assert_int_equal(file_size(path), 512 + 210 * 4 + 4);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1); /* the temporary was renamed away */
    write_one(path, 5, 0);                   /* no buffers */
    assert_int_equal(samc_ckpt_load(path, &c, err), SAMC_OK);
    assert_null(c.buffers);
    samc_ckpt_free(&c);
}

/* Rewrites byte `at` of a fresh checkpoint (or truncates it to `cut`),
 * then expects the load to fail with `why` in the message. */
static void damaged(long at, int cut, const char *why)
{
    char path[256];
    path_of(path, sizeof path, "d.ckpt");
    write_one(path, 50, 4);
    if (cut) {
        assert_int_equal(truncate(path, at), 0);
    } else {
        FILE *f = fopen(path, "r+b");
        fseek(f, at, SEEK_SET);
        int ch = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(ch ^ 0x5a, f);
        fclose(f);
    }
    samc_ckpt c;
    samc_errbuf err;
    assert_int_not_equal(samc_ckpt_load(path, &c, err), SAMC_OK);
    if (!strstr(err, why)) fail_msg("damage at %ld (cut %d): message '%s' lacks '%s'", at, cut, err, why);
    assert_non_null(strstr(err, "d.ckpt"));
    assert_null(c.params);
}

/* The header layout is the file format: each field at its documented offset. */
static void test_layout(void **state)
{
    (void)state;
    char path[256];
    path_of(path, sizeof path, "layout.ckpt");
    write_one(path, 100, 10);
    FILE *f = fopen(path, "rb");
    unsigned char h[512];
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    int64_t step, epoch_step, osteps;
    int32_t epoch;
    uint64_t data_n, np, nb, nm;
    uint32_t version, hsize, crc;
    double decsps, elapsed;
    memcpy(&version, h + 8, 4);
    memcpy(&hsize, h + 12, 4);
    memcpy(&data_n, h + 272, 8);
    memcpy(&crc, h + 280, 4);
    memcpy(&step, h + 288, 8);
    memcpy(&epoch, h + 296, 4);
    memcpy(&epoch_step, h + 304, 8);
    memcpy(&decsps, h + 376, 8);
    memcpy(&osteps, h + 384, 8);
    memcpy(&elapsed, h + 392, 8);
    memcpy(&np, h + 400, 8);
    memcpy(&nb, h + 408, 8);
    memcpy(&nm, h + 416, 8);
    assert_memory_equal(h, "SAMCCKPT", 8);
    assert_true(version == 1 && hsize == 512);
    assert_string_equal((const char *)h + 16, "resnet:8");
    assert_string_equal((const char *)h + 144, "fashion-mnist");
    assert_true(data_n == 60000 && crc == 0xdeadbeef && step == 1234 && epoch == 7 && epoch_step == 17);
    assert_true(decsps == 0.25 && osteps == 1230 && elapsed == 12.5 && np == 100 && nb == 10 && nm == 100);
    samc_rng r5, r6;
    samc_rng_seed(&r5, 5);
    samc_rng_seed(&r6, 6);
    assert_memory_equal(h + 312, r5.s, 32);
    assert_memory_equal(h + 344, r6.s, 32);
    for (int i = 424; i < 512; i++) assert_int_equal(h[i], 0);   /* room to grow */
}

static void test_damage_refused(void **state)
{
    (void)state;
    damaged(0, 0, "bad magic");
    damaged(8, 0, "version");
    damaged(600, 0, "checksum");       /* a parameter byte */
    damaged(20, 0, "checksum");        /* the model name */
    damaged(512 + 104 * 4 + 1, 0, "checksum"); /* the crc itself */
    damaged(100, 1, "truncated");      /* inside the header */
    damaged(512 + 10, 1, "truncated"); /* inside the parameters */
    damaged(5, 1, "bad magic");
    char path[256];
    path_of(path, sizeof path, "d.ckpt");
    write_one(path, 50, 4);
    FILE *f = fopen(path, "ab");
    fputc(0, f);
    fclose(f);
    samc_ckpt c;
    samc_errbuf err;
    assert_int_equal(samc_ckpt_load(path, &c, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, "trailing"));
    path_of(path, sizeof path, "missing.ckpt");
    assert_int_equal(samc_ckpt_load(path, &c, err), SAMC_EIO);
    assert_non_null(strstr(err, "missing.ckpt"));
}

/* An unwritable destination: an error naming it, and the old file intact. */
static void test_unwritable_keeps_old(void **state)
{
    (void)state;
    char path[256];
    path_of(path, sizeof path, "nodir/x.ckpt");
    float p[3] = { 1, 2, 3 };
    samc_ckpt c = { .params = p, .n_params = 3 };
    samc_errbuf err;
    assert_int_equal(samc_ckpt_save(path, &c, err), SAMC_EIO);
    assert_non_null(strstr(err, "nodir"));
    /* the temporary cannot be created (a directory is in its way): the
     * earlier checkpoint at the same path survives untouched */
    path_of(path, sizeof path, "keep.ckpt");
    write_one(path, 20, 2);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(samc_ckpt_save(path, &c, err), SAMC_EIO);
    samc_ckpt k;
    assert_int_equal(samc_ckpt_load(path, &k, err), SAMC_OK);
    assert_int_equal(k.n_params, 20);
    samc_ckpt_free(&k);
    rmdir(tmp);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_damage_refused),
        cmocka_unit_test(test_unwritable_keeps_old),
    };
    return cmocka_run_group_tests_name("ckpt", tests, setup, teardown);
}
