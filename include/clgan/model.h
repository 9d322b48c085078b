/* Multilayer perceptrons built from the config, running on any backend.
 *
 * Parameters, gradients and optimizer moments of a network each live in one
 * flat buffer, so zeroing gradients and the optimizer update are one launch
 * each. Layer activations are sized for `capacity` rows; a pass may use
 * fewer. A dense layer that feeds a minibatch layer writes straight into
 * the columns [0, A) of that layer's concatenated output [h, o], so the
 * concatenation costs no copy. */
#ifndef CLGAN_MODEL_H
#define CLGAN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clgan/backend.h"
#include "clgan/config.h"
#include "clgan/status.h"

typedef struct clgan_layer {
  clgan_layer_config cfg;
  size_t in_dim, out_dim; /* MBD: out_dim = in_dim + kernels */
  size_t param_offset;    /* dense: W (in × units) then b (units); MBD: T (in × K·C) */
  size_t n_params;
  clgan_buffer *z;     /* dense: pre-activation; MBD: projection M */
  clgan_buffer *dm;    /* MBD: gradient of M */
  clgan_buffer *out;   /* owned output buffer (NULL when writing into the next layer's) */
  clgan_buffer *dout;  /* owned output-gradient buffer (same rule) */
  clgan_view y, dy;    /* output and its gradient, at capacity rows */
  bool input_in_place; /* MBD: the previous layer already wrote our input columns */
} clgan_layer;

typedef struct clgan_mlp {
  clgan_backend *be;
  size_t n_layers; /* hidden layers + the output layer */
  clgan_layer layers[CLGAN_MAX_LAYERS + 1];
  size_t in_dim, out_dim, capacity;
  size_t n_params;
  clgan_buffer *params, *grads, *moment1, *moment2; /* flat, n_params each */
  clgan_buffer *dx; /* gradient w.r.t. the input, capacity × in_dim (if requested) */
} clgan_mlp;

/* Builds the network: cfg's hidden layers plus an output layer of out_dim
 * units with out_act and cfg->output_init_std. Parameters start at zero;
 * call clgan_mlp_init_params. */
clgan_status clgan_mlp_create(clgan_backend *be, const clgan_network_config *cfg, size_t in_dim,
                              size_t out_dim, clgan_activation out_act, size_t capacity,
                              bool want_input_grad, clgan_mlp *mlp, clgan_error *err);
void clgan_mlp_destroy(clgan_mlp *mlp);

/* Device memory clgan_mlp_create would allocate, in floats: the total and
 * the largest single buffer (saturating at SIZE_MAX instead of wrapping). */
void clgan_mlp_footprint(const clgan_network_config *cfg, size_t in_dim, size_t out_dim,
                         size_t capacity, bool want_input_grad, size_t *total, size_t *largest);

/* Weights ~ N(0, init_std²) from Philox (seed, stream), biases 0; uploaded once. */
clgan_status clgan_mlp_init_params(clgan_mlp *mlp, uint64_t seed, uint32_t stream,
                                   clgan_error *err);

/* Forward pass over x (rows × in_dim, rows <= capacity). *out receives the
 * output view (rows × out_dim), valid until the next pass. */
clgan_status clgan_mlp_forward(clgan_mlp *mlp, clgan_view x, clgan_view *out, clgan_error *err);

/* The view the loss writes d(loss)/d(output) into for a pass of `rows`. */
clgan_view clgan_mlp_output_grad(const clgan_mlp *mlp, size_t rows);

/* Backward pass after clgan_mlp_forward(x): reads the output gradient from
 * dout (rows × out_dim; may be overwritten). With param_grads, adds the
 * parameter gradients into mlp->grads; with input_grad, writes d/dx into
 * mlp->dx. */
clgan_status clgan_mlp_backward(clgan_mlp *mlp, clgan_view x, clgan_view dout, bool param_grads,
                                bool input_grad, clgan_error *err);

clgan_view clgan_mlp_flat(const clgan_mlp *mlp, clgan_buffer *buf);

#endif
