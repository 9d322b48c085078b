/* Scalar maths shared by the OpenCL kernels (compiled as OpenCL C 1.2) and
 * the reference backend (compiled as C11): counter-based random numbers, the
 * keyed permutation used to shuffle the dataset, the activations and the
 * stable logistic loss. One definition keeps the two backends in step; the
 * tests compare them and the gradient checks validate the formulas. */
#ifndef CLGAN_SHARED_H
#define CLGAN_SHARED_H

#ifdef __OPENCL_VERSION__
typedef uint clgan_u32;
typedef ulong clgan_u64;
#define CLGAN_FN
#define CLGAN_MULHI(a, b) mul_hi((a), (b))
#define CLGAN_EXP(x) exp(x)
#define CLGAN_LOG(x) log(x)
#define CLGAN_LOG1P(x) log1p(x)
#define CLGAN_SQRT(x) sqrt(x)
#define CLGAN_COS(x) cos(x)
#define CLGAN_FABS(x) fabs(x)
#else
#include <math.h>
#include <stdint.h>
typedef uint32_t clgan_u32;
typedef uint64_t clgan_u64;
#define CLGAN_FN static inline
#define CLGAN_MULHI(a, b) ((clgan_u32)(((clgan_u64)(a) * (clgan_u64)(b)) >> 32))
#define CLGAN_EXP(x) expf(x)
#define CLGAN_LOG(x) logf(x)
#define CLGAN_LOG1P(x) log1pf(x)
#define CLGAN_SQRT(x) sqrtf(x)
#define CLGAN_COS(x) cosf(x)
#define CLGAN_FABS(x) fabsf(x)
#endif

/* Activation ids: must match clgan_activation in include/clgan/backend.h. */
#define CLGAN_SH_IDENTITY 0
#define CLGAN_SH_RELU 1
#define CLGAN_SH_LEAKY_RELU 2
#define CLGAN_SH_TANH 3
#define CLGAN_SH_SIGMOID 4
#define CLGAN_SH_SOFTPLUS 5

/* ---- Philox4x32-10 (Salmon et al. 2011), first two output words ---- */
typedef struct clgan_philox_out {
  clgan_u32 x0, x1;
} clgan_philox_out;

