/* pretok.c: GPT-2's pre-tokenization regex, matched by hand over UTF-8 with utf8proc's
 * Unicode categories. Must stay exactly equivalent to the regex (tests compare with PCRE2
 * and tiktoken); never allocates, never fails: any byte string splits into pieces. */
#include <pthread.h>
#include <utf8proc.h>
#include "tokenizer/tok_internal.h"

/* Class of each BMP code point, built once (utf8proc lookups are slower than one byte). */
static uint8_t g_bmp_class[0x10000];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int is_white_space(uint32_t cp) {
  /* Unicode White_Space: what \s means to tiktoken's regex (Rust's regex crate). */
  return (cp >= 9 && cp <= 13) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

static int class_of_cp(uint32_t cp) {
  if (is_white_space(cp)) return PAL_CH_WS;
  switch (utf8proc_category((utf8proc_int32_t)cp)) {
  case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: return PAL_CH_L;
  case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO: return PAL_CH_N;
  default: return PAL_CH_O;
  }
}

static void build_table(void) {
  for (uint32_t cp = 0; cp < 0x10000; cp++) g_bmp_class[cp] = (uint8_t)class_of_cp(cp);
}

int pal_pretok_class(const uint8_t *s, size_t n, size_t i, int *len) {
  pthread_once(&g_once, build_table);
  uint8_t c = s[i];
  if (c < 0x80) { *len = 1; return g_bmp_class[c]; }
  uint32_t cp;
  int need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) { need = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { need = 3; cp = c & 0x0F; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { need = 4; cp = c & 0x07; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else { *len = 1; return PAL_CH_O; }
  if (i + (size_t)need > n) { *len = 1; return PAL_CH_O; }
  for (int k = 1; k < need; k++) {
    uint8_t b = s[i + (size_t)k];
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) { *len = 1; return PAL_CH_O; }
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = need;
  return cp < 0x10000 ? g_bmp_class[cp] : class_of_cp(cp);
}

/* End of the run of class cls that starts at i. */
static size_t run_end(const uint8_t *s, size_t n, size_t i, int cls) {
  while (i < n) {
    uint8_t c = s[i];
    int len;
    if (c < 0x80) {
      if (g_bmp_class[c] != cls) break;
      i++;
      continue;
    }
    if (pal_pretok_class(s, n, i, &len) != cls) break;
    i += (size_t)len;
  }
  return i;
}

size_t pal_pretok_next(const uint8_t *s, size_t n, size_t i) {
  int len;
  int cls = pal_pretok_class(s, n, i, &len);
  uint8_t c = s[i];
  if (c == '\'' && i + 1 < n) {                       /* 's 't 're 've 'm 'll 'd */
    uint8_t a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  }
  if (c == ' ' && i + 1 < n) {                        /* " ?" before letters/numbers/other */
    int len2;
    int cls2 = pal_pretok_class(s, n, i + 1, &len2);
    if (cls2 != PAL_CH_WS) return run_end(s, n, i + 1 + (size_t)len2, cls2);
  }
  if (cls != PAL_CH_WS) return run_end(s, n, i + (size_t)len, cls);
  /* Whitespace: \s+(?!\S) takes the run but leaves its last character when a non-space
   * follows; \s+ then takes a lone one. */
  size_t last = i, j = i + (size_t)len;
  while (j < n) {
    int l2;
    if (pal_pretok_class(s, n, j, &l2) != PAL_CH_WS) break;
    last = j;
    j += (size_t)l2;
  }
  if (j == n || last == i) return j;
  return last;
}
