/* The backend op table. Model code calls these ops on views of
 * backend-owned buffers and never sees cl_mem or host pointers; the "ref"
 * backend (plain C) and the "opencl" backend (CLBlast + cl/ kernels)
 * implement the same table and must agree to within documented tolerances.
 *
 * Conventions shared by every op:
 *  - float32 only; matrices are row-major views (rows × cols, leading
 *    dimension ld >= cols, offset in floats from the start of the buffer).
 *  - Ops enqueue work and return; only read() and finish() wait for the
 *    device. Ops run in submission order (one in-order queue).
 *  - Sizes of zero rows are legal and do nothing.
 *  - Reductions use a fixed summation order, so a backend gives identical
 *    bits for identical inputs on every run. */
#ifndef CLGAN_BACKEND_H
#define CLGAN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clgan/status.h"

typedef struct clgan_buffer clgan_buffer; /* defined by each backend */
typedef struct clgan_backend clgan_backend;

typedef struct clgan_view {
  clgan_buffer *buf;
  size_t offset; /* in floats */
  size_t rows, cols, ld;
} clgan_view;

typedef enum clgan_activation {
  CLGAN_ACT_IDENTITY = 0,
  CLGAN_ACT_RELU,
  CLGAN_ACT_LEAKY_RELU,
  CLGAN_ACT_TANH,
  CLGAN_ACT_SIGMOID,
  CLGAN_ACT_SOFTPLUS,
  CLGAN_ACT_COUNT
} clgan_activation;

/* Minibatch discrimination (Salimans et al. 2016, §3.2) on a projected
 * batch M (B × K·C, kernel k of row i at columns k·C .. k·C+C-1):
 *   o_ik = scale · Σ_j exp(-Σ_c |M_ikc - M_jkc|)
 * where j runs over all rows, or over j != i when include_self is false,
 * and scale is 1 (sum) or 1/count (mean; 0 when count is 0). */
typedef struct clgan_mbd_shape {
  size_t kernels;    /* K */
  size_t kernel_dim; /* C */
  bool include_self;
  bool mean;
} clgan_mbd_shape;

typedef enum clgan_noise_kind {
  CLGAN_NOISE_STRATIFIED = 0, /* linspace(-range, range, rows) + U(0, jitter), per column */
  CLGAN_NOISE_UNIFORM,        /* U(-range, range) */
  CLGAN_NOISE_NORMAL,         /* N(0, std) */
} clgan_noise_kind;

typedef struct clgan_noise_params {
  clgan_noise_kind kind;
  float range;  /* stratified, uniform */
  float jitter; /* stratified */
  float std;    /* normal */
} clgan_noise_params;

/* Counter-based randomness: a (seed, stream, counter) triple names a fixed
 * block of random numbers, so runs are reproducible and backends agree. */
typedef struct clgan_rng_key {
  uint64_t seed;
  uint32_t stream;  /* which consumer: noise for D step, noise for G step, ... */
  uint32_t counter; /* usually the step number */
} clgan_rng_key;

typedef struct clgan_adam_step {
  float lr; /* already includes bias correction: lr·sqrt(1-b2^t)/(1-b1^t) */
  float beta1, beta2;
  float eps; /* added to sqrt(v) */
} clgan_adam_step;

