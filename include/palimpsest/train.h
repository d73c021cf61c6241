/* palimpsest/train.h: the train module's public API (filled in by its issue). */
#ifndef PALIMPSEST_TRAIN_H
#define PALIMPSEST_TRAIN_H
#include "palimpsest/util.h"

#endif
