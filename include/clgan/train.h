/* One training run from a resolved config to its output folder:
 * config.yaml, history.csv, metrics.json, densities.csv, plot.png and
 * checkpoint.clgan in opts->run_dir. */
#ifndef CLGAN_TRAIN_H
#define CLGAN_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "clgan/backend.h"
#include "clgan/config.h"
#include "clgan/report.h"

typedef struct clgan_progress {
  uint64_t step, total_steps; /* completed / planned steps */
  uint64_t epoch, epochs;     /* 1-based epoch the step belongs to */
  float d_loss, g_loss;       /* as of the last logged step */
  double elapsed_s, steps_per_s;
  bool logged; /* this call comes with freshly read losses (a history row) */
} clgan_progress;

typedef void (*clgan_progress_fn)(void *ctx, const clgan_progress *p);

typedef struct clgan_train_options {
  const char *run_dir;        /* created if missing */
  clgan_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  uint64_t progress_every;    /* steps between calls without a read; 0 = only at log points */
} clgan_train_options;

/* Trains, evaluates and writes every output. On success *run holds the
 * results (free its densities with clgan_run_result_free_densities);
 * run->cfg points at cfg, which must outlive run. */
clgan_status clgan_train(clgan_backend *be, const clgan_config *cfg,
                         const clgan_train_options *opts, clgan_run_result *run,
                         clgan_error *err);

/* Creates a directory and its parents (like mkdir -p). */
clgan_status clgan_make_dirs(const char *path, clgan_error *err);

#endif
