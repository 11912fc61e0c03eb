/*
 * status.c -- descriptions of samc_status codes.
 */
#include "samc.h"

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
