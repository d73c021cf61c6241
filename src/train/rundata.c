/* rundata.c: a run's sources as tokens: .bin shards read as they are, texts encoded with the
 * model's tokenizer once and kept in RUN/data/ under a name keyed by the tokenizer and the
 * text, so a resume (or a rerun) reads them back instead of encoding again. Writes nothing:
 * pal_run_start writes the cache. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/io.h"
#include "palimpsest/run.h"

static const char *const TOKENIZER_FILES[] = {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe"};

uint64_t pal_run_tokenizer_hash(const char *model_dir) {
  uint64_t h = PAL_FNV_INIT;
  for (int i = 0; i < 4; i++) {
    char p[PATH_MAX], *data;
    size_t len;
    struct stat st;
    if (pal_pathf(p, sizeof p, "%s/%s", model_dir, TOKENIZER_FILES[i]) || stat(p, &st) != 0) continue;
    if (pal_read_file(p, &data, &len, NULL) == 0) {
      h = pal_fnv1a(h, data, len);
      free(data);
    }
  }
  return h;
}

/* The last component of path (a copy: basename may write into its argument). */
static int base_name(char *out, size_t n, const char *path, int max) {
  char *dup = strdup(path);
  if (!dup) return -1;
  snprintf(out, n, "%.*s", max, basename(dup));
  free(dup);
  return 0;
}

int pal_run_cache_name(char *out, size_t n, const char *path, uint64_t key) {
  char base[256];
  if (base_name(base, sizeof base, path, 200)) return -1;
  return pal_pathf(out, n, "%s.%016llx.bin", base, (unsigned long long)key);
}

char *pal_run_source_name(const char *path, const pal_train_source *earlier, int n) {
  char name[300];
  if (base_name(name, sizeof name, path, 250)) return NULL;
  size_t len = strlen(name);
  int dups = 0;
  for (int j = 0; j < n; j++)
    if (!strncmp(earlier[j].name, name, len) && (earlier[j].name[len] == 0 || earlier[j].name[len] == '#')) dups++;
  if (dups) snprintf(name + len, sizeof name - len, "#%d", dups + 1);
  return strdup(name);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

int pal_run_source_tokens(const char *path, pal_tokenizer *tok, uint64_t tok_hash,
                          const char *run, pal_train_source *src, char **cache_name,
                          pal_error *err) {
  *cache_name = NULL;
  size_t n;
  if (ends_with(path, ".bin")) {
    if (pal_shard_read(path, &src->tokens, &n, err)) return -1;
    src->n_tokens = n;
    return 0;
  }
  if (!tok) return pal_errorf(err, "%s: a text file needs the model folder's tokenizer (vocab.json + merges.txt)", path);
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) return -1;
  char name[PATH_MAX], cpath[PATH_MAX];
  struct stat st;
  if (pal_run_cache_name(name, sizeof name, path, pal_fnv1a(tok_hash, text, len)) ||
      pal_pathf(cpath, sizeof cpath, "%s/data/%s", run, name)) {
    free(text);
    return pal_errorf(err, "%s: the name of its cache in %s/data is too long", path, run);
  }
  if (stat(cpath, &st) == 0) {
    free(text);
    if (pal_shard_read(cpath, &src->tokens, &n, err)) return -1;
    src->n_tokens = n;
    return 0;
  }
  pal_ids ids = {0};
  int rc = pal_tokenizer_encode(tok, text, len, 1, &ids, err);
  free(text);
  if (rc) { pal_ids_free(&ids); return -1; }
  src->tokens = ids.data;
  src->n_tokens = ids.len;
  if (!(*cache_name = strdup(name))) return pal_errorf(err, "out of memory");
  return 0;
}
