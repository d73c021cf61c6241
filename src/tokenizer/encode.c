/* encode.c: text -> ids: split out <|endoftext|> (only when allowed), pre-tokenize, then
 * each piece is a whole token, a cached piece, or merged pair by pair by rank (tiktoken's
 * rule: lowest rank first, leftmost on ties). Never changes the tokenizer's tables. */
#include <stdlib.h>
#include <string.h>
#include "tokenizer/tok_internal.h"

size_t pal_bpe_heap_threshold = 128;

enum { CACHE_MAX_KEY = 64, CACHE_MAX_SLOTS = 1 << 16 };

int pal_bpe_cache_init(pal_bpe_cache *c) {
  memset(c, 0, sizeof *c);
  c->slots = calloc(CACHE_MAX_SLOTS, sizeof *c->slots);
  c->keys_cap = 1 << 20;
  c->ids_cap = 1 << 18;
  c->keys = malloc(c->keys_cap);
  c->ids = malloc(c->ids_cap * sizeof *c->ids);
  c->mask = CACHE_MAX_SLOTS - 1;
  if (!c->slots || !c->keys || !c->ids) { pal_bpe_cache_free(c); return -1; }
  return 0;
}

void pal_bpe_cache_free(pal_bpe_cache *c) {
  if (!c) return;
  free(c->slots); free(c->keys); free(c->ids);
  memset(c, 0, sizeof *c);
}

static void cache_clear(pal_bpe_cache *c) {
  memset(c->slots, 0, (c->mask + 1) * sizeof *c->slots);
  c->n = c->keys_len = c->ids_len = 0;
}

/* Returns the slot holding the piece, or the empty slot where it would go. */
static pal_bpe_cache_slot *cache_find(pal_bpe_cache *c, const uint8_t *p, size_t n, uint64_t h) {
  size_t i = (size_t)h & c->mask;
  for (;;) {
    pal_bpe_cache_slot *s = &c->slots[i];
    if (!s->key_len) return s;
    if (s->hash == h && s->key_len == n && !memcmp(c->keys + s->key_off, p, n)) return s;
    i = (i + 1) & c->mask;
  }
}

static inline uint32_t pair_rank(const pal_tokenizer *tok, int a, int b, int *merged) {
  uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  size_t i = (size_t)pal_hash_u64(key) & tok->pair_mask;
  for (;;) {
    uint64_t k = tok->pair_key[i];
    if (k == key) { *merged = (int)tok->pair_val[i]; return tok->rank[tok->pair_val[i]]; }
    if (k == UINT64_MAX) return UINT32_MAX;
    i = (i + 1) & tok->pair_mask;
  }
}

/* Short pieces: symbols in an array; each step merges the leftmost lowest-ranked pair.
 * sym has room for n ids; returns the number left. */
static size_t merge_small(const pal_tokenizer *tok, const uint8_t *p, size_t n, int *sym,
                          uint32_t *rank, int *merged) {
  for (size_t i = 0; i < n; i++) sym[i] = tok->byte_id[p[i]];
  for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_rank(tok, sym[i], sym[i + 1], &merged[i]);
  size_t m = n;
  while (m > 1) {
    size_t best = 0;
    uint32_t best_rank = UINT32_MAX;
    for (size_t i = 0; i + 1 < m; i++)
      if (rank[i] < best_rank) { best_rank = rank[i]; best = i; }
    if (best_rank == UINT32_MAX) break;
    sym[best] = merged[best];
    memmove(sym + best + 1, sym + best + 2, (m - best - 2) * sizeof *sym);
    memmove(rank + best + 1, rank + best + 2, (m - best - 2) * sizeof *rank);
    memmove(merged + best + 1, merged + best + 2, (m - best - 2) * sizeof *merged);
    m--;
    if (best > 0) rank[best - 1] = pair_rank(tok, sym[best - 1], sym[best], &merged[best - 1]);
    if (best + 1 < m) rank[best] = pair_rank(tok, sym[best], sym[best + 1], &merged[best]);
    else rank[best] = UINT32_MAX;
  }
  return m;
}

/* Long pieces (a run of a million spaces, a 50 MB word): 12 bytes per input byte in all.
 * sym[i] is the token that starts at byte i (-1 inside a token): the next symbol starts
 * where this one's bytes end, the previous one a token's length to the left at most, so no
 * links are kept. Candidate pairs sit in a min-heap of (rank << 32 | position), checked when
 * popped (the pair there now has that rank: two pairs of one rank make the same token, and
 * the heap holds an entry for whichever is there), and rebuilt from the live pairs when it
 * fills (each rebuild frees at least as many slots as there were merges before it, so there
 * are O(log n) of them). Same merges as merge_small: the lowest rank, then the leftmost. */
