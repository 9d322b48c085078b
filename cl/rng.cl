#include "clgan_shared.h"

/* Counter-based randomness: each element is a pure function of its
 * coordinates and the key, so no state lives on the device and any backend
 * reproduces the same numbers (clgan_shared.h). */

/* out (rows × cols) = noise; kind as in clgan_noise_kind. */
__kernel void clgan_noise(int kind, float range, float jitter, float std_dev, ulong seed,
                          uint stream, uint counter, __global float *out, uint ooff, uint old,
                          uint rows, uint cols) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  out[ooff + r * old + c] =
      clgan_noise_value(kind, range, jitter, std_dev, r, c, rows, cols, counter, stream, seed);
}

/* out row r = data row perm(first + r), perm the keyed permutation of
 * [0, n_data). One work-item per output row: the permutation (dozens of
 * Philox rounds) is computed once per row, then the row is copied. */
__kernel void clgan_gather_shuffled(__global const float *data, uint doff, uint dld, uint n_data,
                                    ulong seed, uint round_key, uint first, __global float *out,
                                    uint ooff, uint old, uint rows, uint cols) {
  uint r = (uint)get_global_id(0);
  if (r >= rows)
    return;
  uint src = clgan_permute(first + r, n_data, round_key, seed);
  for (uint c = 0u; c < cols; ++c)
    out[ooff + r * old + c] = data[doff + src * dld + c];
}
