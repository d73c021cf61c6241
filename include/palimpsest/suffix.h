/* palimpsest/suffix.h: a sparse suffix array over token sequences (the corpus module,
 * src/corpus/suffix.c): which spans of a query also occur in the indexed texts. Exact.
 * Knows nothing of runs or tokenizers: ids in, positions out. Never prints.
 *
 * Every PAL_SUFFIX_STRIDE-th position of each text is indexed (positions 0, 3, 6, ...): the
 * suffixes there are sorted (SA-IS over blocks of 3 ids, ranked) and kept as 32-bit block
 * numbers, 4/3 bytes per token, plus a table of where each first id begins. A span of at
 * least 3 tokens always holds an indexed position at one of its first 3 offsets, so a query
 * looks up every offset and extends each hit to the left by up to 2 tokens: exact for any
 * minimum length >= 3. Spans never cross from one text into the next. */
#ifndef PALIMPSEST_SUFFIX_H
#define PALIMPSEST_SUFFIX_H
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/util.h"

#define PAL_SUFFIX_STRIDE 3
#define PAL_SUFFIX_MAX_ID 131070      /* ids must be in [0, PAL_SUFFIX_MAX_ID] */

typedef struct pal_suffix_text { const int *ids; size_t n; } pal_suffix_text;

typedef struct pal_suffix {
  int n_texts;
  pal_suffix_text *texts;     /* (n_texts) borrowed: they must outlive the index */
  uint64_t *block_start;      /* (n_texts + 1) the first block number of each text (owned) */
  uint32_t n_ids;             /* buckets: ids 0 .. n_ids-1 */
  const uint32_t *bucket;     /* (n_ids + 1) the first SA entry whose block starts with id */
  const uint32_t *sa;         /* (n_sa) block numbers, in the order of their suffixes */
  uint64_t n_sa;
  uint64_t data_hash;         /* pal_suffix_data_hash of the texts */
  void *owned;                /* built: malloc'd bucket + sa; loaded: the mapping */
  size_t owned_len;           /* > 0: owned is an mmap of this many bytes */
} pal_suffix;

/* A hash of the texts' ids and lengths (a 64-bit multiply-mix, ~1 ns a token): an index
 * saved for other data does not match. */
uint64_t pal_suffix_data_hash(const pal_suffix_text *texts, int n_texts);

/* Sorts the indexed suffixes of texts[0..n_texts) (borrowed). Fails on an id out of range
 * or more than 2^31 blocks. Memory while building: about 14 bytes per block. */
int  pal_suffix_build(pal_suffix *sx, const pal_suffix_text *texts, int n_texts, pal_error *err);
/* Writes the index (header with the data hash, block starts, buckets, SA) atomically. */
int  pal_suffix_save(const pal_suffix *sx, const char *path, pal_error *err);
/* Maps an index saved by pal_suffix_save for these texts. Returns 1 (nothing loaded, no
 * error) when path is missing or was built from other data (hash, lengths), 0 when loaded,
 * -1 when the file is damaged (err names it). */
int  pal_suffix_load(pal_suffix *sx, const char *path, const pal_suffix_text *texts, int n_texts,
                     pal_error *err);
void pal_suffix_free(pal_suffix *sx);
/* Bytes of the index on disk (what pal_suffix_save writes). */
uint64_t pal_suffix_file_bytes(const pal_suffix *sx);

/* A span of the query that occurs in a text: query ids [start, end), text `text` at id
 * position `pos`. Maximal: one token more on either side does not occur anywhere. */
typedef struct pal_suffix_span { size_t start, end; int text; size_t pos; } pal_suffix_span;
typedef struct pal_suffix_spans { pal_suffix_span *items; size_t n, cap; } pal_suffix_spans;
void pal_suffix_spans_free(pal_suffix_spans *s);

/* Every maximal span of q[0..n) of at least min_len (>= PAL_SUFFIX_STRIDE) tokens that
 * occurs in one of the texts, in order of start; where a span occurs several times one
 * occurrence is named (the first found). Spans may overlap. Appends to a cleared out. */
int  pal_suffix_find(const pal_suffix *sx, const int *q, size_t n, size_t min_len,
                     pal_suffix_spans *out, pal_error *err);

#endif
