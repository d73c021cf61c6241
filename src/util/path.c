/* path.c: building paths and unescaping command-line strings. One rule set for each, used
 * by every module; nothing here touches the file system. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/util.h"

int pal_pathf(char *out, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(out, n, fmt, ap);
  va_end(ap);
  return k < 0 || (size_t)k >= n ? -1 : 0;
}

char *pal_unescape(const char *s) {
  char *out = malloc(strlen(s) + 1), *w = out;
  if (!out) return NULL;
  for (; *s; s++) {
    if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == 'r' || s[1] == '\\')) {
      *w++ = s[1] == 'n' ? '\n' : s[1] == 't' ? '\t' : s[1] == 'r' ? '\r' : '\\';
      s++;
    } else {
      *w++ = *s;
    }
  }
  *w = 0;
  return out;
}
