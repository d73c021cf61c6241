/* layers.c: the pointwise and per-row layers of GPT-2 (embedding, LayerNorm, Conv1D matmul,
 * GELU, residual) as forward/backward pairs over flat float arrays. No allocation, no I/O.
 * Every reduction over rows runs in a fixed order, so results do not depend on thread count. */
#include <math.h>
#include <string.h>
#include "model/fastmath.h"
#include "model/gemm.h"
#include "model/layers.h"

/* Column blocks for the reductions over rows (dbias, dweight of LayerNorm, dwte): each
 * thread owns whole columns and sums rows 0..N-1 in order. */
#define COLBLOCK 64
/* Below this many floats a loop runs on the calling thread: a parallel region costs more
 * (generation calls these with one row at a time). */
#define PAR_MIN 16384

void pal_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe,
                         int B, int T, int C, int pos0) {
  #pragma omp parallel for collapse(2) schedule(static) if ((size_t)B * T * C >= PAR_MIN)
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      float *o = out + ((size_t)b * T + t) * C;
      const float *we = wte + (size_t)inp[b * T + t] * C;
      const float *pe = wpe + (size_t)(pos0 + t) * C;
      for (int c = 0; c < C; c++) o[c] = we[c] + pe[c];
    }
}

/* dwte (V,C) += scatter of dout rows by token; dwpe (n_ctx,C) += sum over b */
void pal_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp,
                          int B, int T, int C) {
  int n_blocks = (C + COLBLOCK - 1) / COLBLOCK;
  #pragma omp parallel for schedule(static) if (dwte && (size_t)B * T * C >= PAR_MIN)
  for (int blk = 0; blk < (dwte ? n_blocks : 0); blk++) {
    int c0 = blk * COLBLOCK, c1 = c0 + COLBLOCK < C ? c0 + COLBLOCK : C;
    for (int bt = 0; bt < B * T; bt++) {
      float *dw = dwte + (size_t)inp[bt] * C;
      const float *d = dout + (size_t)bt * C;
      for (int c = c0; c < c1; c++) dw[c] += d[c];
    }
  }
  #pragma omp parallel for schedule(static) if (dwpe && (size_t)B * T * C >= PAR_MIN)
  for (int t = 0; t < (dwpe ? T : 0); t++) {
    float *dp = dwpe + (size_t)t * C;
    for (int b = 0; b < B; b++) {
      const float *d = dout + ((size_t)b * T + t) * C;
      for (int c = 0; c < C; c++) dp[c] += d[c];
    }
  }
}

void pal_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int N, int C, float eps) {
  #pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t)n * C;
    double s = 0.0;
    for (int c = 0; c < C; c++) s += x[c];
    double m = s / C, v = 0.0;
    for (int c = 0; c < C; c++) { double d = x[c] - m; v += d * d; }
    float mf = (float)m, rs = (float)(1.0 / sqrt(v / C + (double)eps));
    float *o = out + (size_t)n * C;
    for (int c = 0; c < C; c++) o[c] = (x[c] - mf) * rs * weight[c] + bias[c];
    if (mean) mean[n] = mf;
    if (rstd) rstd[n] = rs;
  }
}

void pal_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int N, int C) {
  /* dinp per row: rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) */
  #pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
    float m = mean[n], rs = rstd[n];
    float s1 = 0.0f, s2 = 0.0f;
    for (int c = 0; c < C; c++) {
      float dn = d[c] * weight[c];
      s1 += dn;
      s2 += dn * (x[c] - m) * rs;
    }
    s1 /= C; s2 /= C;
    float *di = dinp + (size_t)n * C;
    for (int c = 0; c < C; c++) {
      float norm = (x[c] - m) * rs;
      di[c] += rs * (d[c] * weight[c] - s1 - norm * s2);
    }
  }
  if (!dweight && !dbias) return;
  int n_blocks = (C + COLBLOCK - 1) / COLBLOCK;
  #pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
  for (int blk = 0; blk < n_blocks; blk++) {
    int c0 = blk * COLBLOCK, w = (c0 + COLBLOCK < C ? COLBLOCK : C - c0);
    float aw[COLBLOCK] = {0}, ab[COLBLOCK] = {0};
    for (int n = 0; n < N; n++) {
      const float *x = inp + (size_t)n * C + c0, *d = dout + (size_t)n * C + c0;
      float m = mean[n], rs = rstd[n];
      for (int c = 0; c < w; c++) { aw[c] += d[c] * (x[c] - m) * rs; ab[c] += d[c]; }
    }
    for (int c = 0; c < w; c++) {
      if (dweight) dweight[c0 + c] += aw[c];
      if (dbias) dbias[c0 + c] += ab[c];
    }
  }
}

