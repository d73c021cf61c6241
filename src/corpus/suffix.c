/* suffix.c: the sparse suffix array of palimpsest/suffix.h: blocks of PAL_SUFFIX_STRIDE ids
 * ranked by a radix sort, the block string sorted by SA-IS (Nong, Zhang and Chan 2009),
 * saved and mapped back, and the exact span search. Never prints; ids only. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/suffix.h"

#define K PAL_SUFFIX_STRIDE
#define DIGITS (PAL_SUFFIX_MAX_ID + 2)   /* an id + 1, or 0 past a text's end */

uint64_t pal_suffix_data_hash(const pal_suffix_text *texts, int n_texts) {
  uint64_t h = pal_mix64((uint64_t)n_texts);
  for (int f = 0; f < n_texts; f++) {
    const int *ids = texts[f].ids;
    size_t n = texts[f].n, i = 0;
    uint64_t lane[4] = {h ^ n, h + 1, h + 2, h + 3};   /* 4 chains: the multiplies overlap */
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 4; l++)
        lane[l] = pal_mix64(lane[l] ^ ((uint64_t)(uint32_t)ids[i + 2 * l] | (uint64_t)(uint32_t)ids[i + 2 * l + 1] << 32));
    for (; i < n; i++) lane[0] = pal_mix64(lane[0] ^ (uint32_t)ids[i]);
    h = pal_mix64(lane[0] ^ pal_mix64(lane[1] ^ pal_mix64(lane[2] ^ pal_mix64(lane[3]))));
  }
  return h;
}

/* ---- SA-IS over an integer string T[0..n) whose last symbol is the unique smallest (0);
 * alphabet [0, alpha). SA (n). Types: 1 = S, 0 = L. */
#define IS_LMS(t, i) ((i) > 0 && (t)[i] && !(t)[(i) - 1])

static void buckets(const int32_t *T, int32_t n, int32_t alpha, int32_t *bkt, int end) {
  memset(bkt, 0, sizeof *bkt * (size_t)alpha);
  for (int32_t i = 0; i < n; i++) bkt[T[i]]++;
  int32_t sum = 0;
  for (int32_t c = 0; c < alpha; c++) {
    sum += bkt[c];
    bkt[c] = end ? sum : sum - bkt[c];
  }
}

static void induce(const int32_t *T, int32_t *SA, int32_t n, int32_t alpha, const uint8_t *t, int32_t *bkt) {
  buckets(T, n, alpha, bkt, 0);
  for (int32_t i = 0; i < n; i++) {
    int32_t j = SA[i] - 1;
    if (SA[i] > 0 && !t[j]) SA[bkt[T[j]]++] = j;
  }
  buckets(T, n, alpha, bkt, 1);
  for (int32_t i = n - 1; i >= 0; i--) {
    int32_t j = SA[i] - 1;
    if (SA[i] > 0 && t[j]) SA[--bkt[T[j]]] = j;
  }
}

/* Names the sorted LMS substrings SA[0..n1): equal substrings get equal names; the names go
 * to SA[n1 + pos/2]. Returns the number of names. */
static int32_t name_lms(const int32_t *T, int32_t *SA, int32_t n, int32_t n1, const uint8_t *t) {
  for (int32_t i = n1; i < n; i++) SA[i] = -1;
  int32_t name = 0, prev = -1;
  for (int32_t i = 0; i < n1; i++) {
    int32_t pos = SA[i], diff = 0;
    for (int32_t d = 0; d < n; d++) {
      if (prev == -1 || T[pos + d] != T[prev + d] || t[pos + d] != t[prev + d]) { diff = 1; break; }
      if (d > 0 && (IS_LMS(t, pos + d) || IS_LMS(t, prev + d))) break;
    }
    if (diff) { name++; prev = pos; }
    SA[n1 + pos / 2] = name - 1;
  }
  return name;
}

