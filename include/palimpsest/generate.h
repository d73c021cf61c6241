/* palimpsest/generate.h: the generate module's public API (filled in by its issue). */
#ifndef PALIMPSEST_GENERATE_H
#define PALIMPSEST_GENERATE_H
#include "palimpsest/util.h"

#endif
