/* params.c: GPT-2's parameters as a table of named tensors in one canonical order, one flat
 * buffer (owned or borrowed), and GPT-2's initialisation. Knows nothing of files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/model.h"

int pal_num_tensors(const pal_config *cfg) { return 2 + PAL_T_PER_LAYER * cfg->n_layer + 2; }

/* Shape of tensor i; fills name, ndim, shape, n_elems (not offset). */
static void tensor_shape(const pal_config *cfg, int i, pal_tensor_info *o) {
  int64_t C = cfg->n_embd;
  memset(o, 0, sizeof *o);
  int last = 2 + PAL_T_PER_LAYER * cfg->n_layer;
  if (i == 0) { snprintf(o->name, sizeof o->name, "wte.weight"); o->ndim = 2; o->shape[0] = cfg->vocab_size; o->shape[1] = C; }
  else if (i == 1) { snprintf(o->name, sizeof o->name, "wpe.weight"); o->ndim = 2; o->shape[0] = cfg->n_ctx; o->shape[1] = C; }
  else if (i == last) { snprintf(o->name, sizeof o->name, "ln_f.weight"); o->ndim = 1; o->shape[0] = C; }
  else if (i == last + 1) { snprintf(o->name, sizeof o->name, "ln_f.bias"); o->ndim = 1; o->shape[0] = C; }
  else {
    static const char *names[PAL_T_PER_LAYER] = {
      "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
      "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
      "mlp.c_proj.weight", "mlp.c_proj.bias"};
    static const int rows[PAL_T_PER_LAYER] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 0};  /* x C */
    static const int cols[PAL_T_PER_LAYER] = {1, 1, 3, 3, 1, 1, 1, 1, 4, 4, 1, 1};  /* x C */
    int l = (i - 2) / PAL_T_PER_LAYER, k = (i - 2) % PAL_T_PER_LAYER;
    snprintf(o->name, sizeof o->name, "h.%d.%s", l, names[k]);
    if (rows[k]) { o->ndim = 2; o->shape[0] = rows[k] * C; o->shape[1] = cols[k] * C; }
    else { o->ndim = 1; o->shape[0] = cols[k] * C; }
  }
  o->n_elems = (size_t)o->shape[0] * (size_t)(o->ndim == 2 ? o->shape[1] : 1);
}

void pal_tensor_info_at(const pal_config *cfg, int i, pal_tensor_info *out) {
  size_t C = (size_t)cfg->n_embd, off = 0;
  int last = 2 + PAL_T_PER_LAYER * cfg->n_layer;
  /* offsets in closed form: embeddings, then equal-sized layers, then ln_f */
  size_t layer = 12 * C * C + 13 * C;
  tensor_shape(cfg, i, out);
  if (i >= 1) off += (size_t)cfg->vocab_size * C;
  if (i >= 2) off += (size_t)cfg->n_ctx * C;
  if (i >= 2 && i < last) {
    int l = (i - 2) / PAL_T_PER_LAYER, k = (i - 2) % PAL_T_PER_LAYER;
    off += (size_t)l * layer;
    pal_tensor_info t;
    for (int j = 0; j < k; j++) { tensor_shape(cfg, 2 + j, &t); off += t.n_elems; }
  } else if (i >= last) {
    off += (size_t)cfg->n_layer * layer + (i == last + 1 ? C : 0);
  }
  out->offset = off;
}

size_t pal_params_count(const pal_config *cfg) {
  size_t C = (size_t)cfg->n_embd;
  return ((size_t)cfg->vocab_size + (size_t)cfg->n_ctx) * C + (size_t)cfg->n_layer * (12 * C * C + 13 * C) + 2 * C;
}

float **pal_params_slot(pal_params *p, int i) {
  if (i == 0) return &p->wte;
  if (i == 1) return &p->wpe;
  int last = 2 + PAL_T_PER_LAYER * p->n_layer;
  if (i == last) return &p->ln_f_w;
  if (i == last + 1) return &p->ln_f_b;
  if (i < 0 || i > last + 1 || !p->h) return NULL;
  pal_layer_params *h = &p->h[(i - 2) / PAL_T_PER_LAYER];
  switch ((i - 2) % PAL_T_PER_LAYER) {
    case PAL_T_LN1_W: return &h->ln_1_w;
    case PAL_T_LN1_B: return &h->ln_1_b;
    case PAL_T_QKV_W: return &h->c_attn_w;
    case PAL_T_QKV_B: return &h->c_attn_b;
    case PAL_T_ATTPROJ_W: return &h->attn_proj_w;
    case PAL_T_ATTPROJ_B: return &h->attn_proj_b;
    case PAL_T_LN2_W: return &h->ln_2_w;
    case PAL_T_LN2_B: return &h->ln_2_b;
    case PAL_T_FC_W: return &h->c_fc_w;
    case PAL_T_FC_B: return &h->c_fc_b;
    case PAL_T_FCPROJ_W: return &h->mlp_proj_w;
    default: return &h->mlp_proj_b;
  }
}

