/* adapter.c: the studio's one bridge to the generation library: the run's checkpoints (as
 * `weave --run` lists them), requests checked with the CLI's rules, each generation a
 * pal_gen_session, and the command line that reproduces a text. Nothing else in
 * src/studio calls generate's API. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/io.h"
#include "palimpsest/session.h"
#include "palimpsest/tokenizer.h"
#include "studio/studio_internal.h"

struct st_run {
  char *dir;
  char *real;                        /* realpath of dir: everything read must lie under it */
  st_ckpt *ck;
  long *steps;
  int n;
  pal_tokenizer *tok;                /* loaded once, lent to every session */
  pal_config cfg;                    /* the first checkpoint's (sessions check the others) */
  /* Sessions kept open between generations (their mappings stay populated: a fresh map of
   * 124M costs ~100 ms of page faults on its first forward), each lent to one job at a time. */
  struct cached { char *key; pal_gen_session s; int busy; unsigned long used; } cache[ST_SESSIONS];
  unsigned long clock;
  pthread_mutex_t mu;
};

/* 1 when path resolves (links followed) to somewhere inside the run folder. */
static int inside_run(const st_run *r, const char *path) {
  char *p = realpath(path, NULL);
  size_t n = strlen(r->real);
  int in = p && !strncmp(p, r->real, n) && (p[n] == '/' || p[n] == 0);
  free(p);
  return in;
}

/* The checkpoint folder and the files generation reads from it all lie inside RUN. */
static int ckpt_inside(const st_run *r, const char *dir) {
  static const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
  if (!inside_run(r, dir)) return 0;
  for (int i = 0; i < 4; i++) {
    char p[4096];
    struct stat st;
    if (pal_pathf(p, sizeof p, "%s/%s", dir, files[i]) || (lstat(p, &st) == 0 && !inside_run(r, p))) return 0;
  }
  return 1;
}

static double folder_bytes(const char *dir, int *has_optimizer) {
  DIR *d = opendir(dir);
  double total = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char p[4096];
    struct stat st;
    if (pal_pathf(p, sizeof p, "%s/%s", dir, e->d_name) || lstat(p, &st) || !S_ISREG(st.st_mode)) continue;
    total += (double)st.st_size;
    if (!strcmp(e->d_name, "optimizer.safetensors")) *has_optimizer = 1;
  }
  if (d) closedir(d);
  return total;
}

int st_run_open(st_run **out, const char *dir, pal_error *err) {
  *out = NULL;
  st_run *r = calloc(1, sizeof *r);
  if (!r) return pal_errorf(err, "studio: out of memory");
  pthread_mutex_init(&r->mu, NULL);
  pal_ckpt_ref *refs = NULL;
  int n = 0;
  if (!(r->dir = strdup(dir))) { pal_errorf(err, "studio: out of memory"); goto fail; }
  if (!(r->real = realpath(dir, NULL))) { pal_errorf(err, "%s: cannot open the run folder", dir); goto fail; }
  if (pal_gen_checkpoints(dir, "all", &refs, &n, err)) goto fail;   /* as `weave --run` */
  int kept = 0;   /* a checkpoint that is (or holds) a link out of RUN is not served */
  for (int i = 0; i < n; i++) {
    if (ckpt_inside(r, refs[i].path)) refs[kept++] = refs[i];
    else free(refs[i].path);
  }
  n = kept;
  if (!n) { pal_errorf(err, "%s: no checkpoint-N folder inside the run folder (links out of it are not followed)", dir); goto fail; }
  r->ck = calloc((size_t)n, sizeof *r->ck);
  r->steps = calloc((size_t)n, sizeof *r->steps);
  if (!r->ck || !r->steps) { pal_errorf(err, "studio: out of memory"); goto fail; }
  for (int i = 0; i < n; i++) {
    const char *base = strrchr(refs[i].path, '/');
    r->ck[i].name = strdup(base ? base + 1 : refs[i].path);
    if (!r->ck[i].name) { pal_errorf(err, "studio: out of memory"); goto fail; }
    r->ck[i].step = r->steps[i] = refs[i].step;
    r->ck[i].bytes = folder_bytes(refs[i].path, &r->ck[i].has_optimizer);
    r->n = i + 1;
  }
  char cfgp[4096];
  if (pal_pathf(cfgp, sizeof cfgp, "%s/config.json", refs[0].path) || pal_config_load(cfgp, &r->cfg, err) ||
      pal_tokenizer_load(&r->tok, refs[0].path, err)) goto fail;
  pal_ckpt_refs_free(refs, n);
  *out = r;
  return 0;
fail:
  pal_ckpt_refs_free(refs, n);
  st_run_close(r);
  return -1;
}

