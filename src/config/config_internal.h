/* Private to src/config: the loader state shared by config_load.c (reading,
 * YAML parsing, overrides, final checks) and config_keys.c (the key tables
 * and the value setters), plus the defaults both sides rely on. */
#ifndef CLGAN_CONFIG_INTERNAL_H
#define CLGAN_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "clgan/config.h"

#define CFG_DEFAULT_INIT_STD 1.0f
#define CFG_DEFAULT_MBD_INIT_STD 0.02f
#define CFG_DEFAULT_SLOPE 0.2f
#define CFG_DEFAULT_MBD_KERNELS 5
#define CFG_DEFAULT_MBD_KERNEL_DIM 3

/* Longest dotted key we build for messages ("discriminator.layers.15.kernel_dim"). */
#define CFG_PATH_MAX 256

/* Resets a layer to the defaults of every layer kind (units 0 = unset). */
void cfg_layer_reset(clgan_layer_config *layer, clgan_layer_kind kind);
void cfg_optimizer_defaults(clgan_optimizer_config *opt);

/* Where a value came from, so checks made after everything is loaded can
 * still point at the line (or the --set) that caused them. */
typedef enum cfg_origin_kind {
  CFG_FROM_DEFAULT = 0,
  CFG_FROM_FILE,
  CFG_FROM_OVERRIDE
} cfg_origin_kind;

typedef struct cfg_origin {
  cfg_origin_kind kind;
  yaml_mark_t mark; /* CFG_FROM_FILE */
  size_t override;  /* CFG_FROM_OVERRIDE: index into the overrides */
} cfg_origin;

/* What a network's struct cannot hold: its default init std (the key
 * `init_std`) and which init stds were given explicitly. The others inherit
 * when loading ends, so `--set generator.init_std=0.5` reaches every layer
 * that did not set its own. */
typedef struct cfg_net_state {
  float init_std;
  bool output_std_set;
  bool layer_std_set[CLGAN_MAX_LAYERS];
  cfg_origin layer_origin[CLGAN_MAX_LAYERS]; /* the layer's mapping or its type */
} cfg_net_state;

enum { CFG_NET_GENERATOR = 0, CFG_NET_DISCRIMINATOR = 1 };

typedef struct cfg_loader {
  clgan_config cfg; /* the temporary being filled; copied out only on success */
  const char *source;
  clgan_error *err;
  yaml_document_t *doc; /* the document whose nodes are being applied */

  /* Set while an override is applied; errors then read "--set TEXT: ...". */
  bool in_override;
  size_t override_index;
  const char *const *overrides;

  cfg_net_state nets[2];
  int cur_net;      /* network being walked (CFG_NET_*), -1 outside one */
  size_t cur_layer; /* layer being walked, inside a network's layers */

  bool name_set;           /* `name` was given; otherwise name_problem applies */
  char name_problem[160];  /* why the derived default name is unusable, or "" */
  cfg_origin size_origin;  /* data.size */
  cfg_origin batch_origin; /* train.batch_size */

  char path[CFG_PATH_MAX]; /* dotted key of the value being applied */
} cfg_loader;

/* Errors. Each returns CLGAN_E_INPUT after writing "LOCATION: message";
 * LOCATION is file:line:column of node, or "--set TEXT" for an override.
 * cfg_fail_key puts the current dotted key before the message. */
clgan_status cfg_fail_node(cfg_loader *l, const yaml_node_t *node, const char *fmt, ...)
    CLGAN_PRINTF(3, 4);
clgan_status cfg_fail_key(cfg_loader *l, const yaml_node_t *node, const char *fmt, ...)
    CLGAN_PRINTF(3, 4);
clgan_status cfg_fail_origin(cfg_loader *l, cfg_origin origin, const char *fmt, ...)
    CLGAN_PRINTF(3, 4);
/* Text from the input as a message shows it: at most max_shown bytes (then
 * "..."; never half a character), control characters, NUL and bytes that
 * are not UTF-8 as '?', so a message stays one line of bounded length and
 * valid UTF-8 whatever the input holds. */
void cfg_quote(const char *text, size_t len, size_t max_shown, char *out, size_t size);
/* Decodes one well-formed UTF-8 character (shortest form, no surrogates) of
 * the avail bytes at p; returns its length, or 0 if p does not start one. */
size_t cfg_utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp);
/* "a mapping", "a sequence of N", "an empty value", "'text'" or "the quoted
 * string \"text\"": what a message says it got. */
void cfg_describe(const yaml_node_t *node, char *out, size_t size);
/* The origin of a value being applied now from node. */
cfg_origin cfg_origin_here(const cfg_loader *l, const yaml_node_t *node);

/* Dotted-path bookkeeping: push returns the length to pop back to. */
size_t cfg_path_push(cfg_loader *l, const char *segment, size_t n);
size_t cfg_path_push_index(cfg_loader *l, size_t index);
void cfg_path_pop(cfg_loader *l, size_t len);

/* Why text cannot be a run name (it names the run's output files), or NULL. */
const char *cfg_name_problem(const char *text, size_t len);

/* Walks the document's top-level mapping into l->cfg. */
clgan_status cfg_apply_root(cfg_loader *l, yaml_node_t *root);
/* After the file and the overrides: gives layers without an explicit
 * init_std their network's, checks each layer is complete, and clears the
 * fields a layer's kind does not use (so equal configs compare equal). */
clgan_status cfg_finish_networks(cfg_loader *l);
/* Routes one override: dotted key (without the "=VALUE") onto value. */
clgan_status cfg_apply_override(cfg_loader *l, const char *key, size_t key_len, yaml_node_t *value);

#endif
