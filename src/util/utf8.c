/* utf8.c: deciding how much of a byte stream can be printed without splitting a character,
 * and sanitising for terminals. Byte-level only; knows nothing of tokens. */
#include <string.h>
#include "palimpsest/util.h"

/* Length of a complete, valid UTF-8 sequence at s (1..4), 0 if it is a valid but
 * incomplete prefix that more bytes could finish, -1 if s[0] starts an invalid sequence. */
static int utf8_seq(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  else if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c >= 0xE0 && c <= 0xEF) { need = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { need = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return -1;
  for (int i = 1; i < need; i++) {
    if ((size_t)i >= len) return 0;
    unsigned char b = s[i];
    unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return -1;
  }
  return need;
}

size_t pal_utf8_complete_prefix(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    int n = utf8_seq((const unsigned char *)s + i, len - i);
    if (n == 0) return i;          /* incomplete tail: hold it */
    i += n < 0 ? 1 : (size_t)n;    /* invalid byte: complete (if wrong) */
  }
  return len;
}

int pal_utf8_sanitize(pal_buf *out, const char *s, size_t len) {
  size_t i = 0, run = 0;
  while (i < len) {
    int n = utf8_seq((const unsigned char *)s + i, len - i);
    if (n > 0) { i += (size_t)n; continue; }
    if (pal_buf_append(out, s + run, i - run) || pal_buf_append(out, "\xEF\xBF\xBD", 3)) return -1;
    i += 1;
    run = i;
  }
  return pal_buf_append(out, s + run, len - run);
}
