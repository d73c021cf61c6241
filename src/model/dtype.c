/* dtype.c: the number formats a tensor can carry, and exact conversions between them
 * (F16 and BF16 <-> F32, round to nearest even). Scalar reference code: vector kernels
 * live beside the matmuls that use them and are tested against these. */
#include <string.h>
#include "model/bf16.h"
#include "palimpsest/model.h"

float pal_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);          /* inf / nan */
  else if (exp != 0) bits = sign | ((exp + 112) << 23) | (man << 13);  /* normal: 127-15 */
  else if (man == 0) bits = sign;                                      /* +-0 */
  else {                                                               /* subnormal */
    int e = -1;
    do { man <<= 1; e++; } while (!(man & 0x400u));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

float pal_bf16_to_f32(uint16_t b) { return pal_bf16_widen(b); }

uint16_t pal_f32_to_bf16(float f) { return pal_bf16_round(f); }  /* nearest even, NaN kept */

uint16_t pal_f32_to_f16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000u, abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);                      /* NaN */
  if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                     /* overflow: inf */
  if (abs < 0x38800000u) {                                                       /* subnormal or 0 */
    if (abs < 0x33000000u) return (uint16_t)sign;                                /* below half the least */
    uint32_t man = (abs & 0x7fffffu) | 0x800000u;
    int shift = 126 - (int)(abs >> 23);                                          /* 14..24 */
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t h = ((abs >> 13) - (112u << 10));                                      /* rebias 127 -> 15 */
  uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;                         /* may carry into exp: fine */
  return (uint16_t)(sign | h);
}

size_t pal_dtype_size(pal_dtype dt) {
  switch (dt) {
  case PAL_DT_F64: case PAL_DT_I64: return 8;
  case PAL_DT_F32: case PAL_DT_I32: return 4;
  case PAL_DT_F16: case PAL_DT_BF16: return 2;
  case PAL_DT_U8: case PAL_DT_I8: case PAL_DT_BOOL: case PAL_DT_Q8: return 1;
  default: return 0;
  }
}
