/* adafactor.c: Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with
 * Sublinear Memory Cost") with the semantics of Hugging Face transformers' Adafactor run with
 * an external learning rate: relative_step=False, scale_parameter=False, warmup_init=False,
 * beta1=None (no first moment), decay_rate -0.8, eps1 1e-30, clip_threshold 1.0. A matrix
 * (R,C) keeps a row and a column average of g^2 (R + C floats), a vector its own (n floats).
 * Weight decay p -= lr*wd*p on tensors of two or more dimensions only, as our AdamW. Sums run
 * in double in a fixed order: results never depend on the thread count. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/optim.h"

/* State floats of tensor t: R + C for a matrix, n for a vector. */
static size_t state_floats(const pal_tensor_info *t) {
  return t->ndim >= 2 ? (size_t)(t->shape[0] + t->shape[1]) : t->n_elems;
}

size_t pal_adafactor_state_floats(const pal_config *cfg, const unsigned char *trainable) {
  size_t n = 0;
  for (int i = 0; i < pal_num_tensors(cfg); i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    if (!trainable || trainable[i]) n += state_floats(&t);
  }
  return n;
}

int pal_adafactor_init(pal_adafactor *o, const pal_config *cfg, float weight_decay,
                       const unsigned char *trainable, pal_error *err) {
  memset(o, 0, sizeof *o);
  o->decay_rate = -0.8f;
  o->eps1 = 1e-30f;
  o->clip_threshold = 1.0f;
  o->weight_decay = weight_decay;
  o->n_tensors = pal_num_tensors(cfg);
  o->offset = malloc((size_t)o->n_tensors * sizeof *o->offset);
  if (!o->offset) return pal_errorf(err, "optimizer: out of memory");
  size_t off = 0, widest = 1;
  for (int i = 0; i < o->n_tensors; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    o->offset[i] = !trainable || trainable[i] ? off : SIZE_MAX;
    if (o->offset[i] == SIZE_MAX) continue;
    off += state_floats(&t);
    for (int d = 0; d < t.ndim; d++) if ((size_t)t.shape[d] > widest) widest = (size_t)t.shape[d];
  }
  o->n_floats = off;
  o->state = calloc(off ? off : 1, sizeof(float));
  o->row_factor = malloc(widest * sizeof(float));
  o->col_factor = malloc(widest * sizeof(float));
  o->col_sum = malloc(widest * sizeof(double));
  if (!o->state || !o->row_factor || !o->col_factor || !o->col_sum) {
    pal_adafactor_free(o);
    return pal_errorf(err, "optimizer: out of memory for %zu Adafactor statistics", off);
  }
  return 0;
}

void pal_adafactor_free(pal_adafactor *o) {
  if (!o) return;
  free(o->state); free(o->offset); free(o->row_factor); free(o->col_factor); free(o->col_sum);
  memset(o, 0, sizeof *o);
}

int pal_adafactor_state(const pal_adafactor *o, const pal_config *cfg, int k, pal_optim_tensor *out) {
  int seen = 0;
  for (int i = 0; i < o->n_tensors; i++) {
    if (o->offset[i] == SIZE_MAX) continue;
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    int parts = t.ndim >= 2 ? 2 : 1;
    if (k >= seen + parts) { seen += parts; continue; }
    int part = k - seen;   /* matrix: 0 = vr (R), 1 = vc (C); vector: 0 = v (n) */
    snprintf(out->name, sizeof out->name, "%s.%s", parts == 1 ? "v" : part ? "vc" : "vr", t.name);
    out->data = o->state + o->offset[i] + (part ? (size_t)t.shape[0] : 0);
    out->ndim = 1;
    out->shape[0] = parts == 1 ? (int64_t)t.n_elems : t.shape[part];
    out->shape[1] = 0;
    out->n_elems = (size_t)out->shape[0];
    return 0;
  }
  return 1;
}

/* A matrix g (R,C): vr (R) and vc (C) take beta2t of themselves and (1-beta2t) of the row and
 * column means of g^2 + eps1; then row_factor (R) = rsqrt(vr / mean(vr)), col_factor (C) =
 * rsqrt(vc). The update is row_factor[r] * col_factor[c] * g[r,c]; returns its sum of squares. */
