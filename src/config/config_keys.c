/* The config schema as tables, and the setters that validate one YAML node
 * into one field. The file walk and the --set overrides both end up in
 * apply_value(), so a value is checked the same way wherever it comes from. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

typedef enum cfg_kind {
  K_SECTION,         /* mapping walked with `table` at base + offset */
  K_BOTH_OPTIMIZERS, /* train.optimizer: `table` applied at offset and offset2 */
  K_NETWORK,         /* generator/discriminator: a section that sets cur_net = arg */
  K_SIZE,            /* size_t in [min, max] */
  K_U64,             /* uint64_t in [min, max] */
  K_FLOAT,           /* float within `bound` */
  K_ENUM,            /* one of `choices`, stored as an int-sized enum or a bool */
  K_ACTIVATION,      /* clgan_activation by name */
  K_NAME,            /* the run name */
  K_STRING,          /* free text of at most CLGAN_NAME_MAX - 1 bytes */
  K_RANGE,           /* [min, max]: floats at offset and offset2 */
  K_LAYERS,          /* a network's hidden layers */
  K_NET_STD,         /* a network's default init std (kept in the loader) */
  K_OUTPUT_STD,      /* a network's output_init_std */
  K_LAYER_TYPE,      /* dense | minibatch */
  K_LAYER_STD,       /* a layer's init_std */
} cfg_kind;

typedef enum cfg_bound {
  B_ANY,         /* any finite float */
  B_POSITIVE,    /* > 0 */
  B_NONNEGATIVE, /* >= 0 */
  B_UNIT_OPEN,   /* >= 0 and < 1 */
  B_UNIT_CLOSED, /* > 0 and <= 1 */
} cfg_bound;

enum {
  F_LATE = 1u << 0,           /* applied after the mapping's other keys */
  F_GENERATOR_ONLY = 1u << 1, /* an error in the discriminator */
  F_DENSE_ONLY = 1u << 2,     /* an error on a minibatch layer */
  F_MBD_ONLY = 1u << 3,       /* an error on a dense layer */
  F_TRACK_SIZE = 1u << 4,     /* remember where data.size came from */
  F_TRACK_BATCH = 1u << 5,    /* remember where train.batch_size came from */
  F_NO_STORE = 1u << 6,       /* validated only (data.distribution) */
};

typedef struct cfg_enum {
  const char *const *names; /* value i is names[i] */
  size_t count;
  bool is_bool; /* stored as bool (index != 0) instead of an int-sized enum */
} cfg_enum;

typedef struct cfg_table cfg_table;

typedef struct cfg_key {
  const char *name;
  cfg_kind kind;
  size_t offset, offset2;
  unsigned flags;
  uint64_t min, max;
  cfg_bound bound;
  const cfg_enum *choices;
  const cfg_table *table;
  int arg;
} cfg_key;

struct cfg_table {
  const cfg_key *keys;
  size_t count;
};

