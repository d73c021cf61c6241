/* checkpoint.c: RUN/checkpoint-STEP folders (HF model dir + optimizer.safetensors +
 * trainer_state.json) built under a temporary name, fsynced and renamed; resuming from one;
 * RUN/log.jsonl. A failed or killed save never leaves a partial folder under a final name
 * and never touches an earlier checkpoint. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/io.h"
#include "train/trainer_internal.h"

int pal_trainer_log(pal_trainer *tr, const char *line, pal_error *err) {
  char path[4096];
  pal_pathf(path, sizeof path, "%s/log.jsonl", tr->run_dir);
  FILE *fp = pal_io_fopen(path, "ab");
  if (!fp) return pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
  size_t n = strlen(line);
  int bad = pal_io_fwrite(line, 1, n, fp) != n || pal_io_fwrite("\n", 1, 1, fp) != 1;
  int e = errno;
  if (fclose(fp) != 0 && !bad) { bad = 1; e = errno; }
  return bad ? pal_errorf(err, "%s: write failed: %s", path, strerror(e ? e : EIO)) : 0;
}

/* trainer_state.json (see docs/FORMATS.md). Floats with 9 significant digits round-trip. */
static int state_json(const pal_trainer *tr, pal_buf *b) {
  const pal_train_opts *o = &tr->opts;
  long s = tr->step;
  int active = s > 0 ? tr->source_at_step[s - 1] : (pal_curriculum_source(o, tr->n_sources, 1) > 0 ? pal_curriculum_source(o, tr->n_sources, 1) : 0);
  pal_buf_printf(b, "{\n  \"format\": \"palimpsest-trainer-state\",\n  \"version\": 1,\n  \"step\": %ld,\n"
                    "  \"total_steps\": %ld,\n  \"optimizer_step\": %ld,\n  \"lr\": %.9g,\n  \"loss\": ",
                 s, o->steps, tr->opt.step, tr->last_lr);
  pal_json_num(b, "%.9g", s > 0 ? tr->loss_history[s - 1] : 0.0f);
  pal_buf_printf(b, ",\n  \"elapsed_s\": %.3f,\n  \"tokens_seen\": %.0f,\n",
                 pal_trainer_elapsed(tr), (double)s * o->batch * o->seq * o->grad_accum);
  pal_buf_printf(b, "  \"rng\": [\"%" PRIu64 "\", \"%" PRIu64 "\", \"%" PRIu64 "\", \"%" PRIu64 "\"],\n",
                 tr->rng.s[0], tr->rng.s[1], tr->rng.s[2], tr->rng.s[3]);
  pal_buf_printf(b, "  \"order\": \"%s\",\n  \"data_position\": [", pal_order_name(o->order));
  for (int i = 0; i < tr->n_sources; i++)
    pal_buf_printf(b, "%s{\"position\": %" PRIu64 ", \"epoch\": %" PRIu64 "}", i ? ", " : "",
                   tr->loader.pos[i].position, tr->loader.pos[i].epoch);
  pal_buf_printf(b, "],\n  \"active_source\": ");
  pal_json_cstr(b, tr->sources[active].name);
  pal_buf_printf(b, ",\n  \"active_source_index\": %d,\n  \"sources\": [", active);
  for (int i = 0; i < tr->n_sources; i++) {
    const pal_train_source *src = &tr->sources[i];
    pal_buf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
    pal_json_cstr(b, src->name);
    pal_buf_printf(b, ", \"path\": ");
    pal_json_cstr(b, src->path);
    pal_buf_printf(b, ", \"tokens\": %zu, \"train_tokens\": %zu, \"val_tokens\": %zu}",
                   src->n_tokens, src->n_train, src->n_tokens - src->n_train);
  }
  pal_buf_printf(b, "\n  ],\n  \"loss_history\": [");
  for (long i = 0; i < s; i++) {
    if (i) pal_buf_append(b, ", ", 2);
    pal_json_num(b, "%.9g", tr->loss_history[i]);   /* a diverged step's NaN is null */
  }
  pal_buf_printf(b, "],\n  \"source_at_step\": [");
  for (long i = 0; i < s; i++) pal_buf_printf(b, "%s%d", i ? ", " : "", tr->source_at_step[i]);
  return pal_buf_printf(b, "]\n}\n");
}

