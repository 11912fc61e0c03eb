/*
 * test_data.c -- tests of section 6 of samc.h: the LIBSVM and CSV readers
 * (exact parses, error messages with file names and line numbers), label
 * indexing, widening, samc_data_load, and the synthetic generator (its
 * spectrum, interpolation, determinism and test-row distribution).
 */
#include <unistd.h>

#include "testutil.h"
#include "reflinalg.h"

#define HEART_SCALE "/usr/share/doc/liblinear-tools/examples/heart_scale"

/* ------------------------------------------------------------------ helpers */

/* Write content to a fresh temporary file; its name goes into path (64 bytes). */
static void write_tmp(char *path, const char *content)
{
    strcpy(path, "/tmp/samc_test_data_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Read content as LIBSVM; expect failure st with a message naming the file
 * and (line > 0) "path:line:" and containing what (may be NULL). */
static void expect_libsvm_error(const char *content, samc_status st, int line,
                                const char *what)
{
    char path[64], want[128];
    write_tmp(path, content);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status got = samc_read_libsvm(&ds, path, 0, err);
    unlink(path);
    if (got != st)
        fail_msg("content '%s': status %d (%s), expected %d", content, (int)got, err,
                 (int)st);
    if (line > 0) snprintf(want, sizeof want, "%s:%d:", path, line);
    else snprintf(want, sizeof want, "%s", path);
    if (!strstr(err, want)) fail_msg("message '%s' does not contain '%s'", err, want);
    if (what && !strstr(err, what))
        fail_msg("message '%s' does not contain '%s'", err, what);
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n, 0);
}

static void expect_csv_error(const char *content, int label_col, int header,
                             samc_status st, int line, const char *what)
{
    char path[64], want[128];
    write_tmp(path, content);
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status got = samc_read_csv(&ds, path, label_col, header, err);
    unlink(path);
    if (got != st)
        fail_msg("content '%s': status %d (%s), expected %d", content, (int)got, err,
                 (int)st);
    snprintf(want, sizeof want, "%s:%d:", path, line);
    if (!strstr(err, want)) fail_msg("message '%s' does not contain '%s'", err, want);
    if (what && !strstr(err, what))
        fail_msg("message '%s' does not contain '%s'", err, what);
    assert_null(ds.x);
    assert_int_equal(ds.n, 0);
}

static void assert_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("element %zu: %.9g, expected %.9g", i, (double)got[i],
                     (double)want[i]);
}

/* --------------------------------------------------------------- LIBSVM */

static void test_libsvm_small_exact(void **state)
{
    (void)state;
    char path[64];
    write_tmp(path,
              "# a comment line\r\n"
              "+1 1:0.5 3:-2 # trailing comment\r\n"
              "\r\n"
              "-1\t2:1e-1\r\n"
              "   \n"
              "3\n"                  /* label only: a zero row */
              "2 4:3.25 ");          /* no final newline */
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_libsvm(&ds, path, 0, err), SAMC_OK);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.d, 4);
    assert_true(samc_dataset_is_sparse(&ds));
    assert_int_equal(samc_dataset_nnz(&ds), 4);
    assert_int_equal(samc_dataset_densify(&ds), SAMC_OK);
    const float x[] = {0.5f, 0, -2, 0,  0, 0.1f, 0, 0,  0, 0, 0, 0,  0, 0, 0, 3.25f};
    const float y[] = {1, -1, 3, 2};
    assert_floats(ds.x, x, 16);
    assert_floats(ds.y, y, 4);
    assert_int_equal(ds.n_classes, 0); /* the reader does not index labels */
    assert_null(ds.labels);
    samc_dataset_free(&ds);
    assert_null(ds.x);
    assert_int_equal(ds.n, 0);

    /* d_min pads the feature count with zero columns. */
    assert_int_equal(samc_read_libsvm(&ds, path, 6, err), SAMC_OK);
    assert_int_equal(ds.d, 6);
    assert_int_equal(samc_dataset_densify(&ds), SAMC_OK);
    assert_true(ds.x[0] == 0.5f && ds.x[2] == -2.0f && ds.x[4] == 0 && ds.x[5] == 0);
    assert_true(ds.x[3 * 6 + 3] == 3.25f && ds.x[3 * 6 + 4] == 0);
    samc_dataset_free(&ds);
    unlink(path);
}

