/* Config loader tests: defaults, the shipped configs, every class of error
 * (status, key and line:column in the message, cfg left untouched),
 * --set overrides, and the emit/load round trip.
 *
 * The shipped configs are found under $CLGAN_SOURCE_ROOT/configs; without
 * that variable the test looks in ./configs and then ../configs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these first */

#include <cmocka.h>

#include "clgan/config.h"

#define SOURCE "test.yaml"

static clgan_status load_with(const char *yaml, const char *const *overrides, size_t n,
                              clgan_config *cfg, clgan_error *err) {
  return clgan_config_load_string(yaml, strlen(yaml), SOURCE, overrides, n, cfg, err);
}

static void assert_contains(const char *haystack, const char *needle) {
  if (!strstr(haystack, needle))
    fail_msg("expected the message to contain \"%s\", got \"%s\"", needle, haystack);
}

/* Loads yaml (with overrides), expects CLGAN_E_INPUT whose message contains
 * each of the NULL-terminated needles, and checks cfg was not touched. */
static void expect_error_v(const char *yaml, const char *const *overrides, size_t n, va_list ap) {
  clgan_config cfg, before;
  memset(&cfg, 0xA5, sizeof cfg);
  memcpy(&before, &cfg, sizeof cfg);
  clgan_error err = {0};
  clgan_status st = load_with(yaml, overrides, n, &cfg, &err);
  if (st != CLGAN_E_INPUT)
    fail_msg("expected CLGAN_E_INPUT for:\n%s\ngot status %d, message \"%s\"", yaml, st,
             err.message);
  assert_int_equal(err.status, CLGAN_E_INPUT);
  for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
    assert_contains(err.message, needle);
  assert_memory_equal(&cfg, &before, sizeof cfg);
}

static void expect_error(const char *yaml, ...) {
  va_list ap;
  va_start(ap, yaml);
  expect_error_v(yaml, NULL, 0, ap);
  va_end(ap);
}

/* expect_error for text that is not a C string (NUL bytes) or is huge. */
static void expect_error_bytes(const char *yaml, size_t len, ...) {
  clgan_config cfg, before;
  memset(&cfg, 0xA5, sizeof cfg);
  memcpy(&before, &cfg, sizeof cfg);
  clgan_error err = {0};
  clgan_status st = clgan_config_load_string(yaml, len, SOURCE, NULL, 0, &cfg, &err);
  if (st != CLGAN_E_INPUT)
    fail_msg("expected CLGAN_E_INPUT, got status %d, message \"%s\"", st, err.message);
  va_list ap;
  va_start(ap, len);
  for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
    assert_contains(err.message, needle);
  va_end(ap);
  assert_memory_equal(&cfg, &before, sizeof cfg);
}

static void expect_override_error(const char *yaml, const char *override, ...) {
  va_list ap;
  va_start(ap, override);
  expect_error_v(yaml, &override, 1, ap);
  va_end(ap);
}

static void load_ok(const char *yaml, const char *const *overrides, size_t n, clgan_config *cfg) {
  clgan_error err = {0};
  clgan_status st = load_with(yaml, overrides, n, cfg, &err);
  if (st != CLGAN_OK)
    fail_msg("load failed: %s", err.message);
}

#define ASSERT_FLOAT_SAME(a, b) assert_memory_equal(&(a), &(b), sizeof(float))

static void assert_layers_equal(const clgan_network_config *a, const clgan_network_config *b) {
  assert_int_equal(a->n_layers, b->n_layers);
  for (size_t i = 0; i < a->n_layers; i++) {
    const clgan_layer_config *x = &a->layers[i], *y = &b->layers[i];
    assert_int_equal(x->kind, y->kind);
    assert_int_equal(x->units, y->units);
    assert_int_equal(x->activation, y->activation);
    ASSERT_FLOAT_SAME(x->slope, y->slope);
    assert_int_equal(x->mbd.kernels, y->mbd.kernels);
    assert_int_equal(x->mbd.kernel_dim, y->mbd.kernel_dim);
    assert_int_equal(x->mbd.include_self, y->mbd.include_self);
    assert_int_equal(x->mbd.mean, y->mbd.mean);
    ASSERT_FLOAT_SAME(x->init_std, y->init_std);
  }
  ASSERT_FLOAT_SAME(a->output_init_std, b->output_init_std);
  assert_int_equal(a->output_activation, b->output_activation);
}

static void assert_optimizers_equal(const clgan_optimizer_config *a,
                                    const clgan_optimizer_config *b) {
  assert_int_equal(a->kind, b->kind);
  ASSERT_FLOAT_SAME(a->lr, b->lr);
  ASSERT_FLOAT_SAME(a->beta1, b->beta1);
  ASSERT_FLOAT_SAME(a->beta2, b->beta2);
  ASSERT_FLOAT_SAME(a->eps, b->eps);
  ASSERT_FLOAT_SAME(a->momentum, b->momentum);
  ASSERT_FLOAT_SAME(a->decay_rate, b->decay_rate);
  assert_int_equal(a->decay_steps, b->decay_steps);
}

/* Field by field, floats bit for bit (padding makes memcmp of the whole
 * struct meaningless). */
static void assert_configs_equal(const clgan_config *a, const clgan_config *b) {
  assert_string_equal(a->name, b->name);
  ASSERT_FLOAT_SAME(a->data.mean, b->data.mean);
  ASSERT_FLOAT_SAME(a->data.std, b->data.std);
  assert_int_equal(a->data.size, b->data.size);
  assert_int_equal(a->data.dim, b->data.dim);
  assert_int_equal(a->noise.params.kind, b->noise.params.kind);
  ASSERT_FLOAT_SAME(a->noise.params.range, b->noise.params.range);
  ASSERT_FLOAT_SAME(a->noise.params.jitter, b->noise.params.jitter);
  ASSERT_FLOAT_SAME(a->noise.params.std, b->noise.params.std);
  assert_int_equal(a->noise.dim, b->noise.dim);
  assert_layers_equal(&a->generator, &b->generator);
  assert_layers_equal(&a->discriminator, &b->discriminator);
  assert_int_equal(a->train.batch_size, b->train.batch_size);
  assert_int_equal(a->train.epochs, b->train.epochs);
  assert_int_equal(a->train.seed, b->train.seed);
  assert_int_equal(a->train.max_steps, b->train.max_steps);
  assert_int_equal(a->train.log_every, b->train.log_every);
  assert_optimizers_equal(&a->train.d_optimizer, &b->train.d_optimizer);
  assert_optimizers_equal(&a->train.g_optimizer, &b->train.g_optimizer);
  assert_int_equal(a->eval.samples, b->eval.samples);
  assert_int_equal(a->eval.every, b->eval.every);
  ASSERT_FLOAT_SAME(a->eval.range_min, b->eval.range_min);
  ASSERT_FLOAT_SAME(a->eval.range_max, b->eval.range_max);
  assert_int_equal(a->eval.bins, b->eval.bins);
  assert_int_equal(a->device.backend, b->device.backend);
  assert_string_equal(a->device.spec, b->device.spec);
}

/* Emits cfg, loads the text back, and checks both the struct and a second
 * emission are identical. */
static void assert_round_trip(const clgan_config *cfg) {
  char *text = clgan_config_to_yaml(cfg);
  assert_non_null(text);
  clgan_config back;
  clgan_error err = {0};
  clgan_status st =
      clgan_config_load_string(text, strlen(text), "emitted.yaml", NULL, 0, &back, &err);
  if (st != CLGAN_OK)
    fail_msg("reloading the emitted config failed: %s\n%s", err.message, text);
  assert_configs_equal(cfg, &back);
  char *again = clgan_config_to_yaml(&back);
  assert_non_null(again);
  assert_string_equal(text, again);
  free(again);
  free(text);
}

/* ---- defaults and names ---------------------------------------------------- */

