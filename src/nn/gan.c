/* The GAN training step and the evaluation passes on the backend. */
#include "clgan/gan.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clgan/dataset.h"
#include "clgan/size_math.h"
#include "clgan_shared.h"

static clgan_status upload_dataset(clgan_gan *gan, clgan_error *err) {
  const clgan_config *cfg = &gan->cfg;
  size_t n = cfg->data.size * cfg->data.dim;
  float *host = malloc(n * sizeof(float));
  if (!host)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory sampling %zu data points",
                      cfg->data.size);
  clgan_sample_normal(host, n, cfg->data.mean, cfg->data.std, cfg->train.seed, CLGAN_STREAM_DATA);
  clgan_status st = gan->be->ops->write(gan->be, gan->data, 0, n, host, err);
  free(host);
  return st;
}

static clgan_status create_parts(clgan_gan *gan, size_t g_capacity, clgan_error *err) {
  clgan_backend *be = gan->be;
  const clgan_config *cfg = &gan->cfg;
  size_t batch = cfg->train.batch_size, dim = cfg->data.dim;
  CLGAN_TRY(clgan_mlp_create(be, &cfg->generator, cfg->noise.dim, dim,
                             cfg->generator.output_activation, g_capacity, false, &gan->g, err));
  CLGAN_TRY(clgan_mlp_create(be, &cfg->discriminator, dim, 1, CLGAN_ACT_IDENTITY, batch, true,
                             &gan->d, err));
  CLGAN_TRY(be->ops->buffer_create(be, cfg->data.size * dim, &gan->data, err));
  CLGAN_TRY(be->ops->buffer_create(be, g_capacity * cfg->noise.dim, &gan->noise, err));
  CLGAN_TRY(be->ops->buffer_create(be, batch * dim, &gan->real, err));
  CLGAN_TRY(be->ops->buffer_create(be, CLGAN_LOSS_SLOTS, &gan->loss, err));
  CLGAN_TRY(upload_dataset(gan, err));
  CLGAN_TRY(clgan_mlp_init_params(&gan->g, cfg->train.seed, CLGAN_STREAM_INIT_G, err));
  return clgan_mlp_init_params(&gan->d, cfg->train.seed, CLGAN_STREAM_INIT_D, err);
}

static double gib(size_t floats) {
  return (double)floats * 4.0 / (1024.0 * 1024.0 * 1024.0);
}

/* Refuses a config the device cannot hold before anything is allocated, so
 * the user hears which setting to shrink instead of a failed clCreateBuffer
 * halfway through the setup. */
static clgan_status check_fits(clgan_backend *be, const clgan_config *cfg, size_t g_capacity,
                               clgan_error *err) {
  size_t batch = cfg->train.batch_size, dim = cfg->data.dim;
  if (batch == 0 || cfg->data.size < batch)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "config '%s': data.size (%zu) must be >= train.batch_size (%zu)", cfg->name,
                      cfg->data.size, batch);
  /* Rows are shuffled and steps counted with 32-bit Philox counters. */
  if (cfg->data.size > UINT32_MAX)
    return clgan_fail(err, CLGAN_E_INPUT, "config '%s': data.size %zu exceeds %u rows", cfg->name,
                      cfg->data.size, UINT32_MAX);
  size_t steps = clgan_mul_sat(cfg->data.size / batch, cfg->train.epochs);
  if (cfg->train.max_steps && cfg->train.max_steps < steps)
    steps = cfg->train.max_steps;
  if (steps > UINT32_MAX)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "config '%s': %zu training steps (train.epochs × data.size / batch) exceed "
                      "%u; lower train.epochs or set train.max_steps",
                      cfg->name, steps, UINT32_MAX);
  size_t g_total, g_largest, d_total, d_largest;
  clgan_mlp_footprint(&cfg->generator, cfg->noise.dim, dim, g_capacity, false, &g_total,
                      &g_largest);
  clgan_mlp_footprint(&cfg->discriminator, dim, 1, batch, true, &d_total, &d_largest);
  size_t data = clgan_mul_sat(cfg->data.size, dim),
         noise = clgan_mul_sat(g_capacity, cfg->noise.dim);
  size_t total =
      clgan_add_sat(clgan_add_sat(clgan_add_sat(g_total, d_total), clgan_add_sat(data, noise)),
                    clgan_mul_sat(batch, dim) + CLGAN_LOSS_SLOTS);
  size_t largest = data;
  const char *what = "the dataset (data.size × data.dim)";
  if (g_largest > largest) {
    largest = g_largest;
    what = "a generator activation (eval.samples × layer width)";
  }
  if (d_largest > largest) {
    largest = d_largest;
    what = "a discriminator buffer (train.batch_size × layer width)";
  }
  if (be->max_buffer_bytes && (uint64_t)clgan_mul_sat(largest, 4) > be->max_buffer_bytes)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "config '%s' does not fit %s: %s needs %.3g GiB in one buffer, the device "
                      "allows %.3g GiB per buffer; reduce it",
                      cfg->name, be->device_name, what, gib(largest),
                      (double)be->max_buffer_bytes / (1024.0 * 1024.0 * 1024.0));
  if (be->total_bytes && (uint64_t)clgan_mul_sat(total, 4) > be->total_bytes)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "config '%s' does not fit %s: it needs %.3g GiB of device memory, the "
                      "device has %.3g GiB; reduce data.size, eval.samples or layer widths",
                      cfg->name, be->device_name, gib(total),
                      (double)be->total_bytes / (1024.0 * 1024.0 * 1024.0));
  return CLGAN_OK;
}

