/* kv.c: the KV cache and GPT-2's incremental forward: each call appends T tokens to some
 * rows of the cache and returns the next-token logits of each row's last token (or of every
 * position, for scoring). Weights in any stored dtype (pal_params_view). The same
 * arithmetic as the engine's layers (kernels.c); never allocates after pal_kv_create, never
 * writes params. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "generate/kernels.h"
#include "model/layers.h"
#include "palimpsest/generate.h"

struct pal_kv {
  pal_config cfg;
  int max_B, cap, max_T, max_N;
  int *len;                   /* (max_B) positions held per row */
  float *k, *v;               /* (L, max_B, cap, C) each */
  /* scratch, N = max_B * max_T rows */
  float *x, *x2, *ln, *qkv, *atty, *proj, *fc, *fcg;   /* (N,C) (N,C) (N,C) (N,3C) (N,C) (N,C) (N,4C) (N,4C) */
  float *scores;              /* (N * n_head, cap) */
  float *partial;             /* (parts * N * 4C) */
  float *last;                /* (max_B, C) */
  int borrowed;               /* the scratch belongs to another cache (pal_kv_create_sharing) */
  size_t bytes;
};

static void *xcalloc(size_t n, size_t size, size_t *bytes) {
  *bytes += n * size;
  return calloc(n ? n : 1, size);
}

int pal_kv_create_sharing(pal_kv **out, const pal_config *cfg, int max_B, int cap, int max_T,
                          const pal_kv *share, pal_error *err) {
  *out = NULL;
  if (max_B < 1 || max_T < 1 || cap < 1 || cap > cfg->n_ctx)
    return pal_errorf(err, "kv cache: bad shape (rows %d, positions %d of n_ctx %d, chunk %d)",
                      max_B, cap, cfg->n_ctx, max_T);
  if (share && (share->max_B != max_B || share->cap != cap || share->max_T != max_T ||
                memcmp(&share->cfg, cfg, sizeof *cfg)))
    return pal_errorf(err, "kv cache: can only share scratch with a cache of the same shape");
  pal_kv *kv = calloc(1, sizeof *kv);
  if (!kv) return pal_errorf(err, "kv cache: out of memory");
  kv->cfg = *cfg;
  kv->max_B = max_B;
  kv->cap = cap;
  kv->max_T = max_T;
  size_t N = (size_t)max_B * max_T, C = (size_t)cfg->n_embd, L = (size_t)cfg->n_layer;
  kv->max_N = (int)N;
  size_t *b = &kv->bytes;
  kv->len = xcalloc((size_t)max_B, sizeof *kv->len, b);
  kv->k = xcalloc(L * max_B * cap * C, sizeof(float), b);
  kv->v = xcalloc(L * max_B * cap * C, sizeof(float), b);
  if (share) {
    kv->borrowed = 1;
    kv->x = share->x; kv->x2 = share->x2; kv->ln = share->ln; kv->qkv = share->qkv;
    kv->atty = share->atty; kv->proj = share->proj; kv->fc = share->fc; kv->fcg = share->fcg;
    kv->scores = share->scores; kv->partial = share->partial; kv->last = share->last;
  } else {
    kv->x = xcalloc(N * C, sizeof(float), b);
    kv->x2 = xcalloc(N * C, sizeof(float), b);
    kv->ln = xcalloc(N * C, sizeof(float), b);
    kv->qkv = xcalloc(N * 3 * C, sizeof(float), b);
    kv->atty = xcalloc(N * C, sizeof(float), b);
    kv->proj = xcalloc(N * C, sizeof(float), b);
    kv->fc = xcalloc(N * 4 * C, sizeof(float), b);
    kv->fcg = xcalloc(N * 4 * C, sizeof(float), b);
    kv->scores = xcalloc(N * cfg->n_head * (size_t)cap, sizeof(float), b);
    kv->partial = xcalloc((size_t)pal_gen_parts(4 * (int)C) * N * 4 * C, sizeof(float), b);
    kv->last = xcalloc((size_t)max_B * C, sizeof(float), b);
  }
  if (!kv->len || !kv->k || !kv->v || !kv->x || !kv->x2 || !kv->ln || !kv->qkv || !kv->atty ||
      !kv->proj || !kv->fc || !kv->fcg || !kv->scores || !kv->partial || !kv->last) {
    size_t want = kv->bytes;
    pal_kv_free(kv);
    return pal_errorf(err, "kv cache: out of memory (%.1f MB for %d rows x %d positions)",
                      want / 1e6, max_B, cap);
  }
  *out = kv;
  return 0;
}

