/* One training run from a resolved config to its output folder:
 * config.yaml, history.csv, metrics.json, densities.csv, plot.png and
 * checkpoint.clgan in opts->run_dir.
 *
 * Faults. Every history row (each train.log_every steps, the only host
 * sync) also reads both networks back and checks losses, weights and
 * optimizer state for NaN/Inf; checkpoint.clgan is rewritten (atomically)
 * at every row whose step is a multiple of CLGAN_CHECKPOINT_EVERY_LOGS ·
 * log_every, and at the end. So a checkpoint on disk always holds finite,
 * checked state, and a diverged run names the step, the network and the
 * last good checkpoint. */
#ifndef CLGAN_TRAIN_H
#define CLGAN_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "clgan/backend.h"
#include "clgan/checkpoint.h"
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

/* Periodic checkpoints: every this many history rows. */
#define CLGAN_CHECKPOINT_EVERY_LOGS 10

typedef struct clgan_train_options {
  const char *run_dir;        /* created if missing */
  clgan_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  uint64_t progress_every; /* steps between calls without a read; 0 = only at log points */
  /* Stop request, polled before every step (may be NULL). When it is
   * non-zero the run finishes the step in flight, writes checkpoint.clgan
   * and history.csv, sets *stopped and fails with CLGAN_E_RUNTIME
   * ("interrupted at step N of T; checkpoint PATH"). A signal handler may set it
   * (see clgan_stop_on_signals). */
  volatile sig_atomic_t *stop;
  bool *stopped; /* may be NULL */
  /* Continue from this checkpoint (NULL: a fresh run). Its config must
   * pass clgan_checkpoint_check_resume against cfg and its step must not be
   * past the run's end. resume_path names it in messages; history.csv rows
   * up to its step are copied from resume_history when that file exists
   * (NULL: none), so the history reads as one run. */
  const clgan_checkpoint *resume;
  const char *resume_path;
  const char *resume_history;
} clgan_train_options;

/* Trains, evaluates and writes every output. On success *run holds the
 * results (free its densities with clgan_run_result_free_densities);
 * run->cfg points at cfg, which must outlive run. A resumed run's steps are
 * the total; its wall time and steps/s cover only this session. Nothing is
 * written when a resume is refused. */
clgan_status clgan_train(clgan_backend *be, const clgan_config *cfg,
                         const clgan_train_options *opts, clgan_run_result *run, clgan_error *err);

/* Installs SIGINT and SIGTERM handlers that store the signal number in a
 * flag (returned) for clgan_train_options.stop. Each handler fires once,
 * then the default action is back, so a second Ctrl-C ends the process at
 * once. A signal ignored at startup (nohup, background jobs) stays
 * ignored. clgan_stop_signals_restore puts the previous handlers back. */
volatile sig_atomic_t *clgan_stop_on_signals(void);
void clgan_stop_signals_restore(void);

/* Creates a directory and its parents (like mkdir -p). */
clgan_status clgan_make_dirs(const char *path, clgan_error *err);

#endif