clgan_status clgan_gan_create(clgan_backend *be, const clgan_config *cfg, size_t g_capacity,
                              clgan_gan *gan, clgan_error *err) {
  memset(gan, 0, sizeof *gan);
  if (g_capacity < cfg->train.batch_size)
    g_capacity = cfg->train.batch_size;
  CLGAN_TRY(check_fits(be, cfg, g_capacity, err));
  gan->be = be;
  gan->cfg = *cfg;
  size_t batch = cfg->train.batch_size;
  if (g_capacity < batch)
    g_capacity = batch;
  gan->steps_per_epoch = cfg->data.size / batch;
  gan->total_steps = clgan_mul_sat(gan->steps_per_epoch, cfg->train.epochs);
  if (cfg->train.max_steps && cfg->train.max_steps < gan->total_steps)
    gan->total_steps = cfg->train.max_steps;
  clgan_status st = create_parts(gan, g_capacity, err);
  if (st != CLGAN_OK)
    clgan_gan_destroy(gan);
  return st;
}

void clgan_gan_destroy(clgan_gan *gan) {
  if (!gan->be)
    return;
  clgan_mlp_destroy(&gan->g);
  clgan_mlp_destroy(&gan->d);
  clgan_buffer *bufs[] = {gan->data, gan->noise, gan->real, gan->loss};
  for (size_t i = 0; i < 4; ++i)
    if (bufs[i])
      gan->be->ops->buffer_destroy(gan->be, bufs[i]);
  memset(gan, 0, sizeof *gan);
}

/* Update number t (1-based) of one network's optimizer. */
static clgan_status optimizer_update(clgan_gan *gan, clgan_mlp *net,
                                     const clgan_optimizer_config *opt, uint64_t t,
                                     clgan_error *err) {
  const clgan_backend_ops *ops = gan->be->ops;
  clgan_view p = clgan_mlp_flat(net, net->params), g = clgan_mlp_flat(net, net->grads);
  clgan_view m = clgan_mlp_flat(net, net->moment1), v = clgan_mlp_flat(net, net->moment2);
  if (opt->kind == CLGAN_OPT_ADAM) {
    /* Bias correction folded into the step size, computed in double here so
     * the kernel needs no per-step state. */
    double correction = sqrt(1.0 - pow(opt->beta2, (double)t)) / (1.0 - pow(opt->beta1, (double)t));
    clgan_adam_step step = {(float)(opt->lr * correction), opt->beta1, opt->beta2, opt->eps};
    return ops->adam_update(gan->be, step, p, g, m, v, err);
  }
  double lr = opt->lr;
  if (opt->decay_steps)
    lr *= pow(opt->decay_rate, (double)((t - 1) / opt->decay_steps));
  return ops->sgd_update(gan->be, (float)lr, opt->momentum, p, g, m, err);
}

