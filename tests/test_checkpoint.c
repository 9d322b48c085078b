/* Checkpoints on the ref backend: a round trip restores every float and the
 * config; truncated, corrupted, foreign, old-format and inconsistent files
 * are refused with a message that names the file; non-finite state is never
 * written; a resume with another training config is refused naming the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>
#include <zlib.h>

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
  expect_refused("truncated");
  spill(good, 10);
  expect_refused("not usable");
  spill(good, 20);
  expect_refused("truncated");

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

  memcpy(bad, good, len);
  bad[8] = 1; /* a version 1 file: its length field is where v1 kept the YAML length */
  spill(bad, len);
  expect_refused("format version 1; this clgan reads version 2");

  unsigned char *longer = malloc(len + 3);
  memcpy(longer, good, len);
  memcpy(longer + len, "xyz", 3);
  spill(longer, len + 3);
  expect_refused("header says");
  free(longer);

  spill((const unsigned char *)"", 0);
  expect_refused("magic");
  free(bad);
  free(good);
  remove(path);
  expect_refused("cannot read");
}

/* Rewrites the trailing CRC so a doctored file passes the checksum and the
 * deeper checks are what refuse it. */
static void fix_crc(unsigned char *data, size_t len) {
  uint32_t crc = (uint32_t)crc32(0L, data, (uInt)(len - 4));
  memcpy(data + len - 4, &crc, 4);
}

/* Offsets in a version 2 file: magic 8, version 4, flags 4, length 8,
 * hash 8, step 8; then the generator's shape (8 + 32 per layer). */
enum { OFF_G_SHAPE = 40, LAYER_BYTES = 32 };

static void test_inconsistent_files(void **state) {
  (void)state;
  clgan_backend *be = test_ref_backend();
  clgan_gan gan;
  make_checkpoint(be, &gan);
  size_t g_layers = gan.g.n_layers;
  clgan_gan_destroy(&gan);
  be->ops->destroy(be);
  size_t len;
  unsigned char *good = slurp(&len), *bad = malloc(len);

  /* The discriminator's first layer claims 9 outputs where the config builds 8. */
  size_t d_shape = OFF_G_SHAPE + 8 + g_layers * LAYER_BYTES;
  size_t out_dim = d_shape + 8 + 16;
  memcpy(bad, good, len);
  uint64_t nine = 9;
  memcpy(bad + out_dim, &nine, 8);
  fix_crc(bad, len);
  spill(bad, len);
  expect_refused("its discriminator is [dense 1->9 (16 params)");
  expect_refused("but its embedded config builds [dense 1->8 (16 params)");

  /* A changed byte of the embedded YAML no longer matches the config hash. */
  memcpy(bad, good, len);
  unsigned char *name = NULL;
  for (size_t i = 0; !name && i + 12 <= len; ++i)
    if (memcmp(bad + i, "name: \"tiny\"", 12) == 0)
      name = bad + i;
  assert_non_null(name);
  name[7] = 'T';
  fix_crc(bad, len);
  spill(bad, len);
  expect_refused("config hash");

  /* A parameter count that disagrees with the shapes. */
  memcpy(bad, good, len);
  uint64_t step;
  memcpy(&step, good + 32, 8);
  assert_int_equal(step, 7);
  memcpy(bad, good, len);
  bad[d_shape] = 0; /* zero layers */
  fix_crc(bad, len);
  spill(bad, len);
  expect_refused("malformed network shapes");
  free(bad);
  free(good);
}

/* Every truncation and every flipped byte is refused; with the checksum
 * patched to match, a flip is either refused or harmless (a changed weight)
 * but never read out of bounds (run under ASan in tools/test's sanitizer
 * build). */
static void test_every_damage(void **state) {
  (void)state;
  clgan_backend *be = test_ref_backend();
  clgan_gan gan;
  make_checkpoint(be, &gan);
  clgan_gan_destroy(&gan);
  be->ops->destroy(be);
  size_t len;
  unsigned char *good = slurp(&len), *bad = malloc(len);
  clgan_error err = {0};
  clgan_checkpoint ck;
  for (size_t cut = 0; cut < len; cut += 13) {
    spill(good, cut);
    assert_int_equal(clgan_checkpoint_load(path, &ck, &err), CLGAN_E_INPUT);
  }
  for (size_t i = 0; i < len; i += 5) {
    memcpy(bad, good, len);
    bad[i] ^= 0x5a;
    spill(bad, len);
    assert_int_equal(clgan_checkpoint_load(path, &ck, &err), CLGAN_E_INPUT);
    if (i + 4 >= len)
      continue; /* the checksum itself */
    fix_crc(bad, len);
    spill(bad, len);
    clgan_status st = clgan_checkpoint_load(path, &ck, &err);
    assert_true(st == CLGAN_OK || st == CLGAN_E_INPUT);
    if (st == CLGAN_OK)
      clgan_checkpoint_free(&ck);
  }
  free(bad);
  free(good);
}

