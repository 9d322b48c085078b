/* Resuming is exact: a run stopped at any step, saved, loaded into a fresh
 * GAN and continued ends bit for bit where the uninterrupted run ends, on
 * the ref backend (always) and on the OpenCL device (when one exists). The
 * state that makes this true is weights, optimizer moments and the step:
 * every random number is keyed by (seed, stream, step) and the dataset
 * shuffle by the epoch, so nothing else needs saving. Also through
 * clgan_train: a stop request leaves a checkpoint and a history that a
 * resumed run completes into the same files; a run that diverges names the
 * step, the network and the last good checkpoint, which stays as it was;
 * and a resume that would train another run is refused before anything is
 * written. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clgan/checkpoint.h"
#include "clgan/evaluate.h"
#include "clgan/opencl.h"
#include "clgan/train.h"
#include "test_util.h"

static char dir[64];
static clgan_backend *device; /* NULL without an OpenCL device */

static void check_ok(clgan_status st, const clgan_error *err) {
  if (st != CLGAN_OK)
    fail_msg("%s", err->message);
}

/* 10 steps per epoch, so runs cross epochs (reshuffles) and splits land
 * mid-epoch and on epoch boundaries. */
static clgan_config adam_mbd_config(void) {
  clgan_config cfg;
  clgan_config_defaults(&cfg);
  snprintf(cfg.name, sizeof cfg.name, "resume");
  cfg.data.size = 200;
  cfg.data.mean = 0.5f; /* near G's start, so G's gradients are not all zero */
  cfg.train.batch_size = 20;
  cfg.train.epochs = 10;
  cfg.train.max_steps = 45;
  cfg.train.log_every = 5;
  cfg.eval.samples = 200;
  cfg.eval.every = 15;
  cfg.device.backend = CLGAN_BACKEND_REF;
  clgan_layer_config *l = &cfg.discriminator.layers[2];
  l->kind = CLGAN_LAYER_MINIBATCH;
  l->mbd.kernels = 5;
  l->mbd.kernel_dim = 3;
  l->mbd.mean = true; /* bounded features: D does not saturate and G keeps learning */
  l->init_std = 0.02f;
  return cfg;
}

/* SGD keeps its velocity in moment1 and decays its rate with the step. */
static clgan_config sgd_config(void) {
  clgan_config cfg = adam_mbd_config();
  cfg.discriminator.layers[2] = cfg.discriminator.layers[1];
  clgan_optimizer_config *opts[2] = {&cfg.train.d_optimizer, &cfg.train.g_optimizer};
  for (int i = 0; i < 2; ++i) {
    opts[i]->kind = CLGAN_OPT_SGD;
    opts[i]->lr = 0.01f;
    opts[i]->momentum = 0.5f;
    opts[i]->decay_rate = 0.9f;
    opts[i]->decay_steps = 7;
  }
  return cfg;
}

static unsigned char *slurp(const char *file, size_t *len) {
  FILE *f = fopen(file, "rb");
  if (!f)
    fail_msg("cannot read %s", file);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  unsigned char *data = malloc(*len + 1);
  assert_int_equal(fread(data, 1, *len, f), *len);
  fclose(f);
  data[*len] = '\0';
  return data;
}

static void assert_same_file(const char *a, const char *b) {
  size_t la, lb;
  unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
  if (la != lb || memcmp(x, y, la) != 0)
    fail_msg("%s and %s differ", a, b);
  free(x);
  free(y);
}

static void run_to(clgan_gan *gan, uint64_t step) {
  clgan_error err = {0};
  while (gan->step < step)
    check_ok(clgan_gan_step(gan, &err), &err);
}

