/* bpe_ref.h: an independent, slow byte-level BPE for tests, written the way GPT-2's
 * encoder.py (and Hugging Face's GPT2Tokenizer) does it: on the byte-to-unicode strings,
 * repeatedly merge every occurrence of the pair ranked lowest in merges.txt. Shares only the
 * pre-tokenizer with the library. Header-only; include from one test file. */
#ifndef PAL_BPE_REF_H
#define PAL_BPE_REF_H
#include <cjson/cJSON.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/tokenizer.h"
#include "tokenizer/tok_internal.h"

typedef struct bpe_ref {
  struct hsearch_data merges;   /* "A B" -> rank+1 */
  cJSON *vocab;                 /* parsed vocab.json (owns the key strings) */
  struct hsearch_data ids;      /* "token" -> id+1 */
  char *merges_text;
} bpe_ref;

static int bpe_ref_load(bpe_ref *r, const char *dir) {
  memset(r, 0, sizeof *r);
  char path[512];
  snprintf(path, sizeof path, "%s/vocab.json", dir);
  char *v = check_read(path, NULL);
  snprintf(path, sizeof path, "%s/merges.txt", dir);
  r->merges_text = check_read(path, NULL);
  if (!v || !r->merges_text) { free(v); return -1; }
  r->vocab = cJSON_Parse(v);
  free(v);
  if (!r->vocab) return -1;
  hcreate_r((size_t)cJSON_GetArraySize(r->vocab) * 2 + 16, &r->ids);
  for (cJSON *it = r->vocab->child; it; it = it->next) {
    ENTRY e = {it->string, (void *)(intptr_t)(it->valueint + 1)}, *found;
    hsearch_r(e, ENTER, &found, &r->ids);
  }
  int lines = 0;
  for (char *p = r->merges_text; *p; p++) lines += *p == '\n';
  hcreate_r((size_t)lines * 2 + 16, &r->merges);
  char *save, *line = strtok_r(r->merges_text, "\n", &save);
  int rank = 0, first = 1;
  for (; line; line = strtok_r(NULL, "\n", &save), first = 0) {
    if (first && !strncmp(line, "#version", 8)) continue;
    ENTRY e = {line, (void *)(intptr_t)(rank + 1)}, *found;
    hsearch_r(e, ENTER, &found, &r->merges);        /* an existing key keeps its first rank */
    rank++;
  }
  return 0;
}

static void bpe_ref_free(bpe_ref *r) {
  hdestroy_r(&r->merges);
  hdestroy_r(&r->ids);
  cJSON_Delete(r->vocab);
  free(r->merges_text);
}

static int bpe_ref_rank(bpe_ref *r, const char *a, size_t la, const char *b, size_t lb) {
  char key[1024];
  if (la + lb + 2 > sizeof key) return 0;
  memcpy(key, a, la); key[la] = ' '; memcpy(key + la + 1, b, lb); key[la + lb + 1] = 0;
  ENTRY e = {key, NULL}, *found;
  return hsearch_r(e, FIND, &found, &r->merges) ? (int)(intptr_t)found->data : 0;
}

/* Appends the ids of one piece (bytes) to out. */
static int bpe_ref_piece(bpe_ref *r, const uint8_t *p, size_t n, pal_ids *out) {
  char *s;
  size_t sl;
  if (pal_bytes_to_vocab_string(p, n, &s, &sl)) return -1;
  /* symbols: [start, len) in s, one character each to begin with */
  size_t cap = sl + 1, m = 0, *st = malloc(cap * sizeof *st), *ln = malloc(cap * sizeof *ln);
  for (size_t i = 0; i < sl;) {
    size_t l = ((uint8_t)s[i] < 0x80) ? 1 : ((uint8_t)s[i] < 0xE0 ? 2 : 3);
    st[m] = i; ln[m] = l; m++; i += l;
  }
  for (;;) {
    int best = 0;
    for (size_t i = 0; i + 1 < m; i++) {
      int rk = bpe_ref_rank(r, s + st[i], ln[i], s + st[i + 1], ln[i + 1]);
      if (rk && (!best || rk < best)) best = rk;
    }
    if (!best) break;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {     /* merge every occurrence, left to right */
      if (i + 1 < m && bpe_ref_rank(r, s + st[i], ln[i], s + st[i + 1], ln[i + 1]) == best) {
        st[k] = st[i]; ln[k] = ln[i] + ln[i + 1]; k++; i++;
      } else { st[k] = st[i]; ln[k] = ln[i]; k++; }
    }
    m = k;
  }
  int rc = 0;
  for (size_t i = 0; i < m && !rc; i++) {
    char tokstr[1024];
    size_t l = ln[i] < sizeof tokstr - 1 ? ln[i] : sizeof tokstr - 1;
    memcpy(tokstr, s + st[i], l);
    tokstr[l] = 0;
    ENTRY e = {tokstr, NULL}, *found;
    rc = hsearch_r(e, FIND, &found, &r->ids) ? pal_ids_push(out, (int)(intptr_t)found->data - 1) : -1;
  }
  free(st); free(ln); free(s);
  return rc;
}

static int bpe_ref_encode(bpe_ref *r, const char *text, size_t n, pal_ids *out) {
  const uint8_t *s = (const uint8_t *)text;
  for (size_t i = 0; i < n;) {
    size_t j = pal_pretok_next(s, n, i);
    if (bpe_ref_piece(r, s + i, j - i, out)) return -1;
    i = j;
  }
  return 0;
}
#endif