static void test_defaults(void **state) {
  (void)state;
  clgan_config c;
  clgan_config_defaults(&c);
  assert_string_equal(c.name, "clgan");
  assert_true(c.data.mean == 4.0f && c.data.std == 0.5f);
  assert_int_equal(c.data.size, 1000000);
  assert_int_equal(c.data.dim, 1);
  assert_int_equal(c.noise.params.kind, CLGAN_NOISE_STRATIFIED);
  assert_true(c.noise.params.range == 8.0f && c.noise.params.jitter == 0.01f);
  assert_true(c.noise.params.std == 1.0f);
  assert_int_equal(c.noise.dim, 1);
  assert_int_equal(c.generator.n_layers, 1);
  assert_int_equal(c.generator.layers[0].kind, CLGAN_LAYER_DENSE);
  assert_int_equal(c.generator.layers[0].units, 4);
  assert_int_equal(c.generator.layers[0].activation, CLGAN_ACT_SOFTPLUS);
  assert_true(c.generator.layers[0].init_std == 1.0f);
  assert_true(c.generator.output_init_std == 1.0f);
  assert_int_equal(c.generator.output_activation, CLGAN_ACT_IDENTITY);
  assert_int_equal(c.discriminator.n_layers, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(c.discriminator.layers[i].kind, CLGAN_LAYER_DENSE);
    assert_int_equal(c.discriminator.layers[i].units, 8);
    assert_int_equal(c.discriminator.layers[i].activation, CLGAN_ACT_RELU);
    assert_true(c.discriminator.layers[i].slope == 0.2f);
  }
  assert_false(clgan_config_has_mbd(&c));
  assert_int_equal(c.train.batch_size, 50);
  assert_int_equal(c.train.epochs, 5);
  assert_int_equal(c.train.seed, 42);
  assert_int_equal(c.train.max_steps, 0);
  assert_int_equal(c.train.log_every, 1000);
  const clgan_optimizer_config *o = &c.train.d_optimizer;
  assert_int_equal(o->kind, CLGAN_OPT_ADAM);
  assert_true(o->lr == 0.001f && o->beta1 == 0.9f && o->beta2 == 0.999f && o->eps == 1e-8f);
  assert_true(o->momentum == 0.0f && o->decay_rate == 1.0f && o->decay_steps == 0);
  assert_optimizers_equal(&c.train.d_optimizer, &c.train.g_optimizer);
  assert_int_equal(c.eval.samples, 10000);
  assert_int_equal(c.eval.every, 0);
  assert_true(c.eval.range_min == -8.0f && c.eval.range_max == 8.0f);
  assert_int_equal(c.eval.bins, 99);
  assert_int_equal(c.device.backend, CLGAN_BACKEND_OPENCL);
  assert_string_equal(c.device.spec, "");
}

static void test_activation_names(void **state) {
  (void)state;
  static const char *const names[] = {"identity", "relu",    "leaky_relu",
                                      "tanh",     "sigmoid", "softplus"};
  for (int i = 0; i < CLGAN_ACT_COUNT; i++) {
    assert_string_equal(clgan_activation_name((clgan_activation)i), names[i]);
    assert_int_equal(clgan_activation_from_name(names[i]), i);
  }
  assert_int_equal(clgan_activation_from_name("Relu"), CLGAN_ACT_COUNT);
  assert_int_equal(clgan_activation_from_name(""), CLGAN_ACT_COUNT);
  assert_int_equal(clgan_activation_from_name(NULL), CLGAN_ACT_COUNT);
  assert_non_null(clgan_activation_name(CLGAN_ACT_COUNT));
}

/* An empty mapping is the defaults, named after the source. */
static void test_empty_mapping_is_defaults(void **state) {
  (void)state;
  clgan_config c, d;
  load_ok("{}\n", NULL, 0, &c);
  clgan_config_defaults(&d);
  strcpy(d.name, "test");
  assert_configs_equal(&c, &d);
  load_ok("# only sections without keys\ntrain:\neval: ~\n", NULL, 0, &c);
  assert_configs_equal(&c, &d);
}

static void test_default_name(void **state) {
  (void)state;
  clgan_config c;
  clgan_error err = {0};
  const char *text = "{}";
  assert_int_equal(clgan_config_load_string(text, 2, "runs/exp-7.yml", NULL, 0, &c, &err),
                   CLGAN_OK);
  assert_string_equal(c.name, "exp-7");
  assert_int_equal(clgan_config_load_string(text, 2, NULL, NULL, 0, &c, &err), CLGAN_OK);
  assert_string_equal(c.name, "clgan");
  assert_int_equal(clgan_config_load_string(text, 2, "dir/.yaml", NULL, 0, &c, &err), CLGAN_OK);
  assert_string_equal(c.name, "clgan");
  load_ok("name: my run 1\n", NULL, 0, &c);
  assert_string_equal(c.name, "my run 1");
  /* A base name too long to be a name is only an error if `name` is unset. */
  char source[300];
  memset(source, 'x', 200);
  strcpy(source + 200, ".yaml");
  assert_int_equal(clgan_config_load_string(text, 2, source, NULL, 0, &c, &err), CLGAN_E_INPUT);
  assert_contains(err.message, "set 'name'");
  assert_int_equal(clgan_config_load_string("name: ok", 8, source, NULL, 0, &c, &err), CLGAN_OK);
  assert_string_equal(c.name, "ok");
}

/* ---- the shipped configs --------------------------------------------------- */

static clgan_status load_shipped(const char *file, clgan_config *cfg, clgan_error *err) {
  char path[4096];
  const char *root = getenv("CLGAN_SOURCE_ROOT");
  if (root && root[0]) {
    snprintf(path, sizeof path, "%s/configs/%s", root, file);
  } else {
    snprintf(path, sizeof path, "configs/%s", file);
    if (access(path, R_OK) != 0)
      snprintf(path, sizeof path, "../configs/%s", file);
  }
  return clgan_config_load(path, NULL, 0, cfg, err);
}

static void test_shipped_seed(void **state) {
  (void)state;
  clgan_config c, d;
  clgan_error err = {0};
  if (load_shipped("seed-1d.yaml", &c, &err) != CLGAN_OK)
    fail_msg("%s (set CLGAN_SOURCE_ROOT to the source tree)", err.message);
  /* The seed config spells out exactly the defaults. */
  clgan_config_defaults(&d);
  strcpy(d.name, "seed-1d");
  assert_configs_equal(&c, &d);
  assert_false(clgan_config_has_mbd(&c));
  assert_round_trip(&c);
}

static void test_shipped_seed_mbd(void **state) {
  (void)state;
  clgan_config c, d;
  clgan_error err = {0};
  if (load_shipped("seed-1d-mbd.yaml", &c, &err) != CLGAN_OK)
    fail_msg("%s (set CLGAN_SOURCE_ROOT to the source tree)", err.message);
  assert_string_equal(c.name, "seed-1d-mbd");
  assert_true(clgan_config_has_mbd(&c));
  assert_int_equal(c.discriminator.n_layers, 3);
  const clgan_layer_config *m = &c.discriminator.layers[2];
  assert_int_equal(m->kind, CLGAN_LAYER_MINIBATCH);
  assert_int_equal(m->mbd.kernels, 5);
  assert_int_equal(m->mbd.kernel_dim, 3);
  assert_true(m->mbd.include_self);
  assert_false(m->mbd.mean);
  assert_true(m->init_std == 0.02f);
  /* Everything else is the seed's. */
  clgan_config_defaults(&d);
  strcpy(d.name, "seed-1d-mbd");
  d.discriminator.layers[2] = *m;
  assert_configs_equal(&c, &d);
  assert_round_trip(&c);
}

/* ---- a full config ------------------------------------------------------- */