/* Whole run vs. `split` steps, save, load into a fresh GAN, the rest. */
static void check_split(clgan_backend *be, clgan_config cfg, uint64_t split) {
  clgan_error err = {0};
  char whole_path[128], part_path[128], end_path[128];
  snprintf(whole_path, sizeof whole_path, "%s/whole.clgan", dir);
  snprintf(part_path, sizeof part_path, "%s/part.clgan", dir);
  snprintf(end_path, sizeof end_path, "%s/end.clgan", dir);

  clgan_gan whole;
  check_ok(clgan_gan_create(be, &cfg, cfg.eval.samples, &whole, &err), &err);
  run_to(&whole, whole.total_steps);
  check_ok(clgan_checkpoint_save(whole_path, &whole, &err), &err);

  clgan_gan first;
  check_ok(clgan_gan_create(be, &cfg, cfg.eval.samples, &first, &err), &err);
  run_to(&first, split);
  check_ok(clgan_checkpoint_save(part_path, &first, &err), &err);
  clgan_gan_destroy(&first);

  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_load(part_path, &ck, &err), &err);
  assert_int_equal(ck.step, split);
  clgan_gan second;
  check_ok(clgan_gan_create(be, &ck.cfg, ck.cfg.eval.samples, &second, &err), &err);
  check_ok(clgan_checkpoint_restore(&ck, &second, &err), &err);
  run_to(&second, second.total_steps);
  check_ok(clgan_checkpoint_save(end_path, &second, &err), &err);

  /* Every weight and moment, bit for bit (the files hold all of them). */
  clgan_checkpoint a, b;
  check_ok(clgan_checkpoint_capture(&whole, &a, &err), &err);
  check_ok(clgan_checkpoint_capture(&second, &b, &err), &err);
  assert_int_equal(a.step, b.step);
  assert_memory_equal(a.g_state, b.g_state, 3 * a.n_g * sizeof(float));
  assert_memory_equal(a.d_state, b.d_state, 3 * a.n_d * sizeof(float));
  assert_same_file(whole_path, end_path);
  /* ...and the comparison can fail: both networks moved after the split. */
  assert_memory_not_equal(ck.g_state, a.g_state, a.n_g * sizeof(float));
  assert_memory_not_equal(ck.d_state, a.d_state, a.n_d * sizeof(float));
  clgan_checkpoint_free(&a);
  clgan_checkpoint_free(&b);
  clgan_checkpoint_free(&ck);
  clgan_gan_destroy(&whole);
  clgan_gan_destroy(&second);
  remove(whole_path);
  remove(part_path);
  remove(end_path);
}

static void split_runs(clgan_backend *be) {
  check_split(be, adam_mbd_config(), 17); /* mid-epoch */
  check_split(be, adam_mbd_config(), 20); /* on an epoch boundary */
  check_split(be, adam_mbd_config(), 1);
  check_split(be, sgd_config(), 23);
}

/* --- through clgan_train */

typedef struct stopper {
  volatile sig_atomic_t *flag;
  uint64_t at;
} stopper;

/* Plays the signal handler: asks for a stop once step `at` is done. */
static void stop_at(void *ctx, const clgan_progress *p) {
  stopper *s = ctx;
  if (p->step == s->at)
    *s->flag = SIGTERM;
}

static void path_in(char *out, size_t size, const char *run, const char *file) {
  snprintf(out, size, "%s/%s/%s", dir, run, file);
}

static clgan_status train(clgan_backend *be, const clgan_config *cfg, const char *run,
                          clgan_train_options *opts, clgan_run_result *result, clgan_error *err) {
  char run_dir[128];
  snprintf(run_dir, sizeof run_dir, "%s/%s", dir, run);
  opts->run_dir = run_dir;
  clgan_status st = clgan_train(be, cfg, opts, result, err);
  clgan_run_result_free_densities(result);
  return st;
}

static void remove_run(const char *run) {
  static const char *const files[] = {"config.yaml",   "history.csv", "metrics.json",
                                      "densities.csv", "plot.png",    "checkpoint.clgan"};
  char p[192];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i) {
    path_in(p, sizeof p, run, files[i]);
    remove(p);
  }
  snprintf(p, sizeof p, "%s/%s", dir, run);
  rmdir(p);
}

/* Stopped after step 23 (not a log point), resumed into the same folder:
 * the same checkpoint bytes, history and metrics as one run. */
