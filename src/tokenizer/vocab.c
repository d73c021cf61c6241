/* vocab.c: loading a byte-level BPE (vocab.json + merges.txt, or encoder.json + vocab.bpe)
 * into byte strings, ranks and lookup tables. A parser of outside files: bad input fails
 * with "FILE: what is wrong", never a crash. Knows nothing of encoding text. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tokenizer/tok_internal.h"

void pal_bytes_to_unicode(uint32_t byte_to_cp[256]) {
  /* GPT-2's map: printable Latin-1 bytes stand for themselves, the rest go to 256+k. */
  int k = 0;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    byte_to_cp[b] = printable ? (uint32_t)b : (uint32_t)(256 + k++);
  }
}

static size_t put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  out[0] = (char)(0xE0 | (cp >> 12));
  out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[2] = (char)(0x80 | (cp & 0x3F));
  return 3;
}

int pal_bytes_to_vocab_string(const uint8_t *bytes, size_t n, char **out, size_t *out_len) {
  uint32_t map[256];
  pal_bytes_to_unicode(map);
  char *s = malloc(2 * n + 1);
  if (!s) return -1;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += put_utf8(s + k, map[bytes[i]]);
  s[k] = 0;
  *out = s;
  *out_len = k;
  return 0;
}

/* cp -> byte for the characters of the byte map (-1 elsewhere). */
static void unicode_to_bytes(int16_t cp_to_byte[324]) {
  uint32_t map[256];
  pal_bytes_to_unicode(map);
  for (int i = 0; i < 324; i++) cp_to_byte[i] = -1;
  for (int b = 0; b < 256; b++) cp_to_byte[map[b]] = (int16_t)b;
}

/* Maps a vocab string (n bytes of UTF-8) back to bytes; -1 when a character is outside the
 * byte map. out has room for n bytes. */
static int vocab_string_to_bytes(const int16_t cp_to_byte[324], const char *s, size_t n,
                                 uint8_t *out, size_t *out_len) {
  size_t k = 0;
  const uint8_t *p = (const uint8_t *)s, *end = p + n;
  while (p < end) {
    uint32_t cp;
    if (p[0] < 0x80) { cp = p[0]; p += 1; }
    else if ((p[0] & 0xE0) == 0xC0 && p + 1 < end && (p[1] & 0xC0) == 0x80) {
      cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
      p += 2;
    } else return -1;
    if (cp >= 324 || cp_to_byte[cp] < 0) return -1;
    out[k++] = (uint8_t)cp_to_byte[cp];
  }
  *out_len = k;
  return 0;
}

static size_t table_size(size_t n) {
  size_t s = 64;
  while (s < 2 * n) s *= 2;
  return s;
}

int pal_tok_lookup(const pal_tokenizer *tok, const uint8_t *p, size_t n) {
  uint64_t h = pal_hash_bytes(p, n);
  size_t i = (size_t)h & tok->vocab_mask;
  for (;;) {
    uint32_t v = tok->vocab_slot[i];
    if (!v) return -1;
    int id = (int)v - 1;
    if (tok->vocab_hash[i] == (uint32_t)h) {
      uint32_t off = tok->offset[id], len = tok->offset[id + 1] - off;
      if (len == n && !memcmp(tok->bytes + off, p, n)) return id;
    }
    i = (i + 1) & tok->vocab_mask;
  }
}

static void pair_insert(pal_tokenizer *tok, uint64_t key, uint32_t merged) {
  size_t i = (size_t)pal_hash_u64(key) & tok->pair_mask;
  while (tok->pair_key[i] != UINT64_MAX) {
    if (tok->pair_key[i] == key) return;
    i = (i + 1) & tok->pair_mask;
  }
  tok->pair_key[i] = key;
  tok->pair_val[i] = merged;
}