static const char *const full_yaml =
    "name: full\n"
    "data: {distribution: normal, mean: -1.5, std: 2, size: 5000, dim: 2}\n"
    "noise: {kind: normal, dim: 3, range: 2.5, jitter: 0, std: 0.75}\n"
    "generator:\n"
    "  init_std: 0.5\n"
    "  output_activation: tanh\n"
    "  layers:\n"
    "    - {units: 16, activation: leaky_relu, slope: 0.1}\n"
    "    - {type: dense, units: 8, activation: sigmoid, init_std: 0.25}\n"
    "discriminator:\n"
    "  output_init_std: 0.125\n"
    "  layers:\n"
    "    - {type: minibatch, kernels: 7, kernel_dim: 2, self_term: exclude, reduce: mean}\n"
    "    - {units: 32, activation: relu}\n"
    "train:\n"
    "  d_optimizer: {lr: 0.002}\n" /* before `optimizer`, still applied after it */
    "  batch_size: 100\n"
    "  epochs: 2\n"
    "  seed: 18446744073709551615\n"
    "  max_steps: 77\n"
    "  log_every: 10\n"
    "  optimizer: {kind: sgd, lr: 0.01, momentum: 0.5, decay_rate: 0.9, decay_steps: 100}\n"
    "  g_optimizer: {kind: adam, beta1: 0.5}\n"
    "eval: {samples: 2, every: 5, range: [-3, 3.5], bins: 2}\n"
    "device: {backend: ref, select: '0:1'}\n";

static void test_full_config(void **state) {
  (void)state;
  clgan_config c;
  load_ok(full_yaml, NULL, 0, &c);
  assert_string_equal(c.name, "full");
  assert_true(c.data.mean == -1.5f && c.data.std == 2.0f);
  assert_int_equal(c.data.size, 5000);
  assert_int_equal(c.data.dim, 2);
  assert_int_equal(c.noise.params.kind, CLGAN_NOISE_NORMAL);
  assert_int_equal(c.noise.dim, 3);
  assert_true(c.noise.params.range == 2.5f && c.noise.params.jitter == 0.0f);
  assert_true(c.noise.params.std == 0.75f);

  const clgan_network_config *g = &c.generator;
  assert_int_equal(g->n_layers, 2);
  assert_int_equal(g->layers[0].activation, CLGAN_ACT_LEAKY_RELU);
  assert_true(g->layers[0].slope == 0.1f);
  assert_true(g->layers[0].init_std == 0.5f); /* inherited from the network */
  assert_int_equal(g->layers[1].units, 8);
  assert_true(g->layers[1].init_std == 0.25f); /* its own */
  assert_true(g->output_init_std == 0.5f);     /* defaults to init_std */
  assert_int_equal(g->output_activation, CLGAN_ACT_TANH);

  const clgan_network_config *d = &c.discriminator;
  assert_int_equal(d->n_layers, 2);
  assert_int_equal(d->layers[0].kind, CLGAN_LAYER_MINIBATCH);
  assert_int_equal(d->layers[0].mbd.kernels, 7);
  assert_int_equal(d->layers[0].mbd.kernel_dim, 2);
  assert_false(d->layers[0].mbd.include_self);
  assert_true(d->layers[0].mbd.mean);
  assert_true(d->layers[0].init_std == 0.02f); /* minibatch default, not the network's */
  assert_true(d->layers[1].init_std == 1.0f);
  assert_true(d->output_init_std == 0.125f);
  assert_true(clgan_config_has_mbd(&c));

  assert_int_equal(c.train.batch_size, 100);
  assert_int_equal(c.train.seed, UINT64_MAX);
  assert_int_equal(c.train.max_steps, 77);
  const clgan_optimizer_config *od = &c.train.d_optimizer, *og = &c.train.g_optimizer;
  assert_int_equal(od->kind, CLGAN_OPT_SGD);
  assert_true(od->lr == 0.002f && od->momentum == 0.5f && od->decay_rate == 0.9f);
  assert_int_equal(od->decay_steps, 100);
  assert_int_equal(og->kind, CLGAN_OPT_ADAM);
  assert_true(og->lr == 0.01f && og->beta1 == 0.5f && og->momentum == 0.5f);
  assert_int_equal(c.eval.samples, 2);
  assert_int_equal(c.eval.every, 5);
  assert_true(c.eval.range_min == -3.0f && c.eval.range_max == 3.5f);
  assert_int_equal(c.device.backend, CLGAN_BACKEND_REF);
  assert_string_equal(c.device.spec, "0:1");
  assert_round_trip(&c);
}

/* Text is read up to len, not up to a NUL. */
static void test_length_is_respected(void **state) {
  (void)state;
  const char *text = "train: {epochs: 3}\nthis is not yaml: [";
  clgan_config c;
  clgan_error err = {0};
  size_t len = strlen("train: {epochs: 3}\n");
  assert_int_equal(clgan_config_load_string(text, len, SOURCE, NULL, 0, &c, &err), CLGAN_OK);
  assert_int_equal(c.train.epochs, 3);
}

/* ---- errors -------------------------------------------------------------- */

static void test_error_syntax(void **state) {
  (void)state;
  expect_error("train:\n  epochs: [1, 2\n", "test.yaml:3:1:", "invalid YAML", NULL);
  expect_error("train: {epochs: 1\n", "test.yaml:2:1:", "invalid YAML", NULL);
  expect_error("train:\n\tepochs: 1\n", "test.yaml:2:1:", "invalid YAML", "cannot start any token",
               NULL);
  expect_error("a: \xff\n", "test.yaml:1:4:", "invalid YAML", NULL);
}

static void test_error_empty(void **state) {
  (void)state;
  expect_error("", "test.yaml:1:1: config is empty", NULL);
  expect_error("# nothing here\n\n", "config is empty", NULL);
  expect_error("---\n", "config is empty", NULL);
  expect_error("~\n", "config is empty", NULL);
}

static void test_error_documents_and_top_level(void **state) {
  (void)state;
  expect_error("train: {epochs: 1}\n---\ntrain: {epochs: 2}\n",
               "test.yaml:2:1:", "more than one document", NULL);
  expect_error("- 1\n- 2\n", "test.yaml:1:1:", "top level must be a mapping", "a sequence", NULL);
  expect_error("hello\n", "test.yaml:1:1:", "top level must be a mapping", "'hello'", NULL);
}

static void test_error_unknown_keys(void **state) {
  (void)state;
  expect_error("train:\n  epochs: 1\n  batchsize: 5\n",
               "test.yaml:3:3: unknown key 'batchsize' in train (did you mean 'batch_size'?)",
               NULL);
  expect_error("trian:\n  epochs: 1\n", "test.yaml:1:1:", "unknown key 'trian' at the top level",
               "did you mean 'train'?", NULL);
  expect_error("train:\n  optimizer: {lr: 1, bta1: 0.5}\n",
               "test.yaml:2:22:", "in train.optimizer (did you mean 'beta1'?)", NULL);
  expect_error("discriminator:\n  layers:\n    - {units: 8, activation: relu, kernel: 3}\n",
               "test.yaml:3:36:", "in discriminator.layers.0 (did you mean 'kernels'?)", NULL);
  /* Nothing close: list what exists instead. */
  expect_error("eval:\n  zzzzzz: 1\n", "test.yaml:2:3:", "unknown key 'zzzzzz' in eval",
               "valid keys: samples, every, range, bins", NULL);
}

static void test_error_duplicate_key(void **state) {
  (void)state;
  expect_error("train:\n  epochs: 1\n  seed: 2\n  epochs: 3\n",
               "test.yaml:4:3:", "duplicate key 'epochs' in train", NULL);
  expect_error("data: {}\ndata: {}\n", "test.yaml:2:1:", "duplicate key 'data'", NULL);
}