static void interrupt_and_resume(clgan_backend *be) {
  clgan_error err = {0};
  clgan_config cfg = adam_mbd_config();
  clgan_run_result whole_result, resumed_result;
  clgan_train_options opts = {0};
  check_ok(train(be, &cfg, "whole", &opts, &whole_result, &err), &err);

  volatile sig_atomic_t flag = 0;
  bool stopped = false;
  stopper s = {&flag, 23};
  clgan_train_options stop_opts = {.progress = stop_at,
                                   .progress_ctx = &s,
                                   .progress_every = 1,
                                   .stop = &flag,
                                   .stopped = &stopped};
  clgan_run_result partial;
  assert_int_equal(train(be, &cfg, "part", &stop_opts, &partial, &err), CLGAN_E_RUNTIME);
  assert_true(stopped);
  if (!strstr(err.message, "interrupted at step 23 of 45; checkpoint "))
    fail_msg("%s", err.message);
  char ckpt[192], history[192], a[192], b[192];
  path_in(ckpt, sizeof ckpt, "part", "checkpoint.clgan");
  path_in(history, sizeof history, "part", "history.csv");
  path_in(a, sizeof a, "part", "metrics.json");
  assert_int_equal(access(a, F_OK), -1); /* an interrupted run has no metrics */

  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_load(ckpt, &ck, &err), &err);
  assert_int_equal(ck.step, 23);
  clgan_train_options resume_opts = {
      .resume = &ck, .resume_path = ckpt, .resume_history = history, .stopped = &stopped};
  check_ok(train(be, &ck.cfg, "part", &resume_opts, &resumed_result, &err), &err);
  assert_false(stopped);
  assert_int_equal(resumed_result.steps, 45);
  clgan_checkpoint_free(&ck);

  path_in(a, sizeof a, "whole", "checkpoint.clgan");
  path_in(b, sizeof b, "part", "checkpoint.clgan");
  assert_same_file(a, b);
  path_in(a, sizeof a, "whole", "history.csv");
  path_in(b, sizeof b, "part", "history.csv");
  assert_same_file(a, b);
  assert_memory_equal(&whole_result.metrics, &resumed_result.metrics, sizeof whole_result.metrics);
  remove_run("whole");
  remove_run("part");
}

static void test_ref_split(void **state) {
  (void)state;
  clgan_backend *ref = test_ref_backend();
  split_runs(ref);
  ref->ops->destroy(ref);
}

static void test_ref_interrupt_and_resume(void **state) {
  (void)state;
  clgan_backend *ref = test_ref_backend();
  interrupt_and_resume(ref);
  ref->ops->destroy(ref);
}

static void test_device_split(void **state) {
  (void)state;
  split_runs(device);
}

static void test_device_interrupt_and_resume(void **state) {
  (void)state;
  interrupt_and_resume(device);
}

/* Poisoned optimizer state (a negative second moment) makes the next
 * update NaN: the run stops at its next log point naming the network, and
 * the checkpoint it resumed from, in the same folder, stays as it was. */
static void test_divergence_keeps_last_good_checkpoint(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = test_ref_backend();
  clgan_config cfg = adam_mbd_config();
  cfg.train.max_steps = 20;
  clgan_run_result result;
  clgan_train_options opts = {0};
  check_ok(train(be, &cfg, "good", &opts, &result, &err), &err);
  char ckpt[192], history[192];
  path_in(ckpt, sizeof ckpt, "good", "checkpoint.clgan");
  path_in(history, sizeof history, "good", "history.csv");
  size_t len;
  unsigned char *before = slurp(ckpt, &len);

  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_load(ckpt, &ck, &err), &err);
  for (uint64_t i = 0; i < ck.n_d; ++i)
    ck.d_state[2 * ck.n_d + i] = -1.0f;
  clgan_config longer = ck.cfg;
  longer.train.max_steps = 45;
  clgan_train_options resume_opts = {.resume = &ck, .resume_path = ckpt, .resume_history = history};
  assert_int_equal(train(be, &longer, "good", &resume_opts, &result, &err), CLGAN_E_RUNTIME);
  /* NaN from D's update reaches G within the step, so both are named. */
  char want[400];
  snprintf(want, sizeof want, "discriminator weights are not finite (");
  if (!strstr(err.message, "training diverged at step 25: ") || !strstr(err.message, want) ||
      !strstr(err.message, "generator weights are not finite"))
    fail_msg("message '%s' lacks the step or '%s'", err.message, want);
  snprintf(want, sizeof want, "the last good checkpoint is %s (step 20)", ckpt);
  if (!strstr(err.message, want))
    fail_msg("message '%s' lacks '%s'", err.message, want);
  size_t len_after;
  unsigned char *after = slurp(ckpt, &len_after);
  assert_int_equal(len, len_after);
  assert_memory_equal(before, after, len);
  /* The history up to the divergence is kept for a look. */
  unsigned char *rows = slurp(history, &len);
  assert_non_null(strstr((char *)rows, "\n20,2,"));
  assert_null(strstr((char *)rows, "\n25,"));
  free(rows);
  free(before);
  free(after);
  clgan_checkpoint_free(&ck);
  remove_run("good");
  be->ops->destroy(be);
}