static void test_libsvm_long_line(void **state)
{
    (void)state;
    /* One row with 30000 features (a line of ~300 kB), then a short row. */
    const size_t nf = 30000;
    char *buf = malloc(nf * 16 + 64);
    assert_non_null(buf);
    size_t len = (size_t)sprintf(buf, "1");
    for (size_t j = 1; j <= nf; j++)
        len += (size_t)sprintf(buf + len, " %zu:%zu", 2 * j, j % 7);
    sprintf(buf + len, "\n0 1:9\n");
    char path[64];
    write_tmp(path, buf);
    free(buf);
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_libsvm(&ds, path, 0, err), SAMC_OK);
    unlink(path);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 2 * nf);
    assert_int_equal(samc_dataset_densify(&ds), SAMC_OK);
    for (size_t j = 1; j <= nf; j++) {
        if (ds.x[2 * j - 1] != (float)(j % 7)) fail_msg("feature %zu", 2 * j);
        if (ds.x[2 * j - 2] != 0) fail_msg("feature %zu not zero", 2 * j - 1);
    }
    assert_true(ds.x[ds.d] == 9.0f && ds.x[ds.d + 1] == 0);
    samc_dataset_free(&ds);
}

static void test_libsvm_heart_scale(void **state)
{
    (void)state;
    if (access(HEART_SCALE, R_OK) != 0) {
        skip();
        return;
    }
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_libsvm(&ds, HEART_SCALE, 0, err), SAMC_OK);
    assert_int_equal(ds.n, 270);
    assert_int_equal(ds.d, 13);
    assert_int_equal(samc_dataset_densify(&ds), SAMC_OK);
    /* First line: +1 1:0.708333 2:1 3:1 4:-0.320755 5:-0.105023 6:-1 7:1
     *             8:-0.419847 9:-1 10:-0.225806 12:1 13:-1 */
    const float r0[] = {0.708333f, 1, 1, -0.320755f, -0.105023f, -1, 1, -0.419847f,
                        -1, -0.225806f, 0, 1, -1};
    assert_floats(ds.x, r0, 13);
    assert_true(ds.y[0] == 1.0f && ds.y[1] == -1.0f);
    assert_true(ds.x[2 * 13 + 10] == -1.0f); /* third line has 11:-1 */
    size_t pos = 0;
    for (size_t i = 0; i < ds.n; i++) pos += ds.y[i] == 1.0f;
    assert_int_equal(pos, 120);
    samc_dataset_free(&ds);

    /* Through samc_data_load: labels indexed. */
    samc_data data;
    assert_int_equal(samc_data_load(&data, "libsvm:" HEART_SCALE, err), SAMC_OK);
    assert_int_equal(data.train.n, 270);
    assert_int_equal(data.train.d, 13);
    assert_int_equal(data.test.n, 0);
    assert_int_equal(data.train.n_classes, 2);
    assert_non_null(data.train.labels);
    assert_true(data.train.labels[0] == -1.0 && data.train.labels[1] == 1.0);
    assert_true(data.train.y[0] == 1.0f && data.train.y[1] == 0.0f);
    size_t ones = 0;
    for (size_t i = 0; i < data.train.n; i++) {
        assert_true(data.train.y[i] == 0.0f || data.train.y[i] == 1.0f);
        ones += data.train.y[i] == 1.0f;
    }
    assert_int_equal(ones, 120);
    assert_non_null(strstr(data.name, "heart_scale"));
    samc_data_free(&data);
}

static void test_libsvm_malformed_line_number(void **state)
{
    (void)state;
    expect_libsvm_error("+1 1:0.5 2:1\n"
                        "-1 1:0.25\n"
                        "\n"
                        "# comment 1:x\n"
                        "+1 2:0.5 abc 3:1\n"
                        "+1 1:1\n",
                        SAMC_EFORMAT, 5, "'abc'");
    /* CRLF lines count the same way. */
    expect_libsvm_error("1 1:1\r\n1 1:2\r\n1 1:3\r\n1 1:x\r\n", SAMC_EFORMAT, 4, "'x'");
}

