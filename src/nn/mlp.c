/* MLP layers on the backend op table: dense (gemm + fused bias/activation)
 * and minibatch discrimination (gemm projection + MBD feature). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clgan/model.h"
#include "clgan/size_math.h"
#include "clgan_shared.h"

static clgan_status alloc(clgan_backend *be, size_t n, clgan_buffer **out, clgan_error *err) {
  return be->ops->buffer_create(be, n, out, err);
}

static bool is_mbd(const clgan_layer *l) {
  return l->cfg.kind == CLGAN_LAYER_MINIBATCH;
}

static size_t mbd_width(const clgan_layer *l) {
  return l->cfg.mbd.kernels * l->cfg.mbd.kernel_dim;
}

static clgan_view rows_of(clgan_view v, size_t rows) {
  v.rows = rows;
  return v;
}

/* Shapes and parameter offsets, before any allocation. */
static void plan_layers(clgan_mlp *mlp, const clgan_network_config *cfg, size_t in_dim,
                        size_t out_dim, clgan_activation out_act) {
  size_t width = in_dim, offset = 0;
  mlp->n_layers = cfg->n_layers + 1;
  for (size_t i = 0; i < mlp->n_layers; ++i) {
    clgan_layer *l = &mlp->layers[i];
    memset(l, 0, sizeof *l);
    if (i < cfg->n_layers) {
      l->cfg = cfg->layers[i];
    } else {
      l->cfg.kind = CLGAN_LAYER_DENSE;
      l->cfg.units = out_dim;
      l->cfg.activation = out_act;
      l->cfg.init_std = cfg->output_init_std;
    }
    l->in_dim = width;
    l->param_offset = offset;
    if (is_mbd(l)) {
      l->out_dim = width + l->cfg.mbd.kernels;
      l->n_params = width * mbd_width(l);
    } else {
      l->out_dim = l->cfg.units;
      l->n_params = width * l->cfg.units + l->cfg.units;
    }
    offset += l->n_params;
    width = l->out_dim;
  }
  mlp->n_params = offset;
  mlp->in_dim = in_dim;
  mlp->out_dim = width;
}

/* Allocates activations back to front, so a dense layer can point its
 * output into the minibatch layer after it. */
static clgan_status alloc_activations(clgan_mlp *mlp, clgan_error *err) {
  clgan_backend *be = mlp->be;
  size_t cap = mlp->capacity;
  for (size_t n = mlp->n_layers; n-- > 0;) {
    clgan_layer *l = &mlp->layers[n];
    clgan_layer *next = n + 1 < mlp->n_layers ? &mlp->layers[n + 1] : NULL;
    if (is_mbd(l)) {
      CLGAN_TRY(alloc(be, cap * mbd_width(l), &l->z, err));
      CLGAN_TRY(alloc(be, cap * mbd_width(l), &l->dm, err));
    } else {
      CLGAN_TRY(alloc(be, cap * l->out_dim, &l->z, err));
    }
    if (next && is_mbd(next) && !is_mbd(l)) {
      /* Write straight into the next layer's input columns. */
      l->y = clgan_view_sub(next->y, 0, cap, 0, l->out_dim);
      l->dy = clgan_view_sub(next->dy, 0, cap, 0, l->out_dim);
      next->input_in_place = true;
      continue;
    }
    if (!is_mbd(l) && l->cfg.activation == CLGAN_ACT_IDENTITY) {
      l->y = clgan_view_full(l->z, 0, cap, l->out_dim); /* y = z: no second buffer */
    } else {
      CLGAN_TRY(alloc(be, cap * l->out_dim, &l->out, err));
      l->y = clgan_view_full(l->out, 0, cap, l->out_dim);
    }
    CLGAN_TRY(alloc(be, cap * l->out_dim, &l->dout, err));
    l->dy = clgan_view_full(l->dout, 0, cap, l->out_dim);
  }
  return CLGAN_OK;
}

