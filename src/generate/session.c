/* session.c: what a generating front end holds: checkpoints opened once (one function opens
 * a model: a change of how weights are held lands there), the voices built on them (blends,
 * interpolations appended as models), the schedule, the tokenizer and the prompt; then runs
 * of the generation loop. Reads model folders; writes nothing, prints nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/session.h"

static const char *const TOKENIZER_FILES[] = {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe"};

static int file_in(const char *dir, const char *name, char *path, size_t n) {
  return pal_pathf(path, n, "%s/%s", dir, name) == 0 && access(path, F_OK) == 0;
}

static int same_config(const pal_config *a, const pal_config *b) {
  return a->n_layer == b->n_layer && a->n_head == b->n_head && a->n_embd == b->n_embd &&
         a->n_ctx == b->n_ctx && a->vocab_size == b->vocab_size &&
         a->layer_norm_epsilon == b->layer_norm_epsilon && a->eos_token_id == b->eos_token_id;
}

int pal_gen_compatible(const char *a, const pal_config *ca, const char *b, const pal_config *cb,
                       pal_error *err) {
  if (!same_config(ca, cb))
    return pal_errorf(err, "%s/config.json differs from %s/config.json (n_layer %d/%d, n_head %d/%d, n_embd %d/%d, "
                      "n_ctx %d/%d, vocab %d/%d): the checkpoints must share one configuration",
                      b, a, cb->n_layer, ca->n_layer, cb->n_head, ca->n_head, cb->n_embd, ca->n_embd,
                      cb->n_ctx, ca->n_ctx, cb->vocab_size, ca->vocab_size);
  if (!pal_tokenizer_present(a) || !pal_tokenizer_present(b)) return 0;
  for (int i = 0; i < 4; i++) {
    char pa[4096], pb[4096];
    int ia = file_in(a, TOKENIZER_FILES[i], pa, sizeof pa), ib = file_in(b, TOKENIZER_FILES[i], pb, sizeof pb);
    if (!ia && !ib) continue;
    if (ia != ib)
      return pal_errorf(err, "%s and %s: different tokenizer files (%s in only one): weave needs one vocabulary", a, b,
                        TOKENIZER_FILES[i]);
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    if (pal_read_file(pa, &da, &la, err) || pal_read_file(pb, &db, &lb, err)) { free(da); free(db); return -1; }
    int same = la == lb && !memcmp(da, db, la);
    free(da);
    free(db);
    if (!same) return pal_errorf(err, "%s differs from %s: the checkpoints need one vocabulary", pb, pa);
  }
  return 0;
}

/* A checkpoint listed a moment ago that is gone now: a live run's --keep rotated it away
 * (renamed out of the listed names whole, so never seen half removed). Says so rather than
 * reporting the file that happened to be missing. */
static int vanished(const char *path, pal_error *err) {
  struct stat st;
  if (lstat(path, &st) == 0 || errno != ENOENT) return 0;
  pal_errorf(err, "%s: removed while being read (a live run's --keep rotation?); list the run again", path);
  return 1;
}

/* The one place a checkpoint's weights are opened for generation. */
static int open_model(pal_gen_models *m, int i, const char *path, pal_error *err) {
  struct stat st;
  int existed = stat(path, &st) == 0;
  if (pal_model_dir_open_stored(&m->dirs[i], path, err)) {   /* F16/BF16/int8 in place */
    if (existed) vanished(path, err);
    return -1;
  }
  m->n_ckpt = m->n = i + 1;
  m->params[i] = &m->dirs[i].params;
  m->steps[i] = pal_checkpoint_step(path);
  m->mapped += m->dirs[i].st.map_len;
  return (m->paths[i] = strdup(path)) ? 0 : pal_errorf(err, "out of memory");
}

int pal_gen_models_open(pal_gen_models *m, const char *const *paths, int n, pal_error *err) {
  memset(m, 0, sizeof *m);
  m->dirs = calloc((size_t)n, sizeof *m->dirs);
  m->params = calloc((size_t)n, sizeof *m->params);
  m->paths = calloc((size_t)n, sizeof *m->paths);
  m->steps = calloc((size_t)n, sizeof *m->steps);
  if (!m->dirs || !m->params || !m->paths || !m->steps) { pal_gen_models_close(m); return pal_errorf(err, "out of memory"); }
  for (int i = 0; i < n; i++)
    if (open_model(m, i, paths[i], err) ||
        (i > 0 && pal_gen_compatible(paths[0], &m->dirs[0].config, paths[i], &m->dirs[i].config, err))) {
      pal_gen_models_close(m);
      return -1;
    }
  if (n > 0) m->cfg = m->dirs[0].config;
  return 0;
}

