/* stream.c: encoding a file of any size in bounded memory: read a batch, cut it into
 * chunks where pre-tokenization allows (so the ids equal those of the whole text), encode
 * the chunks in parallel with OpenMP, hand the ids on in order. Never reorders ids. */
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer/tok_internal.h"

/* The last safe cut p with lo < p <= hi, or 0. */
static size_t cut_back(const uint8_t *s, size_t lo, size_t hi) {
  for (size_t p = hi; p > lo; p--)
    if (pal_pretok_safe_cut(s, p)) return p;
  return 0;
}
/* The first safe cut p with 0 < lo <= p < len, or 0. */
static size_t cut_fwd(const uint8_t *s, size_t lo, size_t len) {
  for (size_t p = lo; p < len; p++)
    if (pal_pretok_safe_cut(s, p)) return p;
  return 0;
}

typedef struct chunk { size_t start, end; } chunk;

int pal_tokenizer_encode_stream(pal_tokenizer *tok, FILE *fp, const char *name, int allow_special,
                                size_t chunk_bytes, pal_token_sink sink, void *ctx,
                                size_t *bytes_read, pal_error *err) {
  if (!chunk_bytes) chunk_bytes = (size_t)256 << 10;  /* 32 chunks a batch: balanced threads */
  int nt = omp_get_max_threads();
  if (nt < 1) nt = 1;
  size_t batch = chunk_bytes * (size_t)nt * 16, cap = 0, len = 0, total = 0;
  uint8_t *buf = NULL;
  int eof = 0, rc = -1, max_chunks = 0;
  chunk *chunks = NULL;
  pal_ids *ids = NULL;
  int *chunk_rc = NULL;
  pal_error *chunk_err = NULL;
  pal_bpe_cache **caches = calloc((size_t)nt, sizeof *caches);
  if (!caches) return pal_errorf(err, "%s: out of memory", name);
  for (int t = 0; t < nt; t++) caches[t] = pal_tok_cache_take(tok);
  for (;;) {
    if (cap < batch + 1) {
      uint8_t *nb = realloc(buf, batch + 1);
      if (!nb) { pal_errorf(err, "%s: out of memory", name); goto done; }
      buf = nb;
      cap = batch + 1;
    }
    while (!eof && len < batch) {
      size_t got = fread(buf + len, 1, batch - len, fp);
      len += got;
      total += got;
      if (got == 0) {
        if (ferror(fp)) { pal_errorf(err, "%s: read failed: %s", name, strerror(errno)); goto done; }
        eof = 1;
      }
    }
    if (len == 0) break;
    /* cut the batch into chunks; without EOF the tail after the last cut waits */
    int nc = 0;
    size_t start = 0;
    while (start < len) {
      size_t end;
      if (eof && len - start <= chunk_bytes) end = len;
      else {
        size_t hi = start + chunk_bytes < len - 1 ? start + chunk_bytes : len - 1;
        end = cut_back(buf, start, hi);
        if (!end) end = cut_fwd(buf, hi > start + 1 ? hi : start + 1, len);
        if (!end) {
          if (!eof) break;
          end = len;
        }
      }
      if (nc == max_chunks) {
        int m = max_chunks ? 2 * max_chunks : 2 * nt;
        chunk *c2 = realloc(chunks, (size_t)m * sizeof *c2);
        pal_ids *i2 = c2 ? realloc(ids, (size_t)m * sizeof *i2) : NULL;
        if (c2) chunks = c2;
        if (i2) { ids = i2; memset(ids + max_chunks, 0, (size_t)(m - max_chunks) * sizeof *ids); }
        int *r2 = i2 ? realloc(chunk_rc, (size_t)m * sizeof *r2) : NULL;
        if (r2) chunk_rc = r2;
        pal_error *e2 = r2 ? realloc(chunk_err, (size_t)m * sizeof *e2) : NULL;
        if (!e2) { pal_errorf(err, "%s: out of memory", name); goto done; }
        chunk_err = e2;
        max_chunks = m;
      }
      chunks[nc++] = (chunk){start, end};
      start = end;
      if (!eof && len - start < chunk_bytes) break;
    }
    if (nc == 0) {          /* no place to cut in the whole batch: read more before encoding */
      batch *= 2;
      continue;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < nc; c++) {
      int t = omp_get_thread_num();
      /* Encode into a copy on this thread's stack: neighbouring ids[] entries share cache
       * lines, and pushing through ids[c] directly made the threads fight over them. */
      pal_ids local = ids[c];
      local.len = 0;
      chunk_rc[c] = pal_tokenizer_encode_with(tok, t < nt ? caches[t] : NULL,
                                              (const char *)buf + chunks[c].start,
                                              chunks[c].end - chunks[c].start, allow_special,
                                              &local, &chunk_err[c]);
      ids[c] = local;
    }
    for (int c = 0; c < nc; c++) {
      if (chunk_rc[c]) { pal_errorf(err, "%s: %s", name, chunk_err[c].msg); goto done; }
      if (sink(ctx, ids[c].data, ids[c].len, err)) goto done;
    }
    memmove(buf, buf + start, len - start);
    len -= start;
    batch = chunk_bytes * (size_t)nt * 16;
    if (batch < len + chunk_bytes) batch = len + chunk_bytes;
    if (eof && len == 0) break;
  }
  rc = 0;
done:
  if (bytes_read) *bytes_read = total;
  for (int c = 0; c < max_chunks; c++) pal_ids_free(&ids[c]);
  for (int t = 0; t < nt; t++) pal_tok_cache_give(tok, caches[t]);
  free(caches); free(chunks); free(ids); free(chunk_rc); free(chunk_err); free(buf);
  return rc;
}
