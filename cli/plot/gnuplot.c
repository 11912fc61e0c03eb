/*
 * gnuplot.c -- what `samc plot` hands gnuplot: a script and a data file
 * (numbers only, one block per line of a figure), in a temporary directory
 * or kept beside the figure; gnuplot runs by fork + exec with its stderr
 * captured, and its exit status is checked.  The only text that reaches a
 * script goes through gp_quote (or, for --ref, ref.c's grammar).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot_internal.h"
#include "util/err.h"

const char *const gp_palette[10] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
const int gp_point_types[6] = { 7, 5, 9, 11, 13, 15 };

const char *gp_quote(const char *s)
{
    static char buf[8][4 * 4096 + 3];
    static int turn;
    char *b = buf[turn++ % 8], *o = b;
    *o++ = '"';
    for (; *s && o < b + sizeof buf[0] - 4; s++) {
        if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            /* a backquote would run a shell command even inside "..." */
            if (*s == '"' || *s == '\\' || *s == '`') *o++ = '\\';
            *o++ = *s;
        }
    }
    *o++ = '"';
    *o = 0;
    return b;
}

void gp_terminal(FILE *g, const char *fmt, int w, int h)
{
    if (!strcmp(fmt, "svg")) {
        fprintf(g, "set terminal svg size %d,%d noenhanced font 'sans,12' background rgb 'white'\n", w, h);
    } else {
        fprintf(g, "if (strstrt(GPVAL_TERMINALS.' ', ' pngcairo ') > 0) {\n"
                   "    set terminal pngcairo size %d,%d noenhanced font 'sans,11'\n"
                   "} else {\n"
                   "    set terminal png size %d,%d noenhanced\n"
                   "}\n", w, h, w, h);
    }
}

void gp_begin_file(FILE *g, const char *fmt, const char *out, const char *title, const char *xlabel,
                   const char *ylabel, int logx, int logy)
{
    gp_terminal(g, fmt, 1000, 600);
    fprintf(g, "set output %s\nset grid\nset key below horizontal maxcols 3 width 2 spacing 1.2 samplen 3\n",
            gp_quote(out));
    if (*title) fprintf(g, "set title %s\n", gp_quote(title));
    fprintf(g, "set xlabel %s offset 0,0.4\nset ylabel %s\n", gp_quote(xlabel), gp_quote(ylabel));
    if (logx) fputs("set logscale x\nset format x '%g'\n", g);
    if (logy) fputs("set logscale y\nset format y '%g'\n", g);
    fputs("set offsets graph 0.01, graph 0.01, graph 0.04, graph 0.04\nset samples 1000\n", g);
}

/* (The x range is gnuplot's autoscale over the data: the --ref and --hline
 * curves are drawn across it.) */
size_t gp_put_block(FILE *f, const double *x, const double *y, const double *e, size_t n, int logx, int logy,
                    size_t *dropped)
{
    size_t w = 0;
    *dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        if ((logx && x[i] <= 0) || (logy && y[i] <= 0)) {
            (*dropped)++;
            continue;
        }
        if (e) fprintf(f, "%.9g %.9g %.9g\n", x[i], y[i], isfinite(e[i]) ? e[i] : 0.0);
        else fprintf(f, "%.9g %.9g\n", x[i], y[i]);
        w++;
    }
    if (w) fputs("\n\n", f);
    return w;
}

void gp_comment(FILE *f, const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    for (char *p = b; *p; p++)
        if ((unsigned char)*p < 32) *p = ' ';
    fprintf(f, "# %s\n", b);
}

/* ------------------------------------------------------------ the files */

/* prog on $PATH (into out[n]): 0, or -1 when there is none. */
static int find_program(const char *prog, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, n, "%.*s/%s", (int)(len ? len : 1), len ? path : ".", prog);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
        path += len + (colon != NULL);
        if (!colon) break;
    }
    return -1;
}