static clgan_status generate_batch(clgan_gan *gan, uint32_t stream, uint32_t counter,
                                   clgan_view *fake, clgan_error *err) {
  size_t batch = gan->cfg.train.batch_size;
  clgan_rng_key key = {gan->cfg.train.seed, stream, counter};
  clgan_view z = clgan_view_full(gan->noise, 0, batch, gan->cfg.noise.dim);
  CLGAN_TRY(gan->be->ops->noise(gan->be, gan->cfg.noise.params, key, z, err));
  return clgan_mlp_forward(&gan->g, z, fake, err);
}

/* D forward + loss + backward on one minibatch. */
static clgan_status d_pass(clgan_gan *gan, clgan_view x, float target, size_t loss_slot,
                           bool param_grads, bool input_grad, clgan_error *err) {
  clgan_view logits;
  CLGAN_TRY(clgan_mlp_forward(&gan->d, x, &logits, err));
  clgan_view dlogits = clgan_mlp_output_grad(&gan->d, x.rows);
  CLGAN_TRY(gan->be->ops->bce_logits(gan->be, logits, target, 1.0f / (float)x.rows, dlogits,
                                     gan->loss, loss_slot, err));
  return clgan_mlp_backward(&gan->d, x, dlogits, param_grads, input_grad, err);
}

static clgan_status discriminator_update(clgan_gan *gan, clgan_error *err) {
  const clgan_config *cfg = &gan->cfg;
  const clgan_backend_ops *ops = gan->be->ops;
  uint64_t s = gan->step;
  size_t batch = cfg->train.batch_size;
  CLGAN_TRY(ops->fill(gan->be, clgan_mlp_flat(&gan->d, gan->d.grads), 0.0f, err));

  clgan_rng_key shuffle = {cfg->train.seed, 0, (uint32_t)(s / gan->steps_per_epoch)};
  size_t first = (size_t)(s % gan->steps_per_epoch) * batch;
  clgan_view data = clgan_view_full(gan->data, 0, cfg->data.size, cfg->data.dim);
  clgan_view real = clgan_view_full(gan->real, 0, batch, cfg->data.dim);
  CLGAN_TRY(ops->gather_shuffled(gan->be, data, shuffle, first, real, err));
  CLGAN_TRY(d_pass(gan, real, 1.0f, CLGAN_LOSS_D_REAL, true, false, err));

  clgan_view fake;
  CLGAN_TRY(generate_batch(gan, CLGAN_STREAM_NOISE_D, (uint32_t)s, &fake, err));
  CLGAN_TRY(d_pass(gan, fake, 0.0f, CLGAN_LOSS_D_FAKE, true, false, err));
  return optimizer_update(gan, &gan->d, &cfg->train.d_optimizer, s + 1, err);
}

static clgan_status generator_update(clgan_gan *gan, clgan_error *err) {
  const clgan_config *cfg = &gan->cfg;
  uint64_t s = gan->step;
  CLGAN_TRY(gan->be->ops->fill(gan->be, clgan_mlp_flat(&gan->g, gan->g.grads), 0.0f, err));
  clgan_view fake, z = clgan_view_full(gan->noise, 0, cfg->train.batch_size, cfg->noise.dim);
  CLGAN_TRY(generate_batch(gan, CLGAN_STREAM_NOISE_G, (uint32_t)s, &fake, err));
  /* Non-saturating generator loss: label the fakes real; D's weights stay put. */
  CLGAN_TRY(d_pass(gan, fake, 1.0f, CLGAN_LOSS_G, false, true, err));
  clgan_view dfake = clgan_view_full(gan->d.dx, 0, cfg->train.batch_size, cfg->data.dim);
  CLGAN_TRY(clgan_mlp_backward(&gan->g, z, dfake, true, false, err));
  return optimizer_update(gan, &gan->g, &cfg->train.g_optimizer, s + 1, err);
}

clgan_status clgan_gan_step(clgan_gan *gan, clgan_error *err) {
  CLGAN_TRY(discriminator_update(gan, err));
  CLGAN_TRY(generator_update(gan, err));
  gan->step++;
  return CLGAN_OK;
}

