#include "clgan_shared.h"

/* z += bias (broadcast over rows); y = act(z). One work-item per element.
 * y may be the same view as z: each work-item reads z before it writes. */
__kernel void clgan_bias_act_forward(int act, float slope, __global const float *bias, uint boff,
                                     __global float *z, uint zoff, uint zld, __global float *y,
                                     uint yoff, uint yld, uint rows, uint cols) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  float v = z[zoff + r * zld + c] + bias[boff + c];
  z[zoff + r * zld + c] = v;
  y[yoff + r * yld + c] = clgan_act_forward(act, slope, v);
}

/* dz = dy ⊙ act'(z, y), fused with the bias gradient
 * dbias = dbias_beta·dbias + Σ_rows dz.
 * One work-group per column: work-item l handles rows l, l+L, l+2L, ... and
 * the partial sums meet in a __local tree, so the summation order depends
 * only on the (fixed) work-group size L, which must be a power of two.
 * y is read only for tanh and sigmoid (the host may pass NULL otherwise);
 * dbias is written only when has_dbias. No work-item returns early: all of
 * them must reach the barriers. */
__kernel void clgan_act_backward(int act, float slope, __global const float *z, uint zoff, uint zld,
                                 __global const float *y, uint yoff, uint yld,
                                 __global const float *dy, uint dyoff, uint dyld,
                                 __global float *dz, uint dzoff, uint dzld, __global float *dbias,
                                 uint dboff, int has_dbias, float dbias_beta, uint rows, uint cols,
                                 __local float *partial) {
  uint c = (uint)get_group_id(0);
  uint lid = (uint)get_local_id(0);
  uint lsize = (uint)get_local_size(0);
  int needs_y = act == CLGAN_SH_TANH || act == CLGAN_SH_SIGMOID;
  float sum = 0.0f;
  if (c < cols) {
    for (uint r = lid; r < rows; r += lsize) {
      float zv = z[zoff + r * zld + c];
      float yv = needs_y ? y[yoff + r * yld + c] : 0.0f;
      float d = dy[dyoff + r * dyld + c] * clgan_act_derivative(act, slope, zv, yv);
      dz[dzoff + r * dzld + c] = d;
      sum += d;
    }
  }
  partial[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = lsize / 2u; s > 0u; s >>= 1) {
    if (lid < s)
      partial[lid] += partial[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0u && has_dbias && c < cols) {
    /* beta = 0 overwrites, like gemm, so stale NaNs cannot leak in. */
    float old = dbias_beta != 0.0f ? dbias_beta * dbias[dboff + c] : 0.0f;
    dbias[dboff + c] = old + partial[0];
  }
}
