/* runfolder.c: a run from its arguments to its trainer: run.json (read, written, compared
 * through the fingerprint), the merge of a resume's stored and given settings, the checks
 * that refuse another run's folder, and the choice of the checkpoint to continue from. All
 * checks come before the first write (pal_run_start). Never prints. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/io.h"
#include "palimpsest/run.h"

int pal_run_json_write(const char *run, const pal_strs *args, uint64_t fingerprint, pal_error *err) {
  pal_buf b = {0};
  char path[PATH_MAX];
  if (pal_pathf(path, sizeof path, "%s/run.json", run)) return pal_errorf(err, "%s: path too long", run);
  int rc = pal_buf_printf(&b, "{\n  \"format\": \"palimpsest-run\",\n  \"version\": 1,\n  \"fingerprint\": \"%016llx\",\n  \"args\": [",
                          (unsigned long long)fingerprint);
  for (int i = 0; i < args->n && !rc; i++) {
    if (i) rc = pal_buf_append(&b, ", ", 2);
    if (!rc) rc = pal_json_cstr(&b, args->items[i]);
  }
  if (!rc) rc = pal_buf_printf(&b, "]\n}\n");
  rc = rc ? pal_errorf(err, "out of memory") : pal_write_file_atomic(path, b.data, b.len, err);
  pal_buf_free(&b);
  return rc;
}

int pal_run_json_read(const char *run, pal_strs *args, uint64_t *fingerprint, pal_error *err) {
  char path[PATH_MAX];
  struct stat st;
  if (pal_pathf(path, sizeof path, "%s/run.json", run)) return pal_errorf(err, "%s: path too long", run);
  if (stat(path, &st) != 0) return 1;
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) return -1;
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *ja = cJSON_GetObjectItem(j, "args"), *jf = cJSON_GetObjectItem(j, "fingerprint");
  int rc = 0;
  if (!cJSON_IsArray(ja) || !cJSON_IsString(jf)) rc = pal_errorf(err, "%s: not a palimpsest run.json", path);
  for (int i = 0; !rc && i < cJSON_GetArraySize(ja); i++) {
    const cJSON *s = cJSON_GetArrayItem(ja, i);
    if (pal_strs_push_dup(args, cJSON_IsString(s) ? s->valuestring : "")) rc = pal_errorf(err, "out of memory");
  }
  if (!rc) *fingerprint = strtoull(jf->valuestring, NULL, 16);
  cJSON_Delete(j);
  return rc;
}

int pal_run_resume_point(const char *run, long *step, char *path, size_t n, pal_error *err) {
  pal_ckpt_ref *refs;
  int count;
  *step = -1;
  if (pal_checkpoints_list(run, PAL_CKPT_COMPLETE, &refs, &count, err)) return -1;
  int rc = 0;
  if (count > 0) {
    *step = refs[count - 1].step;
    if (pal_pathf(path, n, "%s", refs[count - 1].path)) rc = pal_errorf(err, "%s: path too long", refs[count - 1].path);
  }
  pal_ckpt_refs_free(refs, count);
  return rc;
}

/* --resume: only what may change was given; then run.json's arguments, and the given ones
 * after them (later flags win), parsed again into run->spec. */