static int params_finite(const pal_params *p) {
  int ok = 1;
  #pragma omp parallel for reduction(&&:ok)
  for (size_t i = 0; i < p->n_floats; i++) ok = ok && isfinite(p->flat[i]);
  return ok;
}

/* Test hook: PAL_TEST_SAVE_PAUSE_MS=N sleeps N ms between the files of a save, so a test
 * can kill the process while a checkpoint is half written. */
static void test_pause(void) {
  const char *ms = getenv("PAL_TEST_SAVE_PAUSE_MS");
  if (ms) usleep((useconds_t)(atoi(ms) * 1000));
}

/* Writes the whole folder into tmp (which exists and is empty). */
static int write_folder(pal_trainer *tr, const char *tmp, pal_error *err) {
  char path[4096], from[4096];
  int nt = pal_num_tensors(&tr->cfg);
  pal_pathf(path, sizeof path, "%s/config.json", tmp);
  if (pal_config_save(path, &tr->cfg, err)) return -1;
  /* t[0, nt): the parameters; t[nt, nt + ns): the optimizer's state tensors (frozen tensors
   * have none). */
  int ns = 0;
  pal_optim_tensor ot;
  while (pal_trainer_opt_state(tr, ns, &ot) == 0) ns++;
  pal_st_out *t = calloc((size_t)(nt + ns), sizeof *t);
  pal_optim_tensor *st = calloc((size_t)ns + 1, sizeof *st);
  char (*names)[80] = calloc((size_t)nt, sizeof *names);
  if (!t || !names || !st) { free(t); free(names); free(st); return pal_errorf(err, "out of memory"); }
  for (int i = 0; i < nt; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(&tr->cfg, i, &ti);
    pal_pathf(names[i], sizeof names[0], "%s", ti.name);
    t[i] = (pal_st_out){.name = names[i], .ndim = ti.ndim, .shape = {ti.shape[0], ti.shape[1]},
                        .data = tr->params.flat + ti.offset};
  }
  for (int k = 0; k < ns; k++) {
    pal_trainer_opt_state(tr, k, &st[k]);
    t[nt + k] = (pal_st_out){.name = st[k].name, .ndim = st[k].ndim, .shape = {st[k].shape[0], st[k].shape[1]},
                             .data = st[k].data};
  }
  static const char *const st_meta[] = {"format", "pt", NULL};
  char stepbuf[32], opt_path[4096];
  snprintf(stepbuf, sizeof stepbuf, "%ld", tr->opt.step);
  const char *const opt_meta[] = {"format", "pt", "optimizer", pal_trainer_opt_name(tr), "step", stepbuf, NULL};
  pal_pathf(path, sizeof path, "%s/model.safetensors", tmp);
  pal_pathf(opt_path, sizeof opt_path, "%s/optimizer.safetensors", tmp);
  /* The two big files are written side by side: copying 1.5 GB (124M) into the page cache is
   * most of a save, and two threads do it in about half the time. */
  int rc = 0, rc_opt = 0;
  pal_error err_opt = {{0}};
  #pragma omp parallel sections num_threads(2)
  {
    #pragma omp section
    { rc = pal_st_write(path, t, nt, st_meta, err); }
    #pragma omp section
    { rc_opt = pal_st_write(opt_path, t + nt, ns, opt_meta, &err_opt); }
  }
  test_pause();
  if (rc == 0 && rc_opt != 0) rc = pal_errorf(err, "%s", err_opt.msg);
  free(t);
  free(st);
  free(names);
  if (rc) return -1;
  test_pause();
  if (tr->tokenizer_dir) {
    static const char *const pairs[2][2] = {{"vocab.json", "encoder.json"}, {"merges.txt", "vocab.bpe"}};
    for (int i = 0; i < 2; i++) {
      struct stat st;
      pal_pathf(from, sizeof from, "%s/%s", tr->tokenizer_dir, pairs[i][0]);
      if (stat(from, &st) != 0) pal_pathf(from, sizeof from, "%s/%s", tr->tokenizer_dir, pairs[i][1]);
      pal_pathf(path, sizeof path, "%s/%s", tmp, pairs[i][0]);
      if (pal_copy_file(from, path, err)) return -1;
    }
  }
  pal_buf b = {0};
  if (state_json(tr, &b) || !b.data) { pal_buf_free(&b); return pal_errorf(err, "out of memory"); }
  pal_pathf(path, sizeof path, "%s/trainer_state.json", tmp);
  rc = pal_write_file_atomic(path, b.data, b.len, err);
  pal_buf_free(&b);
  if (rc) return -1;
  return pal_fsync_dir(tmp, err);
}

