/* Checkpoints: both networks with their optimizer state, the step count and
 * the resolved config that built them, in one self-describing file.
 *
 * Layout (little-endian, as written by x86-64/ARM hosts):
 *   "CLGANCKP" | u32 version | u32 0 | u64 yaml_len | yaml | u64 step |
 *   u64 n_g | u64 n_d | f32 G params, G moment1, G moment2 (n_g each) |
 *   f32 D params, D moment1, D moment2 (n_d each) | u32 CRC-32 of all before.
 * Written to a temporary file and renamed, so a crash never leaves a torn file. */
#ifndef CLGAN_CHECKPOINT_H
#define CLGAN_CHECKPOINT_H

#include <stdint.h>

#include "clgan/gan.h"

#define CLGAN_CHECKPOINT_VERSION 1u

typedef struct clgan_checkpoint {
  clgan_config cfg;
  char *config_yaml;
  uint64_t step;
  uint64_t n_g, n_d;
  float *g_state; /* 3·n_g: params, moment1, moment2 */
  float *d_state; /* 3·n_d */
} clgan_checkpoint;

clgan_status clgan_checkpoint_save(const char *path, clgan_gan *gan, clgan_error *err);

/* Reads and verifies a checkpoint (magic, version, sizes, checksum, config).
 * Failures are CLGAN_E_INPUT naming the file and what is wrong. */
clgan_status clgan_checkpoint_load(const char *path, clgan_checkpoint *ck, clgan_error *err);
void clgan_checkpoint_free(clgan_checkpoint *ck);

/* Uploads the checkpoint's weights and optimizer state into a GAN built
 * from ck->cfg, and sets its step. */
clgan_status clgan_checkpoint_restore(const clgan_checkpoint *ck, clgan_gan *gan, clgan_error *err);

#endif
