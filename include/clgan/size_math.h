/* Saturating size arithmetic for memory estimates from user-given sizes:
 * a product that would wrap becomes SIZE_MAX, which no device can hold, so
 * a huge config is refused instead of silently shrinking. */
#ifndef CLGAN_SIZE_MATH_H
#define CLGAN_SIZE_MATH_H

#include <stddef.h>
#include <stdint.h>

static inline size_t clgan_mul_sat(size_t a, size_t b) {
  size_t r;
  return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static inline size_t clgan_add_sat(size_t a, size_t b) {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

#endif