static int sais(const int32_t *T, int32_t *SA, int32_t n, int32_t alpha) {
  uint8_t *t = malloc((size_t)n);
  int32_t *bkt = malloc(sizeof *bkt * (size_t)alpha);
  if (!t || !bkt) { free(t); free(bkt); return -1; }
  t[n - 1] = 1;
  for (int32_t i = n - 2; i >= 0; i--) t[i] = T[i] < T[i + 1] || (T[i] == T[i + 1] && t[i + 1]);
  buckets(T, n, alpha, bkt, 1);
  for (int32_t i = 0; i < n; i++) SA[i] = -1;
  for (int32_t i = 1; i < n; i++)
    if (IS_LMS(t, i)) SA[--bkt[T[i]]] = i;
  induce(T, SA, n, alpha, t, bkt);
  int32_t n1 = 0;
  for (int32_t i = 0; i < n; i++)
    if (IS_LMS(t, SA[i])) SA[n1++] = SA[i];
  int32_t names = name_lms(T, SA, n, n1, t);
  for (int32_t i = n - 1, j = n - 1; i >= n1; i--)
    if (SA[i] >= 0) SA[j--] = SA[i];
  int32_t *s1 = SA + n - n1;   /* the reduced string: names of the LMS substrings in text order */
  if (names < n1) {
    if (sais(s1, SA, n1, names)) { free(t); free(bkt); return -1; }
  } else {
    for (int32_t i = 0; i < n1; i++) SA[s1[i]] = i;
  }
  buckets(T, n, alpha, bkt, 1);
  for (int32_t i = 1, j = 0; i < n; i++)
    if (IS_LMS(t, i)) s1[j++] = i;
  for (int32_t i = 0; i < n1; i++) SA[i] = s1[SA[i]];
  for (int32_t i = n1; i < n; i++) SA[i] = -1;
  for (int32_t i = n1 - 1; i >= 0; i--) {
    int32_t j = SA[i];
    SA[i] = -1;
    SA[--bkt[T[j]]] = j;
  }
  induce(T, SA, n, alpha, t, bkt);
  free(t);
  free(bkt);
  return 0;
}

/* ---- Building */
/* One LSD pass over 17-bit digit d (0 lowest) of the packed block keys: idx sorted stably
 * into out. dig (n): scratch for the digits in idx's order, so each key is read once. */
static void radix_pass(const uint64_t *key, const uint32_t *idx, uint32_t *out, uint32_t *dig, size_t n, int d,
                       uint32_t *count) {
  memset(count, 0, sizeof *count * (DIGITS + 1));
  for (size_t i = 0; i < n; i++) {
    dig[i] = (uint32_t)(key[idx[i]] >> (17 * d)) & 0x1ffff;
    count[dig[i] + 1]++;
  }
  for (size_t c = 1; c <= DIGITS; c++) count[c] += count[c - 1];
  for (size_t i = 0; i < n; i++) out[count[dig[i]]++] = idx[i];
}

/* The block string T (n_meta): each text's blocks as ranks >= n_texts, then its separator
 * (unique, below every block; the last text's is 0, the sentinel SA-IS needs). A block's key
 * packs its ids + 1 (0 past the text's end), 17 bits each, the first highest. */
static int block_string(pal_suffix *sx, int32_t *T, size_t n_blocks, int32_t *alpha, pal_error *err) {
  int F = sx->n_texts;
  size_t nb1 = n_blocks ? n_blocks : 1;
  uint64_t *key = malloc(sizeof *key * nb1);
  uint32_t *idx = malloc(sizeof *idx * nb1), *tmp = malloc(sizeof *tmp * nb1), *dig = malloc(sizeof *dig * nb1);
  uint32_t *count = malloc(sizeof *count * (DIGITS + 1));
  if (!key || !idx || !tmp || !dig || !count) {
    free(key); free(idx); free(tmp); free(dig); free(count);
    return pal_errorf(err, "out of memory building the index (%zu blocks)", n_blocks);
  }
  size_t c = 0;
  for (int f = 0; f < F; f++) {
    const pal_suffix_text *x = &sx->texts[f];
    for (size_t pos = 0; pos < x->n; pos += K, c++) {
      uint64_t k = 0;
      for (int d = 0; d < K; d++) k = k << 17 | (pos + (size_t)d < x->n ? (uint64_t)x->ids[pos + (size_t)d] + 1 : 0);
      key[c] = k;
      idx[c] = (uint32_t)c;
    }
  }
  for (int d = 0; d < K; d++) {
    radix_pass(key, idx, tmp, dig, n_blocks, d, count);
    uint32_t *sw = idx; idx = tmp; tmp = sw;
  }
  int32_t rank = F - 1;
  uint64_t prev = 0;
  for (size_t i = 0; i < n_blocks; i++) {
    uint64_t k = key[idx[i]];
    if (i == 0 || k != prev) rank++;
    prev = k;
    tmp[idx[i]] = (uint32_t)rank;
  }
  *alpha = rank + 1;
  c = 0;
  for (int f = 0; f < F; f++) {
    size_t nb = (sx->texts[f].n + K - 1) / K;
    for (size_t b = 0; b < nb; b++) T[sx->block_start[f] + b] = (int32_t)tmp[c++];
    T[sx->block_start[f] + nb] = F - 1 - f;
  }
  free(key); free(idx); free(tmp); free(dig); free(count);
  return 0;
}

