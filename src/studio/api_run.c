/* api_run.c: what the page shows of the run: its checkpoints (step, size, kind), the
 * training and per-source validation losses with the curriculum's swaps (RUN/log.jsonl),
 * run.json's settings, and the sweep files in RUN. Reads only files it lists itself in RUN;
 * re-serialises what it read (a broken line is skipped, never passed on). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "studio/studio_internal.h"

#define ST_MAX_FILE (256u << 20)   /* bytes of a log or sweep file the studio reads */
#define ST_TRAIN_POINTS 2000       /* training points sent (bucket means beyond) */

/* Reads RUN/name when it is a regular file (not a link) of bounded size. */
static int read_run_file(const char *run, const char *name, char **data, size_t *len) {
  char p[4096];
  struct stat st;
  *data = NULL;
  if (pal_pathf(p, sizeof p, "%s/%s", run, name) || lstat(p, &st) || !S_ISREG(st.st_mode) ||
      (size_t)st.st_size > ST_MAX_FILE) return -1;
  return pal_read_file(p, data, len, NULL);
}

typedef int (*line_fn)(cJSON *obj, void *ctx);
static void each_line(const char *data, size_t len, line_fn fn, void *ctx) {
  size_t a = 0;
  while (a < len) {
    const char *nl = memchr(data + a, '\n', len - a);
    size_t b = nl ? (size_t)(nl - data) : len;
    cJSON *o = nl ? cJSON_ParseWithLength(data + a, b - a) : NULL;   /* an unterminated last line: still being written */
    if (cJSON_IsObject(o) && fn(o, ctx)) { cJSON_Delete(o); return; }
    cJSON_Delete(o);
    a = b + 1;
  }
}

static double num(const cJSON *o, const char *k, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}
static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

typedef struct logs { pal_buf train, val, swaps; double *tx, *ty; size_t n_train, cap; int first_val, first_swap; } logs;

static int log_line(cJSON *o, void *ctx) {
  logs *l = ctx;
  const char *type = str(o, "type"), *src = str(o, "source");
  double step = num(o, "step", -1), loss = num(o, "loss", -1);
  if (!type || step < 0) return 0;
  if (!strcmp(type, "train") && loss >= 0) {
    if (l->n_train == l->cap) {
      l->cap = l->cap ? 2 * l->cap : 1024;
      double *x = realloc(l->tx, l->cap * sizeof *x), *y = x ? realloc(l->ty, l->cap * sizeof *y) : NULL;
      if (x) l->tx = x;
      if (!x || !y) return 1;
      l->ty = y;
    }
    l->tx[l->n_train] = step;
    l->ty[l->n_train++] = loss;
  } else if (!strcmp(type, "val") && loss >= 0 && src) {
    const char *origin = str(o, "origin");   /* a mixture's original file: a curve of its own */
    char both[600];
    if (origin) snprintf(both, sizeof both, "%.200s: %.300s", src, strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin);
    pal_buf_printf(&l->val, "%s{\"step\":%.0f,\"loss\":", l->first_val++ ? "," : "", step);
    pal_json_num(&l->val, "%.6g", loss);
    pal_buf_append(&l->val, ",\"source\":", 10);
    pal_json_cstr(&l->val, origin ? both : src);
    pal_buf_append(&l->val, "}", 1);
  } else if (!strcmp(type, "swap") && src) {
    pal_buf_printf(&l->swaps, "%s{\"step\":%.0f,\"source\":", l->first_swap++ ? "," : "", step);
    pal_json_cstr(&l->swaps, src);
    pal_buf_append(&l->swaps, "}", 1);
  }
  return 0;
}

/* Training points, averaged into at most ST_TRAIN_POINTS buckets. */
static void train_json(logs *l, pal_buf *out) {
  size_t per = l->n_train / ST_TRAIN_POINTS + 1;
  for (size_t a = 0, k = 0; a < l->n_train; a += per, k++) {
    double sum = 0;
    size_t b = a + per < l->n_train ? a + per : l->n_train;
    for (size_t i = a; i < b; i++) sum += l->ty[i];
    pal_buf_printf(out, "%s[%.0f,%.6g]", k ? "," : "", l->tx[b - 1], sum / (double)(b - a));
  }
}

