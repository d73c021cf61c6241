/* dropout.c: inverted dropout with masks drawn from a counter-based hash of (key, site,
 * element index): nothing is stored, the backward recomputes the same mask, and the result
 * does not depend on threads. Never allocates. */
#include "model/layers.h"

static inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int pal_dropout_keep(uint64_t key, uint64_t site, uint64_t idx, float p) {
  uint64_t h = mix64(key ^ mix64(site + 0x632be59bd9b4e019ULL) ^ (idx * 0xd6e8feb86659fd93ULL));
  return (double)(h >> 40) >= (double)p * 16777216.0;
}

uint64_t pal_dropout_key(uint64_t seed, uint64_t call) { return mix64(seed ^ mix64(call)); }

void pal_dropout_mul(float *dst, const float *src, size_t n, float p, uint64_t key, uint64_t site) {
  float scale = 1.0f / (1.0f - p);
  #pragma omp parallel for schedule(static) if (n >= 16384)
  for (size_t i = 0; i < n; i++) dst[i] = pal_dropout_keep(key, site, i, p) ? src[i] * scale : 0.0f;
}
