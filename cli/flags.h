/*
 * flags.h -- what the commands of the samc program share: the type of their
 * flag tables, the reading of one "--name[=value]" argument against such a
 * table, and the one line an error ends with.
 *
 * A table is an array of structs that each begin with a cli_flag (plot's
 * table is plain cli_flag; the train / sharpness table is the library's,
 * read through samc_config_find); the functions below take its element size.
 */
#ifndef SAMC_CLI_FLAGS_H
#define SAMC_CLI_FLAGS_H

#include <stddef.h>

#include "samc.h"

/* What a command allows of a flag (the command checks them: plot does). */
enum {
    CLI_REPEAT = 1, /* may be given several times */
    CLI_EMPTY = 2,  /* the value may be "" */
};

/* The library's flag type (include/samc.h, section 11): name, arg (NULL: a
 * switch), cmds (the commands or modes that take it, a bit set), opts
 * (CLI_REPEAT | CLI_EMPTY), help (NULL in plot's table). */
typedef samc_flag cli_flag;

/* The entry named name[0..len) among the n entries of table (size bytes
 * apart) whose cmds meet cmds; NULL when there is none. */
const cli_flag *cli_flag_find(const void *table, size_t n, size_t size, unsigned cmds, const char *name,
                              size_t len);

/* One argument "--name" or "--name=value" (argv[*i]) read against a table. */
typedef struct cli_arg {
    const char *name;     /* the name as given, name[0..len), not terminated */
    size_t len;
    const cli_flag *flag; /* its entry; NULL: the table has none (the caller words that error) */
    const char *value;    /* after '=' or the next argument (*i advanced); NULL for a switch */
} cli_arg;

/* Fills a from argv[*i], which starts with "--".  SAMC_EINVAL with the
 * message when a flag that takes a value has none, or a switch is given one;
 * an unknown name is SAMC_OK with a->flag NULL. */
samc_status cli_arg_read(const void *table, size_t n, size_t size, unsigned cmds, int argc, char **argv, int *i,
                         cli_arg *a, char *err);
/* The two halves of cli_arg_read: a->name, len and the value after '=' from
 * argv[i]; then, with a->flag found by the caller, the value (argv[*i + 1]
 * when there is no '='; *i advanced) and its checks. */
void cli_arg_name(const char *arg, cli_arg *a);
samc_status cli_arg_value(int argc, char **argv, int *i, cli_arg *a, char *err);

/* "samc: error: MSG" on stderr; returns 1, the exit status of a failed command. */
int cli_die(const char *msg);

#endif
