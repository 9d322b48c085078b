/* A GAN on one backend: generator, discriminator, the dataset and the
 * training step. Everything lives on the backend; a step only enqueues work,
 * and the host waits only when it reads losses or samples. */
#ifndef CLGAN_GAN_H
#define CLGAN_GAN_H

#include <stdint.h>

#include "clgan/config.h"
#include "clgan/model.h"

/* Philox streams: each consumer of randomness has its own. */
enum {
  CLGAN_STREAM_DATA = 1,
  CLGAN_STREAM_NOISE_D = 2,
  CLGAN_STREAM_NOISE_G = 3,
  CLGAN_STREAM_NOISE_EVAL = 4,
  CLGAN_STREAM_INIT_G = 5,
  CLGAN_STREAM_INIT_D = 6,
};

/* Slots of the on-device loss buffer. */
enum { CLGAN_LOSS_D_REAL = 0, CLGAN_LOSS_D_FAKE = 1, CLGAN_LOSS_G = 2, CLGAN_LOSS_SLOTS = 3 };

typedef struct clgan_gan {
  clgan_backend *be;
  clgan_config cfg;
  clgan_mlp g, d;
  clgan_buffer *data;  /* data.size × data.dim */
  clgan_buffer *noise; /* G capacity × noise.dim */
  clgan_buffer *real;  /* batch × data.dim */
  clgan_buffer *loss;  /* CLGAN_LOSS_SLOTS */
  uint64_t step;       /* completed training steps */
  uint64_t steps_per_epoch, total_steps;
} clgan_gan;

/* Allocates everything, samples the dataset and initialises both networks
 * from cfg->train.seed. g_capacity >= batch size (the generator also serves
 * evaluation batches). */
clgan_status clgan_gan_create(clgan_backend *be, const clgan_config *cfg, size_t g_capacity,
                              clgan_gan *gan, clgan_error *err);
void clgan_gan_destroy(clgan_gan *gan);

/* One D update (real batch and generated batch as separate minibatches),
 * then one G update on fresh noise. Enqueues only. */
clgan_status clgan_gan_step(clgan_gan *gan, clgan_error *err);

/* Reads the losses of the last step: D loss (real + fake) and G loss. */
clgan_status clgan_gan_read_losses(clgan_gan *gan, float *d_loss, float *g_loss, clgan_error *err);

/* n generated samples (n <= G capacity) from the fixed evaluation noise
 * (stream CLGAN_STREAM_NOISE_EVAL, counter 0): host array n × data.dim. */
clgan_status clgan_gan_generate(clgan_gan *gan, size_t n, float *out, clgan_error *err);

/* D(x) (after the sigmoid) at n grid points. With a minibatch layer D's
 * output depends on the rest of the batch, so each x is placed in row 0 of
 * a batch whose other rows are a fixed reference set of real samples (the
 * first batch_size-1 dataset rows); without one this equals plain D(x).
 * Grid points vary data dimension 0; other dimensions sit at data.mean. */
clgan_status clgan_gan_discriminate(clgan_gan *gan, const double *xs, size_t n, double *d_out,
                                    clgan_error *err);

#endif
