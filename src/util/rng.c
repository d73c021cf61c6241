/* rng.c: xoshiro256** (Blackman & Vigna), seeded by splitmix64. Deterministic across
 * platforms and thread counts; never reads the clock. */
#include <math.h>
#include "palimpsest/util.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void pal_rng_seed(pal_rng *rng, uint64_t seed) {
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t pal_rng_u64(pal_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint32_t pal_rng_below(pal_rng *rng, uint32_t n) {
  /* Lemire's multiply-shift with rejection: unbiased. */
  uint64_t m = (uint64_t)(uint32_t)(pal_rng_u64(rng) >> 32) * n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    while (low < threshold) {
      m = (uint64_t)(uint32_t)(pal_rng_u64(rng) >> 32) * n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

float pal_rng_float(pal_rng *rng) { return (float)(pal_rng_u64(rng) >> 40) * (1.0f / 16777216.0f); }
double pal_rng_double(pal_rng *rng) { return (double)(pal_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0); }

float pal_rng_normal(pal_rng *rng) {
  double u1 = pal_rng_double(rng), u2 = pal_rng_double(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
