/* libFuzzer target for the config loader.
 *
 * The input is split at each 0xC0 byte (a byte that never occurs in UTF-8,
 * so a valid config never needs it, and unlike 0xFF or 0xFE not part of a
 * UTF-16 byte order mark, which the file part must be able to start with):
 * the first part is the YAML file, each later part (at most MAX_OVERRIDES)
 * one --set override, cut at its first NUL because overrides are C strings.
 * For every input it checks what the issue promises of bad config input:
 *   - the status is CLGAN_OK, CLGAN_E_INPUT or CLGAN_E_RUNTIME, and matches
 *     err.status;
 *   - on error the message is non-empty, NUL-terminated, one line of UTF-8
 *     without control characters; the config is left untouched (nothing is
 *     half-accepted); and an input error names its place: "fuzz:LINE:COLUMN: "
 *     for the file, "--set " for an override;
 *   - on success the emitted YAML loads again to the same config, and emitting
 *     that gives the same text.
 * A broken invariant aborts, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgan/config.h"

#define MAX_OVERRIDES 4
#define SEPARATOR 0xC0
#define SOURCE "fuzz"

static void fail(const char *what, const char *message) {
  fprintf(stderr, "fuzz_config: invariant broken: %s\n  message: %s\n", what,
          message ? message : "(none)");
  abort();
}

static bool same_float(float a, float b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

static bool same_network(const clgan_network_config *a, const clgan_network_config *b) {
  if (a->n_layers != b->n_layers || !same_float(a->output_init_std, b->output_init_std) ||
      a->output_activation != b->output_activation)
    return false;
  for (size_t i = 0; i < a->n_layers && i < CLGAN_MAX_LAYERS; i++) {
    const clgan_layer_config *x = &a->layers[i], *y = &b->layers[i];
    if (x->kind != y->kind || x->units != y->units || x->activation != y->activation ||
        !same_float(x->slope, y->slope) || x->mbd.kernels != y->mbd.kernels ||
        x->mbd.kernel_dim != y->mbd.kernel_dim || x->mbd.include_self != y->mbd.include_self ||
        x->mbd.mean != y->mbd.mean || !same_float(x->init_std, y->init_std))
      return false;
  }
  return true;
}

static bool same_optimizer(const clgan_optimizer_config *a, const clgan_optimizer_config *b) {
  return a->kind == b->kind && same_float(a->lr, b->lr) && same_float(a->beta1, b->beta1) &&
         same_float(a->beta2, b->beta2) && same_float(a->eps, b->eps) &&
         same_float(a->momentum, b->momentum) && same_float(a->decay_rate, b->decay_rate) &&
         a->decay_steps == b->decay_steps;
}

/* Field by field, floats bit for bit: struct padding makes memcmp useless. */
static bool same_config(const clgan_config *a, const clgan_config *b) {
  return strcmp(a->name, b->name) == 0 && same_float(a->data.mean, b->data.mean) &&
         same_float(a->data.std, b->data.std) && a->data.size == b->data.size &&
         a->data.dim == b->data.dim && a->noise.params.kind == b->noise.params.kind &&
         same_float(a->noise.params.range, b->noise.params.range) &&
         same_float(a->noise.params.jitter, b->noise.params.jitter) &&
         same_float(a->noise.params.std, b->noise.params.std) && a->noise.dim == b->noise.dim &&
         same_network(&a->generator, &b->generator) &&
         same_network(&a->discriminator, &b->discriminator) &&
         a->train.batch_size == b->train.batch_size && a->train.epochs == b->train.epochs &&
         a->train.seed == b->train.seed && a->train.max_steps == b->train.max_steps &&
         a->train.log_every == b->train.log_every &&
         same_optimizer(&a->train.d_optimizer, &b->train.d_optimizer) &&
         same_optimizer(&a->train.g_optimizer, &b->train.g_optimizer) &&
         a->eval.samples == b->eval.samples && a->eval.every == b->eval.every &&
         same_float(a->eval.range_min, b->eval.range_min) &&
         same_float(a->eval.range_max, b->eval.range_max) && a->eval.bins == b->eval.bins &&
         a->device.backend == b->device.backend && strcmp(a->device.spec, b->device.spec) == 0;
}

/* "fuzz:" then digits ':' digits ": " */
static bool names_file_position(const char *message) {
  const char *p = message;
  if (strncmp(p, SOURCE ":", strlen(SOURCE ":")) != 0)
    return false;
  p += strlen(SOURCE ":");
  for (int field = 0; field < 2; field++) {
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || p[0] == '0' || p[digits] != ':')
      return false;
    p += digits + 1;
  }
  return *p == ' ';
}

