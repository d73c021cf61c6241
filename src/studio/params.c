/* params.c: a generation request's JSON body into an st_req, every field checked: types,
 * bounds (prompt, length, counts), then the CLI's own rules through the adapter. Never
 * trusts a field it does not know: an unknown one is refused by name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "studio/studio_internal.h"

void st_req_free(st_req *q) {
  if (!q) return;
  free(q->prompt);
  free(q->schedule);
  for (int i = 0; i < q->n_stop; i++) free(q->stop[i]);
  for (int i = 0; i < q->n_blend; i++) free(q->blend[i]);
  for (int i = 0; i < q->n_interp; i++) free(q->interp[i]);
  memset(q, 0, sizeof *q);
}

static const char *KNOWN[] = {"mode", "checkpoints", "prompt", "length", "seed", "temperature", "top_k",
                              "top_p", "min_p", "repetition_penalty", "no_repeat_ngram", "stop",
                              "ignore_eot", "pace_ms", "schedule", "context", "blend", "interpolate", "blend_space"};

typedef struct pctx { const cJSON *root; const char **field; pal_error *err; } pctx;

static int bad(pctx *c, const char *field, const char *fmt, const char *detail) {
  *c->field = field;
  return pal_errorf(c->err, fmt, field, detail);
}

/* A number field that must be integral in [lo, hi]; absent keeps *out. */
static int get_int(pctx *c, const char *key, double lo, double hi, long *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
  if (!v) return 0;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble))
    return bad(c, key, "%s: must be a whole number%s", "");
  if (v->valuedouble < lo || v->valuedouble > hi) {
    char range[64];
    snprintf(range, sizeof range, " in %.0f..%.0f", lo, hi);
    return bad(c, key, "%s: must be%s", range);
  }
  *out = (long)v->valuedouble;
  return 0;
}

static int get_float(pctx *c, const char *key, float *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
  if (!v) return 0;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 1e6)
    return bad(c, key, "%s: must be a number%s", "");
  *out = (float)v->valuedouble;
  return 0;
}

/* A string field of at most max bytes without NUL (cJSON stops at one: compare lengths
 * would need the raw text, so a \u0000 is refused by the parser's own length). */
static int get_str(pctx *c, const char *key, size_t max, char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
  if (!v) return 0;
  if (!cJSON_IsString(v)) return bad(c, key, "%s: must be a string%s", "");
  if (strlen(v->valuestring) > max) return bad(c, key, "%s: is too long%s", "");
  free(*out);
  if (!(*out = strdup(v->valuestring))) return pal_errorf(c->err, "studio: out of memory");
  return 0;
}

/* An array of at most max strings of at most len bytes each, non-empty. */
static int get_strs(pctx *c, const char *key, int max, size_t len, char **out, int *n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key), *e;
  if (!v) return 0;
  if (!cJSON_IsArray(v)) return bad(c, key, "%s: must be a list of strings%s", "");
  if (cJSON_GetArraySize(v) > max) return bad(c, key, "%s: too many entries%s", "");
  cJSON_ArrayForEach(e, v) {
    if (!cJSON_IsString(e) || !e->valuestring[0] || strlen(e->valuestring) > len)
      return bad(c, key, "%s: each entry must be a non-empty string of bounded length%s", "");
    if (!(out[*n] = strdup(e->valuestring))) return pal_errorf(c->err, "studio: out of memory");
    (*n)++;
  }
  return 0;
}

static int get_choice(pctx *c, const char *key, const char *a, const char *b, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
  if (!v) return 0;
  if (!cJSON_IsString(v) || (strcmp(v->valuestring, a) && strcmp(v->valuestring, b))) {
    char both[64];
    snprintf(both, sizeof both, "%s or %s", a, b);
    return bad(c, key, "%s: must be %s", both);
  }
  *out = !strcmp(v->valuestring, b);
  return 0;
}

static int by_step(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int get_checkpoints(pctx *c, st_run *r, st_req *q) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, "checkpoints"), *e;
  int lo = q->mode == ST_COMPARE ? 2 : 1, hi = q->mode == ST_SAMPLE ? 1 : q->mode == ST_COMPARE ? ST_MAX_COLS : ST_MAX_CKPT;
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < lo || cJSON_GetArraySize(v) > hi) {
    char range[64];
    snprintf(range, sizeof range, "%d to %d", lo, hi);
    return bad(c, "checkpoints", "%s: must be a list of %s steps or \"#index\"es", range);
  }
  cJSON_ArrayForEach(e, v) {
    int i = st_run_find(r, e);
    if (i < 0) return bad(c, "checkpoints", "%s: %s is not a checkpoint of the run", cJSON_IsString(e) ? e->valuestring : "a step");
    for (int k = 0; k < q->n_ckpt && q->mode == ST_WEAVE; k++)
      if (q->ckpt[k] == i) return bad(c, "checkpoints", "%s: a moment is named twice%s", "");
    q->ckpt[q->n_ckpt++] = i;
  }
  /* weave reads its moments in step order, as `weave --select` does (indices are in step order) */
  if (q->mode == ST_WEAVE) qsort(q->ckpt, (size_t)q->n_ckpt, sizeof *q->ckpt, by_step);
  return 0;
}

