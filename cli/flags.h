/*
 * flags.h -- what the commands of the samc program share: the type of their
 * flag tables, the reading of one "--name[=value]" argument against such a
 * table, and the one line an error ends with.
 *
 * A table is an array of structs that each begin with a cli_flag (samc.c's
 * train / sharpness table adds how a value is stored and its help; plot's
 * table is plain cli_flag); the functions below take its element size.
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

typedef struct cli_flag {
    const char *name; /* without the leading -- */
    const char *arg;  /* what its value is, for help and errors (e.g. "FILE"); NULL: a switch */
    unsigned cmds;    /* the commands (or modes of a command) that take it: a bit set */
    unsigned opts;    /* CLI_REPEAT | CLI_EMPTY */
} cli_flag;

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

/* "samc: error: MSG" on stderr; returns 1, the exit status of a failed command. */
int cli_die(const char *msg);

#endif