/* One line of UTF-8 without control characters: what a terminal shows as is.
 * (A lead byte followed by NUL fails the continuation check below, so p[1]
 * is always inside the string.) */
static bool is_tame_text(const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  while (*p) {
    size_t n = *p < 0x80             ? 1
               : (*p & 0xE0) == 0xC0 ? 2
               : (*p & 0xF0) == 0xE0 ? 3
               : (*p & 0xF8) == 0xF0 ? 4
                                     : 0;
    if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F)) || (*p == 0xC2 && p[1] <= 0x9F))
      return false; /* not UTF-8, or a C0, DEL or C1 control */
    for (size_t i = 1; i < n; i++) {
      if ((p[i] & 0xC0) != 0x80)
        return false;
    }
    p += n;
  }
  return true;
}

static void check_error(clgan_status st, const clgan_error *err, const clgan_config *cfg,
                        const clgan_config *before, size_t n_overrides) {
  if (err->status != st)
    fail("err.status differs from the returned status", err->message);
  if (memchr(err->message, '\0', sizeof err->message) == NULL)
    fail("message is not NUL-terminated", NULL);
  if (err->message[0] == '\0')
    fail("empty error message", err->message);
  if (!is_tame_text(err->message))
    fail("the message has control characters or is not UTF-8", err->message);
  if (memcmp(cfg, before, sizeof *cfg) != 0)
    fail("the config was changed by a failed load", err->message);
  if (st != CLGAN_E_INPUT || names_file_position(err->message))
    return;
  if (n_overrides == 0)
    fail("an error in the file does not start with fuzz:LINE:COLUMN", err->message);
  if (strncmp(err->message, "--set ", 6) != 0)
    fail("an input error names neither fuzz:LINE:COLUMN nor --set", err->message);
}

static void check_round_trip(const clgan_config *cfg) {
  char *text = clgan_config_to_yaml(cfg);
  if (!text)
    fail("clgan_config_to_yaml returned NULL", NULL);
  clgan_config back;
  clgan_error err = {0};
  if (clgan_config_load_string(text, strlen(text), "emitted", NULL, 0, &back, &err) != CLGAN_OK) {
    fprintf(stderr, "%s", text);
    fail("the emitted config does not load", err.message);
  }
  if (!same_config(cfg, &back)) {
    fprintf(stderr, "%s", text);
    fail("the emitted config loads to a different config", NULL);
  }
  char *again = clgan_config_to_yaml(&back);
  if (!again || strcmp(text, again) != 0) {
    fprintf(stderr, "first:\n%s\nsecond:\n%s", text, again ? again : "(NULL)");
    fail("emitting the reloaded config gives different text", NULL);
  }
  free(again);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *cut = memchr(data, SEPARATOR, size);
  size_t yaml_len = cut ? (size_t)(cut - data) : size;
  /* A copy of exactly yaml_len bytes, so ASan sees any read past the end. */
  char *yaml = malloc(yaml_len ? yaml_len : 1);
  char *overrides[MAX_OVERRIDES];
  size_t n_overrides = 0;
  if (!yaml)
    return 0;
  memcpy(yaml, data, yaml_len);
  while (cut && n_overrides < MAX_OVERRIDES) {
    const uint8_t *start = cut + 1, *end = data + size;
    cut = memchr(start, SEPARATOR, (size_t)(end - start));
    size_t len = (size_t)((cut ? cut : end) - start);
    const uint8_t *nul = memchr(start, '\0', len);
    if (nul)
      len = (size_t)(nul - start);
    char *text = malloc(len + 1);
    if (!text)
      break;
    memcpy(text, start, len);
    text[len] = '\0';
    overrides[n_overrides++] = text;
  }

  clgan_config cfg, before;
  memset(&cfg, 0xA5, sizeof cfg);
  memcpy(&before, &cfg, sizeof cfg);
  clgan_error err;
  memset(&err, 0x5A, sizeof err); /* a message must be written, not left over */
  clgan_status st = clgan_config_load_string(yaml, yaml_len, SOURCE, (const char *const *)overrides,
                                             n_overrides, &cfg, &err);
  switch (st) {
  case CLGAN_OK:
    if (err.status != CLGAN_OK)
      fail("success, but err.status is not CLGAN_OK", NULL);
    check_round_trip(&cfg);
    break;
  case CLGAN_E_INPUT:
  case CLGAN_E_RUNTIME:
    check_error(st, &err, &cfg, &before, n_overrides);
    break;
  default:
    fail("unexpected status", NULL);
  }

  for (size_t i = 0; i < n_overrides; i++)
    free(overrides[i]);
  free(yaml);
  return 0;
}