int pal_suffix_build(pal_suffix *sx, const pal_suffix_text *texts, int n_texts, pal_error *err) {
  memset(sx, 0, sizeof *sx);
  if (n_texts < 1) return pal_errorf(err, "no texts to index");
  sx->n_texts = n_texts;
  sx->texts = malloc(sizeof *sx->texts * (size_t)n_texts);
  sx->block_start = malloc(sizeof *sx->block_start * (size_t)(n_texts + 1));
  if (!sx->texts || !sx->block_start) { pal_suffix_free(sx); return pal_errorf(err, "out of memory"); }
  memcpy(sx->texts, texts, sizeof *texts * (size_t)n_texts);
  uint32_t max_id = 0;
  size_t n_blocks = 0;
  sx->block_start[0] = 0;
  for (int f = 0; f < n_texts; f++) {
    for (size_t i = 0; i < texts[f].n; i++) {
      if (texts[f].ids[i] < 0 || texts[f].ids[i] > PAL_SUFFIX_MAX_ID) {
        pal_suffix_free(sx);
        return pal_errorf(err, "text %d: id %d at %zu is out of the index's range", f, texts[f].ids[i], i);
      }
      if ((uint32_t)texts[f].ids[i] > max_id) max_id = (uint32_t)texts[f].ids[i];
    }
    size_t nb = (texts[f].n + K - 1) / K;
    n_blocks += nb;
    sx->block_start[f + 1] = sx->block_start[f] + nb + 1;
  }
  uint64_t n_meta = sx->block_start[n_texts];
  if (n_meta >= INT32_MAX) { pal_suffix_free(sx); return pal_errorf(err, "%zu blocks: more than the index holds (2^31)", n_blocks); }
  sx->data_hash = pal_suffix_data_hash(texts, n_texts);
  sx->n_ids = max_id + 1;
  int32_t *T = malloc(sizeof *T * n_meta), *SA = NULL, alpha = 0;
  if (!T) { pal_suffix_free(sx); return pal_errorf(err, "out of memory building the index"); }
  if (block_string(sx, T, n_blocks, &alpha, err)) { free(T); pal_suffix_free(sx); return -1; }
  if (!(SA = malloc(sizeof *SA * n_meta)) || sais(T, SA, (int32_t)n_meta, alpha)) {
    free(T); free(SA); pal_suffix_free(sx);
    return pal_errorf(err, "out of memory sorting the index");
  }
  uint32_t *mem = malloc(sizeof *mem * (sx->n_ids + 1 + n_blocks));
  if (!mem) { free(T); free(SA); pal_suffix_free(sx); return pal_errorf(err, "out of memory building the index"); }
  uint32_t *bucket = mem, *sa = mem + sx->n_ids + 1;
  size_t m = 0;
  for (uint64_t i = 0; i < n_meta; i++)
    if (T[SA[i]] >= n_texts) sa[m++] = (uint32_t)SA[i];
  free(T);
  free(SA);
  /* Blocks sort by their first id first: the bucket of id is the count of smaller first ids. */
  memset(bucket, 0, sizeof *bucket * (sx->n_ids + 1));
  for (int f = 0; f < n_texts; f++)
    for (size_t pos = 0; pos < texts[f].n; pos += K) bucket[texts[f].ids[pos] + 1]++;
  for (uint32_t c = 1; c <= sx->n_ids; c++) bucket[c] += bucket[c - 1];
  sx->bucket = bucket;
  sx->sa = sa;
  sx->n_sa = m;
  sx->owned = mem;
  return 0;
}