int pal_kv_create(pal_kv **out, const pal_config *cfg, int max_B, int cap, int max_T,
                  pal_error *err) {
  return pal_kv_create_sharing(out, cfg, max_B, cap, max_T, NULL, err);
}

void pal_kv_free(pal_kv *kv) {
  if (!kv) return;
  free(kv->len); free(kv->k); free(kv->v);
  if (!kv->borrowed) {
    free(kv->x); free(kv->x2); free(kv->ln); free(kv->qkv); free(kv->atty); free(kv->proj);
    free(kv->fc); free(kv->fcg); free(kv->scores); free(kv->partial); free(kv->last);
  }
  free(kv);
}

int pal_kv_len(const pal_kv *kv, int row) { return kv->len[row]; }
int pal_kv_cap(const pal_kv *kv) { return kv->cap; }
size_t pal_kv_bytes(const pal_kv *kv) { return kv->bytes; }
void pal_kv_truncate(pal_kv *kv, int row, int len) { if (len >= 0 && len < kv->len[row]) kv->len[row] = len; }

/* K or V of layer l, row r, position 0: (cap, C) */
static float *cache_at(const pal_kv *kv, float *base, int l, int r) {
  size_t C = (size_t)kv->cfg.n_embd;
  return base + (((size_t)l * kv->max_B + r) * kv->cap) * C;
}

/* Tensor k of layer l (PAL_T_*), as stored. */
static pal_wview layer_w(const pal_params *p, const pal_config *cfg, int l, int k) {
  return pal_params_view(p, cfg, 2 + l * PAL_T_PER_LAYER + k);
}

