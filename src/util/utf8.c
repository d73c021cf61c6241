/* utf8.c: the one UTF-8 decoder, counting characters and invalid sequences, deciding how much
 * of a byte stream can be printed without splitting a character, and sanitising for
 * terminals. Byte-level only; knows nothing of tokens or Unicode categories. */
#include <string.h>
#include "palimpsest/util.h"

int pal_utf8_decode(const unsigned char *s, size_t n, int32_t *cp) {
  unsigned c = s[0];
  if (c < 0x80) { *cp = (int32_t)c; return 1; }
  int len;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return -1;
  int32_t v = (int32_t)(c & (0xFF >> (len + 1)));
  for (int k = 1; k < len; k++) {
    if ((size_t)k >= n) return -k;
    unsigned b = s[k];
    if (b < lo || b > hi) return -k;
    lo = 0x80; hi = 0xBF;
    v = (v << 6) | (int32_t)(b & 0x3F);
  }
  *cp = v;
  return len;
}

static size_t ascii_run(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i + 8 <= n) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ULL) break;
    i += 8;
  }
  while (i < n && s[i] < 0x80) i++;
  return i;
}

size_t pal_utf8_invalid(const char *str, size_t len, size_t *first) {
  const unsigned char *s = (const unsigned char *)str;
  size_t bad = 0, i = 0;
  while (i < len) {
    i += ascii_run(s + i, len - i);
    if (i >= len) break;
    int32_t cp;
    int k = pal_utf8_decode(s + i, len - i, &cp);
    if (k < 0) {
      if (!bad && first) *first = i;
      bad++;
      k = -k;
    }
    i += (size_t)k;
  }
  return bad;
}

size_t pal_utf8_count_chars(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t count = 0, i = 0;
  while (i < len) {
    size_t a = ascii_run(s + i, len - i);
    count += a;
    i += a;
    if (i >= len) break;
    int32_t cp;
    int k = pal_utf8_decode(s + i, len - i, &cp);
    i += (size_t)(k < 0 ? -k : k);
    count++;
  }
  return count;
}

/* Length of a complete, valid UTF-8 sequence at s (1..4), 0 if it is a valid but
 * incomplete prefix that more bytes could finish, -1 if s[0] starts an invalid sequence. */
static int utf8_seq(const unsigned char *s, size_t len) {
  int32_t cp;
  int k = pal_utf8_decode(s, len, &cp);
  if (k > 0) return k;
  /* the prefix ran to the end of the bytes without a wrong one: more may complete it */
  return (size_t)-k == len && s[0] >= 0xC2 && s[0] <= 0xF4 ? 0 : -1;
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