/* Enums are written through memcpy of an int; make sure that is their size. */
_Static_assert(sizeof(clgan_noise_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(clgan_optimizer_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(clgan_backend_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(clgan_activation) == sizeof(int), "enum size");

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define TABLE(keys)                                                                                \
  { keys, COUNT_OF(keys) }

static const char *const distribution_names[] = {"normal"};
static const char *const noise_names[] = {"stratified", "uniform", "normal"};
static const char *const layer_type_names[] = {"dense", "minibatch"};
static const char *const self_term_names[] = {"exclude", "include"};
static const char *const reduce_names[] = {"sum", "mean"};
static const char *const optimizer_names[] = {"adam", "sgd"};
static const char *const backend_names[] = {"opencl", "ref"};

static const cfg_enum e_distribution = {distribution_names, COUNT_OF(distribution_names), false};
static const cfg_enum e_noise = {noise_names, COUNT_OF(noise_names), false};
static const cfg_enum e_layer_type = {layer_type_names, COUNT_OF(layer_type_names), false};
static const cfg_enum e_self_term = {self_term_names, COUNT_OF(self_term_names), true};
static const cfg_enum e_reduce = {reduce_names, COUNT_OF(reduce_names), true};
static const cfg_enum e_optimizer = {optimizer_names, COUNT_OF(optimizer_names), false};
static const cfg_enum e_backend = {backend_names, COUNT_OF(backend_names), false};

/* Layer keys, relative to clgan_layer_config. `type` goes first so the
 * other keys can be checked against the layer's kind. */
#define LAYER(f) offsetof(clgan_layer_config, f)
static const cfg_key layer_keys[] = {
    {.name = "type", .kind = K_LAYER_TYPE, .choices = &e_layer_type},
    {.name = "units",
     .kind = K_SIZE,
     .offset = LAYER(units),
     .flags = F_LATE | F_DENSE_ONLY,
     .min = 1,
     .max = 4096},
    {.name = "activation",
     .kind = K_ACTIVATION,
     .offset = LAYER(activation),
     .flags = F_LATE | F_DENSE_ONLY},
    {.name = "slope",
     .kind = K_FLOAT,
     .offset = LAYER(slope),
     .flags = F_LATE | F_DENSE_ONLY,
     .bound = B_NONNEGATIVE},
    {.name = "kernels",
     .kind = K_SIZE,
     .offset = LAYER(mbd.kernels),
     .flags = F_LATE | F_MBD_ONLY,
     .min = 1,
     .max = 1024},
    {.name = "kernel_dim",
     .kind = K_SIZE,
     .offset = LAYER(mbd.kernel_dim),
     .flags = F_LATE | F_MBD_ONLY,
     .min = 1,
     .max = 1024},
    {.name = "self_term",
     .kind = K_ENUM,
     .offset = LAYER(mbd.include_self),
     .flags = F_LATE | F_MBD_ONLY,
     .choices = &e_self_term},
    {.name = "reduce",
     .kind = K_ENUM,
     .offset = LAYER(mbd.mean),
     .flags = F_LATE | F_MBD_ONLY,
     .choices = &e_reduce},
    {.name = "init_std",
     .kind = K_LAYER_STD,
     .offset = LAYER(init_std),
     .flags = F_LATE,
     .bound = B_POSITIVE},
};
static const cfg_table layer_table = TABLE(layer_keys);

#define NET(f) offsetof(clgan_network_config, f)
static const cfg_key network_keys[] = {
    {.name = "init_std", .kind = K_NET_STD, .bound = B_POSITIVE},
    {.name = "output_init_std",
     .kind = K_OUTPUT_STD,
     .offset = NET(output_init_std),
     .bound = B_POSITIVE},
    {.name = "output_activation",
     .kind = K_ACTIVATION,
     .offset = NET(output_activation),
     .flags = F_GENERATOR_ONLY},
    {.name = "layers", .kind = K_LAYERS},
};
static const cfg_table network_table = TABLE(network_keys);

#define OPT(f) offsetof(clgan_optimizer_config, f)
static const cfg_key optimizer_keys[] = {
    {.name = "kind", .kind = K_ENUM, .offset = OPT(kind), .choices = &e_optimizer},
    {.name = "lr", .kind = K_FLOAT, .offset = OPT(lr), .bound = B_POSITIVE},
    {.name = "beta1", .kind = K_FLOAT, .offset = OPT(beta1), .bound = B_UNIT_OPEN},
    {.name = "beta2", .kind = K_FLOAT, .offset = OPT(beta2), .bound = B_UNIT_OPEN},
    {.name = "eps", .kind = K_FLOAT, .offset = OPT(eps), .bound = B_POSITIVE},
    {.name = "momentum", .kind = K_FLOAT, .offset = OPT(momentum), .bound = B_UNIT_OPEN},
    {.name = "decay_rate", .kind = K_FLOAT, .offset = OPT(decay_rate), .bound = B_UNIT_CLOSED},
    {.name = "decay_steps", .kind = K_U64, .offset = OPT(decay_steps), .max = UINT64_MAX},
};
static const cfg_table optimizer_table = TABLE(optimizer_keys);

/* The unnamed section structs cannot be named in offsetof, so their keys
 * use offsets from the whole config and the section keys use offset 0. */
#define CFG(f) offsetof(clgan_config, f)
static const cfg_key data_keys[] = {
    {.name = "distribution", .kind = K_ENUM, .flags = F_NO_STORE, .choices = &e_distribution},
    {.name = "mean", .kind = K_FLOAT, .offset = CFG(data.mean), .bound = B_ANY},
    {.name = "std", .kind = K_FLOAT, .offset = CFG(data.std), .bound = B_POSITIVE},
    {.name = "size",
     .kind = K_SIZE,
     .offset = CFG(data.size),
     .flags = F_TRACK_SIZE,
     .min = 1,
     .max = SIZE_MAX},
    {.name = "dim", .kind = K_SIZE, .offset = CFG(data.dim), .min = 1, .max = 64},
};

static const cfg_key noise_keys[] = {
    {.name = "kind", .kind = K_ENUM, .offset = CFG(noise.params.kind), .choices = &e_noise},
    {.name = "dim", .kind = K_SIZE, .offset = CFG(noise.dim), .min = 1, .max = 1024},
    {.name = "range", .kind = K_FLOAT, .offset = CFG(noise.params.range), .bound = B_POSITIVE},
    {.name = "jitter", .kind = K_FLOAT, .offset = CFG(noise.params.jitter), .bound = B_NONNEGATIVE},
    {.name = "std", .kind = K_FLOAT, .offset = CFG(noise.params.std), .bound = B_POSITIVE},
};

/* d_optimizer and g_optimizer are late: they start from `optimizer` even
 * when written before it. */
static const cfg_key train_keys[] = {
    {.name = "batch_size",
     .kind = K_SIZE,
     .offset = CFG(train.batch_size),
     .flags = F_TRACK_BATCH,
     .min = 1,
     .max = 1048576},
    {.name = "epochs", .kind = K_SIZE, .offset = CFG(train.epochs), .min = 1, .max = SIZE_MAX},
    {.name = "seed", .kind = K_U64, .offset = CFG(train.seed), .max = UINT64_MAX},
    {.name = "max_steps", .kind = K_SIZE, .offset = CFG(train.max_steps), .max = SIZE_MAX},
    {.name = "log_every",
     .kind = K_SIZE,
     .offset = CFG(train.log_every),
     .min = 1,
     .max = SIZE_MAX},
    {.name = "optimizer",
     .kind = K_BOTH_OPTIMIZERS,
     .offset = CFG(train.d_optimizer),
     .offset2 = CFG(train.g_optimizer),
     .table = &optimizer_table},
    {.name = "d_optimizer",
     .kind = K_SECTION,
     .offset = CFG(train.d_optimizer),
     .flags = F_LATE,
     .table = &optimizer_table},
    {.name = "g_optimizer",
     .kind = K_SECTION,
     .offset = CFG(train.g_optimizer),
     .flags = F_LATE,
     .table = &optimizer_table},
};

static const cfg_key eval_keys[] = {
    {.name = "samples", .kind = K_SIZE, .offset = CFG(eval.samples), .min = 2, .max = 10000000},
    {.name = "every", .kind = K_SIZE, .offset = CFG(eval.every), .max = SIZE_MAX},
    {.name = "range",
     .kind = K_RANGE,
     .offset = CFG(eval.range_min),
     .offset2 = CFG(eval.range_max)},
    {.name = "bins", .kind = K_SIZE, .offset = CFG(eval.bins), .min = 2, .max = 100000},
};

static const cfg_key device_keys[] = {
    {.name = "backend", .kind = K_ENUM, .offset = CFG(device.backend), .choices = &e_backend},
    {.name = "select", .kind = K_STRING, .offset = CFG(device.spec)},
};

static const cfg_table data_table = TABLE(data_keys);
static const cfg_table noise_table = TABLE(noise_keys);
static const cfg_table train_table = TABLE(train_keys);
static const cfg_table eval_table = TABLE(eval_keys);
static const cfg_table device_table = TABLE(device_keys);

static const cfg_key top_keys[] = {
    {.name = "name", .kind = K_NAME, .offset = CFG(name)},
    {.name = "data", .kind = K_SECTION, .table = &data_table},
    {.name = "noise", .kind = K_SECTION, .table = &noise_table},
    {.name = "generator",
     .kind = K_NETWORK,
     .offset = CFG(generator),
     .table = &network_table,
     .arg = CFG_NET_GENERATOR},
    {.name = "discriminator",
     .kind = K_NETWORK,
     .offset = CFG(discriminator),
     .table = &network_table,
     .arg = CFG_NET_DISCRIMINATOR},
    {.name = "train", .kind = K_SECTION, .table = &train_table},
    {.name = "eval", .kind = K_SECTION, .table = &eval_table},
    {.name = "device", .kind = K_SECTION, .table = &device_table},
};
static const cfg_table top_table = TABLE(top_keys);

static const char *const net_names[2] = {"generator", "discriminator"};

/* ---- node helpers ---------------------------------------------------- */

static const char *scalar_text(const yaml_node_t *node) {
  return (const char *)node->data.scalar.value;
}

static bool is_plain(const yaml_node_t *node) {
  return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML's null: an empty plain value (`key:`), `~` or `null`. */
static bool is_null(const yaml_node_t *node) {
  if (!is_plain(node))
    return false;
  const char *s = scalar_text(node);
  return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0;
}

size_t cfg_utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp) {
  if (avail == 0)
    return 0;
  size_t n = p[0] < 0x80             ? 1
             : (p[0] & 0xE0) == 0xC0 ? 2
             : (p[0] & 0xF0) == 0xE0 ? 3
             : (p[0] & 0xF8) == 0xF0 ? 4
                                     : 0;
  if (n == 0 || avail < n)
    return 0;
  static const uint32_t lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  uint32_t v = p[0] & lead_mask[n];
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (p[i] & 0x3Fu);
  }
  if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return n;
}

void cfg_quote(const char *text, size_t len, size_t max_shown, char *out, size_t size) {
  const unsigned char *p = (const unsigned char *)text;
  size_t i = 0, n = 0;
  while (i < len) {
    uint32_t cp = 0;
    size_t width = cfg_utf8_decode(p + i, len - i, &cp);
    /* Control characters (C0, DEL, C1) and bytes that are not UTF-8 show
     * as '?': a message must not move the cursor or garble the terminal. */
    bool replace = width == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    size_t step = width ? width : 1, adds = replace ? 1 : width;
    if (i + step > max_shown || n + adds + 4 > size) /* room for "..." and the NUL */
      break;
    if (replace) {
      out[n++] = '?';
    } else {
      memcpy(out + n, p + i, width);
      n += width;
    }
    i += step;
  }
  if (i < len && n + 4 <= size) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  if (size > 0)
    out[n < size ? n : size - 1] = '\0';
}

/* At most 60 bytes: enough to recognise a value. */
static void quote_text(const char *text, size_t len, char *out, size_t size) {
  cfg_quote(text, len, 60, out, size);
}

/* "a mapping", "a sequence of 3", "an empty value", "'abc'" or the quoted string. */
void cfg_describe(const yaml_node_t *node, char *out, size_t size) {
  if (node->type == YAML_MAPPING_NODE) {
    snprintf(out, size, "a mapping");
  } else if (node->type == YAML_SEQUENCE_NODE) {
    snprintf(out, size, "a sequence of %zu",
             (size_t)(node->data.sequence.items.top - node->data.sequence.items.start));
  } else if (is_plain(node) && node->data.scalar.length == 0) {
    snprintf(out, size, "an empty value");
  } else {
    char text[80];
    quote_text(scalar_text(node), node->data.scalar.length, text, sizeof text);
    if (is_plain(node))
      snprintf(out, size, "'%s'", text);
    else
      snprintf(out, size, "the quoted string \"%s\"", text);
  }
}

static clgan_status fail_expected(cfg_loader *l, const yaml_node_t *node, const char *what) {
  char got[128];
  cfg_describe(node, got, sizeof got);
  return cfg_fail_key(l, node, "expected %s, got %s", what, got);
}

static yaml_node_t *node_at(cfg_loader *l, int index) {
  return yaml_document_get_node(l->doc, index);
}

/* ---- path ------------------------------------------------------------- */

size_t cfg_path_push(cfg_loader *l, const char *segment, size_t n) {
  size_t len = strlen(l->path);
  size_t room = sizeof l->path - 1 - len;
  char *end = l->path + len;
  if (len > 0 && room > 0) {
    *end++ = '.';
    room--;
  }
  if (n > room)
    n = room; /* only the message gets shorter */
  memcpy(end, segment, n);
  end[n] = '\0';
  return len;
}

size_t cfg_path_push_index(cfg_loader *l, size_t index) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%zu", index);
  return cfg_path_push(l, digits, (size_t)n);
}

void cfg_path_pop(cfg_loader *l, size_t len) {
  l->path[len] = '\0';
}

/* ---- scalar parsers --------------------------------------------------- */

/* Plain decimal only: YAML would read 010 as octal, 0x10 as hex and 1e3 as
 * a float, and a config that means 10 should not have to guess. */
static clgan_status parse_uint(cfg_loader *l, const yaml_node_t *node, uint64_t min, uint64_t max,
                               uint64_t *out) {
  static const char *const what = "a non-negative integer";
  if (!is_plain(node))
    return fail_expected(l, node, what);
  const char *s = scalar_text(node);
  size_t len = node->data.scalar.length;
  if (len == 0 || strspn(s, "0123456789") != len)
    return fail_expected(l, node, what);
  char shown[80]; /* the value as messages quote it: a 1 MB number stays short */
  quote_text(s, len, shown, sizeof shown);
  if (s[0] == '0' && len > 1)
    return cfg_fail_key(l, node, "expected %s without leading zeros, got '%s'", what, shown);
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return cfg_fail_key(l, node, "must be <= %" PRIu64 ", got %s", max, shown);
    v = v * 10 + d;
  }
  if (v < min)
    return cfg_fail_key(l, node, "must be >= %" PRIu64 ", got %s", min, shown);
  if (v > max)
    return cfg_fail_key(l, node, "must be <= %" PRIu64 ", got %s", max, shown);
  *out = v;
  return CLGAN_OK;
}

