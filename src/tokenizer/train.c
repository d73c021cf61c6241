/* train.c: learning a byte-level BPE: GPT-2's pre-tokenization, unique words counted once,
 * then merges by pair count kept up to date incrementally (only words that hold the merged
 * pair are touched; a lazy max-heap picks the next pair). Never rescans the corpus per merge. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tokenizer/tok_internal.h"

/* ---- unique words: bytes -> count */
typedef struct word_table {
  struct wslot { uint64_t hash; uint32_t off, len; uint64_t count; } *slots;
  size_t mask, n;
  pal_buf keys;
} word_table;

static int words_add(word_table *t, const uint8_t *p, size_t n) {
  if (t->n * 2 >= t->mask + 1) {                 /* grow */
    size_t cap = (t->mask + 1) * 2;
    struct wslot *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i <= t->mask; i++) {
      if (!t->slots[i].len) continue;
      size_t j = (size_t)t->slots[i].hash & (cap - 1);
      while (s[j].len) j = (j + 1) & (cap - 1);
      s[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = s;
    t->mask = cap - 1;
  }
  uint64_t h = pal_hash_bytes(p, n);
  size_t i = (size_t)h & t->mask;
  while (t->slots[i].len) {
    struct wslot *w = &t->slots[i];
    if (w->hash == h && w->len == n && !memcmp(t->keys.data + w->off, p, n)) { w->count++; return 0; }
    i = (i + 1) & t->mask;
  }
  if (t->keys.len + n > UINT32_MAX) return -1;
  t->slots[i] = (struct wslot){h, (uint32_t)t->keys.len, (uint32_t)n, 1};
  t->n++;
  return pal_buf_append(&t->keys, p, n);
}

static const char EOT_TEXT[] = "<|endoftext|>";

/* Counts the pieces of text[0..n); "<|endoftext|>" separates documents and is not counted. */
static int count_text(word_table *t, const uint8_t *s, size_t n) {
  size_t start = 0;
  while (start < n) {
    const uint8_t *hit = memmem(s + start, n - start, EOT_TEXT, sizeof EOT_TEXT - 1);
    size_t end = hit ? (size_t)(hit - s) : n;
    for (size_t i = start; i < end;) {
      size_t j = pal_pretok_next(s + start, end - start, i - start) + start;
      if (j - i > 1 && words_add(t, s + i, j - i)) return -1;   /* 1 byte: nothing to merge */
      i = j;
    }
    start = hit ? end + sizeof EOT_TEXT - 1 : n;
  }
  return 0;
}

static int count_file(word_table *t, const char *path, pal_error *err) {
  FILE *fp = pal_io_fopen(path, "rb");
  if (!fp) return pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 20, len = 0;
  uint8_t *buf = malloc(cap);
  int rc = -1, eof = 0;
  if (!buf) { pal_errorf(err, "%s: out of memory", path); goto done; }
  while (!eof || len) {
    if (len == cap) {                         /* no place to cut in the whole buffer: grow */
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) { pal_errorf(err, "%s: out of memory", path); goto done; }
      buf = nb;
      cap *= 2;
    }
    if (!eof) {
      size_t got = fread(buf + len, 1, cap - len, fp);
      if (got == 0 && ferror(fp)) { pal_errorf(err, "%s: read failed: %s", path, strerror(errno)); goto done; }
      if (got == 0) eof = 1;
      len += got;
    }
    size_t cut = len;
    if (!eof) {                              /* the last place where pieces must split anyway */
      cut = 0;
      for (size_t p = len - 1; p > 0 && !cut; p--)
        if (pal_pretok_safe_cut(buf, p)) cut = p;
      if (!cut) continue;
    }
    if (count_text(t, buf, cut)) { pal_errorf(err, "%s: out of memory", path); goto done; }
    memmove(buf, buf + cut, len - cut);
    len -= cut;
  }
  rc = 0;
done:
  free(buf);
  fclose(fp);
  return rc;
}

/* ---- pairs: (a, b) -> count and the words that hold it */
typedef struct pair_rec { int64_t count; int *words; uint32_t n_words, cap_words; } pair_rec;
typedef struct pair_table {
  uint64_t *keys; uint32_t *index; size_t mask, n;
  pair_rec *recs; size_t n_recs, cap_recs;
} pair_table;