static void count_buffer(size_t floats, size_t *total, size_t *largest) {
  *total = clgan_add_sat(*total, floats);
  if (floats > *largest)
    *largest = floats;
}

void clgan_mlp_footprint(const clgan_network_config *cfg, size_t in_dim, size_t out_dim,
                         size_t capacity, bool want_input_grad, size_t *total, size_t *largest) {
  clgan_mlp plan;
  memset(&plan, 0, sizeof plan);
  plan_layers(&plan, cfg, in_dim, out_dim, CLGAN_ACT_IDENTITY);
  *total = *largest = 0;
  for (int i = 0; i < 4; ++i) /* params, grads, two optimizer moments */
    count_buffer(plan.n_params, total, largest);
  if (want_input_grad)
    count_buffer(clgan_mul_sat(capacity, in_dim), total, largest);
  for (size_t i = 0; i < plan.n_layers; ++i) {
    const clgan_layer *l = &plan.layers[i];
    size_t act = clgan_mul_sat(capacity, is_mbd(l) ? mbd_width(l) : l->out_dim);
    size_t out = clgan_mul_sat(capacity, l->out_dim);
    count_buffer(act, total, largest);                   /* z or M */
    count_buffer(is_mbd(l) ? act : out, total, largest); /* dM or y (upper bound) */
    count_buffer(out, total, largest);                   /* dout */
    if (is_mbd(l))
      count_buffer(out, total, largest);
  }
}

clgan_status clgan_mlp_create(clgan_backend *be, const clgan_network_config *cfg, size_t in_dim,
                              size_t out_dim, clgan_activation out_act, size_t capacity,
                              bool want_input_grad, clgan_mlp *mlp, clgan_error *err) {
  memset(mlp, 0, sizeof *mlp);
  mlp->be = be;
  mlp->capacity = capacity;
  if (cfg->n_layers > CLGAN_MAX_LAYERS)
    return clgan_fail(err, CLGAN_E_INPUT, "network has %zu layers, at most %d are supported",
                      cfg->n_layers, CLGAN_MAX_LAYERS);
  plan_layers(mlp, cfg, in_dim, out_dim, out_act);
  clgan_status st = alloc(be, mlp->n_params, &mlp->params, err);
  if (st == CLGAN_OK)
    st = alloc(be, mlp->n_params, &mlp->grads, err);
  if (st == CLGAN_OK)
    st = alloc(be, mlp->n_params, &mlp->moment1, err);
  if (st == CLGAN_OK)
    st = alloc(be, mlp->n_params, &mlp->moment2, err);
  if (st == CLGAN_OK && want_input_grad)
    st = alloc(be, capacity * in_dim, &mlp->dx, err);
  if (st == CLGAN_OK)
    st = alloc_activations(mlp, err);
  if (st != CLGAN_OK)
    clgan_mlp_destroy(mlp);
  return st;
}

void clgan_mlp_destroy(clgan_mlp *mlp) {
  if (!mlp->be)
    return;
  clgan_backend *be = mlp->be;
  clgan_buffer *owned[] = {mlp->params, mlp->grads, mlp->moment1, mlp->moment2, mlp->dx};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; ++i)
    if (owned[i])
      be->ops->buffer_destroy(be, owned[i]);
  for (size_t i = 0; i < mlp->n_layers; ++i) {
    clgan_layer *l = &mlp->layers[i];
    clgan_buffer *bufs[] = {l->z, l->dm, l->out, l->dout};
    for (size_t j = 0; j < 4; ++j)
      if (bufs[j])
        be->ops->buffer_destroy(be, bufs[j]);
  }
  memset(mlp, 0, sizeof *mlp);
}

clgan_view clgan_mlp_flat(const clgan_mlp *mlp, clgan_buffer *buf) {
  return clgan_view_full(buf, 0, 1, mlp->n_params);
}

