/* The fixed training dataset, sampled on the host once from Philox so every
 * backend trains on bit-identical data. */
#ifndef CLGAN_DATASET_H
#define CLGAN_DATASET_H

#include <stddef.h>
#include <stdint.h>

/* out[i] ~ N(mean, std²) for i < n, from Philox (seed, stream). */
void clgan_sample_normal(float *out, size_t n, float mean, float std, uint64_t seed,
                         uint32_t stream);

#endif
