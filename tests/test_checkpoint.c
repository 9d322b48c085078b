/* Checkpoints on the ref backend: a round trip restores every float and the
 * config; truncated, corrupted and foreign files are refused with a
 * message that names the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clgan/checkpoint.h"
#include "test_util.h"

static char dir[64], path[128];

static void check_ok(clgan_status st, const clgan_error *err) {
  if (st != CLGAN_OK)
    fail_msg("%s", err->message);
}

static clgan_config tiny_config(void) {
  clgan_config cfg;
  clgan_config_defaults(&cfg);
  cfg.data.size = 200;
  cfg.train.max_steps = 7;
  cfg.eval.samples = 100;
  snprintf(cfg.name, sizeof cfg.name, "tiny");
  return cfg;
}

/* A GAN trained for a few steps, saved to `path`. */
static void make_checkpoint(clgan_backend *be, clgan_gan *gan) {
  clgan_error err = {0};
  clgan_config cfg = tiny_config();
  check_ok(clgan_gan_create(be, &cfg, cfg.train.batch_size, gan, &err), &err);
  while (gan->step < gan->total_steps)
    check_ok(clgan_gan_step(gan, &err), &err);
  check_ok(clgan_checkpoint_save(path, gan, &err), &err);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/clgan-ckpt-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(path, sizeof path, "%s/c.clgan", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  remove(path);
  rmdir(dir);
  return 0;
}

static void test_round_trip(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = test_ref_backend();
  clgan_gan gan, fresh;
  make_checkpoint(be, &gan);
  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_load(path, &ck, &err), &err);
  assert_int_equal(ck.step, 7);
  assert_string_equal(ck.cfg.name, "tiny");
  assert_int_equal(ck.cfg.data.size, 200);
  check_ok(clgan_gan_create(be, &ck.cfg, ck.cfg.train.batch_size, &fresh, &err), &err);
  check_ok(clgan_checkpoint_restore(&ck, &fresh, &err), &err);
  assert_int_equal(fresh.step, 7);
  clgan_mlp *pairs[2][2] = {{&gan.g, &fresh.g}, {&gan.d, &fresh.d}};
  for (int n = 0; n < 2; ++n) {
    clgan_buffer *a[3] = {pairs[n][0]->params, pairs[n][0]->moment1, pairs[n][0]->moment2};
    clgan_buffer *b[3] = {pairs[n][1]->params, pairs[n][1]->moment1, pairs[n][1]->moment2};
    for (int k = 0; k < 3; ++k) {
      float *x = test_download(be, a[k], pairs[n][0]->n_params);
      float *y = test_download(be, b[k], pairs[n][1]->n_params);
      assert_memory_equal(x, y, pairs[n][0]->n_params * sizeof(float));
      free(x);
      free(y);
    }
  }
  clgan_checkpoint_free(&ck);
  clgan_gan_destroy(&gan);
  clgan_gan_destroy(&fresh);
  be->ops->destroy(be);
}

static unsigned char *slurp(size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  unsigned char *data = malloc(*len);
  assert_int_equal(fread(data, 1, *len, f), *len);
  fclose(f);
  return data;
}

static void spill(const unsigned char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static void expect_refused(const char *needle) {
  clgan_error err = {0};
  clgan_checkpoint ck;
  assert_int_equal(clgan_checkpoint_load(path, &ck, &err), CLGAN_E_INPUT);
  if (!strstr(err.message, needle) || !strstr(err.message, path))
    fail_msg("message '%s' lacks '%s' or the path", err.message, needle);
}

/* Each damaged variant of a good file is refused. */
static void test_damaged_files(void **state) {
  (void)state;
  clgan_backend *be = test_ref_backend();
  clgan_gan gan;
  make_checkpoint(be, &gan);
  clgan_gan_destroy(&gan);
  be->ops->destroy(be);
  size_t len;
  unsigned char *good = slurp(&len);

  spill(good, len / 2);
  expect_refused("checksum");
  spill(good, 10);
  expect_refused("not usable");

  unsigned char *bad = malloc(len);
  memcpy(bad, good, len);
  bad[len / 2] ^= 0x40;
  spill(bad, len);
  expect_refused("checksum");

  memcpy(bad, good, len);
  bad[0] = 'X';
  spill(bad, len);
  expect_refused("magic");

  memcpy(bad, good, len);
  bad[8] = 99; /* format version */
  spill(bad, len);
  expect_refused("version");

  spill((const unsigned char *)"", 0);
  expect_refused("magic");
  free(bad);
  free(good);
  remove(path);
  expect_refused("cannot read");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_damaged_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
