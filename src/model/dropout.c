/* dropout.c: inverted dropout with masks drawn from a counter-based hash of (key, site,
 * element index): nothing is stored, the backward recomputes the same mask, and the result
 * does not depend on threads. Never allocates. */
#include "model/layers.h"
#include "palimpsest/util.h"

int pal_dropout_keep(uint64_t key, uint64_t site, uint64_t idx, float p) {
  uint64_t h = pal_mix64(key ^ pal_mix64(site + 0x632be59bd9b4e019ULL) ^ (idx * 0xd6e8feb86659fd93ULL));
  return (double)(h >> 40) >= (double)p * 16777216.0;
}

uint64_t pal_dropout_key(uint64_t seed, uint64_t call) { return pal_mix64(seed ^ pal_mix64(call)); }

void pal_dropout_mul(float *dst, const float *src, size_t n, float p, uint64_t key, uint64_t site) {
  float scale = 1.0f / (1.0f - p);
  #pragma omp parallel for schedule(static) if (n >= 16384)
  for (size_t i = 0; i < n; i++) dst[i] = pal_dropout_keep(key, site, i, p) ? src[i] * scale : 0.0f;
}