/* --keep, sparing the --keep-best checkpoints of lowest mean validation loss. */
static int rotate(pal_trainer *tr, pal_error *err) {
  if (tr->opts.keep <= 0) return 0;
  if (tr->opts.keep_best <= 0) return pal_run_rotate(tr->run_dir, tr->opts.keep, err);
  pal_ckpt_ref *refs;
  int n;
  if (pal_checkpoints_list(tr->run_dir, PAL_CKPT_COMPLETE, &refs, &n, err)) return -1;
  long *steps = malloc(sizeof *steps * (size_t)(n + 1)), *best = malloc(sizeof *best * (size_t)(tr->opts.keep_best + 1));
  int rc = steps && best ? 0 : pal_errorf(err, "out of memory");
  for (int i = 0; i < n && rc == 0; i++) steps[i] = refs[i].step;
  int k = rc ? 0 : pal_best_pick(&tr->best, steps, n, tr->opts.keep_best, best);
  if (rc == 0) rc = pal_run_rotate_keeping(tr->run_dir, tr->opts.keep, best, k, err);
  pal_ckpt_refs_free(refs, n);
  free(steps);
  free(best);
  return rc;
}

/* RUN/log.jsonl made durable up to this step before the checkpoint that ends it is
 * published: after a power cut a checkpoint never stands for steps the log has lost. */
static int sync_log(const pal_trainer *tr, pal_error *err) {
  char path[4096];
  pal_pathf(path, sizeof path, "%s/log.jsonl", tr->run_dir);
  int fd = pal_io_open(path, O_WRONLY | O_APPEND, 0);
  if (fd < 0) return errno == ENOENT ? 0 : pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
  int rc = pal_io_fsync(fd) != 0 ? pal_errorf(err, "%s: fsync failed: %s", path, strerror(errno)) : 0;
  close(fd);
  return rc;
}

int pal_trainer_save(pal_trainer *tr, double *seconds, pal_error *err) {
  double t0 = pal_time_now();
  char final[4096], tmp[4096], old[4096];
  pal_pathf(final, sizeof final, "%s/checkpoint-%ld", tr->run_dir, tr->step);
  pal_pathf(tmp, sizeof tmp, "%s.tmp.%ld", final, (long)getpid());
  if (!params_finite(&tr->params))
    return pal_errorf(err, "step %ld: the parameters are no longer finite; not saving", tr->step);
  pal_run_remove_dir(tmp, NULL);
  if (pal_io_mkdir(tmp, 0755) != 0) return pal_errorf(err, "%s: cannot create: %s", tmp, strerror(errno));
  if (write_folder(tr, tmp, err) || sync_log(tr, err)) {
    pal_run_remove_dir(tmp, NULL);
    return -1;
  }
  struct stat st;
  int had_old = stat(final, &st) == 0;
  if (had_old) {  /* the same step saved before (a resumed run): swap it out, then drop it */
    pal_pathf(old, sizeof old, "%s.tmp.old.%ld", final, (long)getpid());
    pal_run_remove_dir(old, NULL);
    if (pal_io_rename(final, old) != 0) { pal_run_remove_dir(tmp, NULL); return pal_errorf(err, "%s: cannot rename: %s", final, strerror(errno)); }
  }
  if (pal_io_rename(tmp, final) != 0) {
    int e = errno;
    pal_run_remove_dir(tmp, NULL);
    return pal_errorf(err, "%s: cannot rename into place: %s", final, strerror(e));
  }
  if (had_old) pal_run_remove_dir(old, NULL);
  if (pal_fsync_dir(tr->run_dir, err)) return -1;
  tr->last_checkpoint = tr->step;
  if (rotate(tr, err)) return -1;
  if (seconds) *seconds = pal_time_now() - t0;
  return 0;
}

/* ---- Resume. */

static int get_u64(const cJSON *j, uint64_t *out) {
  if (cJSON_IsString(j)) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(j->valuestring, &end, 10);
    if (errno || *end || !*j->valuestring) return -1;
    *out = v;
    return 0;
  }
  if (cJSON_IsNumber(j) && j->valuedouble >= 0) { *out = (uint64_t)j->valuedouble; return 0; }
  return -1;
}

