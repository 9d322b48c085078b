/* The training loop: enqueue steps, read losses only at log points, run
 * periodic metrics when asked, then evaluate and write the outputs.
 *
 * Log points are also where the run guards itself: the host is waiting
 * anyway, so it reads both networks back, refuses non-finite state
 * (divergence), and every CLGAN_CHECKPOINT_EVERY_LOGS rows writes the
 * checked state as the run's checkpoint. A checkpoint therefore never holds
 * state that was not checked, and the last one written is "the last good
 * checkpoint" a diverged run names. */
#include "clgan/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clgan/checkpoint.h"
#include "clgan/evaluate.h"
#include "clgan/gan.h"
#include "history.h"
#include "outputs.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct loop_state {
  clgan_gan *gan;
  const clgan_train_options *opts;
  clgan_history history;
  clgan_progress progress;
  double start_s, eval_s; /* eval_s: time spent in periodic metrics, not training */
  uint64_t start_step;    /* where this session began (a resumed run's checkpoint step) */
  char checkpoint_path[4200];
  /* The last checkpoint known to hold good state: one this run wrote, or
   * the one it resumed from. */
  char good_path[4200];
  uint64_t good_step;
  bool have_good;
  bool saved_here; /* this session wrote checkpoint_path at step saved_step */
  uint64_t saved_step;
} loop_state;

static void report_progress(loop_state *ls, bool logged) {
  if (!ls->opts->progress)
    return;
  clgan_progress *p = &ls->progress;
  p->step = ls->gan->step;
  p->epoch = ls->gan->step == 0 ? 1 : (ls->gan->step - 1) / ls->gan->steps_per_epoch + 1;
  p->elapsed_s = now_s() - ls->start_s - ls->eval_s;
  p->steps_per_s = p->elapsed_s > 0 ? (double)(p->step - ls->start_step) / p->elapsed_s : 0.0;
  p->logged = logged;
  ls->opts->progress(ls->opts->progress_ctx, p);
}

static clgan_status diverged(loop_state *ls, const char *what, clgan_error *err) {
  char last[4400];
  if (ls->have_good)
    snprintf(last, sizeof last, "the last good checkpoint is %s (step %llu)", ls->good_path,
             (unsigned long long)ls->good_step);
  else
    snprintf(last, sizeof last, "no checkpoint was written before it");
  return clgan_fail(err, CLGAN_E_RUNTIME,
                    "training diverged at step %llu: %s; %s; try a smaller learning rate",
                    (unsigned long long)ls->gan->step, what, last);
}

/* Reads both networks back; refuses non-finite state; writes the
 * checkpoint when asked. */
static clgan_status guard_state(loop_state *ls, const float *losses, bool write, clgan_error *err) {
  clgan_checkpoint ck;
  CLGAN_TRY(clgan_checkpoint_capture(ls->gan, &ck, err));
  char what[512];
  clgan_status st = CLGAN_OK;
  if (!clgan_checkpoint_is_finite(&ck, what, sizeof what)) {
    st = diverged(ls, what, err);
  } else if (losses && (!isfinite(losses[0]) || !isfinite(losses[1]))) {
    bool d_bad = !isfinite(losses[0]);
    snprintf(what, sizeof what, "the %s loss is %g", d_bad ? "discriminator" : "generator",
             (double)(d_bad ? losses[0] : losses[1]));
    st = diverged(ls, what, err);
  } else if (write) {
    st = clgan_checkpoint_write(ls->checkpoint_path, &ck, err);
    if (st == CLGAN_OK) {
      snprintf(ls->good_path, sizeof ls->good_path, "%s", ls->checkpoint_path);
      ls->good_step = ck.step;
      ls->have_good = true;
      ls->saved_here = true;
      ls->saved_step = ck.step;
    }
  }
  clgan_checkpoint_free(&ck);
  return st;
}

/* A history row: read the losses and the state (the only wait in the
 * loop), check them, add periodic metrics when due, checkpoint when due. */
static clgan_status log_step(loop_state *ls, bool checkpoint_due, clgan_error *err) {
  clgan_gan *gan = ls->gan;
  clgan_progress *p = &ls->progress;
  CLGAN_TRY(clgan_gan_read_losses(gan, &p->d_loss, &p->g_loss, err));
  float losses[2] = {p->d_loss, p->g_loss};
  CLGAN_TRY(guard_state(ls, losses, checkpoint_due, err));
  clgan_metrics m, *mp = NULL;
  uint64_t every = gan->cfg.eval.every;
  if (every && gan->step % every == 0) {
    double t = now_s();
    CLGAN_TRY(clgan_evaluate_metrics(gan, &m, err));
    ls->eval_s += now_s() - t;
    mp = &m;
  }
  clgan_history_row(&ls->history, gan->step, p->epoch, p->d_loss, p->g_loss, mp);
  return CLGAN_OK;
}

/* A stop request: the step in flight is done; keep its state and say how
 * to continue. */
static clgan_status interrupt(loop_state *ls, clgan_error *err) {
  clgan_gan *gan = ls->gan;
  CLGAN_TRY(gan->be->ops->finish(gan->be, err));
  if (!ls->saved_here || ls->saved_step != gan->step)
    CLGAN_TRY(guard_state(ls, NULL, true, err));
  if (ls->opts->stopped)
    *ls->opts->stopped = true;
  return clgan_fail(err, CLGAN_E_RUNTIME, "interrupted at step %llu of %llu; checkpoint %s",
                    (unsigned long long)gan->step, (unsigned long long)gan->total_steps,
                    ls->checkpoint_path);
}

