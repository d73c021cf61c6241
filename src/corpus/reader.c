/* reader.c: streams one source file as units (lines, sentences, paragraphs, period
 * pieces) with their byte offsets. Holds only the current line or paragraph in memory,
 * never the file; refuses binary input; reports invalid UTF-8 through the warn callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/corpus.h"
#include "corpus/internal.h"

enum { READ_CHUNK = 1 << 20, WARN_MAX = 5 };

int pal_unit_kind_parse(const char *s) {
  if (!strcmp(s, "line")) return PAL_UNIT_LINE;
  if (!strcmp(s, "sentence")) return PAL_UNIT_SENTENCE;
  if (!strcmp(s, "paragraph")) return PAL_UNIT_PARAGRAPH;
  if (!strcmp(s, "period")) return PAL_UNIT_PERIOD;
  return -1;
}

const char *pal_unit_kind_name(pal_unit_kind k) {
  static const char *const names[] = {"line", "sentence", "paragraph", "period"};
  return (unsigned)k < 4 ? names[k] : "?";
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int pal_unit_reader_open(pal_unit_reader *r, const char *path, FILE *fp, pal_unit_kind kind,
                         int binary_ok, pal_warn_fn warn, void *warn_ctx, pal_error *err) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->binary_ok = binary_ok;
  r->warn = warn;
  r->warn_ctx = warn_ctx;
  r->path = strdup(path ? path : "(stream)");
  if (!r->path) return pal_errorf(err, "%s: out of memory", path);
  if (fp) r->fp = fp;
  else {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      pal_unit_reader_close(r);
      return pal_errorf(err, "%s: is a directory, not a text file", path);
    }
    r->fp = pal_io_fopen(path, "rb");
    if (!r->fp) {
      int e = errno;
      pal_unit_reader_close(r);
      return pal_errorf(err, "%s: cannot open: %s", path, strerror(e));
    }
    r->own_fp = 1;
  }
  r->cap = READ_CHUNK;
  r->buf = malloc(r->cap);
  if (!r->buf) { pal_unit_reader_close(r); return pal_errorf(err, "%s: out of memory", path); }
  return 0;
}

void pal_unit_reader_close(pal_unit_reader *r) {
  if (r->warn && r->n_invalid > WARN_MAX) {
    char msg[1200];
    snprintf(msg, sizeof msg, "%s: %ld more invalid UTF-8 sequences (passed through)", r->path,
             r->n_invalid - WARN_MAX);
    r->warn(r->warn_ctx, msg);
  }
  if (r->own_fp && r->fp) fclose(r->fp);
  free(r->buf);
  free(r->path);
  free(r->spans);
  pal_buf_free(&r->para);
  pal_buf_free(&r->text);
  memset(r, 0, sizeof *r);
}

/* Binary if the start has many control bytes (backspaces, escapes and form feeds are text). */
static int looks_binary(const unsigned char *s, size_t n) {
  size_t ctrl = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 && !is_ws(s[i]) && s[i] != '\b' && s[i] != 0x1B) ctrl++;
  return n > 0 && ctrl * 10 > n;
}

/* Reads more of the file into the window, keeping buf[start, end). */
static int fill(pal_unit_reader *r, pal_error *err) {
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->buf_offset += r->start;
    r->end -= r->start;
    r->start = 0;
  }
  if (r->end == r->cap) {
    char *p = realloc(r->buf, r->cap * 2);
    if (!p) return pal_errorf(err, "%s: out of memory (a line of %zu bytes)", r->path, r->end);
    r->buf = p;
    r->cap *= 2;
  }
  size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->fp);
  if (got == 0) {
    if (ferror(r->fp)) return pal_errorf(err, "%s: read error: %s", r->path, strerror(errno));
    r->eof = 1;
  }
  r->end += got;
  if (!r->checked_start) {
    r->checked_start = 1;
    size_t n = r->end < 4096 ? r->end : 4096;
    if (!r->binary_ok && looks_binary((unsigned char *)r->buf, n))
      return pal_errorf(err, "%s: looks binary (control bytes at the start): refused (use --binary-ok)", r->path);
    if (r->end >= 3 && !memcmp(r->buf, "\xEF\xBB\xBF", 3)) r->start = 3;  /* a UTF-8 BOM is not text */
  }
  return 0;
}

