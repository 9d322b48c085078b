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

/* The seed experiment's network on a smaller dataset. */
static clgan_config small_config(bool mbd, size_t steps) {
  clgan_config cfg;
  clgan_config_defaults(&cfg);
  cfg.data.size = 20000;
  cfg.train.max_steps = steps;
  cfg.train.epochs = 1000;
  cfg.eval.samples = 2000;
  if (mbd) {
    clgan_layer_config *l = &cfg.discriminator.layers[2];
    l->kind = CLGAN_LAYER_MINIBATCH;
    l->mbd.kernels = 5;
    l->mbd.kernel_dim = 3;
    l->mbd.include_self = true;
    l->mbd.mean = false;
    l->init_std = 0.02f;
  }
  return cfg;
}

static void train_and_check(bool mbd) {
  clgan_error err = {0};
  /* 3000 steps of batch 50 (the seed's Adam 1e-3) move the generated mean
   * from G's initial output to the target on this network. */
  clgan_config cfg = small_config(mbd, 3000);
  clgan_gan gan;
  check_ok(clgan_gan_create(device, &cfg, cfg.eval.samples, &gan, &err), &err);
  clgan_metrics before, after;
  check_ok(clgan_evaluate_metrics(&gan, &before, &err), &err);
  while (gan.step < gan.total_steps)
    check_ok(clgan_gan_step(&gan, &err), &err);
  float d_loss, g_loss;
  check_ok(clgan_gan_read_losses(&gan, &d_loss, &g_loss, &err), &err);
  check_ok(clgan_evaluate_metrics(&gan, &after, &err), &err);
  fprintf(stderr, "# %s: mean %.3f -> %.3f, std %.3f -> %.3f, W1 %.3f -> %.3f, losses D %.3f G %.3f\n",
          mbd ? "mbd" : "plain", before.mean, after.mean, before.std, after.std, before.w1,
          after.w1, (double)d_loss, (double)g_loss);
  clgan_gan_destroy(&gan);
  assert_true(isfinite(d_loss) && isfinite(g_loss));
  assert_true(fabs(after.mean - 4.0) < 0.3);
  assert_true(after.w1 < 0.5 * before.w1);
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
    assert_int_equal(test_compare(n ? "D params" : "G params", got, want, nets[n][0]->n_params,
                                  1e-4f, 1e-3f),
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