static void test_libsvm_missing_file(void **state)
{
    (void)state;
    const char *path = "/nonexistent-dir/samc-missing.libsvm";
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_libsvm(&ds, path, 0, err), SAMC_EIO);
    assert_non_null(strstr(err, path));
    assert_null(ds.x);

    samc_data data;
    assert_int_equal(samc_data_load(&data, "libsvm:/nonexistent-dir/samc-missing.libsvm",
                                    err),
                     SAMC_EIO);
    assert_non_null(strstr(err, path));
    assert_null(data.train.x);
    /* A missing test file after a good train file: nothing left allocated. */
    char good[64], spec[200];
    write_tmp(good, "1 1:1\n");
    snprintf(spec, sizeof spec, "libsvm:%s,%s", good, path);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EIO);
    assert_non_null(strstr(err, path));
    assert_null(data.train.x);
    assert_int_equal(data.train.n, 0);
    unlink(good);
}

static void test_libsvm_bad_content(void **state)
{
    (void)state;
    expect_libsvm_error("1 1:1\n1 0:1\n", SAMC_EFORMAT, 2, "index 0");
    expect_libsvm_error("1 1:1 3:1 2:1\n", SAMC_EFORMAT, 1, "ascending");
    expect_libsvm_error("1 1:1\n\n1 2:1 2:3\n", SAMC_EFORMAT, 3, "ascending");
    expect_libsvm_error("1 -1:2\n", SAMC_EFORMAT, 1, NULL);
    expect_libsvm_error("1 x:2\n", SAMC_EFORMAT, 1, NULL);
    expect_libsvm_error("1 1:0.5\n1 1:nan\n", SAMC_EFORMAT, 2, "nan");
    expect_libsvm_error("1 1:inf\n", SAMC_EFORMAT, 1, "inf");
    expect_libsvm_error("1 1:1e39\n", SAMC_EFORMAT, 1, NULL); /* overflows float */
    expect_libsvm_error("1 1:\n", SAMC_EFORMAT, 1, NULL);
    expect_libsvm_error("1 1:2x\n", SAMC_EFORMAT, 1, "2x");
    expect_libsvm_error("1 1:1\nabc 1:1\n", SAMC_EFORMAT, 2, "label");
    expect_libsvm_error("nan 1:1\n", SAMC_EFORMAT, 1, "label");
    expect_libsvm_error("", SAMC_EFORMAT, 0, "no data");
    expect_libsvm_error("# only a comment\n\n  \r\n", SAMC_EFORMAT, 0, "no data");
}

/* ------------------------------------------------------------------ CSV */

static void test_csv_header_label_last(void **state)
{
    (void)state;
    char path[64];
    write_tmp(path, "f1, f2 ,label\r\n1,2,0\r\n\r\n3.5,-4,1\r\n");
    samc_dataset ds;
    samc_errbuf err = "";
    /* automatic header detection */
    assert_int_equal(samc_read_csv(&ds, path, -1, 0, err), SAMC_OK);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 2);
    const float x[] = {1, 2, 3.5f, -4}, y[] = {0, 1};
    assert_floats(ds.x, x, 4);
    assert_floats(ds.y, y, 2);
    samc_dataset_free(&ds);
    /* explicit header, label column 2 given by number */
    assert_int_equal(samc_read_csv(&ds, path, 2, 1, err), SAMC_OK);
    assert_int_equal(ds.n, 2);
    assert_floats(ds.x, x, 4);
    assert_floats(ds.y, y, 2);
    samc_dataset_free(&ds);
    /* no header allowed: the first line is data and is not numeric */
    expect_csv_error("a,b\n1,2\n", 0, -1, SAMC_EFORMAT, 1, "'a'");

    /* through samc_data_load */
    samc_data data;
    char spec[128];
    snprintf(spec, sizeof spec, "csv:%s,label=last,header", path);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.n, 2);
    assert_int_equal(data.train.d, 2);
    assert_floats(data.train.x, x, 4);
    assert_int_equal(data.train.n_classes, 2);
    assert_non_null(strstr(data.name, "csv"));
    samc_data_free(&data);
    unlink(path);
}

