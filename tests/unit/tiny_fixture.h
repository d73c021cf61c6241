/* tiny_fixture.h: loads tests/fixtures/tiny/ (written by tests/ref/make_fixtures.py) for the
 * engine's unit tests: the config, ids, and float32 .bin expectations. Header-only, test use. */
#ifndef PAL_TINY_FIXTURE_H
#define PAL_TINY_FIXTURE_H
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/model.h"

typedef struct tiny_fixture {
  cJSON *json;
  pal_config cfg;
  int B, T;
  int *inputs, *targets;  /* (B*T) */
  float loss;
} tiny_fixture;

static inline int tiny_int(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valueint : -1;
}
static inline double tiny_num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
static inline int *tiny_ints(const cJSON *o, const char *k, int *n) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
  int len = cJSON_GetArraySize(a);
  int *out = calloc((size_t)len + 1, sizeof(int));
  for (int i = 0; i < len; i++) out[i] = cJSON_GetArrayItem(a, i)->valueint;
  if (n) *n = len;
  return out;
}
/* Reads tests/fixtures/tiny/NAME as n floats; NULL (and a failed check) on a size mismatch. */
static inline float *tiny_floats(const char *name, size_t n) {
  char path[256];
  snprintf(path, sizeof path, "tiny/%s", name);
  size_t len = 0;
  char *data = check_read(check_fixture(path), &len);
  CHECK(data && len == n * sizeof(float), "fixture %s holds %zu floats", name, n);
  if (!data || len != n * sizeof(float)) { free(data); return NULL; }
  return (float *)data;
}

static inline int tiny_load(tiny_fixture *f) {
  memset(f, 0, sizeof *f);
  char *text = check_read(check_fixture("tiny/expect.json"), NULL);
  if (!text) return -1;
  f->json = cJSON_Parse(text);
  free(text);
  if (!f->json) return -1;
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(f->json, "config");
  f->cfg.n_layer = tiny_int(c, "n_layer");
  f->cfg.n_head = tiny_int(c, "n_head");
  f->cfg.n_embd = tiny_int(c, "n_embd");
  f->cfg.n_ctx = tiny_int(c, "n_ctx");
  f->cfg.vocab_size = tiny_int(c, "vocab_size");
  f->cfg.layer_norm_epsilon = (float)tiny_num(c, "layer_norm_epsilon");
  f->cfg.bos_token_id = tiny_int(c, "bos_token_id");
  f->cfg.eos_token_id = tiny_int(c, "eos_token_id");
  f->B = tiny_int(f->json, "B");
  f->T = tiny_int(f->json, "T");
  f->inputs = tiny_ints(f->json, "inputs", NULL);
  f->targets = tiny_ints(f->json, "targets", NULL);
  f->loss = (float)tiny_num(f->json, "loss");
  return 0;
}

/* Allocates params and fills them from params.bin (canonical order). */
static inline int tiny_params(const tiny_fixture *f, pal_params *p) {
  pal_error err;
  if (pal_params_alloc(p, &f->cfg, &err)) return -1;
  float *w = tiny_floats("params.bin", p->n_floats);
  if (!w) return -1;
  memcpy(p->flat, w, p->n_floats * sizeof(float));
  free(w);
  return 0;
}

static inline void tiny_free(tiny_fixture *f) {
  cJSON_Delete(f->json);
  free(f->inputs);
  free(f->targets);
  memset(f, 0, sizeof *f);
}

/* Largest violation of |a-b| <= atol + rtol |b| as a ratio (<= 1 passes); *where its index. */
static inline double tiny_close(const float *a, const float *b, size_t n, double atol, double rtol, size_t *where) {
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
    if (isnan(r)) { if (where) *where = i; return INFINITY; }
    if (r > worst) { worst = r; if (where) *where = i; }
  }
  return worst;
}
#endif
