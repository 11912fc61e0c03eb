/*
 * config_file.c -- configuration files: the "key = value" lines of
 * OUT/config.txt and of --config FILE, read into a samc_config and written
 * from one (include/samc.h, section 11).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "samc.h"
#include "train/train_internal.h"
#include "util/err.h"

static samc_status set_by_key(samc_config *c, unsigned cmds, const char *name, const char *v, const char *where,
                              char *err)
{
    const samc_flag *f = samc_config_find(cmds, name, strlen(name));
    SAMC_CHECK(f, SAMC_EINVAL, "%.200s: unknown key '%.60s'", where, name);
    if (!f->arg) {   /* a switch: on / off */
        SAMC_CHECK(config_switch_value(v) >= 0, SAMC_EINVAL, "%.200s: %.40s takes on or off, got '%.40s'", where,
                   name, v);
        return samc_config_set(c, f, v, err);
    }
    if (!*v) return SAMC_OK;   /* empty: keep the default */
    samc_errbuf sub;
    samc_status st = samc_config_set(c, f, v, sub);
    return st == SAMC_OK ? st : samc_errf(err, st, "%.200s: %.280s", where, sub);
}

/* Splits line (comment cut) into *key and *value, trimmed; 0 when the line
 * is blank, -1 when it has no '='. */
static int split_line(char *line, char **key, char **value)
{
    char *h = strchr(line, '#');
    if (h) *h = '\0';
    char *k = line + strspn(line, " \t\r\n");
    if (!*k) return 0;
    char *eq = strchr(k, '=');
    if (!eq) return -1;
    char *ke = eq;
    while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
    *ke = '\0';
    char *v = eq + 1 + strspn(eq + 1, " \t");
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == '\n' || v[vl - 1] == '\r' || v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = '\0';
    *key = k;
    *value = v;
    return 1;
}

samc_status samc_config_read(samc_config *c, unsigned cmds, const char *path, const char *const *keys, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return samc_errf(err, SAMC_EIO, "cannot read configuration %.400s: %s", path, strerror(errno));
    char line[2048], where[600];
    int ln = 0;
    samc_status rc = SAMC_OK;
    while (rc == SAMC_OK && fgets(line, sizeof line, f)) {
        ln++;
        snprintf(where, sizeof where, "%.500s:%d", path, ln);
        char *key, *v;
        int got = split_line(line, &key, &v);
        if (got < 0) rc = samc_errf(err, SAMC_EINVAL, "%.300s: expected key = value", where);
        if (got <= 0) continue;
        int wanted = !keys;
        for (const char *const *k = keys; k && *k && !wanted; k++) wanted = !strcmp(*k, key);
        if (wanted) rc = set_by_key(c, cmds, key, v, where, err);
    }
    fclose(f);
    return rc;
}

samc_status samc_config_read_bases(samc_config *c, const char *resume, const char *config, char *err)
{
    samc_status st;
    if (resume) {
        char path[4200];
        snprintf(path, sizeof path, "%.4000s/config.txt", resume);
        if ((st = samc_config_read(c, SAMC_CMD_TRAIN, path, NULL, err)) != SAMC_OK) return st;
        if ((st = samc_config_set_by_name(c, SAMC_CMD_TRAIN, "out", resume, err)) != SAMC_OK) return st;
    }
    return config ? samc_config_read(c, SAMC_CMD_TRAIN, config, NULL, err) : SAMC_OK;
}

samc_status samc_config_read_run_data(samc_config *c, const char *ckpt_path, char *err)
{
    static const char *const keys[] = { "data", "data-dir", "normalize", "train-rows", "val", "test-rows", NULL };
    char path[4200];
    const char *slash = strrchr(ckpt_path, '/');
    if (slash) snprintf(path, sizeof path, "%.*s/config.txt", (int)(slash - ckpt_path), ckpt_path);
    else snprintf(path, sizeof path, "config.txt");
    if (access(path, F_OK) != 0) return SAMC_OK;   /* a checkpoint outside a run directory: flags alone */
    return samc_config_read(c, SAMC_CMD_TRAIN, path, keys, err);
}

samc_status samc_config_write(const samc_config *c, char *err)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/config.txt", c->out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", tmp, strerror(errno));
    fprintf(f, "# samc %s: the resolved configuration of this run (samc train --config FILE reads it)\n",
            SAMC_VERSION);
    config_print_train_flags(c, f, 0);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return samc_errf(err, SAMC_EIO, "cannot write %.400s: %s", path, strerror(errno));
    }
    return SAMC_OK;
}
