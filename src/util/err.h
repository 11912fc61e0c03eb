/*
 * err.h -- the library's one way to report an error: a status code returned,
 * and a one-line message written into the caller's buffer (err may be NULL;
 * messages are cut at SAMC_ERRLEN bytes).
 *
 *   return samc_errf(err, SAMC_EFORMAT, "%s:%zu: bad label", path, line);
 *   SAMC_CHECK(n > 0, SAMC_EINVAL, "need n > 0, got %d", n);
 */
#ifndef SAMC_UTIL_ERR_H
#define SAMC_UTIL_ERR_H

#include "samc.h"

/* Formats the message into err (when err is not NULL). */
void samc_errmsg(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* samc_errmsg, then the value s: a macro, so that the compiler sees which
 * status a function returns (and what it leaves unset on that path); usable
 * as a statement too (a GNU statement expression, which gcc and clang have). */
#define samc_errf(err, s, ...)                                                 \
    __extension__({                                                            \
        samc_errmsg((err), __VA_ARGS__);                                       \
        (samc_status)(s);                                                      \
    })

/* In a function returning samc_status with a `char *err` in scope: when cond
 * is false, write the message and return st. */
#define SAMC_CHECK(cond, st, ...)                                              \
    do {                                                                       \
        if (!(cond)) return samc_errf(err, (st), __VA_ARGS__);                 \
    } while (0)

#endif