static void checkpoints_json(const st_run *r, pal_buf *out) {
  int n = st_run_count(r);
  for (int i = 0; i < n; i++) {
    const st_ckpt *c = st_run_ckpt(r, i);
    const char *kind = c->step == 0 ? "initial" : i == n - 1 ? "latest" : "saved";
    pal_buf_printf(out, "%s{\"index\":%d,\"step\":%ld,\"bytes\":%.0f,\"kind\":\"%s\",\"resumable\":%s,\"name\":",
                   i ? "," : "", i, c->step, c->bytes, kind, c->has_optimizer ? "true" : "false");
    pal_json_cstr(out, c->name);
    pal_buf_append(out, "}", 1);
  }
}

/* run.json's argument list, re-serialised string by string. */
static void args_json(const char *run, pal_buf *out) {
  char *data = NULL;
  size_t len = 0;
  pal_buf_append(out, "[", 1);
  if (!read_run_file(run, "run.json", &data, &len)) {
    cJSON *j = cJSON_ParseWithLength(data, len), *a;
    int k = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "args"))
      if (cJSON_IsString(a)) { if (k++) pal_buf_append(out, ",", 1); pal_json_cstr(out, a->valuestring); }
    cJSON_Delete(j);
  }
  free(data);
  pal_buf_append(out, "]", 1);
}

int st_api_run(st_studio *s, st_reply *rep) {
  logs l = {0};
  char *data = NULL;
  size_t len = 0;
  if (!read_run_file(s->run_dir, "log.jsonl", &data, &len)) each_line(data, len, log_line, &l);
  free(data);
  const pal_config *cfg = st_run_config(s->run);
  const char *base = strrchr(s->run_dir, '/');
  pal_buf *o = &rep->body;
  pal_buf_printf(o, "{\"run\":");
  pal_json_cstr(o, base && base[1] ? base + 1 : s->run_dir);
  pal_buf_printf(o, ",\"config\":{\"n_layer\":%d,\"n_head\":%d,\"n_embd\":%d,\"n_ctx\":%d,\"vocab_size\":%d},"
                 "\"limits\":{\"length\":%d,\"prompt\":%d,\"jobs\":%d,\"queue\":%d},\"checkpoints\":[",
                 cfg->n_layer, cfg->n_head, cfg->n_embd, cfg->n_ctx, cfg->vocab_size, s->o.max_length,
                 s->o.max_prompt, s->o.jobs, s->o.queue);
  checkpoints_json(s->run, o);
  pal_buf_printf(o, "],\"train\":[");
  train_json(&l, o);
  pal_buf_printf(o, "],\"val\":[%.*s],\"swaps\":[%.*s],\"args\":", (int)l.val.len, l.val.data ? l.val.data : "",
                 (int)l.swaps.len, l.swaps.data ? l.swaps.data : "");
  args_json(s->run_dir, o);
  int rc = pal_buf_append(o, "}", 1);
  free(l.tx); free(l.ty);
  pal_buf_free(&l.val); pal_buf_free(&l.swaps); pal_buf_free(&l.train);
  rep->status = 200;
  rep->type = "application/json; charset=utf-8";
  return rc;
}

/* A sweep file: RUN/NAME.jsonl whose first line is a record with step and temperature. */
static int first_is_sweep(cJSON *o, void *ctx) {
  *(int *)ctx = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "step")) &&
                cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "temperature")) &&
                cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "text"));
  return 1;
}

static int is_sweep(const char *run, const char *name) {
  size_t nl = strlen(name);
  if (nl < 7 || nl > 200 || strcmp(name + nl - 6, ".jsonl") || name[0] == '.' || !strcmp(name, "log.jsonl")) return 0;
  char *data = NULL;
  size_t len = 0;
  int yes = 0;
  if (!read_run_file(run, name, &data, &len)) each_line(data, len, first_is_sweep, &yes);
  free(data);
  return yes;
}

