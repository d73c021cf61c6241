/* palimpsest/shard.h: writing an llm.c token shard as a stream (the encoder does not hold
 * all its tokens). The shard format and the whole-array pal_shard_write/pal_shard_read are
 * in io.h; these write the same files. Owned by the tokenizer part (src/io/shard.c). */
#ifndef PALIMPSEST_SHARD_H
#define PALIMPSEST_SHARD_H
#include <stddef.h>
#include "palimpsest/util.h"

typedef struct pal_shard_writer {
  pal_atomic_file af;
  size_t count;
} pal_shard_writer;

/* Starts PATH (atomically: nothing appears under PATH until close succeeds). */
int  pal_shard_writer_open(pal_shard_writer *w, const char *path, pal_error *err);
/* Appends tokens; fails on an id outside 0..65535 (a shard holds uint16). */
int  pal_shard_writer_add(pal_shard_writer *w, const int *tokens, size_t n, pal_error *err);
/* Writes the count into the header and renames into place. Frees w either way. */
int  pal_shard_writer_close(pal_shard_writer *w, pal_error *err);
/* Drops the temporary file. Safe on a zeroed or closed writer. */
void pal_shard_writer_abort(pal_shard_writer *w);

#endif