static clgan_status run_loop(loop_state *ls, clgan_error *err) {
  clgan_gan *gan = ls->gan;
  const clgan_config *cfg = &gan->cfg;
  uint64_t log_every = cfg->train.log_every, pe = ls->opts->progress_every;
  uint64_t checkpoint_every = log_every * CLGAN_CHECKPOINT_EVERY_LOGS;
  volatile sig_atomic_t *stop = ls->opts->stop;
  ls->progress.total_steps = gan->total_steps;
  ls->progress.epochs = (gan->total_steps + gan->steps_per_epoch - 1) / gan->steps_per_epoch;
  ls->start_step = gan->step;
  ls->start_s = now_s();
  while (gan->step < gan->total_steps) {
    if (stop && *stop)
      return interrupt(ls, err);
    CLGAN_TRY(clgan_gan_step(gan, err));
    bool last = gan->step == gan->total_steps;
    bool due_eval = cfg->eval.every && gan->step % cfg->eval.every == 0;
    if (gan->step % log_every == 0 || last || due_eval) {
      ls->progress.epoch = (gan->step - 1) / gan->steps_per_epoch + 1;
      CLGAN_TRY(log_step(ls, last || gan->step % checkpoint_every == 0, err));
      report_progress(ls, true);
    } else if (pe && gan->step % pe == 0) {
      report_progress(ls, false);
    }
  }
  CLGAN_TRY(gan->be->ops->finish(gan->be, err));
  /* A resumed run with no steps left still leaves its checkpoint here. */
  if (!ls->saved_here || ls->saved_step != gan->step)
    CLGAN_TRY(guard_state(ls, NULL, true, err));
  return CLGAN_OK;
}

static clgan_status train_and_write(clgan_gan *gan, const clgan_train_options *opts,
                                    clgan_run_result *run, clgan_error *err) {
  loop_state ls = {.gan = gan, .opts = opts};
  snprintf(ls.checkpoint_path, sizeof ls.checkpoint_path, "%s/checkpoint.clgan", opts->run_dir);
  if (opts->resume) {
    snprintf(ls.good_path, sizeof ls.good_path, "%s",
             opts->resume_path ? opts->resume_path : "(the resumed checkpoint)");
    ls.good_step = opts->resume->step;
    ls.have_good = true;
  }
  CLGAN_TRY(clgan_history_open(&ls.history, opts->run_dir, err));
  clgan_status st = CLGAN_OK;
  if (opts->resume && opts->resume_history)
    st = clgan_history_copy_rows(&ls.history, opts->resume_history, opts->resume->step, err);
  if (st == CLGAN_OK)
    st = run_loop(&ls, err);
  double train_s = now_s() - ls.start_s - ls.eval_s;
  /* The history holds only checked rows, so it is kept however the loop
   * ended: with the checkpoint it is what a diverged or interrupted run
   * leaves to look at and to resume from. */
  clgan_error history_err = {0};
  clgan_status hst = clgan_history_commit(&ls.history, &history_err);
  if (st != CLGAN_OK)
    return st;
  if (hst != CLGAN_OK) {
    *err = history_err;
    return hst;
  }
  uint64_t steps = gan->step - ls.start_step;
  run->steps = gan->step;
  run->train_wall_s = train_s;
  run->steps_per_s = train_s > 0 ? (double)steps / train_s : 0.0;
  run->final_d_loss = ls.progress.d_loss;
  run->final_g_loss = ls.progress.g_loss;
  st = clgan_evaluate_run(gan, run, err);
  if (st == CLGAN_OK)
    st = clgan_write_run_outputs(opts->run_dir, run, err);
  if (st != CLGAN_OK)
    clgan_run_result_free_densities(run);
  return st;
}

/* Everything that can refuse a resume, before a file is touched. */
static clgan_status start_from_checkpoint(clgan_gan *gan, const clgan_train_options *opts,
                                          clgan_error *err) {
  const clgan_checkpoint *ck = opts->resume;
  const char *path = opts->resume_path ? opts->resume_path : "(checkpoint)";
  CLGAN_TRY(clgan_checkpoint_restore(ck, gan, err));
  if (ck->step > gan->total_steps)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "cannot resume from '%s': it is at step %llu, past the end of this run "
                      "(%llu steps); raise train.max_steps or train.epochs",
                      path, (unsigned long long)ck->step, (unsigned long long)gan->total_steps);
  return CLGAN_OK;
}

clgan_status clgan_train(clgan_backend *be, const clgan_config *cfg,
                         const clgan_train_options *opts, clgan_run_result *run, clgan_error *err) {
  memset(run, 0, sizeof *run);
  run->cfg = cfg;
  snprintf(run->backend_name, sizeof run->backend_name, "%s", be->ops->name);
  snprintf(run->device_name, sizeof run->device_name, "%s", be->device_name);
  if (opts->stopped)
    *opts->stopped = false;
  if (opts->resume)
    CLGAN_TRY(clgan_checkpoint_check_resume(
        opts->resume, opts->resume_path ? opts->resume_path : "(checkpoint)", cfg, err));
  clgan_gan gan;
  size_t g_capacity =
      cfg->eval.samples > cfg->train.batch_size ? cfg->eval.samples : cfg->train.batch_size;
  CLGAN_TRY(clgan_gan_create(be, cfg, g_capacity, &gan, err));
  clgan_status st = opts->resume ? start_from_checkpoint(&gan, opts, err) : CLGAN_OK;
  if (st == CLGAN_OK)
    st = clgan_make_dirs(opts->run_dir, err);
  if (st == CLGAN_OK)
    st = clgan_clear_run_outputs(opts->run_dir, opts->resume != NULL, err);
  if (st == CLGAN_OK)
    st = clgan_write_resolved_config(opts->run_dir, cfg, err);
  if (st == CLGAN_OK)
    st = train_and_write(&gan, opts, run, err);
  clgan_gan_destroy(&gan);
  return st;
}
