/* Checkpoints: both networks with their optimizer state, the step count and
 * the resolved config that built them, in one self-describing file that a
 * run can be continued from (`clgan train --resume`).
 *
 * Layout, format version 2 (little-endian, as written by x86-64/ARM hosts):
 *   "CLGANCKP" | u32 version | u32 flags (0) | u64 file length |
 *   u64 config hash | u64 step |
 *   network shapes, generator then discriminator, each:
 *     u32 n_layers | u32 0 | n_layers × (u32 kind | u32 0 | u64 in_dim |
 *     u64 out_dim | u64 n_params) |
 *   u64 yaml_len | yaml (the resolved config) |
 *   u64 n_g | u64 n_d | f32 G params, G moment1, G moment2 (n_g each) |
 *   f32 D params, D moment1, D moment2 (n_d each) | u32 CRC-32 of all before.
 * The config hash is 64-bit FNV-1a of the yaml bytes. The file length is
 * in the fixed header so a truncated file is named as such rather than as a
 * bad checksum.
 * The shapes let a reader refuse weights that do not fit the config they
 * travel with, and name both shapes when they differ.
 *
 * Files are written to PATH.tmp, synced and renamed, so a crash or a full
 * disk never leaves a torn file, and a failed write leaves the previous
 * file as it was. */
#ifndef CLGAN_CHECKPOINT_H
#define CLGAN_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clgan/gan.h"

#define CLGAN_CHECKPOINT_VERSION 2u

typedef struct clgan_layer_shape {
  uint32_t kind; /* clgan_layer_kind */
  uint64_t in_dim, out_dim, n_params;
} clgan_layer_shape;

typedef struct clgan_net_shape {
  uint32_t n_layers; /* hidden layers + the output layer */
  clgan_layer_shape layers[CLGAN_MAX_LAYERS + 1];
} clgan_net_shape;

typedef struct clgan_checkpoint {
  clgan_config cfg;
  char *config_yaml;    /* the embedded config text; NULL in a captured checkpoint */
  uint64_t config_hash; /* FNV-1a 64 of config_yaml */
  uint64_t step;
  clgan_net_shape g_shape, d_shape;
  uint64_t n_g, n_d;
  float *g_state; /* 3·n_g: params, moment1, moment2 */
  float *d_state; /* 3·n_d */
} clgan_checkpoint;

/* Captures and writes in one go (clgan_checkpoint_capture + _write). */
clgan_status clgan_checkpoint_save(const char *path, clgan_gan *gan, clgan_error *err);

/* Reads the GAN's weights, optimizer state, step and config into ck on the
 * host (free with clgan_checkpoint_free). Waits for the device. */
clgan_status clgan_checkpoint_capture(clgan_gan *gan, clgan_checkpoint *ck, clgan_error *err);

/* Writes ck to path atomically. The embedded config is ck->config_yaml when
 * set, else ck->cfg emitted as YAML. Non-finite state is refused
 * (CLGAN_E_RUNTIME), so a file on disk always holds a usable state. */
clgan_status clgan_checkpoint_write(const char *path, const clgan_checkpoint *ck, clgan_error *err);

/* Reads and verifies a checkpoint: magic, version, length, checksum, config
 * hash, config, and that the stored network shapes are the ones the
 * embedded config builds. Failures are CLGAN_E_INPUT naming the file and
 * what is wrong; nothing is written. */
clgan_status clgan_checkpoint_load(const char *path, clgan_checkpoint *ck, clgan_error *err);
void clgan_checkpoint_free(clgan_checkpoint *ck);

/* Whether every stored float is finite. If not, writes what is wrong into
 * what, naming the network and the part, e.g. "generator weights are not
 * finite (3 of 13 values; index 2 is nan)". */
bool clgan_checkpoint_is_finite(const clgan_checkpoint *ck, char *what, size_t size);

/* Uploads the checkpoint's weights and optimizer state into a GAN built
 * from a config with the same networks, and sets its step. A network whose
 * shape differs is refused (CLGAN_E_INPUT, naming both shapes). */
clgan_status clgan_checkpoint_restore(const clgan_checkpoint *ck, clgan_gan *gan, clgan_error *err);

/* Whether a run of cfg may continue from ck (read from path, for messages):
 * cfg must equal the checkpoint's config except for the keys that do not
 * change the training trajectory up to any step: name, train.epochs,
 * train.max_steps, train.log_every, eval.* and device.*. A refusal is
 * CLGAN_E_INPUT naming the first differing key and both values. */
clgan_status clgan_checkpoint_check_resume(const clgan_checkpoint *ck, const char *path,
                                           const clgan_config *cfg, clgan_error *err);

/* FNV-1a 64 of cfg's resolved YAML with the keys that may change on resume
 * reset to their defaults: two configs with the same training hash train
 * the same run, step for step. */
clgan_status clgan_config_training_hash(const clgan_config *cfg, uint64_t *hash, clgan_error *err);

/* The shapes of a built network, and of the network a config would build
 * (generator: noise.dim → data.dim; discriminator: data.dim → 1). */
void clgan_net_shape_of_mlp(const clgan_mlp *mlp, clgan_net_shape *shape);
void clgan_gan_shapes_of_config(const clgan_config *cfg, clgan_net_shape *g, clgan_net_shape *d);

/* "dense 1->4 (8 params), dense 4->1 (5 params)" into buf. */
void clgan_net_shape_format(const clgan_net_shape *shape, char *buf, size_t size);

#endif
