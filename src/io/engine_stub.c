/* engine_stub.c: TEMPORARY weak stand-ins for the engine's parameter table (model.h) and the
 * tokenizer, so the io part builds and tests before those branches land; compiled only with
 * -DPAL_IO_STUBS (never in a normal build) and deleted once they are on main. */
#ifdef PAL_IO_STUBS
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/model.h"
#include "palimpsest/tokenizer.h"

#define WEAK __attribute__((weak))

WEAK int pal_config_validate(const pal_config *c, const char *what, pal_error *err) {
  if (c->n_layer <= 0 || c->n_head <= 0 || c->n_embd <= 0 || c->n_ctx <= 0 || c->vocab_size <= 0)
    return pal_errorf(err, "%s: n_layer, n_head, n_embd, n_ctx and vocab_size must be positive", what);
  if (c->n_embd % c->n_head) return pal_errorf(err, "%s: n_embd %d is not divisible by n_head %d", what, c->n_embd, c->n_head);
  if (!(c->layer_norm_epsilon > 0)) return pal_errorf(err, "%s: layer_norm_epsilon must be positive", what);
  return 0;
}

WEAK int pal_config_parse(const char *spec, pal_config *cfg, pal_error *err) {
  memset(cfg, 0, sizeof *cfg);
  cfg->vocab_size = 50257; cfg->layer_norm_epsilon = 1e-5f; cfg->bos_token_id = cfg->eos_token_id = 50256;
  cfg->n_ctx = 1024;
  if (!strcmp(spec, "124M")) { cfg->n_layer = 12; cfg->n_head = 12; cfg->n_embd = 768; return 0; }
  char *s = strdup(spec), *save = NULL;
  for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq) { free(s); return pal_errorf(err, "--config: bad '%s'", spec); }
    *eq = 0;
    int v = atoi(eq + 1);
    if (!strcmp(kv, "n_layer")) cfg->n_layer = v; else if (!strcmp(kv, "n_head")) cfg->n_head = v;
    else if (!strcmp(kv, "n_embd")) cfg->n_embd = v; else if (!strcmp(kv, "n_ctx")) cfg->n_ctx = v;
    else if (!strcmp(kv, "vocab_size")) cfg->vocab_size = v;
    else { free(s); return pal_errorf(err, "--config: unknown key '%s'", kv); }
  }
  free(s);
  return pal_config_validate(cfg, "--config", err);
}

WEAK int pal_num_tensors(const pal_config *cfg) { return 4 + 12 * cfg->n_layer; }

