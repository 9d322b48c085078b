#include "clgan_shared.h"

/* Minibatch discrimination on M (B × K·C; kernel k of row i at columns
 * k·C .. k·C+C-1). Neither kernel builds the B×B×K×C tensor: each
 * work-item walks over the other rows j, so memory stays O(B·K·C). The
 * host passes scale (1, 1/count or 0) so both kernels share its rule. */

/* o_ik = scale · Σ_j exp(-Σ_c |M_ikc - M_jkc|); one work-item per (i, k),
 * j in increasing order. */
__kernel void clgan_mbd_forward(__global const float *m, uint moff, uint mld, __global float *o,
                                uint ooff, uint old, uint rows, uint kernels, uint kdim,
                                int include_self, float scale) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * kernels)
    return;
  uint i = gid / kernels, k = gid - i * kernels;
  __global const float *mi = m + moff + i * mld + k * kdim;
  float acc = 0.0f;
  for (uint j = 0u; j < rows; ++j) {
    __global const float *mj = m + moff + j * mld + k * kdim;
    float dist = 0.0f;
    for (uint c = 0u; c < kdim; ++c)
      dist += fabs(mi[c] - mj[c]);
    /* A select, not a branch: every work-item runs the same loop, which
     * lets PoCL vectorise across work-items; adding +0 is exact. */
    acc += (j != i || include_self) ? exp(-dist) : 0.0f;
  }
  o[ooff + i * old + k] = scale * acc;
}

/* With e_ijk = exp(-Σ_c |M_ikc - M_jkc|) (symmetric in i, j), M_ikc enters
 * o_ik through every e_ijk and o_jk through e_jik, so
 *   dM_ikc = -scale · Σ_j (dO_ik + dO_jk) · e_ijk · sign0(M_ikc - M_jkc).
 * The self pair has sign0(0) = 0, so include_self changes only scale.
 * One work-item per (i, k): it computes each e_ijk once (exp dominates the
 * cost) and accumulates the C sums in its own row segment of dm, which no
 * other work-item touches; j runs in increasing order. dm must not alias m
 * or d_o. */
__kernel void clgan_mbd_backward(__global const float *m, uint moff, uint mld,
                                 __global const float *d_o, uint dooff, uint dold,
                                 __global float *dm, uint dmoff, uint dmld, uint rows, uint kernels,
                                 uint kdim, float scale) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * kernels)
    return;
  uint i = gid / kernels, k = gid - i * kernels;
  __global const float *mi = m + moff + i * mld + k * kdim;
  __global float *dmi = dm + dmoff + i * dmld + k * kdim;
  float doi = d_o[dooff + i * dold + k];
  for (uint c = 0u; c < kdim; ++c)
    dmi[c] = 0.0f;
  for (uint j = 0u; j < rows; ++j) {
    __global const float *mj = m + moff + j * mld + k * kdim;
    float dist = 0.0f;
    for (uint c = 0u; c < kdim; ++c)
      dist += fabs(mi[c] - mj[c]);
    float coef = (doi + d_o[dooff + j * dold + k]) * exp(-dist);
    for (uint c = 0u; c < kdim; ++c) {
      /* The self pair and exact ties have sign 0 and add an exact 0 (a
       * select, not a branch, so work-items stay in step). */
      float s = clgan_sign0(mi[c] - mj[c]);
      dmi[c] += s != 0.0f ? coef * s : 0.0f;
    }
  }
  for (uint c = 0u; c < kdim; ++c)
    dmi[c] = -scale * dmi[c];
}
