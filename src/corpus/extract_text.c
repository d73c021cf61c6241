/* extract_text.c: turns package texts into plain text: Project Gutenberg boilerplate,
 * fortune files, Brown corpus word/tag files, HTML from generators. Pure functions of
 * their input bytes: no files, no printing. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "palimpsest/corpus.h"

#define APPEND(b, s, n) do { if (pal_buf_append((b), (s), (n))) return -1; } while (0)

static int starts_with(const char *s, size_t n, const char *prefix) {
  size_t k = strlen(prefix);
  return n >= k && !memcmp(s, prefix, k);
}

static int blank_line(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) if (!isspace((unsigned char)s[i])) return 0;
  return 1;
}

/* Iterates lines of [p, end): sets *line and *n (without "\n"), advances *p. 0 at the end. */
static int next_line(const char **p, const char *end, const char **line, size_t *n) {
  if (*p >= end) return 0;
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  *line = *p;
  *n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
  *p = nl ? nl + 1 : end;
  return 1;
}

/* ---- Project Gutenberg */
int pal_gutenberg_clean(const char *in, size_t len, const char *first_line, const char *name,
                        pal_buf *out, pal_error *err) {
  pal_buf text = {0};
  if (len >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3)) { in += 3; len -= 3; }
  for (size_t i = 0; i < len; i++)  /* CRs go */
    if (in[i] != '\r' && pal_buf_append(&text, in + i, 1)) { pal_buf_free(&text); return pal_errorf(err, "%s: out of memory", name); }
  if (!text.data) { pal_buf_free(&text); return pal_errorf(err, "%s: empty text", name); }
  const char *p = text.data, *end = text.data + text.len, *line;
  size_t n;
  int inside = 0, started = first_line == NULL, found_start = 0, rc = 0;
  size_t mark = out->len, last_text = out->len;
  while (next_line(&p, end, &line, &n)) {
    if (!inside) {
      if (starts_with(line, n, "*** START OF") || starts_with(line, n, "***START OF")) inside = found_start = 1;
      continue;
    }
    if (starts_with(line, n, "*** END OF") || starts_with(line, n, "***END OF")) break;
    if (starts_with(line, n, "End of Project Gutenberg") || starts_with(line, n, "End of the Project Gutenberg")) continue;
    if (starts_with(line, n, "Produced by")) continue;
    if (!started) {
      size_t k = strlen(first_line);
      if (n == k && !memcmp(line, first_line, k)) started = 1;
      else continue;
    }
    if (out->len == mark && blank_line(line, n)) continue;  /* leading blank lines */
    if (pal_buf_append(out, line, n) || pal_buf_append(out, "\n", 1)) { rc = pal_errorf(err, "%s: out of memory", name); break; }
    if (!blank_line(line, n)) last_text = out->len;
  }
  pal_buf_free(&text);
  if (rc) return rc;
  if (!found_start) return pal_errorf(err, "%s: no \"*** START OF\" line: not a Project Gutenberg text", name);
  if (!started) return pal_errorf(err, "%s: the line \"%s\" never appears", name, first_line);
  out->len = last_text;  /* trailing blank lines */
  if (out->data) out->data[out->len] = 0;
  return 0;
}

