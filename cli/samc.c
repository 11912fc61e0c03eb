/*
 * samc.c -- the command-line program: `samc train`, `samc sharpness`, and the
 * dispatch to the other commands (plot; eval, predict, export: ckpt_cmd.h).
 *
 * The flags of both commands are the library's table (include/samc.h,
 * section 11; src/train/config.c): this file reads argv against it, prints
 * the help around its flag lines, and drives the run and the measurement.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samc.h"
#include "ckpt_cmd.h"
#include "flags.h"
#include "plot.h"
#include "report.h"
#include "util/err.h"
#include "dist/dist.h"
#ifdef SAMC_MPI
#include <mpi.h>
#endif

static void print_cmd_help(FILE *f, unsigned cmd)
{
    if (cmd == SAMC_CMD_TRAIN)
        fprintf(f, "usage: samc train [flags]\n\n"
                   "Train a model with the SAM family of optimizers; writes OUT/steps.csv (one row\n"
                   "per step), OUT/metrics.csv (one row per epoch) and OUT/final.ckpt.\n\nflags:\n");
    else
        fprintf(f, "usage: samc sharpness --checkpoint FILE [flags]\n\n"
                   "Measure the flatness of a checkpoint on the first --samples training rows of\n"
                   "its training data, in evaluation mode. The data flags (--data, --data-dir,\n"
                   "--normalize, --train-rows, --val) default to those in config.txt beside the\n"
                   "checkpoint (a run's OUT); data other than the run's is refused. Prints one\n"
                   "line per measure: NAME VALUE [STDERR] (table), or CSV / JSON.\n\nflags:\n");
    samc_config_print_help(f, cmd);
    fprintf(f, "  %-22s this text\n", "--help");
}

static void print_help(FILE *f)
{
    fprintf(f, "samc %s -- sharpness-aware minimization with Polyak step sizes\n\n"
               "usage: samc COMMAND [flags]\n\n"
               "commands:\n"
               "  train        train a model (samc train --help for every flag)\n"
               "  sharpness    measure the flatness of a checkpoint (samc sharpness --help)\n"
               "  eval         test loss, accuracy, per-class accuracy, confusion matrix of a checkpoint\n"
               "  predict      class probabilities of each test sample (csv or npy)\n"
               "  export       a checkpoint as named arrays (npy folder or safetensors) for PyTorch\n"
               "  plot         figures of a run's CSVs with gnuplot (samc plot OUT [--format png|svg])\n\n"
               "  samc --help, samc --version\n",
            SAMC_VERSION);
}

static samc_status parse_args(samc_config *c, unsigned cmd, int argc, char **argv, char *err)
{
    for (int i = 0; i < argc; i++) {
        SAMC_CHECK(!strncmp(argv[i], "--", 2), SAMC_EINVAL, "unexpected argument '%s' (flags start with --)", argv[i]);
        cli_arg a;
        cli_arg_name(argv[i], &a);
        a.flag = samc_config_find(cmd, a.name, a.len);
        samc_status st = cli_arg_value(argc, argv, &i, &a, err);
        if (st != SAMC_OK) return st;
        SAMC_CHECK(a.flag, SAMC_EINVAL, "unknown flag '--%.*s' (see samc %s --help)", (int)a.len, a.name,
                   cmd == SAMC_CMD_TRAIN ? "train" : "sharpness");
        if ((st = samc_config_set(c, a.flag, a.value, err)) != SAMC_OK) return st;
    }
    return SAMC_OK;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

/* Data parallel: when one rank dies, mpirun sends SIGTERM to the others and
 * SIGKILL a second later, while they wait for the dead rank inside a
 * collective, so this handler is all of a rank that still runs: it writes a
 * line prepared beforehand (write(2) is async-signal-safe).  Rank 0 writes
 * it (the line names last.ckpt's step, updated at each checkpoint); rank 1
 * only when rank 0, on the same machine, is gone (lead_pid > 0). */
static char signal_line[1400];
static volatile sig_atomic_t signal_len;
static pid_t lead_pid;

static void on_signal(int sig)
{
    (void)sig;
    samc_train_request_stop();
    size_t n = (size_t)signal_len;
    if (!n || (lead_pid > 0 && kill(lead_pid, 0) == 0)) return;
    signal_len = 0;
    if (write(STDERR_FILENO, signal_line, n) < 0) signal_len = 0;
}

