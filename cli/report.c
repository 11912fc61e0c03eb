/*
 * report.c -- the output formats of `samc sharpness` (report.h).  Values are
 * printed with 9 significant digits and seconds with 3 decimals in every
 * format; JSON numbers are those rounded values, written by cJSON.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "report.h"
#include "util/err.h"

void csv_field(FILE *f, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void report_table(FILE *f, FILE *times, const sharp_report *rep)
{
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++) {
        if (!(rep->which & (1u << k))) continue;
        const char *name = samc_measure_name((samc_measure_kind)k);
        double v = rep->r->value[k], se = rep->r->stderr_[k];
        if (isnan(se)) fprintf(f, "%s %.9g\n", name, v);
        else fprintf(f, "%s %.9g %.9g\n", name, v, se);
        fprintf(times, "# %s took %.2fs\n", name, rep->r->seconds[k]);
    }
}

void report_csv(FILE *f, const sharp_report *rep)
{
    fputs("measure,value,stderr,seconds\n", f);
    for (int k = 0; k < SAMC_MEASURE_COUNT; k++) {
        if (!(rep->which & (1u << k))) continue;
        csv_field(f, samc_measure_name((samc_measure_kind)k));
        fprintf(f, ",%.9g,%.9g,%.3f\n", rep->r->value[k], rep->r->stderr_[k], rep->r->seconds[k]);
    }
}

/* Adds v as printed by fmt ("%.9g", "%.3f") to obj, a JSON number; null
 * when not finite.  0 when cJSON runs out of memory. */
static int add_number(cJSON *obj, const char *name, double v, const char *fmt)
{
    if (!isfinite(v)) return cJSON_AddNullToObject(obj, name) != NULL;
    char b[64];
    snprintf(b, sizeof b, fmt, v);
    return cJSON_AddNumberToObject(obj, name, strtod(b, NULL)) != NULL;
}

samc_status report_json(FILE *f, const sharp_report *rep, char *err)
{
    const samc_measure_result *r = rep->r;
    cJSON *root = cJSON_CreateObject(), *ms = NULL;
    int ok = root && cJSON_AddStringToObject(root, "checkpoint", rep->checkpoint) &&
             cJSON_AddStringToObject(root, "model", rep->model) && (ms = cJSON_AddObjectToObject(root, "measures"));
    for (int k = 0; ok && k < SAMC_MEASURE_COUNT; k++) {
        if (!(rep->which & (1u << k))) continue;
        cJSON *m = cJSON_AddObjectToObject(ms, samc_measure_name((samc_measure_kind)k));
        ok = m && add_number(m, "value", r->value[k], "%.9g") &&
             (isnan(r->stderr_[k]) || add_number(m, "stderr", r->stderr_[k], "%.9g")) &&
             add_number(m, "seconds", r->seconds[k], "%.3f");
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    SAMC_CHECK(text, SAMC_ENOMEM, "out of memory writing JSON");
    fprintf(f, "%s\n", text);
    cJSON_free(text);
    return SAMC_OK;
}