static void test_error_wrong_types(void **state) {
  (void)state;
  expect_error("train:\n  epochs: {a: 1}\n", "test.yaml:2:11: train.epochs:", "got a mapping",
               NULL);
  expect_error("train: [1, 2]\n", "test.yaml:1:8: train: expected a mapping", NULL);
  expect_error("train: 5\n", "test.yaml:1:8: train: expected a mapping", "'5'", NULL);
  expect_error("data:\n  mean: [1]\n", "test.yaml:2:9: data.mean: expected a number", NULL);
  expect_error("generator:\n  layers: {units: 4}\n",
               "test.yaml:2:11: generator.layers:", "expected a sequence of layers", NULL);
  expect_error("generator:\n  layers: [4]\n",
               "test.yaml:2:12: generator.layers.0:", "expected a layer mapping", NULL);
  expect_error("name: [a]\n", "test.yaml:1:7: name:", NULL);
  expect_error("train:\n  [a]: 1\n", "test.yaml:2:3:", "a key must be a word, got a sequence",
               NULL);
}

static void test_error_integers(void **state) {
  (void)state;
  static const char *const bad[] = {"1.5", "0x10", "1e3", "-1", "+1", "abc", "1_000", "true", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char yaml[128], want[128];
    snprintf(yaml, sizeof yaml, "train:\n  epochs: %s\n", bad[i]);
    snprintf(want, sizeof want, "train.epochs: expected a non-negative integer, got ");
    expect_error(yaml, "test.yaml:2:", want, NULL);
  }
  expect_error("train:\n  epochs: 010\n", "test.yaml:2:11: train.epochs:", "leading zeros", NULL);
  expect_error("train:\n  epochs: \"5\"\n", "test.yaml:2:11: train.epochs:", "quoted string", NULL);
  expect_error("train:\n  seed: 18446744073709551616\n",
               "test.yaml:2:9: train.seed:", "must be <= 18446744073709551615", NULL);
  expect_error("train:\n  batch_size: 0\n", "test.yaml:2:15: train.batch_size: must be >= 1, got 0",
               NULL);
  expect_error("train:\n  batch_size: 1048577\n", "train.batch_size: must be <= 1048576", NULL);
  expect_error("data:\n  dim: 65\n", "test.yaml:2:8: data.dim: must be <= 64, got 65", NULL);
  expect_error("noise:\n  dim: 0\n", "noise.dim: must be >= 1", NULL);
  expect_error("eval:\n  bins: 1\n", "eval.bins: must be >= 2", NULL);
  expect_error("eval:\n  samples: 10000001\n", "eval.samples: must be <= 10000000", NULL);
  expect_error("train:\n  log_every: 0\n", "train.log_every: must be >= 1", NULL);
  expect_error("generator:\n  layers: [{units: 4097, activation: relu}]\n",
               "test.yaml:2:20: generator.layers.0.units: must be <= 4096", NULL);
}

static void test_error_floats(void **state) {
  (void)state;
  static const char *const non_finite[] = {".nan", ".NaN", ".inf", "-.inf", "+.Inf", "inf", "nan"};
  for (size_t i = 0; i < sizeof non_finite / sizeof non_finite[0]; i++) {
    char yaml[128];
    snprintf(yaml, sizeof yaml, "data:\n  mean: %s\n", non_finite[i]);
    expect_error(yaml, "test.yaml:2:9: data.mean: must be a finite number", NULL);
  }
  static const char *const bad[] = {"abc", "1.2.3", "0x1p3", "1e", "--1", "1,5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char yaml[128];
    snprintf(yaml, sizeof yaml, "data:\n  mean: %s\n", bad[i]);
    expect_error(yaml, "test.yaml:2:9: data.mean: expected a number", NULL);
  }
  expect_error("data:\n  mean: '1.5'\n", "data.mean: expected a number", "quoted", NULL);
  expect_error("data:\n  mean: 1e39\n", "data.mean: is out of range for a 32-bit float", NULL);
  expect_error("data:\n  std: 0\n", "test.yaml:2:8: data.std: must be > 0, got 0", NULL);
  expect_error("data:\n  std: -0.5\n", "test.yaml:2:8: data.std: must be > 0, got -0.5", NULL);
  expect_error("data:\n  std: -0.0\n", "data.std: must be > 0, got -0.0", NULL);
  expect_error("noise:\n  std: -1\n", "noise.std: must be > 0, got -1", NULL);
  expect_error("noise:\n  jitter: -0.1\n", "noise.jitter: must be >= 0, got -0.1", NULL);
  expect_error("train:\n  optimizer: {beta1: 1}\n", "train.optimizer.beta1: must be >= 0 and < 1",
               NULL);
  /* Checked as stored: this rounds to 1.0f. */
  expect_error("train:\n  optimizer: {beta2: 0.99999999999}\n", "train.optimizer.beta2:", NULL);
  expect_error("train:\n  g_optimizer: {decay_rate: 0}\n",
               "train.g_optimizer.decay_rate: must be > 0 and <= 1", NULL);
  expect_error("train:\n  d_optimizer: {decay_rate: 1.5}\n", "train.d_optimizer.decay_rate:", NULL);
  expect_error("train:\n  optimizer: {lr: 0}\n", "train.optimizer.lr: must be > 0", NULL);
  expect_error("train:\n  optimizer: {eps: -1e-8}\n", "train.optimizer.eps: must be > 0", NULL);
  expect_error("train:\n  optimizer: {momentum: 1.0}\n", "train.optimizer.momentum:", NULL);
  expect_error("generator:\n  init_std: 0\n", "generator.init_std: must be > 0", NULL);
  expect_error("generator:\n  layers: [{units: 1, activation: leaky_relu, slope: -1}]\n",
               "generator.layers.0.slope: must be >= 0", NULL);
}

static void test_error_enums(void **state) {
  (void)state;
  static const char *const bools[] = {"yes", "no", "on", "off", "true", "y"};
  for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
    char yaml[128], want[128];
    snprintf(yaml, sizeof yaml, "noise:\n  kind: %s\n", bools[i]);
    snprintf(want, sizeof want, "got '%s'", bools[i]);
    expect_error(yaml, "test.yaml:2:9: noise.kind: expected one of (stratified, uniform, normal)",
                 want, NULL);
  }
  expect_error("data:\n  distribution: uniform\n",
               "test.yaml:2:17: data.distribution: expected one of (normal), got 'uniform'", NULL);
  expect_error("train:\n  optimizer: {kind: rmsprop}\n", "expected one of (adam, sgd)", NULL);
  expect_error("device:\n  backend: cuda\n", "device.backend: expected one of (opencl, ref)", NULL);
  expect_error("generator:\n  output_activation: gelu\n", "generator.output_activation:",
               "identity, relu, leaky_relu, tanh, sigmoid, softplus", NULL);
  expect_error("discriminator:\n  layers: [{type: minibatch, self_term: yes}]\n",
               "self_term: expected one of (exclude, include)", NULL);
  expect_error("discriminator:\n  layers: [{type: conv}]\n",
               "discriminator.layers.0.type: expected one of (dense, minibatch)", NULL);
}

static void test_error_aliases(void **state) {
  (void)state;
  expect_error("base: &b {epochs: 1}\ntrain: *b\n", "test.yaml:1:7:", "aliases are not supported",
               NULL);
  expect_error("train:\n  epochs: *x\n", "test.yaml:2:11:", "alias '*x': aliases are not supported",
               NULL);
  expect_error("train:\n  <<: {epochs: 1}\n", "test.yaml:2:3:", "merge key",
               "aliases are not supported", NULL);
  expect_error("train:\n  epochs: !!int 5\n", "test.yaml:2:11:", "tags are not supported", NULL);
}