int pal_params_alloc_table(pal_params *p, const pal_config *cfg, pal_error *err) {
  memset(p, 0, sizeof *p);
  p->h = calloc((size_t)cfg->n_layer, sizeof *p->h);
  if (!p->h) return pal_errorf(err, "out of memory for %d layers", cfg->n_layer);
  p->n_layer = cfg->n_layer;
  p->n_floats = pal_params_count(cfg);
  return 0;
}

int pal_params_point_into(pal_params *p, const pal_config *cfg, float *flat, pal_error *err) {
  if (!p->h && pal_params_alloc_table(p, cfg, err)) return -1;
  int n = pal_num_tensors(cfg);
  for (int i = 0; i < n; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    *pal_params_slot(p, i) = flat + t.offset;
  }
  p->n_floats = pal_params_count(cfg);
  return 0;
}

int pal_params_alloc(pal_params *p, const pal_config *cfg, pal_error *err) {
  if (pal_params_alloc_table(p, cfg, err)) return -1;
  float *flat = calloc(p->n_floats, sizeof(float));
  if (!flat) {
    size_t n = p->n_floats;
    pal_params_free(p);
    return pal_errorf(err, "out of memory for %zu parameters (%.1f GB)", n, n * 4.0 / 1e9);
  }
  pal_params_point_into(p, cfg, flat, err);
  p->flat = flat;
  return 0;
}

size_t pal_params_count_masked(const pal_config *cfg, const unsigned char *trainable) {
  if (!trainable) return pal_params_count(cfg);
  size_t n = 0;
  int nt = pal_num_tensors(cfg);
  for (int i = 0; i < nt; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    if (trainable[i]) n += t.n_elems;
  }
  return n;
}

int pal_params_alloc_masked(pal_params *p, const pal_config *cfg, const unsigned char *trainable,
                            pal_error *err) {
  if (!trainable) return pal_params_alloc(p, cfg, err);
  if (pal_params_alloc_table(p, cfg, err)) return -1;
  size_t n = pal_params_count_masked(cfg, trainable);
  float *flat = calloc(n ? n : 1, sizeof(float));
  if (!flat) {
    pal_params_free(p);
    return pal_errorf(err, "out of memory for %zu gradients (%.1f GB)", n, n * 4.0 / 1e9);
  }
  size_t off = 0;
  int nt = pal_num_tensors(cfg);
  for (int i = 0; i < nt; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    if (!trainable[i]) continue;
    *pal_params_slot(p, i) = flat + off;
    off += t.n_elems;
  }
  p->flat = flat;
  p->n_floats = n;
  return 0;
}

void pal_params_free(pal_params *p) {
  if (!p) return;
  free(p->h);
  free(p->flat);
  memset(p, 0, sizeof *p);
}

void pal_params_copy(pal_params *dst, const pal_params *src, const pal_config *cfg) {
  int n = pal_num_tensors(cfg);
  for (int i = 0; i < n; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    float *d = *pal_params_slot(dst, i);
    const float *s = *pal_params_slot((pal_params *)src, i);
    if (d != s) memcpy(d, s, t.n_elems * sizeof(float));
  }
}

/* Each tensor is filled in chunks of PAL_INIT_CHUNK floats, each chunk from its own stream
 * seeded by (seed, tensor, chunk): the result is the same for any number of threads. */
#define PAL_INIT_CHUNK 65536
void pal_params_init_gpt2(pal_params *p, const pal_config *cfg, uint64_t seed) {
  int n = pal_num_tensors(cfg);
  float resid_std = 0.02f / sqrtf(2.0f * (float)cfg->n_layer);
  for (int i = 0; i < n; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    float *w = *pal_params_slot(p, i);
    if (t.ndim == 1) {
      /* LayerNorm weights are 1; every bias and LayerNorm bias 0 */
      float v = strstr(t.name, "ln_") && strstr(t.name, ".weight") ? 1.0f : 0.0f;
      for (size_t k = 0; k < t.n_elems; k++) w[k] = v;
      continue;
    }
    float std = strstr(t.name, "c_proj.weight") ? resid_std : 0.02f;
    long n_chunks = (long)((t.n_elems + PAL_INIT_CHUNK - 1) / PAL_INIT_CHUNK);
    #pragma omp parallel for schedule(dynamic, 4)
    for (long ch = 0; ch < n_chunks; ch++) {
      pal_rng rng;
      pal_rng_seed(&rng, pal_mix64(seed ^ pal_mix64(((uint64_t)i << 32) | (uint64_t)ch)));
      size_t start = (size_t)ch * PAL_INIT_CHUNK;
      size_t end = start + PAL_INIT_CHUNK < t.n_elems ? start + PAL_INIT_CHUNK : t.n_elems;
      for (size_t k = start; k < end; k++) w[k] = std * pal_rng_normal(&rng);
    }
  }
}
