/* palimpsest/present.h: the present module's public API (filled in by its issue). */
#ifndef PALIMPSEST_PRESENT_H
#define PALIMPSEST_PRESENT_H
#include "palimpsest/util.h"

#endif