void pal_suffix_free(pal_suffix *sx) {
  if (!sx) return;
  if (sx->owned_len) munmap(sx->owned, sx->owned_len);
  else free(sx->owned);
  free(sx->texts);
  free(sx->block_start);
  memset(sx, 0, sizeof *sx);
}

/* ---- The file: "PALSUFX1", u32 version 1, stride, n_texts, n_ids; u64 data hash, n_sa;
 * u64 text lengths (n_texts); u64 block starts (n_texts + 1); u32 buckets (n_ids + 1),
 * padded to 8 bytes; u32 SA (n_sa). Little-endian (the machine's; x86 and arm64). */
#define MAGIC "PALSUFX1"
static size_t header_bytes(int n_texts, uint32_t n_ids) {
  size_t h = 8 + 16 + 16 + 8 * (size_t)n_texts + 8 * (size_t)(n_texts + 1) + 4 * ((size_t)n_ids + 1);
  return (h + 7) & ~(size_t)7;
}

uint64_t pal_suffix_file_bytes(const pal_suffix *sx) {
  return header_bytes(sx->n_texts, sx->n_ids) + 4 * sx->n_sa;
}

int pal_suffix_save(const pal_suffix *sx, const char *path, pal_error *err) {
  pal_atomic_file af;
  if (pal_atomic_open(&af, path, err)) return -1;
  uint32_t head[4] = {1, K, (uint32_t)sx->n_texts, sx->n_ids};
  uint64_t head2[2] = {sx->data_hash, sx->n_sa};
  int e = fwrite(MAGIC, 8, 1, af.fp) != 1 || fwrite(head, sizeof head, 1, af.fp) != 1 ||
          fwrite(head2, sizeof head2, 1, af.fp) != 1;
  for (int f = 0; f < sx->n_texts && !e; f++) e = fwrite(&sx->texts[f].n, 8, 1, af.fp) != 1;
  e = e || fwrite(sx->block_start, 8, (size_t)sx->n_texts + 1, af.fp) != (size_t)sx->n_texts + 1;
  e = e || fwrite(sx->bucket, 4, (size_t)sx->n_ids + 1, af.fp) != (size_t)sx->n_ids + 1;
  size_t used = 8 + 16 + 16 + 8 * (size_t)sx->n_texts + 8 * (size_t)(sx->n_texts + 1) + 4 * ((size_t)sx->n_ids + 1);
  static const char zeros[8];
  e = e || fwrite(zeros, 1, header_bytes(sx->n_texts, sx->n_ids) - used, af.fp) != header_bytes(sx->n_texts, sx->n_ids) - used;
  e = e || (sx->n_sa && fwrite(sx->sa, 4, sx->n_sa, af.fp) != sx->n_sa);
  if (e) { pal_atomic_abort(&af); return pal_errorf(err, "%s: cannot write the index", path); }
  return pal_atomic_commit(&af, err);
}