static int load_state(pal_trainer *tr, const char *path, pal_error *err) {
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) return -1;
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  if (!j) return pal_errorf(err, "%s: not valid JSON", path);
  int rc = -1;
  const cJSON *step = cJSON_GetObjectItem(j, "step"), *ostep = cJSON_GetObjectItem(j, "optimizer_step");
  const cJSON *rng = cJSON_GetObjectItem(j, "rng"), *pos = cJSON_GetObjectItem(j, "data_position");
  const cJSON *lh = cJSON_GetObjectItem(j, "loss_history"), *sa = cJSON_GetObjectItem(j, "source_at_step");
  const cJSON *srcs = cJSON_GetObjectItem(j, "sources"), *el = cJSON_GetObjectItem(j, "elapsed_s");
  const cJSON *lr = cJSON_GetObjectItem(j, "lr");
  if (!cJSON_IsNumber(step) || step->valuedouble < 0 || !cJSON_IsNumber(ostep) || !cJSON_IsArray(rng) ||
      cJSON_GetArraySize(rng) != 4 || !cJSON_IsArray(pos) || !cJSON_IsArray(lh) || !cJSON_IsArray(sa) ||
      !cJSON_IsArray(srcs)) {
    pal_errorf(err, "%s: missing or malformed fields (step, optimizer_step, rng, data_position, loss_history, source_at_step, sources)", path);
    goto done;
  }
  long s = (long)step->valuedouble;
  if (cJSON_GetArraySize(srcs) != tr->n_sources) {
    pal_errorf(err, "%s: the checkpoint has %d sources, this run %d", path, cJSON_GetArraySize(srcs), tr->n_sources);
    goto done;
  }
  if (cJSON_GetArraySize(pos) != tr->n_sources) {
    pal_errorf(err, "%s: data_position has %d entries for the %d sources", path, cJSON_GetArraySize(pos), tr->n_sources);
    goto done;
  }
  if (ostep->valuedouble != step->valuedouble) {   /* one AdamW step per training step, always */
    pal_errorf(err, "%s: optimizer_step %.0f differs from step %ld (an edited or foreign state)", path, ostep->valuedouble, s);
    goto done;
  }
  for (int i = 0; i < tr->n_sources; i++) {
    const cJSON *t = cJSON_GetObjectItem(cJSON_GetArrayItem(srcs, i), "tokens");
    if (!cJSON_IsNumber(t) || (size_t)t->valuedouble != tr->sources[i].n_tokens) {
      pal_errorf(err, "%s: source %s had %.0f tokens, now %zu (the data changed)", path, tr->sources[i].path,
                 cJSON_IsNumber(t) ? t->valuedouble : -1.0, tr->sources[i].n_tokens);
      goto done;
    }
  }
  if (cJSON_GetArraySize(lh) != s || cJSON_GetArraySize(sa) != s) {
    pal_errorf(err, "%s: loss_history/source_at_step do not have %ld entries", path, s);
    goto done;
  }
  for (int i = 0; i < 4; i++)
    if (get_u64(cJSON_GetArrayItem(rng, i), &tr->rng.s[i])) { pal_errorf(err, "%s: malformed rng", path); goto done; }
  if (!(tr->rng.s[0] | tr->rng.s[1] | tr->rng.s[2] | tr->rng.s[3])) {   /* xoshiro256** would give zeros forever */
    pal_errorf(err, "%s: the rng state is all zero (no seeded xoshiro256** state is)", path);
    goto done;
  }
  for (int i = 0; i < tr->n_sources; i++) {
    pal_loader_pos p;
    const cJSON *o = cJSON_GetArrayItem(pos, i);
    if (get_u64(cJSON_GetObjectItem(o, "position"), &p.position) || get_u64(cJSON_GetObjectItem(o, "epoch"), &p.epoch)) {
      pal_errorf(err, "%s: malformed data_position", path);
      goto done;
    }
    if (pal_loader_set_pos(&tr->loader, i, p, err)) goto done;
  }
  tr->step = 0;
  for (long i = 0; i < s; i++) {
    const cJSON *l = cJSON_GetArrayItem(lh, (int)i), *src = cJSON_GetArrayItem(sa, (int)i);
    if (!(cJSON_IsNumber(l) || cJSON_IsNull(l)) || !cJSON_IsNumber(src) || src->valuedouble < 0 || src->valuedouble >= tr->n_sources) {
      pal_errorf(err, "%s: malformed loss_history/source_at_step", path);
      goto done;
    }
    if (pal_trainer_history_push(tr, cJSON_IsNull(l) ? NAN : (float)l->valuedouble, (int)src->valuedouble)) { pal_errorf(err, "out of memory"); goto done; }
    tr->step = i + 1;
  }
  tr->opt.step = (long)ostep->valuedouble;
  tr->last_lr = cJSON_IsNumber(lr) ? (float)lr->valuedouble : 0;
  tr->elapsed_base = cJSON_IsNumber(el) ? el->valuedouble : 0;
  tr->start_time = pal_time_now();
  rc = 0;
