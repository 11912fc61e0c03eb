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

void cli_arg_name(const char *arg, cli_arg *a)
{
    const char *name = arg + 2, *eq = strchr(name, '=');
    a->name = name;
    a->len = eq ? (size_t)(eq - name) : strlen(name);
    a->value = eq ? eq + 1 : NULL;
    a->flag = NULL;
}

samc_status cli_arg_value(int argc, char **argv, int *i, cli_arg *a, char *err)
{
    const cli_flag *f = a->flag;
    if (!f) return SAMC_OK;
    if (!f->arg) {
        SAMC_CHECK(!a->value, SAMC_EINVAL, "--%s takes no value", f->name);
        return SAMC_OK;
    }
    if (a->value) return SAMC_OK;
    if (*i + 1 < argc) a->value = argv[++*i];
    else return samc_errf(err, SAMC_EINVAL, "--%s needs a value (%s)", f->name, f->arg);
    return SAMC_OK;
}

samc_status cli_arg_read(const void *table, size_t n, size_t size, unsigned cmds, int argc, char **argv, int *i,
                         cli_arg *a, char *err)
{
    cli_arg_name(argv[*i], a);
    a->flag = cli_flag_find(table, n, size, cmds, a->name, a->len);
    return cli_arg_value(argc, argv, i, a, err);
}

int cli_die(const char *msg)
{
    fprintf(stderr, "samc: error: %s\n", msg);
    return 1;
}