static void test_error_layer_rules(void **state) {
  (void)state;
  expect_error("generator:\n  layers:\n    - {type: minibatch}\n", "test.yaml:3:14:",
               "generator.layers.0.type: minibatch layers are only allowed in the discriminator",
               NULL);
  expect_error("discriminator:\n  layers:\n    - {type: minibatch, units: 8}\n",
               "test.yaml:3:25:", "discriminator.layers.0.units: not allowed on a minibatch layer",
               NULL);
  expect_error("discriminator:\n  layers:\n    - {activation: relu, type: minibatch}\n",
               "test.yaml:3:8:", "discriminator.layers.0.activation: not allowed", NULL);
  expect_error("discriminator:\n  layers:\n    - {units: 8, activation: relu, kernels: 2}\n",
               "test.yaml:3:36:", "discriminator.layers.0.kernels: only allowed on a minibatch",
               NULL);
  expect_error("discriminator:\n  layers:\n    - {units: 8, activation: relu}\n    - {units: 8}\n",
               "test.yaml:4:7:", "discriminator.layers.1: missing 'activation'", NULL);
  expect_error("generator:\n  layers:\n    - {activation: relu}\n",
               "test.yaml:3:7:", "generator.layers.0: missing 'units'", NULL);
  expect_error("discriminator:\n  output_activation: sigmoid\n",
               "test.yaml:2:3:", "discriminator.output_activation: not allowed", NULL);
  expect_error("discriminator:\n  layers: []\n",
               "test.yaml:2:11:", "discriminator.layers: must have 1 to 16 layers, got 0", NULL);
  char yaml[2048] = "generator:\n  layers:\n";
  for (int i = 0; i < 17; i++)
    strcat(yaml, "    - {units: 1, activation: relu}\n");
  expect_error(yaml, "generator.layers: must have 1 to 16 layers, got 17", NULL);
  expect_error("discriminator:\n  layers: [{type: minibatch, kernels: 1025}]\n",
               "discriminator.layers.0.kernels: must be <= 1024", NULL);
  expect_error("discriminator:\n  layers: [{type: minibatch, kernels: 0}]\n",
               "test.yaml:2:39: discriminator.layers.0.kernels: must be >= 1, got 0", NULL);
  expect_error("discriminator:\n  layers: [{type: minibatch, kernel_dim: 0}]\n",
               "discriminator.layers.0.kernel_dim: must be >= 1, got 0", NULL);
  expect_error("generator:\n  layers: [{units: 0, activation: relu}]\n",
               "test.yaml:2:20: generator.layers.0.units: must be >= 1, got 0", NULL);
}

static void test_error_cross_fields(void **state) {
  (void)state;
  expect_error("data:\n  size: 10\n",
               "test.yaml:2:9: data.size: must be >= train.batch_size (50), got 10", NULL);
  /* The later of the two is blamed. */
  expect_error("data:\n  size: 100\ntrain:\n  batch_size: 200\n",
               "test.yaml:4:15: train.batch_size: must be <= data.size (100), got 200", NULL);
  expect_error("eval:\n  range: [1, 1]\n", "test.yaml:2:10: eval.range: min must be < max", NULL);
  expect_error("eval:\n  range: [1, 2, 3]\n", "test.yaml:2:10: eval.range: expected",
               "[min, max], got a sequence of 3", NULL);
  expect_error("eval:\n  range: [0, x]\n", "test.yaml:2:14: eval.range.1: expected a number", NULL);
}

static void test_error_strings(void **state) {
  (void)state;
  expect_error("name: a/b\n", "test.yaml:1:7: name: must not contain '/'", NULL);
  expect_error("name: ''\n", "name: must not be empty", NULL);
  expect_error("name: \"a\\nb\"\n", "name: must not contain control characters", NULL);
  expect_error("name: \"a\\0b\"\n", "name: must not contain a NUL", NULL);
  char yaml[400] = "device:\n  select: ";
  memset(yaml + strlen(yaml), 'd', 200);
  expect_error(yaml, "device.select: must be at most 127 bytes", NULL);
}

static void test_error_arguments(void **state) {
  (void)state;
  clgan_config c;
  clgan_error err = {0};
  assert_int_equal(clgan_config_load_string("{}", 2, SOURCE, NULL, 0, NULL, &err), CLGAN_E_INPUT);
  assert_int_equal(clgan_config_load_string(NULL, 3, SOURCE, NULL, 0, &c, &err), CLGAN_E_INPUT);
  assert_int_equal(clgan_config_load_string("{}", 2, SOURCE, NULL, 1, &c, &err), CLGAN_E_INPUT);
  const char *null_override[] = {NULL};
  assert_int_equal(clgan_config_load_string("{}", 2, SOURCE, null_override, 1, &c, &err),
                   CLGAN_E_INPUT);
  assert_int_equal(clgan_config_load(NULL, NULL, 0, &c, &err), CLGAN_E_INPUT);
  /* A NULL err is allowed. */
  assert_int_equal(clgan_config_load_string("x: 1", 4, SOURCE, NULL, 0, &c, NULL), CLGAN_E_INPUT);
  assert_null(clgan_config_to_yaml(NULL));
  clgan_config_defaults(NULL);
  assert_false(clgan_config_has_mbd(NULL));
}

/* ---- hostile input: what fuzzing covers, pinned down ------------------------ */

/* Every message is one line of bounded length, whatever the input held. */
static void assert_tame_message(const char *message) {
  assert_null(strchr(message, '\n'));
  assert_true(strlen(message) < 600);
}

/* libyaml's parser keeps its own stacks, but the event pass caps nesting at
 * 64 so no later stage (the node loader, our walker) sees a deep tree. */
static void test_error_deep_nesting(void **state) {
  (void)state;
  enum { DEPTH = 10000 };
  char *text = malloc(4 * DEPTH + 64);
  assert_non_null(text);
  memset(text, '[', DEPTH);
  expect_error_bytes(text, DEPTH, "test.yaml:1:65: nested too deeply", NULL);
  memset(text, '{', DEPTH);
  expect_error_bytes(text, DEPTH, "test.yaml:1:65: nested too deeply", NULL);
  /* Closed, so the text is valid YAML. */
  memset(text, '[', DEPTH);
  memset(text + DEPTH, ']', DEPTH);
  expect_error_bytes(text, 2 * DEPTH, "test.yaml:1:65: nested too deeply", NULL);
  size_t n = 0;
  for (int i = 0; i < DEPTH; i++) {
    memcpy(text + n, "{a: ", 4);
    n += 4;
  }
  expect_error_bytes(text, n, "test.yaml:1:", "nested too deeply", NULL);
  n = 0;
  for (int i = 0; i < DEPTH; i++) {
    memcpy(text + n, "- ", 2);
    n += 2;
  }
  expect_error_bytes(text, n, "test.yaml:1:129: nested too deeply", NULL);
  /* Block mappings, one level per line. */
  n = 0;
  for (int i = 0; i < 100; i++) {
    memset(text + n, ' ', (size_t)i);
    memcpy(text + n + i, "a:\n", 3);
    n += (size_t)i + 3;
  }
  expect_error_bytes(text, n, "test.yaml:65:65: nested too deeply", NULL);
  free(text);
  /* The same guard holds for --set values. */
  char *value = malloc(DEPTH + 16);
  assert_non_null(value);
  strcpy(value, "train=");
  memset(value + 6, '[', DEPTH);
  value[6 + DEPTH] = '\0';
  expect_override_error("{}", value, "--set train=[[[", "train: nested too deeply", NULL);
  free(value);
}

/* A few hundred nodes make the largest config; a flood of them is refused
 * before libyaml builds a node tree for it. */
static void test_error_too_many_values(void **state) {
  (void)state;
  enum { COUNT = 20000 };
  char *text = malloc(2 * COUNT + 64);
  assert_non_null(text);
  strcpy(text, "eval: {range: [");
  size_t n = strlen(text);
  for (int i = 0; i < COUNT; i++) {
    text[n++] = '1';
    text[n++] = ',';
  }
  memcpy(text + n, "1]}\n", 5);
  expect_error(text, "test.yaml:1:", "too many values (more than 10000)", NULL);
  free(text);
}