/* Refusals come before any file is touched: the run folder is not even
 * created. */
static void test_refused_resume_writes_nothing(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = test_ref_backend();
  clgan_config cfg = adam_mbd_config();
  cfg.train.max_steps = 20;
  clgan_run_result result;
  clgan_train_options opts = {0};
  check_ok(train(be, &cfg, "src", &opts, &result, &err), &err);
  char ckpt[192], fresh[128];
  path_in(ckpt, sizeof ckpt, "src", "checkpoint.clgan");
  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_load(ckpt, &ck, &err), &err);
  clgan_train_options resume_opts = {.resume = &ck, .resume_path = ckpt};

  clgan_config other = ck.cfg;
  other.train.seed = 5;
  assert_int_equal(train(be, &other, "fresh", &resume_opts, &result, &err), CLGAN_E_INPUT);
  assert_non_null(strstr(err.message, "train.seed is 42 in the checkpoint and 5 now"));

  other = ck.cfg;
  other.train.max_steps = 10;
  assert_int_equal(train(be, &other, "fresh", &resume_opts, &result, &err), CLGAN_E_INPUT);
  assert_non_null(strstr(err.message, "past the end of this run"));

  snprintf(fresh, sizeof fresh, "%s/fresh", dir);
  struct stat sb;
  assert_int_equal(stat(fresh, &sb), -1);

  /* A resume with no steps left rewrites the outputs and the same checkpoint. */
  size_t len;
  unsigned char *before = slurp(ckpt, &len);
  check_ok(train(be, &ck.cfg, "fresh", &resume_opts, &result, &err), &err);
  char copy[192];
  path_in(copy, sizeof copy, "fresh", "checkpoint.clgan");
  assert_same_file(ckpt, copy);
  free(before);
  clgan_checkpoint_free(&ck);
  remove_run("src");
  remove_run("fresh");
  be->ops->destroy(be);
}

/* The OpenCL backend only when a device exists; the ref tests run anyway
 * (test_opencl_backend_or_skip would skip the whole program). */
static clgan_backend *device_if_any(void) {
  clgan_error err = {0};
  clgan_cl_inventory inv = {0};
  if (clgan_cl_inventory_load(&inv, &err) != CLGAN_OK)
    return NULL;
  size_t n = inv.n_devices;
  clgan_cl_inventory_free(&inv);
  return n ? test_opencl_backend_or_skip() : NULL;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/clgan-resume-XXXXXX");
  if (!mkdtemp(dir))
    return 99;
  device = device_if_any();
  const struct CMUnitTest ref_tests[] = {
      cmocka_unit_test(test_ref_split),
      cmocka_unit_test(test_ref_interrupt_and_resume),
      cmocka_unit_test(test_divergence_keeps_last_good_checkpoint),
      cmocka_unit_test(test_refused_resume_writes_nothing),
  };
  const struct CMUnitTest all_tests[] = {
      cmocka_unit_test(test_ref_split),
      cmocka_unit_test(test_ref_interrupt_and_resume),
      cmocka_unit_test(test_divergence_keeps_last_good_checkpoint),
      cmocka_unit_test(test_refused_resume_writes_nothing),
      cmocka_unit_test(test_device_split),
      cmocka_unit_test(test_device_interrupt_and_resume),
  };
  /* cmocka reports skip() as "not ok # SKIP", which meson counts as a
   * failure: without a device the device cases are left out instead. */
  int failed;
  if (device) {
    failed = cmocka_run_group_tests(all_tests, NULL, NULL);
    device->ops->destroy(device);
  } else {
    printf("# no OpenCL device: the device cases do not run\n");
    failed = cmocka_run_group_tests(ref_tests, NULL, NULL);
  }
  rmdir(dir);
  return failed;
}
