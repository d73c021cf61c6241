/* hash.c: the non-cryptographic hashes every module shares: FNV-1a for fingerprints and
 * cache keys, and the splitmix64 finalizer for counter-based streams (dropout masks, init
 * chunks, random schedules). Changing either changes saved fingerprints and outputs. */
#include "palimpsest/util.h"

uint64_t pal_fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
  return h;
}

uint64_t pal_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
