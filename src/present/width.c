/* width.c: display width of UTF-8 text by grapheme clusters (utf8proc). Measures only:
 * never changes or allocates text. */
#include <utf8proc.h>
#include "present/present_internal.h"

static int cp_width(utf8proc_int32_t cp) {
  int w = utf8proc_charwidth(cp);
  return w < 0 ? 0 : w;
}

size_t pres_cluster(const char *s, size_t len, size_t i, int *width) {
  utf8proc_int32_t cp, next;
  utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
  if (n <= 0) { *width = 1; return 1; }   /* invalid byte: one column, one byte */
  int w = cp_width(cp);
  utf8proc_int32_t state = 0;
  size_t j = i + (size_t)n;
  while (j < len) {
    utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)s + j, (utf8proc_ssize_t)(len - j), &next);
    if (m <= 0) break;
    if (utf8proc_grapheme_break_stateful(cp, next, &state)) break;
    int nw = cp_width(next);
    if (nw > w) w = nw;
    cp = next;
    j += (size_t)m;
  }
  *width = w;
  return j - i;
}

int pal_display_width(const char *s, size_t len) {
  int total = 0, w;
  for (size_t i = 0; i < len;) {
    i += pres_cluster(s, len, i, &w);
    total += w;
  }
  return total;
}
