#include "clgan/config.h"

#include <string.h>

#include "config_internal.h"

void cfg_layer_reset(clgan_layer_config *layer, clgan_layer_kind kind) {
  memset(layer, 0, sizeof *layer);
  layer->kind = kind;
  /* A fresh layer carries every kind's defaults, so switching its type later
   * (an override of layers.N.type) leaves no field undefined. */
  layer->units = 0;
  layer->activation = CLGAN_ACT_IDENTITY;
  layer->slope = CFG_DEFAULT_SLOPE;
  layer->mbd.kernels = CFG_DEFAULT_MBD_KERNELS;
  layer->mbd.kernel_dim = CFG_DEFAULT_MBD_KERNEL_DIM;
  layer->mbd.include_self = true;
  layer->mbd.mean = false;
  layer->init_std = kind == CLGAN_LAYER_MINIBATCH ? CFG_DEFAULT_MBD_INIT_STD : CFG_DEFAULT_INIT_STD;
}

static void dense_layer(clgan_layer_config *layer, size_t units, clgan_activation act) {
  cfg_layer_reset(layer, CLGAN_LAYER_DENSE);
  layer->units = units;
  layer->activation = act;
}

void cfg_optimizer_defaults(clgan_optimizer_config *opt) {
  memset(opt, 0, sizeof *opt);
  opt->kind = CLGAN_OPT_ADAM;
  opt->lr = 0.001f;
  opt->beta1 = 0.9f;
  opt->beta2 = 0.999f;
  opt->eps = 1e-8f;
  opt->momentum = 0.0f;
  opt->decay_rate = 1.0f;
  opt->decay_steps = 0;
}

/* The seed experiment: 1,000,000 points of N(4, 0.5), AYLIEN gan-intro's
 * networks (G: linear-softplus(4)-linear, D: three relu(8) layers, no
 * minibatch discrimination), Adam 1e-3, batch 50, 5 epochs, stratified
 * noise linspace(-8, 8) + U(0, 0.01). configs/seed-1d.yaml spells it out. */
void clgan_config_defaults(clgan_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  strcpy(cfg->name, "clgan");

  cfg->data.mean = 4.0f;
  cfg->data.std = 0.5f;
  cfg->data.size = 1000000;
  cfg->data.dim = 1;

  cfg->noise.params.kind = CLGAN_NOISE_STRATIFIED;
  cfg->noise.params.range = 8.0f;
  cfg->noise.params.jitter = 0.01f;
  cfg->noise.params.std = 1.0f;
  cfg->noise.dim = 1;

  cfg->generator.n_layers = 1;
  dense_layer(&cfg->generator.layers[0], 4, CLGAN_ACT_SOFTPLUS);
  cfg->generator.output_init_std = CFG_DEFAULT_INIT_STD;
  cfg->generator.output_activation = CLGAN_ACT_IDENTITY;

  cfg->discriminator.n_layers = 3;
  for (size_t i = 0; i < 3; i++)
    dense_layer(&cfg->discriminator.layers[i], 8, CLGAN_ACT_RELU);
  cfg->discriminator.output_init_std = CFG_DEFAULT_INIT_STD;
  cfg->discriminator.output_activation = CLGAN_ACT_IDENTITY; /* unused: D outputs a logit */

  cfg->train.batch_size = 50;
  cfg->train.epochs = 5;
  cfg->train.seed = 42;
  cfg->train.max_steps = 0;
  cfg->train.log_every = 1000;
  cfg_optimizer_defaults(&cfg->train.d_optimizer);
  cfg_optimizer_defaults(&cfg->train.g_optimizer);

  cfg->eval.samples = 10000;
  cfg->eval.every = 0;
  cfg->eval.range_min = -8.0f;
  cfg->eval.range_max = 8.0f;
  cfg->eval.bins = 99;

  cfg->device.backend = CLGAN_BACKEND_OPENCL;
  cfg->device.spec[0] = '\0';
}

bool clgan_config_has_mbd(const clgan_config *cfg) {
  if (!cfg)
    return false;
  for (size_t i = 0; i < cfg->discriminator.n_layers && i < CLGAN_MAX_LAYERS; i++) {
    if (cfg->discriminator.layers[i].kind == CLGAN_LAYER_MINIBATCH)
      return true;
  }
  return false;
}
