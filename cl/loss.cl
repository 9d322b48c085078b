#include "clgan_shared.h"

/* Binary cross-entropy on logits (B × 1) against a constant target.
 * dl_i = grad_scale · (sigmoid(l_i) - t); loss = mean_i bce(l_i, t).
 * Launched as exactly ONE work-group so the mean is reduced on the device
 * without atomics: work-item l sums samples l, l+L, ..., then a __local
 * tree (L a power of two) combines the partials in a fixed order. No early
 * return: every work-item must reach the barriers. With no rows the loss is
 * stored as zero. */
__kernel void clgan_bce_logits(__global const float *logits, uint loff, uint lld, uint rows,
                               float target, float grad_scale, __global float *dl, uint dloff,
                               uint dlld, __global float *loss, uint loss_off,
                               __local float *partial) {
  uint lid = (uint)get_local_id(0);
  uint lsize = (uint)get_local_size(0);
  float sum = 0.0f;
  for (uint i = lid; i < rows; i += lsize) {
    float l = logits[loff + i * lld];
    dl[dloff + i * dlld] = grad_scale * (clgan_sigmoid(l) - target);
    sum += clgan_bce_logit(l, target);
  }
  partial[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = lsize / 2u; s > 0u; s >>= 1) {
    if (lid < s)
      partial[lid] += partial[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0u)
    loss[loss_off] = rows > 0u ? partial[0] / (float)rows : 0.0f;
}
