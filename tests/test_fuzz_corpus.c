/*
 * test_fuzz_corpus.c -- replays the fuzzing inputs through the same calling
 * code as the libFuzzer targets (fuzz/targets.h): every file of
 * fuzz/corpus/<target>/ (interesting and once-crashing inputs) must come back
 * with some status, without crashing (under `make sanitize`: without a
 * sanitizer report either), and every seed of fuzz/seeds/<target>/ (valid
 * files) must load with SAMC_OK.  A missing or empty directory fails.
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "testutil.h"
#include "../fuzz/targets.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

/* Read path whole into *buf (malloc'd); returns the size. */
static size_t slurp(const char *path, uint8_t **buf)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    size_t r;
    while ((r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
    }
    fclose(f);
    *buf = b;
    return n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run fn on every regular file of dir (sorted); seeds: each must give
 * SAMC_OK.  Returns the number of files. */
static size_t replay_dir(const char *dir, fuzz_fn fn, int seeds)
{
    DIR *d = opendir(dir);
    if (!d) fail_msg("%s: missing (run make fuzz-seeds / see fuzz/README.md)", dir);
    char *names[4096];
    size_t k = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        assert_true(k < sizeof names / sizeof *names);
        names[k] = strdup(e->d_name);
        assert_non_null(names[k]);
        k++;
    }
    closedir(d);
    qsort(names, k, sizeof *names, by_name);
    size_t files = 0;
    for (size_t i = 0; i < k; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            uint8_t *buf;
            size_t n = slurp(path, &buf);
            int st = fn(buf, n);
            free(buf);
            if (seeds && st != SAMC_OK)
                fail_msg("seed %s: status %d (%s), expected SAMC_OK", path, st,
                         samc_strerror((samc_status)st));
            files++;
        }
        free(names[i]);
    }
    if (files == 0) fail_msg("%s: no files", dir);
    return files;
}

static void replay(const char *target, fuzz_fn fn)
{
    char dir[256];
    snprintf(dir, sizeof dir, "fuzz/seeds/%s", target);
    size_t s = replay_dir(dir, fn, 1);
    snprintf(dir, sizeof dir, "fuzz/corpus/%s", target);
    size_t c = replay_dir(dir, fn, 0);
    print_message("%s: %zu seeds, %zu corpus inputs\n", target, s, c);
}

static void test_libsvm(void **state) { (void)state; replay("libsvm", fuzz_libsvm); }
static void test_csv(void **state) { (void)state; replay("csv", fuzz_csv); }
static void test_idx(void **state) { (void)state; replay("idx", fuzz_idx); }
static void test_cifar10(void **state) { (void)state; replay("cifar10", fuzz_cifar10); }
static void test_cifar100(void **state) { (void)state; replay("cifar100", fuzz_cifar100); }
static void test_npy(void **state) { (void)state; replay("npy", fuzz_npy); }
static void test_ckpt(void **state) { (void)state; replay("ckpt", fuzz_ckpt); }
static void test_dataspec(void **state) { (void)state; replay("dataspec", fuzz_dataspec); }
static void test_schedule(void **state) { (void)state; replay("schedule", fuzz_schedule); }

/* A checkpoint written now by samc_ckpt_save loads through the target (the
 * seeds in fuzz/seeds/ckpt were written by an earlier build: if the format
 * changes, `make fuzz-seeds` rewrites them, and this keeps the target honest
 * meanwhile). */
static void test_ckpt_fresh(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/fresh.ckpt", fuzz_dir());
    float p[4] = {1, 2, 3, 4};
    samc_ckpt c;
    memset(&c, 0, sizeof c);
    snprintf(c.model, sizeof c.model, "softmax");
    c.params = p;
    c.n_params = 4;
    c.step = 9;
    samc_errbuf err = "";
    assert_int_equal(samc_ckpt_save(path, &c, err), SAMC_OK);
    uint8_t *buf;
    size_t n = slurp(path, &buf);
    unlink(path);
    assert_int_equal(fuzz_ckpt(buf, n), SAMC_OK);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libsvm),   cmocka_unit_test(test_csv),
        cmocka_unit_test(test_idx),      cmocka_unit_test(test_cifar10),
        cmocka_unit_test(test_cifar100),
        cmocka_unit_test(test_npy),      cmocka_unit_test(test_ckpt),
        cmocka_unit_test(test_ckpt_fresh), cmocka_unit_test(test_dataspec),
        cmocka_unit_test(test_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
