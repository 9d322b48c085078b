/* The resolved config as YAML: every key written out, so a run's saved
 * config.yaml reproduces it even if the defaults change later. Loading the
 * text gives back the same struct (test_config.c checks this). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

typedef struct out_buf {
  char *text;
  size_t len, cap;
  bool failed; /* an allocation failed; the result will be NULL */
} out_buf;

static void emit(out_buf *b, const char *fmt, ...) CLGAN_PRINTF(2, 3);
static void emit(out_buf *b, const char *fmt, ...) {
  if (b->failed)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if ((size_t)n >= b->cap - b->len) {
    size_t cap = b->cap;
    while (cap - b->len <= (size_t)n)
      cap *= 2;
    char *bigger = realloc(b->text, cap);
    if (!bigger) {
      b->failed = true;
      return;
    }
    b->text = bigger;
    b->cap = cap;
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* The shortest %g that reads back as the same float (at most 9 digits, which
 * always suffices), with ".0" added so it reads as a number to any YAML. */
static const char *fmt_float(float v, char *buf, size_t size) {
  for (int digits = 1; digits <= 9; digits++) {
    snprintf(buf, size, "%.*g", digits, (double)v);
    if (strtof(buf, NULL) == v)
      break;
  }
  if (!strpbrk(buf, ".eEin"))
    strncat(buf, ".0", size - strlen(buf) - 1);
  return buf;
}

/* Whether a character can stand as itself inside a double-quoted scalar:
 * YAML readers reject C0/C1 controls, U+FFFE and U+FFFF, and fold NEL,
 * U+2028 and U+2029 as line breaks; a BOM is dropped at a line start. */
static bool emits_raw(uint32_t cp) {
  if (cp < 0x80)
    return cp >= 0x20 && cp != 0x7F && cp != '"' && cp != '\\';
  if (cp < 0xA0 || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
    return false;
  return cp < 0xD800 || (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
}

/* A double-quoted YAML string that loads back to the same text: escapes
 * for what a reader would reject or change. Bytes that are not UTF-8 (the
 * loader never produces them) come out as \xNN, the same-numbered
 * character: still loadable, though not the same bytes. */
static void emit_string(out_buf *b, const char *s, size_t max) {
  emit(b, "\"");
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *end = p + strnlen(s, max);
  while (p < end) {
    uint32_t cp = 0;
    size_t n = cfg_utf8_decode(p, (size_t)(end - p), &cp);
    if (n == 0) {
      emit(b, "\\x%02X", *p++);
      continue;
    }
    if (cp == '"' || cp == '\\')
      emit(b, "\\%c", (char)cp);
    else if (emits_raw(cp))
      emit(b, "%.*s", (int)n, (const char *)p);
    else if (cp <= 0xFF)
      emit(b, "\\x%02X", (unsigned)cp);
    else if (cp <= 0xFFFF)
      emit(b, "\\u%04X", (unsigned)cp);
    else
      emit(b, "\\U%08X", (unsigned)cp);
    p += n;
  }
  emit(b, "\"");
}

static const char *enum_name(int value, const char *const *names, int count) {
  return value >= 0 && value < count ? names[value] : "unknown";
}

static void emit_layer(out_buf *b, const clgan_layer_config *layer) {
  char f1[32], f2[32];
  if (layer->kind == CLGAN_LAYER_MINIBATCH) {
    emit(b,
         "    - {type: minibatch, kernels: %zu, kernel_dim: %zu, self_term: %s, reduce: %s, "
         "init_std: %s}\n",
         layer->mbd.kernels, layer->mbd.kernel_dim, layer->mbd.include_self ? "include" : "exclude",
         layer->mbd.mean ? "mean" : "sum", fmt_float(layer->init_std, f1, sizeof f1));
    return;
  }
  emit(b, "    - {type: dense, units: %zu, activation: %s, slope: %s, init_std: %s}\n",
       layer->units, clgan_activation_name(layer->activation),
       fmt_float(layer->slope, f1, sizeof f1), fmt_float(layer->init_std, f2, sizeof f2));
}

/* The network's own init_std is not kept in the struct (only what it
 * resolved to); every layer and the output are written with explicit
 * values, so the output's std stands in for it. */
static void emit_network(out_buf *b, const char *name, const clgan_network_config *net,
                         bool generator) {
  char f[32];
  emit(b, "%s:\n", name);
  emit(b, "  init_std: %s\n", fmt_float(net->output_init_std, f, sizeof f));
  emit(b, "  output_init_std: %s\n", fmt_float(net->output_init_std, f, sizeof f));
  if (generator)
    emit(b, "  output_activation: %s\n", clgan_activation_name(net->output_activation));
  emit(b, "  layers:\n");
  for (size_t i = 0; i < net->n_layers && i < CLGAN_MAX_LAYERS; i++)
    emit_layer(b, &net->layers[i]);
}

static void emit_optimizer(out_buf *b, const char *key, const clgan_optimizer_config *o) {
  static const char *const kinds[] = {"adam", "sgd"};
  char lr[32], b1[32], b2[32], eps[32], mom[32], rate[32];
  emit(b,
       "  %s: {kind: %s, lr: %s, beta1: %s, beta2: %s, eps: %s, momentum: %s, decay_rate: %s, "
       "decay_steps: %" PRIu64 "}\n",
       key, enum_name((int)o->kind, kinds, 2), fmt_float(o->lr, lr, sizeof lr),
       fmt_float(o->beta1, b1, sizeof b1), fmt_float(o->beta2, b2, sizeof b2),
       fmt_float(o->eps, eps, sizeof eps), fmt_float(o->momentum, mom, sizeof mom),
       fmt_float(o->decay_rate, rate, sizeof rate), o->decay_steps);
}

static void emit_config(out_buf *b, const clgan_config *cfg) {
  static const char *const noise_kinds[] = {"stratified", "uniform", "normal"};
  static const char *const backends[] = {"opencl", "ref"};
  char f1[32], f2[32];
  emit(b, "# clgan config, fully resolved: every key is written out.\n");
  emit(b, "name: ");
  emit_string(b, cfg->name, sizeof cfg->name);
  emit(b, "\ndata:\n  distribution: normal\n");
  emit(b, "  mean: %s\n", fmt_float(cfg->data.mean, f1, sizeof f1));
  emit(b, "  std: %s\n", fmt_float(cfg->data.std, f1, sizeof f1));
  emit(b, "  size: %zu\n  dim: %zu\n", cfg->data.size, cfg->data.dim);

  emit(b, "noise:\n  kind: %s\n", enum_name((int)cfg->noise.params.kind, noise_kinds, 3));
  emit(b, "  dim: %zu\n", cfg->noise.dim);
  emit(b, "  range: %s\n", fmt_float(cfg->noise.params.range, f1, sizeof f1));
  emit(b, "  jitter: %s\n", fmt_float(cfg->noise.params.jitter, f1, sizeof f1));
  emit(b, "  std: %s\n", fmt_float(cfg->noise.params.std, f1, sizeof f1));

  emit_network(b, "generator", &cfg->generator, true);
  emit_network(b, "discriminator", &cfg->discriminator, false);

  emit(b, "train:\n  batch_size: %zu\n  epochs: %zu\n", cfg->train.batch_size, cfg->train.epochs);
  emit(b, "  seed: %" PRIu64 "\n", cfg->train.seed);
  emit(b, "  max_steps: %zu\n  log_every: %zu\n", cfg->train.max_steps, cfg->train.log_every);
  /* The shared `optimizer` key of the input is resolved into the two
   * networks' settings; writing a base back would only guess at it. */
  emit(b, "  # what each network uses (the input's shared `optimizer` is folded in)\n");
  emit_optimizer(b, "d_optimizer", &cfg->train.d_optimizer);
  emit_optimizer(b, "g_optimizer", &cfg->train.g_optimizer);

  emit(b, "eval:\n  samples: %zu\n  every: %zu\n", cfg->eval.samples, cfg->eval.every);
  emit(b, "  range: [%s, %s]\n", fmt_float(cfg->eval.range_min, f1, sizeof f1),
       fmt_float(cfg->eval.range_max, f2, sizeof f2));
  emit(b, "  bins: %zu\n", cfg->eval.bins);

  emit(b, "device:\n  backend: %s\n  select: ", enum_name((int)cfg->device.backend, backends, 2));
  emit_string(b, cfg->device.spec, sizeof cfg->device.spec);
  emit(b, "\n");
}

char *clgan_config_to_yaml(const clgan_config *cfg) {
  if (!cfg)
    return NULL;
  out_buf b = {malloc(4096), 0, 4096, false};
  if (!b.text)
    return NULL;
  b.text[0] = '\0';
  emit_config(&b, cfg);
  if (b.failed) {
    free(b.text);
    return NULL;
  }
  return b.text;
}