static int merge_resume(pal_run *r, int argc, char **argv, pal_error *err) {
  const pal_run_spec *g = &r->spec;
  for (int i = 0; pal_train_settings[i].name; i++)
    if (g->given[i] && !(pal_train_settings[i].flags & PAL_SET_RESUMABLE)) {
      char can[256];
      pal_run_resumable_names(can, sizeof can);
      return pal_errorf(err, "train: --%s cannot change on --resume (the run's settings are in %s/run.json); only %s can",
                        pal_train_settings[i].name, g->resume, can);
    }
  if (g->data.n) return pal_errorf(err, "train: --data cannot change on --resume (the run's sources are in %s/run.json)", g->resume);
  if (g->out && strcmp(g->out, g->resume)) return pal_errorf(err, "train: --out and --resume name different folders");
  int rd = pal_run_json_read(g->resume, &r->stored, &r->stored_fingerprint, err);
  if (rd > 0) return pal_errorf(err, "%s: no run.json here: not a palimpsest run", g->resume);
  if (rd < 0) return -1;
  r->argv = calloc((size_t)(r->stored.n + argc + 1), sizeof *r->argv);
  if (!r->argv) return pal_errorf(err, "out of memory");
  int k = 0;
  r->argv[k++] = argv[0];
  for (int i = 0; i < r->stored.n; i++) r->argv[k++] = (char *)r->stored.items[i];
  for (int i = 1; i < argc; i++) r->argv[k++] = argv[i];
  pal_run_spec merged;
  pal_run_spec_default(&merged);
  if (pal_run_spec_parse(&merged, k, r->argv, err) != 0) {
    pal_run_spec_free(&merged);
    return -1;
  }
  pal_run_spec_free(&r->spec);
  r->spec = merged;
  r->resuming = 1;
  return 0;
}

/* The settings against each other and against the model's config.json. */
static int check_settings(pal_run *r, pal_error *err) {
  char path[PATH_MAX];
  if (pal_pathf(path, sizeof path, "%s/config.json", r->spec.model)) return pal_errorf(err, "%s: path too long", r->spec.model);
  if (pal_config_load(path, &r->cfg, err)) return -1;
  if (!r->resuming && !pal_run_spec_given(&r->spec, "seq") && r->spec.opts.seq > r->cfg.n_ctx) r->spec.opts.seq = r->cfg.n_ctx;
  pal_error why = {{0}};
  if (pal_train_opts_check(&r->spec.opts, &r->cfg, r->spec.data.n, &why)) return pal_errorf(err, "train: %s", why.msg);
  return 0;
}

/* A new run needs a folder that holds no other run (nor output without run.json); a resumed
 * one needs its run.json unedited. */
static int check_folder(pal_run *r, pal_error *err) {
  struct stat st;
  const char *dir = r->dir;
  r->existed = stat(dir, &st) == 0;
  if (r->existed && !S_ISDIR(st.st_mode)) return pal_errorf(err, "%s: exists and is not a folder", dir);
  if (r->resuming) {
    if (r->stored_fingerprint != pal_run_fingerprint(&r->stored) || r->stored_fingerprint != r->fingerprint)
      return pal_errorf(err, "%s/run.json: the fingerprint does not match its settings (edited?)", dir);
    return 0;
  }
  if (!r->existed) return 0;
  pal_strs old = {0};
  uint64_t old_fp = 0;
  int rd = pal_run_json_read(dir, &old, &old_fp, err);
  pal_strs_free_all(&old);
  if (rd < 0) return -1;
  if (rd == 0 && old_fp != r->fingerprint)
    return pal_errorf(err, "%s: already holds a different run (other settings, see its run.json); choose another --out", dir);
  if (rd == 0) return pal_errorf(err, "%s: already holds this run; continue it with: palimpsest train --resume %s", dir, dir);
  pal_ckpt_ref *refs = NULL;
  int n = 0;
  char log[PATH_MAX];
  if (pal_checkpoints_list(dir, PAL_CKPT_COMPLETE, &refs, &n, NULL) == 0) pal_ckpt_refs_free(refs, n);
  if (n > 0 || (pal_pathf(log, sizeof log, "%s/log.jsonl", dir) == 0 && stat(log, &st) == 0))
    return pal_errorf(err, "%s: holds training output but no run.json; choose another --out", dir);
  return 0;
}

