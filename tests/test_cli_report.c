/*
 * test_cli_report.c -- the output formats of `samc sharpness` (cli/report.c):
 * JSON with escaped strings and null for values that are not finite (NaN,
 * infinities: no measure of the library gives one on purpose, so the writer
 * is tested here on a made-up result), CSV fields quoted where needed.
 */
#include <cjson/cJSON.h>

#include "testutil.h"
#include "../cli/report.h"

/* What f received, as a string (caller frees). */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static samc_measure_result made_up(void)
{
    samc_measure_result r;
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++) r.value[k] = r.stderr_[k] = NAN, r.seconds[k] = 0.25;
    r.value[SAMC_MEASURE_WORST_LINF] = 0.125;
    r.value[SAMC_MEASURE_AVG] = INFINITY, r.stderr_[SAMC_MEASURE_AVG] = NAN;          /* an infinite value */
    r.value[SAMC_MEASURE_HESSIAN_TOP] = NAN;                                           /* an undefined one */
    r.value[SAMC_MEASURE_HESSIAN_TRACE] = 2.0, r.stderr_[SAMC_MEASURE_HESSIAN_TRACE] = -INFINITY;
    return r;
}

static void test_json(void **state)
{
    (void)state;
    samc_measure_result r = made_up();
    const char *path = "runs/a \"quoted\" \\ back,slash \xc3\xa9\n/final.ckpt";
    unsigned which = 1u << SAMC_MEASURE_WORST_LINF | 1u << SAMC_MEASURE_AVG | 1u << SAMC_MEASURE_HESSIAN_TOP |
                     1u << SAMC_MEASURE_HESSIAN_TRACE;
    sharp_report rep = { path, "mlp:16,8", which, &r };
    FILE *f = tmpfile();
    samc_errbuf err;
    assert_int_equal(report_json(f, &rep, err), SAMC_OK);
    char *text = slurp(f);
    assert_string_equal(text, "{\"checkpoint\":\"runs/a \\\"quoted\\\" \\\\ back,slash \xc3\xa9\\n/final.ckpt\","
                              "\"model\":\"mlp:16,8\",\"measures\":{"
                              "\"worst_linf\":{\"value\":0.125,\"seconds\":0.25},"
                              "\"avg\":{\"value\":null,\"seconds\":0.25},"
                              "\"hessian_top\":{\"value\":null,\"seconds\":0.25},"
                              "\"hessian_trace\":{\"value\":2,\"stderr\":null,\"seconds\":0.25}}}\n");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "checkpoint")->valuestring, path);
    cJSON *ms = cJSON_GetObjectItem(j, "measures");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "avg"), "value")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "hessian_top"), "value")));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "worst_linf"), "stderr"));
    cJSON_Delete(j);
    free(text);
}

static void test_csv_field(void **state)
{
    (void)state;
    static const char *const in[] = { "plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", "" };
    static const char *const out[] = { "plain", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"two\nlines\"", "\"cr\r\"", "" };
    for (int k = 0; k < 6; k++) {
        FILE *f = tmpfile();
        csv_field(f, in[k]);
        char *s = slurp(f);
        assert_string_equal(s, out[k]);
        free(s);
    }
}

static void test_csv(void **state)
{
    (void)state;
    samc_measure_result r = made_up();
    sharp_report rep = { "x", "m", 1u << SAMC_MEASURE_WORST_LINF | 1u << SAMC_MEASURE_HESSIAN_TRACE, &r };
    FILE *f = tmpfile();
    report_csv(f, &rep);
    char *s = slurp(f);
    assert_string_equal(s, "measure,value,stderr,seconds\nworst_linf,0.125,nan,0.250\nhessian_trace,2,-inf,0.250\n");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_csv_field),
        cmocka_unit_test(test_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
