/* corpus/internal.h: helpers shared by the corpus module's files (not public API). */
#ifndef PAL_CORPUS_INTERNAL_H
#define PAL_CORPUS_INTERNAL_H
#include <stdint.h>
#include "palimpsest/util.h"

/* Makes room for `extra` more bytes (+ a NUL) in b; -1 when out of memory. */
int pal_corpus_reserve(pal_buf *b, size_t extra);
/* White space: ASCII blanks and the Unicode Z* categories. */
int pal_is_space_cp(int32_t cp);

#endif