int pal_run_open(pal_run **out, int argc, char **argv, pal_error *err) {
  *out = NULL;
  pal_run *r = calloc(1, sizeof *r);
  if (!r) return pal_errorf(err, "out of memory");
  r->resumed_from = -1;
  r->lock_fd = -1;
  pal_run_spec_default(&r->spec);
  int rc = pal_run_spec_parse(&r->spec, argc, argv, err);
  if (rc == 0 && r->spec.resume) rc = merge_resume(r, argc, argv, err);
  else if (rc == 0 && (!r->spec.model || !r->spec.out || r->spec.data.n == 0))
    rc = pal_errorf(err, "train: --model DIR, --data FILE... and --out RUN are required (see --help)");
  if (rc == 0 && !(r->dir = strdup(r->resuming ? r->spec.resume : r->spec.out))) rc = pal_errorf(err, "out of memory");
  if (rc == 0) rc = check_settings(r, err);
  if (rc == 0) rc = pal_train_plan_make(&r->spec.opts, &r->cfg, &r->plan, err);
  if (rc == 0 && pal_mem_available(&r->mem_available)) r->mem_available = 0;
  if (rc == 0 && !r->spec.plan) rc = pal_train_plan_fits(&r->plan, r->mem_available, err);
  if (rc == 0) rc = pal_run_canonical_args(&r->spec, &r->args, err);
  if (rc == 0) {
    r->fingerprint = pal_run_fingerprint(&r->args);
    rc = check_folder(r, err);
  }
  if (rc) { pal_run_free(r); return rc; }
  *out = r;
  return 0;
}

int pal_run_load_data(pal_run *r, pal_error *err) {
  const char *model = r->spec.model;
  r->tok_hash = PAL_FNV_INIT;
  if (pal_tokenizer_present(model)) {
    if (pal_tokenizer_load(&r->tok, model, err)) return -1;
    if (pal_tokenizer_vocab_size(r->tok) > r->cfg.vocab_size)
      return pal_errorf(err, "%s: the tokenizer has %d tokens, more than the model's vocab_size %d", model,
                        pal_tokenizer_vocab_size(r->tok), r->cfg.vocab_size);
    r->tok_hash = pal_run_tokenizer_hash(model);
  }
  int n = r->spec.data.n;
  r->sources = calloc((size_t)n, sizeof *r->sources);
  r->cache_names = calloc((size_t)n, sizeof *r->cache_names);
  if (!r->sources || !r->cache_names) return pal_errorf(err, "out of memory");
  for (int i = 0; i < n; i++) {
    const char *path = r->spec.data.items[i];
    pal_train_source *src = &r->sources[i];
    r->n_sources = i + 1;
    if (pal_run_source_tokens(path, r->tok, r->tok_hash, r->dir, src, &r->cache_names[i], err)) return -1;
    if (!(src->name = pal_run_source_name(path, r->sources, i)) || !(src->path = strdup(path)))
      return pal_errorf(err, "out of memory");
    for (size_t t = 0; t < src->n_tokens; t++)
      if (src->tokens[t] >= r->cfg.vocab_size)
        return pal_errorf(err, "%s: token id %d does not fit the model's vocabulary (%d)", path, src->tokens[t], r->cfg.vocab_size);
    if (pal_train_source_split(src, r->spec.opts.val_fraction, r->spec.opts.batch, r->spec.opts.seq, err)) return -1;
    if (r->tok && pal_run_source_origins(src, r->tok, err)) return -1;
  }
  return 0;
}

/* One writer per run folder: an exclusive, non-blocking flock on RUN/.lock, which then
 * holds the writer's pid (for the refusal's message). flock belongs to the open file, so
 * the kernel drops it when the holder exits or is killed: no stale lock to clean. */