static void test_csv_label_first_and_middle(void **state)
{
    (void)state;
    char path[64];
    write_tmp(path, "5,1,2\n7,3,4\n5,0.5,-1\n");
    samc_dataset ds;
    samc_errbuf err = "";
    /* first line numeric: auto mode keeps it as data */
    assert_int_equal(samc_read_csv(&ds, path, 0, 0, err), SAMC_OK);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 2);
    const float x0[] = {1, 2, 3, 4, 0.5f, -1}, y0[] = {5, 7, 5};
    assert_floats(ds.x, x0, 6);
    assert_floats(ds.y, y0, 3);
    samc_dataset_free(&ds);
    /* header forced: first line dropped */
    assert_int_equal(samc_read_csv(&ds, path, 0, 1, err), SAMC_OK);
    assert_int_equal(ds.n, 2);
    assert_floats(ds.x, x0 + 2, 4);
    samc_dataset_free(&ds);
    /* label in the middle column */
    assert_int_equal(samc_read_csv(&ds, path, 1, 0, err), SAMC_OK);
    const float x1[] = {5, 2, 7, 4, 5, -1}, y1[] = {1, 3, 0.5f};
    assert_floats(ds.x, x1, 6);
    assert_floats(ds.y, y1, 3);
    samc_dataset_free(&ds);
    /* label column out of range */
    samc_status st = samc_read_csv(&ds, path, 3, 0, err);
    assert_int_not_equal(st, SAMC_OK);
    assert_non_null(strstr(err, path));

    /* samc_data_load default: label first; labels 5, 7 -> classes 0, 1 */
    samc_data data;
    char spec[128];
    snprintf(spec, sizeof spec, "csv:%s", path);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.n_classes, 2);
    assert_true(data.train.labels[0] == 5 && data.train.labels[1] == 7);
    const float yc[] = {0, 1, 0};
    assert_floats(data.train.y, yc, 3);
    samc_data_free(&data);
    snprintf(spec, sizeof spec, "csv:%s,label=1", path);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.n_classes, 0); /* 0.5 is not an integer label */
    assert_floats(data.train.y, y1, 3);
    samc_data_free(&data);
    snprintf(spec, sizeof spec, "csv:%s,label=middle", path);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EINVAL);
    unlink(path);
}

static void test_csv_errors(void **state)
{
    (void)state;
    expect_csv_error("1,2,3\n4,5,6\n\n7,8\n", 0, 0, SAMC_EFORMAT, 4, "2 fields");
    expect_csv_error("x,y,z\n1,2,3\n4,5,6,7\n", 0, 0, SAMC_EFORMAT, 3, "4 fields");
    expect_csv_error("1,2,3\n4,abc,6\n", 0, 0, SAMC_EFORMAT, 2, "'abc'");
    expect_csv_error("1,2,3\n4,,6\n", 0, 0, SAMC_EFORMAT, 2, "field 2");
    expect_csv_error("1,2,3\r\n4,nan,6\r\n", 0, 0, SAMC_EFORMAT, 2, NULL);

    char path[64];
    samc_dataset ds;
    samc_errbuf err = "";
    write_tmp(path, "a,b,c\n");
    assert_int_equal(samc_read_csv(&ds, path, 0, 0, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, path));
    unlink(path);
    assert_int_equal(samc_read_csv(&ds, "/nonexistent-dir/x.csv", 0, 0, err), SAMC_EIO);
    assert_non_null(strstr(err, "/nonexistent-dir/x.csv"));
}

/* ------------------------------------------------ labels, widen, data_load */

