/* buf.c: growable int and byte arrays, and a monotonic clock. Doubling growth only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "palimpsest/util.h"

int pal_ids_reserve(pal_ids *ids, size_t cap) {
  if (cap <= ids->cap) return 0;
  size_t n = ids->cap ? ids->cap : 64;
  while (n < cap) n *= 2;
  int *p = realloc(ids->data, n * sizeof *p);
  if (!p) return -1;
  ids->data = p;
  ids->cap = n;
  return 0;
}

int pal_ids_push(pal_ids *ids, int v) {
  if (ids->len == ids->cap && pal_ids_reserve(ids, ids->len + 1)) return -1;
  ids->data[ids->len++] = v;
  return 0;
}

void pal_ids_free(pal_ids *ids) { free(ids->data); memset(ids, 0, sizeof *ids); }

static int buf_reserve(pal_buf *b, size_t cap) {
  if (cap <= b->cap) return 0;
  size_t n = b->cap ? b->cap : 256;
  while (n < cap) n *= 2;
  char *p = realloc(b->data, n);
  if (!p) return -1;
  b->data = p;
  b->cap = n;
  return 0;
}

int pal_buf_append(pal_buf *b, const void *data, size_t len) {
  if (buf_reserve(b, b->len + len + 1)) return -1;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = 0;
  return 0;
}

int pal_buf_printf(pal_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || buf_reserve(b, b->len + (size_t)n + 1)) return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void pal_buf_free(pal_buf *b) { free(b->data); memset(b, 0, sizeof *b); }

void pal_format_float(char *buf, size_t n, float v) {
  for (int prec = 6; prec <= 9; prec++) {   /* the shortest that reads back as v */
    snprintf(buf, n, "%.*g", prec, (double)v);
    if ((float)strtod(buf, NULL) == v) break;
  }
}

void pal_format_double(char *buf, size_t n, double v) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
}

double pal_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