/* The next line without its '\n': 1, 0 at the end, -1 on error. */
static int next_line(pal_unit_reader *r, const char **line, size_t *len, uint64_t *off, pal_error *err) {
  size_t scanned = r->start;
  for (;;) {
    char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
    if (nl) {
      *line = r->buf + r->start;
      *len = (size_t)(nl - *line);
      *off = r->buf_offset + r->start;
      r->start = (size_t)(nl - r->buf) + 1;
      break;
    }
    if (r->eof) {
      if (r->end == r->start) return 0;
      *line = r->buf + r->start;
      *len = r->end - r->start;
      *off = r->buf_offset + r->start;
      r->start = r->end;
      break;
    }
    size_t rel = r->end - r->start;
    if (fill(r, err)) return -1;
    scanned = r->start + rel;
  }
  if (!r->binary_ok) {
    const char *z = memchr(*line, 0, *len);
    if (z)
      return pal_errorf(err, "%s: NUL byte at offset %llu: binary input refused (use --binary-ok)",
                        r->path, (unsigned long long)(*off + (uint64_t)(z - *line)));
  }
  size_t first = 0, bad = pal_utf8_invalid(*line, *len, &first);
  if (bad) {
    if (r->warn && r->n_invalid < WARN_MAX) {
      char msg[1200];
      snprintf(msg, sizeof msg, "%s: invalid UTF-8 at byte offset %llu (passed through)", r->path,
               (unsigned long long)(*off + first));
      r->warn(r->warn_ctx, msg);
    }
    r->n_invalid += (long)bad;
  }
  return 1;
}

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) if (!is_ws((unsigned char)s[i])) return 0;
  return 1;
}

/* Fills u from raw bytes s[0, n) at file offset off: trimmed, line breaks (with the blanks
 * around them) become one space. Returns 0 when nothing is left (not a unit). */
static int make_unit(pal_unit_reader *r, const char *s, size_t n, uint64_t off, pal_unit *u) {
  size_t a = 0, b = n;
  while (a < b && is_ws((unsigned char)s[a])) a++;
  while (b > a && is_ws((unsigned char)s[b - 1])) b--;
  if (a == b) return 0;
  u->offset = off + a;
  u->raw_len = b - a;
  u->index = r->index++;
  const char *t = s + a;
  size_t tn = b - a;
  if (!memchr(t, '\n', tn) && !memchr(t, '\r', tn)) { u->text = t; u->len = tn; return 1; }
  r->text.len = 0;
  if (pal_corpus_reserve(&r->text, tn)) { u->text = t; u->len = tn; return 1; }
  char *w = r->text.data;
  size_t i = 0;
  while (i < tn) {
    if (t[i] == '\n' || t[i] == '\r') {
      while (w > r->text.data && (w[-1] == ' ' || w[-1] == '\t')) w--;
      while (i < tn && is_ws((unsigned char)t[i])) i++;
      *w++ = ' ';
    } else *w++ = t[i++];
  }
  r->text.len = (size_t)(w - r->text.data);
  r->text.data[r->text.len] = 0;
  u->text = r->text.data;
  u->len = r->text.len;
  return 1;
}

/* Reads the next paragraph (non-blank lines up to a blank one) into r->para. 1/0/-1. */
static int next_paragraph(pal_unit_reader *r, pal_error *err) {
  const char *line;
  size_t len;
  uint64_t off;
  int rc;
  r->para.len = 0;
  while ((rc = next_line(r, &line, &len, &off, err)) == 1 && blank(line, len)) {}
  if (rc <= 0) return rc;
  r->para_offset = off;
  if (pal_buf_append(&r->para, line, len)) return pal_errorf(err, "%s: out of memory", r->path);
  while ((rc = next_line(r, &line, &len, &off, err)) == 1 && !blank(line, len))
    if (pal_buf_append(&r->para, "\n", 1) || pal_buf_append(&r->para, line, len))
      return pal_errorf(err, "%s: out of memory", r->path);
  return rc < 0 ? -1 : 1;
}

static void push_span(void *ctx, size_t start, size_t end);

enum { SPLIT_MIN = 64 << 10 };

/* Sentence mode: the next batch of finished sentences into r->spans. A paragraph is split when
 * it ends; a long one also whenever it has doubled since the last split (at least 64 KB), and
 * then every sentence but the last (which the next line may continue) is final, so memory is
 * about twice the longest sentence, not the paragraph. 1, 0 at the end, -1 on error. */