int pal_gen_models_interpolate(pal_gen_models *m, const char *spec, pal_error *err) {
  pal_voice parts;
  if (pal_voice_parse(&parts, spec, m->steps, m->n_ckpt, err)) return -1;
  int k = m->n - m->n_ckpt;
  const pal_params **params = realloc(m->params, (size_t)(m->n + 1) * sizeof *params);
  if (params) m->params = params;
  long *steps = realloc(m->steps, (size_t)(m->n + 1) * sizeof *steps);
  if (steps) m->steps = steps;
  pal_params *mixed = realloc(m->mixed, (size_t)(k + 1) * sizeof *mixed);
  if (mixed) m->mixed = mixed;
  if (!params || !steps || !mixed) return pal_errorf(err, "out of memory");
  const pal_params *src[PAL_VOICE_MAX];
  for (int i = 0; i < parts.n; i++) src[i] = m->params[parts.model[i]];
  if (pal_params_alloc(&m->mixed[k], &m->cfg, err)) return -1;
  if (pal_interpolate(&m->mixed[k], &m->cfg, src, parts.weight, parts.n, err)) { pal_params_free(&m->mixed[k]); return -1; }
  for (int i = 0; i < k; i++) m->params[m->n_ckpt + i] = &m->mixed[i];   /* mixed may have moved */
  m->params[m->n] = &m->mixed[k];
  m->steps[m->n] = -1;
  return m->n++;
}

void pal_gen_models_close(pal_gen_models *m) {
  for (int i = 0; i < m->n_ckpt; i++) { pal_model_dir_close(&m->dirs[i]); free(m->paths[i]); }
  for (int k = 0; k < m->n - m->n_ckpt; k++) pal_params_free(&m->mixed[k]);
  free(m->dirs); free(m->params); free(m->paths); free(m->steps); free(m->mixed);
  memset(m, 0, sizeof *m);
}

/* The voices: each blend, then each interpolation (a model of its own), or else one voice
 * per checkpoint. parts[v] keeps what an interpolation was made of (for records). */
static int build_voices(pal_gen_session *s, const char *const *blends, int nb, const char *const *interps,
                        int ni, pal_error *err) {
  pal_gen_models *m = &s->models;
  int n = nb + ni ? nb + ni : m->n_ckpt;
  s->voices = calloc((size_t)n, sizeof *s->voices);
  s->parts = calloc((size_t)n, sizeof *s->parts);
  if (!s->voices || !s->parts) return pal_errorf(err, "out of memory");
  if (!nb && !ni)
    for (int i = 0; i < n; i++) s->voices[i] = (pal_voice){.n = 1, .model = {i}, .weight = {1}, .step = m->steps[i]};
  for (int b = 0; b < nb; b++)
    if (pal_voice_parse(&s->voices[b], blends[b], m->steps, m->n_ckpt, err)) return -1;
  for (int k = 0; k < ni; k++) {
    if (pal_voice_parse(&s->parts[nb + k], interps[k], m->steps, m->n_ckpt, err)) return -1;
    int model = pal_gen_models_interpolate(m, interps[k], err);
    if (model < 0) return -1;
    s->voices[nb + k] = (pal_voice){.n = 1, .model = {model}, .weight = {1}, .step = -1};
  }
  for (int v = 0; v < (nb + ni ? nb : n); v++) s->parts[v] = s->voices[v];   /* a blend is its members */
  s->n_voices = n;
  s->n_blends = nb;
  s->n_interps = ni;
  return 0;
}

int pal_gen_session_open(pal_gen_session *s, const char *const *paths, int n, const char *const *blends,
                         int n_blends, const char *const *interps, int n_interps, pal_error *err) {
  memset(s, 0, sizeof *s);
  s->eot = -1;
  if (pal_gen_models_open(&s->models, paths, n, err)) return -1;
  if (build_voices(s, blends, n_blends, interps, n_interps, err)) { pal_gen_session_close(s); return -1; }
  s->eot = s->models.cfg.eos_token_id;
  return 0;
}

int pal_gen_session_schedule(pal_gen_session *s, const char *spec, uint64_t seed, pal_error *err) {
  long *steps = malloc((size_t)s->n_voices * sizeof *steps);
  if (!steps) return pal_errorf(err, "out of memory");
  for (int v = 0; v < s->n_voices; v++) steps[v] = s->voices[v].step;
  pal_schedule_free(&s->sched);
  int rc = pal_schedule_parse(&s->sched, spec ? spec : "cycle", steps, s->n_voices, seed, err);
  free(steps);
  return rc;
}

int pal_gen_session_needs_text(const pal_gen_session *s, const pal_gen_spec *g) {
  return g->format != PAL_GEN_IDS || g->prompt || g->prompt_file || g->stops.n > 0 ||
         (s->sched.n_voices && pal_schedule_needs_text(&s->sched));
}

