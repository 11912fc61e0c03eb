/*
 * flags.c -- reading a command's flags against its table, and the error line
 * (flags.h).
 */
#include <stdio.h>
#include <string.h>

#include "flags.h"
#include "util/err.h"

const cli_flag *cli_flag_find(const void *table, size_t n, size_t size, unsigned cmds, const char *name, size_t len)
{
    for (size_t k = 0; k < n; k++) {
        const cli_flag *f = (const cli_flag *)((const char *)table + k * size);
        if ((f->cmds & cmds) && strlen(f->name) == len && !strncmp(f->name, name, len)) return f;
    }
    return NULL;
}

samc_status cli_arg_read(const void *table, size_t n, size_t size, unsigned cmds, int argc, char **argv, int *i,
                         cli_arg *a, char *err)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    a->name = name;
    a->len = eq ? (size_t)(eq - name) : strlen(name);
    a->value = NULL;
    a->flag = cli_flag_find(table, n, size, cmds, name, a->len);
    if (!a->flag) return SAMC_OK;
    const cli_flag *f = a->flag;
    if (!f->arg) {
        SAMC_CHECK(!eq, SAMC_EINVAL, "--%s takes no value", f->name);
        return SAMC_OK;
    }
    if (eq) a->value = eq + 1;
    else if (*i + 1 < argc) a->value = argv[++*i];
    else return samc_errf(err, SAMC_EINVAL, "--%s needs a value (%s)", f->name, f->arg);
    return SAMC_OK;
}

int cli_die(const char *msg)
{
    fprintf(stderr, "samc: error: %s\n", msg);
    return 1;
}