static int parse_fields(pctx *c, st_run *r, const pal_studio_opts *lim, st_req *q) {
  const cJSON *item;
  cJSON_ArrayForEach(item, c->root) {
    int known = 0;
    for (size_t k = 0; k < sizeof KNOWN / sizeof *KNOWN; k++) known |= !strcmp(item->string, KNOWN[k]);
    if (!known) {   /* the name outlives the parsed body: copied */
      static _Thread_local char name[64];
      snprintf(name, sizeof name, "%s", item->string);
      return bad(c, name, "%s: unknown field%s", "");
    }
  }
  const cJSON *mode = cJSON_GetObjectItemCaseSensitive(c->root, "mode");
  const char *m = cJSON_IsString(mode) ? mode->valuestring : "";
  q->mode = !strcmp(m, "sample") ? ST_SAMPLE : !strcmp(m, "compare") ? ST_COMPARE : !strcmp(m, "weave") ? ST_WEAVE : -1;
  if (q->mode < 0) return bad(c, "mode", "%s: must be sample, compare or weave%s", "");
  if (get_checkpoints(c, r, q)) return -1;
  long v;
  pal_sample_opts_default(&q->s);
  q->length = 100;
  q->seed = 1;
  if (get_str(c, "prompt", (size_t)lim->max_prompt, &q->prompt)) return -1;
  if (!q->prompt && !(q->prompt = strdup(""))) return pal_errorf(c->err, "studio: out of memory");
  v = q->length;
  if (get_int(c, "length", 1, lim->max_length, &v)) return -1;
  q->length = (int)v;
  if (get_int(c, "seed", 0, 9007199254740991.0, &q->seed)) return -1;
  if (get_float(c, "temperature", &q->s.temperature) || get_float(c, "top_p", &q->s.top_p) ||
      get_float(c, "min_p", &q->s.min_p) || get_float(c, "repetition_penalty", &q->s.repetition_penalty)) return -1;
  v = 0;
  if (get_int(c, "top_k", 0, 1000000, &v)) return -1;
  q->s.top_k = (int)v;
  v = 0;
  if (get_int(c, "no_repeat_ngram", 0, 64, &v)) return -1;
  q->s.no_repeat_ngram = (int)v;
  if (get_strs(c, "stop", ST_MAX_STOPS, ST_STOP_MAX, q->stop, &q->n_stop)) return -1;
  const cJSON *ie = cJSON_GetObjectItemCaseSensitive(c->root, "ignore_eot");
  if (ie && !cJSON_IsBool(ie)) return bad(c, "ignore_eot", "%s: must be true or false%s", "");
  q->ignore_eot = cJSON_IsTrue(ie);
  v = 0;
  if (get_int(c, "pace_ms", 0, 1000, &v)) return -1;
  q->pace_ms = (int)v;
  if (q->mode == ST_WEAVE) {
    if (get_str(c, "schedule", ST_SPEC_MAX, &q->schedule)) return -1;
    if (!q->schedule && !(q->schedule = strdup("cycle"))) return pal_errorf(c->err, "studio: out of memory");
    if (get_choice(c, "context", "shared", "own", &q->context_own) ||
        get_choice(c, "blend_space", "prob", "logit", &q->logit_space) ||
        get_strs(c, "blend", ST_MAX_VOICES, ST_SPEC_MAX, q->blend, &q->n_blend) ||
        get_strs(c, "interpolate", ST_MAX_INTERP, ST_SPEC_MAX, q->interp, &q->n_interp)) return -1;
    if (q->n_blend + q->n_interp > ST_MAX_VOICES) return bad(c, "blend", "%s: at most 8 blends and interpolations%s", "");
  } else {
    static const char *weave_only[] = {"schedule", "context", "blend", "interpolate", "blend_space"};
    for (int k = 0; k < 5; k++)
      if (cJSON_GetObjectItemCaseSensitive(c->root, weave_only[k])) return bad(c, weave_only[k], "%s: only a weave has it%s", "");
  }
  return st_run_check(r, q, c->field, c->err);
}

int st_req_parse(st_run *r, const char *body, size_t len, const pal_studio_opts *lim, st_req *q,
                 const char **field, pal_error *err) {
  memset(q, 0, sizeof *q);
  *field = NULL;
  cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    *field = "body";
    return pal_errorf(err, "body: not a JSON object");
  }
  pctx c = {root, field, err};
  int rc = parse_fields(&c, r, lim, q);
  cJSON_Delete(root);
  if (rc) st_req_free(q);
  return rc;
}