/* ---- fortune files */
int pal_fortune_to_text(const char *in, size_t len, const char *entry_sep, int drop_attribution, pal_buf *out) {
  const char *p = in, *end = in + len, *line;
  size_t n;
  pal_buf entry = {0}, clean = {0};
  int entries = 0, rc = 0;
  int more = 1;
  while (more) {
    more = next_line(&p, end, &line, &n);
    if (more && n > 0 && line[n - 1] == '\r') n--;
    if (more && !(n == 1 && line[0] == '%')) {
      clean.len = 0;
      for (size_t i = 0; i < n; i++) {  /* "x BACKSPACE" overstrikes: drop x and the BS */
        if (line[i] == '\b') { if (clean.len) clean.len--; continue; }
        if (i + 1 < n && line[i + 1] == '\b') { i++; continue; }
        if (pal_buf_append(&clean, line + i, 1)) { rc = -1; goto out; }
      }
      const char *c = clean.data ? clean.data : "";
      size_t cn = clean.len, k = 0;
      while (k < cn && (c[k] == ' ' || c[k] == '\t')) k++;
      if (drop_attribution && k > 0 && cn - k >= 2 && c[k] == '-' && c[k + 1] == '-') continue;
      if (entry.len == 0 && blank_line(c, cn)) continue;
      if (pal_buf_append(&entry, c, cn) || pal_buf_append(&entry, "\n", 1)) { rc = -1; goto out; }
      continue;
    }
    /* end of an entry: trim trailing blank lines, then write it */
    while (entry.len > 0) {
      size_t e = entry.len - 1, s = e;
      while (s > 0 && entry.data[s - 1] != '\n') s--;
      if (!blank_line(entry.data + s, e - s)) break;
      entry.len = s;
    }
    if (entry.len == 0) continue;
    if (entries++ && pal_buf_append(out, entry_sep, strlen(entry_sep))) { rc = -1; goto out; }
    if (pal_buf_append(out, entry.data, entry.len)) { rc = -1; goto out; }
    entry.len = 0;
  }
out:
  pal_buf_free(&entry);
  pal_buf_free(&clean);
  return rc;
}

/* ---- Brown corpus (NLTK tagged form): word/tag tokens */
typedef struct brown { pal_buf line; int glue_next; } brown;

static int brown_word(brown *b, const char *w, size_t n) {
  int glue_prev = 0, glue_next = 0;
  const char *text = w;
  if (n == 2 && !memcmp(w, "``", 2)) { text = "\""; n = 1; glue_next = 1; }
  else if (n == 2 && !memcmp(w, "''", 2)) { text = "\""; n = 1; glue_prev = 1; }
  else if (n == 1 && strchr(",.;:?!)%]", w[0])) glue_prev = 1;
  else if (n == 1 && strchr("($[", w[0])) glue_next = 1;
  /* "Jr./np ./." is one full stop in print */
  if (n == 1 && w[0] == '.' && b->line.len && b->line.data[b->line.len - 1] == '.') return 0;
  if (b->line.len && !glue_prev && !b->glue_next) APPEND(&b->line, " ", 1);
  APPEND(&b->line, text, n);
  b->glue_next = glue_next;
  return 0;
}

static int brown_flush(brown *b, pal_buf *out) {
  if (b->line.len) {
    APPEND(out, b->line.data, b->line.len);
    APPEND(out, "\n", 1);
  }
  b->line.len = 0;
  b->glue_next = 0;
  return 0;
}

static int brown_text(const char *in, size_t len, brown *b, pal_buf *out) {
  const char *p = in, *end = in + len, *line;
  size_t n;
  while (next_line(&p, end, &line, &n)) {
    if (blank_line(line, n)) continue;
    if (line[0] == '\t' && brown_flush(b, out)) return -1;  /* a TAB starts a paragraph */
    int in_headline = 0;
    size_t i = 0;
    while (i < n) {
      while (i < n && isspace((unsigned char)line[i])) i++;
      if (i >= n) break;
      size_t s = i;
      while (i < n && !isspace((unsigned char)line[i])) i++;
      const char *tok = line + s;
      size_t tn = i - s, cut = tn;
      while (cut > 0 && tok[cut - 1] != '/') cut--;
      size_t wn = cut ? cut - 1 : tn;                 /* the word: up to the last '/' */
      const char *tag = cut ? tok + cut : "";
      size_t tagn = cut ? tn - cut : 0;
      int hl = tagn >= 3 && !memcmp(tag + tagn - 3, "-hl", 3);
      if (hl != in_headline && brown_flush(b, out)) return -1;  /* headlines stand alone */
      in_headline = hl;
      if (wn && brown_word(b, tok, wn)) return -1;
    }
    if (in_headline && brown_flush(b, out)) return -1;
  }
  return 0;
}

