/* wrap.c: word wrapping by display width, stanza breaks, alignment padding. Builds lines
 * from the words of the input; a word is never dropped or reordered, only broken when it
 * is wider than the line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "present/present_internal.h"

void pal_format_opts_default(pal_format_opts *o) {
  o->width = 60;
  o->page_width = 0;
  o->align = PAL_ALIGN_LEFT;
  o->reflow = 0;
}

void pal_lines_free(pal_lines *l) {
  if (!l) return;
  free(l->text);
  free(l->items);
  memset(l, 0, sizeof *l);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* The wrapper's state: the line being filled (cur), handed to fn when it is complete. */
typedef struct wrapper {
  pal_buf cur;
  int cur_width, cur_open;   /* cur_open: a line has begun (even if empty so far) */
  int width;
  pres_line_fn fn;
  void *ctx;
} wrapper;

static int flush(wrapper *w) {
  if (!w->cur_open) return 0;
  w->cur_open = 0;
  int rc = w->fn(w->ctx, w->cur.data ? w->cur.data : "", w->cur.len, w->cur_width);
  w->cur.len = 0;
  return rc;
}

static void begin(wrapper *w) {
  w->cur_open = 1;
  w->cur.len = 0;
  w->cur_width = 0;
}

/* Places one word (valid UTF-8, no whitespace) of display width ww. */
static int place_word(wrapper *w, const char *s, size_t len, int ww) {
  if (w->cur_open && w->cur_width > 0) {
    if (w->cur_width + 1 + ww <= w->width) {
      if (pal_buf_append(&w->cur, " ", 1)) return -1;
      w->cur_width += 1 + ww;
      return pal_buf_append(&w->cur, s, len);
    }
    if (flush(w)) return -1;
  }
  if (!w->cur_open) begin(w);
  if (ww <= w->width) {
    w->cur_width = ww;
    return pal_buf_append(&w->cur, s, len);
  }
  /* wider than a line: break between grapheme clusters; the last piece stays open */
  for (size_t i = 0; i < len;) {
    int cw;
    size_t n = pres_cluster(s, len, i, &cw);
    if (w->cur_width > 0 && w->cur_width + cw > w->width) {
      if (flush(w)) return -1;
      begin(w);
    }
    if (pal_buf_append(&w->cur, s + i, n)) return -1;
    w->cur_width += cw;
    i += n;
  }
  return 0;
}

/* One input line at a time (sanitised alone: a line break never sits inside a UTF-8
 * sequence), so memory is one input line and one output line whatever the output's size. */
int pres_wrap_each(const char *text, size_t len, const pal_format_opts *o, pres_line_fn fn, void *ctx,
                   pal_error *err) {
  if (o->width < 1) return pal_errorf(err, "format: width must be at least 1 (got %d)", o->width);
  wrapper w = {.width = o->width, .fn = fn, .ctx = ctx};
  pal_buf clean = {0};
  int rc = 0, pending_break = 0, any = 0;
  if (!text) len = 0;
  for (size_t i = 0; i < len && !rc;) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t eol_raw = nl ? (size_t)(nl - text) : len;
    clean.len = 0;
    if (pal_utf8_sanitize(&clean, text + i, eol_raw - i) || pal_buf_append(&clean, "", 0)) { rc = -1; break; }
    const char *s = clean.data;
    size_t eol = clean.len, j = 0;
    while (j < eol && is_space(s[j])) j++;
    if (j == eol) {                       /* a blank line */
      if (any || w.cur_open) pending_break = 1;
    } else {
      if (pending_break && !o->reflow) {
        if (flush(&w) || fn(ctx, "", 0, 0)) rc = -1;
      }
      pending_break = 0;
      any = 1;
      while (j < eol && !rc) {
        size_t k = j;
        while (k < eol && !is_space(s[k])) k++;
        if (place_word(&w, s + j, k - j, pal_display_width(s + j, k - j))) rc = -1;
        j = k;
        while (j < eol && is_space(s[j])) j++;
      }
      if (!o->reflow && !rc && flush(&w)) rc = -1;
    }
    i = eol_raw + 1;
  }
  if (!rc && flush(&w)) rc = -1;
  pal_buf_free(&clean);
  pal_buf_free(&w.cur);
  if (rc && (!err || !err->msg[0])) pal_errorf(err, "format: out of memory");
  return rc ? -1 : 0;
}

/* pal_wrap's collector: every line's bytes into one text, and its place */
typedef struct collect { pal_buf text; pal_lines *lines; } collect;