clgan_status clgan_mlp_init_params(clgan_mlp *mlp, uint64_t seed, uint32_t stream,
                                   clgan_error *err) {
  float *host = calloc(mlp->n_params ? mlp->n_params : 1, sizeof(float));
  if (!host)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory initialising parameters");
  for (size_t i = 0; i < mlp->n_layers; ++i) {
    const clgan_layer *l = &mlp->layers[i];
    size_t n_weights = is_mbd(l) ? l->n_params : l->in_dim * l->cfg.units;
    for (size_t p = 0; p < n_weights; ++p) {
      clgan_philox_out r = clgan_philox((clgan_u32)p, (clgan_u32)i, stream, 0x1417u, seed);
      host[l->param_offset + p] = l->cfg.init_std * clgan_normal_from(r.x0, r.x1);
    }
  }
  clgan_status st = mlp->be->ops->write(mlp->be, mlp->params, 0, mlp->n_params, host, err);
  free(host);
  return st;
}

static clgan_view weights(clgan_buffer *buf, const clgan_layer *l) {
  size_t cols = is_mbd(l) ? mbd_width(l) : l->cfg.units;
  return clgan_view_full(buf, l->param_offset, l->in_dim, cols);
}

static clgan_view bias(clgan_buffer *buf, const clgan_layer *l) {
  return clgan_view_full(buf, l->param_offset + l->in_dim * l->cfg.units, 1, l->cfg.units);
}

static clgan_status dense_forward(clgan_mlp *mlp, clgan_layer *l, clgan_view x, clgan_error *err) {
  const clgan_backend_ops *ops = mlp->be->ops;
  size_t rows = x.rows;
  clgan_view z = clgan_view_full(l->z, 0, rows, l->out_dim);
  CLGAN_TRY(ops->gemm(mlp->be, false, false, 1.0f, x, weights(mlp->params, l), 0.0f, z, err));
  return ops->bias_act_forward(mlp->be, l->cfg.activation, l->cfg.slope, bias(mlp->params, l), z,
                               rows_of(l->y, rows), err);
}

static clgan_status mbd_forward(clgan_mlp *mlp, clgan_layer *l, clgan_view x, clgan_error *err) {
  const clgan_backend_ops *ops = mlp->be->ops;
  size_t rows = x.rows;
  clgan_view y = rows_of(l->y, rows);
  clgan_view h = clgan_view_sub(y, 0, rows, 0, l->in_dim);
  if (!l->input_in_place)
    CLGAN_TRY(ops->copy(mlp->be, x, h, err));
  clgan_view m = clgan_view_full(l->z, 0, rows, mbd_width(l));
  CLGAN_TRY(ops->gemm(mlp->be, false, false, 1.0f, h, weights(mlp->params, l), 0.0f, m, err));
  clgan_view o = clgan_view_sub(y, 0, rows, l->in_dim, l->cfg.mbd.kernels);
  return ops->mbd_forward(mlp->be, l->cfg.mbd, m, o, err);
}

clgan_status clgan_mlp_forward(clgan_mlp *mlp, clgan_view x, clgan_view *out, clgan_error *err) {
  if (x.rows > mlp->capacity || x.cols != mlp->in_dim)
    return clgan_fail(err, CLGAN_E_RUNTIME, "mlp forward: input %zu×%zu, capacity %zu×%zu", x.rows,
                      x.cols, mlp->capacity, mlp->in_dim);
  clgan_view in = x;
  for (size_t i = 0; i < mlp->n_layers; ++i) {
    clgan_layer *l = &mlp->layers[i];
    CLGAN_TRY(is_mbd(l) ? mbd_forward(mlp, l, in, err) : dense_forward(mlp, l, in, err));
    in = rows_of(l->y, x.rows);
  }
  *out = in;
  return CLGAN_OK;
}

clgan_view clgan_mlp_output_grad(const clgan_mlp *mlp, size_t rows) {
  return rows_of(mlp->layers[mlp->n_layers - 1].dy, rows);
}

/* Where layer i's input gradient goes: the previous layer's output
 * gradient, or mlp->dx for the first layer (NULL buf: not wanted). */