int pal_tok_build_tables(pal_tokenizer *tok, pal_error *err) {
  size_t n = (size_t)tok->n_vocab;
  size_t vs = table_size(n);
  tok->vocab_slot = calloc(vs, sizeof *tok->vocab_slot);
  tok->vocab_hash = calloc(vs, sizeof *tok->vocab_hash);
  if (!tok->vocab_slot || !tok->vocab_hash) return pal_errorf(err, "tokenizer: out of memory");
  tok->vocab_mask = vs - 1;
  for (int b = 0; b < 256; b++) tok->byte_id[b] = -1;
  for (size_t id = 0; id < n; id++) {
    if ((int)id == tok->eot) continue;
    const uint8_t *p = (const uint8_t *)tok->bytes + tok->offset[id];
    size_t len = tok->offset[id + 1] - tok->offset[id];
    if (len == 0) return pal_errorf(err, "token %zu is empty", id);
    if (pal_tok_lookup(tok, p, len) >= 0) return pal_errorf(err, "token %zu is a duplicate of another token", id);
    uint64_t h = pal_hash_bytes(p, len);
    size_t i = (size_t)h & tok->vocab_mask;
    while (tok->vocab_slot[i]) i = (i + 1) & tok->vocab_mask;
    tok->vocab_slot[i] = (uint32_t)id + 1;
    tok->vocab_hash[i] = (uint32_t)h;
    if (len == 1) tok->byte_id[p[0]] = (int)id;
  }
  for (int b = 0; b < 256; b++)
    if (tok->byte_id[b] < 0) return pal_errorf(err, "byte 0x%02x has no token (not a byte-level BPE)", b);
  size_t n_pairs = 0;
  for (size_t id = 0; id < n; id++)
    if (tok->rank[id] != UINT32_MAX) n_pairs += tok->offset[id + 1] - tok->offset[id] - 1;
  size_t ps = table_size(n_pairs + 1);
  tok->pair_key = malloc(ps * sizeof *tok->pair_key);
  tok->pair_val = malloc(ps * sizeof *tok->pair_val);
  if (!tok->pair_key || !tok->pair_val) return pal_errorf(err, "tokenizer: out of memory");
  memset(tok->pair_key, 0xff, ps * sizeof *tok->pair_key);
  tok->pair_mask = ps - 1;
  for (size_t id = 0; id < n; id++) {
    if (tok->rank[id] == UINT32_MAX) continue;
    const uint8_t *p = (const uint8_t *)tok->bytes + tok->offset[id];
    size_t len = tok->offset[id + 1] - tok->offset[id];
    for (size_t k = 1; k < len; k++) {
      int a = pal_tok_lookup(tok, p, k), b = pal_tok_lookup(tok, p + k, len - k);
      if (a >= 0 && b >= 0) pair_insert(tok, ((uint64_t)a << 32) | (uint32_t)b, (uint32_t)id);
    }
  }
  return 0;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Reads vocab.json into tok (n_vocab, bytes, offset, eot). */
static int load_vocab(pal_tokenizer *tok, const char *path, const int16_t cp_to_byte[324],
                      pal_error *err) {
  char *text = NULL;
  size_t len = 0;
  if (pal_read_file(path, &text, &len, err)) return -1;
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return pal_errorf(err, "%s: not a JSON object of token -> id", path);
  }
  int n = cJSON_GetArraySize(root), rc = -1;
  char **strs = calloc((size_t)n + 1, sizeof *strs);
  size_t *lens = calloc((size_t)n + 1, sizeof *lens), total = 0;
  if (!strs || !lens) { pal_errorf(err, "%s: out of memory", path); goto done; }
  if (n < 257) { pal_errorf(err, "%s: only %d tokens (a byte-level BPE has at least 256)", path, n); goto done; }
  for (cJSON *it = root->child; it; it = it->next) {
    double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (v < 0 || v >= n || v != (int)v) {
      pal_errorf(err, "%s: token \"%.40s\" has id %g, not an integer in 0..%d", path, it->string, v, n - 1);
      goto done;
    }
    int id = (int)v;
    if (strs[id]) { pal_errorf(err, "%s: id %d is given to two tokens", path, id); goto done; }
    strs[id] = it->string;
    lens[id] = strlen(it->string);
    total += lens[id];
  }
  tok->n_vocab = n;
  tok->eot = -1;
  tok->bytes = malloc(total + 1);
  tok->offset = malloc(((size_t)n + 1) * sizeof *tok->offset);
  tok->rank = malloc((size_t)n * sizeof *tok->rank);
  if (!tok->bytes || !tok->offset || !tok->rank) { pal_errorf(err, "%s: out of memory", path); goto done; }
  size_t off = 0;
  for (int id = 0; id < n; id++) {
    tok->offset[id] = (uint32_t)off;
    tok->rank[id] = UINT32_MAX;
    size_t blen;
    if (!strcmp(strs[id], "<|endoftext|>")) {
      tok->eot = id;
      memcpy(tok->bytes + off, strs[id], lens[id]);
      blen = lens[id];
    } else if (vocab_string_to_bytes(cp_to_byte, strs[id], lens[id], (uint8_t *)tok->bytes + off, &blen)) {
      pal_errorf(err, "%s: token %d \"%.40s\" is not in GPT-2's byte-to-unicode alphabet", path, id, strs[id]);
      goto done;
    }
    off += blen;
  }
  tok->offset[n] = (uint32_t)off;
  rc = 0;
done:
  free(strs);
  free(lens);
  cJSON_Delete(root);
  return rc;
}

