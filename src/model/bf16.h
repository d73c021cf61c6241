/* bf16.h: the one float <-> bfloat16 conversion, inline for the packing loops of gemm.c
 * (dtype.c's pal_f32_to_bf16 / pal_bf16_to_f32 are these). Internal to the library. */
#ifndef PAL_MODEL_BF16_H
#define PAL_MODEL_BF16_H
#include <stdint.h>
#include <string.h>

/* Round to nearest even; NaN stays NaN (quiet). */
static inline uint16_t pal_bf16_round(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return (uint16_t)(bits >> 16);
}

/* Exact. */
static inline float pal_bf16_widen(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

#endif
