/* palimpsest/corpus.h: the corpus module's public API (filled in by its issue). */
#ifndef PALIMPSEST_CORPUS_H
#define PALIMPSEST_CORPUS_H
#include "palimpsest/util.h"

#endif
