/* clean.c: the per-unit cleaning steps (strip by
 * Unicode category, lowercase, collapse blanks). Invalid bytes are never dropped or
 * changed: they are copied through exactly, so a source's bytes can always be traced. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "palimpsest/corpus.h"
#include "corpus/internal.h"

int pal_corpus_reserve(pal_buf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t n = b->cap ? b->cap : 256;
  while (n < need) n *= 2;
  char *p = realloc(b->data, n);
  if (!p) return -1;
  b->data = p;
  b->cap = n;
  return 0;
}

int pal_strip_parse(const char *s) {
  int mask = 0;
  if (!s || !*s || !strcmp(s, "none")) return 0;
  const char *p = s;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 5 && !strncmp(p, "punct", 5)) mask |= PAL_STRIP_PUNCT;
    else if (n == 6 && !strncmp(p, "digits", 6)) mask |= PAL_STRIP_DIGITS;
    else if (n == 11 && !strncmp(p, "apostrophes", 11)) mask |= PAL_STRIP_APOSTROPHES;
    else if (n == 8 && !strncmp(p, "brackets", 8)) mask |= PAL_STRIP_BRACKETS;
    else return -1;
    p += n;
    if (*p == ',') p++;
  }
  return mask;
}

int pal_is_space_cp(int32_t cp) {
  if (cp < 0x80) return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v';
  utf8proc_category_t c = utf8proc_category(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

enum { ACT_KEEP, ACT_DROP, ACT_SPACE };

/* What strip does to one code point. */
static int strip_action(int32_t cp, unsigned strip) {
  if (!strip) return ACT_KEEP;
  if ((strip & PAL_STRIP_APOSTROPHES) && (cp == '\'' || cp == 0x2019 || cp == 0x02BC)) return ACT_DROP;
  utf8proc_category_t c = utf8proc_category(cp);
  if (strip & PAL_STRIP_PUNCT) {
    if (c == UTF8PROC_CATEGORY_PD) return ACT_SPACE;
    if ((c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO) || c == UTF8PROC_CATEGORY_SM ||
        c == UTF8PROC_CATEGORY_SC || c == UTF8PROC_CATEGORY_SK) return ACT_DROP;
  }
  if ((strip & PAL_STRIP_BRACKETS) && (c == UTF8PROC_CATEGORY_PS || c == UTF8PROC_CATEGORY_PE)) return ACT_DROP;
  if ((strip & PAL_STRIP_DIGITS) && (c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL ||
                                     c == UTF8PROC_CATEGORY_NO)) return ACT_DROP;
  return ACT_KEEP;
}

/* The strip action of every ASCII byte, one table per mask, built on first use. */
static const unsigned char *ascii_table(unsigned strip) {
  static unsigned char tables[16][128];
  static int built[16];
  unsigned m = strip & 15;
  if (!built[m]) {
    for (int c = 0; c < 128; c++) tables[m][c] = (unsigned char)strip_action(c, m);
    built[m] = 1;
  }
  return tables[m];
}

static size_t encode_cp(int32_t cp, char *o) {
  utf8proc_uint8_t tmp[4];
  utf8proc_ssize_t n = utf8proc_encode_char(cp, tmp);
  memcpy(o, tmp, (size_t)n);
  return (size_t)n;
}

int pal_clean_unit(const char *in, size_t len, const pal_clean_opts *o, pal_buf *out) {
  if (pal_corpus_reserve(out, 2 * len + 8)) return -1;
  const unsigned char *s = (const unsigned char *)in;
  const unsigned char *table = ascii_table(o->strip);
  char *w = out->data + out->len, *begin = w;
  int pending_space = 0, seen_text = 0;  /* collapse: a space waits for the next kept char */
  size_t i = 0;
  while (i < len) {
    int32_t cp;
    int k;
    if (s[i] < 0x80) { cp = s[i]; k = 1; }
    else k = pal_utf8_decode(s + i, len - i, &cp);
    if (k < 0) {  /* invalid: copy the bytes through untouched */
      if (pending_space && seen_text) *w++ = ' ';
      pending_space = 0;
      memcpy(w, s + i, (size_t)-k);
      w += -k;
      i += (size_t)-k;
      seen_text = 1;
      continue;
    }
    i += (size_t)k;
    int act = cp < 0x80 ? table[cp] : strip_action(cp, o->strip);
    if (act == ACT_DROP) continue;
    if (act == ACT_SPACE) cp = ' ';
    if (o->collapse_space && pal_is_space_cp(cp)) { pending_space = 1; continue; }
    if (pending_space && seen_text) *w++ = ' ';
    pending_space = 0;
    if (o->lowercase) cp = cp < 0x80 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp) : utf8proc_tolower(cp);
    if (cp < 0x80) *w++ = (char)cp;
    else if (act == ACT_KEEP && !o->lowercase) { memcpy(w, s + i - k, (size_t)k); w += k; }
    else w += encode_cp(cp, w);
    seen_text = 1;
  }
  /* trim both ends (white space by Unicode category) */
  size_t n = (size_t)(w - begin);
  size_t a = 0;
  while (a < n) {
    int32_t cp;
    int k = pal_utf8_decode((const unsigned char *)begin + a, n - a, &cp);
    if (k < 0 || !pal_is_space_cp(cp)) break;
    a += (size_t)k;
  }
  size_t b = n;
  while (b > a) {
    size_t st = b - 1;
    while (st > a && ((unsigned char)begin[st] & 0xC0) == 0x80 && b - st < 4) st--;
    int32_t cp;
    int k = pal_utf8_decode((const unsigned char *)begin + st, b - st, &cp);
    if (k < 0 || (size_t)k != b - st || !pal_is_space_cp(cp)) break;
    b = st;
  }
  if (a) memmove(begin, begin + a, b - a);
  out->len += b - a;
  out->data[out->len] = 0;
  return 0;
}
