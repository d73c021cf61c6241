/* gpt2.c: the GPT-2 engine: activation (and, when training, gradient) memory laid out once
 * for (max_B, max_T), the forward over all layers, the mean cross-entropy, and the backward;
 * with recompute, one block's activations rebuilt per layer in the backward; frozen tensors
 * without gradients. Never allocates after create, never writes to the parameters (they may
 * be a read-only mmap). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/layers.h"
#include "palimpsest/model.h"

typedef struct layer_acts {
  float *ln1, *ln1_mean, *ln1_rstd;  /* (N,C) (N) (N) */
  float *qkv;                        /* (N,3C) */
  float *atty;                       /* (N,C) attention output before c_proj */
  float *att;                        /* (B,NH,T,T) probabilities */
  float *res2;                       /* (N,C) residual after attention */
  float *ln2, *ln2_mean, *ln2_rstd;  /* (N,C) (N) (N) */
  float *fch, *fch_gelu;             /* (N,4C) (N,4C) */
  float *res3;                       /* (N,C) the layer's output */
} layer_acts;

struct pal_gpt2 {
  pal_config cfg;
  pal_params *params;                /* borrowed */
  int max_B, max_T, training;
  pal_params grads;                  /* owned flat buffer when training */
  float *mem;                        /* the one activation allocation */
  size_t mem_floats;
  float *encoded;                    /* (N,C) */
  layer_acts *layers;                /* n_layer entries when training, 1 (reused) otherwise;
                                      * with recompute only their res3 (the next block's input) */
  layer_acts work;                   /* recompute: the one set of block activations, reused */
  int recompute;
  int lowest;                        /* the backward runs through layers lowest..L-1 */
  int need_dres;                     /* the embeddings train: the backward reaches the encoder */
  float *lnf, *lnf_mean, *lnf_rstd;  /* (N,C) (N) (N) */
  float *logits;                     /* (N,V) */
  float *lse, *losses;               /* (N) (N) */
  /* backward scratch (training only) */
  float *dres, *dC, *dqkv, *d4C, *datt;
  float *branch;                     /* (N,C) a residual branch before dropout (training) */
  int *inputs, *targets;             /* (N) copies of the last forward's ids */
  int B, T, have_targets, logits_valid;
  float dropout;                     /* p; used only when training */
  uint64_t dropout_seed, dropout_calls, dropout_key;  /* key of the last forward */
  float dropout_used;                /* p of the last forward (its backward must match it) */
  pal_precision prec;                /* of every matrix product */
};

/* Carves the activation memory; with base == NULL only counts floats. 16-float alignment. */
static size_t layout(pal_gpt2 *m, float *base) {
  size_t C = (size_t)m->cfg.n_embd, V = (size_t)m->cfg.vocab_size, NH = (size_t)m->cfg.n_head;
  size_t N = (size_t)m->max_B * m->max_T, T = (size_t)m->max_T, B = (size_t)m->max_B;
  size_t off = 0;
#define TAKE(ptr, n) do { size_t n_ = (n); if (base) (ptr) = base + off; off += (n_ + 15) & ~(size_t)15; } while (0)
  TAKE(m->encoded, N * C);
  int nl = m->training ? m->cfg.n_layer : 1;
  if (m->recompute) {  /* every block's output (the next one's input), then one working set */
    for (int l = 0; l < nl; l++) {
      layer_acts scratch, *a = base ? &m->layers[l] : &scratch;
      TAKE(a->res3, N * C);
    }
    nl = 1;
  }
  for (int l = 0; l < nl; l++) {
    layer_acts scratch, *a = base ? (m->recompute ? &m->work : &m->layers[l]) : &scratch;
    TAKE(a->ln1, N * C);
    TAKE(a->ln1_mean, N);
    TAKE(a->ln1_rstd, N);
    TAKE(a->qkv, 3 * N * C);
    TAKE(a->atty, N * C);
    TAKE(a->att, B * NH * T * T);
    TAKE(a->res2, N * C);
    TAKE(a->ln2, N * C);
    TAKE(a->ln2_mean, N);
    TAKE(a->ln2_rstd, N);
    TAKE(a->fch, 4 * N * C);
    TAKE(a->fch_gelu, 4 * N * C);
    TAKE(a->res3, N * C);
  }
  TAKE(m->lnf, N * C);
  TAKE(m->lnf_mean, N);
  TAKE(m->lnf_rstd, N);
  TAKE(m->logits, N * V);
  TAKE(m->lse, N);
  TAKE(m->losses, N);
  if (m->training) {
    TAKE(m->dres, N * C);
    TAKE(m->dC, N * C);
    TAKE(m->dqkv, 3 * N * C);
    TAKE(m->d4C, 4 * N * C);
    TAKE(m->datt, B * NH * T * T);
    TAKE(m->branch, N * C);
  }
#undef TAKE
  return off;
}