static void test_index_labels(void **state)
{
    (void)state;
    float ytr[] = {5, 1, 2, 1, 5}, yte[] = {2, 5, 1};
    samc_dataset tr = {.n = 5, .d = 0, .y = malloc(sizeof ytr)};
    samc_dataset te = {.n = 3, .d = 0, .y = malloc(sizeof yte)};
    assert_non_null(tr.y);
    assert_non_null(te.y);
    memcpy(tr.y, ytr, sizeof ytr);
    memcpy(te.y, yte, sizeof yte);
    samc_errbuf err = "";
    assert_int_equal(samc_data_index_labels(&tr, &te, 1000, err), SAMC_OK);
    assert_int_equal(tr.n_classes, 3);
    assert_int_equal(te.n_classes, 3);
    assert_true(tr.labels[0] == 1 && tr.labels[1] == 2 && tr.labels[2] == 5);
    assert_true(te.labels != tr.labels && te.labels[2] == 5);
    const float wtr[] = {2, 0, 1, 0, 2}, wte[] = {1, 2, 0};
    assert_floats(tr.y, wtr, 5);
    assert_floats(te.y, wte, 3);
    samc_dataset_free(&tr);
    samc_dataset_free(&te);

    /* an unseen test label is an error naming it; y left as it was */
    float yte2[] = {2, 7};
    tr = (samc_dataset){.n = 5, .y = malloc(sizeof ytr)};
    te = (samc_dataset){.n = 2, .y = malloc(sizeof yte2)};
    memcpy(tr.y, ytr, sizeof ytr);
    memcpy(te.y, yte2, sizeof yte2);
    assert_int_equal(samc_data_index_labels(&tr, &te, 1000, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, "7"));
    assert_floats(tr.y, ytr, 5);
    assert_floats(te.y, yte2, 2);
    assert_int_equal(tr.n_classes, 0);

    /* more distinct values than max_classes: regression, y untouched */
    assert_int_equal(samc_data_index_labels(&tr, NULL, 2, err), SAMC_OK);
    assert_int_equal(tr.n_classes, 0);
    assert_null(tr.labels);
    assert_floats(tr.y, ytr, 5);
    /* exactly max_classes is fine */
    assert_int_equal(samc_data_index_labels(&tr, NULL, 3, err), SAMC_OK);
    assert_int_equal(tr.n_classes, 3);
    samc_dataset_free(&tr);
    samc_dataset_free(&te);

    /* non-integer targets: regression */
    float yr[] = {1, 2.5f, 1};
    tr = (samc_dataset){.n = 3, .y = malloc(sizeof yr)};
    memcpy(tr.y, yr, sizeof yr);
    assert_int_equal(samc_data_index_labels(&tr, NULL, 1000, err), SAMC_OK);
    assert_int_equal(tr.n_classes, 0);
    assert_null(tr.labels);
    assert_floats(tr.y, yr, 3);
    samc_dataset_free(&tr);
}

static void test_widen_and_free(void **state)
{
    (void)state;
    samc_dataset ds = {.n = 2, .d = 2, .x = malloc(4 * sizeof(float)),
                       .y = calloc(2, sizeof(float)), .channels = 1, .height = 1,
                       .width = 2};
    assert_non_null(ds.x);
    const float x[] = {1, 2, 3, 4};
    memcpy(ds.x, x, sizeof x);
    assert_int_equal(samc_dataset_widen(&ds, 1), SAMC_OK); /* no-op */
    assert_int_equal(ds.d, 2);
    assert_floats(ds.x, x, 4);
    assert_int_equal(samc_dataset_widen(&ds, 5), SAMC_OK);
    assert_int_equal(ds.d, 5);
    assert_int_equal(ds.channels * ds.height * ds.width, 0); /* shape dropped */
    const float w[] = {1, 2, 0, 0, 0, 3, 4, 0, 0, 0};
    assert_floats(ds.x, w, 10);
    samc_dataset_free(&ds);
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.d, 0);
    samc_dataset_free(&ds); /* twice: fine */
    samc_dataset_free(NULL);
    samc_data_free(NULL);
}

