/* tok_internal.h: what the tokenizer's files share (pre-tokenizer, tables, the word cache,
 * GPT-2's byte<->unicode map). Private to src/tokenizer and its unit tests; never public. */
#ifndef PAL_TOK_INTERNAL_H
#define PAL_TOK_INTERNAL_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/tokenizer.h"

/* ---- Pre-tokenization: GPT-2's regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * matched by hand. \s is Unicode White_Space (as tiktoken's Rust regex has it); an invalid
 * UTF-8 byte is one character of the "other" class (as a surrogate-escaped byte would be).
 * Returns the end of the piece that starts at i (i < n); pieces tile the text. */
size_t pal_pretok_next(const uint8_t *s, size_t n, size_t i);
enum { PAL_CH_WS = 0, PAL_CH_L = 1, PAL_CH_N = 2, PAL_CH_O = 3 };
/* Class of the character at s[i] and its length in bytes (1 for an invalid byte). */
int pal_pretok_class(const uint8_t *s, size_t n, size_t i, int *len);
/* 1 when the text can be cut at p (0 < p < n) so that the pieces of s[0..p) followed by the
 * pieces of s[p..n) are exactly the pieces of s: an ASCII non-space byte, then ASCII space. */
static inline int pal_pretok_safe_cut(const uint8_t *s, size_t p) {
  uint8_t a = s[p - 1], b = s[p];
  return a > 0x20 && a < 0x7f && (b == ' ' || (b >= 9 && b <= 13));
}

/* ---- GPT-2's byte <-> printable-unicode map used in vocab.json / merges.txt. */
void pal_bytes_to_unicode(uint32_t byte_to_cp[256]);
/* Appends the UTF-8 form (in the unicode map) of bytes to out. */
int  pal_bytes_to_vocab_string(const uint8_t *bytes, size_t n, char **out, size_t *out_len);

/* ---- Hashing. */
static inline uint64_t pal_hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  for (size_t k = 0; k < n; k++) w |= (uint64_t)p[k] << (8 * k);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}
static inline uint64_t pal_hash_u64(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
  return x;
}

/* ---- A cache of pieces already encoded: piece bytes -> ids. One per thread at a time. */
typedef struct pal_bpe_cache_slot { uint64_t hash; uint32_t key_off, key_len, ids_off, ids_n; } pal_bpe_cache_slot;
typedef struct pal_bpe_cache {
  pal_bpe_cache_slot *slots;
  size_t mask, n;
  uint8_t *keys; size_t keys_len, keys_cap;
  int *ids; size_t ids_len, ids_cap;
} pal_bpe_cache;
int  pal_bpe_cache_init(pal_bpe_cache *c);
void pal_bpe_cache_free(pal_bpe_cache *c);

struct pal_tokenizer {
  int n_vocab;                 /* including <|endoftext|> */
  int eot;                     /* id of <|endoftext|>, or -1 */
  char *bytes;                 /* every token's bytes, concatenated */
  uint32_t *offset;            /* token id's bytes are bytes[offset[id] .. offset[id+1]) */
  uint32_t *rank;              /* merge rank of each token (UINT32_MAX for bytes/specials) */
  int byte_id[256];            /* id of each single-byte token */
  /* bytes -> id (open addressing; slot holds id+1, 0 = empty) */
  uint32_t *vocab_slot; uint32_t *vocab_hash; size_t vocab_mask;
  /* (left id, right id) -> merged id: every split of a merged token into two tokens, ranked
   * by the merged token's rank (tiktoken's rule; GPT-2's merges.txt pairs are among them). */
  uint64_t *pair_key; uint32_t *pair_val; size_t pair_mask;
  int n_merges;
  pthread_mutex_t pool_lock;   /* guards the pool of caches lent to pal_tokenizer_encode */
  pal_bpe_cache **pool; int n_pool, cap_pool;
};

/* Looks a byte string up among the tokens; -1 when it is not one. */
int  pal_tok_lookup(const pal_tokenizer *tok, const uint8_t *p, size_t n);
/* Builds the lookup tables from tok->bytes/offset/rank (n_vocab set). */
int  pal_tok_build_tables(pal_tokenizer *tok, pal_error *err);
/* Encodes with an explicit cache (NULL: none); the caller keeps one cache per thread. */
int  pal_tokenizer_encode_with(pal_tokenizer *tok, pal_bpe_cache *cache, const char *text,
                               size_t len, int allow_special, pal_ids *out, pal_error *err);
/* Borrow / return a cache from the tokenizer's pool (thread-safe; take may return NULL). */
pal_bpe_cache *pal_tok_cache_take(pal_tokenizer *tok);
void pal_tok_cache_give(pal_tokenizer *tok, pal_bpe_cache *c);
/* Test hook: pieces longer than this use the heap merger (default 128). */
extern size_t pal_bpe_heap_threshold;

#endif
