/* jsonl.c: reading JSON-lines files (run logs, sweeps, weaves) with cJSON, and pulling a
 * generated text and its settings out of them for `format`. Reads only; writes nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "present/present_internal.h"

double pres_num(const cJSON *obj, const char *key, double fallback) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : fallback;
}

const char *pres_str(const cJSON *obj, const char *key, const char *fallback) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) && v->valuestring ? v->valuestring : fallback;
}

int pres_jsonl_each(const char *path, const char *data, size_t len, pres_jsonl_fn fn, void *ctx,
                    pal_error *err) {
  int lineno = 0;
  for (size_t i = 0; i < len;) {
    size_t eol = i;
    while (eol < len && data[eol] != '\n') eol++;
    lineno++;
    size_t a = i, b = eol;
    while (a < b && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r')) a++;
    while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' || data[b - 1] == '\r')) b--;
    int last_unterminated = eol == len;
    i = eol + 1;
    if (a == b) continue;
    cJSON *obj = cJSON_ParseWithLength(data + a, b - a);
    if (!obj || !cJSON_IsObject(obj)) {
      cJSON_Delete(obj);
      if (last_unterminated) break;   /* a writer is still at this line */
      return pal_errorf(err, "%s:%d: not a JSON object", path, lineno);
    }
    int rc = fn(obj, lineno, ctx, err);
    cJSON_Delete(obj);
    if (rc) return rc;
  }
  return 0;
}

/* ---- Generation text and caption for `format` */

typedef struct gen_ctx {
  pal_buf text;
  int is_weave, n_texts, saw_end, oom;
  pal_buf tokens;                      /* weave tokens joined (when no end line) */
  double steps[64]; int n_steps;       /* distinct values, first seen first */
  double temps[16]; int n_temps;
  double seeds[16]; int n_seeds;
  char schedule[128];
} gen_ctx;

static void add_distinct(double *vals, int *n, int cap, double v) {
  if (isnan(v)) return;
  for (int i = 0; i < *n; i++) if (vals[i] == v) return;
  if (*n < cap) vals[(*n)++] = v;
}

static int gen_line(const cJSON *obj, int lineno, void *vctx, pal_error *err) {
  gen_ctx *g = vctx;
  const char *type = pres_str(obj, "type", NULL);
  if (lineno == 1 && type && !strcmp(type, "weave")) {
    g->is_weave = 1;
    const cJSON *cks = cJSON_GetObjectItemCaseSensitive(obj, "checkpoints"), *ck;
    cJSON_ArrayForEach(ck, cks) add_distinct(g->steps, &g->n_steps, 64, pres_num(ck, "step", NAN));
    add_distinct(g->temps, &g->n_temps, 16, pres_num(obj, "temperature", NAN));
    add_distinct(g->seeds, &g->n_seeds, 16, pres_num(obj, "seed", NAN));
    snprintf(g->schedule, sizeof g->schedule, "%s", pres_str(obj, "schedule", ""));
    return 0;
  }
  if (g->is_weave) {
    const char *t = pres_str(obj, "text", NULL);
    if (type && !strcmp(type, "token") && t) {
      if (pal_buf_append(&g->tokens, t, strlen(t))) return g->oom = 1, pal_errorf(err, "format: out of memory");
    } else if (type && !strcmp(type, "end") && t) {
      g->saw_end = 1;
      g->text.len = 0;
      if (pal_buf_append(&g->text, t, strlen(t))) return g->oom = 1, pal_errorf(err, "format: out of memory");
    }
    return 0;
  }
  const char *t = pres_str(obj, "text", NULL);
  if (!t) return -2;   /* not a generation line: the input is not ours */
  if ((g->n_texts++ > 0 && pal_buf_append(&g->text, "\n\n", 2)) || pal_buf_append(&g->text, t, strlen(t)))
    return g->oom = 1, pal_errorf(err, "format: out of memory");
  add_distinct(g->steps, &g->n_steps, 64, pres_num(obj, "step", NAN));
  add_distinct(g->temps, &g->n_temps, 16, pres_num(obj, "temperature", NAN));
  add_distinct(g->seeds, &g->n_seeds, 16, pres_num(obj, "seed", NAN));
  return 0;
}

static int list_caption(pal_buf *c, const char *one, const char *many, const double *v, int n) {
  if (n == 0) return 0;
  int rc = pal_buf_printf(c, "%s%s ", c->len ? " \xC2\xB7 " : "", n > 1 ? many : one);
  for (int i = 0; i < n && !rc; i++) rc = pal_buf_printf(c, "%s%.6g", i ? ", " : "", v[i]);
  return rc;
}

int pal_generation_from_jsonl(const char *data, size_t len, char **text, char **caption, pal_error *err) {
  *text = NULL;
  *caption = NULL;
  size_t i = 0;
  while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) i++;
  if (i == len || data[i] != '{') return 0;
  gen_ctx g = {0};
  pal_error sub;
  int rc = pres_jsonl_each("input", data, len, gen_line, &g, &sub);
  if (g.oom) {
    *err = sub;
    rc = -1;
  } else if (rc || (!g.is_weave && g.n_texts == 0)) {
    rc = 0;   /* not JSON lines of ours: the caller treats the input as text */
  } else {
    if (g.is_weave && !g.saw_end) { pal_buf_free(&g.text); g.text = g.tokens; g.tokens = (pal_buf){0}; }
    pal_buf c = {0};
    int mrc = pal_buf_append(&g.text, "", 0) || pal_buf_append(&c, "", 0);
    if (!mrc && g.is_weave && g.schedule[0]) mrc = pal_buf_printf(&c, "weave, schedule %s", g.schedule);
    if (!mrc) mrc = list_caption(&c, "checkpoint at step", "checkpoints at steps", g.steps, g.n_steps);
    if (!mrc) mrc = list_caption(&c, "temperature", "temperatures", g.temps, g.n_temps);
    if (!mrc) mrc = list_caption(&c, "seed", "seeds", g.seeds, g.n_seeds);
    if (mrc) {
      pal_buf_free(&c);
      rc = pal_errorf(err, "format: out of memory");
    } else {
      *text = g.text.data;
      *caption = c.data;
      g.text = (pal_buf){0};
      rc = 1;
    }
  }
  pal_buf_free(&g.text);
  pal_buf_free(&g.tokens);
  return rc;
}