static void test_error_encoding(void **state) {
  (void)state;
  /* NUL and other control bytes: the reader rejects them where they are. */
  static const char nul[] = "train:\n  epochs: 1\0\n";
  expect_error_bytes(nul, sizeof nul - 1, "test.yaml:2:12: invalid YAML: control characters",
                     "(U+0000)", NULL);
  static const char nul_first[] = "\0";
  expect_error_bytes(nul_first, 1, "test.yaml:1:1: invalid YAML", NULL);
  expect_error("name: a\x01\n", "test.yaml:1:8:", "control characters are not allowed (U+0001)",
               NULL);
  /* Bad UTF-8: the byte when there is one, never a bogus value. */
  expect_error("name: caf\xc3\xa9s\xff\n", "test.yaml:1:12:", "invalid leading UTF-8 octet",
               "(byte 0xFF)", NULL);
  expect_error("name: caf\xc3", "test.yaml:1:10: invalid YAML: incomplete UTF-8 octet sequence",
               NULL);
  expect_error("name: \xc3(\n", "test.yaml:1:7:", "invalid trailing UTF-8 octet (byte 0x28)", NULL);
  expect_error("name: \xc0\xaf\n", "test.yaml:1:7:", "invalid length of a UTF-8 sequence", NULL);
  expect_error("name: \xed\xa0\x80\n", "test.yaml:1:7:", "invalid Unicode character (U+D800)",
               NULL);
  expect_error("name: \xef\xbf\xbe\n", "test.yaml:1:7:", "(U+FFFE)", NULL);
  clgan_config c;
  clgan_error err = {0};
  assert_int_equal(load_with("name: \xc3\xa9\xc3\xa9\x01\n", NULL, 0, &c, &err), CLGAN_E_INPUT);
  assert_false(strstr(err.message, "0xFFFFFFFF"));
  /* Columns count characters, and every YAML line break counts. */
  expect_error("name: \xc3\xa9\xc3\xa9\x01\n", "test.yaml:1:9:", NULL);
  expect_error("train: {}\r\nname: a\x01\n", "test.yaml:2:8:", NULL);
  expect_error("train: {}\rname: a\x01\n", "test.yaml:2:8:", NULL);
  expect_error("train: {}\xc2\x85name: a\x01\n", "test.yaml:2:8:", NULL);
  /* A UTF-8 byte order mark is fine and not a column. */
  load_ok("\xef\xbb\xbftrain: {epochs: 4}\n", NULL, 0, &c);
  assert_int_equal(c.train.epochs, 4);
  expect_error("\xef\xbb\xbfname: a\x01\n", "test.yaml:1:8:", NULL);
  expect_error("\xef\xbb\xbftrain:\n  seed: x\n", "test.yaml:2:9: train.seed:", NULL);
  /* UTF-16 is refused outright rather than half supported. */
  static const char utf16le[] = "\xff\xfet\0r\0a\0i\0n\0:\0 \0{\0}\0\n\0";
  expect_error_bytes(utf16le, sizeof utf16le - 1, "test.yaml:1:1: the text is UTF-16",
                     "a config must be UTF-8", NULL);
  static const char utf16be[] = "\xfe\xff\0t\0r\0a\0i\0n\0:\0 \0{\0}\0\n";
  expect_error_bytes(utf16be, sizeof utf16be - 1, "test.yaml:1:1: the text is UTF-16", NULL);
  expect_override_error("{}", "train.epochs=\xff\xfe", "--set train.epochs=", "UTF-16", NULL);
}

/* CR LF files load like LF files, with the same line numbers in errors. */
static void test_crlf(void **state) {
  (void)state;
  clgan_config c, d;
  load_ok("train:\r\n  epochs: 2\r\n  seed: 9\r\ngenerator:\r\n  layers:\r\n"
          "    - {units: 3, activation: tanh}\r\n",
          NULL, 0, &c);
  load_ok("train:\n  epochs: 2\n  seed: 9\ngenerator:\n  layers:\n"
          "    - {units: 3, activation: tanh}\n",
          NULL, 0, &d);
  assert_configs_equal(&c, &d);
  expect_error("train:\r\n  epochs: 2\r\n  seed: x\r\n", "test.yaml:3:9: train.seed:", NULL);
  expect_error("train:\r\n  epochs: 2\r\n\r\n  seed: 1\r\n  epochs: 3\r\n",
               "test.yaml:5:3: duplicate key 'epochs' in train (first given at line 2)", NULL);
}

/* Tabs: not as indentation, fine as spacing inside a line. */
static void test_tabs(void **state) {
  (void)state;
  expect_error("train:\n\tepochs: 1\n", "test.yaml:2:1:", "invalid YAML", NULL);
  expect_error("train:\n  \tepochs: 1\n", "test.yaml:2:", "invalid YAML", NULL);
  clgan_config c;
  load_ok("train: {epochs:\t6,\tseed: 1}\neval:\n  bins:\t7\t# tab before a comment\n", NULL, 0,
          &c);
  assert_int_equal(c.train.epochs, 6);
  assert_int_equal(c.eval.bins, 7);
}

/* String keys take yes/no/on/off as the words they are (YAML 1.1 would make
 * them booleans); choice keys reject them (test_error_enums). */
static void test_boolean_words_as_strings(void **state) {
  (void)state;
  clgan_config c;
  load_ok("name: yes\ndevice: {select: off}\n", NULL, 0, &c);
  assert_string_equal(c.name, "yes");
  assert_string_equal(c.device.spec, "off");
  const char *sets[] = {"name=no", "device.select=on"};
  load_ok("{}", sets, 2, &c);
  assert_string_equal(c.name, "no");
  assert_string_equal(c.device.spec, "on");
  assert_round_trip(&c);
}

/* A 1 MiB scalar anywhere gives a short message that still says where. */
static void test_long_scalars(void **state) {
  (void)state;
  enum { LONG = 1 << 20 };
  /* The text is head, LONG copies of fill, then tail. */
  static const struct {
    const char *head;
    char fill;
    const char *tail, *want;
  } shapes[] = {
      {"name: ", 'n', "\n", "test.yaml:1:7: name: must be at most 127 bytes"},
      {"train: {seed: ", '9', "}\n", "test.yaml:1:15: train.seed: must be <= 18446744073709551615"},
      {"train: {epochs: 0", '0', "}\n", "test.yaml:1:17: train.epochs:"},
      {"train: {epochs: ", 'k', "}\n", "test.yaml:1:17: train.epochs: expected a non-negative"},
      {"data: {mean: ", '9', "}\n", "test.yaml:1:14: data.mean: is out of range for a 32-bit"},
      {"data: {std: 0.", '0', "1}\n", "test.yaml:1:13: data.std: must be > 0"}, /* underflows */
      {"device: {select: \"", 's', "\"}\n", "test.yaml:1:18: device.select: must be at most"},
      /* libyaml refuses a key over 1024 characters itself. */
      {"", 'k', ": 1\n", "test.yaml:1:1048577: invalid YAML"},
  };
  char *text = malloc(LONG + 64);
  assert_non_null(text);
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    size_t head = strlen(shapes[i].head);
    memcpy(text, shapes[i].head, head);
    memset(text + head, shapes[i].fill, LONG);
    strcpy(text + head + LONG, shapes[i].tail);
    clgan_config c;
    clgan_error err = {0};
    assert_int_equal(load_with(text, NULL, 0, &c, &err), CLGAN_E_INPUT);
    assert_contains(err.message, shapes[i].want);
    assert_tame_message(err.message);
  }
  free(text);
}

