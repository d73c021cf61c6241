/* keep.c: keeping a text: RUN/studio/kept.jsonl gains one line with the full record (the
 * checkpoints, every setting and the command line that reproduces the text byte for byte),
 * rewritten atomically; kept texts listed, and downloaded formatted as text or HTML. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "palimpsest/present.h"
#include "studio/studio_internal.h"

#define ST_KEPT_MAX (64u << 20)

/* RUN/studio/NAME (the folder made 0700 when make_dir; refused when it is not a folder). */
static int studio_path(const st_studio *s, const char *name, char *out, size_t n, int make_dir) {
  char dir[4096];
  if (pal_pathf(dir, sizeof dir, "%s/studio", s->run_dir)) return -1;
  if (make_dir && pal_io_mkdir(dir, 0700) && errno != EEXIST) return -1;
  struct stat st;
  if (make_dir && (lstat(dir, &st) || !S_ISDIR(st.st_mode))) return -1;   /* not a link out of RUN */
  return pal_pathf(out, n, "%s/%s", dir, name);
}

/* RUN/studio/NAME's bytes ("" when there is none); -1 when it exists but cannot be read. */
int st_studio_read(const st_studio *s, const char *name, char **data, size_t *len) {
  char p[4096];
  struct stat st;
  *data = NULL;
  *len = 0;
  if (studio_path(s, name, p, sizeof p, 0)) return -1;
  if (lstat(p, &st)) return errno == ENOENT ? 0 : -1;
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > ST_KEPT_MAX) return -1;
  return pal_read_file(p, data, len, NULL);
}

/* Appends line (no newline) to RUN/studio/NAME, rewriting the file atomically; *lines gets
 * the count of lines before it. Call with keep_mu held. */
int st_studio_append(const st_studio *s, const char *name, const pal_buf *line, int *lines, pal_error *err) {
  char *old = NULL, p[4096];
  size_t old_len = 0;
  if (st_studio_read(s, name, &old, &old_len) || studio_path(s, name, p, sizeof p, 1))
    return pal_errorf(err, "%s/studio/%s: cannot be read or made", s->run_dir, name);
  *lines = 0;
  for (size_t i = 0; i < old_len; i++) *lines += old[i] == '\n';
  pal_buf all = {0};
  int rc = pal_buf_append(&all, old ? old : "", old_len);
  if (old_len && old[old_len - 1] != '\n') { rc |= pal_buf_append(&all, "\n", 1); (*lines)++; }
  rc |= pal_buf_append(&all, line->data, line->len);
  rc |= pal_buf_append(&all, "\n", 1);
  rc = rc ? pal_errorf(err, "studio: out of memory") : pal_write_file_atomic(p, all.data, all.len, err);
  free(old);
  pal_buf_free(&all);
  return rc;
}

static void settings_json(const st_req *q, pal_buf *o) {
  char t[32], tp[32], mp[32], rp[32];
  pal_format_float(t, sizeof t, q->s.temperature);
  pal_format_float(tp, sizeof tp, q->s.top_p);
  pal_format_float(mp, sizeof mp, q->s.min_p);
  pal_format_float(rp, sizeof rp, q->s.repetition_penalty);
  pal_buf_printf(o, "{\"prompt\":");
  pal_json_cstr(o, q->prompt);
  pal_buf_printf(o, ",\"length\":%d,\"seed\":%ld,\"temperature\":%s,\"top_k\":%d,\"top_p\":%s,\"min_p\":%s,"
                 "\"repetition_penalty\":%s,\"no_repeat_ngram\":%d,\"ignore_eot\":%s,\"stop\":[",
                 q->length, q->seed, t, q->s.top_k, tp, mp, rp, q->s.no_repeat_ngram, q->ignore_eot ? "true" : "false");
  for (int k = 0; k < q->n_stop; k++) { if (k) pal_buf_append(o, ",", 1); pal_json_cstr(o, q->stop[k]); }
  pal_buf_append(o, "]", 1);
  if (q->mode == ST_WEAVE) {
    pal_buf_printf(o, ",\"schedule\":");
    pal_json_cstr(o, q->schedule);
    pal_buf_printf(o, ",\"context\":\"%s\",\"blend_space\":\"%s\",\"blend\":[", q->context_own ? "own" : "shared",
                   q->logit_space ? "logit" : "prob");
    for (int k = 0; k < q->n_blend; k++) { if (k) pal_buf_append(o, ",", 1); pal_json_cstr(o, q->blend[k]); }
    pal_buf_printf(o, "],\"interpolate\":[");
    for (int k = 0; k < q->n_interp; k++) { if (k) pal_buf_append(o, ",", 1); pal_json_cstr(o, q->interp[k]); }
    pal_buf_append(o, "]", 1);
  }
  pal_buf_append(o, "}", 1);
}