/* YAML's non-finite spellings (.inf, -.Inf, .nan, ...) and C's (inf, nan). */
static bool names_non_finite(const char *s) {
  if (*s == '+' || *s == '-')
    s++;
  if (*s == '.')
    s++;
  char lower[16];
  size_t n = 0;
  for (; s[n] && n + 1 < sizeof lower; n++)
    lower[n] = (char)tolower((unsigned char)s[n]);
  lower[n] = '\0';
  return strcmp(lower, "inf") == 0 || strcmp(lower, "infinity") == 0 || strcmp(lower, "nan") == 0;
}

/* [-+]? (digits [. digits?] | . digits) ([eE] [-+]? digits)? */
static bool is_decimal_float(const char *s) {
  if (*s == '+' || *s == '-')
    s++;
  size_t whole = strspn(s, "0123456789");
  s += whole;
  size_t frac = 0;
  if (*s == '.') {
    s++;
    frac = strspn(s, "0123456789");
    s += frac;
  }
  if (whole == 0 && frac == 0)
    return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    size_t exp = strspn(s, "0123456789");
    if (exp == 0)
      return false;
    s += exp;
  }
  return *s == '\0';
}

static const char *bound_text(cfg_bound bound) {
  switch (bound) {
  case B_POSITIVE:
    return "> 0";
  case B_NONNEGATIVE:
    return ">= 0";
  case B_UNIT_OPEN:
    return ">= 0 and < 1";
  case B_UNIT_CLOSED:
    return "> 0 and <= 1";
  case B_ANY:
    break;
  }
  return "finite";
}

