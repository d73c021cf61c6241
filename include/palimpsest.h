/* palimpsest.h: the public API of libpalimpsest (prefix pal_). One header per module
 * below; each is the contract for its functions: 0 on success, negative with a filled
 * pal_error on failure; whoever allocates frees; *_free(NULL) is a no-op. */
#ifndef PALIMPSEST_H
#define PALIMPSEST_H

#include "palimpsest/util.h"
#include "palimpsest/output.h"
#include "palimpsest/model.h"
#include "palimpsest/optim.h"
#include "palimpsest/io.h"
#include "palimpsest/shard.h"
#include "palimpsest/tokenizer.h"
#include "palimpsest/corpus.h"
#include "palimpsest/suffix.h"
#include "palimpsest/train.h"
#include "palimpsest/run.h"
#include "palimpsest/generate.h"
#include "palimpsest/session.h"
#include "palimpsest/present.h"
#include "palimpsest/overlap.h"
#include "palimpsest/samples.h"
#include "palimpsest/runs.h"
#include "palimpsest/studio.h"

#endif