int pal_gpt2_create(pal_gpt2 **out, const pal_config *cfg, pal_params *params, int max_B,
                    int max_T, int training, pal_error *err) {
  pal_gpt2_opts o = {.training = training};
  return pal_gpt2_create_ex(out, cfg, params, max_B, max_T, &o, err);
}

/* Which layers the backward must run through, from the trainable tensors. */
static void backward_span(pal_gpt2 *m, const unsigned char *trainable) {
  int L = m->cfg.n_layer;
  m->need_dres = !trainable || trainable[0] || trainable[1];
  m->lowest = 0;
  if (m->need_dres) return;
  m->lowest = L;
  for (int l = 0; l < L && m->lowest == L; l++)
    for (int k = 0; k < PAL_T_PER_LAYER; k++)
      if (trainable[2 + PAL_T_PER_LAYER * l + k]) { m->lowest = l; break; }
}

int pal_gpt2_create_ex(pal_gpt2 **out, const pal_config *cfg, pal_params *params, int max_B,
                       int max_T, const pal_gpt2_opts *opts, pal_error *err) {
  int training = opts->training;
  *out = NULL;
  if (pal_config_validate(cfg, "model", err)) return -1;
  if (params->view)
    return pal_errorf(err, "model: the engine needs F32 weights (these are stored narrower: open them "
                      "with pal_model_dir_open, which widens them)");
  if (max_B <= 0 || max_T <= 0 || max_T > cfg->n_ctx)
    return pal_errorf(err, "model: batch %d x %d does not fit (sequence length must be in 1..%d)",
                      max_B, max_T, cfg->n_ctx);
  if ((double)max_B * max_T > 1e9)
    return pal_errorf(err, "model: batch %d x %d is too large", max_B, max_T);
  pal_gpt2 *m = calloc(1, sizeof *m);
  if (!m) return pal_errorf(err, "model: out of memory");
  m->cfg = *cfg;
  m->params = params;
  m->max_B = max_B;
  m->max_T = max_T;
  m->training = training ? 1 : 0;
  m->recompute = m->training && opts->recompute;
  backward_span(m, opts->trainable);
  size_t N = (size_t)max_B * max_T;
  m->layers = calloc((size_t)(m->training ? cfg->n_layer : 1), sizeof *m->layers);
  m->inputs = malloc(N * sizeof(int));
  m->targets = malloc(N * sizeof(int));
  m->mem_floats = layout(m, NULL);
  if (m->layers && m->inputs && m->targets)
    m->mem = aligned_alloc(64, ((m->mem_floats * sizeof(float)) + 63) & ~(size_t)63);
  if (!m->mem) {
    double gb = m->mem_floats * 4.0 / 1e9;
    pal_gpt2_free(m);
    return pal_errorf(err, "model: out of memory for activations (%.2f GB at batch %d x %d)", gb, max_B, max_T);
  }
  layout(m, m->mem);
  if (m->training && pal_params_alloc_masked(&m->grads, cfg, opts->trainable, err)) {
    pal_gpt2_free(m);
    return -1;
  }
  *out = m;
  return 0;
}

void pal_gpt2_free(pal_gpt2 *m) {
  if (!m) return;
  pal_params_free(&m->grads);
  free(m->mem);
  free(m->layers);
  free(m->inputs);
  free(m->targets);
  free(m);
}

/* One block: out (N,C) = block l (residual (N,C)), its activations into a (out may be a->res3
 * or the kept input of the next block). The same call in the recomputing backward rebuilds
 * the same floats: the same kernels on the same inputs, dropout masks from (key, site). */