static double factored_stats(pal_adafactor *o, const float *g, float *vr, float *vc, int R, int C, float beta2t) {
  float eps1 = o->eps1;
  #pragma omp parallel for schedule(static) if ((size_t)R * C >= 16384)
  for (int r = 0; r < R; r++) {
    const float *row = g + (size_t)r * C;
    double acc = 0;
    for (int c = 0; c < C; c++) acc += (double)(row[c] * row[c] + eps1);
    vr[r] = beta2t * vr[r] + (1.0f - beta2t) * (float)(acc / C);
  }
  double vr_sum = 0;
  for (int r = 0; r < R; r++) vr_sum += vr[r];
  float vr_mean = (float)(vr_sum / R);
  double *cs = o->col_sum;
  for (int c = 0; c < C; c++) cs[c] = 0;
  #pragma omp parallel for schedule(static) if ((size_t)R * C >= 16384)
  for (int c0 = 0; c0 < C; c0 += 64) {   /* column blocks; every block walks the rows in order */
    int c1 = c0 + 64 < C ? c0 + 64 : C;
    for (int r = 0; r < R; r++) {
      const float *row = g + (size_t)r * C;
      for (int c = c0; c < c1; c++) cs[c] += (double)(row[c] * row[c] + eps1);
    }
  }
  for (int c = 0; c < C; c++) {
    vc[c] = beta2t * vc[c] + (1.0f - beta2t) * (float)(cs[c] / R);
    o->col_factor[c] = 1.0f / sqrtf(vc[c]);
  }
  for (int r = 0; r < R; r++) o->row_factor[r] = 1.0f / sqrtf(vr[r] / vr_mean);
  /* per-row sums of squares into col_sum (free again, and at least R long), added in order */
  #pragma omp parallel for schedule(static) if ((size_t)R * C >= 16384)
  for (int r = 0; r < R; r++) {
    const float *row = g + (size_t)r * C;
    double acc = 0;
    for (int c = 0; c < C; c++) {
      float u = o->row_factor[r] * o->col_factor[c] * row[c];
      acc += (double)u * u;
    }
    cs[r] = acc;
  }
  double sq = 0;
  for (int r = 0; r < R; r++) sq += cs[r];
  return sq;
}

/* A vector's update g / sqrt(v): its sum of squares, in order. */
static double vector_sq(const float *g, const float *v, size_t n) {
  double sq = 0;
  for (size_t i = 0; i < n; i++) {
    float u = g[i] / sqrtf(v[i]);
    sq += (double)u * u;
  }
  return sq;
}

void pal_adafactor_step(pal_adafactor *o, const pal_config *cfg, pal_params *params,
                        const pal_params *grads, float lr, const unsigned char *trainable) {
  o->step++;
  float beta2t = (float)(1.0 - pow((double)o->step, (double)o->decay_rate));
  for (int i = 0; i < o->n_tensors; i++) {
    if ((trainable && !trainable[i]) || o->offset[i] == SIZE_MAX) continue;
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    float *p = *pal_params_slot(params, i);
    const float *g = *pal_params_slot((pal_params *)grads, i);
    float *s = o->state + o->offset[i];
    size_t n = t.n_elems;
    double sq;
    if (t.ndim >= 2) {
      sq = factored_stats(o, g, s, s + t.shape[0], (int)t.shape[0], (int)t.shape[1], beta2t);
    } else {
      for (size_t k = 0; k < n; k++) s[k] = beta2t * s[k] + (1.0f - beta2t) * (g[k] * g[k] + o->eps1);
      sq = vector_sq(g, s, n);
    }
    /* update /= max(1, rms(update) / clip_threshold); p -= lr * update (after decay) */
    double rms = sqrt(sq / (double)n) / o->clip_threshold;
    float denom = rms > 1.0 ? (float)rms : 1.0f;
    float decay = t.ndim >= 2 && o->weight_decay != 0 ? -o->weight_decay * lr : 0.0f;
    if (t.ndim >= 2) {
      int R = (int)t.shape[0], C = (int)t.shape[1];
      #pragma omp parallel for schedule(static) if (n >= 16384)
      for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
          size_t k = (size_t)r * C + c;
          float u = o->row_factor[r] * o->col_factor[c] * g[k] / denom * lr;
          float pk = p[k] + decay * p[k];
          p[k] = pk - u;
        }
    } else {
      for (size_t k = 0; k < n; k++) p[k] = p[k] - g[k] / sqrtf(s[k]) / denom * lr;
    }
  }
}