static bool within(float v, cfg_bound bound) {
  switch (bound) {
  case B_POSITIVE:
    return v > 0.0f;
  case B_NONNEGATIVE:
    return v >= 0.0f;
  case B_UNIT_OPEN:
    return v >= 0.0f && v < 1.0f;
  case B_UNIT_CLOSED:
    return v > 0.0f && v <= 1.0f;
  case B_ANY:
    break;
  }
  return true;
}

static clgan_status parse_float(cfg_loader *l, const yaml_node_t *node, cfg_bound bound,
                                float *out) {
  if (!is_plain(node))
    return fail_expected(l, node, "a number");
  const char *s = scalar_text(node);
  size_t len = node->data.scalar.length;
  if (strlen(s) != len)
    return fail_expected(l, node, "a number");
  char shown[80];
  quote_text(s, len, shown, sizeof shown);
  if (names_non_finite(s))
    return cfg_fail_key(l, node, "must be a finite number, got %s", shown);
  if (!is_decimal_float(s))
    return fail_expected(l, node, "a number");
  /* strtof rounds the decimal once, straight to float, as the emitter's
   * round-trip check does; going through double could round twice. */
  char *end = NULL;
  float f = strtof(s, &end);
  if (end == s || *end != '\0')
    return fail_expected(l, node, "a number");
  if (!isfinite(f))
    return cfg_fail_key(l, node, "is out of range for a 32-bit float, got %s", shown);
  /* Check the stored value: 0.99999999999 is < 1 but rounds to 1.0f. */
  if (!within(f, bound))
    return cfg_fail_key(l, node, "must be %s, got %s", bound_text(bound), shown);
  *out = f;
  return CLGAN_OK;
}

static void join_names(const char *const *names, size_t count, char *out, size_t size) {
  out[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s%s", i ? ", " : "", names[i]);
  }
}

/* Finds node's text among names; booleans are not special: `yes` or `on`
 * for an enum key is just another unknown value. */
static clgan_status parse_choice(cfg_loader *l, const yaml_node_t *node, const char *const *names,
                                 size_t count, size_t *out) {
  if (node->type == YAML_SCALAR_NODE && strlen(scalar_text(node)) == node->data.scalar.length) {
    for (size_t i = 0; i < count; i++) {
      if (strcmp(scalar_text(node), names[i]) == 0) {
        *out = i;
        return CLGAN_OK;
      }
    }
  }
  char allowed[256], got[128];
  join_names(names, count, allowed, sizeof allowed);
  cfg_describe(node, got, sizeof got);
  return cfg_fail_key(l, node, "expected one of (%s), got %s", allowed, got);
}

static clgan_status parse_activation(cfg_loader *l, const yaml_node_t *node,
                                     clgan_activation *out) {
  const char *names[CLGAN_ACT_COUNT];
  for (int i = 0; i < CLGAN_ACT_COUNT; i++)
    names[i] = clgan_activation_name((clgan_activation)i);
  size_t index = 0;
  CLGAN_TRY(parse_choice(l, node, names, CLGAN_ACT_COUNT, &index));
  *out = (clgan_activation)index;
  return CLGAN_OK;
}