static void block_forward(pal_gpt2 *m, layer_acts *a, int l, const float *residual, float *out) {
  const pal_config *cfg = &m->cfg;
  int B = m->B, T = m->T, N = B * T, C = cfg->n_embd, NH = cfg->n_head;
  size_t NC = (size_t)N * C;
  const pal_layer_params *w = &m->params->h[l];
  float pd = m->dropout_used;
  uint64_t key = m->dropout_key;
  pal_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, residual, w->ln_1_w, w->ln_1_b, N, C,
                        cfg->layer_norm_epsilon);
  pal_matmul_forward(m->prec, a->qkv, a->ln1, w->c_attn_w, w->c_attn_b, N, C, 3 * C);
  pal_attention_forward_ex(m->prec, a->atty, a->att, m->datt, a->qkv, B, T, C, NH, pd, key, 4 * (uint64_t)l);
  if (pd > 0) {  /* res2 = residual + dropout(atty @ W + b) */
    pal_matmul_forward(m->prec, m->branch, a->atty, w->attn_proj_w, w->attn_proj_b, N, C, C);
    pal_dropout_mul(m->branch, m->branch, NC, pd, key, 4 * (uint64_t)l + 1);
    pal_residual_forward(a->res2, residual, m->branch, NC);
  } else {  /* res2 = residual + atty @ W + b: the sum seeds the output, sgemm adds onto it */
    pal_residual_bias_forward(a->res2, residual, w->attn_proj_b, N, C);
    pal_matmul_accumulate(m->prec, a->res2, a->atty, w->attn_proj_w, N, C, C);
  }
  pal_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, w->ln_2_w, w->ln_2_b, N, C,
                        cfg->layer_norm_epsilon);
  pal_matmul_forward(m->prec, a->fch, a->ln2, w->c_fc_w, w->c_fc_b, N, C, 4 * C);
  pal_gelu_forward(a->fch_gelu, a->fch, 4 * NC);
  if (pd > 0) {
    pal_matmul_forward(m->prec, m->branch, a->fch_gelu, w->mlp_proj_w, w->mlp_proj_b, N, 4 * C, C);
    pal_dropout_mul(m->branch, m->branch, NC, pd, key, 4 * (uint64_t)l + 2);
    pal_residual_forward(out, a->res2, m->branch, NC);
  } else {
    pal_residual_bias_forward(out, a->res2, w->mlp_proj_b, N, C);
    pal_matmul_accumulate(m->prec, out, a->fch_gelu, w->mlp_proj_w, N, 4 * C, C);
  }
}

int pal_gpt2_forward(pal_gpt2 *m, const int *inputs, const int *targets, int B, int T,
                     float *loss, pal_error *err) {
  const pal_config *cfg = &m->cfg;
  int C = cfg->n_embd, V = cfg->vocab_size, L = cfg->n_layer;
  if (loss) *loss = -1.0f;
  if (B <= 0 || T <= 0 || B > m->max_B || T > m->max_T)
    return pal_errorf(err, "model: batch %d x %d exceeds the engine's %d x %d", B, T, m->max_B, m->max_T);
  int N = B * T;
  for (int i = 0; i < N; i++) {
    if (inputs[i] < 0 || inputs[i] >= V)
      return pal_errorf(err, "model: token id %d at position %d is outside the vocabulary (0..%d)", inputs[i], i, V - 1);
    if (targets && (targets[i] < 0 || targets[i] >= V))
      return pal_errorf(err, "model: target id %d at position %d is outside the vocabulary (0..%d)", targets[i], i, V - 1);
  }
  memcpy(m->inputs, inputs, (size_t)N * sizeof(int));
  if (targets) memcpy(m->targets, targets, (size_t)N * sizeof(int));
  m->B = B;
  m->T = T;
  m->have_targets = targets != NULL;
  const pal_params *p = m->params;
  size_t NC = (size_t)N * C;

  /* dropout sites: 4l (attention probabilities), 4l+1 (attn c_proj), 4l+2 (mlp c_proj),
   * 4L (embeddings) */
  float pd = m->training ? m->dropout : 0.0f;
  if (pd > 0) m->dropout_key = pal_dropout_key(m->dropout_seed, m->dropout_calls++);
  m->dropout_used = pd;
  uint64_t key = m->dropout_key, emb_site = 4 * (uint64_t)L;
  pal_encoder_forward(m->encoded, inputs, p->wte, p->wpe, B, T, C, 0);
  if (pd > 0) pal_dropout_mul(m->encoded, m->encoded, NC, pd, key, emb_site);
  const float *residual = m->encoded;
  for (int l = 0; l < L; l++) {
    layer_acts *a = m->recompute ? &m->work : &m->layers[m->training ? l : 0];
    block_forward(m, a, l, residual, m->layers[m->training ? l : 0].res3);
    residual = m->layers[m->training ? l : 0].res3;
  }
  pal_layernorm_forward(m->lnf, m->lnf_mean, m->lnf_rstd, residual, p->ln_f_w, p->ln_f_b, N, C,
                        cfg->layer_norm_epsilon);
  /* logits (N,V) = lnf (N,C) @ wte^T */
  pal_matmul_tied_forward(m->prec, m->logits, m->lnf, p->wte, N, C, V);
  m->logits_valid = 1;
  if (targets) {
    pal_crossentropy_forward(m->losses, m->lse, m->logits, targets, N, V);
    double sum = 0.0;
    for (int n = 0; n < N; n++) sum += m->losses[n];
    if (loss) *loss = (float)(sum / N);
  }
  return 0;
}