int pal_brown_to_text(const char *in, size_t len, pal_buf *out) {
  brown b = {{0}, 0};
  int rc = brown_text(in, len, &b, out);
  if (!rc) rc = brown_flush(&b, out);
  pal_buf_free(&b.line);
  return rc;
}

/* ---- HTML from generators */
static int entity(const char *s, size_t n, size_t *used, char *o, size_t *on) {
  static const struct { const char *name; const char *text; } E[] = {
    {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "},
    {"mdash", "\xE2\x80\x94"}, {"ndash", "\xE2\x80\x93"}, {"hellip", "\xE2\x80\xA6"}, {NULL, NULL}};
  size_t k = 1;
  while (k < n && k < 12 && s[k] != ';' && (isalnum((unsigned char)s[k]) || s[k] == '#')) k++;
  if (k >= n || s[k] != ';') return 0;
  *used = k + 1;
  *on = 0;
  if (s[1] == '#') {
    long cp = s[2] == 'x' || s[2] == 'X' ? strtol(s + 3, NULL, 16) : strtol(s + 2, NULL, 10);
    if (utf8proc_codepoint_valid((utf8proc_int32_t)cp)) *on = (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)o);
    return 1;
  }
  for (int i = 0; E[i].name; i++)
    if (strlen(E[i].name) == k - 1 && !memcmp(E[i].name, s + 1, k - 1)) {
      *on = strlen(E[i].text);
      memcpy(o, E[i].text, *on);
    }
  return 1;  /* an unknown entity is dropped */
}

static int html_line(const char *s, size_t n, pal_buf *out) {
  size_t start = out->len;
  int space = 0;
  size_t i = 0;
  while (i < n) {
    char c = s[i];
    if (c == '<') {
      const char *close = memchr(s + i, '>', n - i);
      if (!close) break;  /* an unclosed tag ends the line */
      size_t tl = (size_t)(close - (s + i)) + 1;
      int style = tl > 6 && !strncasecmp(s + i, "<style", 6), script = tl > 7 && !strncasecmp(s + i, "<script", 7);
      i += tl;
      if (style || script) {  /* skip to the matching closing tag */
        const char *want = style ? "</style" : "</script";
        size_t wl = strlen(want);
        while (i + wl <= n && strncasecmp(s + i, want, wl)) i++;
        const char *gt = i < n ? memchr(s + i, '>', n - i) : NULL;
        i = gt ? (size_t)(gt - s) + 1 : n;
      }
      space = 1;
      continue;
    }
    char ent[8];
    size_t used, en;
    const char *piece = s + i;
    size_t pn = 1;
    if (c == '&' && entity(s + i, n - i, &used, ent, &en)) { piece = ent; pn = en; i += used; }
    else i++;
    for (size_t k = 0; k < pn; k++) {
      char ch = piece[k];
      if (ch == ' ' || ch == '\t' || ch == '\r') { space = 1; continue; }
      if (space && out->len > start) APPEND(out, " ", 1);
      space = 0;
      APPEND(out, &ch, 1);
    }
  }
  if (out->len > start) APPEND(out, "\n", 1);
  return 0;
}

int pal_html_to_text(const char *in, size_t len, pal_buf *out) {
  const char *p = in, *end = in + len, *line;
  size_t n;
  while (next_line(&p, end, &line, &n)) if (html_line(line, n, out)) return -1;
  return 0;
}

int pal_interleave_lines(const pal_buf *texts, int n, pal_buf *out) {
  const char **pos = calloc((size_t)n, sizeof *pos);
  if (!pos) return -1;
  for (int i = 0; i < n; i++) pos[i] = texts[i].data;
  int rc = 0, any = 1;
  while (any && !rc) {
    any = 0;
    for (int i = 0; i < n; i++) {
      const char *end = texts[i].data + texts[i].len, *line;
      size_t ln;
      if (!pos[i] || !next_line(&pos[i], end, &line, &ln)) continue;
      any = 1;
      if (pal_buf_append(out, line, ln) || pal_buf_append(out, "\n", 1)) rc = -1;
    }
  }
  free(pos);
  return rc;
}