CLGAN_FN clgan_philox_out clgan_philox(clgan_u32 c0, clgan_u32 c1, clgan_u32 c2, clgan_u32 c3,
                                       clgan_u64 seed) {
  clgan_u32 k0 = (clgan_u32)(seed & 0xffffffffu);
  clgan_u32 k1 = (clgan_u32)(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    clgan_u32 lo0 = 0xD2511F53u * c0;
    clgan_u32 hi0 = CLGAN_MULHI(0xD2511F53u, c0);
    clgan_u32 lo1 = 0xCD9E8D57u * c2;
    clgan_u32 hi1 = CLGAN_MULHI(0xCD9E8D57u, c2);
    clgan_u32 n0 = hi1 ^ c1 ^ k0;
    clgan_u32 n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  clgan_philox_out out;
  out.x0 = c0;
  out.x1 = c1;
  return out;
}

/* Uniform in [0, 1) and in (0, 1] from the top 24 bits (exact in float). */
CLGAN_FN float clgan_u01_closed_open(clgan_u32 x) {
  return (float)(x >> 8) * 5.9604644775390625e-8f;
}
CLGAN_FN float clgan_u01_open_closed(clgan_u32 x) {
  return (float)((x >> 8) + 1u) * 5.9604644775390625e-8f;
}

/* One standard normal from two words (Box-Muller, cosine branch). */
CLGAN_FN float clgan_normal_from(clgan_u32 a, clgan_u32 b) {
  float u1 = clgan_u01_open_closed(a);
  float u2 = clgan_u01_closed_open(b);
  return CLGAN_SQRT(-2.0f * CLGAN_LOG(u1)) * CLGAN_COS(6.283185307179586f * u2);
}

/* Noise element (row i, col c) of a rows × cols block; kind as in
 * clgan_noise_kind: 0 stratified, 1 uniform, 2 normal. */
CLGAN_FN float clgan_noise_value(int kind, float range, float jitter, float std, clgan_u32 row,
                                 clgan_u32 col, clgan_u32 rows, clgan_u32 cols, clgan_u32 counter,
                                 clgan_u32 stream, clgan_u64 seed) {
  clgan_philox_out r = clgan_philox(row * cols + col, counter, stream, 0u, seed);
  if (kind == 0) {
    float step = rows > 1u ? 2.0f * range / (float)(rows - 1u) : 0.0f;
    float base = rows > 1u ? -range + step * (float)row : 0.0f;
    return base + jitter * clgan_u01_closed_open(r.x0);
  }
  if (kind == 1)
    return -range + 2.0f * range * clgan_u01_closed_open(r.x0);
  return std * clgan_normal_from(r.x0, r.x1);
}

/* ---- Keyed pseudorandom permutation of [0, n) ----
 * A 4-round balanced Feistel network on the smallest even number of bits
 * that covers n, with cycle walking to stay inside [0, n). It shuffles a
 * dataset without storing or transferring a permutation. */
CLGAN_FN clgan_u32 clgan_permute(clgan_u32 index, clgan_u32 n, clgan_u32 round_key,
                                 clgan_u64 seed) {
  if (n <= 1u)
    return 0u;
  clgan_u32 bits = 0u;
  while (bits < 32u && ((clgan_u64)1u << bits) < (clgan_u64)n)
    ++bits;
  clgan_u32 half_bits = (bits + 1u) / 2u;
  clgan_u32 mask = (clgan_u32)(((clgan_u64)1u << half_bits) - 1u);
  clgan_u32 x = index;
  do {
    clgan_u32 left = x >> half_bits;
    clgan_u32 right = x & mask;
    for (clgan_u32 r = 0u; r < 4u; ++r) {
      clgan_u32 f = clgan_philox(right, r, round_key, 0x5EEDu, seed).x0 & mask;
      clgan_u32 next = left ^ f;
      left = right;
      right = next;
    }
    x = (left << half_bits) | right;
  } while (x >= n);
  return x;
}

/* ---- Activations: saturating forms that never produce NaN ---- */
CLGAN_FN float clgan_sigmoid(float x) {
  /* exp of a non-positive number cannot overflow. */
  if (x >= 0.0f) {
    float e = CLGAN_EXP(-x);
    return 1.0f / (1.0f + e);
  }
  float e = CLGAN_EXP(x);
  return e / (1.0f + e);
}

CLGAN_FN float clgan_softplus(float x) {
  /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) */
  return (x > 0.0f ? x : 0.0f) + CLGAN_LOG1P(CLGAN_EXP(-CLGAN_FABS(x)));
}

CLGAN_FN float clgan_tanh(float x) {
  /* 1 - 2/(e^{2|x|} + 1) saturates to ±1 instead of inf/inf. */
  float ax = CLGAN_FABS(x);
  float t = ax > 20.0f ? 1.0f : 1.0f - 2.0f / (CLGAN_EXP(2.0f * ax) + 1.0f);
  return x < 0.0f ? -t : t;
}

CLGAN_FN float clgan_act_forward(int act, float slope, float z) {
  switch (act) {
  case CLGAN_SH_RELU:
    return z > 0.0f ? z : 0.0f;
  case CLGAN_SH_LEAKY_RELU:
    return z > 0.0f ? z : slope * z;
  case CLGAN_SH_TANH:
    return clgan_tanh(z);
  case CLGAN_SH_SIGMOID:
    return clgan_sigmoid(z);
  case CLGAN_SH_SOFTPLUS:
    return clgan_softplus(z);
  default:
    return z;
  }
}

/* d act / d z, from z and y = act(z). */
CLGAN_FN float clgan_act_derivative(int act, float slope, float z, float y) {
  switch (act) {
  case CLGAN_SH_RELU:
    return z > 0.0f ? 1.0f : 0.0f;
  case CLGAN_SH_LEAKY_RELU:
    return z > 0.0f ? 1.0f : slope;
  case CLGAN_SH_TANH:
    return 1.0f - y * y;
  case CLGAN_SH_SIGMOID:
    return y * (1.0f - y);
  case CLGAN_SH_SOFTPLUS:
    return clgan_sigmoid(z);
  default:
    return 1.0f;
  }
}

/* Binary cross-entropy on a logit against target t: softplus(l) - t·l. */
CLGAN_FN float clgan_bce_logit(float logit, float target) {
  return clgan_softplus(logit) - target * logit;
}

/* sign with sign(0) = 0, the subgradient of |x| used by the MBD backward. */
CLGAN_FN float clgan_sign0(float x) {
  return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
}

#endif