static int collect_line(void *ctx, const char *s, size_t len, int width) {
  collect *c = ctx;
  pal_lines *l = c->lines;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    pal_line *p = realloc(l->items, cap * sizeof *p);
    if (!p) return -1;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->n++] = (pal_line){c->text.len, len, width};
  return pal_buf_append(&c->text, s, len);
}

int pal_wrap(const char *text, size_t len, const pal_format_opts *o, pal_lines *out, pal_error *err) {
  memset(out, 0, sizeof *out);
  pal_error e2 = {{0}};
  collect c = {{0}, out};
  if (pal_buf_append(&c.text, "", 0) || pres_wrap_each(text, len, o, collect_line, &c, &e2)) {
    pal_buf_free(&c.text);
    pal_lines_free(out);
    return pal_errorf(err, "%s", e2.msg[0] ? e2.msg : "format: out of memory");
  }
  out->text = c.text.data;
  return 0;
}

/* Spaces before a line of width lw: what the alignment asks within the page. */
static int pad_for(const pal_format_opts *o, int lw) {
  int page = o->page_width > 0 ? o->page_width : o->width;
  if (lw >= page || o->align == PAL_ALIGN_LEFT) return 0;
  return o->align == PAL_ALIGN_CENTER ? (page - lw) / 2 : page - lw;
}

int pres_sink_spill(pres_sink *k, pal_error *err) {
  if (!k->fp || k->buf->len < (1 << 16)) return 0;
  if (fwrite(k->buf->data, 1, k->buf->len, k->fp) != k->buf->len)
    return pal_errorf(err, "%s: write failed: %s", k->name ? k->name : "output", strerror(errno));
  k->buf->len = 0;
  return 0;
}

int pres_sink_end(pres_sink *k, pal_error *err) {
  if (!k->fp || !k->buf->len) return 0;
  if (fwrite(k->buf->data, 1, k->buf->len, k->fp) != k->buf->len)
    return pal_errorf(err, "%s: write failed: %s", k->name ? k->name : "output", strerror(errno));
  k->buf->len = 0;
  return 0;
}

typedef struct text_sink { pres_sink *k; const pal_format_opts *o; pal_error *err; } text_sink;

static int text_line(void *ctx, const char *s, size_t len, int width) {
  text_sink *t = ctx;
  pal_buf *out = t->k->buf;
  static const char SPACES[65] = "                                                                ";
  int rc = 0;
  if (len > 0)
    for (int p = pad_for(t->o, width); p > 0 && !rc; p -= 64) rc = pal_buf_append(out, SPACES, p < 64 ? (size_t)p : 64);
  if (!rc) rc = pal_buf_append(out, s, len);
  if (!rc) rc = pal_buf_append(out, "\n", 1);
  if (rc) return pal_errorf(t->err, "format: out of memory");
  return pres_sink_spill(t->k, t->err);
}

static int text_to(pres_sink *k, const char *text, size_t len, const pal_format_opts *o, pal_error *err) {
  text_sink t = {k, o, err};
  return pres_wrap_each(text, len, o, text_line, &t, err);
}

int pal_format_text(const char *text, size_t len, const pal_format_opts *o, pal_buf *out, pal_error *err) {
  pres_sink k = {out, NULL, NULL};
  return text_to(&k, text, len, o, err);
}

static int text_page_to(pres_sink *k, const char *text, size_t len, const pal_format_opts *o, const char *title,
                        const char *caption, pal_error *err) {
  if (title && *title) {
    if (text_to(k, title, strlen(title), o, err)) return -1;
    if (pal_buf_append(k->buf, "\n", 1)) return pal_errorf(err, "format: out of memory");
  }
  if (text_to(k, text, len, o, err)) return -1;
  if (caption && *caption) {
    if (pal_buf_append(k->buf, "\n", 1)) return pal_errorf(err, "format: out of memory");
    if (text_to(k, caption, strlen(caption), o, err)) return -1;
  }
  return pres_sink_end(k, err);
}

int pal_format_text_page(const char *text, size_t len, const pal_format_opts *o, const char *title,
                         const char *caption, pal_buf *out, pal_error *err) {
  pres_sink k = {out, NULL, NULL};
  return text_page_to(&k, text, len, o, title, caption, err);
}

int pal_format_page_write(const char *text, size_t len, const pal_format_opts *o, const char *title,
                          const char *caption, int html, FILE *fp, const char *name, pal_error *err) {
  pal_buf buf = {0};
  pres_sink k = {&buf, fp, name};
  int rc = html ? pres_format_html_to(&k, text, len, o, title, caption, err)
                : text_page_to(&k, text, len, o, title, caption, err);
  pal_buf_free(&buf);
  return rc;
}