const float *pal_gpt2_logits(const pal_gpt2 *m) { return m->logits_valid ? m->logits : NULL; }

void pal_gpt2_zero_grad(pal_gpt2 *m) {
  if (!m->training) return;
  float *g = m->grads.flat;
  size_t n = m->grads.n_floats;
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) g[i] = 0.0f;
}

/* The backward of block l: dres (N,C) holds d out on entry and d residual on return; the
 * block's parameter gradients accumulate (frozen ones are NULL and skipped). */
static void block_backward(pal_gpt2 *m, layer_acts *a, int l, const float *residual) {
  const pal_config *cfg = &m->cfg;
  int B = m->B, T = m->T, N = B * T, C = cfg->n_embd, NH = cfg->n_head;
  size_t NC = (size_t)N * C;
  const pal_layer_params *w = &m->params->h[l];
  pal_layer_params *gw = &m->grads.h[l];
  float pd = m->dropout_used;
  uint64_t key = m->dropout_key;
  /* dres holds d res3: through (dropout,) mlp c_proj, gelu, c_fc, ln_2 (accumulating into dres) */
  const float *dbranch = m->dres;
  if (pd > 0) { pal_dropout_mul(m->branch, m->dres, NC, pd, key, 4 * (uint64_t)l + 2); dbranch = m->branch; }
  pal_matmul_backward_ex(m->prec, m->d4C, gw->mlp_proj_w, gw->mlp_proj_b, dbranch, a->fch_gelu,
                         w->mlp_proj_w, N, 4 * C, C, 0.0f);
  pal_gelu_backward_inplace(m->d4C, a->fch, 4 * NC);
  pal_matmul_backward_ex(m->prec, m->dC, gw->c_fc_w, gw->c_fc_b, m->d4C, a->ln2, w->c_fc_w, N, C, 4 * C, 0.0f);
  pal_layernorm_backward(m->dres, gw->ln_2_w, gw->ln_2_b, m->dC, a->res2, w->ln_2_w, a->ln2_mean,
                         a->ln2_rstd, N, C);
  /* dres holds d res2: through (dropout,) attn c_proj, attention, c_attn, ln_1 */
  dbranch = m->dres;
  if (pd > 0) { pal_dropout_mul(m->branch, m->dres, NC, pd, key, 4 * (uint64_t)l + 1); dbranch = m->branch; }
  pal_matmul_backward_ex(m->prec, m->dC, gw->attn_proj_w, gw->attn_proj_b, dbranch, a->atty,
                         w->attn_proj_w, N, C, C, 0.0f);
  pal_attention_backward_ex(m->prec, m->dqkv, m->datt, m->dC, a->qkv, a->att, B, T, C, NH, pd, key, 4 * (uint64_t)l);
  pal_matmul_backward_ex(m->prec, m->dC, gw->c_attn_w, gw->c_attn_b, m->dqkv, a->ln1, w->c_attn_w, N, C,
                         3 * C, 0.0f);
  pal_layernorm_backward(m->dres, gw->ln_1_w, gw->ln_1_b, m->dC, residual, w->ln_1_w, a->ln1_mean,
                         a->ln1_rstd, N, C);
}

