/* What a run leaves behind for people: metrics.json, densities.csv,
 * plot.png, and for several runs comparison.png and summary.md. */
#ifndef CLGAN_REPORT_H
#define CLGAN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "clgan/config.h"
#include "clgan/metrics.h"
#include "clgan/status.h"

typedef struct clgan_run_result {
  const clgan_config *cfg;
  char backend_name[32]; /* "opencl" or "ref" */
  char device_name[256];
  uint64_t steps;
  double train_wall_s; /* training loop only, setup and eval excluded */
  double steps_per_s;
  size_t eval_samples;
  size_t eval_batch;     /* batch size D(x) was evaluated at */
  clgan_metrics metrics; /* of data dimension 0 */
  /* Densities over cfg->eval bins (all arrays have n_bins entries). */
  size_t n_bins;
  double *bin_centres;
  double *real_density;
  double *gen_density;
  double *d_of_x; /* D(sigmoid) at the bin centres, see README "Evaluating D" */
  float final_d_loss, final_g_loss;
} clgan_run_result;

clgan_status clgan_write_metrics_json(const char *path, const clgan_run_result *run,
                                      clgan_error *err);
clgan_status clgan_write_densities_csv(const char *path, const clgan_run_result *run,
                                       clgan_error *err);
/* One panel: real density, generated density, D(x) (PLplot, cairo PNG). */
clgan_status clgan_plot_run(const char *path, const clgan_run_result *run, clgan_error *err);
/* Runs side by side, one panel each, same axes. */
clgan_status clgan_plot_comparison(const char *path, const clgan_run_result *runs, size_t n_runs,
                                   clgan_error *err);
/* Markdown table, one row per run: name, MBD, W1, KS, JS, mean, std, std ratio, steps, wall time,
 * steps/s. */
clgan_status clgan_write_summary_md(const char *path, const clgan_run_result *runs, size_t n_runs,
                                    clgan_error *err);

#endif
