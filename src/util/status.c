/*
 * status.c -- descriptions of samc_status codes, the error message of samc_errf (util/err.h),
 * and the sizes of the public structs (for bindings that declare them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

size_t samc_struct_size(const char *name)
{
    static const struct { const char *name; size_t size; } sizes[] = {
        { "samc_ckpt", sizeof(samc_ckpt) },       { "samc_oracle", sizeof(samc_oracle) },
        { "samc_step_info", sizeof(samc_step_info) }, { "samc_rng", sizeof(samc_rng) },
        { "samc_flag", sizeof(samc_flag) },
    };
    for (size_t i = 0; name && i < sizeof sizes / sizeof sizes[0]; i++)
        if (!strcmp(name, sizes[i].name)) return sizes[i].size;
    return 0;
}