int pal_gpt2_backward(pal_gpt2 *m, float loss_scale, pal_error *err) {
  if (!m->training) return pal_errorf(err, "model: backward on an engine created without training");
  if (!m->have_targets || !m->logits_valid)
    return pal_errorf(err, "model: backward needs a forward with targets first");
  const pal_config *cfg = &m->cfg;
  int B = m->B, T = m->T, N = B * T;
  int C = cfg->n_embd, V = cfg->vocab_size, L = cfg->n_layer;
  size_t NC = (size_t)N * C;
  const pal_params *p = m->params;
  pal_params *g = &m->grads;
  float pd = m->dropout_used;
  uint64_t key = m->dropout_key;

  /* dlogits in place of the logits: d(mean loss * scale)/dlogit */
  pal_crossentropy_backward(m->logits, m->lse, m->targets, N, V, loss_scale / (float)N);
  m->logits_valid = 0;
  /* dlnf (N,C) = dlogits (N,V) @ wte (V,C); dwte (V,C) += dlogits^T @ lnf */
  pal_matmul_tied_backward(m->prec, m->dC, g->wte, m->logits, m->lnf, p->wte, N, C, V);
  memset(m->dres, 0, NC * sizeof(float));
  const float *last = L > 0 ? m->layers[L - 1].res3 : m->encoded;
  pal_layernorm_backward(m->dres, g->ln_f_w, g->ln_f_b, m->dC, last, p->ln_f_w, m->lnf_mean,
                         m->lnf_rstd, N, C);
  for (int l = L - 1; l >= m->lowest; l--) {
    const float *residual = l > 0 ? m->layers[l - 1].res3 : m->encoded;
    layer_acts *a = &m->layers[l];
    if (m->recompute) {  /* this block's activations again, from its kept input */
      a = &m->work;
      block_forward(m, a, l, residual, a->res3);
    }
    block_backward(m, a, l, residual);
  }
  if (!m->need_dres) return 0;
  if (pd > 0) pal_dropout_mul(m->dres, m->dres, NC, pd, key, 4 * (uint64_t)L);
  pal_encoder_backward(g->wte, g->wpe, m->dres, m->inputs, B, T, C);
  return 0;
}

pal_params *pal_gpt2_grads(pal_gpt2 *m) { return m->training ? &m->grads : NULL; }
pal_params *pal_gpt2_params(pal_gpt2 *m) { return m->params; }
const pal_config *pal_gpt2_config(const pal_gpt2 *m) { return &m->cfg; }

void pal_gpt2_set_dropout(pal_gpt2 *m, float p, uint64_t seed) {
  m->dropout = p > 0 ? (p < 0.95f ? p : 0.95f) : 0.0f;
  m->dropout_seed = seed;
  m->dropout_calls = 0;
}

void pal_gpt2_set_precision(pal_gpt2 *m, pal_precision prec) { m->prec = prec; }

int pal_bf16_check(const char *what, pal_error *err) {
  pal_cpu_features f;
  pal_cpu_detect(&f);
  if (f.avx512_bf16) return 0;
  const char *portable = getenv("PAL_BF16_PORTABLE");  /* the same numbers, slowly: for checks */
  if (portable && !strcmp(portable, "1")) return 0;
  return pal_errorf(err, "%s needs avx512_bf16, which this CPU (%s, %s) lacks (PAL_BF16_PORTABLE=1: "
                    "a slow portable kernel, for checking numbers)", what,
                    f.brand[0] ? f.brand : "unnamed CPU", pal_isa_name(pal_cpu_isa(&f)));
}

size_t pal_gpt2_plan_bytes(const pal_config *cfg, int max_B, int max_T, int training) {
  pal_gpt2 m;
  memset(&m, 0, sizeof m);
  m.cfg = *cfg;
  m.max_B = max_B;
  m.max_T = max_T;
  m.training = training ? 1 : 0;
  return layout(&m, NULL) * sizeof(float) + (training ? pal_params_count(cfg) * sizeof(float) : 0);
}

void pal_gpt2_plan(const pal_config *cfg, int max_B, int max_T, const pal_gpt2_opts *opts,
                   size_t *activation_bytes, size_t *gradient_bytes) {
  pal_gpt2 m;
  memset(&m, 0, sizeof m);
  m.cfg = *cfg;
  m.max_B = max_B;
  m.max_T = max_T;
  m.training = opts->training ? 1 : 0;
  m.recompute = m.training && opts->recompute;
  *activation_bytes = layout(&m, NULL) * sizeof(float);
  *gradient_bytes = m.training ? pal_params_count_masked(cfg, opts->trainable) * sizeof(float) : 0;
}

size_t pal_gpt2_bytes(const pal_gpt2 *m) {
  return m->mem_floats * sizeof(float) + (m->training ? m->grads.n_floats * sizeof(float) : 0);
}
