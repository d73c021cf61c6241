/* cpu.c: what the processor can do, read from cpuid (and xgetbv: the OS must save the wide
 * registers too). Pure queries: never changes the process, never prints. */
#include <cpuid.h>
#include <string.h>
#include "palimpsest/util.h"

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

void pal_cpu_detect(pal_cpu_features *f) {
  memset(f, 0, sizeof *f);
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return;
  unsigned max_leaf = a;
  memcpy(f->vendor, &b, 4); memcpy(f->vendor + 4, &d, 4); memcpy(f->vendor + 8, &c, 4);
  __get_cpuid(1, &a, &b, &c, &d);
  f->family = (int)((a >> 8) & 0xf) + (((a >> 8) & 0xf) == 0xf ? (int)((a >> 20) & 0xff) : 0);
  f->model = (int)((a >> 4) & 0xf) | (((a >> 8) & 0xf) >= 6 ? (int)((a >> 12) & 0xf0) : 0);
  f->sse3 = (c >> 0) & 1;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  int os_ymm = (xcr0 & 0x6) == 0x6, os_zmm = (xcr0 & 0xe6) == 0xe6;
  f->avx = avx && os_ymm;
  f->fma = fma && os_ymm;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = ((b >> 5) & 1) && os_ymm;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
    f->avx512 = avx512 && os_zmm;           /* F, DQ, BW, VL: what OpenBLAS's SkylakeX needs */
    f->avx512_fp16 = ((d >> 23) & 1) && f->avx512;
    f->amx_bf16 = (d >> 22) & 1;
    __cpuid_count(7, 1, a, b, c, d);
    f->avx512_bf16 = ((a >> 5) & 1) && f->avx512;
  }
  unsigned ext = __get_cpuid_max(0x80000000u, NULL);
  if (ext >= 0x80000004u) {
    unsigned r[12];
    for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    memcpy(f->brand, r, 48);
    f->brand[48] = 0;
    char *s = f->brand;  /* trim the padding some vendors put around the name */
    while (*s == ' ') s++;
    memmove(f->brand, s, strlen(s) + 1);
    for (size_t n = strlen(f->brand); n > 0 && f->brand[n - 1] == ' '; n--) f->brand[n - 1] = 0;
  }
}

pal_isa pal_cpu_isa(const pal_cpu_features *f) {
  if (f->avx512_bf16) return PAL_ISA_AVX512_BF16;
  if (f->avx512) return PAL_ISA_AVX512;
  if (f->avx2 && f->fma) return PAL_ISA_AVX2;
  if (f->avx) return PAL_ISA_AVX;
  if (f->sse3) return PAL_ISA_SSE3;
  return PAL_ISA_BASE;
}

const char *pal_isa_name(pal_isa isa) {
  static const char *names[] = {"x86-64", "sse3", "avx", "avx2", "avx512", "avx512-bf16"};
  return isa >= PAL_ISA_BASE && isa <= PAL_ISA_AVX512_BF16 ? names[isa] : "?";
}