int pal_suffix_load(pal_suffix *sx, const char *path, const pal_suffix_text *texts, int n_texts, pal_error *err) {
  memset(sx, 0, sizeof *sx);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 1;
  struct stat st;
  if (fstat(fd, &st) || st.st_size < 40) { close(fd); return pal_errorf(err, "%s: not an index (too short)", path); }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return pal_errorf(err, "%s: cannot map the index", path);
  const unsigned char *p = map;
  uint32_t head[4];
  uint64_t head2[2];
  memcpy(head, p + 8, sizeof head);
  memcpy(head2, p + 24, sizeof head2);
  int rc = 0;
  if (memcmp(p, MAGIC, 8) || head[0] != 1) rc = pal_errorf(err, "%s: not a palimpsest index (or another version)", path);
  else if (head[1] != K || head[2] != (uint32_t)n_texts || head2[0] != pal_suffix_data_hash(texts, n_texts)) rc = 1;
  else if ((uint64_t)st.st_size != header_bytes(n_texts, head[3]) + 4 * head2[1])
    rc = pal_errorf(err, "%s: the index is damaged (%lld bytes, not the %llu its header says)", path,
                    (long long)st.st_size, (unsigned long long)(header_bytes(n_texts, head[3]) + 4 * head2[1]));
  if (rc) { munmap(map, (size_t)st.st_size); return rc; }
  sx->n_texts = n_texts;
  sx->texts = malloc(sizeof *sx->texts * (size_t)n_texts);
  sx->block_start = malloc(sizeof *sx->block_start * (size_t)(n_texts + 1));
  sx->owned = map;
  sx->owned_len = (size_t)st.st_size;
  if (!sx->texts || !sx->block_start) { pal_suffix_free(sx); return pal_errorf(err, "out of memory"); }
  memcpy(sx->texts, texts, sizeof *texts * (size_t)n_texts);
  size_t off = 40;
  for (int f = 0; f < n_texts; f++, off += 8) {
    uint64_t n;
    memcpy(&n, p + off, 8);
    if (n != texts[f].n) { pal_suffix_free(sx); return 1; }
  }
  memcpy(sx->block_start, p + off, 8 * (size_t)(n_texts + 1));
  off += 8 * (size_t)(n_texts + 1);
  sx->n_ids = head[3];
  sx->bucket = (const uint32_t *)(p + off);
  sx->sa = (const uint32_t *)(p + header_bytes(n_texts, head[3]));
  sx->n_sa = head2[1];
  sx->data_hash = head2[0];
  return 0;
}

/* ---- Searching */
void pal_suffix_spans_free(pal_suffix_spans *s) {
  free(s->items);
  memset(s, 0, sizeof *s);
}

/* The text and id position of SA entry e. */
static inline void locate(const pal_suffix *sx, uint64_t e, int *f, size_t *pos) {
  uint64_t b = sx->sa[e];
  int lo = 0, hi = sx->n_texts;   /* the last text whose block_start <= b */
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (sx->block_start[mid] <= b) lo = mid; else hi = mid;
  }
  *f = lo;
  *pos = (size_t)(b - sx->block_start[lo]) * K;
}

/* For every search a in act[0..n_act): the first entry in [lo[a], hi[a]) whose suffix is
 * >= q + act[a] (upper: >) on m ids, into lo[a]. The searches run in lockstep rounds, each in
 * three sweeps (the middle entry, its text position, the compare) with prefetches between,
 * so that the cache misses of a thousand searches overlap instead of queueing. */
typedef struct { uint64_t lo, hi, mid; const int *ids; size_t avail; } search;

static void bounds(const pal_suffix *sx, const int *q, search *st, uint32_t *act, size_t n_act,
                   size_t m, int upper) {
  while (n_act) {
    for (size_t a = 0; a < n_act; a++) {
      search *s = &st[act[a]];
      s->mid = s->lo + (s->hi - s->lo) / 2;
      __builtin_prefetch(&sx->sa[s->mid]);
    }
    for (size_t a = 0; a < n_act; a++) {
      search *s = &st[act[a]];
      int f;
      size_t pos;
      locate(sx, s->mid, &f, &pos);
      s->ids = sx->texts[f].ids + pos;
      s->avail = sx->texts[f].n - pos;
      __builtin_prefetch(s->ids);
    }
    size_t kept = 0;
    for (size_t a = 0; a < n_act; a++) {
      search *s = &st[act[a]];
      const int *qa = q + act[a];
      int c = 0;
      for (size_t i = 0; i < m && !c; i++)
        c = i >= s->avail ? -1 : s->ids[i] != qa[i] ? (s->ids[i] < qa[i] ? -1 : 1) : 0;
      if (c < 0 || (upper && c == 0)) s->lo = s->mid + 1; else s->hi = s->mid;
      if (s->lo < s->hi) act[kept++] = act[a];
    }
    n_act = kept;
  }
}

