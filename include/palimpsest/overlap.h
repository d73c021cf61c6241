/* palimpsest/overlap.h: what a generated text copied from a run's training data, and from
 * where (src/present/overlap.c, the present module). The index over the run's tokens is a
 * sparse suffix array (palimpsest/suffix.h) kept in RUN/overlap.index, keyed by a hash of
 * the tokens: built once, mapped afterwards, built again when the data changed. Spans are
 * named by the run's source (a.txt, token, byte) and, when a source is a mixture with a
 * provenance file (A.txt.provenance.tsv beside it), by the original file, unit and byte
 * offset. Never prints. */
#ifndef PALIMPSEST_OVERLAP_H
#define PALIMPSEST_OVERLAP_H
#include <stddef.h>
#include "palimpsest/util.h"

typedef struct pal_overlap pal_overlap;

typedef struct pal_overlap_info {
  int built;                 /* 1: the index was built (missing or from other data); 0: reused */
  double build_s;            /* seconds building (0 when reused) */
  size_t tokens;             /* tokens indexed: the training part of every source */
  unsigned long long index_bytes;
  char path[4096];           /* RUN/overlap.index */
} pal_overlap_info;

/* Opens RUN (its run.json, model tokenizer, sources as training read them) and the index
 * over the training part of every source (the held-out tail is not indexed: the model never
 * trained on it), building and saving it when it is missing or was built from other data
 * (no_build: then it fails instead, naming the file). info may be NULL. */
int  pal_overlap_open(pal_overlap **out, const char *run, int no_build, pal_overlap_info *info, pal_error *err);
void pal_overlap_free(pal_overlap *ov);

/* One copied span: tokens [start, end) of the query, bytes [byte_start, byte_end) of its
 * text; one occurrence in the data (the first found). */
typedef struct pal_overlap_span {
  size_t start, end, byte_start, byte_end;
  const char *source;        /* the run's name of the source ("a.txt"), owned by the pal_overlap */
  size_t token;              /* the token position in that source */
  long long byte;            /* the byte offset in the source text; -1 for a .bin shard */
  const char *origin;        /* provenance: the original file as the mix was given it, or NULL */
  long long unit;            /* its unit index in origin (-1 without provenance) */
  long long origin_byte;     /* the byte offset of that unit in origin (-1) */
  long long unit_offset;     /* bytes into the unit as the mixture writes it (-1) */
} pal_overlap_span;

typedef struct pal_overlap_result {
  pal_overlap_span *items;
  size_t n, cap;
  size_t tokens;             /* tokens of the query */
  size_t longest_copied;     /* tokens of the longest span (0 when none) */
  double copied_share;       /* share of the query's tokens inside some span */
} pal_overlap_result;
void pal_overlap_result_free(pal_overlap_result *r);

/* The spans of at least min_tokens (>= 3) tokens of text[0..len) (tokenized with the run's
 * tokenizer) that occur in the training data. */
int  pal_overlap_text(pal_overlap *ov, const char *text, size_t len, size_t min_tokens,
                      pal_overlap_result *res, pal_error *err);
/* Appends ,"longest_copied":N,"copied_share":R,"copied":[{...}, ...] (FORMATS.md, overlap). */
int  pal_overlap_json_fields(pal_buf *b, const pal_overlap_result *res);

/* Every record of a JSONL file (sample, sweep, weave: docs/FORMATS.md) with a "text" to
 * read (weave: the "end" lines) gets longest_copied, copied_share and copied (replacing
 * earlier ones); other lines are copied as they are. Appended to out. A line that is not a
 * JSON object fails as "FILE:LINE: ...". *n_records (may be NULL) gets the records read. */
int  pal_overlap_records(pal_overlap *ov, const char *path, size_t min_tokens, pal_buf *out,
                         size_t *n_records, pal_error *err);

/* A record line just built (ending in "}\n") gets the overlap fields of text[0..len) before
 * its closing brace: how sweep adds them (`sweep --copied N`). scratch: reused between calls. */
int  pal_overlap_append_record(pal_overlap *ov, size_t min_tokens, pal_buf *line, const char *text, size_t len,
                               pal_overlap_result *scratch, pal_error *err);

/* What `palimpsest overlap` answers: a records file (a path ending in .jsonl: annotated
 * JSONL), else a text (the file, or `text` when file is NULL) described in lines ("N copied
 * spans ...", then each span and where it is from) or, with jsonl, one JSON object. */
typedef struct pal_overlap_query {
  const char *file, *text;
  size_t min_tokens;
  int jsonl;
} pal_overlap_query;
int  pal_overlap_answer(pal_overlap *ov, const pal_overlap_query *q, pal_buf *out, size_t *n_records,
                        pal_error *err);

#endif