void pal_matmul_forward(pal_precision prec, float *out, const float *inp, const float *weight, const float *bias,
                        int N, int C, int OC) {
  float beta = 0.0f;
  if (bias) {
    #pragma omp parallel for schedule(static) if ((size_t)N * OC >= PAR_MIN)
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
    beta = 1.0f;
  }
  pal_gemm(prec, 0, 0, N, OC, C, 1.0f, inp, C, weight, OC,
              beta, out, OC);
}

void pal_matmul_accumulate(pal_precision prec, float *out, const float *inp, const float *weight, int N, int C, int OC) {
  pal_gemm(prec, 0, 0, N, OC, C, 1.0f, inp, C, weight, OC,
              1.0f, out, OC);
}

void pal_residual_bias_forward(float *out, const float *a, const float *bias, int N, int C) {
  #pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
  for (int n = 0; n < N; n++) {
    const float *x = a + (size_t)n * C;
    float *o = out + (size_t)n * C;
    for (int c = 0; c < C; c++) o[c] = x[c] + bias[c];
  }
}

void pal_matmul_tied_forward(pal_precision prec, float *logits, const float *inp, const float *wte, int N, int C, int V) {
  pal_gemm(prec, 0, 1, N, V, C, 1.0f, inp, C, wte, C, 0.0f, logits, V);
}

void pal_matmul_tied_backward(pal_precision prec, float *dinp, float *dwte, const float *dlogits, const float *inp,
                              const float *wte, int N, int C, int V) {
  if (dinp)
    pal_gemm(prec, 0, 0, N, C, V, 1.0f, dlogits, V, wte, C,
                0.0f, dinp, C);
  if (dwte)
    pal_gemm(prec, 1, 0, V, C, N, 1.0f, dlogits, V, inp, C,
                1.0f, dwte, C);
}

/* dbias (OC) += sum over rows of dout (N,OC), each column summed in row order */
void pal_bias_backward(float *dbias, const float *dout, int N, int OC) {
  int n_blocks = (OC + COLBLOCK - 1) / COLBLOCK;
  #pragma omp parallel for schedule(static) if ((size_t)N * OC >= PAR_MIN)
  for (int blk = 0; blk < n_blocks; blk++) {
    int c0 = blk * COLBLOCK, w = (c0 + COLBLOCK < OC ? COLBLOCK : OC - c0);
    float acc[COLBLOCK] = {0};
    for (int n = 0; n < N; n++) {
      const float *d = dout + (size_t)n * OC + c0;
      for (int c = 0; c < w; c++) acc[c] += d[c];
    }
    for (int c = 0; c < w; c++) dbias[c0 + c] += acc[c];
  }
}

void pal_matmul_backward_ex(pal_precision prec, float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int C, int OC,
                            float dinp_beta) {
  /* dinp (N,C) = beta dinp + dout (N,OC) @ weight^T */
  if (dinp)
    pal_gemm(prec, 0, 1, N, C, OC, 1.0f, dout, OC, weight, OC,
                dinp_beta, dinp, C);
  /* dweight (C,OC) += inp^T (C,N) @ dout (N,OC) */
  if (dweight)
    pal_gemm(prec, 1, 0, C, OC, N, 1.0f, inp, C, dout, OC,
                1.0f, dweight, OC);
  if (dbias) pal_bias_backward(dbias, dout, N, OC);
}

void pal_matmul_backward(pal_precision prec, float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC) {
  pal_matmul_backward_ex(prec, dinp, dweight, dbias, dout, inp, weight, N, C, OC, 1.0f);
}

void pal_gelu_forward(float *out, const float *inp, size_t n) {
  #pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
  for (size_t i = 0; i < n; i++) out[i] = inp[i] * pal_gelu_sigmoid(inp[i]);
}

/* d/dx [x s(x)] = s + x s (1 - s) 2 u'(x), u' = K (1 + 3 0.044715 x^2) */
static inline float gelu_grad(float x) {
  float s = pal_gelu_sigmoid(x);
  return s + x * s * (1.0f - s) * 2.0f * PAL_GELU_K * (1.0f + 0.134145f * x * x);
}

void pal_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
  #pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
  for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * gelu_grad(inp[i]);
}

void pal_gelu_backward_inplace(float *d, const float *inp, size_t n) {
  #pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
  for (size_t i = 0; i < n; i++) d[i] *= gelu_grad(inp[i]);
}

void pal_residual_forward(float *out, const float *a, const float *b, size_t n) {
  #pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
  for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