typedef struct { size_t end; int text; size_t pos; } best_at;

/* Every hit in SA entries [lo, hi) of q[j..j+m): extended right as far as it matches and
 * left by up to K-1 ids; the furthest end for each start goes into best. */
static void extend_hits(const pal_suffix *sx, const int *q, size_t n, size_t j, size_t m, size_t min_len,
                        uint64_t lo, uint64_t hi, best_at *best) {
  for (uint64_t e = lo; e < hi; e++) {
    int f;
    size_t pos;
    locate(sx, e, &f, &pos);
    const pal_suffix_text *x = &sx->texts[f];
    size_t r = m;
    while (j + r < n && pos + r < x->n && x->ids[pos + r] == q[j + r]) r++;
    size_t l = 0;
    while (l < K - 1 && l < j && l < pos && x->ids[pos - l - 1] == q[j - l - 1]) l++;
    size_t s = j - l, end = j + r;
    if (end - s >= min_len && end > best[s].end) best[s] = (best_at){end, f, pos - l};
  }
}

/* The SA range of q[j..j+m) for every j, into range[2j], range[2j+1]. */
static int ranges(const pal_suffix *sx, const int *q, size_t n_j, size_t m, uint64_t *range) {
  search *st = malloc(sizeof *st * n_j);
  uint32_t *act = malloc(sizeof *act * n_j);
  if (!st || !act) { free(st); free(act); return -1; }
  size_t n_act = 0;
  for (size_t j = 0; j < n_j; j++) {
    int id = q[j];
    st[j].lo = st[j].hi = 0;
    if (id >= 0 && (uint32_t)id < sx->n_ids) { st[j].lo = sx->bucket[id]; st[j].hi = sx->bucket[id + 1]; }
    range[2 * j + 1] = st[j].hi;
    if (st[j].lo < st[j].hi) act[n_act++] = (uint32_t)j;
  }
  bounds(sx, q, st, act, n_act, m, 0);
  n_act = 0;
  for (size_t j = 0; j < n_j; j++) {
    range[2 * j] = st[j].lo;
    st[j].hi = range[2 * j + 1];
    if (st[j].lo < st[j].hi) act[n_act++] = (uint32_t)j;
  }
  bounds(sx, q, st, act, n_act, m, 1);
  for (size_t j = 0; j < n_j; j++) range[2 * j + 1] = st[j].lo;
  free(st); free(act);
  return 0;
}

int pal_suffix_find(const pal_suffix *sx, const int *q, size_t n, size_t min_len, pal_suffix_spans *out,
                    pal_error *err) {
  out->n = 0;
  if (min_len < K) return pal_errorf(err, "a minimum span of %zu tokens: the index needs at least %d", min_len, K);
  if (n < min_len) return 0;
  best_at *best = calloc(n, sizeof *best);
  if (!best) return pal_errorf(err, "out of memory");
  size_t m = min_len - K + 1;   /* what follows the indexed position of any span >= min_len */
  size_t n_j = n - m + 1;
  uint64_t *range = malloc(sizeof *range * 2 * n_j);
  if (!range || ranges(sx, q, n_j, m, range)) { free(best); free(range); return pal_errorf(err, "out of memory"); }
  for (size_t j = 0; j < n_j; j++) extend_hits(sx, q, n, j, m, min_len, range[2 * j], range[2 * j + 1], best);
  free(range);
  size_t reach = 0;   /* the furthest end of a span starting before i */
  for (size_t i = 0; i < n; i++) {
    if (best[i].end > reach && best[i].end >= i + min_len) {
      if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 16;
        pal_suffix_span *items = realloc(out->items, cap * sizeof *items);
        if (!items) { free(best); return pal_errorf(err, "out of memory"); }
        out->items = items;
        out->cap = cap;
      }
      out->items[out->n++] = (pal_suffix_span){i, best[i].end, best[i].text, best[i].pos};
    }
    if (best[i].end > reach) reach = best[i].end;
  }
  free(best);
  return 0;
}