typedef struct clgan_backend_ops {
  const char *name;
  void (*destroy)(clgan_backend *be);

  /* Memory. New buffers are zero-filled. */
  clgan_status (*buffer_create)(clgan_backend *be, size_t n_floats, clgan_buffer **out,
                                clgan_error *err);
  void (*buffer_destroy)(clgan_backend *be, clgan_buffer *buf);
  /* Blocking transfers of n contiguous floats at offset. */
  clgan_status (*write)(clgan_backend *be, clgan_buffer *buf, size_t offset, size_t n,
                        const float *src, clgan_error *err);
  clgan_status (*read)(clgan_backend *be, clgan_buffer *buf, size_t offset, size_t n, float *dst,
                       clgan_error *err);
  clgan_status (*fill)(clgan_backend *be, clgan_view dst, float value, clgan_error *err);
  /* dst = src (same rows and cols). */
  clgan_status (*copy)(clgan_backend *be, clgan_view src, clgan_view dst, clgan_error *err);
  /* Waits until all enqueued work is done. */
  clgan_status (*finish)(clgan_backend *be, clgan_error *err);

  /* C = alpha·op(A)·op(B) + beta·C, op(X) = X or Xᵀ. Shapes: op(A) is
   * c.rows × k, op(B) is k × c.cols. beta = 0 ignores C's old contents. */
  clgan_status (*gemm)(clgan_backend *be, bool trans_a, bool trans_b, float alpha, clgan_view a,
                       clgan_view b, float beta, clgan_view c, clgan_error *err);

  /* z += bias (bias is 1 × z.cols, broadcast over rows); y = act(z).
   * y may alias z. slope is the leaky-relu negative slope. */
  clgan_status (*bias_act_forward)(clgan_backend *be, clgan_activation act, float slope,
                                   clgan_view bias, clgan_view z, clgan_view y, clgan_error *err);
  /* dz = dy ⊙ act'(z) (y = act(z) is given for activations that derive
   * from it); dz may alias dy. If dbias.buf is non-NULL:
   * dbias = dbias_beta·dbias + Σ_rows dz (dbias is 1 × z.cols). */
  clgan_status (*act_backward)(clgan_backend *be, clgan_activation act, float slope, clgan_view z,
                               clgan_view y, clgan_view dy, clgan_view dz, clgan_view dbias,
                               float dbias_beta, clgan_error *err);

  /* o (B × K) from m (B × K·C), as in clgan_mbd_shape. */
  clgan_status (*mbd_forward)(clgan_backend *be, clgan_mbd_shape shape, clgan_view m, clgan_view o,
                              clgan_error *err);
  /* dm (B × K·C) = ∂(Σ d_o ⊙ o)/∂m, overwritten. Uses sign(0) = 0. */
  clgan_status (*mbd_backward)(clgan_backend *be, clgan_mbd_shape shape, clgan_view m,
                               clgan_view d_o, clgan_view dm, clgan_error *err);

  /* Binary cross-entropy on logits l (B × 1) against a constant target t:
   * loss = mean_i [softplus(l_i) - t·l_i], stored at loss_buf[loss_offset];
   * dl_i = grad_scale · (sigmoid(l_i) - t). Stable at any |l|. */
  clgan_status (*bce_logits)(clgan_backend *be, clgan_view logits, float target, float grad_scale,
                             clgan_view dlogits, clgan_buffer *loss_buf, size_t loss_offset,
                             clgan_error *err);

  /* Flat optimizer updates over 1 × n views (params, grads, moments). */
  clgan_status (*adam_update)(clgan_backend *be, clgan_adam_step step, clgan_view params,
                              clgan_view grads, clgan_view m, clgan_view v, clgan_error *err);
  /* vel = momentum·vel + grad; params -= lr·vel. */
  clgan_status (*sgd_update)(clgan_backend *be, float lr, float momentum, clgan_view params,
                             clgan_view grads, clgan_view velocity, clgan_error *err);

  /* Fills out (rows × cols) with noise; element (i, c) uses Philox counter
   * (i·cols + c, key.counter, key.stream) under key.seed. */
  clgan_status (*noise)(clgan_backend *be, clgan_noise_params params, clgan_rng_key key,
                        clgan_view out, clgan_error *err);
  /* out row r = data row perm(first + r), where perm is the keyed
   * pseudorandom permutation of [0, data.rows) (clgan_permute in
   * cl/clgan_shared.h) with seed key.seed and round key key.counter (the epoch). */
  clgan_status (*gather_shuffled)(clgan_backend *be, clgan_view data, clgan_rng_key key,
                                  size_t first, clgan_view out, clgan_error *err);
} clgan_backend_ops;

/* Counters so tests and benchmarks can see launches and transfers. */
typedef struct clgan_backend_counters {
  uint64_t launches;  /* kernels and CLBlast calls enqueued */
  uint64_t transfers; /* blocking reads and writes */
} clgan_backend_counters;

struct clgan_backend {
  const clgan_backend_ops *ops;
  char device_name[256];           /* for reports: "ref (host C)" or the OpenCL device */
  clgan_backend_counters counters; /* each backend keeps these up to date */
  /* Memory limits, so a run that cannot fit is refused before it allocates
   * anything; 0 means no known limit (the ref backend). */
  uint64_t max_buffer_bytes; /* largest single buffer */
  uint64_t total_bytes;      /* all buffers together */
};

/* The reference backend: plain C on the host. */
clgan_status clgan_backend_ref_create(clgan_backend **out, clgan_error *err);

static inline clgan_view clgan_view_full(clgan_buffer *buf, size_t offset, size_t rows,
                                         size_t cols) {
  clgan_view v = {buf, offset, rows, cols, cols};
  return v;
}

/* Sub-view of rows [r0, r0+nr) and columns [c0, c0+nc). */
static inline clgan_view clgan_view_sub(clgan_view v, size_t r0, size_t nr, size_t c0, size_t nc) {
  clgan_view s = {v.buf, v.offset + r0 * v.ld + c0, nr, nc, v.ld};
  return s;
}

const char *clgan_activation_name(clgan_activation act);
/* Returns CLGAN_ACT_COUNT for an unknown name. */
clgan_activation clgan_activation_from_name(const char *name);

#endif