static void test_data_load_train_test(void **state)
{
    (void)state;
    char a[64], b[64], c[64], spec[256];
    write_tmp(a, "1 1:1 5:2\n2 2:3\n1 4:4\n");
    write_tmp(b, "2 3:7\n1 1:-1\n");           /* fewer features than a */
    write_tmp(c, "2 7:1\n");                   /* more features than a */
    samc_data data;
    samc_errbuf err = "";
    snprintf(spec, sizeof spec, "libsvm:%s,%s", a, b);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.d, 5);
    assert_int_equal(data.test.d, 5);
    assert_int_equal(data.test.n, 2);
    assert_int_equal(samc_dataset_densify(&data.test), SAMC_OK);
    const float tx[] = {0, 0, 7, 0, 0, -1, 0, 0, 0, 0};
    assert_floats(data.test.x, tx, 10);
    assert_int_equal(data.test.n_classes, 2);
    const float ty[] = {1, 0};
    assert_floats(data.test.y, ty, 2);
    samc_data_free(&data);

    snprintf(spec, sizeof spec, "libsvm:%s,%s", a, c);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.d, 7);
    assert_int_equal(data.test.d, 7);
    assert_int_equal(samc_dataset_densify(&data.train), SAMC_OK);
    assert_int_equal(samc_dataset_densify(&data.test), SAMC_OK);
    const float r0[] = {1, 0, 0, 0, 2, 0, 0};
    assert_floats(data.train.x, r0, 7);
    assert_true(data.train.x[2 * 7 + 3] == 4 && data.train.x[2 * 7 + 6] == 0);
    assert_true(data.test.x[6] == 1);
    samc_data_free(&data);

    /* a test label unseen in training: error naming the test file */
    unlink(c);
    write_tmp(c, "3 1:1\n");
    snprintf(spec, sizeof spec, "libsvm:%s,%s", a, c);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, c));
    assert_non_null(strstr(err, "3"));
    assert_null(data.train.x);
    unlink(a);
    unlink(b);
    unlink(c);
}

static void test_data_load_bad_spec(void **state)
{
    (void)state;
    samc_data data;
    samc_errbuf err = "";
    const char *bad[] = {"mnist:foo", "heart_scale", "", "libsvm:", "csv:",
                         "libsvm:a,b,c", "synth:", "synth:quadratic,n=10",
                         "synth:ridge,n=10,d=20", "synth:ridge,bogus=1",
                         "synth:ridge,n=-5", "synth:ridge,kappa=0.5",
                         "synth:ridge,noise=-1", "synth:ridge,n=10,d=0",
                         "synth:ridge,n=1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        samc_status st = samc_data_load(&data, bad[i], err);
        if (st != SAMC_EINVAL) fail_msg("spec '%s': status %d", bad[i], (int)st);
        if (!err[0]) fail_msg("spec '%s': no message", bad[i]);
        assert_null(data.train.x);
    }
    assert_int_equal(samc_data_load(&data, "mnist:foo", err), SAMC_EINVAL);
    assert_non_null(strstr(err, "libsvm:TRAIN"));
    assert_non_null(strstr(err, "csv:TRAIN"));
    assert_non_null(strstr(err, "synth:"));
}

/* ------------------------------------------------------------- synthetic */

/* H = A'A/n in double (d x d, malloc'd). */
static double *gram(const samc_dataset *ds)
{
    size_t d = ds->d;
    double *h = calloc(d * d, sizeof *h);
    assert_non_null(h);
    for (size_t r = 0; r < ds->n; r++) {
        const float *a = ds->x + r * d;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) h[i * d + j] += (double)a[i] * a[j];
    }
    for (size_t i = 0; i < d * d; i++) h[i] /= (double)ds->n;
    return h;
}

