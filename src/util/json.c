/* json.c: writing JSON strings, the one escaper of the project (records, run.json,
 * trainer_state.json, vocab.json). Reading JSON is cJSON's job. Never fails but on memory. */
#include <math.h>
#include <string.h>
#include "palimpsest/util.h"

int pal_json_str(pal_buf *b, const char *s, size_t len) {
  pal_buf clean = {0};
  if (pal_utf8_sanitize(&clean, s ? s : "", s ? len : 0)) return -1;
  int rc = pal_buf_append(b, "\"", 1);
  for (size_t i = 0; i < clean.len && !rc; i++) {
    unsigned char c = (unsigned char)clean.data[i];
    if (c == '"') rc = pal_buf_append(b, "\\\"", 2);
    else if (c == '\\') rc = pal_buf_append(b, "\\\\", 2);
    else if (c == '\n') rc = pal_buf_append(b, "\\n", 2);
    else if (c == '\t') rc = pal_buf_append(b, "\\t", 2);
    else if (c == '\r') rc = pal_buf_append(b, "\\r", 2);
    else if (c < 0x20 || c == 0x7f) rc = pal_buf_printf(b, "\\u%04x", c);
    else rc = pal_buf_append(b, (const char *)&c, 1);
  }
  if (!rc) rc = pal_buf_append(b, "\"", 1);
  pal_buf_free(&clean);
  return rc;
}

int pal_json_cstr(pal_buf *b, const char *s) { return pal_json_str(b, s, s ? strlen(s) : 0); }

int pal_json_num(pal_buf *b, const char *fmt, double v) {
  if (!isfinite(v)) return pal_buf_append(b, "null", 4);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  return pal_buf_printf(b, fmt, v);
#pragma GCC diagnostic pop
}