/* Returns the scalar's text, or NULL after failing for non-scalars and
 * texts with an embedded NUL. A plain null reads as "". */
static const char *string_value(cfg_loader *l, const yaml_node_t *node, const char *what,
                                size_t *len) {
  if (node->type != YAML_SCALAR_NODE) {
    fail_expected(l, node, what);
    return NULL;
  }
  if (is_null(node)) {
    *len = 0;
    return "";
  }
  *len = node->data.scalar.length;
  if (strlen(scalar_text(node)) != *len) {
    cfg_fail_key(l, node, "must not contain a NUL character");
    return NULL;
  }
  return scalar_text(node);
}

const char *cfg_name_problem(const char *text, size_t len) {
  if (len == 0)
    return "must not be empty";
  if (len >= CLGAN_NAME_MAX)
    return "must be at most 127 bytes";
  if (strlen(text) != len)
    return "must not contain a NUL character";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    /* C0 and DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F). */
    if (c < 0x20 || c == 0x7f ||
        (c == 0xC2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 &&
         (unsigned char)text[i + 1] <= 0x9F))
      return "must not contain control characters";
    if (c == '/' || c == '\\')
      return "must not contain '/' or '\\' (it names the run's files)";
  }
  if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
    return "must not be '.' or '..'";
  return NULL;
}

/* ---- keys and suggestions --------------------------------------------- */

static const cfg_key *find_key(const cfg_table *t, const char *name, size_t len) {
  for (size_t i = 0; i < t->count; i++) {
    if (strlen(t->keys[i].name) == len && memcmp(t->keys[i].name, name, len) == 0)
      return &t->keys[i];
  }
  return NULL;
}

/* Optimal-string-alignment distance, case-insensitive; b is a short key name. */
static size_t edit_distance(const char *a, size_t na, const char *b) {
  enum { MAXB = 32 };
  size_t nb = strlen(b);
  if (nb >= MAXB)
    return SIZE_MAX;
  size_t prev2[MAXB + 1], prev[MAXB + 1], cur[MAXB + 1];
  for (size_t j = 0; j <= nb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= na; i++) {
    cur[0] = i;
    int ca = tolower((unsigned char)a[i - 1]);
    for (size_t j = 1; j <= nb; j++) {
      int cb = tolower((unsigned char)b[j - 1]);
      size_t best = prev[j - 1] + (ca != cb);
      if (prev[j] + 1 < best)
        best = prev[j] + 1;
      if (cur[j - 1] + 1 < best)
        best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      cur[j] = best;
    }
    memcpy(prev2, prev, sizeof prev);
    memcpy(prev, cur, sizeof cur);
  }
  return prev[nb];
}

/* The nearest key when it is close enough to be a typo, else NULL. */
static const char *nearest_key(const cfg_table *t, const char *name, size_t len) {
  if (len > 64)
    return NULL;
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t i = 0; i < t->count; i++) {
    const char *k = t->keys[i].name;
    size_t d = edit_distance(name, len, k);
    size_t klen = strlen(k);
    size_t limit = klen <= 3 ? 1 : klen <= 8 ? 2 : 3;
    if (d <= limit && d < best_d) {
      best = k;
      best_d = d;
    }
  }
  return best;
}

static clgan_status fail_unknown_key(cfg_loader *l, const yaml_node_t *where, const cfg_table *t,
                                     const char *name, size_t len) {
  char shown[80], scope[CFG_PATH_MAX + 8];
  quote_text(name, len, shown, sizeof shown);
  if (l->path[0])
    snprintf(scope, sizeof scope, "in %s", l->path);
  else
    snprintf(scope, sizeof scope, "at the top level");
  const char *near = nearest_key(t, name, len);
  if (near)
    return cfg_fail_node(l, where, "unknown key '%s' %s (did you mean '%s'?)", shown, scope, near);
  char valid[512];
  valid[0] = '\0';
  for (size_t i = 0; i < t->count; i++) {
    size_t used = strlen(valid);
    snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "", t->keys[i].name);
  }
  return cfg_fail_node(l, where, "unknown key '%s' %s (valid keys: %s)", shown, scope, valid);
}

/* ---- walking ------------------------------------------------------------ */

static clgan_status apply_value(cfg_loader *l, const cfg_key *key, char *base, yaml_node_t *value,
                                const yaml_node_t *key_node);
static clgan_status apply_mapping(cfg_loader *l, yaml_node_t *node, const cfg_table *t, char *base);

/* Rejects non-scalar, merge, unknown and duplicate keys before any value
 * is applied, so the first problem reported is the first in the text. */
static clgan_status check_keys(cfg_loader *l, yaml_node_t *node, const cfg_table *t) {
  yaml_node_pair_t *first = node->data.mapping.pairs.start;
  for (yaml_node_pair_t *p = first; p < node->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(l, p->key);
    if (!k || k->type != YAML_SCALAR_NODE)
      return cfg_fail_node(l, k ? k : node, "a key must be a word, got a %s",
                           k && k->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
    const char *name = scalar_text(k);
    size_t len = k->data.scalar.length;
    if (is_plain(k) && strcmp(name, "<<") == 0)
      return cfg_fail_node(l, k, "merge key '<<': aliases are not supported");
    if (!find_key(t, name, len))
      return fail_unknown_key(l, k, t, name, len);
    for (yaml_node_pair_t *q = first; q < p; q++) {
      yaml_node_t *prev = node_at(l, q->key);
      if (prev->data.scalar.length == len && memcmp(scalar_text(prev), name, len) == 0) {
        char where[CFG_PATH_MAX + 8];
        snprintf(where, sizeof where, "%s%s", l->path[0] ? " in " : "", l->path);
        return cfg_fail_node(l, k, "duplicate key '%s'%s (first given at line %zu)", name, where,
                             prev->start_mark.line + 1);
      }
    }
  }
  return CLGAN_OK;
}

static clgan_status apply_mapping(cfg_loader *l, yaml_node_t *node, const cfg_table *t,
                                  char *base) {
  if (is_null(node))
    return CLGAN_OK; /* `train:` with nothing under it changes nothing */
  if (node->type != YAML_MAPPING_NODE)
    return fail_expected(l, node, "a mapping");
  CLGAN_TRY(check_keys(l, node, t));
  for (unsigned late = 0; late <= F_LATE; late += F_LATE) {
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
      yaml_node_t *k = node_at(l, p->key);
      const cfg_key *key = find_key(t, scalar_text(k), k->data.scalar.length);
      if ((key->flags & F_LATE) != late)
        continue;
      size_t mark = cfg_path_push(l, key->name, strlen(key->name));
      clgan_status st = apply_value(l, key, base, node_at(l, p->value), k);
      cfg_path_pop(l, mark);
      CLGAN_TRY(st);
    }
  }
  return CLGAN_OK;
}

