/* End to end on the opencl backend: the GAN must actually learn N(4, 0.5),
 * and a few steps on the device must track the same steps on the ref
 * backend. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "clgan/evaluate.h"
#include "clgan/gan.h"
#include "test_util.h"

static clgan_backend *device;

static void check_ok(clgan_status st, const clgan_error *err) {
  if (st != CLGAN_OK)
    fail_msg("%s", err->message);
}

/* The seed experiment's network on a smaller dataset, with a milder
 * discriminator start (weights N(0, 0.3²) instead of N(0, 1)) and, for
 * MBD, the mean over the batch: the settings under which this GAN learns
 * from most seeds, so the test checks the code rather than one lucky
 * trajectory. */
static clgan_config small_config(bool mbd, size_t steps) {
  clgan_config cfg;
  clgan_config_defaults(&cfg);
  cfg.data.size = 20000;
  cfg.train.max_steps = steps;
  cfg.train.epochs = 1000;
  cfg.eval.samples = 2000;
  for (size_t i = 0; i < cfg.discriminator.n_layers; ++i)
    cfg.discriminator.layers[i].init_std = 0.3f;
  cfg.discriminator.output_init_std = 0.3f;
  if (mbd) {
    clgan_layer_config *l = &cfg.discriminator.layers[2];
    l->kind = CLGAN_LAYER_MINIBATCH;
    l->mbd.kernels = 5;
    l->mbd.kernel_dim = 3;
    l->mbd.include_self = true;
    l->mbd.mean = true;
    l->init_std = 0.02f;
  }
  return cfg;
}

/* GAN training oscillates, so "learns" means: within a bounded number of
 * steps (checked every CHECK_EVERY), the generated mean comes within 0.3
 * of the target's 4.0 and W1 falls below half its starting value; with
 * MBD the spread must also be right (std ratio in [0.5, 2]: no collapse). */
#define MAX_STEPS 8000
#define CHECK_EVERY 250

static void train_and_check(bool mbd) {
  clgan_error err = {0};
  clgan_config cfg = small_config(mbd, MAX_STEPS);
  clgan_gan gan;
  check_ok(clgan_gan_create(device, &cfg, cfg.eval.samples, &gan, &err), &err);
  clgan_metrics before, now;
  check_ok(clgan_evaluate_metrics(&gan, &before, &err), &err);
  bool learned = false;
  while (!learned && gan.step < gan.total_steps) {
    check_ok(clgan_gan_step(&gan, &err), &err);
    if (gan.step % CHECK_EVERY)
      continue;
    float d_loss, g_loss;
    check_ok(clgan_gan_read_losses(&gan, &d_loss, &g_loss, &err), &err);
    assert_true(isfinite(d_loss) && isfinite(g_loss));
    check_ok(clgan_evaluate_metrics(&gan, &now, &err), &err);
    learned = fabs(now.mean - 4.0) < 0.3 && now.w1 < 0.5 * before.w1 &&
              (!mbd || (now.std_ratio > 0.5 && now.std_ratio < 2.0));
  }
  fprintf(stderr, "# %s: after %llu steps mean %.3f, std %.3f, W1 %.3f (from %.3f)\n",
          mbd ? "mbd" : "plain", (unsigned long long)gan.step, now.mean, now.std, now.w1,
          before.w1);
  clgan_gan_destroy(&gan);
  assert_true(learned);
}

static void test_learns_without_mbd(void **state) {
  (void)state;
  train_and_check(false);
}

static void test_learns_with_mbd(void **state) {
  (void)state;
  train_and_check(true);
}

/* Twenty steps on both backends from the same seed: every parameter of
 * both networks stays close. Differences come only from float rounding
 * order (CLBlast vs the double-accumulating reference, device exp/log), so
 * they stay near float epsilon times the growth over the steps. */
static void test_device_tracks_reference(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_config cfg = small_config(true, 20);
  clgan_backend *ref = test_ref_backend();
  clgan_gan a, b;
  check_ok(clgan_gan_create(device, &cfg, cfg.train.batch_size, &a, &err), &err);
  check_ok(clgan_gan_create(ref, &cfg, cfg.train.batch_size, &b, &err), &err);
  while (a.step < a.total_steps) {
    check_ok(clgan_gan_step(&a, &err), &err);
    check_ok(clgan_gan_step(&b, &err), &err);
  }
  clgan_mlp *nets[2][2] = {{&a.g, &b.g}, {&a.d, &b.d}};
  for (int n = 0; n < 2; ++n) {
    float *got = test_download(device, nets[n][0]->params, nets[n][0]->n_params);
    float *want = test_download(ref, nets[n][1]->params, nets[n][1]->n_params);
    assert_int_equal(
        test_compare(n ? "D params" : "G params", got, want, nets[n][0]->n_params, 1e-4f, 1e-3f),
        0);
    free(got);
    free(want);
  }
  clgan_gan_destroy(&a);
  clgan_gan_destroy(&b);
  ref->ops->destroy(ref);
}

int main(void) {
  device = test_opencl_backend_or_skip();
  if (!device)
    return 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_device_tracks_reference),
      cmocka_unit_test(test_learns_without_mbd),
      cmocka_unit_test(test_learns_with_mbd),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  device->ops->destroy(device);
  return failed;
}
