/*
 * clock.c -- samc_now_s: seconds on a monotonic clock, for the trainer's and
 * the measures' timings (never for results).
 */
#include <time.h>

#include "samc.h"

double samc_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
