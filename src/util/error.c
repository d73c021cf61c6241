/* error.c: filling pal_error. Never prints: only src/cli reports errors to the user. */
#include <stdarg.h>
#include <stdio.h>
#include "palimpsest/util.h"

int pal_errorf(pal_error *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return -1;
}