/* The fields a dense or minibatch layer needs, and no minibatch layers in
 * the generator. Used when a layer's mapping ends and again at the end,
 * after overrides may have changed a layer's type. */
static clgan_status check_layer(cfg_loader *l, int net, size_t index) {
  const clgan_network_config *nc =
      net == CFG_NET_GENERATOR ? &l->cfg.generator : &l->cfg.discriminator;
  const clgan_layer_config *layer = &nc->layers[index];
  cfg_origin origin = l->nets[net].layer_origin[index];
  const char *name = net_names[net];
  if (layer->kind == CLGAN_LAYER_MINIBATCH && net == CFG_NET_GENERATOR)
    return cfg_fail_origin(l, origin,
                           "%s.layers.%zu: minibatch layers are only allowed in the discriminator",
                           name, index);
  if (layer->kind != CLGAN_LAYER_DENSE)
    return CLGAN_OK;
  if (layer->units == 0)
    return cfg_fail_origin(l, origin, "%s.layers.%zu: missing 'units' (required for a dense layer)",
                           name, index);
  if (layer->activation >= CLGAN_ACT_COUNT)
    return cfg_fail_origin(
        l, origin, "%s.layers.%zu: missing 'activation' (required for a dense layer)", name, index);
  return CLGAN_OK;
}

/* Replaces layer `index` of the current network with the mapping in node. */
static clgan_status apply_layer(cfg_loader *l, clgan_network_config *net, size_t index,
                                yaml_node_t *node) {
  if (node->type != YAML_MAPPING_NODE)
    return fail_expected(l, node, "a layer mapping such as {units: 8, activation: relu}");
  clgan_layer_config *layer = &net->layers[index];
  cfg_layer_reset(layer, CLGAN_LAYER_DENSE);
  layer->activation = CLGAN_ACT_COUNT; /* unset: a dense layer must name one */
  cfg_net_state *state = &l->nets[l->cur_net];
  state->layer_std_set[index] = false;
  state->layer_origin[index] = cfg_origin_here(l, node);
  size_t saved = l->cur_layer;
  l->cur_layer = index;
  clgan_status st = apply_mapping(l, node, &layer_table, (char *)layer);
  l->cur_layer = saved;
  CLGAN_TRY(st);
  return check_layer(l, l->cur_net, index);
}

static clgan_status apply_layers(cfg_loader *l, clgan_network_config *net, yaml_node_t *node) {
  if (node->type != YAML_SEQUENCE_NODE)
    return fail_expected(l, node, "a sequence of layers");
  size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
  if (count < 1 || count > CLGAN_MAX_LAYERS)
    return cfg_fail_key(l, node, "must have 1 to %d layers, got %zu", CLGAN_MAX_LAYERS, count);
  for (size_t i = 0; i < count; i++) {
    size_t mark = cfg_path_push_index(l, i);
    clgan_status st = apply_layer(l, net, i, node_at(l, node->data.sequence.items.start[i]));
    cfg_path_pop(l, mark);
    CLGAN_TRY(st);
  }
  net->n_layers = count;
  return CLGAN_OK;
}

static clgan_status apply_range(cfg_loader *l, const cfg_key *key, char *base, yaml_node_t *node) {
  static const char *const what = "a sequence of two numbers [min, max]";
  if (node->type != YAML_SEQUENCE_NODE ||
      node->data.sequence.items.top - node->data.sequence.items.start != 2)
    return fail_expected(l, node, what);
  float v[2];
  for (size_t i = 0; i < 2; i++) {
    size_t mark = cfg_path_push_index(l, i);
    clgan_status st = parse_float(l, node_at(l, node->data.sequence.items.start[i]), B_ANY, &v[i]);
    cfg_path_pop(l, mark);
    CLGAN_TRY(st);
  }
  if (!(v[0] < v[1]))
    return cfg_fail_key(l, node, "min must be < max, got [%.9g, %.9g]", (double)v[0], (double)v[1]);
  memcpy(base + key->offset, &v[0], sizeof v[0]);
  memcpy(base + key->offset2, &v[1], sizeof v[1]);
  return CLGAN_OK;
}

static clgan_status apply_name(cfg_loader *l, const cfg_key *key, char *base, yaml_node_t *node) {
  size_t len = 0;
  const char *text = string_value(l, node, "a run name", &len);
  if (!text)
    return CLGAN_E_INPUT;
  const char *problem = cfg_name_problem(text, len);
  if (problem)
    return cfg_fail_key(l, node, "%s", problem);
  memcpy(base + key->offset, text, len + 1);
  l->name_set = true;
  return CLGAN_OK;
}