void st_run_close(st_run *r) {
  if (!r) return;
  for (int i = 0; i < r->n; i++) free(r->ck[i].name);
  for (int k = 0; k < ST_SESSIONS; k++)
    if (r->cache[k].key) { r->cache[k].s.tok = NULL; pal_gen_session_close(&r->cache[k].s); free(r->cache[k].key); }
  free(r->ck); free(r->steps); free(r->dir); free(r->real);
  pal_tokenizer_free(r->tok);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

const char *st_run_dir(const st_run *r) { return r->dir; }
int st_run_count(const st_run *r) { return r->n; }
const st_ckpt *st_run_ckpt(const st_run *r, int i) { return &r->ck[i]; }
const pal_config *st_run_config(const st_run *r) { return &r->cfg; }
const char *st_run_token_bytes(const st_run *r, int id, size_t *len) {
  return pal_tokenizer_token_bytes(r->tok, id, len);
}

int st_run_find(const st_run *r, const cJSON *spec) {
  if (cJSON_IsNumber(spec)) {
    for (int i = 0; i < r->n; i++) if ((double)r->ck[i].step == spec->valuedouble) return i;
    return -1;
  }
  if (cJSON_IsString(spec) && spec->valuestring[0] == '#') {
    char *end;
    long v = strtol(spec->valuestring + 1, &end, 10);
    return spec->valuestring[1] && !*end && v >= 0 && v < r->n ? (int)v : -1;
  }
  return -1;
}

/* The voices and schedule of a request as `weave` parses them, over the steps of its
 * moments, without opening a model (validation and the page's legend). */
typedef struct built {
  long steps[ST_MAX_CKPT + ST_MAX_INTERP];
  int n_models;
  pal_voice voices[ST_MAX_CKPT + ST_MAX_VOICES];
  int n_voices;
} built;

static int build(const st_run *r, const st_req *q, int col, built *b, const char **field, pal_error *err) {
  memset(b, 0, sizeof *b);
  int first = q->mode == ST_COMPARE ? col : 0, count = q->mode == ST_WEAVE ? q->n_ckpt : 1;
  for (int i = 0; i < count; i++) b->steps[i] = r->ck[q->ckpt[first + i]].step;
  b->n_models = count;
  if (q->mode != ST_WEAVE || (!q->n_blend && !q->n_interp)) {
    for (int i = 0; i < count; i++)
      b->voices[i] = (pal_voice){.n = 1, .model = {i}, .weight = {1}, .step = b->steps[i]};
    b->n_voices = count;
  }
  for (int k = 0; q->mode == ST_WEAVE && k < q->n_blend; k++) {
    *field = "blend";
    if (pal_voice_parse(&b->voices[b->n_voices++], q->blend[k], b->steps, count, err)) return -1;
  }
  for (int k = 0; q->mode == ST_WEAVE && k < q->n_interp; k++) {   /* its members, for the legend */
    *field = "interpolate";
    if (pal_voice_parse(&b->voices[b->n_voices++], q->interp[k], b->steps, count, err)) return -1;
    b->voices[b->n_voices - 1].step = -1;
  }
  if (q->mode == ST_WEAVE) {
    long vs[ST_MAX_CKPT + ST_MAX_VOICES];
    pal_schedule sched;
    for (int v = 0; v < b->n_voices; v++) vs[v] = b->voices[v].step;
    *field = "schedule";
    if (pal_schedule_parse(&sched, q->schedule, vs, b->n_voices, (uint64_t)q->seed, err)) return -1;
    pal_schedule_free(&sched);
  }
  *field = NULL;
  return 0;
}

/* The spec of a request (the CLI's flags): stops borrowed from q. */
static void spec_of(const st_req *q, pal_gen_spec *g) {
  pal_gen_spec_default(g);
  g->sample = q->s;
  g->length = q->length;
  g->seed = q->seed;
  g->ignore_eot = q->ignore_eot;
  g->prompt = q->prompt;
  g->stops.items = (const char **)q->stop;
  g->stops.n = q->n_stop;
}

int st_run_check(st_run *r, const st_req *q, const char **field, pal_error *err) {
  pal_gen_spec g;
  spec_of(q, &g);
  g.stops = (pal_strs){0};   /* stops arrive unescaped (checked by params.c): not unescaped again */
  if (pal_gen_spec_check(&g, err)) {   /* "--top-p 0 is outside (0, 1]": the field is the flag */
    static const char *names[] = {"temperature", "top-k", "top-p", "min-p", "repetition-penalty", "no-repeat-ngram", "length", "seed"};
    static const char *fields[] = {"temperature", "top_k", "top_p", "min_p", "repetition_penalty", "no_repeat_ngram", "length", "seed"};
    *field = "sampling";
    const char *m = err->msg + (strncmp(err->msg, "--", 2) ? 0 : 2);
    for (int i = 0; i < 8; i++)
      if (!strncmp(m, names[i], strlen(names[i])) && (m[strlen(names[i])] == ':' || m[strlen(names[i])] == ' ')) *field = fields[i];
    pal_gen_spec_free(&g);
    return -1;
  }
  pal_gen_spec_free(&g);
  built b;
  return build(r, q, 0, &b, field, err);
}

int st_run_voices(st_run *r, const st_req *q, int col, st_voice_info *out, int max) {
  built b;
  const char *field;
  pal_error err = {{0}};
  if (build(r, q, col, &b, &field, &err)) return 0;
  int first = q->mode == ST_COMPARE ? col : 0, n = 0;
  for (int v = 0; v < b.n_voices && n < max; v++, n++) {
    pal_voice vc = b.voices[v];
    int interp = q->mode == ST_WEAVE && v >= q->n_blend && (q->n_blend || q->n_interp);
    st_voice_info *o = &out[n];
    *o = (st_voice_info){.step = interp || vc.n > 1 ? -1 : b.steps[vc.model[0]], .blend = !interp && vc.n > 1,
                         .interp = interp, .n = vc.n};
    int dom = 0;
    for (int m = 0; m < vc.n; m++) {
      o->member[m] = q->ckpt[first + vc.model[m]];
      o->weight[m] = vc.weight[m];
      if (vc.weight[m] > vc.weight[dom]) dom = m;
    }
    o->ckpt = o->member[dom];
  }
  return n;
}

typedef struct cb_ctx { st_token_fn fn; void *ud; float prob; } cb_ctx;
static int on_token(void *ud, int row, int i, int id, int voice) {
  cb_ctx *c = ud;
  return c->fn(c->ud, i, id, voice, c->prob);
}

static int weave_has_interp(const st_req *q) { return q->mode == ST_WEAVE && q->n_interp > 0; }

/* What a session is made of: its moments, blends and interpolations. */
static char *session_key(const st_req *q, int first, int count) {
  pal_buf k = {0};
  int weave = q->mode == ST_WEAVE;
  for (int i = 0; i < count; i++) pal_buf_printf(&k, "%d,", q->ckpt[first + i]);
  for (int i = 0; weave && i < q->n_blend; i++) pal_buf_printf(&k, "|b%s", q->blend[i]);
  for (int i = 0; weave && i < q->n_interp; i++) pal_buf_printf(&k, "|i%s", q->interp[i]);
  if (pal_buf_append(&k, "", 1)) { pal_buf_free(&k); return NULL; }
  return k.data;
}

/* An idle cached session for key, or a new one (cached when there is room); NULL on failure. */
static pal_gen_session *checkout(st_run *r, const st_req *q, int first, int count, pal_gen_session *own, pal_error *err) {
  char *key = session_key(q, first, count);
  if (!key) { pal_errorf(err, "studio: out of memory"); return NULL; }
  pthread_mutex_lock(&r->mu);
  int hit = -1, free_slot = -1;
  for (int k = 0; k < ST_SESSIONS; k++) {
    struct cached *c = &r->cache[k];
    if (c->key && !c->busy && !strcmp(c->key, key)) { hit = k; break; }
    if (!c->busy && (free_slot < 0 || !c->key || (r->cache[free_slot].key && c->used < r->cache[free_slot].used))) free_slot = k;
  }
  if (hit >= 0) {
    r->cache[hit].busy = 1;
    r->cache[hit].used = ++r->clock;
    pthread_mutex_unlock(&r->mu);
    free(key);
    return &r->cache[hit].s;
  }
  pthread_mutex_unlock(&r->mu);
  const char *paths[ST_MAX_CKPT];
  char store[ST_MAX_CKPT][4096];
  for (int i = 0; i < count; i++) {
    if (pal_pathf(store[i], sizeof store[i], "%s/%s", r->dir, r->ck[q->ckpt[first + i]].name)) {
      free(key);
      pal_errorf(err, "%s: path too long", r->dir);
      return NULL;
    }
    paths[i] = store[i];
  }
  int weave = q->mode == ST_WEAVE;
  if (pal_gen_session_open(own, paths, count, (const char *const *)q->blend, weave ? q->n_blend : 0,
                           (const char *const *)q->interp, weave ? q->n_interp : 0, err)) { free(key); return NULL; }
  own->tok = r->tok;   /* lent: the session would load the same files again */
  pthread_mutex_lock(&r->mu);
  struct cached *c = free_slot >= 0 && !weave_has_interp(q) ? &r->cache[free_slot] : NULL;
  if (c && !c->busy) {   /* an interpolation owns a whole model: not kept */
    if (c->key) { c->s.tok = NULL; pal_gen_session_close(&c->s); free(c->key); }
    c->key = key;
    c->s = *own;
    c->busy = 1;
    c->used = ++r->clock;
    pthread_mutex_unlock(&r->mu);
    return &c->s;
  }
  pthread_mutex_unlock(&r->mu);
  free(key);
  return own;
}

static void checkin(st_run *r, pal_gen_session *s, pal_gen_session *own) {
  if (s == own) { s->tok = NULL; pal_gen_session_close(s); return; }
  pthread_mutex_lock(&r->mu);
  for (int k = 0; k < ST_SESSIONS; k++) if (&r->cache[k].s == s) r->cache[k].busy = 0;
  pthread_mutex_unlock(&r->mu);
}

int st_run_generate(st_run *r, const st_req *q, int col, st_token_fn cb, void *ud,
                    int *stop_reason, int *stopped, pal_error *err) {
  pal_gen_session own;
  pal_gen_spec g;
  pal_gen_result res = {0};
  int first = q->mode == ST_COMPARE ? col : 0, count = q->mode == ST_WEAVE ? q->n_ckpt : 1, rc = -1;
  *stopped = 0;
  *stop_reason = 0;
  pal_gen_session *gs = checkout(r, q, first, count, &own, err);
  if (!gs) return -1;
  spec_of(q, &g);
  pal_schedule_free(&gs->sched);   /* a kept session's last schedule (a sample has none) */
  memset(&gs->sched, 0, sizeof gs->sched);
  if ((q->mode == ST_WEAVE && pal_gen_session_schedule(gs, q->schedule, (uint64_t)q->seed, err)) ||
      pal_gen_session_prompt(gs, &g, 1, err)) goto done;
  cb_ctx c = {cb, ud, 0};
  pal_gen_opts o = pal_gen_spec_opts(&g, gs->eot);
  o.context_own = q->context_own;
  o.logit_space = q->logit_space;
  o.token_prob = &c.prob;
  if (pal_gen_session_run(gs, &o, on_token, &c, &res, err)) {
    *stopped = !strcmp(err->msg, "generate: stopped");
    goto done;
  }
  *stop_reason = (int)res.stop_reason[0];
  rc = 0;
done:
  pal_gen_result_free(&res);
  checkin(r, gs, &own);
  return rc;
}

/* ,"--name=VALUE" (the = form: a value that begins with "--" stays a value). escape: write
 * backslashes, newlines, tabs and CRs as the CLI's --stop reads them back (pal_unescape). */
static int arg_kv(pal_buf *out, const char *name, const char *value, int escape) {
  pal_buf e = {0};
  int rc = pal_buf_printf(&e, "--%s=", name);
  for (const char *s = value; *s && !rc; s++)
    rc = !escape ? pal_buf_append(&e, s, 1) : *s == '\\' ? pal_buf_append(&e, "\\\\", 2)
       : *s == '\n' ? pal_buf_append(&e, "\\n", 2) : *s == '\t' ? pal_buf_append(&e, "\\t", 2)
       : *s == '\r' ? pal_buf_append(&e, "\\r", 2) : pal_buf_append(&e, s, 1);
  rc |= pal_buf_append(out, ",", 1);
  rc |= pal_json_str(out, e.data, e.len);
  pal_buf_free(&e);
  return rc;
}

static int flag_f(pal_buf *out, const char *name, float v) {
  char num[32];
  pal_format_float(num, sizeof num, v);
  return pal_buf_printf(out, ",\"--%s\",\"%s\"", name, num);
}

int st_run_argv_json(const st_run *r, const st_req *q, int col, pal_buf *out) {
  int rc = pal_buf_printf(out, "[\"palimpsest\",\"%s\"", q->mode == ST_WEAVE ? "weave" : "sample");
  if (q->mode == ST_WEAVE) {
    rc |= pal_buf_printf(out, ",\"--run\",\".\",\"--select\",\"");
    for (int i = 0; i < q->n_ckpt; i++) rc |= pal_buf_printf(out, "%s%ld", i ? "," : "", r->ck[q->ckpt[i]].step);
    rc |= pal_buf_printf(out, "\"");
    rc |= arg_kv(out, "schedule", q->schedule, 0);
    rc |= pal_buf_printf(out, ",\"--context\",\"%s\"", q->context_own ? "own" : "shared");
    for (int k = 0; k < q->n_blend; k++) rc |= arg_kv(out, "blend", q->blend[k], 0);
    for (int k = 0; k < q->n_interp; k++) rc |= arg_kv(out, "interpolate", q->interp[k], 0);
    if (q->n_blend) rc |= pal_buf_printf(out, ",\"--blend-space\",\"%s\"", q->logit_space ? "logit" : "prob");
    rc |= pal_buf_printf(out, ",\"--color\",\"never\"");
  } else {
    rc |= pal_buf_printf(out, ",\"--model\",");
    rc |= pal_json_cstr(out, r->ck[q->ckpt[q->mode == ST_COMPARE ? col : 0]].name);
  }
  rc |= arg_kv(out, "prompt", q->prompt, 0);
  rc |= pal_buf_printf(out, ",\"--length\",\"%d\",\"--seed\",\"%ld\"", q->length, q->seed);
  rc |= flag_f(out, "temperature", q->s.temperature);
  rc |= pal_buf_printf(out, ",\"--top-k\",\"%d\"", q->s.top_k);
  rc |= flag_f(out, "top-p", q->s.top_p);
  rc |= flag_f(out, "min-p", q->s.min_p);
  rc |= flag_f(out, "repetition-penalty", q->s.repetition_penalty);
  rc |= pal_buf_printf(out, ",\"--no-repeat-ngram\",\"%d\"", q->s.no_repeat_ngram);
  for (int k = 0; k < q->n_stop; k++) rc |= arg_kv(out, "stop", q->stop[k], 1);
  if (q->ignore_eot) rc |= pal_buf_printf(out, ",\"--ignore-eot\"");
  rc |= pal_buf_printf(out, ",\"--threads\",\"1\",\"--quiet\"]");
  return rc;
}

int st_degen_json(const int *ids, size_t n, pal_buf *out) {
  pal_degen d;
  pal_degen_measure(ids, n, &d);
  return pal_buf_printf(out, "{\"distinct_1\":%.6g,\"distinct_2\":%.6g,\"longest_repeat\":%d,\"repeat_share\":%.6g,"
                        "\"degenerate\":%s}", d.distinct_1, d.distinct_2, d.longest_repeat, d.repeat_share,
                        d.degenerate ? "true" : "false");
}
