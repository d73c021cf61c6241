/* adamw.c: AdamW exactly as torch.optim.AdamW (bias-corrected moments, decoupled weight decay
 * on tensors of two or more dimensions only) and global-norm gradient clipping as
 * torch.nn.utils.clip_grad_norm_. Reductions run in a fixed order: results never depend on
 * the thread count. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/optim.h"

int pal_adamw_init(pal_adamw *opt, const pal_config *cfg, float beta1, float beta2, float eps,
                   float weight_decay, pal_error *err) {
  return pal_adamw_init_masked(opt, cfg, beta1, beta2, eps, weight_decay, NULL, err);
}

int pal_adamw_init_masked(pal_adamw *opt, const pal_config *cfg, float beta1, float beta2,
                          float eps, float weight_decay, const unsigned char *trainable,
                          pal_error *err) {
  memset(opt, 0, sizeof *opt);
  opt->beta1 = beta1;
  opt->beta2 = beta2;
  opt->eps = eps;
  opt->weight_decay = weight_decay;
  opt->n_tensors = pal_num_tensors(cfg);
  opt->offset = malloc((size_t)opt->n_tensors * sizeof *opt->offset);
  if (!opt->offset) return pal_errorf(err, "optimizer: out of memory");
  size_t off = 0;
  for (int i = 0; i < opt->n_tensors; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    opt->offset[i] = !trainable || trainable[i] ? off : SIZE_MAX;
    if (opt->offset[i] != SIZE_MAX) off += t.n_elems;
  }
  opt->n_floats = off;
  opt->m = calloc(off ? off : 1, sizeof(float));
  opt->v = calloc(off ? off : 1, sizeof(float));
  if (!opt->m || !opt->v) {
    pal_adamw_free(opt);
    return pal_errorf(err, "optimizer: out of memory for %zu moments", opt->n_floats);
  }
  return 0;
}

void pal_adamw_free(pal_adamw *opt) {
  if (!opt) return;
  free(opt->m);
  free(opt->v);
  free(opt->offset);
  opt->m = opt->v = NULL;
  opt->offset = NULL;
}

int pal_adamw_state(const pal_adamw *opt, const pal_config *cfg, int k, pal_optim_tensor *out) {
  int seen = 0;
  for (int i = 0; i < opt->n_tensors; i++) {
    if (opt->offset[i] == SIZE_MAX) continue;
    if (k / 2 != seen++) continue;
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    snprintf(out->name, sizeof out->name, "%s.%s", k % 2 ? "v" : "m", t.name);
    out->data = (k % 2 ? opt->v : opt->m) + opt->offset[i];
    out->ndim = t.ndim;
    out->shape[0] = t.shape[0];
    out->shape[1] = t.shape[1];
    out->n_elems = t.n_elems;
    return 0;
  }
  return 1;
}

/* The update with every gradient multiplied by grad_scale first (1 = as given). */
static void adamw_update(pal_adamw *opt, const pal_config *cfg, pal_params *params,
                         const pal_params *grads, float lr, float grad_scale,
                         const unsigned char *trainable) {
  opt->step++;
  double bc1 = 1.0 - pow(opt->beta1, (double)opt->step);
  double bc2 = 1.0 - pow(opt->beta2, (double)opt->step);
  float step_size = (float)(lr / bc1);
  float sqrt_bc2 = (float)sqrt(bc2);
  float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
  int n = pal_num_tensors(cfg);
  for (int i = 0; i < n; i++) {
    if ((trainable && !trainable[i]) || opt->offset[i] == SIZE_MAX) continue;
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    float *p = *pal_params_slot(params, i);
    const float *g = *pal_params_slot((pal_params *)grads, i);
    float *m = opt->m + opt->offset[i], *v = opt->v + opt->offset[i];
    float decay = t.ndim >= 2 ? 1.0f - lr * opt->weight_decay : 1.0f;
    size_t ne = t.n_elems;
    #pragma omp parallel for simd schedule(static) if (ne >= 16384)
    for (size_t k = 0; k < ne; k++) {
      float gk = g[k] * grad_scale;
      float mk = b1 * m[k] + (1.0f - b1) * gk;
      float vk = b2 * v[k] + (1.0f - b2) * gk * gk;
      m[k] = mk;
      v[k] = vk;
      p[k] = p[k] * decay - step_size * mk / (sqrtf(vk) / sqrt_bc2 + eps);
    }
  }
}

void pal_adamw_step(pal_adamw *opt, const pal_config *cfg, pal_params *params,
                    const pal_params *grads, float lr, const unsigned char *trainable) {
  adamw_update(opt, cfg, params, grads, lr, 1.0f, trainable);
}

/* Sum of squares in chunks of NORM_CHUNK, up to NORM_GROUP chunks in flight, added in order. */
#define NORM_CHUNK 16384
#define NORM_GROUP 64
static double sum_squares(const float *x, size_t n) {
  double total = 0.0;
  for (size_t base = 0; base < n; base += (size_t)NORM_CHUNK * NORM_GROUP) {
    double part[NORM_GROUP];
    size_t left = n - base;
    int chunks = (int)((left + NORM_CHUNK - 1) / NORM_CHUNK);
    if (chunks > NORM_GROUP) chunks = NORM_GROUP;
    #pragma omp parallel for schedule(static) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
      size_t s = base + (size_t)c * NORM_CHUNK, e = s + NORM_CHUNK < n ? s + NORM_CHUNK : n;
      double acc = 0.0;
      /* a simd reduction: its lane order is fixed at compile time, not by threads */
      #pragma omp simd reduction(+:acc)
      for (size_t k = s; k < e; k++) acc += (double)x[k] * x[k];
      part[c] = acc;
    }
    for (int c = 0; c < chunks; c++) total += part[c];
  }
  return total;
}

double pal_grad_norm(const pal_config *cfg, const pal_params *grads, const unsigned char *trainable) {
  int n = pal_num_tensors(cfg);
  double total = 0.0;
  for (int i = 0; i < n; i++) {
    if (trainable && !trainable[i]) continue;
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    total += sum_squares(*pal_params_slot((pal_params *)grads, i), t.n_elems);
  }
  return sqrt(total);
}

/* torch: clip_coef = max_norm / (norm + 1e-6), clamped to at most 1 */
static float clip_coef(double norm, float max_norm) {
  double coef = max_norm / (norm + 1e-6);
  return max_norm > 0 && coef < 1.0 ? (float)coef : 1.0f;
}

double pal_adamw_step_clipped(pal_adamw *opt, const pal_config *cfg, pal_params *params,
                              const pal_params *grads, float lr, float max_norm,
                              const unsigned char *trainable) {
  double norm = pal_grad_norm(cfg, grads, trainable);
  adamw_update(opt, cfg, params, grads, lr, clip_coef(norm, max_norm), trainable);
  return norm;
}

double pal_clip_grad_norm(const pal_config *cfg, pal_params *grads, float max_norm,
                          const unsigned char *trainable) {
  double norm = pal_grad_norm(cfg, grads, trainable);
  float coef = clip_coef(norm, max_norm);
  if (coef < 1.0f) {
    int n = pal_num_tensors(cfg);
    for (int i = 0; i < n; i++) {
      if (trainable && !trainable[i]) continue;
      pal_tensor_info t;
      pal_tensor_info_at(cfg, i, &t);
      float *g = *pal_params_slot(grads, i);
      size_t ne = t.n_elems;
      #pragma omp parallel for simd schedule(static) if (ne >= 16384)
      for (size_t k = 0; k < ne; k++) g[k] *= coef;
    }
  }
  return norm;
}