static void test_synth_spectrum(void **state)
{
    (void)state;
    samc_data data;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&data, "synth:ridge,n=200,d=20,kappa=100,seed=3", err),
                     SAMC_OK);
    size_t d = data.train.d;
    assert_int_equal(data.train.n, 200);
    assert_int_equal(d, 20);
    assert_int_equal(data.train.n_classes, 0);
    assert_int_equal(data.test.n, 0);
    assert_non_null(strstr(data.name, "ridge"));
    double *h = gram(&data.train);
    double tr = 0, want_tr = 0;
    for (size_t i = 0; i < d; i++) {
        tr += h[i * d + i];
        want_tr += pow(100.0, -(double)i / (double)(d - 1));
    }
    assert_close(tr, want_tr, 1e-5, 0);

    /* power iteration: the top eigenvalue is 1 */
    double v[20], w[20], lam = 0;
    for (size_t i = 0; i < d; i++) v[i] = 1.0 / sqrt((double)d) + 0.01 * (double)i;
    for (int it = 0; it < 3000; it++) {
        double nw = 0;
        for (size_t i = 0; i < d; i++) {
            w[i] = 0;
            for (size_t j = 0; j < d; j++) w[i] += h[i * d + j] * v[j];
            nw += w[i] * w[i];
        }
        nw = sqrt(nw);
        lam = 0;
        for (size_t i = 0; i < d; i++) lam += v[i] * w[i];
        for (size_t i = 0; i < d; i++) v[i] = w[i] / nw;
    }
    assert_close(lam, 1.0, 0, 1e-4);

    /* the whole spectrum: lambda_i = kappa^(-i/(d-1)) */
    double ev[20];
    ref_eigenvalues(h, d, ev);   /* ascending: ev[d-1-i] = lambda_i */
    for (size_t i = 0; i < d; i++)
        assert_close(ev[d - 1 - i], pow(100.0, -(double)i / (double)(d - 1)), 1e-4, 1e-6);
    assert_close(ev[0], 0.01, 1e-4, 0);
    free(h);
    samc_data_free(&data);

    /* d = 1: H = 1 */
    assert_int_equal(samc_data_load(&data, "synth:ridge,n=7,d=1,kappa=50", err), SAMC_OK);
    h = gram(&data.train);
    assert_close(h[0], 1.0, 1e-6, 0);
    free(h);
    samc_data_free(&data);
}

/* Relative residual ||A w - y|| / ||y|| of the least-squares solution w
 * (normal equations + Cholesky, in double). */
static double ls_residual(const samc_dataset *ds)
{
    size_t n = ds->n, d = ds->d;
    double *g = gram(ds), *b = calloc(d, sizeof *b), *w = calloc(d, sizeof *w);
    assert_non_null(b);
    assert_non_null(w);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++) b[i] += (double)ds->x[r * d + i] * ds->y[r] / (double)n;
    assert_int_equal(ref_cholesky(g, d), 0);
    memcpy(w, b, d * sizeof *w);
    ref_chol_solve(g, d, w);
    double rr = 0, yy = 0;
    for (size_t r = 0; r < n; r++) {
        double p = 0;
        for (size_t i = 0; i < d; i++) p += (double)ds->x[r * d + i] * w[i];
        rr += (p - ds->y[r]) * (p - ds->y[r]);
        yy += (double)ds->y[r] * ds->y[r];
    }
    free(g);
    free(b);
    free(w);
    return sqrt(rr / yy);
}

static void test_synth_ridge_interpolates(void **state)
{
    (void)state;
    samc_data data;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&data, "synth:ridge,n=150,d=30,kappa=100", err),
                     SAMC_OK);
    double res0 = ls_residual(&data.train);
    assert_true(res0 < 1e-5);
    samc_data_free(&data);
    assert_int_equal(samc_data_load(&data, "synth:ridge,n=150,d=30,kappa=100,noise=0.5",
                                    err),
                     SAMC_OK);
    double res1 = ls_residual(&data.train);
    if (!(res1 > 0.1)) fail_msg("noisy residual %g should be large", res1);
    samc_data_free(&data);
}