static int lock_run(pal_run *r, pal_error *err) {
  char p[PATH_MAX];
  if (pal_pathf(p, sizeof p, "%s/.lock", r->dir)) return pal_errorf(err, "%s: path too long", r->dir);
  int fd = pal_io_open(p, O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
  if (fd < 0) return pal_errorf(err, "%s: cannot open the run's lock: %s", p, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char pid[32] = {0};
    ssize_t n = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : 0;
    close(fd);
    if (e != EWOULDBLOCK) return pal_errorf(err, "%s: cannot lock: %s", p, strerror(e));
    while (n > 0 && (pid[n - 1] == '\n' || pid[n - 1] == ' ')) pid[--n] = 0;
    return pal_errorf(err, "%s: another writer (pid %s) holds %s; wait for it or stop it",
                      r->dir, n > 0 ? pid : "unknown, starting", p);
  }
  char line[32];
  int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pal_io_write(fd, line, (size_t)len) != len) {
    int e = errno;
    close(fd);
    return pal_errorf(err, "%s: cannot write: %s", p, strerror(e));
  }
  r->lock_fd = fd;
  /* Two new runs that both found the folder empty: the one that locks second finds
   * run.json written by the first. */
  struct stat st;
  if (!r->resuming && pal_pathf(p, sizeof p, "%s/run.json", r->dir) == 0 && stat(p, &st) == 0)
    return pal_errorf(err, "%s: another process started a run here meanwhile; choose another --out", r->dir);
  return 0;
}

int pal_run_start(pal_run *r, pal_error *err) {
  char p[PATH_MAX];
  if (!r->existed && pal_io_mkdir(r->dir, 0755) != 0) return pal_errorf(err, "%s: cannot create: %s", r->dir, strerror(errno));
  if (lock_run(r, err)) return -1;
  for (int i = 0; i < r->n_sources; i++) {
    if (!r->cache_names || !r->cache_names[i]) continue;
    if (pal_pathf(p, sizeof p, "%s/data", r->dir)) return pal_errorf(err, "%s: path too long", r->dir);
    if (pal_io_mkdir(p, 0755) != 0 && errno != EEXIST) return pal_errorf(err, "%s: cannot create: %s", p, strerror(errno));
    if (pal_pathf(p, sizeof p, "%s/data/%s", r->dir, r->cache_names[i])) return pal_errorf(err, "%s: path too long", r->dir);
    if (pal_shard_write(p, r->sources[i].tokens, r->sources[i].n_tokens, err)) return -1;
  }
  if (pal_run_json_write(r->dir, &r->args, r->fingerprint, err)) return -1;
  pal_run_clean_temporaries(r->dir);
  return 0;
}

int pal_run_trainer(pal_run *r, pal_trainer **out, pal_error *err) {
  *out = NULL;
  pal_model_dir md;
  if (pal_model_dir_open(&md, r->spec.model, err)) return -1;
  int rc = pal_trainer_create(out, &r->spec.opts, &r->cfg, &md.params, r->sources, r->n_sources, r->dir,
                              r->tok ? r->spec.model : NULL, err);
  pal_model_dir_close(&md);
  if (rc) return -1;
  r->sources = NULL;   /* the trainer's now */
  r->n_sources = 0;
  if (!r->resuming) return 0;
  long step;
  char path[PATH_MAX];
  if (pal_run_resume_point(r->dir, &step, path, sizeof path, err)) return -1;
  if (step >= 0) {
    if (pal_trainer_resume(*out, path, err)) return -1;
    r->resumed_from = pal_trainer_step_count(*out);
  } else if (pal_pathf(path, sizeof path, "%s/log.jsonl", r->dir) == 0) {
    pal_io_unlink(path);   /* killed before the first save: start over, with the log emptied */
  }
  return 0;
}

void pal_run_free(pal_run *r) {
  if (!r) return;
  for (int i = 0; r->sources && i < r->n_sources; i++) pal_train_source_free(&r->sources[i]);
  free(r->sources);
  for (int i = 0; r->cache_names && i < r->spec.data.n; i++) free(r->cache_names[i]);
  free(r->cache_names);
  pal_tokenizer_free(r->tok);
  pal_run_spec_free(&r->spec);
  pal_strs_free_all(&r->args);
  pal_strs_free_all(&r->stored);
  free(r->argv);
  free(r->dir);
  if (r->lock_fd >= 0) close(r->lock_fd);
  free(r);
}