/* One kept record (no newline). A stopped text is recorded with the length it reached,
 * which is what the CLI needs to write exactly it. */
static int record_json(st_studio *s, st_job *j, int col, int kept, pal_buf *o) {
  st_req q = j->req;   /* a shallow copy: only the length may change */
  st_col *c = &j->col[col];
  if (c->stop_reason < 0) q.length = (int)c->ids.len;
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  pal_buf_printf(o, "{\"kept\":%d,\"at\":\"%s\",\"kind\":\"%s\",\"generation\":%llu,\"column\":%d,\"checkpoints\":[",
                 kept, when, q.mode == ST_WEAVE ? "weave" : "sample", (unsigned long long)j->id, col);
  int first = q.mode == ST_COMPARE ? col : 0, n = q.mode == ST_WEAVE ? q.n_ckpt : 1;
  for (int i = 0; i < n; i++) {
    const st_ckpt *ck = st_run_ckpt(s->run, q.ckpt[first + i]);
    pal_buf_printf(o, "%s{\"step\":%ld,\"name\":", i ? "," : "", ck->step);
    pal_json_cstr(o, ck->name);
    pal_buf_append(o, "}", 1);
  }
  pal_buf_printf(o, "],\"settings\":");
  settings_json(&q, o);
  pal_buf_printf(o, ",\"argv\":");
  st_run_argv_json(s->run, &q, col, o);
  pal_buf_printf(o, ",\"cwd\":\"RUN\",\"text\":");
  pal_json_str(o, c->text.data, c->text.len);
  pal_buf_printf(o, ",\"tokens\":%zu,\"stop\":\"%s\",\"ids\":[", c->ids.len,
                 c->stop_reason < 0 ? "stopped" : c->stop_reason == 1 ? "eot" : c->stop_reason == 2 ? "stop" : "length");
  for (size_t i = 0; i < c->ids.len; i++) pal_buf_printf(o, "%s%d", i ? "," : "", c->ids.data[i]);
  pal_buf_printf(o, "],\"writers\":[");
  for (size_t i = 0; q.mode == ST_WEAVE && i < c->voices.len; i++) pal_buf_printf(o, "%s%d", i ? "," : "", c->voices.data[i]);
  pal_buf_printf(o, "],\"measures\":");
  st_degen_json(c->ids.data, c->ids.len, o);
  return pal_buf_append(o, "}", 1);
}