static clgan_view input_grad_target(const clgan_mlp *mlp, size_t i, size_t rows, bool input_grad) {
  if (i > 0)
    return rows_of(mlp->layers[i - 1].dy, rows);
  clgan_view none = {0};
  if (!input_grad || !mlp->dx)
    return none;
  return clgan_view_full(mlp->dx, 0, rows, mlp->in_dim);
}

static clgan_status dense_backward(clgan_mlp *mlp, clgan_layer *l, clgan_view x, clgan_view dy,
                                   clgan_view dx, bool param_grads, clgan_error *err) {
  const clgan_backend_ops *ops = mlp->be->ops;
  size_t rows = x.rows;
  clgan_view z = clgan_view_full(l->z, 0, rows, l->out_dim);
  clgan_view dbias = {0};
  if (param_grads)
    dbias = bias(mlp->grads, l);
  /* dz overwrites dy in place: dy is not needed afterwards. */
  CLGAN_TRY(ops->act_backward(mlp->be, l->cfg.activation, l->cfg.slope, z, rows_of(l->y, rows), dy,
                              dy, dbias, 1.0f, err));
  if (param_grads)
    CLGAN_TRY(ops->gemm(mlp->be, true, false, 1.0f, x, dy, 1.0f, weights(mlp->grads, l), err));
  if (dx.buf)
    CLGAN_TRY(ops->gemm(mlp->be, false, true, 1.0f, dy, weights(mlp->params, l), 0.0f, dx, err));
  return CLGAN_OK;
}

static clgan_status mbd_backward(clgan_mlp *mlp, clgan_layer *l, clgan_view dy, clgan_view dx,
                                 bool param_grads, clgan_error *err) {
  const clgan_backend_ops *ops = mlp->be->ops;
  size_t rows = dy.rows;
  clgan_view h = clgan_view_sub(rows_of(l->y, rows), 0, rows, 0, l->in_dim);
  clgan_view dh = clgan_view_sub(dy, 0, rows, 0, l->in_dim);
  clgan_view d_o = clgan_view_sub(dy, 0, rows, l->in_dim, l->cfg.mbd.kernels);
  clgan_view m = clgan_view_full(l->z, 0, rows, mbd_width(l));
  clgan_view dm = clgan_view_full(l->dm, 0, rows, mbd_width(l));
  CLGAN_TRY(ops->mbd_backward(mlp->be, l->cfg.mbd, m, d_o, dm, err));
  if (param_grads)
    CLGAN_TRY(ops->gemm(mlp->be, true, false, 1.0f, h, dm, 1.0f, weights(mlp->grads, l), err));
  if (!dx.buf)
    return CLGAN_OK;
  /* d/dh = (pass-through part of dy) + dM·Tᵀ. When the previous dense layer
   * wrote into our columns, dx already is dh and only the product is added. */
  bool dx_is_dh = dx.buf == dh.buf && dx.offset == dh.offset && dx.ld == dh.ld;
  if (!dx_is_dh)
    CLGAN_TRY(ops->copy(mlp->be, dh, dx, err));
  return ops->gemm(mlp->be, false, true, 1.0f, dm, weights(mlp->params, l), 1.0f, dx, err);
}

clgan_status clgan_mlp_backward(clgan_mlp *mlp, clgan_view x, clgan_view dout, bool param_grads,
                                bool input_grad, clgan_error *err) {
  size_t rows = x.rows;
  clgan_view dy = dout;
  for (size_t i = mlp->n_layers; i-- > 0;) {
    clgan_layer *l = &mlp->layers[i];
    clgan_view in = i > 0 ? rows_of(mlp->layers[i - 1].y, rows) : x;
    clgan_view dx = input_grad_target(mlp, i, rows, input_grad);
    CLGAN_TRY(is_mbd(l) ? mbd_backward(mlp, l, dy, dx, param_grads, err)
                        : dense_backward(mlp, l, in, dy, dx, param_grads, err));
    dy = dx;
  }
  return CLGAN_OK;
}
