/* The training loop: enqueue steps, read losses only at log points, run
 * periodic metrics when asked, then evaluate and write the outputs. */
#include "clgan/train.h"

#include <math.h>
#include <string.h>
#include <time.h>

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
} loop_state;

static void report_progress(loop_state *ls, bool logged) {
  if (!ls->opts->progress)
    return;
  clgan_progress *p = &ls->progress;
  p->step = ls->gan->step;
  p->epoch = ls->gan->step == 0 ? 1 : (ls->gan->step - 1) / ls->gan->steps_per_epoch + 1;
  p->elapsed_s = now_s() - ls->start_s - ls->eval_s;
  p->steps_per_s = p->elapsed_s > 0 ? (double)p->step / p->elapsed_s : 0.0;
  p->logged = logged;
  ls->opts->progress(ls->opts->progress_ctx, p);
}

/* A history row: read the losses (the only wait in the loop), check them,
 * and add periodic metrics when due. */
static clgan_status log_step(loop_state *ls, clgan_error *err) {
  clgan_gan *gan = ls->gan;
  clgan_progress *p = &ls->progress;
  CLGAN_TRY(clgan_gan_read_losses(gan, &p->d_loss, &p->g_loss, err));
  if (!isfinite(p->d_loss) || !isfinite(p->g_loss))
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "training diverged at step %llu: %s loss is %g; no results were written "
                      "(try a smaller learning rate)",
                      (unsigned long long)gan->step, isfinite(p->d_loss) ? "generator" : "discriminator",
                      (double)(isfinite(p->d_loss) ? p->g_loss : p->d_loss));
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

static clgan_status run_loop(loop_state *ls, clgan_error *err) {
  clgan_gan *gan = ls->gan;
  const clgan_config *cfg = &gan->cfg;
  uint64_t log_every = cfg->train.log_every, pe = ls->opts->progress_every;
  ls->progress.total_steps = gan->total_steps;
  ls->progress.epochs = (gan->total_steps + gan->steps_per_epoch - 1) / gan->steps_per_epoch;
  ls->start_s = now_s();
  while (gan->step < gan->total_steps) {
    CLGAN_TRY(clgan_gan_step(gan, err));
    bool last = gan->step == gan->total_steps;
    bool due_eval = cfg->eval.every && gan->step % cfg->eval.every == 0;
    if (gan->step % log_every == 0 || last || due_eval) {
      ls->progress.epoch = (gan->step - 1) / gan->steps_per_epoch + 1;
      CLGAN_TRY(log_step(ls, err));
      report_progress(ls, true);
    } else if (pe && gan->step % pe == 0) {
      report_progress(ls, false);
    }
  }
  return gan->be->ops->finish(gan->be, err);
}

static clgan_status train_and_write(clgan_gan *gan, const clgan_train_options *opts,
                                    clgan_run_result *run, clgan_error *err) {
  loop_state ls = {.gan = gan, .opts = opts};
  CLGAN_TRY(clgan_history_open(&ls.history, opts->run_dir, err));
  clgan_status st = run_loop(&ls, err);
  double train_s = now_s() - ls.start_s - ls.eval_s;
  if (st != CLGAN_OK) {
    clgan_history_abandon(&ls.history);
    return st;
  }
  run->steps = gan->step;
  run->train_wall_s = train_s;
  run->steps_per_s = train_s > 0 ? (double)gan->step / train_s : 0.0;
  run->final_d_loss = ls.progress.d_loss;
  run->final_g_loss = ls.progress.g_loss;
  st = clgan_evaluate_run(gan, run, err);
  if (st == CLGAN_OK)
    st = clgan_write_run_outputs(opts->run_dir, gan, run, err);
  if (st == CLGAN_OK)
    return clgan_history_commit(&ls.history, err);
  clgan_history_abandon(&ls.history);
  clgan_run_result_free_densities(run);
  return st;
}

clgan_status clgan_train(clgan_backend *be, const clgan_config *cfg,
                         const clgan_train_options *opts, clgan_run_result *run,
                         clgan_error *err) {
  memset(run, 0, sizeof *run);
  run->cfg = cfg;
  snprintf(run->backend_name, sizeof run->backend_name, "%s", be->ops->name);
  snprintf(run->device_name, sizeof run->device_name, "%s", be->device_name);
  CLGAN_TRY(clgan_make_dirs(opts->run_dir, err));
  CLGAN_TRY(clgan_write_resolved_config(opts->run_dir, cfg, err));
  clgan_gan gan;
  size_t g_capacity = cfg->eval.samples > cfg->train.batch_size ? cfg->eval.samples
                                                                 : cfg->train.batch_size;
  CLGAN_TRY(clgan_gan_create(be, cfg, g_capacity, &gan, err));
  clgan_status st = train_and_write(&gan, opts, run, err);
  clgan_gan_destroy(&gan);
  return st;
}