/* What a message quotes back from the input is one line, however odd. */
static void test_odd_text_in_messages(void **state) {
  (void)state;
  clgan_config c;
  clgan_error err = {0};
  const char *multi_line[] = {"train.epochs=1\nsecond line"};
  assert_int_equal(load_with("{}", multi_line, 1, &c, &err), CLGAN_E_INPUT);
  assert_contains(err.message, "--set train.epochs=1?second line:");
  assert_tame_message(err.message);
  char long_set[2000] = "device.select=";
  memset(long_set + strlen(long_set), 'x', 1000);
  const char *bad_long[] = {long_set};
  assert_int_equal(load_with("{}", bad_long, 1, &c, &err), CLGAN_E_INPUT);
  assert_contains(err.message, "--set device.select=xxx");
  assert_contains(err.message, "...: device.select: must be at most 127 bytes");
  assert_tame_message(err.message);
  /* The key of a --set, echoed when its value does not parse, is quoted
   * the same way: found by the fuzzer. */
  const char *odd_key[] = {"*\t\t=\xb1"};
  assert_int_equal(load_with("{}", odd_key, 1, &c, &err), CLGAN_E_INPUT);
  assert_string_equal(err.message,
                      "--set *?\?=?: *: invalid YAML: invalid leading UTF-8 octet (byte 0xB1)");
  const char *c1_key[] = {"a\xc2\x9b\xe2\x82=["};
  assert_int_equal(load_with("{}", c1_key, 1, &c, &err), CLGAN_E_INPUT);
  assert_contains(err.message, "--set a??\?=[: a??\?: invalid YAML");
  /* A tag can carry %-escaped control bytes. */
  expect_error("train: !<tag:%01%0A> {}\n", "test.yaml:1:8: tag 'tag:?\?': tags are not supported",
               NULL);
}

/* Strings holding characters YAML cannot show raw in a quoted scalar (C1
 * controls, NEL, line and paragraph separators, BOM, U+FFFE/U+FFFF) are
 * escaped when emitted; found by the fuzzer, whose round trip failed. */
static void test_round_trip_escapes(void **state) {
  (void)state;
  clgan_config c;
  load_ok("device: {select: \"a\\x80\\x85\\x9F\\u2028\\u2029\\uFEFF\\uFFFE\\uFFFF\\U0001F600\\t"
          "\"}\n",
          NULL, 0, &c);
  assert_string_equal(c.device.spec, "a\xc2\x80\xc2\x85\xc2\x9f\xe2\x80\xa8\xe2\x80\xa9\xef\xbb"
                                     "\xbf\xef\xbf\xbe\xef\xbf\xbf\xf0\x9f\x98\x80\t");
  assert_round_trip(&c);
  char *text = clgan_config_to_yaml(&c);
  assert_non_null(text);
  assert_contains(text, "select: \"a\\x80\\x85\\x9F\\u2028\\u2029\\uFEFF\\uFFFE\\uFFFF\xf0\x9f\x98"
                        "\x80\\x09\"");
  free(text);
  /* The run name, which names files, refuses C1 controls like C0 ones. */
  expect_error("name: \"a\\x80b\"\n", "test.yaml:1:7: name: must not contain control characters",
               NULL);
  expect_error("name: \"a\\x85b\"\n", "name: must not contain control characters", NULL);
  load_ok("name: \"caf\\xE9 \\xA0 \\u00e9\"\n", NULL, 0, &c);
  assert_string_equal(c.name, "caf\xc3\xa9 \xc2\xa0 \xc3\xa9");
  assert_round_trip(&c);
}

/* ---- files ----------------------------------------------------------------- */

static void test_file_errors_and_name(void **state) {
  (void)state;
  clgan_config c;
  clgan_error err = {0};
  assert_int_equal(clgan_config_load("/nonexistent/dir/x.yaml", NULL, 0, &c, &err), CLGAN_E_INPUT);
  assert_string_equal(err.message,
                      "cannot read config '/nonexistent/dir/x.yaml': No such file or directory");
  assert_int_equal(clgan_config_load("/", NULL, 0, &c, &err), CLGAN_E_INPUT);
  assert_contains(err.message, "cannot read config '/'");

  char dir[] = "/tmp/clgan_test_config_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/my-exp.yaml", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("train:\n  epochs: 2\n  seed: x\n", f);
  fclose(f);
  assert_int_equal(clgan_config_load(path, NULL, 0, &c, &err), CLGAN_E_INPUT);
  char want[400];
  snprintf(want, sizeof want, "%s:3:9: train.seed: expected a non-negative integer, got 'x'", path);
  assert_string_equal(err.message, want);
  const char *fix[] = {"train.seed=7"};
  assert_int_equal(clgan_config_load(path, fix, 1, &c, &err), CLGAN_E_INPUT); /* file first */
  f = fopen(path, "w");
  fputs("train:\n  epochs: 2\n", f);
  fclose(f);
  assert_int_equal(clgan_config_load(path, fix, 1, &c, &err), CLGAN_OK);
  assert_string_equal(c.name, "my-exp");
  assert_int_equal(c.train.epochs, 2);
  assert_int_equal(c.train.seed, 7);
  remove(path);
  rmdir(dir);
}

/* The reader stops at 16 MiB (it also reads pipes and devices); a file of
 * exactly 16 MiB still loads. */
static void test_file_size_cap(void **state) {
  (void)state;
  char dir[] = "/tmp/clgan_test_config_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/big.yaml", dir);
  const size_t cap = (size_t)16 << 20;
  const char *head = "train: {epochs: 2}\n#";
  size_t head_len = strlen(head);
  char *text = malloc(cap + 1);
  if (!text) { /* a plain return tells the compiler text is non-null below */
    fail_msg("out of memory");
    return;
  }
  memcpy(text, head, head_len);
  memset(text + head_len, 'c', cap - head_len - 1); /* one long comment */
  text[cap - 1] = '\n';
  text[cap] = '\n';
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, cap, f), cap);
  fclose(f);
  clgan_config c;
  clgan_error err = {0};
  if (clgan_config_load(path, NULL, 0, &c, &err) != CLGAN_OK)
    fail_msg("a 16 MiB config failed: %s", err.message);
  assert_int_equal(c.train.epochs, 2);
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, cap + 1, f), cap + 1);
  fclose(f);
  memset(&c, 0xA5, sizeof c);
  clgan_config before = c;
  assert_int_equal(clgan_config_load(path, NULL, 0, &c, &err), CLGAN_E_INPUT);
  char want[400];
  snprintf(want, sizeof want, "cannot read config '%s': larger than 16 MiB", path);
  assert_string_equal(err.message, want);
  assert_memory_equal(&c, &before, sizeof c);
  free(text);
  remove(path);
  rmdir(dir);
}

/* ---- overrides ------------------------------------------------------------- */

static const char *const mbd_yaml = "discriminator:\n"
                                    "  layers:\n"
                                    "    - {units: 8, activation: relu}\n"
                                    "    - {units: 8, activation: relu}\n"
                                    "    - {type: minibatch}\n"
                                    "train:\n"
                                    "  d_optimizer: {lr: 0.005}\n";

static void test_overrides_good(void **state) {
  (void)state;
  clgan_config c;
  const char *sets[] = {
      "train.epochs=3",
      "discriminator.layers.2.kernels=10",
      "discriminator.layers.2.reduce=mean",
      "train.optimizer.beta1=0.5",
      "train.g_optimizer.lr=0.02",
      "eval.range=[-4, 4]",
      "device.select=gpu",
      "name=from-cli",
      "generator.layers.0={units: 6, activation: tanh}",
      " data.size = 500 ",
      "noise.jitter=0 # a comment",
  };
  load_ok(mbd_yaml, sets, sizeof sets / sizeof sets[0], &c);
  assert_int_equal(c.train.epochs, 3);
  assert_int_equal(c.discriminator.layers[2].mbd.kernels, 10);
  assert_true(c.discriminator.layers[2].mbd.mean);
  assert_true(c.train.d_optimizer.beta1 == 0.5f && c.train.g_optimizer.beta1 == 0.5f);
  assert_true(c.train.d_optimizer.lr == 0.005f); /* the file's d_optimizer stays */
  assert_true(c.train.g_optimizer.lr == 0.02f);
  assert_true(c.eval.range_min == -4.0f && c.eval.range_max == 4.0f);
  assert_string_equal(c.device.spec, "gpu");
  assert_string_equal(c.name, "from-cli");
  assert_int_equal(c.generator.layers[0].units, 6);
  assert_int_equal(c.generator.layers[0].activation, CLGAN_ACT_TANH);
  assert_int_equal(c.data.size, 500);
  assert_true(c.noise.params.jitter == 0.0f);
  assert_round_trip(&c);
}