static clgan_status apply_string(cfg_loader *l, const cfg_key *key, char *base, yaml_node_t *node) {
  size_t len = 0;
  const char *text = string_value(l, node, "a string", &len);
  if (!text)
    return CLGAN_E_INPUT;
  if (len >= CLGAN_NAME_MAX)
    return cfg_fail_key(l, node, "must be at most %d bytes, got %zu", CLGAN_NAME_MAX - 1, len);
  memcpy(base + key->offset, text, len + 1);
  return CLGAN_OK;
}

static clgan_status apply_integer(cfg_loader *l, const cfg_key *key, char *base,
                                  yaml_node_t *node) {
  uint64_t v = 0;
  CLGAN_TRY(parse_uint(l, node, key->min, key->max, &v));
  if (key->kind == K_SIZE) {
    size_t s = (size_t)v; /* key->max <= SIZE_MAX keeps this exact */
    memcpy(base + key->offset, &s, sizeof s);
  } else {
    memcpy(base + key->offset, &v, sizeof v);
  }
  if (key->flags & F_TRACK_SIZE)
    l->size_origin = cfg_origin_here(l, node);
  if (key->flags & F_TRACK_BATCH)
    l->batch_origin = cfg_origin_here(l, node);
  return CLGAN_OK;
}

static clgan_status apply_enum(cfg_loader *l, const cfg_key *key, char *base, yaml_node_t *node) {
  size_t index = 0;
  CLGAN_TRY(parse_choice(l, node, key->choices->names, key->choices->count, &index));
  if (key->flags & F_NO_STORE)
    return CLGAN_OK;
  if (key->choices->is_bool) {
    bool b = index != 0;
    memcpy(base + key->offset, &b, sizeof b);
  } else {
    int e = (int)index;
    memcpy(base + key->offset, &e, sizeof e);
  }
  return CLGAN_OK;
}

static clgan_status apply_layer_type(cfg_loader *l, char *base, yaml_node_t *node) {
  size_t index = 0;
  CLGAN_TRY(parse_choice(l, node, layer_type_names, COUNT_OF(layer_type_names), &index));
  if (index == CLGAN_LAYER_MINIBATCH && l->cur_net == CFG_NET_GENERATOR)
    return cfg_fail_key(l, node, "minibatch layers are only allowed in the discriminator");
  ((clgan_layer_config *)base)->kind = (clgan_layer_kind)index;
  /* Blame this line if the layer turns out incomplete for its new kind. */
  l->nets[l->cur_net].layer_origin[l->cur_layer] = cfg_origin_here(l, node);
  return CLGAN_OK;
}

/* Keys that exist but are not allowed where they appear. */
static clgan_status check_allowed(cfg_loader *l, const cfg_key *key, const char *base,
                                  const yaml_node_t *where) {
  if ((key->flags & F_GENERATOR_ONLY) && l->cur_net != CFG_NET_GENERATOR)
    return cfg_fail_key(l, where, "not allowed: the discriminator's output is a logit");
  if (key->flags & (F_DENSE_ONLY | F_MBD_ONLY)) {
    clgan_layer_kind kind = ((const clgan_layer_config *)base)->kind;
    if ((key->flags & F_DENSE_ONLY) && kind != CLGAN_LAYER_DENSE)
      return cfg_fail_key(l, where, "not allowed on a minibatch layer");
    if ((key->flags & F_MBD_ONLY) && kind != CLGAN_LAYER_MINIBATCH)
      return cfg_fail_key(l, where, "only allowed on a minibatch layer (type: minibatch)");
  }
  return CLGAN_OK;
}

static clgan_status apply_float_key(cfg_loader *l, const cfg_key *key, char *base,
                                    yaml_node_t *value) {
  float f = 0.0f;
  CLGAN_TRY(parse_float(l, value, key->bound, &f));
  switch (key->kind) {
  case K_NET_STD:
    l->nets[l->cur_net].init_std = f;
    return CLGAN_OK;
  case K_OUTPUT_STD:
    l->nets[l->cur_net].output_std_set = true;
    break;
  case K_LAYER_STD:
    l->nets[l->cur_net].layer_std_set[l->cur_layer] = true;
    break;
  default:
    break;
  }
  memcpy(base + key->offset, &f, sizeof f);
  return CLGAN_OK;
}

static clgan_status apply_network(cfg_loader *l, const cfg_key *key, char *base,
                                  yaml_node_t *value) {
  int saved = l->cur_net;
  l->cur_net = key->arg;
  clgan_status st = apply_mapping(l, value, key->table, base + key->offset);
  l->cur_net = saved;
  return st;
}

static clgan_status apply_value(cfg_loader *l, const cfg_key *key, char *base, yaml_node_t *value,
                                const yaml_node_t *key_node) {
  CLGAN_TRY(check_allowed(l, key, base, key_node ? key_node : value));
  switch (key->kind) {
  case K_SECTION:
    return apply_mapping(l, value, key->table, base + key->offset);
  case K_BOTH_OPTIMIZERS:
    CLGAN_TRY(apply_mapping(l, value, key->table, base + key->offset));
    return apply_mapping(l, value, key->table, base + key->offset2);
  case K_NETWORK:
    return apply_network(l, key, base, value);
  case K_SIZE:
  case K_U64:
    return apply_integer(l, key, base, value);
  case K_FLOAT:
  case K_NET_STD:
  case K_OUTPUT_STD:
  case K_LAYER_STD:
    return apply_float_key(l, key, base, value);
  case K_ENUM:
    return apply_enum(l, key, base, value);
  case K_ACTIVATION:
    return parse_activation(l, value, (clgan_activation *)(void *)(base + key->offset));
  case K_NAME:
    return apply_name(l, key, base, value);
  case K_STRING:
    return apply_string(l, key, base, value);
  case K_RANGE:
    return apply_range(l, key, base, value);
  case K_LAYERS:
    return apply_layers(l, (clgan_network_config *)(void *)base, value);
  case K_LAYER_TYPE:
    return apply_layer_type(l, base, value);
  }
  return cfg_fail_key(l, value, "internal error: unhandled key kind");
}

