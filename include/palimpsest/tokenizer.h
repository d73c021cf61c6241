/* palimpsest/tokenizer.h: GPT-2's byte-level BPE (encode/decode identical to OpenAI's) and
 * training a BPE of our own. Works on raw bytes: any byte string encodes and decodes back. */
#ifndef PALIMPSEST_TOKENIZER_H
#define PALIMPSEST_TOKENIZER_H
#include <stddef.h>
#include "palimpsest/util.h"

typedef struct pal_tokenizer pal_tokenizer;

/* dir holds vocab.json + merges.txt (HF names) or encoder.json + vocab.bpe (OpenAI's). */
int  pal_tokenizer_load(pal_tokenizer **out, const char *dir, pal_error *err);
void pal_tokenizer_free(pal_tokenizer *tok);
int  pal_tokenizer_vocab_size(const pal_tokenizer *tok);   /* including <|endoftext|> */
int  pal_tokenizer_eot(const pal_tokenizer *tok);          /* id of <|endoftext|>, 50256 for GPT-2 */
/* Appends the ids of text[0..len) to out. allow_special: "<|endoftext|>" becomes the eot id;
 * otherwise it is ordinary text. Thread-safe for concurrent calls on one tokenizer. */
int  pal_tokenizer_encode(pal_tokenizer *tok, const char *text, size_t len, int allow_special,
                          pal_ids *out, pal_error *err);
/* The raw bytes of one token (not NUL-terminated); NULL for an id out of range. */
const char *pal_tokenizer_token_bytes(const pal_tokenizer *tok, int id, size_t *len);
/* Appends the bytes of ids to out. Fails on an id out of range. */
int  pal_tokenizer_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out,
                          pal_error *err);

#endif
