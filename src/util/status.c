/*
 * status.c -- descriptions of samc_status codes, and the error message of samc_errf (util/err.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "samc.h"
#include "util/err.h"

void samc_errmsg(char *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SAMC_ERRLEN, fmt, ap);
    va_end(ap);
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
