/* palimpsest/shard.h: writing an llm.c token shard as a stream (the encoder does not hold
 * all its tokens). The shard format and the whole-array pal_shard_write/pal_shard_read are
 * in io.h; these write the same files. Owned by the tokenizer part (src/io/shard.c). */
#ifndef PALIMPSEST_SHARD_H
#define PALIMPSEST_SHARD_H
#include <stddef.h>
#include "palimpsest/output.h"

typedef struct pal_shard_writer {
  pal_output out;        /* the shard (palimpsest/output.h) */
  FILE *fp;              /* where tokens go: out.fp, or the spool */
  FILE *spool;           /* an anonymous temporary file when out cannot seek back to the
                            header (stdout, a FIFO, a device): copied to out at close */
  size_t count;
} pal_shard_writer;

/* Starts PATH as pal_output_open does ("-" is standard output): a regular file atomically
 * (nothing appears under PATH until close succeeds), a device or FIFO in place at close. */
int  pal_shard_writer_open(pal_shard_writer *w, const char *path, pal_error *err);
/* Appends tokens; fails on an id outside 0..65535 (a shard holds uint16). */
int  pal_shard_writer_add(pal_shard_writer *w, const int *tokens, size_t n, pal_error *err);
/* Writes the count into the header and renames into place. Frees w either way. */
int  pal_shard_writer_close(pal_shard_writer *w, pal_error *err);
/* Drops the temporary file. Safe on a zeroed or closed writer. */
void pal_shard_writer_abort(pal_shard_writer *w);

#endif