static uint64_t pkey(int a, int b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

/* The record of (a, b), created when missing; NULL when out of memory. */
static pair_rec *pair_get(pair_table *t, uint64_t key) {
  if (t->n * 2 >= t->mask + 1) {
    size_t cap = (t->mask + 1) * 2;
    uint64_t *k = malloc(cap * sizeof *k);
    uint32_t *ix = malloc(cap * sizeof *ix);
    if (!k || !ix) { free(k); free(ix); return NULL; }
    memset(k, 0xff, cap * sizeof *k);
    for (size_t i = 0; i <= t->mask; i++) {
      if (t->keys[i] == UINT64_MAX) continue;
      size_t j = (size_t)pal_hash_u64(t->keys[i]) & (cap - 1);
      while (k[j] != UINT64_MAX) j = (j + 1) & (cap - 1);
      k[j] = t->keys[i];
      ix[j] = t->index[i];
    }
    free(t->keys); free(t->index);
    t->keys = k; t->index = ix; t->mask = cap - 1;
  }
  size_t i = (size_t)pal_hash_u64(key) & t->mask;
  while (t->keys[i] != UINT64_MAX) {
    if (t->keys[i] == key) return &t->recs[t->index[i]];
    i = (i + 1) & t->mask;
  }
  if (t->n_recs == t->cap_recs) {
    size_t cap = t->cap_recs ? 2 * t->cap_recs : 1024;
    pair_rec *r = realloc(t->recs, cap * sizeof *r);
    if (!r) return NULL;
    t->recs = r;
    t->cap_recs = cap;
  }
  t->keys[i] = key;
  t->index[i] = (uint32_t)t->n_recs;
  t->n++;
  pair_rec *r = &t->recs[t->n_recs++];
  memset(r, 0, sizeof *r);
  return r;
}

static int pair_add_word(pair_rec *r, int w) {
  if (r->n_words && r->words[r->n_words - 1] == w) return 0;
  if (r->n_words == r->cap_words) {
    uint32_t cap = r->cap_words ? 2 * r->cap_words : 4;
    int *p = realloc(r->words, cap * sizeof *p);
    if (!p) return -1;
    r->words = p;
    r->cap_words = cap;
  }
  r->words[r->n_words++] = w;
  return 0;
}

/* ---- a max-heap of (count, a, b): higher count first, then smaller (a, b) */
typedef struct heap_ent { int64_t count; uint64_t key; } heap_ent;
typedef struct heap { heap_ent *e; size_t n, cap; } heap;

static int ent_before(const heap_ent *x, const heap_ent *y) {
  return x->count != y->count ? x->count > y->count : x->key < y->key;
}
static int heap_push(heap *h, int64_t count, uint64_t key) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 1024;
    heap_ent *e = realloc(h->e, cap * sizeof *e);
    if (!e) return -1;
    h->e = e;
    h->cap = cap;
  }
  size_t i = h->n++;
  h->e[i] = (heap_ent){count, key};
  while (i > 0 && ent_before(&h->e[i], &h->e[(i - 1) / 2])) {
    heap_ent t = h->e[i]; h->e[i] = h->e[(i - 1) / 2]; h->e[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
  return 0;
}
static heap_ent heap_pop(heap *h) {
  heap_ent top = h->e[0];
  h->e[0] = h->e[--h->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, s = i;
    if (l < h->n && ent_before(&h->e[l], &h->e[s])) s = l;
    if (r < h->n && ent_before(&h->e[r], &h->e[s])) s = r;
    if (s == i) break;
    heap_ent t = h->e[i]; h->e[i] = h->e[s]; h->e[s] = t;
    i = s;
  }
  return top;
}

/* ---- writing vocab.json + merges.txt */
static int append_vocab_string(pal_buf *b, const uint8_t *bytes, size_t n) {
  char *s;
  size_t sl;
  if (pal_bytes_to_vocab_string(bytes, n, &s, &sl)) return -1;
  int rc = pal_json_str(b, s, sl);   /* printable code points only: " and \\ are escaped */
  free(s);
  return rc;
}

static int write_outputs(const char *dir, const pal_buf *tok_bytes, const uint32_t *off, int n_tok,
                         const int *merge_a, const int *merge_b, int n_merges, pal_error *err) {
  pal_buf v = {0}, m = {0};
  int rc = pal_buf_append(&v, "{", 1);
  for (int id = 0; id < n_tok && !rc; id++) {
    if (id) rc = pal_buf_append(&v, ", ", 2);
    if (!rc) rc = append_vocab_string(&v, (const uint8_t *)tok_bytes->data + off[id], off[id + 1] - off[id]);
    if (!rc) rc = pal_buf_printf(&v, ": %d", id);
  }
  if (!rc) rc = pal_buf_printf(&v, ", \"<|endoftext|>\": %d}\n", n_tok);
  if (!rc) rc = pal_buf_append(&m, "#version: 0.2\n", 14);
  for (int k = 0; k < n_merges && !rc; k++) {
    char *sa, *sb;
    size_t la, lb;
    int a = merge_a[k], b = merge_b[k];
    if (pal_bytes_to_vocab_string((const uint8_t *)tok_bytes->data + off[a], off[a + 1] - off[a], &sa, &la)) { rc = -1; break; }
    if (pal_bytes_to_vocab_string((const uint8_t *)tok_bytes->data + off[b], off[b + 1] - off[b], &sb, &lb)) { free(sa); rc = -1; break; }
    rc = pal_buf_printf(&m, "%s %s\n", sa, sb);
    free(sa);
    free(sb);
  }
  if (rc) { pal_buf_free(&v); pal_buf_free(&m); return pal_errorf(err, "%s: out of memory", dir); }
  size_t n = strlen(dir) + 16;
  char *pv = malloc(n), *pm = malloc(n);
  if (pv && pm) {
    snprintf(pv, n, "%s/vocab.json", dir);
    snprintf(pm, n, "%s/merges.txt", dir);
    rc = pal_write_file_atomic(pm, m.data, m.len, err);
    if (!rc) rc = pal_write_file_atomic(pv, v.data, v.len, err);
  } else rc = pal_errorf(err, "%s: out of memory", dir);
  free(pv); free(pm);
  pal_buf_free(&v);
  pal_buf_free(&m);
  return rc;
}

/* The state of one training: the word counts, each word as symbols, the pair table and the
 * heap of pair counts, the tokens made so far. */
typedef struct bpe {
  word_table wt;
  pair_table pt;
  heap hp;
  int **sym, *len, *stamp, *merge_a, *merge_b, *touched;
  int64_t *wcount;
  uint32_t *off;                  /* (vocab_size + 1) token t is tok_bytes[off[t], off[t+1]) */
  pal_buf tok_bytes;
  int n_merges, min_count;
  size_t n_touched, cap_touched, nw;
  pal_error *err;
} bpe;

static int oom(bpe *t) { return pal_errorf(t->err, "out of memory"); }

/* byte tokens in GPT-2's order: ids 0..255 as in GPT-2's own vocabulary */
static int byte_tokens(bpe *t, int *byte_id) {
  uint32_t map[256];
  int id = 0;
  pal_bytes_to_unicode(map);
  for (int pass = 0; pass < 2; pass++)          /* printable bytes first, then the others */
    for (int b = 0; b < 256; b++)
      if ((map[b] == (uint32_t)b) == (pass == 0)) {
        t->off[id] = (uint32_t)t->tok_bytes.len;
        uint8_t c = (uint8_t)b;
        if (pal_buf_append(&t->tok_bytes, &c, 1)) return oom(t);
        byte_id[b] = id++;
      }
  t->off[256] = (uint32_t)t->tok_bytes.len;
  return 0;
}

/* Words as symbol arrays, every pair counted, the heap filled. The order of words does not
 * matter: counts are sums, ties go by pair ids. */
static int words_and_pairs(bpe *t, const int *byte_id) {
  size_t nw = t->nw = t->wt.n;
  t->sym = calloc(nw + 1, sizeof *t->sym);
  t->len = calloc(nw + 1, sizeof *t->len);
  t->stamp = calloc(nw + 1, sizeof *t->stamp);
  t->wcount = calloc(nw + 1, sizeof *t->wcount);
  if (!t->sym || !t->len || !t->stamp || !t->wcount) return oom(t);
  size_t w = 0;
  for (size_t i = 0; i <= t->wt.mask; i++) {
    const struct wslot *ws = &t->wt.slots[i];
    if (!ws->len) continue;
    const uint8_t *p = (const uint8_t *)t->wt.keys.data + ws->off;
    t->len[w] = (int)ws->len;
    t->wcount[w] = (int64_t)ws->count;
    if (!(t->sym[w] = malloc((size_t)t->len[w] * sizeof **t->sym))) return oom(t);
    for (int q = 0; q < t->len[w]; q++) t->sym[w][q] = byte_id[p[q]];
    w++;
  }
  pair_table *pt = &t->pt;
  pt->mask = 1023;
  pt->keys = malloc(1024 * sizeof *pt->keys);
  pt->index = malloc(1024 * sizeof *pt->index);
  if (!pt->keys || !pt->index) return oom(t);
  memset(pt->keys, 0xff, 1024 * sizeof *pt->keys);
  for (w = 0; w < nw; w++)
    for (int q = 0; q + 1 < t->len[w]; q++) {
      pair_rec *r = pair_get(pt, pkey(t->sym[w][q], t->sym[w][q + 1]));
      if (!r || pair_add_word(r, (int)w)) return oom(t);
      r->count += t->wcount[w];
    }
  for (size_t i = 0; i <= pt->mask; i++)
    if (pt->keys[i] != UINT64_MAX && heap_push(&t->hp, pt->recs[pt->index[i]].count, pt->keys[i])) return oom(t);
  return 0;
}

/* Remembers the pair (x, y) for the heap after this merge. */
static int touch(bpe *t, int x, int y) {
  if (t->n_touched == t->cap_touched) {
    size_t cap = t->cap_touched ? 2 * t->cap_touched : 256;
    int *p = realloc(t->touched, 2 * cap * sizeof *p);
    if (!p) return -1;
    t->touched = p;
    t->cap_touched = cap;
  }
  t->touched[2 * t->n_touched] = x;
  t->touched[2 * t->n_touched + 1] = y;
  t->n_touched++;
  return 0;
}

/* Word w with (a, b) replaced by new_id: the old pairs' counts down, the new ones' up. */
static int merge_word(bpe *t, int w, int a, int b, int new_id) {
  int *s = t->sym[w], L = t->len[w];
  int64_t c = t->wcount[w];
  int found = 0;
  for (int q = 0; q + 1 < L; q++) found |= s[q] == a && s[q + 1] == b;
  if (!found) return 0;
  for (int q = 0; q + 1 < L; q++) pair_get(&t->pt, pkey(s[q], s[q + 1]))->count -= c;
  int out = 0;
  for (int q = 0; q < L; q++) {
    if (q + 1 < L && s[q] == a && s[q + 1] == b) { s[out++] = new_id; q++; }
    else s[out++] = s[q];
  }
  t->len[w] = L = out;
  for (int q = 0; q + 1 < L; q++) {
    pair_rec *pr = pair_get(&t->pt, pkey(s[q], s[q + 1]));
    if (!pr) return -1;
    pr->count += c;
    if ((s[q] == new_id || s[q + 1] == new_id) && (pair_add_word(pr, w) || touch(t, s[q], s[q + 1]))) return -1;
  }
  return 0;
}

/* Merges the pair (a, b) into the next token: its bytes, every word holding it, and the
 * new pairs into the heap once each, with their final counts (a repeat is harmless). */
static int merge(bpe *t, pair_rec *r, int a, int b) {
  int new_id = 256 + t->n_merges;
  t->merge_a[t->n_merges] = a;
  t->merge_b[t->n_merges] = b;
  t->n_merges++;
  /* copy out first: appending from the buffer itself would read freed memory on growth */
  size_t la = t->off[a + 1] - t->off[a], lb = t->off[b + 1] - t->off[b];
  char *joined = malloc(la + lb);
  if (joined) { memcpy(joined, t->tok_bytes.data + t->off[a], la); memcpy(joined + la, t->tok_bytes.data + t->off[b], lb); }
  int bad = !joined || pal_buf_append(&t->tok_bytes, joined, la + lb);
  free(joined);
  if (bad) return oom(t);
  t->off[new_id + 1] = (uint32_t)t->tok_bytes.len;
  /* detach the word list: the pair disappears from every word in it */
  int *words = r->words;
  uint32_t n_words = r->n_words;
  r->words = NULL; r->n_words = r->cap_words = 0;
  t->n_touched = 0;
  for (uint32_t k = 0; k < n_words; k++) {
    int w = words[k];
    if (t->stamp[w] == t->n_merges) continue;
    t->stamp[w] = t->n_merges;
    if (merge_word(t, w, a, b, new_id)) { free(words); return oom(t); }
  }
  free(words);
  for (size_t k = 0; k < t->n_touched; k++) {
    uint64_t key = pkey(t->touched[2 * k], t->touched[2 * k + 1]);
    pair_rec *pr = pair_get(&t->pt, key);
    if (pr->count >= t->min_count && heap_push(&t->hp, pr->count, key)) return oom(t);
  }
  return 0;
}

int pal_bpe_train(const char *const *paths, int n_paths, const pal_bpe_train_opts *opts,
                  const char *out_dir, int *n_merges_out, pal_error *err) {
  int vocab_size = opts->vocab_size;
  if (vocab_size < 257 || vocab_size > 1 << 24)
    return pal_errorf(err, "--vocab-size %d: must be between 257 (256 bytes + <|endoftext|>) and %d", vocab_size, 1 << 24);
  struct stat st;
  if (stat(out_dir, &st) == 0 && !S_ISDIR(st.st_mode)) return pal_errorf(err, "%s: exists and is not a directory", out_dir);
  bpe t = {.min_count = opts->min_count > 0 ? opts->min_count : 2, .err = err};
  t.wt.slots = calloc(1024, sizeof *t.wt.slots);
  t.wt.mask = 1023;
  int rc = -1, byte_id[256], max_merges = vocab_size - 257;
  if (!t.wt.slots) { pal_errorf(err, "%s: out of memory", out_dir); goto done; }
  for (int f = 0; f < n_paths; f++)
    if (count_file(&t.wt, paths[f], err)) goto done;
  t.off = malloc(((size_t)vocab_size + 1) * sizeof *t.off);
  t.merge_a = malloc(((size_t)max_merges + 1) * sizeof *t.merge_a);
  t.merge_b = malloc(((size_t)max_merges + 1) * sizeof *t.merge_b);
  if (!t.off || !t.merge_a || !t.merge_b) { pal_errorf(err, "%s: out of memory", out_dir); goto done; }
  if (byte_tokens(&t, byte_id) || words_and_pairs(&t, byte_id)) goto done;
  while (t.n_merges < max_merges && t.hp.n) {
    heap_ent top = heap_pop(&t.hp);
    pair_rec *r = pair_get(&t.pt, top.key);
    if (!r) { oom(&t); goto done; }
    if (r->count != top.count) {                 /* stale: its count fell since */
      if (r->count >= t.min_count && heap_push(&t.hp, r->count, top.key)) { oom(&t); goto done; }
      continue;
    }
    if (top.count < t.min_count) break;
    if (merge(&t, r, (int)(top.key >> 32), (int)(uint32_t)top.key)) goto done;
  }
  if (pal_io_mkdir(out_dir, 0777) != 0 && errno != EEXIST) { pal_errorf(err, "%s: cannot create: %s", out_dir, strerror(errno)); goto done; }
  if (write_outputs(out_dir, &t.tok_bytes, t.off, 256 + t.n_merges, t.merge_a, t.merge_b, t.n_merges, err)) goto done;
  if (n_merges_out) *n_merges_out = t.n_merges;
  rc = 0;
done:
  for (size_t w = 0; t.sym && w < t.nw; w++) free(t.sym[w]);
  for (size_t i = 0; i < t.pt.n_recs; i++) free(t.pt.recs[i].words);
  free(t.sym); free(t.len); free(t.stamp); free(t.wcount); free(t.off); free(t.merge_a); free(t.merge_b); free(t.touched);
  free(t.pt.keys); free(t.pt.index); free(t.pt.recs); free(t.hp.e);
  free(t.wt.slots); pal_buf_free(&t.wt.keys); pal_buf_free(&t.tok_bytes);
  return rc;
}
