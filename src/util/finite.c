/* finite.c: finding a NaN or an infinity in a float array, fast enough to run over every
 * weight a model loads (a block-wise OR of exponent tests the compiler vectorises). Reads
 * only; never allocates. */
#include <string.h>
#include "palimpsest/util.h"

size_t pal_find_nonfinite(const float *x, size_t n) {
  enum { BLOCK = 4096 };
  for (size_t b0 = 0; b0 < n; b0 += BLOCK) {
    size_t b1 = n - b0 < BLOCK ? n : b0 + BLOCK;
    unsigned hit = 0;
    for (size_t i = b0; i < b1; i++) {   /* all exponent bits set: NaN or +-inf */
      uint32_t u;
      memcpy(&u, &x[i], 4);
      hit |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (hit)
      for (size_t i = b0; i < b1; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
      }
  }
  return n;
}