samc_status gp_start(gpfiles *f, const char *dir, const char *out, int keep, char *err)
{
    memset(f, 0, sizeof *f);
    SAMC_CHECK(find_program("gnuplot", f->gnuplot, sizeof f->gnuplot) == 0, SAMC_EINVAL,
               "gnuplot not found: install gnuplot-nox");
    samc_status st = dir ? samc_make_dir(dir, err) : SAMC_OK;
    if (st != SAMC_OK) return st;
    const char *tdir = getenv("TMPDIR");
    snprintf(f->tmp, sizeof f->tmp, "%s/samc-plot-XXXXXX", tdir && *tdir ? tdir : "/tmp");
    if (!mkdtemp(f->tmp)) {
        st = samc_errf(err, SAMC_EIO, "cannot create a temporary directory %s: %s", f->tmp, strerror(errno));
        f->tmp[0] = 0;
        return st;
    }
    f->keep = keep;
    snprintf(f->errpath, sizeof f->errpath, "%s/gnuplot.err", f->tmp);
    if (keep) {
        int stem = (int)strlen(out) - 4; /* without .png / .svg */
        snprintf(f->data, sizeof f->data, "%.*s.dat", stem, out);
        snprintf(f->script, sizeof f->script, "%.*s.gp", stem, out);
    } else {
        snprintf(f->data, sizeof f->data, "%s/data.txt", f->tmp);
        snprintf(f->script, sizeof f->script, "%s/plot.gp", f->tmp);
    }
    f->df = fopen(f->data, "w");
    f->g = fopen(f->script, "w");
    SAMC_CHECK(f->df && f->g, SAMC_EIO, "cannot write %s: %s", f->df ? f->script : f->data, strerror(errno));
    return SAMC_OK;
}

samc_status gp_start_for(gpfiles *f, const char *out, int keep, char *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = 0;
    return gp_start(f, slash && slash != dir ? dir : NULL, out, keep, err);
}

/* The last non-empty line of a file (what gnuplot says went wrong). */
static void last_line(const char *path, char *b, size_t n)
{
    b[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p && strcmp(p, "^")) snprintf(b, n, "%.300s", p);
    }
    fclose(f);
}

static samc_status run_gnuplot(const char *gnuplot, const char *script, const char *errpath, char *err)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    SAMC_CHECK(pid >= 0, SAMC_EIO, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || e < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(e, 2);
        execl(gnuplot, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        SAMC_CHECK(errno == EINTR, SAMC_EIO, "waiting for gnuplot: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return SAMC_OK;
    char msg[600];
    last_line(errpath, msg, sizeof msg);
    SAMC_CHECK(!WIFSIGNALED(status), SAMC_EIO, "gnuplot was killed by signal %d", WTERMSIG(status));
    return samc_errf(err, SAMC_EIO, "gnuplot failed (exit %d)%s%s", WEXITSTATUS(status), msg[0] ? ": " : "", msg);
}

samc_status gp_run(gpfiles *f, char *err)
{
    int werr = 0;
    if (f->df) werr |= ferror(f->df) | (fclose(f->df) != 0);
    if (f->g) werr |= ferror(f->g) | (fclose(f->g) != 0);
    f->df = f->g = NULL;
    SAMC_CHECK(!werr, SAMC_EIO, "cannot write the gnuplot files %s, %s", f->script, f->data);
    return run_gnuplot(f->gnuplot, f->script, f->errpath, err);
}

samc_status gp_draw(gpfiles *f, const char *out, char *err)
{
    samc_status st = gp_run(f, err);
    if (st != SAMC_OK) return st;
    struct stat sb;
    SAMC_CHECK(stat(out, &sb) == 0 && sb.st_size > 0, SAMC_EIO, "gnuplot exited normally but wrote no %s", out);
    return SAMC_OK;
}

void gp_cleanup(gpfiles *f)
{
    if (f->df) fclose(f->df);
    if (f->g) fclose(f->g);
    f->df = f->g = NULL;
    if (!f->tmp[0]) return;
    if (!f->keep) {
        unlink(f->data);
        unlink(f->script);
    }
    unlink(f->errpath);
    rmdir(f->tmp);
}
