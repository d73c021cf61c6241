/* attention.c: GPT-2's causal multi-head self-attention over the fused qkv rows, forward and
 * backward, one (b, h) pair per task and sgemm on row blocks so the masked upper triangle is
 * mostly never computed. No allocation: the caller passes the (B,NH,T,T) score buffers. */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "model/fastmath.h"
#include "model/layers.h"

/* Rows are processed in blocks of ATT_BLOCK: block [r0,r1) only needs keys 0..r1-1. */
#define ATT_BLOCK 64

void pal_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
  int hs = C / NH;
  float scale = 1.0f / sqrtf((float)hs);
  size_t C3 = 3 * (size_t)C;
  #pragma omp parallel for collapse(2) schedule(dynamic, 1)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
      const float *k = q + C, *v = q + 2 * C;
      float *p = att + ((size_t)b * NH + h) * T * T;
      float *o = out + (size_t)b * T * C + (size_t)h * hs;
      for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
        /* p[r0:r1, 0:r1] = scale q[r0:r1] k[0:r1]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, scale,
                    q + (size_t)r0 * C3, (int)C3, k, (int)C3, 0.0f, p + (size_t)r0 * T, T);
        for (int t = r0; t < r1; t++) {
          float *row = p + (size_t)t * T;
          float mx = -INFINITY;
          for (int j = 0; j <= t; j++) mx = row[j] > mx ? row[j] : mx;
          float sum = 0.0f;
          for (int j = 0; j <= t; j++) { row[j] = pal_fast_expf(row[j] - mx); sum += row[j]; }
          float inv = 1.0f / sum;
          for (int j = 0; j <= t; j++) row[j] *= inv;
          for (int j = t + 1; j < r1; j++) row[j] = 0.0f;
        }
        /* o[r0:r1] = p[r0:r1, 0:r1] @ v[0:r1] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1.0f,
                    p + (size_t)r0 * T, T, v, (int)C3, 0.0f, o + (size_t)r0 * C, C);
      }
    }
}

void pal_attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                            const float *att, int B, int T, int C, int NH) {
  int hs = C / NH;
  float scale = 1.0f / sqrtf((float)hs);
  size_t C3 = 3 * (size_t)C;
  #pragma omp parallel for collapse(2) schedule(dynamic, 1)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      size_t qoff = (size_t)b * T * C3 + (size_t)h * hs;
      const float *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
      float *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
      const float *p = att + ((size_t)b * NH + h) * T * T;
      float *dp = datt + ((size_t)b * NH + h) * T * T;
      const float *dO = dout + (size_t)b * T * C + (size_t)h * hs;
      for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
        /* dp[r0:r1, 0:r1] = dO[r0:r1] v[0:r1]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, 1.0f,
                    dO + (size_t)r0 * C, C, v, (int)C3, 0.0f, dp + (size_t)r0 * T, T);
        /* softmax backward, the scale folded in: ds = scale p (dp - sum_j p dp) */
        for (int t = r0; t < r1; t++) {
          const float *pr = p + (size_t)t * T;
          float *dr = dp + (size_t)t * T;
          float dot = 0.0f;
          for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
          for (int j = 0; j <= t; j++) dr[j] = scale * pr[j] * (dr[j] - dot);
          for (int j = t + 1; j < r1; j++) dr[j] = 0.0f;
        }
        /* dq[r0:r1] = ds[r0:r1, 0:r1] @ k[0:r1] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1.0f,
                    dp + (size_t)r0 * T, T, k, (int)C3, 0.0f, dq + (size_t)r0 * C3, (int)C3);
      }
      /* column blocks [c0,c1): only rows c0..T-1 reach these keys */
      for (int c0 = 0; c0 < T; c0 += ATT_BLOCK) {
        int c1 = c0 + ATT_BLOCK < T ? c0 + ATT_BLOCK : T;
        /* dk[c0:c1] = ds[c0:T, c0:c1]^T @ q[c0:T]; dv[c0:c1] = p[c0:T, c0:c1]^T @ dO[c0:T] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, hs, T - c0, 1.0f,
                    dp + (size_t)c0 * T + c0, T, q + (size_t)c0 * C3, (int)C3, 0.0f,
                    dk + (size_t)c0 * C3, (int)C3);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, hs, T - c0, 1.0f,
                    p + (size_t)c0 * T + c0, T, dO + (size_t)c0 * C, C, 0.0f,
                    dv + (size_t)c0 * C3, (int)C3);
      }
    }
}
