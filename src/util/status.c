/*
 * status.c -- descriptions of samc_status codes, and samc_errf (util/err.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "samc.h"
#include "util/err.h"

samc_status samc_errf(char *err, samc_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, SAMC_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return s;
}

const char *samc_strerror(samc_status s)
{
    switch (s) {
    case SAMC_OK: return "success";
    case SAMC_EINVAL: return "invalid argument";
    case SAMC_ENOMEM: return "out of memory";
    case SAMC_EIO: return "input/output error";
    case SAMC_EFORMAT: return "malformed file";
    case SAMC_ENAN: return "loss or gradient is not finite";
    case SAMC_ECALLBACK: return "callback failed";
    case SAMC_EINTR: return "stopped on request";
    }
    return "unknown status";
}