/* Reads merges.txt: the rank of each merged token is its line's index. */
static int load_merges(pal_tokenizer *tok, const char *path, const int16_t cp_to_byte[324],
                       pal_error *err) {
  char *text = NULL;
  size_t len = 0;
  if (pal_read_file(path, &text, &len, err)) return -1;
  int rc = -1, line_no = 0, rank = 0;
  uint8_t *buf = malloc(len + 1);
  if (!buf) { pal_errorf(err, "%s: out of memory", path); goto done; }
  char *p = text, *end = text + len;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *line_end = nl ? nl : end;
    line_no++;
    size_t ll = (size_t)(line_end - p);
    if (ll && p[ll - 1] == '\r') ll--;
    /* Only the first line may be the "#version" header: later lines starting with '#'
     * are merges of '#' (GPT-2 has nine). */
    int skip = ll == 0 || (line_no == 1 && ll >= 8 && !memcmp(p, "#version", 8));
    if (!skip) {
      char *sp = memchr(p, ' ', ll);
      if (!sp || sp == p || sp == p + ll - 1 || memchr(sp + 1, ' ', ll - (size_t)(sp + 1 - p))) {
        pal_errorf(err, "%s:%d: a merge line is two tokens separated by one space", path, line_no);
        goto done;
      }
      size_t la, lb;
      if (vocab_string_to_bytes(cp_to_byte, p, (size_t)(sp - p), buf, &la) ||
          vocab_string_to_bytes(cp_to_byte, sp + 1, ll - (size_t)(sp + 1 - p), buf + la, &lb)) {
        pal_errorf(err, "%s:%d: a token is not in GPT-2's byte-to-unicode alphabet", path, line_no);
        goto done;
      }
      int a = pal_tok_lookup(tok, buf, la), b = pal_tok_lookup(tok, buf + la, lb),
          m = pal_tok_lookup(tok, buf, la + lb);
      if (a < 0 || b < 0 || m < 0) {
        pal_errorf(err, "%s:%d: merge \"%.*s\" names a token missing from the vocabulary", path,
                   line_no, (int)ll < 60 ? (int)ll : 60, p);
        goto done;
      }
      if (tok->rank[m] == UINT32_MAX) tok->rank[m] = (uint32_t)rank;
      rank++;
    }
    p = line_end + (nl ? 1 : 0);
  }
  tok->n_merges = rank;
  /* an empty or truncated merges.txt beside a full vocabulary: most tokens unreachable */
  if (rank == 0 && tok->n_vocab - (tok->eot >= 0) > 256) {
    pal_errorf(err, "%s: no merges, but the vocabulary has %d tokens beyond the 256 bytes (empty or truncated?)",
               path, tok->n_vocab - (tok->eot >= 0) - 256);
    goto done;
  }
  rc = 0;
