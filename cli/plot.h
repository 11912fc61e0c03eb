/*
 * plot.h -- `samc plot OUT [--format png|svg] [--out DIR]`: figures of a
 * training run (OUT/steps.csv, OUT/metrics.csv) drawn with gnuplot.
 */
#ifndef SAMC_CLI_PLOT_H
#define SAMC_CLI_PLOT_H

/* argv holds the arguments after "plot"; returns the process exit status
 * (0, or 1 after one line "samc: error: ..." on stderr). */
int samc_cmd_plot(int argc, char **argv);

#endif