/* A non-finite state is refused and the good file on disk stays as it was. */
static void test_nonfinite_never_written(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = test_ref_backend();
  clgan_gan gan;
  make_checkpoint(be, &gan);
  size_t len;
  unsigned char *before = slurp(&len);
  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_capture(&gan, &ck, &err), &err);
  char what[256];
  assert_true(clgan_checkpoint_is_finite(&ck, what, sizeof what));
  ck.d_state[3] = NAN;
  assert_false(clgan_checkpoint_is_finite(&ck, what, sizeof what));
  if (!strstr(what, "discriminator weights are not finite (1 of"))
    fail_msg("%s", what);
  assert_int_equal(clgan_checkpoint_write(path, &ck, &err), CLGAN_E_RUNTIME);
  assert_non_null(strstr(err.message, "refusing to write"));
  ck.d_state[3] = 0.0f;
  ck.g_state[ck.n_g + 1] = INFINITY; /* generator moment1 */
  assert_false(clgan_checkpoint_is_finite(&ck, what, sizeof what));
  assert_non_null(strstr(what, "generator optimizer state"));
  assert_int_equal(clgan_checkpoint_write(path, &ck, &err), CLGAN_E_RUNTIME);
  size_t len_after;
  unsigned char *after = slurp(&len_after);
  assert_int_equal(len, len_after);
  assert_memory_equal(before, after, len);
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_equal(access(tmp, F_OK), -1);
  free(before);
  free(after);
  clgan_checkpoint_free(&ck);
  clgan_gan_destroy(&gan);
  be->ops->destroy(be);
}

static void expect_resume_refused(const clgan_checkpoint *ck, const clgan_config *cfg,
                                  const char *needle) {
  clgan_error err = {0};
  assert_int_equal(clgan_checkpoint_check_resume(ck, path, cfg, &err), CLGAN_E_INPUT);
  if (!strstr(err.message, needle) || !strstr(err.message, path))
    fail_msg("message '%s' lacks '%s' or the path", err.message, needle);
}

/* Keys that leave the trajectory alone may change; the others are named. */
static void test_resume_compatibility(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = test_ref_backend();
  clgan_gan gan;
  make_checkpoint(be, &gan);
  clgan_gan_destroy(&gan);
  be->ops->destroy(be);
  clgan_checkpoint ck;
  check_ok(clgan_checkpoint_load(path, &ck, &err), &err);

  clgan_config cfg = ck.cfg;
  cfg.train.max_steps = 1000;
  cfg.train.epochs = 9;
  cfg.train.log_every = 3;
  cfg.eval.every = 5;
  cfg.eval.samples = 77;
  cfg.device.backend = CLGAN_BACKEND_OPENCL;
  snprintf(cfg.name, sizeof cfg.name, "renamed");
  check_ok(clgan_checkpoint_check_resume(&ck, path, &cfg, &err), &err);
  uint64_t h1, h2;
  check_ok(clgan_config_training_hash(&ck.cfg, &h1, &err), &err);
  check_ok(clgan_config_training_hash(&cfg, &h2, &err), &err);
  assert_true(h1 == h2);

  cfg = ck.cfg;
  cfg.train.seed = 3;
  expect_resume_refused(&ck, &cfg, "train.seed is 42 in the checkpoint and 3 now");
  check_ok(clgan_config_training_hash(&cfg, &h2, &err), &err);
  assert_true(h1 != h2);

  cfg = ck.cfg;
  cfg.train.g_optimizer.lr = 0.5f;
  expect_resume_refused(&ck, &cfg, "train.g_optimizer.lr is 0.001 in the checkpoint and 0.5 now");

  cfg = ck.cfg;
  cfg.discriminator.layers[1].units = 9;
  expect_resume_refused(&ck, &cfg, "discriminator.layers.1.units is 8 in the checkpoint and 9 now");

  cfg = ck.cfg;
  cfg.data.size = 300;
  expect_resume_refused(&ck, &cfg, "data.size is 200");
  expect_resume_refused(&ck, &cfg, "only name, train.epochs");
  clgan_checkpoint_free(&ck);
}

/* The shapes computed from a config are the ones the MLP builder makes. */
static void test_shapes_of_config(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = test_ref_backend();
  for (int variant = 0; variant < 3; ++variant) {
    clgan_config cfg = tiny_config();
    if (variant >= 1) {
      clgan_layer_config *l = &cfg.discriminator.layers[2];
      l->kind = CLGAN_LAYER_MINIBATCH;
      l->mbd.kernels = 5;
      l->mbd.kernel_dim = 3;
    }
    if (variant == 2) {
      cfg.data.dim = 3;
      cfg.noise.dim = 2;
      cfg.generator.layers[0].units = 7;
    }
    clgan_gan gan;
    check_ok(clgan_gan_create(be, &cfg, cfg.train.batch_size, &gan, &err), &err);
    clgan_net_shape g, d, bg, bd;
    clgan_gan_shapes_of_config(&cfg, &g, &d);
    clgan_net_shape_of_mlp(&gan.g, &bg);
    clgan_net_shape_of_mlp(&gan.d, &bd);
    assert_memory_equal(&g, &bg, sizeof g);
    assert_memory_equal(&d, &bd, sizeof d);
    clgan_gan_destroy(&gan);
  }
  be->ops->destroy(be);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_damaged_files),
      cmocka_unit_test(test_inconsistent_files),
      cmocka_unit_test(test_every_damage),
      cmocka_unit_test(test_nonfinite_never_written),
      cmocka_unit_test(test_resume_compatibility),
      cmocka_unit_test(test_shapes_of_config),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
