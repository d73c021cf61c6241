/* palimpsest/tokenizer.h: GPT-2's byte-level BPE (encode/decode identical to OpenAI's) and
 * training a BPE of our own. Works on raw bytes: any byte string encodes and decodes back. */
#ifndef PALIMPSEST_TOKENIZER_H
#define PALIMPSEST_TOKENIZER_H
#include <stddef.h>
#include <stdio.h>
#include "palimpsest/util.h"

typedef struct pal_tokenizer pal_tokenizer;

/* dir holds vocab.json + merges.txt (HF names) or encoder.json + vocab.bpe (OpenAI's). On
 * failure *out is NULL and err names the file and what is wrong. The caller frees *out. */
int  pal_tokenizer_load(pal_tokenizer **out, const char *dir, pal_error *err);
void pal_tokenizer_free(pal_tokenizer *tok);
/* 1 when dir holds a tokenizer pal_tokenizer_load would read (both files of either pair). */
int  pal_tokenizer_present(const char *dir);
int  pal_tokenizer_vocab_size(const pal_tokenizer *tok);   /* including <|endoftext|> */
int  pal_tokenizer_eot(const pal_tokenizer *tok);          /* id of <|endoftext|> (50256 for GPT-2), -1 if none */
/* Appends the ids of text[0..len) to out. allow_special: "<|endoftext|>" becomes the eot id;
 * otherwise it is ordinary text. Thread-safe for concurrent calls on one tokenizer. */
int  pal_tokenizer_encode(pal_tokenizer *tok, const char *text, size_t len, int allow_special,
                          pal_ids *out, pal_error *err);
/* The raw bytes of one token (not NUL-terminated); NULL for an id out of range. */
const char *pal_tokenizer_token_bytes(const pal_tokenizer *tok, int id, size_t *len);
/* Appends the bytes of ids to out. Fails on an id out of range. */
int  pal_tokenizer_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out,
                          pal_error *err);

/* ---- Streaming: files of any size in bounded memory, on all of OpenMP's threads. */
/* Receives consecutive ids of a stream, in order; returns 0, or negative (err filled) to stop. */
typedef int (*pal_token_sink)(void *ctx, const int *ids, size_t n, pal_error *err);
/* Encodes everything read from fp (called name in errors) in chunks of about chunk_bytes
 * (0: 256 KiB), cut only where GPT-2's pre-tokenization must cut anyway (after an ASCII
 * non-space byte, before an ASCII space), so the ids are exactly pal_tokenizer_encode's on
 * the whole stream, for any thread count and chunk size. Memory: about 16 x threads x
 * chunk_bytes of text (16 chunks per thread per batch balance the load), more only for a
 * stretch with no place to cut. *bytes_read (may be NULL) gets the total. */
int  pal_tokenizer_encode_stream(pal_tokenizer *tok, FILE *fp, const char *name, int allow_special,
                                 size_t chunk_bytes, pal_token_sink sink, void *ctx,
                                 size_t *bytes_read, pal_error *err);

/* ---- Training a byte-level BPE of our own (same pre-tokenization as GPT-2). */
typedef struct pal_bpe_train_opts {
  int vocab_size;        /* total, including the 256 byte tokens and <|endoftext|> (>= 257) */
  int min_count;         /* a pair must occur at least this often to be merged (0: 2) */
  int quiet;             /* reserved: training prints nothing either way */
  int force;             /* replace the tokenizer out_dir already holds */
} pal_bpe_train_opts;
/* Learns merges from the texts at paths[0..n) and writes out_dir/vocab.json and
 * out_dir/merges.txt as one unit (built in out_dir.tmp.PID/, then renamed or exchanged in
 * one step: never a new vocab beside old merges). out_dir may be missing, empty, or (with
 * force) hold only a tokenizer; a folder holding anything else (a model, a run) is refused,
 * as is an existing tokenizer without force, both before any training. ids 0..255 are the
 * bytes (in GPT-2's order), then one id per merge, then <|endoftext|>. Ties in pair count
 * go to the pair whose (left id, right id) is smallest, so training is deterministic.
 * *n_merges (may be NULL) gets the number learned (fewer when the text runs out of pairs). */
int  pal_bpe_train(const char *const *paths, int n, const pal_bpe_train_opts *opts,
                   const char *out_dir, int *n_merges, pal_error *err);

#endif