done:
  free(buf);
  free(text);
  return rc;
}

static void free_tables(pal_tokenizer *tok) {
  free(tok->vocab_slot); free(tok->vocab_hash); free(tok->pair_key); free(tok->pair_val);
  tok->vocab_slot = tok->vocab_hash = NULL; tok->pair_key = NULL; tok->pair_val = NULL;
}

int pal_tokenizer_present(const char *dir) {
  static const char *const pairs[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
  int found = 0;
  for (int k = 0; k < 2 && !found; k++) {
    char *a = join(dir, pairs[k][0]), *b = join(dir, pairs[k][1]);
    found = a && b && file_exists(a) && file_exists(b);
    free(a);
    free(b);
  }
  return found;
}

int pal_tokenizer_load(pal_tokenizer **out, const char *dir, pal_error *err) {
  *out = NULL;
  char *vocab = join(dir, "vocab.json"), *merges = join(dir, "merges.txt");
  if (!vocab || !merges) { free(vocab); free(merges); return pal_errorf(err, "%s: out of memory", dir); }
  if (!file_exists(vocab) || !file_exists(merges)) {
    free(vocab); free(merges);
    vocab = join(dir, "encoder.json");
    merges = join(dir, "vocab.bpe");
    if (!vocab || !merges || !file_exists(vocab) || !file_exists(merges)) {
      free(vocab); free(merges);
      return pal_errorf(err, "%s: no tokenizer here (needs vocab.json + merges.txt, or encoder.json + vocab.bpe)", dir);
    }
  }
  pal_tokenizer *tok = calloc(1, sizeof *tok);
  if (!tok) { free(vocab); free(merges); return pal_errorf(err, "%s: out of memory", dir); }
  pthread_mutex_init(&tok->pool_lock, NULL);
  int16_t cp_to_byte[324];
  unicode_to_bytes(cp_to_byte);
  int rc = load_vocab(tok, vocab, cp_to_byte, err);
  if (!rc) {
    /* the merges need a byte-string lookup: build the vocabulary table first (ranks are
     * all unset, so no pairs yet), then rebuild with ranks */
    rc = pal_tok_build_tables(tok, err);
    if (rc && err) { pal_error inner = *err; pal_errorf(err, "%s: %.900s", vocab, inner.msg); }
  }
  if (!rc) rc = load_merges(tok, merges, cp_to_byte, err);
  if (!rc) { free_tables(tok); rc = pal_tok_build_tables(tok, err); }
  free(vocab);
  free(merges);
  if (rc) { pal_tokenizer_free(tok); return -1; }
  *out = tok;
  return 0;
}

void pal_tokenizer_free(pal_tokenizer *tok) {
  if (!tok) return;
  free_tables(tok);
  free(tok->bytes); free(tok->offset); free(tok->rank);
  for (int i = 0; i < tok->n_pool; i++) { pal_bpe_cache_free(tok->pool[i]); free(tok->pool[i]); }
  free(tok->pool);
  pthread_mutex_destroy(&tok->pool_lock);
  free(tok);
}

int pal_tokenizer_vocab_size(const pal_tokenizer *tok) { return tok->n_vocab; }
int pal_tokenizer_eot(const pal_tokenizer *tok) { return tok->eot; }

const char *pal_tokenizer_token_bytes(const pal_tokenizer *tok, int id, size_t *len) {
  if (id < 0 || id >= tok->n_vocab) return NULL;
  *len = tok->offset[id + 1] - tok->offset[id];
  return tok->bytes + tok->offset[id];
}

int pal_tokenizer_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out,
                         pal_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= tok->n_vocab)
      return pal_errorf(err, "token id %d is out of range (vocabulary of %d)", ids[i], tok->n_vocab);
    uint32_t off = tok->offset[ids[i]];
    if (pal_buf_append(out, tok->bytes + off, tok->offset[ids[i] + 1] - off))
      return pal_errorf(err, "decode: out of memory");
  }
  return 0;
}