static void test_synth_deterministic(void **state)
{
    (void)state;
    samc_data a, b, c;
    samc_errbuf err = "";
    const char *s1 = "synth:ridge,n=60,d=12,kappa=10,noise=0.1,test=9,seed=42";
    assert_int_equal(samc_data_load(&a, s1, err), SAMC_OK);
    assert_int_equal(samc_data_load(&b, s1, err), SAMC_OK);
    assert_int_equal(samc_data_load(&c, "synth:ridge,n=60,d=12,kappa=10,noise=0.1,test=9,"
                                        "seed=43",
                                    err),
                     SAMC_OK);
    assert_int_equal(a.test.n, 9);
    assert_int_equal(a.test.d, 12);
    assert_memory_equal(a.train.x, b.train.x, 60 * 12 * sizeof(float));
    assert_memory_equal(a.train.y, b.train.y, 60 * sizeof(float));
    assert_memory_equal(a.test.x, b.test.x, 9 * 12 * sizeof(float));
    assert_memory_equal(a.test.y, b.test.y, 9 * sizeof(float));
    assert_memory_not_equal(a.train.x, c.train.x, 60 * 12 * sizeof(float));
    assert_memory_not_equal(a.train.y, c.train.y, 60 * sizeof(float));
    assert_memory_not_equal(a.test.x, c.test.x, 9 * 12 * sizeof(float));
    samc_data_free(&a);
    samc_data_free(&b);
    samc_data_free(&c);
}

static void test_synth_logreg(void **state)
{
    (void)state;
    samc_data r, l;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&r, "synth:ridge,n=300,d=10,kappa=20,test=100,seed=7",
                                    err),
                     SAMC_OK);
    assert_int_equal(samc_data_load(&l, "synth:logreg,n=300,d=10,kappa=20,test=100,seed=7",
                                    err),
                     SAMC_OK);
    assert_int_equal(l.train.n_classes, 2);
    assert_int_equal(l.test.n_classes, 2);
    assert_true(l.train.labels[0] == -1 && l.train.labels[1] == 1);
    /* same design: the label is the sign of the (noise-free) ridge target */
    assert_memory_equal(r.train.x, l.train.x, 300 * 10 * sizeof(float));
    size_t ones = 0;
    for (size_t i = 0; i < 300; i++) {
        float want = r.train.y[i] >= 0 ? 1.0f : 0.0f;
        if (l.train.y[i] != want) fail_msg("row %zu: class %g, ridge target %g", i,
                                           (double)l.train.y[i], (double)r.train.y[i]);
        ones += want == 1.0f;
    }
    assert_true(ones > 30 && ones < 270);
    for (size_t i = 0; i < 100; i++)
        assert_true(l.test.y[i] == (r.test.y[i] >= 0 ? 1.0f : 0.0f));
    samc_data_free(&r);
    samc_data_free(&l);
}

static void test_synth_test_rows_covariance(void **state)
{
    (void)state;
    samc_data data;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&data, "synth:ridge,n=8,d=5,kappa=10,test=40000,seed=1",
                                    err),
                     SAMC_OK);
    double *h = gram(&data.train), *ht = gram(&data.test);
    for (size_t i = 0; i < 25; i++) assert_close(ht[i], h[i], 0, 0.03);
    /* and the test rows are not copies of the train design */
    assert_true(fabs(ht[0] - h[0]) > 1e-7 || fabs(ht[1] - h[1]) > 1e-7);
    free(h);
    free(ht);
    samc_data_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libsvm_small_exact),
        cmocka_unit_test(test_libsvm_long_line),
        cmocka_unit_test(test_libsvm_heart_scale),
        cmocka_unit_test(test_libsvm_malformed_line_number),
        cmocka_unit_test(test_libsvm_missing_file),
        cmocka_unit_test(test_libsvm_bad_content),
        cmocka_unit_test(test_csv_header_label_last),
        cmocka_unit_test(test_csv_label_first_and_middle),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_index_labels),
        cmocka_unit_test(test_widen_and_free),
        cmocka_unit_test(test_data_load_train_test),
        cmocka_unit_test(test_data_load_bad_spec),
        cmocka_unit_test(test_synth_spectrum),
        cmocka_unit_test(test_synth_ridge_interpolates),
        cmocka_unit_test(test_synth_deterministic),
        cmocka_unit_test(test_synth_logreg),
        cmocka_unit_test(test_synth_test_rows_covariance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
