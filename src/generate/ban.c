/* ban.c: ban.h: the tokenizations of banned words (a hash of the vocabulary's byte strings,
 * then every segmentation of the word into them), and the mask before each draw: an id is
 * banned when the history ends with the rest of a banned sequence. Never prints. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "generate/ban.h"

typedef struct vocab_hash { int *slot; size_t mask; const pal_tokenizer *tok; } vocab_hash;

static uint64_t bytes_hash(const char *s, size_t n) { return pal_fnv1a(PAL_FNV_INIT, s, n); }

static int hash_build(vocab_hash *h, const pal_tokenizer *tok) {
  int V = pal_tokenizer_vocab_size(tok);
  size_t cap = 1;
  while (cap < 2 * (size_t)V) cap <<= 1;
  h->slot = malloc(sizeof *h->slot * cap);
  if (!h->slot) return -1;
  for (size_t i = 0; i < cap; i++) h->slot[i] = -1;
  h->mask = cap - 1;
  h->tok = tok;
  for (int id = 0; id < V; id++) {
    if (id == pal_tokenizer_eot(tok)) continue;
    size_t len;
    const char *b = pal_tokenizer_token_bytes(tok, id, &len);
    if (!b || !len) continue;
    size_t i = bytes_hash(b, len) & h->mask;
    while (h->slot[i] >= 0) i = (i + 1) & h->mask;
    h->slot[i] = id;
  }
  return 0;
}

/* The id whose bytes are s[0..n), or -1. */
static int hash_find(const vocab_hash *h, const char *s, size_t n) {
  for (size_t i = bytes_hash(s, n) & h->mask; h->slot[i] >= 0; i = (i + 1) & h->mask) {
    size_t len;
    const char *b = pal_tokenizer_token_bytes(h->tok, h->slot[i], &len);
    if (len == n && !memcmp(b, s, n)) return h->slot[i];
  }
  return -1;
}

static int push_seq(pal_ban_set *b, const int *ids, size_t n) {
  if (b->n + 2 > b->cap_seq) {
    size_t cap = b->cap_seq ? 2 * b->cap_seq : 64;
    size_t *s = realloc(b->start, sizeof *s * cap);
    if (!s) return -1;
    b->start = s;
    b->cap_seq = cap;
  }
  if (b->n == 0) b->start[0] = 0;
  size_t at = b->start[b->n];
  if (at + n > b->cap_ids) {
    size_t cap = b->cap_ids ? 2 * b->cap_ids : 256;
    while (cap < at + n) cap *= 2;
    int *i = realloc(b->ids, sizeof *i * cap);
    if (!i) return -1;
    b->ids = i;
    b->cap_ids = cap;
  }
  memcpy(b->ids + at, ids, sizeof *ids * n);
  b->start[++b->n] = at + n;
  return 0;
}

/* Every segmentation of s[from..n) into vocabulary tokens, after path[0..depth). */
static int segment(pal_ban_set *b, const vocab_hash *h, const char *s, size_t n, size_t from, int *path, size_t depth,
                   size_t *count) {
  if (from == n) { (*count)++; return push_seq(b, path, depth); }
  for (size_t end = from + 1; end <= n && *count < PAL_BAN_MAX_PER_WORD; end++) {
    int id = hash_find(h, s + from, end - from);
    if (id < 0) continue;
    path[depth] = id;
    if (segment(b, h, s, n, end, path, depth + 1, count)) return -1;
  }
  return 0;
}

int pal_ban_build(pal_ban_set *b, const pal_tokenizer *tok, const char *const *words, int n_words, pal_error *err) {
  memset(b, 0, sizeof *b);
  if (!n_words) return 0;
  if (!tok) return pal_errorf(err, "--ban needs the model's tokenizer");
  vocab_hash h;
  if (hash_build(&h, tok)) return pal_errorf(err, "out of memory");
  int rc = 0;
  for (int w = 0; w < n_words && !rc; w++) {
    for (const char *word = words[w]; *word && !rc;) {   /* "a,b": two words */
      size_t len = strcspn(word, ",");
      char *spaced = malloc(len + 2);
      int *path = malloc(sizeof *path * (len + 2));
      if (!spaced || !path) rc = pal_errorf(err, "out of memory");
      for (int v = 0; v < 2 && !rc && len; v++) {   /* the word, then " word" */
        spaced[0] = ' ';
        memcpy(spaced + 1, word, len);
        size_t count = 0;
        if (segment(b, &h, spaced + 1 - v, len + (size_t)v, 0, path, 0, &count)) rc = pal_errorf(err, "out of memory");
      }
      free(spaced);
      free(path);
      word += len + (word[len] == ',');
    }
  }
  free(h.slot);
  if (rc) pal_ban_free(b);
  return rc;
}

void pal_ban_free(pal_ban_set *b) {
  free(b->ids);
  free(b->start);
  memset(b, 0, sizeof *b);
}

void pal_ban_apply(const pal_ban_set *b, const int *hist, size_t n, float *logits) {
  for (size_t k = 0; k < b->n; k++) {
    const int *s = b->ids + b->start[k];
    size_t len = b->start[k + 1] - b->start[k];
    if (len - 1 > n || memcmp(hist + n - (len - 1), s, sizeof *s * (len - 1))) continue;
    logits[s[len - 1]] = -INFINITY;
  }
}