static int prompt_ids(pal_gen_session *s, const pal_gen_spec *g, pal_error *err) {
  int vocab = s->models.cfg.vocab_size;
  if (g->prompt_ids) {
    pal_error why = {{0}};
    if (pal_ids_parse(g->prompt_ids, &s->prompt, &why)) return pal_errorf(err, "--prompt-ids: %s", why.msg);
    for (size_t i = 0; i < s->prompt.len; i++)
      if (s->prompt.data[i] >= vocab)
        return pal_errorf(err, "--prompt-ids: id %d is outside the vocabulary (%d)", s->prompt.data[i], vocab);
    return 0;
  }
  if (g->prompt || g->prompt_file) {
    char *text = NULL;
    size_t len = 0;
    if (g->prompt_file) { if (pal_read_file(g->prompt_file, &text, &len, err)) return -1; }
    else if (!(text = strdup(g->prompt))) return pal_errorf(err, "out of memory");
    else len = strlen(text);
    int rc = pal_tokenizer_encode(s->tok, text, len, 1, &s->prompt, err);
    free(text);
    if (rc) return -1;
    if (s->prompt.len > 0) return 0;
  }
  return pal_ids_push(&s->prompt, s->eot) ? pal_errorf(err, "out of memory") : 0;
}

/* --prompts FILE: each line (without its newline; an empty line starts from <|endoftext|>). */
static int read_prompts(pal_gen_session *s, const char *path, pal_error *err) {
  char *data;
  size_t len;
  if (!s->tok) return pal_errorf(err, "%s: prompts need the model's tokenizer", path);
  if (pal_read_file(path, &data, &len, err)) return -1;
  int cap = 0, rc = 0;
  for (char *c = data; c < data + len && !rc;) {
    char *nl = memchr(c, '\n', (size_t)(data + len - c));
    size_t n = nl ? (size_t)(nl - c) : (size_t)(data + len - c);
    if (n && c[n - 1] == '\r') n--;
    if (s->n_prompts == cap) {
      cap = cap ? 2 * cap : 16;
      pal_ids *p = realloc(s->prompts, sizeof *p * (size_t)cap);
      char **t = p ? realloc(s->prompt_texts, sizeof *t * (size_t)cap) : NULL;
      if (p) s->prompts = p;
      if (t) s->prompt_texts = t;
      if (!p || !t) { rc = pal_errorf(err, "out of memory"); break; }
    }
    pal_ids *ids = &s->prompts[s->n_prompts];
    memset(ids, 0, sizeof *ids);
    s->prompt_texts[s->n_prompts++] = NULL;
    pal_buf text = {0};   /* as a single prompt's record writes it: the decoded ids */
    if (n ? pal_tokenizer_encode(s->tok, c, n, 0, ids, err) : pal_ids_push(ids, s->eot)) rc = -1;
    else if (pal_gen_decode(s->tok, ids->data, ids->len, &text) || pal_buf_append(&text, "", 1)) rc = pal_errorf(err, "out of memory");
    else s->prompt_texts[s->n_prompts - 1] = text.data;
    c = nl ? nl + 1 : data + len;
  }
  free(data);
  if (!rc && !s->n_prompts) rc = pal_errorf(err, "%s: no prompts in it", path);
  if (!rc && s->prompts[0].len) {
    for (size_t i = 0; i < s->prompts[0].len; i++) rc |= pal_ids_push(&s->prompt, s->prompts[0].data[i]);
    if (rc) rc = pal_errorf(err, "out of memory");
  }
  return rc;
}

const char *pal_gen_session_row_prompt(const pal_gen_session *s, int r, int n_rows) {
  if (!s->n_prompts) return s->prompt_text.data;
  int per = n_rows / s->n_prompts > 0 ? n_rows / s->n_prompts : 1;
  return s->prompt_texts[(r / per) % s->n_prompts];
}

uint64_t pal_gen_session_row_seed(const pal_gen_session *s, uint64_t seed, int r, int n_rows) {
  if (!s->n_prompts) return seed + (uint64_t)r;
  int per = n_rows / s->n_prompts > 0 ? n_rows / s->n_prompts : 1;
  return seed + (uint64_t)(r % per);
}

int pal_gen_session_prompt(pal_gen_session *s, const pal_gen_spec *g, int required, pal_error *err) {
  const char *dir = g->tokenizer;
  for (int i = 0; !dir && i < s->models.n_ckpt; i++) if (pal_tokenizer_present(s->models.paths[i])) dir = s->models.paths[i];
  for (int i = 0; !dir && required && i < s->models.n_ckpt; i++)
    if (vanished(s->models.paths[i], err)) return -1;
  if (!dir && required)
    return pal_errorf(err, "%s: no tokenizer (vocab.json + merges.txt) in the model folder; give --tokenizer DIR or --prompt-ids with --format ids",
                      s->models.n_ckpt ? s->models.paths[0] : "model");
  if (dir && !s->tok && pal_tokenizer_load(&s->tok, dir, err)) return -1;
  if (s->tok) s->eot = pal_tokenizer_eot(s->tok);
  s->prompt.len = 0;
  s->prompt_text.len = 0;
  if (g->prompts ? read_prompts(s, g->prompts, err) : prompt_ids(s, g, err)) return -1;
  if (pal_gen_decode(s->tok, s->prompt.data, s->prompt.len, &s->prompt_text) || pal_buf_append(&s->prompt_text, "", 1))
    return pal_errorf(err, "out of memory");
  s->prompt_text.len--;
  return 0;
}

