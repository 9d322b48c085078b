/* The same config, seed and device give the same run, bit for bit: every
 * random number is counter-based (Philox keyed by seed, stream and step),
 * the dataset shuffle is a keyed permutation, and every reduction runs in
 * a fixed order. Two runs on the OpenCL device must write identical
 * checkpoint bytes and identical metrics; so must two runs on the ref
 * backend. A different seed must give a different run (so the comparison
 * can fail). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clgan/checkpoint.h"
#include "clgan/evaluate.h"
#include "test_util.h"

static clgan_backend *device;
static char dir[64];

static void check_ok(clgan_status st, const clgan_error *err) {
  if (st != CLGAN_OK)
    fail_msg("%s", err->message);
}

typedef struct run_output {
  unsigned char *checkpoint;
  size_t len;
  clgan_metrics metrics;
  float d_loss, g_loss;
} run_output;

static void read_all(const char *path, run_output *out) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  out->len = (size_t)ftell(f);
  rewind(f);
  out->checkpoint = malloc(out->len);
  assert_int_equal(fread(out->checkpoint, 1, out->len, f), out->len);
  fclose(f);
  remove(path);
}

/* 300 steps of the seed network with MBD, then metrics and a checkpoint. */
static run_output run_once(clgan_backend *be, uint64_t seed) {
  clgan_error err = {0};
  clgan_config cfg;
  clgan_config_defaults(&cfg);
  cfg.data.size = 5000;
  cfg.train.seed = seed;
  cfg.train.max_steps = 300;
  cfg.eval.samples = 1000;
  clgan_layer_config *l = &cfg.discriminator.layers[2];
  l->kind = CLGAN_LAYER_MINIBATCH;
  l->mbd.kernels = 5;
  l->mbd.kernel_dim = 3;
  l->mbd.include_self = true;
  l->init_std = 0.02f;
  clgan_gan gan;
  check_ok(clgan_gan_create(be, &cfg, cfg.eval.samples, &gan, &err), &err);
  while (gan.step < gan.total_steps)
    check_ok(clgan_gan_step(&gan, &err), &err);
  run_output out = {0};
  check_ok(clgan_gan_read_losses(&gan, &out.d_loss, &out.g_loss, &err), &err);
  check_ok(clgan_evaluate_metrics(&gan, &out.metrics, &err), &err);
  char path[128];
  snprintf(path, sizeof path, "%s/run.clgan", dir);
  check_ok(clgan_checkpoint_save(path, &gan, &err), &err);
  clgan_gan_destroy(&gan);
  read_all(path, &out);
  return out;
}

static bool same_run(const run_output *a, const run_output *b) {
  return a->len == b->len && memcmp(a->checkpoint, b->checkpoint, a->len) == 0 &&
         memcmp(&a->metrics, &b->metrics, sizeof a->metrics) == 0 && a->d_loss == b->d_loss &&
         a->g_loss == b->g_loss;
}

static void check_backend(clgan_backend *be) {
  run_output a = run_once(be, 7), b = run_once(be, 7), c = run_once(be, 8);
  assert_true(same_run(&a, &b));
  assert_false(same_run(&a, &c));
  free(a.checkpoint);
  free(b.checkpoint);
  free(c.checkpoint);
}

static void test_device_runs_repeat_bit_for_bit(void **state) {
  (void)state;
  check_backend(device);
}

static void test_ref_runs_repeat_bit_for_bit(void **state) {
  (void)state;
  clgan_backend *ref = test_ref_backend();
  check_backend(ref);
  ref->ops->destroy(ref);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/clgan-det-XXXXXX");
  if (!mkdtemp(dir))
    return 99;
  device = test_opencl_backend_or_skip();
  int failed = 0;
  if (device) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_runs_repeat_bit_for_bit),
        cmocka_unit_test(test_ref_runs_repeat_bit_for_bit),
    };
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    device->ops->destroy(device);
  }
  rmdir(dir);
  return failed;
}
