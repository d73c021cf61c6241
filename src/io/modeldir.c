/* modeldir.c: Hugging Face GPT-2 model directories (config.json, model.safetensors, vocab.json,
 * merges.txt): opened with F32 used in place from the mmap, saved as a whole directory built
 * beside the target and renamed into place. Never leaves a half-written directory behind. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "palimpsest/io.h"

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

void pal_model_dir_close(pal_model_dir *md) {
  if (!md) return;
  pal_params_free(&md->params);
  pal_st_close(&md->st);
  free(md->converted);
  free(md->path);
  memset(md, 0, sizeof *md);
}

/* h.N.attn.bias / h.N.attn.masked_bias: causal-mask buffers some exports carry. */
static int is_buffer(const char *name) {
  const char *p = name;
  if (strncmp(p, "h.", 2)) return 0;
  p += 2;
  if (*p < '0' || *p > '9') return 0;
  while (*p >= '0' && *p <= '9') p++;
  return !strcmp(p, ".attn.bias") || !strcmp(p, ".attn.masked_bias");
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < ndim && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, d ? ", %lld" : "%lld", (long long)shape[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

static const pal_st_tensor *find_either(const pal_safetensors *st, const char *name) {
  const pal_st_tensor *t = pal_st_find(st, name);
  if (t) return t;
  char pref[96];
  snprintf(pref, sizeof pref, "transformer.%s", name);
  return pal_st_find(st, pref);
}

/* Every tensor in the file must be one the model knows, a buffer, or the tied lm_head. */
static int check_extras(pal_model_dir *md, const char *stpath, pal_error *err) {
  const pal_config *cfg = &md->config;
  int n = pal_num_tensors(cfg);
  for (int i = 0; i < md->st.n_tensors; i++) {
    const pal_st_tensor *t = &md->st.tensors[i];
    const char *name = t->name;
    if (!strncmp(name, "transformer.", 12)) name += 12;
    if (is_buffer(name)) continue;
    if (!strcmp(name, "lm_head.weight")) {
      /* tied to wte in GPT-2; an untied head would be silently wrong, so compare */
      const pal_st_tensor *wte = find_either(&md->st, "wte.weight");
      if (wte && (wte->dtype != t->dtype || wte->nbytes != t->nbytes ||
                  memcmp(wte->data, t->data, t->nbytes)))
        return pal_errorf(err, "%s: lm_head.weight differs from wte.weight (palimpsest ties them; "
                          "an untied head is not supported)", stpath);
      continue;
    }
    int known = 0;
    for (int k = 0; k < n && !known; k++) {
      pal_tensor_info ti;
      pal_tensor_info_at(cfg, k, &ti);
      known = !strcmp(ti.name, name);
    }
    if (!known)
      return pal_errorf(err, "%s: tensor '%s' is not part of GPT-2 with this config.json "
                        "(a different architecture, or n_layer too small?)", stpath, t->name);
  }
  return 0;
}

int pal_model_dir_open(pal_model_dir *md, const char *dir, pal_error *err) {
  memset(md, 0, sizeof *md);
  md->path = strdup(dir);
  char *cpath = join(dir, "config.json"), *stpath = join(dir, "model.safetensors");
  int rc = -1;
  if (!md->path || !cpath || !stpath) { pal_errorf(err, "%s: out of memory", dir); goto done; }
  if (!file_exists(cpath)) {
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) pal_errorf(err, "%s: not a model directory (no such directory)", dir);
    else pal_errorf(err, "%s: not a model directory (no config.json)", dir);
    goto done;
  }
  if (pal_config_load(cpath, &md->config, err)) goto done;
  if (!file_exists(stpath)) {
    char *bin = join(dir, "pytorch_model.bin");
    int has_bin = bin && file_exists(bin);
    free(bin);
    pal_errorf(err, "%s: missing%s", stpath,
               has_bin ? " (only pytorch_model.bin is there: palimpsest reads safetensors only)" : "");
    goto done;
  }
  if (pal_st_open(&md->st, stpath, err)) goto done;
  const pal_config *cfg = &md->config;
  if (pal_params_alloc_table(&md->params, cfg, err)) goto done;
  int n = pal_num_tensors(cfg);
  /* pass 1: find and check every tensor; note whether any needs converting */
  int need_copy = 0;
  for (int i = 0; i < n; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    const pal_st_tensor *t = find_either(&md->st, ti.name);
    if (!t) { pal_errorf(err, "%s: tensor '%s' is missing", stpath, ti.name); goto done; }
    if (t->ndim != ti.ndim || t->shape[0] != ti.shape[0] || (ti.ndim == 2 && t->shape[1] != ti.shape[1])) {
      char a[64], b[64];
      shape_str(a, sizeof a, t->ndim, t->shape);
      shape_str(b, sizeof b, ti.ndim, ti.shape);
      pal_errorf(err, "%s: tensor '%s' has shape %s but config.json makes it %s", stpath, t->name, a, b);
      goto done;
    }
    if (t->dtype != PAL_DT_F32 && t->dtype != PAL_DT_F16 && t->dtype != PAL_DT_BF16 && t->dtype != PAL_DT_F64) {
      pal_errorf(err, "%s: tensor '%s' has dtype %s (F32, F16, BF16 or F64 expected)", stpath, t->name,
                 pal_dtype_name(t->dtype));
      goto done;
    }
    if (t->dtype != PAL_DT_F32 || ((uintptr_t)t->data & 3)) need_copy = 1;
  }
  if (check_extras(md, stpath, err)) goto done;
  if (need_copy) {
    md->converted = malloc(pal_params_count(cfg) * sizeof(float));
    if (!md->converted) {
      pal_errorf(err, "%s: out of memory converting to F32 (%zu floats)", stpath, pal_params_count(cfg));
      goto done;
    }
  }
  /* pass 2: point each tensor into the mapping (F32, aligned) or convert into owned storage */
  for (int i = 0; i < n; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    const pal_st_tensor *t = find_either(&md->st, ti.name);
    float **slot = pal_params_slot(&md->params, i);
    if (t->dtype == PAL_DT_F32 && !((uintptr_t)t->data & 3)) {
      *slot = (float *)(uintptr_t)t->data;   /* read-only mapping: the params are read-only */
    } else {
      *slot = md->converted + ti.offset;
      if (pal_st_to_f32(t, *slot, stpath, err)) goto done;
    }
  }
  rc = 0;
done:
  free(cpath);
  free(stpath);
  if (rc) pal_model_dir_close(md);
  return rc;
}

/* ---- saving */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw;
  return remove(path);
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* mkdir -p of every directory above `path` (not path itself). */
static int make_parents(const char *path, pal_error *err) {
  char *p = strdup(path);
  if (!p) return pal_errorf(err, "%s: out of memory", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (pal_io_mkdir(p, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      pal_errorf(err, "%s: cannot create directory: %s", p, strerror(e));
      free(p);
      return -1;
    }
    *s = '/';
  }
  free(p);
  return 0;
}

/* Copies the tokenizer under HF's names, from HF's or OpenAI's (encoder.json, vocab.bpe). */
static int copy_tokenizer(const char *tokdir, const char *outdir, pal_error *err) {
  static const char *names[2][3] = {{"vocab.json", "encoder.json", "vocab.json"},
                                    {"merges.txt", "vocab.bpe", "merges.txt"}};
  for (int k = 0; k < 2; k++) {
    char *a = join(tokdir, names[k][0]), *b = join(tokdir, names[k][1]), *dst = join(outdir, names[k][2]);
    int rc;
    if (!a || !b || !dst) rc = pal_errorf(err, "%s: out of memory", tokdir);
    else if (file_exists(a)) rc = pal_copy_file(a, dst, err);
    else if (file_exists(b)) rc = pal_copy_file(b, dst, err);
    else rc = pal_errorf(err, "%s: no tokenizer here (neither %s nor %s)", tokdir, names[k][0], names[k][1]);
    free(a);
    free(b);
    free(dst);
    if (rc) return -1;
  }
  return 0;
}

static int write_weights(const char *path, const pal_config *cfg, const pal_params *params,
                         pal_error *err) {
  int n = pal_num_tensors(cfg);
  pal_st_out *outs = calloc((size_t)n, sizeof *outs);
  pal_tensor_info *infos = calloc((size_t)n, sizeof *infos);
  if (!outs || !infos) { free(outs); free(infos); return pal_errorf(err, "%s: out of memory", path); }
  pal_params *p = (pal_params *)params;   /* pal_params_slot only reads through it here */
  for (int i = 0; i < n; i++) {
    pal_tensor_info_at(cfg, i, &infos[i]);
    outs[i].name = infos[i].name;
    outs[i].ndim = infos[i].ndim;
    outs[i].shape[0] = infos[i].shape[0];
    outs[i].shape[1] = infos[i].ndim == 2 ? infos[i].shape[1] : 0;
    outs[i].data = *pal_params_slot(p, i);
  }
  int rc = pal_st_write(path, outs, n, NULL, err);
  free(outs);
  free(infos);
  return rc;
}

int pal_model_dir_save(const char *dir_in, const pal_config *cfg, const pal_params *params,
                       const char *tokenizer_dir, const char *const *extra_files, int overwrite,
                       pal_error *err) {
  if (pal_config_validate(cfg, dir_in, err)) return -1;
  char *dir = strdup(dir_in);
  if (!dir) return pal_errorf(err, "%s: out of memory", dir_in);
  size_t dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/') dir[--dl] = 0;
  size_t n = dl + 40;
  char *tmp = malloc(n), *old = malloc(n), *f = NULL;
  int rc = -1, made_tmp = 0;
  if (!tmp || !old) { pal_errorf(err, "%s: out of memory", dir); goto done; }
  snprintf(tmp, n, "%s.tmp.%ld", dir, (long)getpid());
  snprintf(old, n, "%s.old.%ld", dir, (long)getpid());
  struct stat sb;
  int exists = lstat(dir, &sb) == 0;
  if (exists && !overwrite) { pal_errorf(err, "%s: already exists (not overwriting)", dir); goto done; }
  if (exists && !S_ISDIR(sb.st_mode)) { pal_errorf(err, "%s: exists and is not a directory", dir); goto done; }
  if (make_parents(dir, err)) goto done;
  rm_tree(tmp);   /* a leftover of a crashed run with our pid */
  if (pal_io_mkdir(tmp, 0777) != 0) { pal_errorf(err, "%s: cannot create directory: %s", tmp, strerror(errno)); goto done; }
  made_tmp = 1;
  if (!(f = join(tmp, "config.json")) || pal_config_save(f, cfg, err)) goto done;
  free(f);
  if (!(f = join(tmp, "model.safetensors")) || write_weights(f, cfg, params, err)) goto done;
  free(f);
  f = NULL;
  if (tokenizer_dir && copy_tokenizer(tokenizer_dir, tmp, err)) goto done;
  for (int i = 0; extra_files && extra_files[i] && extra_files[i + 1]; i += 2) {
    if (strchr(extra_files[i], '/') || !strcmp(extra_files[i], "..")) {
      pal_errorf(err, "%s: extra file name '%s' must be a plain name", dir, extra_files[i]);
      goto done;
    }
    if (!(f = join(tmp, extra_files[i])) || pal_copy_file(extra_files[i + 1], f, err)) goto done;
    free(f);
    f = NULL;
  }
  if (pal_fsync_dir(tmp, err)) goto done;
  if (exists && pal_io_rename(dir, old) != 0) { pal_errorf(err, "%s: cannot move aside: %s", dir, strerror(errno)); goto done; }
  if (pal_io_rename(tmp, dir) != 0) {
    pal_errorf(err, "%s: cannot rename into place: %s", dir, strerror(errno));
    if (exists) pal_io_rename(old, dir);
    goto done;
  }
  made_tmp = 0;
  if (exists) rm_tree(old);
  char *parent = strdup(dir), *slash = parent ? strrchr(parent, '/') : NULL;
  if (slash) *(slash == parent ? slash + 1 : slash) = 0;
  rc = pal_fsync_dir(slash ? parent : ".", err);
  free(parent);
done:
  if (made_tmp) rm_tree(tmp);
  free(f);
  free(tmp);
  free(old);
  free(dir);
  return rc;
}

/* ---- tokenizer facts init needs, without loading the tokenizer */

int pal_vocab_info(const char *tokdir, int *vocab_size, int *eot_id, pal_error *err) {
  *vocab_size = 0;
  *eot_id = -1;
  char *path = join(tokdir, "vocab.json");
  if (path && !file_exists(path)) { free(path); path = join(tokdir, "encoder.json"); }
  if (!path) return pal_errorf(err, "%s: out of memory", tokdir);
  if (!file_exists(path)) {
    pal_errorf(err, "%s: no vocab.json (or encoder.json) here", tokdir);
    free(path);
    return -1;
  }
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) { free(path); return -1; }
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  int rc = 0, max_id = -1;
  if (!cJSON_IsObject(root)) rc = pal_errorf(err, "%s: not a JSON object of token -> id", path);
  for (const cJSON *e = root ? root->child : NULL; e && !rc; e = e->next) {
    if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e9 || e->valuedouble != (int)e->valuedouble) {
      rc = pal_errorf(err, "%s: the id of an entry is not a non-negative integer", path);
      break;
    }
    if ((int)e->valuedouble > max_id) max_id = (int)e->valuedouble;
    if (!strcmp(e->string, "<|endoftext|>")) *eot_id = (int)e->valuedouble;
  }
  if (!rc && max_id < 0) rc = pal_errorf(err, "%s: no tokens", path);
  if (!rc) *vocab_size = max_id + 1;
  cJSON_Delete(root);
  free(path);
  return rc;
}
