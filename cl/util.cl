#include "clgan_shared.h"

/* Whole-view helpers. Every view is row-major: element (r, c) lives at
 * off + r·ld + c. Kernels take one work-item per element and check the
 * bound because the host rounds the global size up to the work-group size.
 * The host guarantees that every index of a view fits in 32 bits. */

/* dst = value over a rows × cols view. */
__kernel void clgan_fill(__global float *dst, uint off, uint ld, uint rows, uint cols,
                         float value) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  dst[off + r * ld + c] = value;
}

/* dst *= factor (used by gemm with an empty inner dimension: C = beta·C). */
__kernel void clgan_scale(__global float *dst, uint off, uint ld, uint rows, uint cols,
                          float factor) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  uint i = off + r * ld + c;
  dst[i] = factor * dst[i];
}

/* dst = src over two views of the same shape (possibly different ld). */
__kernel void clgan_copy(__global const float *src, uint soff, uint sld, __global float *dst,
                         uint doff, uint dld, uint rows, uint cols) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  dst[doff + r * dld + c] = src[soff + r * sld + c];
}
