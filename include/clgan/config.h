/* Experiment configuration: YAML file → typed, validated struct.
 * Every key has a default (the seed experiment's value); see the config
 * reference in README.md. Errors name file:line:column. */
#ifndef CLGAN_CONFIG_H
#define CLGAN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clgan/backend.h"
#include "clgan/status.h"

#define CLGAN_MAX_LAYERS 16
#define CLGAN_NAME_MAX 128

typedef enum clgan_layer_kind {
  CLGAN_LAYER_DENSE = 0,
  CLGAN_LAYER_MINIBATCH, /* minibatch discrimination; discriminator only */
} clgan_layer_kind;

typedef struct clgan_layer_config {
  clgan_layer_kind kind;
  /* dense */
  size_t units;
  clgan_activation activation;
  float slope; /* leaky relu negative slope, default 0.2 */
  /* minibatch */
  clgan_mbd_shape mbd; /* kernels (default 5), kernel_dim (3), include_self (true), mean (false) */
  /* both: weights ~ N(0, init_std²), biases 0 */
  float init_std;
} clgan_layer_config;

typedef struct clgan_network_config {
  size_t n_layers; /* hidden layers; the output layer is implied */
  clgan_layer_config layers[CLGAN_MAX_LAYERS];
  float output_init_std;              /* init std of the implied output layer */
  clgan_activation output_activation; /* generator only; discriminator outputs a logit */
} clgan_network_config;

typedef enum clgan_optimizer_kind { CLGAN_OPT_ADAM = 0, CLGAN_OPT_SGD } clgan_optimizer_kind;

typedef struct clgan_optimizer_config {
  clgan_optimizer_kind kind;
  float lr;                /* 0.001 */
  float beta1, beta2, eps; /* adam: 0.9, 0.999, 1e-8 */
  float momentum;          /* sgd: 0.0 */
  float decay_rate;        /* sgd: lr·decay_rate^floor(step/decay_steps); 1.0 = none */
  uint64_t decay_steps;    /* sgd: 0 = none */
} clgan_optimizer_config;

typedef enum clgan_backend_kind { CLGAN_BACKEND_OPENCL = 0, CLGAN_BACKEND_REF } clgan_backend_kind;

typedef struct clgan_config {
  char name[CLGAN_NAME_MAX]; /* run name, default: the file's base name without .yaml */

  struct {
    float mean, std; /* normal(mean, std) per dimension: 4.0, 0.5 */
    size_t size;     /* number of points in the fixed dataset: 1000000 */
    size_t dim;      /* data dimension: 1 */
  } data;

  struct {
    clgan_noise_params params; /* kind stratified, range 8, jitter 0.01, std 1 */
    size_t dim;                /* generator input width: 1 */
  } noise;

  clgan_network_config generator;     /* default: 1 hidden layer, 4 units, softplus */
  clgan_network_config discriminator; /* default: 3 hidden layers, 8 units, relu */

  struct {
    size_t batch_size; /* 50 */
    size_t epochs;     /* 5 */
    uint64_t seed;     /* 42 */
    size_t max_steps;  /* 0 = no cap; otherwise stop after this many steps */
    size_t log_every;  /* steps between history rows: 1000 */
    clgan_optimizer_config d_optimizer, g_optimizer; /* key: train.optimizer (both), or d_/g_ */
  } train;

  struct {
    size_t samples;             /* generated samples for the metrics: 10000 */
    size_t every;               /* steps between periodic metrics, 0 = only at the end */
    float range_min, range_max; /* plot and histogram range: -8, 8 */
    size_t bins;                /* histogram bins: 99 */
  } eval;

  struct {
    clgan_backend_kind backend; /* opencl */
    char spec[CLGAN_NAME_MAX];  /* device spec, "" = default choice */
  } device;
} clgan_config;

/* The seed experiment's defaults (AYLIEN gan-intro network, no MBD). */
void clgan_config_defaults(clgan_config *cfg);

/* Loads path over the defaults, then applies each "key=value" override
 * (dotted keys, e.g. "train.epochs=1" or "discriminator.layers.2.kernels=10";
 * values are YAML scalars validated exactly like the file's). Errors are
 * CLGAN_E_INPUT with "file:line:column: message" (or "--set KEY: ..."). */
clgan_status clgan_config_load(const char *path, const char *const *overrides, size_t n_overrides,
                               clgan_config *cfg, clgan_error *err);

/* Same, from a YAML text in memory; source_name is used in messages. */
clgan_status clgan_config_load_string(const char *yaml, size_t len, const char *source_name,
                                      const char *const *overrides, size_t n_overrides,
                                      clgan_config *cfg, clgan_error *err);

/* Writes the full resolved config as YAML (every key, loadable again).
 * Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *clgan_config_to_yaml(const clgan_config *cfg);

/* Whether the discriminator contains a minibatch layer. */
bool clgan_config_has_mbd(const clgan_config *cfg);

#endif
