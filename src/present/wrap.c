/* wrap.c: word wrapping by display width, stanza breaks, alignment padding. Builds lines
 * from the words of the input; a word is never dropped or reordered, only broken when it
 * is wider than the line. */
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

/* The wrapper's state: the line being filled is text[cur_start..) of out_text. */
typedef struct wrapper {
  pal_buf text;
  pal_lines *lines;
  size_t cur_start;
  int cur_width, cur_open;   /* cur_open: a line has begun (even if empty so far) */
  int width;
} wrapper;

static int push_line(wrapper *w, size_t start, size_t len, int width) {
  pal_lines *l = w->lines;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    pal_line *p = realloc(l->items, cap * sizeof *p);
    if (!p) return -1;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->n++] = (pal_line){start, len, width};
  return 0;
}

static int flush(wrapper *w) {
  if (!w->cur_open) return 0;
  w->cur_open = 0;
  return push_line(w, w->cur_start, w->text.len - w->cur_start, w->cur_width);
}

static int begin(wrapper *w) {
  w->cur_open = 1;
  w->cur_start = w->text.len;
  w->cur_width = 0;
  return 0;
}

/* Places one word (valid UTF-8, no whitespace) of display width ww. */
static int place_word(wrapper *w, const char *s, size_t len, int ww) {
  if (w->cur_open && w->cur_width > 0) {
    if (w->cur_width + 1 + ww <= w->width) {
      if (pal_buf_append(&w->text, " ", 1)) return -1;
      w->cur_width += 1 + ww;
      return pal_buf_append(&w->text, s, len);
    }
    if (flush(w)) return -1;
  }
  if (!w->cur_open) begin(w);
  if (ww <= w->width) {
    w->cur_width = ww;
    return pal_buf_append(&w->text, s, len);
  }
  /* wider than a line: break between grapheme clusters; the last piece stays open */
  for (size_t i = 0; i < len;) {
    int cw;
    size_t n = pres_cluster(s, len, i, &cw);
    if (w->cur_width > 0 && w->cur_width + cw > w->width) {
      if (flush(w)) return -1;
      begin(w);
    }
    if (pal_buf_append(&w->text, s + i, n)) return -1;
    w->cur_width += cw;
    i += n;
  }
  return 0;
}

int pal_wrap(const char *text, size_t len, const pal_format_opts *o, pal_lines *out, pal_error *err) {
  memset(out, 0, sizeof *out);
  if (o->width < 1) return pal_errorf(err, "format: width must be at least 1 (got %d)", o->width);
  pal_buf clean = {0};
  if (pal_utf8_sanitize(&clean, text ? text : "", len) || pal_buf_append(&clean, "", 0))
    return pal_buf_free(&clean), pal_errorf(err, "format: out of memory");
  wrapper w = {.lines = out, .width = o->width};
  int rc = 0, pending_break = 0;
  if (pal_buf_append(&w.text, "", 0)) rc = -1;
  const char *s = clean.data;
  size_t n = clean.len;
  for (size_t i = 0; i < n && !rc;) {
    size_t eol = i;
    while (eol < n && s[eol] != '\n') eol++;
    size_t j = i;
    while (j < eol && is_space(s[j])) j++;
    if (j == eol) {                       /* a blank line */
      if (out->n > 0 || w.cur_open) pending_break = 1;
    } else {
      if (pending_break && !o->reflow) {
        if (flush(&w) || push_line(&w, w.text.len, 0, 0)) rc = -1;
      }
      pending_break = 0;
      while (j < eol && !rc) {
        size_t k = j;
        while (k < eol && !is_space(s[k])) k++;
        if (place_word(&w, s + j, k - j, pal_display_width(s + j, k - j))) rc = -1;
        j = k;
        while (j < eol && is_space(s[j])) j++;
      }
      if (!o->reflow && !rc && flush(&w)) rc = -1;
    }
    i = eol + 1;
  }
  if (!rc && flush(&w)) rc = -1;
  pal_buf_free(&clean);
  if (rc) {
    pal_buf_free(&w.text);
    pal_lines_free(out);
    return pal_errorf(err, "format: out of memory");
  }
  out->text = w.text.data;
  return 0;
}

/* Spaces before a line of width lw: what the alignment asks within the page. */
static int pad_for(const pal_format_opts *o, int lw) {
  int page = o->page_width > 0 ? o->page_width : o->width;
  if (lw >= page || o->align == PAL_ALIGN_LEFT) return 0;
  return o->align == PAL_ALIGN_CENTER ? (page - lw) / 2 : page - lw;
}

int pal_format_text(const char *text, size_t len, const pal_format_opts *o, pal_buf *out, pal_error *err) {
  pal_lines lines;
  if (pal_wrap(text, len, o, &lines, err)) return -1;
  int rc = 0;
  for (size_t i = 0; i < lines.n && !rc; i++) {
    const pal_line *l = &lines.items[i];
    if (l->len > 0)
      for (int p = pad_for(o, l->width); p > 0 && !rc; p--) rc = pal_buf_append(out, " ", 1);
    if (!rc) rc = pal_buf_append(out, lines.text + l->start, l->len);
    if (!rc) rc = pal_buf_append(out, "\n", 1);
  }
  pal_lines_free(&lines);
  return rc ? pal_errorf(err, "format: out of memory") : 0;
}

int pal_format_text_page(const char *text, size_t len, const pal_format_opts *o, const char *title,
                         const char *caption, pal_buf *out, pal_error *err) {
  if (title && *title) {
    if (pal_format_text(title, strlen(title), o, out, err)) return -1;
    if (pal_buf_append(out, "\n", 1)) return pal_errorf(err, "format: out of memory");
  }
  if (pal_format_text(text, len, o, out, err)) return -1;
  if (caption && *caption) {
    if (pal_buf_append(out, "\n", 1)) return pal_errorf(err, "format: out of memory");
    if (pal_format_text(caption, strlen(caption), o, out, err)) return -1;
  }
  return 0;
}