int st_api_keep(st_studio *s, const st_http *rq, st_reply *rep) {
  cJSON *root = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "generation"), *cv = cJSON_GetObjectItemCaseSensitive(root, "column");
  double gen = cJSON_IsNumber(g) ? g->valuedouble : -1, colv = cv ? (cJSON_IsNumber(cv) ? cv->valuedouble : -1) : 0;
  cJSON_Delete(root);
  if (gen < 1 || gen > 9e15) return st_reply_error(rep, 400, "generation", "generation: must name a generation (a number)");
  st_job *j = st_pool_find(&s->pool, (uint64_t)gen);
  if (!j) return st_reply_error(rep, 404, "generation", "generation: %.0f is not among the recent ones", gen);
  int rc = 0;
  pthread_mutex_lock(&j->mu);
  int state = j->state;
  pthread_mutex_unlock(&j->mu);
  int col = (int)colv;
  if (colv != col || col < 0 || col >= j->n_cols) rc = st_reply_error(rep, 400, "column", "column: %g is not a column of it", colv);
  else if (state != 2) rc = st_reply_error(rep, 409, "generation", "generation: still running; keep it when it ends");
  else if (!j->col[col].done || j->failed) rc = st_reply_error(rep, 409, "generation", "generation: it failed; nothing to keep");
  if (rep->status) { st_job_unref(j); return rc; }

  pthread_mutex_lock(&s->keep_mu);
  pal_buf line = {0};
  pal_error err = {{0}};
  char *old = NULL;
  size_t old_len = 0;
  int kept = 1;   /* the line number it will have */
  if (!st_studio_read(s, "kept.jsonl", &old, &old_len))
    for (size_t i = 0; i < old_len; i++) kept += old[i] == '\n' || (i + 1 == old_len && old[i] != '\n');
  free(old);
  int lines = 0;
  if (record_json(s, j, col, kept, &line) || st_studio_append(s, "kept.jsonl", &line, &lines, &err))
    rc = st_reply_error(rep, 500, NULL, "%s", err.msg[0] ? err.msg : "out of memory");
  else { rep->status = 200; rep->type = "application/json; charset=utf-8"; rc = pal_buf_append(&rep->body, line.data, line.len); }
  pthread_mutex_unlock(&s->keep_mu);
  pal_buf_free(&line);
  st_job_unref(j);
  return rc;
}

/* A sweep cell written on click, as a sweep record (docs/FORMATS.md "Sweep") naming its grid. */
static int cell_json(st_studio *s, st_job *j, const char *sweep, pal_buf *o) {
  const st_req *q = &j->req;
  const st_col *c = &j->col[0];
  const st_ckpt *ck = st_run_ckpt(s->run, q->ckpt[0]);
  char t[32], tp[32], mp[32], rp[32];
  pal_format_float(t, sizeof t, q->s.temperature);
  pal_format_float(tp, sizeof tp, q->s.top_p);
  pal_format_float(mp, sizeof mp, q->s.min_p);
  pal_format_float(rp, sizeof rp, q->s.repetition_penalty);
  pal_buf m = {0};
  int rc = pal_buf_printf(o, "{\"sweep\":");
  rc |= pal_json_cstr(o, sweep);
  rc |= pal_buf_printf(o, ",\"run\":\".\",\"checkpoint\":");
  rc |= pal_json_cstr(o, ck->name);
  rc |= pal_buf_printf(o, ",\"step\":%ld,\"temperature\":%s,\"seed\":%ld,\"sample\":0,\"prompt\":", ck->step, t, q->seed);
  rc |= pal_json_cstr(o, q->prompt);
  rc |= pal_buf_printf(o, ",\"settings\":{\"length\":%d,\"top_k\":%d,\"top_p\":%s,\"min_p\":%s,\"repetition_penalty\":%s,"
                       "\"no_repeat_ngram\":%d,\"stop\":[", q->length, q->s.top_k, tp, mp, rp, q->s.no_repeat_ngram);
  for (int k = 0; k < q->n_stop; k++) { if (k) rc |= pal_buf_append(o, ",", 1); rc |= pal_json_cstr(o, q->stop[k]); }
  rc |= pal_buf_printf(o, "]},\"text\":");
  rc |= pal_json_str(o, c->text.data, c->text.len);
  rc |= pal_buf_printf(o, ",\"tokens\":%zu,\"stop\":\"%s\",", c->ids.len,
                       c->stop_reason == 1 ? "eot" : c->stop_reason == 2 ? "stop" : "length");
  rc |= st_degen_json(c->ids.data, c->ids.len, &m);
  rc |= pal_buf_append(o, m.data + 1, m.len - 1);   /* the measures' fields, inline */
  pal_buf_free(&m);
  return rc;
}