clgan_status cfg_apply_root(cfg_loader *l, yaml_node_t *root) {
  return apply_mapping(l, root, &top_table, (char *)&l->cfg);
}

/* ---- overrides ---------------------------------------------------------- */

static clgan_status route(cfg_loader *l, const cfg_table *t, char *base, const char *key,
                          size_t len, yaml_node_t *value);

/* "layers.N[.rest]": a whole layer, or one key of an existing layer. */
static clgan_status route_layer(cfg_loader *l, clgan_network_config *net, const char *key,
                                size_t len, yaml_node_t *value) {
  const char *dot = memchr(key, '.', len);
  size_t seg = dot ? (size_t)(dot - key) : len;
  uint64_t index = 0;
  bool digits = seg > 0 && seg <= 6 && (seg == 1 || key[0] != '0');
  for (size_t i = 0; digits && i < seg; i++) {
    digits = isdigit((unsigned char)key[i]) != 0;
    index = index * 10 + (uint64_t)(key[i] - '0');
  }
  char shown[80];
  quote_text(key, seg, shown, sizeof shown);
  if (!digits)
    return cfg_fail_key(l, value, "expected a layer index after '%s.', got '%s'", l->path, shown);
  if (index >= net->n_layers)
    return cfg_fail_key(l, value, "layer index %s is out of range (valid: 0..%zu)", shown,
                        net->n_layers - 1);
  size_t mark = cfg_path_push(l, key, seg);
  clgan_status st;
  if (!dot) {
    st = apply_layer(l, net, (size_t)index, value);
  } else {
    size_t saved = l->cur_layer;
    l->cur_layer = (size_t)index;
    st = route(l, &layer_table, (char *)&net->layers[index], dot + 1, len - seg - 1, value);
    l->cur_layer = saved;
  }
  cfg_path_pop(l, mark);
  return st;
}

/* Follows the rest of a dotted key below `key`, which names a section. */
static clgan_status descend(cfg_loader *l, const cfg_key *key, char *base, const char *rest,
                            size_t len, yaml_node_t *value) {
  switch (key->kind) {
  case K_SECTION:
    return route(l, key->table, base + key->offset, rest, len, value);
  case K_BOTH_OPTIMIZERS:
    /* train.optimizer.X sets X for both networks, like the file key does. */
    CLGAN_TRY(route(l, key->table, base + key->offset, rest, len, value));
    return route(l, key->table, base + key->offset2, rest, len, value);
  case K_NETWORK: {
    int saved = l->cur_net;
    l->cur_net = key->arg;
    clgan_status st = route(l, key->table, base + key->offset, rest, len, value);
    l->cur_net = saved;
    return st;
  }
  case K_LAYERS:
    return route_layer(l, (clgan_network_config *)(void *)base, rest, len, value);
  default:
    break;
  }
  char shown[80];
  quote_text(rest, len, shown, sizeof shown);
  return cfg_fail_node(l, value, "unknown key '%s': %s is a value and has no keys", shown, l->path);
}

static clgan_status route(cfg_loader *l, const cfg_table *t, char *base, const char *key,
                          size_t len, yaml_node_t *value) {
  const char *dot = memchr(key, '.', len);
  size_t seg = dot ? (size_t)(dot - key) : len;
  if (seg == 0)
    return cfg_fail_node(l, value,
                         "the key has an empty part (two dots in a row, or a leading dot)");
  const cfg_key *k = find_key(t, key, seg);
  if (!k)
    return fail_unknown_key(l, value, t, key, seg);
  size_t mark = cfg_path_push(l, k->name, strlen(k->name));
  clgan_status st;
  if (!dot)
    st = apply_value(l, k, base, value, NULL);
  else if (dot + 1 == key + len)
    st = cfg_fail_node(l, value, "key '%s.' ends with a dot", l->path);
  else
    st = descend(l, k, base, dot + 1, len - seg - 1, value);
  cfg_path_pop(l, mark);
  return st;
}

clgan_status cfg_apply_override(cfg_loader *l, const char *key, size_t key_len,
                                yaml_node_t *value) {
  l->path[0] = '\0';
  return route(l, &top_table, (char *)&l->cfg, key, key_len, value);
}

/* ---- end of loading ------------------------------------------------------ */

/* Clears what a layer's kind does not use, so two configs that behave the
 * same also compare (and emit) the same. */
static void normalize_layer(clgan_layer_config *layer) {
  if (layer->kind == CLGAN_LAYER_DENSE) {
    clgan_layer_config fresh;
    cfg_layer_reset(&fresh, CLGAN_LAYER_DENSE);
    layer->mbd = fresh.mbd;
  } else {
    layer->units = 0;
    layer->activation = CLGAN_ACT_IDENTITY;
    layer->slope = CFG_DEFAULT_SLOPE;
  }
}

clgan_status cfg_finish_networks(cfg_loader *l) {
  clgan_network_config *nets[2] = {&l->cfg.generator, &l->cfg.discriminator};
  for (int n = 0; n < 2; n++) {
    cfg_net_state *state = &l->nets[n];
    clgan_network_config *net = nets[n];
    for (size_t i = 0; i < net->n_layers; i++) {
      CLGAN_TRY(check_layer(l, n, i));
      clgan_layer_config *layer = &net->layers[i];
      if (!state->layer_std_set[i])
        layer->init_std =
            layer->kind == CLGAN_LAYER_DENSE ? state->init_std : CFG_DEFAULT_MBD_INIT_STD;
      normalize_layer(layer);
    }
    if (!state->output_std_set)
      net->output_init_std = state->init_std;
  }
  l->cfg.discriminator.output_activation = CLGAN_ACT_IDENTITY;
  return CLGAN_OK;
}