clgan_status clgan_gan_read_losses(clgan_gan *gan, float *d_loss, float *g_loss, clgan_error *err) {
  float l[CLGAN_LOSS_SLOTS];
  CLGAN_TRY(gan->be->ops->read(gan->be, gan->loss, 0, CLGAN_LOSS_SLOTS, l, err));
  *d_loss = l[CLGAN_LOSS_D_REAL] + l[CLGAN_LOSS_D_FAKE];
  *g_loss = l[CLGAN_LOSS_G];
  return CLGAN_OK;
}

clgan_status clgan_gan_generate(clgan_gan *gan, size_t n, float *out, clgan_error *err) {
  if (n > gan->g.capacity)
    return clgan_fail(err, CLGAN_E_RUNTIME, "generate: %zu samples exceed capacity %zu", n,
                      gan->g.capacity);
  clgan_rng_key key = {gan->cfg.train.seed, CLGAN_STREAM_NOISE_EVAL, 0};
  clgan_view z = clgan_view_full(gan->noise, 0, n, gan->cfg.noise.dim), x;
  CLGAN_TRY(gan->be->ops->noise(gan->be, gan->cfg.noise.params, key, z, err));
  CLGAN_TRY(clgan_mlp_forward(&gan->g, z, &x, err));
  /* The output view is contiguous (ld = data.dim): one read. */
  return gan->be->ops->read(gan->be, x.buf, x.offset, n * gan->cfg.data.dim, out, err);
}

/* Host batches for clgan_gan_discriminate: batch g has xs[g] in row 0 and
 * the reference rows after it. */
static float *grid_batches(clgan_gan *gan, const double *xs, size_t n, clgan_error *err) {
  const clgan_config *cfg = &gan->cfg;
  size_t batch = cfg->train.batch_size, dim = cfg->data.dim;
  float *host = malloc(n * batch * dim * sizeof(float));
  float *ref = malloc(batch * dim * sizeof(float));
  if (!host || !ref) {
    free(host);
    free(ref);
    clgan_fail(err, CLGAN_E_RUNTIME, "out of memory evaluating D on %zu points", n);
    return NULL;
  }
  if (batch > 1 && gan->be->ops->read(gan->be, gan->data, 0, (batch - 1) * dim, ref, err)) {
    free(host);
    free(ref);
    return NULL;
  }
  for (size_t g = 0; g < n; ++g) {
    float *b = host + g * batch * dim;
    for (size_t c = 0; c < dim; ++c)
      b[c] = c == 0 ? (float)xs[g] : cfg->data.mean;
    memcpy(b + dim, ref, (batch - 1) * dim * sizeof(float));
  }
  free(ref);
  return host;
}

clgan_status clgan_gan_discriminate(clgan_gan *gan, const double *xs, size_t n, double *d_out,
                                    clgan_error *err) {
  clgan_backend *be = gan->be;
  size_t batch = gan->cfg.train.batch_size, dim = gan->cfg.data.dim;
  float *host = grid_batches(gan, xs, n, err);
  if (!host)
    return err->status;
  clgan_buffer *batches = NULL, *logits = NULL;
  float *out = malloc(n * sizeof(float));
  clgan_status st = out ? CLGAN_OK : clgan_fail(err, CLGAN_E_RUNTIME, "out of memory");
  if (st == CLGAN_OK)
    st = be->ops->buffer_create(be, n * batch * dim, &batches, err);
  if (st == CLGAN_OK)
    st = be->ops->buffer_create(be, n, &logits, err);
  if (st == CLGAN_OK)
    st = be->ops->write(be, batches, 0, n * batch * dim, host, err);
  for (size_t g = 0; st == CLGAN_OK && g < n; ++g) {
    clgan_view x = clgan_view_full(batches, g * batch * dim, batch, dim), y;
    st = clgan_mlp_forward(&gan->d, x, &y, err);
    if (st == CLGAN_OK)
      st = be->ops->copy(be, clgan_view_sub(y, 0, 1, 0, 1), clgan_view_full(logits, g, 1, 1), err);
  }
  if (st == CLGAN_OK)
    st = be->ops->read(be, logits, 0, n, out, err);
  for (size_t g = 0; st == CLGAN_OK && g < n; ++g)
    d_out[g] = clgan_sigmoid(out[g]);
  if (batches)
    be->ops->buffer_destroy(be, batches);
  if (logits)
    be->ops->buffer_destroy(be, logits);
  free(out);
  free(host);
  return st;
}