/* all: logits (n_rows*T, V) of every position (else of each row's last token). */
static int forward(pal_kv *kv, const pal_params *p, const int *rows, int n_rows, const int *ids, int T,
                   float *logits, int all, pal_error *err) {
  const pal_config *cfg = &kv->cfg;
  int C = cfg->n_embd, NH = cfg->n_head, hs = C / NH, V = cfg->vocab_size;
  if (n_rows < 1 || n_rows > kv->max_B || T < 1 || T > kv->max_T)
    return pal_errorf(err, "kv forward: %d rows x %d tokens exceeds the cache's %d x %d",
                      n_rows, T, kv->max_B, kv->max_T);
  for (int i = 0; i < n_rows; i++) {
    int r = rows[i];
    if (r < 0 || r >= kv->max_B) return pal_errorf(err, "kv forward: row %d out of range", r);
    if (kv->len[r] + T > kv->cap)
      return pal_errorf(err, "kv forward: row %d would hold %d positions, the cache %d",
                        r, kv->len[r] + T, kv->cap);
    for (int t = 0; t < T; t++)
      if (ids[i * T + t] < 0 || ids[i * T + t] >= V)
        return pal_errorf(err, "kv forward: token id %d is outside the vocabulary (%d)", ids[i * T + t], V);
  }
  int N = n_rows * T;
  /* x (N,C): token + position embeddings, each row at its own offset (rows of narrow
   * embeddings widened; x2 is free scratch here) */
  pal_wview wte = pal_params_view(p, cfg, 0), wpe = pal_params_view(p, cfg, 1);
  for (int i = 0; i < n_rows; i++)
    for (int t = 0; t < T; t++) {
      float *o = kv->x + ((size_t)i * T + t) * C, *pe = kv->x2;
      pal_gen_widen(&wte, ids[i * T + t], 0, C, o);
      pal_gen_widen(&wpe, kv->len[rows[i]] + t, 0, C, pe);
      for (int c = 0; c < C; c++) o[c] = o[c] + pe[c];
    }
  float *x = kv->x, *x2 = kv->x2;
  for (int l = 0; l < cfg->n_layer; l++) {
    const pal_layer_params *lp = &p->h[l];
    pal_wview w_qkv = layer_w(p, cfg, l, PAL_T_QKV_W), w_att = layer_w(p, cfg, l, PAL_T_ATTPROJ_W);
    pal_wview w_fc = layer_w(p, cfg, l, PAL_T_FC_W), w_proj = layer_w(p, cfg, l, PAL_T_FCPROJ_W);
    pal_layernorm_forward(kv->ln, NULL, NULL, x, lp->ln_1_w, lp->ln_1_b, N, C, cfg->layer_norm_epsilon);
    pal_gen_matmul_scratch(kv->qkv, kv->ln, &w_qkv, lp->c_attn_b, N, C, 3 * C, kv->partial);
    /* k, v of the new tokens into the cache: qkv (N,3C) = [q | k | v] */
    for (int i = 0; i < n_rows; i++) {
      float *kc = cache_at(kv, kv->k, l, rows[i]), *vc = cache_at(kv, kv->v, l, rows[i]);
      for (int t = 0; t < T; t++) {
        const float *src = kv->qkv + ((size_t)i * T + t) * 3 * C;
        size_t pos = (size_t)kv->len[rows[i]] + t;
        memcpy(kc + pos * C, src + C, (size_t)C * sizeof(float));
        memcpy(vc + pos * C, src + 2 * C, (size_t)C * sizeof(float));
      }
    }
    /* atty (N,C): causal attention of each (n, h) over positions 0..pos(n) */
    long att_work = 0;
    for (int i = 0; i < n_rows; i++) att_work += (long)T * (kv->len[rows[i]] + T) * C;
    #pragma omp parallel for collapse(2) schedule(static) if (N * NH >= 2 && att_work >= PAL_GEN_PAR_MIN / 8)
    for (int n = 0; n < N; n++)
      for (int h = 0; h < NH; h++) {
        int i = n / T, t = n % T, r = rows[i];
        int upto = kv->len[r] + t + 1;
        const float *kc = cache_at(kv, kv->k, l, r) + (size_t)h * hs;
        const float *vc = cache_at(kv, kv->v, l, r) + (size_t)h * hs;
        pal_gen_attend(kv->atty + (size_t)n * C + (size_t)h * hs, kv->qkv + (size_t)n * 3 * C + (size_t)h * hs,
                       kc, vc, upto, hs, (size_t)C, kv->scores + ((size_t)n * NH + h) * kv->cap);
      }
    pal_gen_matmul_scratch(kv->proj, kv->atty, &w_att, lp->attn_proj_b, N, C, C, kv->partial);
    pal_residual_forward(x2, x, kv->proj, (size_t)N * C);
    pal_layernorm_forward(kv->ln, NULL, NULL, x2, lp->ln_2_w, lp->ln_2_b, N, C, cfg->layer_norm_epsilon);
    pal_gen_matmul_scratch(kv->fc, kv->ln, &w_fc, lp->c_fc_b, N, C, 4 * C, kv->partial);
    pal_gelu_forward(kv->fcg, kv->fc, (size_t)N * 4 * C);
    pal_gen_matmul_scratch(kv->proj, kv->fcg, &w_proj, lp->mlp_proj_b, N, 4 * C, C, kv->partial);
    pal_residual_forward(x, x2, kv->proj, (size_t)N * C);
  }
  for (int i = 0; i < n_rows; i++) kv->len[rows[i]] += T;
  if (!logits) return 0;
  if (all) {   /* ln (N,C): every position's final layernorm, then the lm_head */
    pal_layernorm_forward(kv->ln, NULL, NULL, x, p->ln_f_w, p->ln_f_b, N, C, cfg->layer_norm_epsilon);
    pal_gen_lm_head(logits, kv->ln, &wte, N, C, V);
    return 0;
  }
  /* last (n_rows, C): the final layernorm of each row's last token, then the tied lm_head */
  for (int i = 0; i < n_rows; i++)
    memcpy(kv->x2 + (size_t)i * C, x + ((size_t)i * T + T - 1) * C, (size_t)C * sizeof(float));
  pal_layernorm_forward(kv->last, NULL, NULL, kv->x2, p->ln_f_w, p->ln_f_b, n_rows, C,
                        cfg->layer_norm_epsilon);
  pal_gen_lm_head(logits, kv->last, &wte, n_rows, C, V);
  return 0;
}

int pal_kv_forward(pal_kv *kv, const pal_params *p, const int *rows, int n_rows,
                   const int *ids, int T, float *logits, pal_error *err) {
  return forward(kv, p, rows, n_rows, ids, T, logits, 0, err);
}

int pal_kv_forward_all(pal_kv *kv, const pal_params *p, const int *rows, int n_rows,
                       const int *ids, int T, float *logits, pal_error *err) {
  return forward(kv, p, rows, n_rows, ids, T, logits, 1, err);
}
