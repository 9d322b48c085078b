#include "clgan_shared.h"

/* Optimizer updates, one work-item per parameter. The views are usually
 * 1 × n, but any rows × cols shape works as long as all views agree. */

/* m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; p -= lr·m / (sqrt(v) + eps).
 * lr already carries the bias correction. */
__kernel void clgan_adam(float lr, float beta1, float beta2, float eps, __global float *p,
                         uint poff, uint pld, __global const float *g, uint goff, uint gld,
                         __global float *m, uint moff, uint mld, __global float *v, uint voff,
                         uint vld, uint rows, uint cols) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  float gv = g[goff + r * gld + c];
  float mv = beta1 * m[moff + r * mld + c] + (1.0f - beta1) * gv;
  float vv = beta2 * v[voff + r * vld + c] + (1.0f - beta2) * gv * gv;
  m[moff + r * mld + c] = mv;
  v[voff + r * vld + c] = vv;
  p[poff + r * pld + c] -= lr * mv / (sqrt(vv) + eps);
}

/* vel = momentum·vel + g; p -= lr·vel. */
__kernel void clgan_sgd(float lr, float momentum, __global float *p, uint poff, uint pld,
                        __global const float *g, uint goff, uint gld, __global float *vel,
                        uint voff, uint vld, uint rows, uint cols) {
  uint gid = (uint)get_global_id(0);
  if (gid >= rows * cols)
    return;
  uint r = gid / cols, c = gid - r * cols;
  float nv = momentum * vel[voff + r * vld + c] + g[goff + r * gld + c];
  vel[voff + r * vld + c] = nv;
  p[poff + r * pld + c] -= lr * nv;
}