int st_api_sweeps(st_studio *s, st_reply *rep) {
  DIR *d = opendir(s->run_dir);
  struct dirent *e;
  int k = 0, rc = pal_buf_printf(&rep->body, "{\"sweeps\":[");
  while (d && (e = readdir(d)))
    if (is_sweep(s->run_dir, e->d_name)) {
      rc |= pal_buf_printf(&rep->body, "%s", k++ ? "," : "");
      rc |= pal_json_cstr(&rep->body, e->d_name);
    }
  if (d) closedir(d);
  rc |= pal_buf_printf(&rep->body, "]}");
  rep->status = 200;
  rep->type = "application/json; charset=utf-8";
  return rc;
}

typedef struct sweep_out { pal_buf *out; int k; } sweep_out;
static int sweep_line(cJSON *o, void *ctx) {
  sweep_out *w = ctx;
  static const char *nums[] = {"step", "temperature", "seed", "sample", "tokens", "distinct_1", "distinct_2",
                               "longest_repeat", "repeat_share"};
  cJSON *rec = cJSON_CreateObject(), *v;
  for (int i = 0; i < 9; i++)
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, nums[i]))) cJSON_AddNumberToObject(rec, nums[i], v->valuedouble);
  static const char *strs[] = {"prompt", "text", "stop"};
  for (int i = 0; i < 3; i++)
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(o, strs[i]))) cJSON_AddStringToObject(rec, strs[i], v->valuestring);
  cJSON_AddBoolToObject(rec, "degenerate", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "degenerate")));
  cJSON *set = cJSON_GetObjectItemCaseSensitive(o, "settings");
  if (cJSON_IsObject(set)) cJSON_AddItemToObject(rec, "settings", cJSON_Duplicate(set, 1));
  char *txt = cJSON_PrintUnformatted(rec);
  if (txt) { pal_buf_printf(w->out, "%s%s", w->k++ ? "," : "", txt); free(txt); }
  cJSON_Delete(rec);
  return 0;
}

/* The cells written on click for the grid `name` (RUN/studio/cells.jsonl). */
typedef struct cells_out { sweep_out w; const char *name; } cells_out;
static int cell_line(cJSON *o, void *ctx) {
  cells_out *c = ctx;
  const char *sw = str(o, "sweep");
  return sw && !strcmp(sw, c->name) ? sweep_line(o, &c->w) : 0;
}

int st_api_sweep(st_studio *s, const char *name, st_reply *rep) {
  char *data = NULL;
  size_t len = 0;
  if (name[0] && (strchr(name, '/') || !is_sweep(s->run_dir, name)))
    return st_reply_error(rep, 404, "name", "name: '%.100s' is not a sweep file of the run", name);
  if (name[0] && read_run_file(s->run_dir, name, &data, &len)) return st_reply_error(rep, 404, "name", "name: cannot read it");
  sweep_out w = {&rep->body, 0};
  int rc = pal_buf_printf(&rep->body, "{\"name\":");
  rc |= pal_json_cstr(&rep->body, name);
  rc |= pal_buf_printf(&rep->body, ",\"records\":[");
  each_line(data ? data : "", len, sweep_line, &w);
  free(data);
  rc |= pal_buf_printf(&rep->body, "],\"cells\":[");
  pthread_mutex_lock(&s->keep_mu);
  int bad = st_studio_read(s, "cells.jsonl", &data, &len);
  pthread_mutex_unlock(&s->keep_mu);
  cells_out c = {{&rep->body, 0}, name};
  if (!bad) each_line(data ? data : "", len, cell_line, &c);
  free(data);
  rc |= pal_buf_printf(&rep->body, "]}");
  rep->status = 200;
  rep->type = "application/json; charset=utf-8";
  return rc;
}
