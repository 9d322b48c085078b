#include "clgan/dataset.h"

#include "clgan_shared.h"

void clgan_sample_normal(float *out, size_t n, float mean, float std, uint64_t seed,
                         uint32_t stream) {
  for (size_t i = 0; i < n; ++i) {
    /* The 64-bit index spans two counter words, so datasets may exceed 2^32. */
    clgan_philox_out r =
        clgan_philox((clgan_u32)i, (clgan_u32)((uint64_t)i >> 32), stream, 0xDA7Au, seed);
    out[i] = mean + std * clgan_normal_from(r.x0, r.x1);
  }
}