static int next_sentences(pal_unit_reader *r, pal_error *err) {
  if (r->para_final) { r->para.len = 0; r->para_final = 0; r->split_at = SPLIT_MIN; }
  else if (r->tail_start) {  /* drop the sentences already given out, keep the open one */
    memmove(r->para.data, r->para.data + r->tail_start, r->para.len - r->tail_start);
    r->para.len -= r->tail_start;
    r->para_offset += r->tail_start;
    r->tail_start = 0;
  }
  if (r->split_at < SPLIT_MIN) r->split_at = SPLIT_MIN;
  r->n_spans = r->span_i = 0;
  for (;;) {
    const char *line;
    size_t len;
    uint64_t off;
    int rc = next_line(r, &line, &len, &off, err);
    if (rc < 0) return -1;
    if (rc == 0 || blank(line, len)) {
      if (r->para.len == 0) { if (rc == 0) return 0; continue; }
      pal_split_sentences(r->para.data, r->para.len, push_span, r);
      r->para_final = 1;
      return 1;
    }
    if (r->para.len == 0) r->para_offset = off;
    else if (pal_buf_append(&r->para, "\n", 1)) return pal_errorf(err, "%s: out of memory", r->path);
    if (pal_buf_append(&r->para, line, len)) return pal_errorf(err, "%s: out of memory", r->path);
    if (r->para.len < r->split_at) continue;
    pal_split_sentences(r->para.data, r->para.len, push_span, r);
    if (r->n_spans >= 4) {
      r->n_spans -= 2;
      r->tail_start = r->spans[r->n_spans];
      r->split_at = 2 * (r->para.len - r->tail_start);
      return 1;
    }
    r->n_spans = 0;
    r->split_at = 2 * r->para.len;
  }
}

static void push_span(void *ctx, size_t start, size_t end) {
  pal_unit_reader *r = ctx;
  if (r->n_spans + 2 > r->cap_spans) {
    size_t cap = r->cap_spans ? r->cap_spans * 2 : 64;
    size_t *p = realloc(r->spans, cap * sizeof *p);
    if (!p) return;  /* the sentence is lost only when memory is gone; next_paragraph reports */
    r->spans = p;
    r->cap_spans = cap;
  }
  r->spans[r->n_spans++] = start;
  r->spans[r->n_spans++] = end;
}

int pal_unit_reader_next(pal_unit_reader *r, pal_unit *u, pal_error *err) {
  for (;;) {
    switch (r->kind) {
    case PAL_UNIT_LINE: {
      const char *line;
      size_t len;
      uint64_t off;
      int rc = next_line(r, &line, &len, &off, err);
      if (rc <= 0) return rc;
      if (make_unit(r, line, len, off, u)) return 1;
      break;
    }
    case PAL_UNIT_PERIOD: {
      if (!r->line || r->line_pos > r->line_len) {
        int rc = next_line(r, &r->line, &r->line_len, &r->line_offset, err);
        if (rc <= 0) { r->line = NULL; return rc; }
        r->line_pos = 0;
      }
      const char *s = r->line + r->line_pos;
      const char *dot = memchr(s, '.', r->line_len - r->line_pos);
      size_t n = dot ? (size_t)(dot - s) : r->line_len - r->line_pos;
      uint64_t off = r->line_offset + r->line_pos;
      r->line_pos += n + 1;  /* past the '.', or past the end */
      if (make_unit(r, s, n, off, u)) return 1;
      break;
    }
    case PAL_UNIT_PARAGRAPH: {
      int rc = next_paragraph(r, err);
      if (rc <= 0) return rc;
      if (make_unit(r, r->para.data, r->para.len, r->para_offset, u)) return 1;
      break;
    }
    case PAL_UNIT_SENTENCE: {
      if (r->span_i >= r->n_spans) {
        int rc = next_sentences(r, err);
        if (rc <= 0) return rc;
        continue;
      }
      size_t a = r->spans[r->span_i], b = r->spans[r->span_i + 1];
      r->span_i += 2;
      if (make_unit(r, r->para.data + a, b - a, r->para_offset + a, u)) return 1;
      break;
    }
    default: return pal_errorf(err, "%s: unknown unit kind", r->path);
    }
  }
}