static void test_overrides_structure(void **state) {
  (void)state;
  clgan_config c;
  /* Whole sections and lists, type changes, and inherited init stds. */
  const char *sets[] = {
      "generator.layers=[{units: 8, activation: relu}, {units: 8, activation: relu}]",
      "generator.init_std=0.5",
      "discriminator.layers.2.type=dense",
      "discriminator.layers.2.units=4",
      "discriminator.layers.2.activation=sigmoid",
      "device.select=",
      "train={epochs: 9, batch_size: 25}",
  };
  load_ok(mbd_yaml, sets, sizeof sets / sizeof sets[0], &c);
  assert_int_equal(c.generator.n_layers, 2);
  assert_true(c.generator.layers[1].init_std == 0.5f);
  assert_true(c.generator.output_init_std == 0.5f);
  assert_int_equal(c.discriminator.layers[2].kind, CLGAN_LAYER_DENSE);
  assert_int_equal(c.discriminator.layers[2].units, 4);
  assert_true(c.discriminator.layers[2].init_std == 1.0f);
  assert_false(clgan_config_has_mbd(&c));
  assert_string_equal(c.device.spec, "");
  assert_int_equal(c.train.epochs, 9);
  assert_int_equal(c.train.batch_size, 25);
}

static void test_overrides_bad(void **state) {
  (void)state;
  expect_override_error("{}", "train.epochs=abc",
                        "--set train.epochs=abc: train.epochs: expected a non-negative integer, "
                        "got 'abc'",
                        NULL);
  expect_override_error("{}", "train.epochs", "--set train.epochs: expected KEY=VALUE", NULL);
  expect_override_error("{}", "=1", "--set =1: expected KEY=VALUE", NULL);
  expect_override_error("{}", "train.epoch=3",
                        "--set train.epoch=3: unknown key 'epoch' in train (did you mean "
                        "'epochs'?)",
                        NULL);
  expect_override_error("{}", "trian.epochs=3", "unknown key 'trian' at the top level",
                        "did you mean 'train'?", NULL);
  expect_override_error(mbd_yaml, "discriminator.layers.3.kernels=2",
                        "--set discriminator.layers.3.kernels=2: discriminator.layers: layer "
                        "index 3 is out of range (valid: 0..2)",
                        NULL);
  expect_override_error("{}", "discriminator.layers.first.units=2", "expected a layer index", NULL);
  expect_override_error("{}", "discriminator.layers.0.kernels=2",
                        "discriminator.layers.0.kernels: only allowed on a minibatch layer", NULL);
  expect_override_error("{}", "train.epochs=[1",
                        "--set train.epochs=[1: train.epochs: invalid YAML", NULL);
  expect_override_error("{}", "train.epochs=*a", "aliases are not supported", NULL);
  expect_override_error("{}", "train.epochs.x=1", "train.epochs is a value", NULL);
  expect_override_error("{}", "train..epochs=1", "empty part", NULL);
  expect_override_error("{}", "train.=1", "ends with a dot", NULL);
  expect_override_error("{}", "eval.range=-4,4", "eval.range: expected a sequence of two numbers",
                        NULL);
  expect_override_error("{}", "data.size=10",
                        "--set data.size=10: data.size: must be >= train.batch_size (50)", NULL);
  expect_override_error("{}", "generator.layers.0.type=minibatch",
                        "generator.layers.0.type: minibatch layers are only allowed", NULL);
  /* A layer switched to dense must have what a dense layer needs. */
  expect_override_error(mbd_yaml, "discriminator.layers.2.type=dense",
                        "--set discriminator.layers.2.type=dense: discriminator.layers.2: "
                        "missing 'units'",
                        NULL);
  expect_override_error("{}", "discriminator.output_activation=tanh", "not allowed", NULL);
  expect_override_error("{}", "name=", "--set name=: name: must not be empty", NULL);
  /* Overrides apply in order; the second one fails. */
  const char *two[] = {"train.epochs=2", "train.seed=-1"};
  clgan_config c;
  clgan_error err = {0};
  assert_int_equal(load_with("{}", two, 2, &c, &err), CLGAN_E_INPUT);
  assert_contains(err.message, "--set train.seed=-1: train.seed:");
}

/* ---- round trip ------------------------------------------------------------ */

static void test_round_trip(void **state) {
  (void)state;
  clgan_config c;
  clgan_config_defaults(&c);
  assert_round_trip(&c);
  load_ok(mbd_yaml, NULL, 0, &c);
  assert_round_trip(&c);
  load_ok(full_yaml, NULL, 0, &c);
  assert_round_trip(&c);
  /* Awkward values: tiny and huge floats, negative zero, odd strings. */
  const char *odd = "name: \"it's a \\\"run\\\" #1: [x]\"\n"
                    "data: {mean: -0.0, std: 3.4028235e38, size: 18446744073709551615}\n"
                    "noise: {jitter: 1.0e-45, range: 0.1}\n"
                    "train:\n"
                    "  optimizer: {lr: 0.30000001, eps: 1.17549435e-38}\n"
                    "  max_steps: 18446744073709551615\n"
                    "eval: {range: [-1.0e-7, 1.0e-7]}\n"
                    "device: {select: \"Intel(R) \\\\ 'x' é\"}\n";
  load_ok(odd, NULL, 0, &c);
  assert_string_equal(c.name, "it's a \"run\" #1: [x]");
  assert_string_equal(c.device.spec, "Intel(R) \\ 'x' \xc3\xa9");
  assert_round_trip(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_activation_names),
      cmocka_unit_test(test_empty_mapping_is_defaults),
      cmocka_unit_test(test_default_name),
      cmocka_unit_test(test_shipped_seed),
      cmocka_unit_test(test_shipped_seed_mbd),
      cmocka_unit_test(test_full_config),
      cmocka_unit_test(test_length_is_respected),
      cmocka_unit_test(test_error_syntax),
      cmocka_unit_test(test_error_empty),
      cmocka_unit_test(test_error_documents_and_top_level),
      cmocka_unit_test(test_error_unknown_keys),
      cmocka_unit_test(test_error_duplicate_key),
      cmocka_unit_test(test_error_wrong_types),
      cmocka_unit_test(test_error_integers),
      cmocka_unit_test(test_error_floats),
      cmocka_unit_test(test_error_enums),
      cmocka_unit_test(test_error_aliases),
      cmocka_unit_test(test_error_layer_rules),
      cmocka_unit_test(test_error_cross_fields),
      cmocka_unit_test(test_error_strings),
      cmocka_unit_test(test_error_arguments),
      cmocka_unit_test(test_error_deep_nesting),
      cmocka_unit_test(test_error_too_many_values),
      cmocka_unit_test(test_error_encoding),
      cmocka_unit_test(test_crlf),
      cmocka_unit_test(test_tabs),
      cmocka_unit_test(test_boolean_words_as_strings),
      cmocka_unit_test(test_long_scalars),
      cmocka_unit_test(test_odd_text_in_messages),
      cmocka_unit_test(test_round_trip_escapes),
      cmocka_unit_test(test_file_errors_and_name),
      cmocka_unit_test(test_file_size_cap),
      cmocka_unit_test(test_overrides_good),
      cmocka_unit_test(test_overrides_structure),
      cmocka_unit_test(test_overrides_bad),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