static void heap_down(uint64_t *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, s = i;
    if (l < n && h[l] < h[s]) s = l;
    if (r < n && h[r] < h[s]) s = r;
    if (s == i) return;
    uint64_t t = h[i]; h[i] = h[s]; h[s] = t;
    i = s;
  }
}

static void heap_up(uint64_t *h, size_t i) {
  while (i > 0 && h[i] < h[(i - 1) / 2]) {
    uint64_t t = h[i]; h[i] = h[(i - 1) / 2]; h[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static inline size_t tok_len(const pal_tokenizer *tok, int id) { return tok->offset[id + 1] - tok->offset[id]; }

/* every live pair into the heap (heapified in place): the new count */
static size_t heap_rebuild(const pal_tokenizer *tok, const int *sym, size_t n, uint64_t *h) {
  size_t hn = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + tok_len(tok, sym[i]);
    int merged;
    uint32_t r = j < n ? pair_rank(tok, sym[i], sym[j], &merged) : UINT32_MAX;
    if (r != UINT32_MAX) h[hn++] = (uint64_t)r << 32 | i;
    i = j;
  }
  for (size_t i = hn / 2; i-- > 0;) heap_down(h, hn, i);
  return hn;
}

static int merge_large(const pal_tokenizer *tok, const uint8_t *p, size_t n, pal_ids *out) {
  if (n >= UINT32_MAX) return -1;
  size_t cap = n + 16;
  int *sym = malloc(n * sizeof *sym);
  uint64_t *heap = malloc(cap * sizeof *heap);
  int rc = -1;
  if (!sym || !heap) goto done;
  for (size_t i = 0; i < n; i++) sym[i] = tok->byte_id[p[i]];
  size_t hn = heap_rebuild(tok, sym, n, heap);
  while (hn) {
    uint64_t top = heap[0];
    heap[0] = heap[--hn];
    heap_down(heap, hn, 0);
    uint32_t rank = (uint32_t)(top >> 32);
    size_t pos = (size_t)(uint32_t)top, right = pos + (sym[pos] >= 0 ? tok_len(tok, sym[pos]) : 0);
    int merged = -1;
    if (sym[pos] < 0 || right >= n || pair_rank(tok, sym[pos], sym[right], &merged) != rank) continue;  /* stale */
    sym[pos] = merged;
    sym[right] = -1;
    if (hn + 2 > cap) hn = heap_rebuild(tok, sym, n, heap);
    else {
      size_t left = pos;
      while (left > 0 && sym[--left] < 0) {}
      uint32_t r;
      if (left < pos && (r = pair_rank(tok, sym[left], sym[pos], &merged)) != UINT32_MAX) {
        heap[hn] = (uint64_t)r << 32 | left;
        heap_up(heap, hn++);
      }
      size_t nr = pos + tok_len(tok, sym[pos]);
      if (nr < n && (r = pair_rank(tok, sym[pos], sym[nr], &merged)) != UINT32_MAX) {
        heap[hn] = (uint64_t)r << 32 | pos;
        heap_up(heap, hn++);
      }
    }
  }
  free(heap);
  heap = NULL;
  size_t count = 0;
  for (size_t i = 0; i < n; i += tok_len(tok, sym[i])) sym[count++] = sym[i];   /* compacted in place */
  if (pal_ids_reserve(out, out->len + count)) goto done;
  memcpy(out->data + out->len, sym, count * sizeof *sym);
  out->len += count;
  rc = 0;
done:
  free(sym);
  free(heap);
  return rc;
}

/* Encodes one piece, appending to out. */
static int encode_piece(const pal_tokenizer *tok, pal_bpe_cache *cache, const uint8_t *p,
                        size_t n, pal_ids *out) {
  int id = pal_tok_lookup(tok, p, n);
  if (id >= 0) return pal_ids_push(out, id);
  if (n > pal_bpe_heap_threshold || n > 256) return merge_large(tok, p, n, out);
  uint64_t h = 0;
  pal_bpe_cache_slot *slot = NULL;
  if (cache && n <= CACHE_MAX_KEY) {
    h = pal_hash_bytes(p, n) ^ 0x5bd1e995u;
    slot = cache_find(cache, p, n, h);
    if (slot->key_len) {
      if (pal_ids_reserve(out, out->len + slot->ids_n)) return -1;
      memcpy(out->data + out->len, cache->ids + slot->ids_off, slot->ids_n * sizeof(int));
      out->len += slot->ids_n;
      return 0;
    }
  }
  int sym[256];
  uint32_t rank[256];
  int merged[256];
  size_t m = merge_small(tok, p, n, sym, rank, merged);
  if (pal_ids_reserve(out, out->len + m)) return -1;
  memcpy(out->data + out->len, sym, m * sizeof(int));
  out->len += m;
  if (slot) {
    if (cache->n * 2 >= cache->mask + 1 || cache->keys_len + n > cache->keys_cap ||
        cache->ids_len + m > cache->ids_cap) {
      cache_clear(cache);
      slot = cache_find(cache, p, n, h);
    }
    memcpy(cache->keys + cache->keys_len, p, n);
    memcpy(cache->ids + cache->ids_len, sym, m * sizeof(int));
    *slot = (pal_bpe_cache_slot){h, (uint32_t)cache->keys_len, (uint32_t)n,
                                 (uint32_t)cache->ids_len, (uint32_t)m};
    cache->keys_len += n;
    cache->ids_len += m;
    cache->n++;
  }
  return 0;
}

static int encode_ordinary(const pal_tokenizer *tok, pal_bpe_cache *cache, const uint8_t *s,
                           size_t n, pal_ids *out) {
  size_t i = 0;
  while (i < n) {
    size_t j = pal_pretok_next(s, n, i);
    if (encode_piece(tok, cache, s + i, j - i, out)) return -1;
    i = j;
  }
  return 0;
}

static const char EOT_TEXT[] = "<|endoftext|>";

int pal_tokenizer_encode_with(pal_tokenizer *tok, pal_bpe_cache *cache, const char *text,
                              size_t len, int allow_special, pal_ids *out, pal_error *err) {
  if (len == 0) return 0;
  const uint8_t *s = (const uint8_t *)text;
  size_t start = 0;
  if (allow_special && tok->eot >= 0) {
    size_t el = sizeof EOT_TEXT - 1;
    for (;;) {
      const uint8_t *hit = memmem(s + start, len - start, EOT_TEXT, el);
      if (!hit) break;
      size_t at = (size_t)(hit - s);
      if (encode_ordinary(tok, cache, s + start, at - start, out) || pal_ids_push(out, tok->eot))
        return pal_errorf(err, "encode: out of memory");
      start = at + el;
    }
  }
  if (encode_ordinary(tok, cache, s + start, len - start, out))
    return pal_errorf(err, "encode: out of memory");
  return 0;
}

/* Lends a cache from the tokenizer's pool (makes one when none is free). */
pal_bpe_cache *pal_tok_cache_take(pal_tokenizer *tok) {
  pal_bpe_cache *c = NULL;
  pthread_mutex_lock(&tok->pool_lock);
  if (tok->n_pool) c = tok->pool[--tok->n_pool];
  pthread_mutex_unlock(&tok->pool_lock);
  if (c) return c;
  c = malloc(sizeof *c);
  if (c && pal_bpe_cache_init(c)) { free(c); c = NULL; }
  return c;
}

void pal_tok_cache_give(pal_tokenizer *tok, pal_bpe_cache *c) {
  if (!c) return;
  pthread_mutex_lock(&tok->pool_lock);
  if (tok->n_pool == tok->cap_pool) {
    int cap = tok->cap_pool ? 2 * tok->cap_pool : 8;
    pal_bpe_cache **p = realloc(tok->pool, (size_t)cap * sizeof *p);
    if (p) { tok->pool = p; tok->cap_pool = cap; }
  }
  if (tok->n_pool < tok->cap_pool) { tok->pool[tok->n_pool++] = c; c = NULL; }
  pthread_mutex_unlock(&tok->pool_lock);
  if (c) { pal_bpe_cache_free(c); free(c); }
}

int pal_tokenizer_encode(pal_tokenizer *tok, const char *text, size_t len, int allow_special,
                         pal_ids *out, pal_error *err) {
  pal_bpe_cache *c = pal_tok_cache_take(tok);   /* NULL (no memory): encode uncached */
  int rc = pal_tokenizer_encode_with(tok, c, text, len, allow_special, out, err);
  pal_tok_cache_give(tok, c);
  return rc;
}
