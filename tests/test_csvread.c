/*
 * test_csvread.c -- the CSV reader (samc_csv_*) and the column tables of the
 * trainer's files: columns by name, numbers and NaN spellings, the raw line,
 * a row being written, and errors that name file and line.
 */
#include <unistd.h>

#include "testutil.h"

static char path[] = "/tmp/samc_csv_XXXXXX";

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_rows_by_name(void **state)
{
    (void)state;
    write_file("step,loss,name\n0,1.5,a\n\n1,nan,-\n2,,x\n3,4e-1,b\n4,0.2");
    samc_csv *c;
    samc_errbuf err;
    assert_int_equal(samc_csv_open(&c, path, err), SAMC_OK);
    assert_int_equal(samc_csv_ncols(c), 3);
    assert_string_equal(samc_csv_header(c), "step,loss,name");
    assert_int_equal(samc_csv_col(c, "loss"), 1);
    assert_int_equal(samc_csv_col(c, "nope"), -1);
    assert_string_equal(samc_csv_name(c, 2), "name");
    const double *v;
    double want_loss[] = { 1.5, NAN, NAN, 0.4 };
    for (int r = 0; r < 4; r++) {
        assert_int_equal(samc_csv_next(c, &v, err), SAMC_OK);
        assert_non_null(v);
        assert_true(v[0] == r);
        if (isnan(want_loss[r])) assert_true(isnan(v[1]));
        else assert_close(v[1], want_loss[r], 1e-15, 0);
        assert_true(isnan(v[2]));   /* text and "-" alike */
    }
    assert_string_equal(samc_csv_line(c), "3,4e-1,b\n");
    assert_int_equal(samc_csv_lineno(c), 6);           /* the empty line counts */
    assert_string_equal(samc_csv_field(c, 2), "b");
    double x;
    assert_int_equal(samc_csv_number(c, 2, &x, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, ":6: column name: 'b' is not a number"));
    assert_int_equal(samc_csv_number(c, 1, &x, err), SAMC_OK);
    assert_int_equal(samc_csv_next(c, &v, err), SAMC_OK);   /* "4,0.2" has no newline yet */
    assert_null(v);
    samc_csv_close(c);
    samc_csv_close(NULL);
}

static void test_errors(void **state)
{
    (void)state;
    write_file("a,b\n1,2\n1,2,3\n");
    samc_csv *c;
    samc_errbuf err;
    const double *v;
    assert_int_equal(samc_csv_open(&c, path, err), SAMC_OK);
    assert_int_equal(samc_csv_next(c, &v, err), SAMC_OK);
    assert_int_equal(samc_csv_next(c, &v, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, ":3: more than 2 fields"));
    samc_csv_close(c);
    write_file("");
    assert_int_equal(samc_csv_open(&c, path, err), SAMC_EFORMAT);
    assert_non_null(strstr(err, "no header line"));
    assert_null(c);
    assert_int_equal(samc_csv_open(&c, "/nonexistent/x.csv", err), SAMC_EIO);
    assert_non_null(strstr(err, "/nonexistent/x.csv"));
}

static void test_column_tables(void **state)
{
    (void)state;
    assert_string_equal(samc_steps_columns[SAMC_STEPS_STEP].name, "step");
    assert_string_equal(samc_steps_columns[SAMC_STEPS_POLYAK_NUMERATOR].name, "polyak_numerator");
    assert_string_equal(samc_metrics_columns[SAMC_METRICS_TIME_S].format, "%.3f");
    assert_string_equal(samc_metrics_columns[SAMC_METRICS_VAL_ACC].name, "val_acc");
    for (int k = 0; k < SAMC_STEPS_NCOL; k++) assert_non_null(samc_steps_columns[k].meaning);
    for (int k = 0; k < SAMC_METRICS_NCOL; k++) assert_non_null(samc_metrics_columns[k].meaning);
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_by_name),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_column_tables),
    };
    return cmocka_run_group_tests_name("csvread", tests, setup, teardown);
}
