/* hash.c: the non-cryptographic hashes every module shares: FNV-1a for fingerprints and
 * cache keys (the splitmix64 finalizer pal_mix64 is inline in util.h, for dropout's inner
 * loop). Changing either changes saved fingerprints and outputs. */
#include "palimpsest/util.h"

uint64_t pal_fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
  return h;
}
