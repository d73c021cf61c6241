/* html.c: HTML escaping and the self-contained page of one formatted text. Everything that
 * comes from outside goes through pal_html_escape: no raw byte of input reaches the page. */
#include <string.h>
#include "present/present_internal.h"

int pal_html_escape(pal_buf *out, const char *s, size_t len) {
  pal_buf clean = {0};
  if (pal_utf8_sanitize(&clean, s ? s : "", s ? len : 0) || pal_buf_append(&clean, "", 0)) {
    pal_buf_free(&clean);
    return -1;
  }
  int rc = 0;
  size_t run = 0;
  for (size_t i = 0; i < clean.len && !rc; i++) {
    unsigned char c = (unsigned char)clean.data[i];
    const char *rep = NULL;
    switch (c) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    default:
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) rep = "\xEF\xBF\xBD";  /* controls */
    }
    if (!rep) continue;
    rc = pal_buf_append(out, clean.data + run, i - run);
    if (!rc) rc = pal_buf_append(out, rep, strlen(rep));
    run = i + 1;
  }
  if (!rc) rc = pal_buf_append(out, clean.data + run, clean.len - run);
  pal_buf_free(&clean);
  return rc;
}

int pres_esc(pal_buf *out, const char *s) { return s ? pal_html_escape(out, s, strlen(s)) : 0; }

static const char *FORMAT_CSS =
  "html{background:#f4f1ea}\n"
  "body{margin:0;padding:3rem 1rem;color:#1d1b18;font:18px/1.55 Georgia,'DejaVu Serif',serif;"
  "text-align:center}\n"
  "main{display:inline-block;text-align:left;background:#fffdf8;padding:2.5rem 3rem;"
  "box-shadow:0 1px 4px rgba(0,0,0,.12);max-width:100%;box-sizing:border-box}\n"
  "h1{font-size:1.3rem;font-weight:normal;letter-spacing:.04em;text-align:center;margin:0 0 2rem}\n"
  ".text{white-space:pre;margin:0}\n"
  ".text.left{text-align:left}.text.center{text-align:center}.text.right{text-align:right}\n"
  "figure{margin:0}\n"
  "figcaption{margin-top:2rem;font-size:.75rem;color:#6b665e;text-align:center;"
  "font-family:'DejaVu Sans',sans-serif;white-space:normal}\n"
  "@media print{html,body{background:#fff}body{padding:0}"
  "main{box-shadow:none;padding:0}figcaption{color:#000}@page{margin:2cm}}\n";

typedef struct html_sink { pres_sink *k; int first; pal_error *err; } html_sink;

static int html_line(void *ctx, const char *s, size_t len, int width) {
  html_sink *h = ctx;
  int rc = h->first ? 0 : pal_buf_append(h->k->buf, "\n", 1);
  h->first = 0;
  if (!rc) rc = pal_html_escape(h->k->buf, s, len);
  if (rc) return pal_errorf(h->err, "format: out of memory");
  return pres_sink_spill(h->k, h->err);
}

int pres_format_html_to(pres_sink *k, const char *text, size_t len, const pal_format_opts *o, const char *title,
                        const char *caption, pal_error *err) {
  static const char *ALIGN[] = {"left", "center", "right"};
  const char *align = ALIGN[o->align >= PAL_ALIGN_LEFT && o->align <= PAL_ALIGN_RIGHT ? o->align : 0];
  if (o->width < 1) return pal_errorf(err, "format: width must be at least 1 (got %d)", o->width);
  pal_buf *out = k->buf;
  int rc = pal_buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                               "<meta name=\"generator\" content=\"palimpsest format\">\n<title>");
  if (!rc) rc = pres_esc(out, title && *title ? title : "palimpsest");
  if (!rc) rc = pal_buf_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", FORMAT_CSS);
  if (!rc && title && *title) {
    rc = pal_buf_printf(out, "<h1>");
    if (!rc) rc = pres_esc(out, title);
    if (!rc) rc = pal_buf_printf(out, "</h1>\n");
  }
  if (!rc) rc = pal_buf_printf(out, "<figure>\n<div class=\"text %s\">", align);
  if (rc) return pal_errorf(err, "format: out of memory");
  html_sink h = {k, 1, err};
  if (pres_wrap_each(text, len, o, html_line, &h, err)) return -1;
  rc = pal_buf_printf(out, "</div>\n");
  if (!rc && caption && *caption) {
    rc = pal_buf_printf(out, "<figcaption>");
    if (!rc) rc = pres_esc(out, caption);
    if (!rc) rc = pal_buf_printf(out, "</figcaption>\n");
  }
  if (!rc) rc = pal_buf_printf(out, "</figure>\n</main>\n</body>\n</html>\n");
  if (rc) return pal_errorf(err, "format: out of memory");
  return pres_sink_end(k, err);
}

int pal_format_html(const char *text, size_t len, const pal_format_opts *o, const char *title,
                    const char *caption, pal_buf *out, pal_error *err) {
  pres_sink k = {out, NULL, NULL};
  return pres_format_html_to(&k, text, len, o, title, caption, err);
}