int pal_gen_session_run(pal_gen_session *s, const pal_gen_opts *o, pal_gen_token_fn cb, void *ud,
                        pal_gen_result *res, pal_error *err) {
  pal_gen_opts rows = *o;
  if (s->n_prompts && !o->row_prompt) {   /* every prompt's --n rows, in one batch */
    if (o->n_rows % s->n_prompts) return pal_errorf(err, "generate: %d rows for %d prompts", o->n_rows, s->n_prompts);
    int per = o->n_rows / s->n_prompts;
    free(s->row_prompt); free(s->row_prompt_len); free(s->row_seed);
    s->row_prompt = malloc(sizeof *s->row_prompt * (size_t)o->n_rows);
    s->row_prompt_len = malloc(sizeof *s->row_prompt_len * (size_t)o->n_rows);
    s->row_seed = malloc(sizeof *s->row_seed * (size_t)o->n_rows);
    if (!s->row_prompt || !s->row_prompt_len || !s->row_seed) return pal_errorf(err, "out of memory");
    for (int r = 0; r < o->n_rows; r++) {
      s->row_prompt[r] = s->prompts[r / per].data;
      s->row_prompt_len[r] = (int)s->prompts[r / per].len;
      s->row_seed[r] = o->row_seed ? o->row_seed[r] : o->seed + (uint64_t)(r % per);
    }
    rows.row_prompt = s->row_prompt;
    rows.row_prompt_len = s->row_prompt_len;
    rows.row_seed = s->row_seed;
  }
  return pal_generate(&s->models.cfg, s->models.params, s->models.n, s->voices, s->n_voices,
                      s->sched.n_voices ? &s->sched : NULL, &rows, s->prompt.data, (int)s->prompt.len, s->tok, cb, ud,
                      res, err);
}

void pal_gen_session_close(pal_gen_session *s) {
  pal_schedule_free(&s->sched);
  pal_tokenizer_free(s->tok);
  pal_ids_free(&s->prompt);
  pal_buf_free(&s->prompt_text);
  for (int i = 0; i < s->n_prompts; i++) { pal_ids_free(&s->prompts[i]); free(s->prompt_texts[i]); }
  free(s->prompts); free(s->prompt_texts);
  free(s->row_prompt); free(s->row_prompt_len); free(s->row_seed);
  free(s->voices);
  free(s->parts);
  pal_gen_models_close(&s->models);
  memset(s, 0, sizeof *s);
}

int pal_gen_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out) {
  if (pal_buf_append(out, "", 0)) return -1;
  for (size_t i = 0; tok && i < n; i++) {
    size_t bl = 0;
    const char *bytes = pal_tokenizer_token_bytes(tok, ids[i], &bl);
    if (bytes ? pal_buf_append(out, bytes, bl) : pal_buf_append(out, "\xEF\xBF\xBD", 3)) return -1;
  }
  return 0;
}

/* Drops what the last call showed. */
static void stream_drop(pal_gen_stream *st) {
  pal_buf *p = &st->pending;
  memmove(p->data, p->data + st->shown, p->len - st->shown);
  p->len -= st->shown;
  st->shown = 0;
}

int pal_gen_stream_push(pal_gen_stream *st, const pal_tokenizer *tok, int id, const char **out, size_t *len) {
  if (st->pending.data) stream_drop(st);
  size_t bl = 0;
  const char *bytes = tok ? pal_tokenizer_token_bytes(tok, id, &bl) : NULL;
  if (!bytes) { bytes = "\xEF\xBF\xBD"; bl = 3; }   /* an id past the tokenizer */
  if (pal_buf_append(&st->pending, bytes, bl)) return -1;
  st->shown = pal_utf8_complete_prefix(st->pending.data, st->pending.len);
  *out = st->pending.data;
  *len = st->shown;
  return 0;
}

void pal_gen_stream_flush(pal_gen_stream *st, const char **out, size_t *len) {
  if (st->pending.data) stream_drop(st);
  st->shown = st->pending.len;
  *out = st->pending.data ? st->pending.data : "";
  *len = st->shown;
}

void pal_gen_stream_free(pal_gen_stream *st) {
  pal_buf_free(&st->pending);
  st->shown = 0;
}
