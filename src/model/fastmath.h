/* fastmath.h: exp and the GELU sigmoid as branch-free inline code the compiler vectorises
 * (glibc's expf/tanhf are scalar calls here). Accurate to a few float ulps; never used where
 * an exact libm result is promised. */
#ifndef PAL_MODEL_FASTMATH_H
#define PAL_MODEL_FASTMATH_H
#include <stdint.h>
#include <string.h>

/* e^x for x in float range: clamped to [-87.3, 88.3] (so the result is a normal float),
 * range reduction x = n ln2 + r with |r| <= ln2/2, degree-6 Taylor polynomial for e^r.
 * NaN in gives NaN out (so a diverged loss stays visible), without converting NaN to int. */
static inline float pal_fast_expf(float x_in) {
  float x = x_in != x_in ? 0.0f : x_in;
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  const float shift = 12582912.0f;              /* 1.5 * 2^23: rounds to nearest integer */
  float n = (x * 1.44269504f + shift) - shift;
  float r = x - n * 0.693145752f;               /* ln2 split in two for exactness */
  r = r - n * 1.42860677e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x_in != x_in ? x_in : p * scale;
}

/* GELU's tanh approximation written as x * s with s = sigmoid(2u) = 0.5 (1 + tanh(u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3). */
#define PAL_GELU_K 0.7978845608028654f
static inline float pal_gelu_sigmoid(float x) {
  float u = PAL_GELU_K * (x + 0.044715f * x * x * x);
  return 1.0f / (1.0f + pal_fast_expf(-2.0f * u));
}
#endif