static const char *LNAMES[PAL_T_PER_LAYER] = {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight",
  "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
  "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};

WEAK void pal_tensor_info_at(const pal_config *cfg, int i, pal_tensor_info *o) {
  int64_t C = cfg->n_embd, V = cfg->vocab_size, P = cfg->n_ctx, L = cfg->n_layer;
  memset(o, 0, sizeof *o);
  size_t off = 0;
  int idx = 0;
  for (;; idx++) {
    pal_tensor_info t = {0};
    if (idx == 0) { strcpy(t.name, "wte.weight"); t.ndim = 2; t.shape[0] = V; t.shape[1] = C; }
    else if (idx == 1) { strcpy(t.name, "wpe.weight"); t.ndim = 2; t.shape[0] = P; t.shape[1] = C; }
    else if (idx < 2 + 12 * L) {
      int l = (idx - 2) / 12, k = (idx - 2) % 12;
      snprintf(t.name, sizeof t.name, "h.%d.%s", l, LNAMES[k]);
      int64_t shapes[12][2] = {{C, 0}, {C, 0}, {C, 3 * C}, {3 * C, 0}, {C, C}, {C, 0}, {C, 0}, {C, 0},
                               {C, 4 * C}, {4 * C, 0}, {4 * C, C}, {C, 0}};
      t.shape[0] = shapes[k][0]; t.shape[1] = shapes[k][1]; t.ndim = shapes[k][1] ? 2 : 1;
    } else { strcpy(t.name, idx == 2 + 12 * L ? "ln_f.weight" : "ln_f.bias"); t.ndim = 1; t.shape[0] = C; }
    t.n_elems = (size_t)(t.shape[0] * (t.ndim == 2 ? t.shape[1] : 1));
    t.offset = off;
    off += t.n_elems;
    if (idx == i) { *o = t; return; }
  }
}

static int n_layer_of_table;
WEAK float **pal_params_slot(pal_params *p, int i) {
  if (i == 0) return &p->wte;
  if (i == 1) return &p->wpe;
  int rest = i - 2;
  if (rest == 12 * n_layer_of_table) return &p->ln_f_w;   /* stub only: n_layer of the last table */
  if (rest == 12 * n_layer_of_table + 1) return &p->ln_f_b;
  int l = rest / 12, k = rest % 12;
  pal_layer_params *h = &p->h[l];
  float **s[12] = {&h->ln_1_w, &h->ln_1_b, &h->c_attn_w, &h->c_attn_b, &h->attn_proj_w, &h->attn_proj_b,
                   &h->ln_2_w, &h->ln_2_b, &h->c_fc_w, &h->c_fc_b, &h->mlp_proj_w, &h->mlp_proj_b};
  return s[k];
}

WEAK size_t pal_params_count(const pal_config *cfg) {
  pal_tensor_info t;
  pal_tensor_info_at(cfg, pal_num_tensors(cfg) - 1, &t);
  return t.offset + t.n_elems;
}

WEAK int pal_params_alloc_table(pal_params *p, const pal_config *cfg, pal_error *err) {
  memset(p, 0, sizeof *p);
  p->h = calloc((size_t)cfg->n_layer + 1, sizeof *p->h);
  if (!p->h) return pal_errorf(err, "out of memory");
  p->n_floats = pal_params_count(cfg);
  n_layer_of_table = cfg->n_layer;
  return 0;
}

static float **slot(pal_params *p, const pal_config *cfg, int i) {
  int n = pal_num_tensors(cfg);
  if (i == n - 2) return &p->ln_f_w;
  if (i == n - 1) return &p->ln_f_b;
  return pal_params_slot(p, i);
}

WEAK int pal_params_point_into(pal_params *p, const pal_config *cfg, float *flat, pal_error *err) {
  for (int i = 0; i < pal_num_tensors(cfg); i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    *slot(p, cfg, i) = flat + t.offset;
  }
  return 0;
}

WEAK int pal_params_alloc(pal_params *p, const pal_config *cfg, pal_error *err) {
  if (pal_params_alloc_table(p, cfg, err)) return -1;
  p->flat = calloc(p->n_floats, sizeof(float));
  if (!p->flat) { free(p->h); return pal_errorf(err, "out of memory"); }
  return pal_params_point_into(p, cfg, p->flat, err);
}

WEAK void pal_params_free(pal_params *p) {
  if (!p) return;
  free(p->h);
  free(p->flat);
  memset(p, 0, sizeof *p);
}

WEAK void pal_params_init_gpt2(pal_params *p, const pal_config *cfg, uint64_t seed) {
  pal_rng rng;
  pal_rng_seed(&rng, seed);
  for (int i = 0; i < pal_num_tensors(cfg); i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    float *d = *slot(p, cfg, i);
    int is_w = strstr(t.name, ".weight") != NULL;
    for (size_t k = 0; k < t.n_elems; k++)
      d[k] = t.ndim == 2 ? 0.02f * pal_rng_normal(&rng) : (is_w ? 1.0f : 0.0f);
  }
}

WEAK int pal_gpt2_create(pal_gpt2 **out, const pal_config *cfg, pal_params *params, int max_B,
                         int max_T, int training, pal_error *err) {
  *out = NULL;
  return pal_errorf(err, "the GPT-2 engine is not built yet");
}
WEAK void pal_gpt2_free(pal_gpt2 *m) { (void)m; }
WEAK int pal_gpt2_forward(pal_gpt2 *m, const int *inputs, const int *targets, int B, int T,
                          float *loss, pal_error *err) {
  return pal_errorf(err, "the GPT-2 engine is not built yet");
}

WEAK int pal_tokenizer_load(pal_tokenizer **out, const char *dir, pal_error *err) {
  *out = NULL;
  return pal_errorf(err, "%s: the tokenizer is not built yet", dir);
}
WEAK void pal_tokenizer_free(pal_tokenizer *tok) { (void)tok; }
WEAK int pal_tokenizer_encode(pal_tokenizer *tok, const char *text, size_t len, int allow_special,
                              pal_ids *out, pal_error *err) {
  return pal_errorf(err, "the tokenizer is not built yet");
}
#else
typedef int pal_io_stubs_disabled;   /* ISO C forbids an empty translation unit */
#endif
