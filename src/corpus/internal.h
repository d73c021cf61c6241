/* corpus/internal.h: helpers shared by the corpus module's files (not public API). */
#ifndef PAL_CORPUS_INTERNAL_H
#define PAL_CORPUS_INTERNAL_H
#include <stdint.h>
#include "palimpsest/util.h"

/* Makes room for `extra` more bytes (+ a NUL) in b; -1 when out of memory. */
int pal_corpus_reserve(pal_buf *b, size_t extra);
/* One UTF-8 sequence at s[0, n): its length with *cp set, or minus the length of the
 * maximal invalid prefix (>= 1). n > 0. */
int pal_utf8_decode(const unsigned char *s, size_t n, int32_t *cp);
/* White space: ASCII blanks and the Unicode Z* categories. */
int pal_is_space_cp(int32_t cp);

#endif