int st_api_cell(st_studio *s, const st_http *rq, st_reply *rep) {
  cJSON *root = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "generation"), *sw = cJSON_GetObjectItemCaseSensitive(root, "sweep");
  double gen = cJSON_IsNumber(g) ? g->valuedouble : -1;
  char sweep[208];
  snprintf(sweep, sizeof sweep, "%s", cJSON_IsString(sw) ? sw->valuestring : "");
  int name_ok = cJSON_IsString(sw) && strlen(sw->valuestring) < 200 && !strchr(sweep, '/');
  cJSON_Delete(root);
  if (gen < 1 || gen > 9e15) return st_reply_error(rep, 400, "generation", "generation: must name a generation (a number)");
  if (!name_ok) return st_reply_error(rep, 400, "sweep", "sweep: the grid's file name (\"\" for a new grid)");
  st_job *j = st_pool_find(&s->pool, (uint64_t)gen);
  if (!j) return st_reply_error(rep, 404, "generation", "generation: %.0f is not among the recent ones", gen);
  pthread_mutex_lock(&j->mu);
  int ready = j->state == 2 && !j->failed && j->req.mode == ST_SAMPLE && j->col[0].done && j->col[0].stop_reason >= 0;
  pthread_mutex_unlock(&j->mu);
  int rc;
  if (!ready) {
    rc = st_reply_error(rep, 409, "generation", "generation: a sweep cell is a finished, unstopped sample");
  } else {
    pal_buf line = {0};
    pal_error err = {{0}};
    int lines;
    pthread_mutex_lock(&s->keep_mu);
    if (cell_json(s, j, sweep, &line) || st_studio_append(s, "cells.jsonl", &line, &lines, &err) || pal_buf_append(&line, "", 1))
      rc = st_reply_error(rep, 500, NULL, "%s", err.msg[0] ? err.msg : "out of memory");
    else
      rc = st_reply_json(rep, 200, line.data);
    pthread_mutex_unlock(&s->keep_mu);
    pal_buf_free(&line);
  }
  st_job_unref(j);
  return rc;
}

int st_api_kept(st_studio *s, st_reply *rep) {
  char *data = NULL;
  size_t len = 0;
  pthread_mutex_lock(&s->keep_mu);
  int bad = st_studio_read(s, "kept.jsonl", &data, &len);
  pthread_mutex_unlock(&s->keep_mu);
  if (bad) return st_reply_error(rep, 500, NULL, "studio/kept.jsonl: cannot be read");
  int rc = pal_buf_printf(&rep->body, "{\"kept\":[");
  size_t a = 0;
  int k = 0;
  while (a < len) {   /* each line re-serialised: a hand-edited broken line is left out */
    const char *nl = memchr(data + a, '\n', len - a);
    size_t b = nl ? (size_t)(nl - data) : len;
    cJSON *o = cJSON_ParseWithLength(data + a, b - a);
    char *txt = cJSON_IsObject(o) ? cJSON_PrintUnformatted(o) : NULL;
    if (txt) rc |= pal_buf_printf(&rep->body, "%s%s", k++ ? "," : "", txt);
    free(txt);
    cJSON_Delete(o);
    a = b + 1;
  }
  free(data);
  rc |= pal_buf_printf(&rep->body, "]}");
  rep->status = 200;
  rep->type = "application/json; charset=utf-8";
  return rc;
}

/* The kept record number k (caller deletes), or NULL. */
static cJSON *kept_find(st_studio *s, long k) {
  char *data = NULL;
  size_t len = 0;
  pthread_mutex_lock(&s->keep_mu);
  int bad = st_studio_read(s, "kept.jsonl", &data, &len);
  pthread_mutex_unlock(&s->keep_mu);
  cJSON *found = NULL;
  for (size_t a = 0; !bad && a < len && !found;) {
    const char *nl = memchr(data + a, '\n', len - a);
    size_t b = nl ? (size_t)(nl - data) : len;
    cJSON *o = cJSON_ParseWithLength(data + a, b - a);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "kept");
    if (cJSON_IsNumber(id) && id->valuedouble == (double)k) found = o;
    else cJSON_Delete(o);
    a = b + 1;
  }
  free(data);
  return found;
}