/* Rank 1: the line to write if rank 0 died (ranks on one machine only). */
static void watch_lead(const char *out)
{
#ifdef SAMC_MPI
    long pid = (long)getpid();
    char host[MPI_MAX_PROCESSOR_NAME + 1] = "", lead_host[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0;
    MPI_Get_processor_name(host, &len);
    memcpy(lead_host, host, sizeof host);
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    MPI_Bcast(lead_host, (int)sizeof lead_host, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (samc_dist_rank() != 1 || strcmp(host, lead_host) != 0) return;
    int n = snprintf(signal_line, sizeof signal_line,
                     "samc: error: rank 1 was ended by a signal after rank 0 died (under mpirun); %s/last.ckpt "
                     "holds rank 0's last checkpoint: continue with --resume %s\n", out, out);
    lead_pid = (pid_t)pid;
    if (n > 0 && (size_t)n < sizeof signal_line) signal_len = n;
#else
    (void)out;
#endif
}

static void note_checkpoint(const char *out, int64_t step)
{
    signal_len = 0;
    int n = snprintf(signal_line, sizeof signal_line,
                     "samc: error: rank 0 was ended by a signal (under mpirun: a rank died, or the job was stopped); "
                     "%s/last.ckpt holds step %lld: continue with --resume %s\n", out, (long long)step, out);
    if (n > 0 && (size_t)n < sizeof signal_line) signal_len = n;
}

/* A run's inputs, checked on every rank: flags (defaults < OUT/config.txt
 * with --resume < --config FILE < flags), then the library's set-up of the
 * run (data, model, parameters, OUT and its config.txt on rank 0). */
static samc_status train_prepare(samc_config *c, int argc, char **argv, const char **resume, samc_run **r,
                                 char *err)
{
    const char *config = NULL;
    for (int i = 0; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--resume")) *resume = argv[i + 1];
        if (!strcmp(argv[i], "--config")) config = argv[i + 1];
    }
    samc_status st = samc_config_read_bases(c, *resume, config, err);
    if (st != SAMC_OK) return st;
    if ((st = parse_args(c, SAMC_CMD_TRAIN, argc, argv, err)) != SAMC_OK) return st;
    return samc_run_prepare(r, c, *resume, c->p.quiet ? NULL : stdout, err);
}

/* Data parallel: the cores of a node shared among its ranks, unless the
 * threads are given (--threads, OMP_NUM_THREADS). */
static void share_cores(samc_config *c)
{
#ifdef SAMC_MPI
    if (c->p.threads != 0 || getenv("OMP_NUM_THREADS")) return;
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (local > 1) c->p.threads = cores / local > 1 ? (int)(cores / local) : 1;
#else
    (void)c;
#endif
}

/* --progress auto: a bar when stderr is a terminal, plain lines otherwise --
 * and under an MPI launcher, which may give every rank a pseudo-terminal
 * whatever the output is redirected to (Open MPI does). */
static samc_progress_mode progress_mode(const samc_config *c)
{
    static const char *const launcher_env[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE" };
    if (!strcmp(c->progress, "bar")) return SAMC_PROGRESS_BAR;
    if (!strcmp(c->progress, "lines")) return SAMC_PROGRESS_LINES;
    if (!strcmp(c->progress, "none") || c->p.quiet) return SAMC_PROGRESS_NONE;
    for (size_t i = 0; i < sizeof launcher_env / sizeof *launcher_env; i++)
        if (getenv(launcher_env[i])) return SAMC_PROGRESS_LINES;
    return isatty(STDERR_FILENO) ? SAMC_PROGRESS_BAR : SAMC_PROGRESS_LINES;
}

static void on_checkpoint_mpi(void *user, const char *path, int64_t step)
{
    samc_train_log_callbacks(user).on_checkpoint(user, path, step);
    size_t len = strlen(path);
    if (len >= 10 && !strcmp(path + len - 10, "/last.ckpt")) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%.*s", (int)(len - 10), path);
        note_checkpoint(dir, step);
    }
}

/* The run: the layered trainer (include/samc.h, section 10: init, then its
 * loop of steps and epoch ends), its callbacks printing epoch lines on
 * stdout and progress on stderr. */
static samc_status train_loop(const samc_config *c, samc_run *r, samc_train_log *lg, char *err)
{
    samc_train_callbacks cb = samc_train_log_callbacks(lg);
    if (samc_dist_size() > 1) {   /* the lines a signal prints */
        watch_lead(c->out);
        if (samc_dist_rank() == 0) note_checkpoint(c->out, 0);
        cb = (samc_train_callbacks){ cb.on_step, cb.on_epoch, on_checkpoint_mpi, cb.on_finish, lg };
    }
    samc_status st = samc_run_start(r, &cb, err);
    return st == SAMC_OK ? samc_trainer_fit(samc_run_trainer(r), err) : st;
}

static int cmd_train(int argc, char **argv)
{
    /* data parallel (an MPI build under mpirun): every rank runs this; rank 0
     * (the lead) alone prints and writes files; set-up failures on any rank
     * are agreed below, so every rank exits with the lead's one-line message */
    const int lead = samc_dist_rank() == 0;
    if (wants_help(argc, argv)) {
        if (lead) print_cmd_help(stdout, SAMC_CMD_TRAIN);
        return 0;
    }
    samc_config c;
    samc_config_defaults(&c);
    samc_errbuf err = "";
    const char *resume = NULL;
    samc_run *r = NULL;
    int bad = train_prepare(&c, argc, argv, &resume, &r, err) != SAMC_OK;
    if (samc_dist_agree(bad ? SAMC_EINVAL : SAMC_OK, err) != SAMC_OK) {
        samc_run_free(r);
        return lead ? cli_die(err) : 1;
    }
    share_cores(&c);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    samc_train_log lg = { c.p.quiet ? NULL : stdout, stderr, progress_mode(&c), c.p.progress_s, 0.0, 0 };
    samc_status st = train_loop(&c, r, &lg, err);
    samc_run_free(r);
    if (lg.bar_shown) fputs("\r\033[K", stderr);
    if (st == SAMC_EINTR) {
        if (lead) fprintf(stderr, "samc: %s\n", err);
        return 130;
    }
    if (st != SAMC_OK) return lead ? cli_die(err) : 1;
    if (!c.p.quiet && lead) printf("done: wrote %s/steps.csv, %s/metrics.csv, %s/final.ckpt\n", c.out, c.out, c.out);
    return 0;
}

static int cmd_sharpness(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        print_cmd_help(stdout, SAMC_CMD_SHARPNESS);
        return 0;
    }
    samc_config c;
    samc_config_defaults(&c);
    samc_errbuf err = "";
    if (parse_args(&c, SAMC_CMD_SHARPNESS, argc, argv, err) != SAMC_OK) return cli_die(err);
    if (!c.ckpt[0]) return cli_die("--checkpoint FILE is required (e.g. OUT/final.ckpt)");
    /* precedence: defaults < the data keys of the run's config.txt (beside
     * the checkpoint) < flags */
    char ckpt[sizeof c.ckpt];
    snprintf(ckpt, sizeof ckpt, "%s", c.ckpt);
    samc_config_defaults(&c);
    if (samc_config_read_run_data(&c, ckpt, err) != SAMC_OK || parse_args(&c, SAMC_CMD_SHARPNESS, argc, argv, err) != SAMC_OK)
        return cli_die(err);
    samc_measure_result r;
    char model[128] = "";
    samc_status st = samc_config_measure(&c, &r, model, err);
    sharp_report rep = { c.ckpt, model, c.p.measure.which, &r };
    if (st == SAMC_OK && !strcmp(c.format, "csv")) report_csv(stdout, &rep);
    else if (st == SAMC_OK && !strcmp(c.format, "table")) report_table(stdout, stderr, &rep);
    else if (st == SAMC_OK) st = report_json(stdout, &rep, err);
    return st == SAMC_OK ? 0 : cli_die(err);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("samc %s\n", SAMC_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "train")) {
#ifdef SAMC_MPI
        /* data parallel: mpirun -np K samc train ... (one rank without mpirun) */
        MPI_Init(&argc, &argv);
        int rc = cmd_train(argc - 2, argv + 2);
        MPI_Finalize();
        return rc;
#else
        return cmd_train(argc - 2, argv + 2);
#endif
    }
    if (!strcmp(cmd, "sharpness")) return cmd_sharpness(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot")) return samc_cmd_plot(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return samc_cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "predict")) return samc_cmd_predict(argc - 2, argv + 2);
    if (!strcmp(cmd, "export")) return samc_cmd_export(argc - 2, argv + 2);
    fprintf(stderr, "samc: error: unknown command '%s' (see samc --help)\n", cmd);
    return 2;
}