done:
  cJSON_Delete(j);
  return rc;
}

static int load_optimizer(pal_trainer *tr, const char *path, pal_error *err) {
  pal_safetensors st;
  if (pal_st_open(&st, path, err)) return -1;
  int rc = 0;
  cJSON *meta = st.metadata_json ? cJSON_Parse(st.metadata_json) : NULL;
  const cJSON *kind = cJSON_GetObjectItem(meta, "optimizer");
  if (cJSON_IsString(kind) && strcmp(kind->valuestring, pal_trainer_opt_name(tr)))
    rc = pal_errorf(err, "%s: holds %s state, but this run uses --optimizer %s", path, kind->valuestring,
                    pal_trainer_opt_name(tr));
  cJSON_Delete(meta);
  pal_optim_tensor ot;
  for (int k = 0; rc == 0 && pal_trainer_opt_state(tr, k, &ot) == 0; k++) {
    const pal_st_tensor *t = pal_st_find(&st, ot.name);
    if (!t || t->dtype != PAL_DT_F32 || t->nbytes != ot.n_elems * sizeof(float))
      rc = pal_errorf(err, "%s: tensor %s is missing or not F32 of %zu elements", path, ot.name, ot.n_elems);
    else
      memcpy(ot.data, t->data, t->nbytes);
  }
  pal_st_close(&st);
  return rc;
}

/* Keeps the lines of RUN/log.jsonl that belong to steps <= step (a resumed run rewrites
 * what came after its checkpoint). */
static int truncate_log(pal_trainer *tr, long step, pal_error *err) {
  char path[4096];
  pal_pathf(path, sizeof path, "%s/log.jsonl", tr->run_dir);
  char *text;
  size_t len;
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  if (pal_read_file(path, &text, &len, err)) return -1;
  pal_buf out = {0};
  char *line = text;
  while (line < text + len) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
    cJSON *j = cJSON_ParseWithLength(line, n);
    const cJSON *s = j ? cJSON_GetObjectItem(j, "step") : NULL;
    /* A swap line for step+1 is logged before that step runs: the resumed run writes it again. */
    int keep = cJSON_IsNumber(s) && s->valuedouble < step + 0.5;
    if (keep) { pal_buf_append(&out, line, n); pal_buf_append(&out, "\n", 1); }
    cJSON_Delete(j);
    line += n + 1;
  }
  free(text);
  int rc = pal_write_file_atomic(path, out.data ? out.data : "", out.len, err);
  pal_buf_free(&out);
  return rc;
}

int pal_trainer_resume(pal_trainer *tr, const char *dir, pal_error *err) {
  char path[4096];
  pal_model_dir md;
  if (pal_model_dir_open(&md, dir, err)) return -1;
  const pal_config *c = &md.config;
  if (c->n_layer != tr->cfg.n_layer || c->n_embd != tr->cfg.n_embd || c->n_head != tr->cfg.n_head ||
      c->n_ctx != tr->cfg.n_ctx || c->vocab_size != tr->cfg.vocab_size) {
    pal_model_dir_close(&md);
    return pal_errorf(err, "%s: the checkpoint's config differs from the run's model", dir);
  }
  pal_params_copy(&tr->params, &md.params, &tr->cfg);
  pal_model_dir_close(&md);
  pal_pathf(path, sizeof path, "%s/optimizer.safetensors", dir);
  if (load_optimizer(tr, path, err)) return -1;
  pal_pathf(path, sizeof path, "%s/trainer_state.json", dir);
  if (load_state(tr, path, err)) return -1;
  tr->last_checkpoint = tr->step;
  return truncate_log(tr, tr->step, err) || pal_best_load_log(&tr->best, tr->run_dir, err) ? -1 : 0;
}