static long query_long(const char *query, const char *name, long dflt, long lo, long hi, int *bad) {
  char v[32], *end;
  if (!query || !st_query_get(query, name, v, sizeof v)) return dflt;
  long x = strtol(v, &end, 10);
  if (!v[0] || *end || x < lo || x > hi) *bad = 1;
  return x;
}

/* The caption under a downloaded text: its moments and settings. */
static void caption_of(const cJSON *rec, pal_buf *o) {
  const cJSON *set = cJSON_GetObjectItemCaseSensitive(rec, "settings"), *c;
  pal_buf_printf(o, "palimpsest · step");
  int k = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rec, "checkpoints")) {
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "step");
    if (cJSON_IsNumber(st)) pal_buf_printf(o, "%s %.0f", k++ ? "," : (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rec, "checkpoints")) > 1 ? "s" : ""), st->valuedouble);
  }
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(set, "temperature"), *seed = cJSON_GetObjectItemCaseSensitive(set, "seed");
  const cJSON *sch = cJSON_GetObjectItemCaseSensitive(set, "schedule");
  if (cJSON_IsNumber(t)) pal_buf_printf(o, " · temperature %g", t->valuedouble);
  if (cJSON_IsNumber(seed)) pal_buf_printf(o, " · seed %.0f", seed->valuedouble);
  if (cJSON_IsString(sch)) pal_buf_printf(o, " · schedule %s", sch->valuestring);
}

int st_api_download(st_studio *s, const char *query, st_reply *rep) {
  int bad = 0;
  long k = query_long(query, "kept", -1, 1, 100000000, &bad);
  pal_format_opts fo;
  pal_format_opts_default(&fo);
  fo.width = (int)query_long(query, "width", fo.width, 1, 400, &bad);
  fo.page_width = (int)query_long(query, "page_width", 0, 0, 1000, &bad);
  fo.reflow = (int)query_long(query, "reflow", 0, 0, 1, &bad);
  char align[16] = "left", format[16] = "text";
  if (query) st_query_get(query, "align", align, sizeof align), st_query_get(query, "format", format, sizeof format);
  fo.align = !strcmp(align, "center") ? PAL_ALIGN_CENTER : !strcmp(align, "right") ? PAL_ALIGN_RIGHT : PAL_ALIGN_LEFT;
  if (bad || k < 1) return st_reply_error(rep, 400, "kept", "kept, width (1..400), page_width (0..1000), reflow (0/1): out of range");
  if (strcmp(align, "left") && fo.align == PAL_ALIGN_LEFT) return st_reply_error(rep, 400, "align", "align: left, center or right");
  if (strcmp(format, "text") && strcmp(format, "html")) return st_reply_error(rep, 400, "format", "format: text or html");
  cJSON *rec = kept_find(s, k);
  if (!rec) return st_reply_error(rep, 404, "kept", "kept: no kept text %ld", k);
  const cJSON *set = cJSON_GetObjectItemCaseSensitive(rec, "settings");
  const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(set, "prompt"));
  const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "text"));
  pal_buf piece = {0}, caption = {0};
  pal_error err = {{0}};
  int rc = pal_buf_printf(&piece, "%s%s", prompt ? prompt : "", text ? text : "");   /* the whole piece, as `format` reads a generation */
  caption_of(rec, &caption);
  rc |= pal_buf_append(&caption, "", 1);
  int html = !strcmp(format, "html");
  if (!rc) rc = html ? pal_format_html(piece.data, piece.len, &fo, NULL, caption.data, &rep->body, &err)
                     : pal_format_text(piece.data, piece.len, &fo, &rep->body, &err);
  if (rc) st_reply_error(rep, 400, "width", "%s", err.msg[0] ? err.msg : "out of memory");
  else {
    rep->status = 200;
    rep->type = html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8";
    rep->disposition = "attachment";
    snprintf(rep->filename, sizeof rep->filename, "kept-%ld.%s", k, html ? "html" : "txt");
  }
  cJSON_Delete(rec);
  pal_buf_free(&piece);
  pal_buf_free(&caption);
  return 0;
}
