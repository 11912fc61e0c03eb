/*
 * report.h -- what `samc sharpness` prints: a plain table, CSV (RFC 4180:
 * a field holding a comma, a quote or a line break is quoted, its quotes
 * doubled) or JSON written by cJSON (strings escaped, numbers that are not
 * finite as null).
 */
#ifndef SAMC_CLI_REPORT_H
#define SAMC_CLI_REPORT_H

#include <stdio.h>

#include "samc.h"

/* The measures of r chosen in which (bit k: measure k). */
typedef struct sharp_report {
    const char *checkpoint; /* the file measured */
    const char *model;      /* its model spec */
    unsigned which;
    const samc_measure_result *r;
} sharp_report;

/* One CSV field, quoted where needed. */
void csv_field(FILE *f, const char *s);

/* "NAME VALUE [STDERR]" lines on f, "# NAME took Ts" lines on times. */
void report_table(FILE *f, FILE *times, const sharp_report *rep);
/* A header "measure,value,stderr,seconds" and a row per measure. */
void report_csv(FILE *f, const sharp_report *rep);
/* {"checkpoint": ..., "model": ..., "measures": {NAME: {"value": V,
 * ["stderr": S,] "seconds": T}}} on one line; stderr left out where the
 * measure is not an estimate.  SAMC_ENOMEM when cJSON runs out of memory. */
samc_status report_json(FILE *f, const sharp_report *rep, char *err);

#endif
