/* attention.c: GPT-2's causal multi-head self-attention over the fused qkv rows, forward and
 * backward, one (b, h) pair per task and sgemm on row blocks so the masked upper triangle is
 * mostly never computed. No allocation: the caller passes the (B,NH,T,T) score buffers. */
#include <math.h>
#include <string.h>
#include "model/fastmath.h"
#include "model/gemm.h"
#include "model/layers.h"

/* Rows are processed in blocks of ATT_BLOCK: block [r0,r1) only needs keys 0..r1-1. */
#define ATT_BLOCK 64

/* A head's size, the score scale 1/sqrt(hs) and the qkv row stride 3C. */
typedef struct att_dims { int hs; float scale; size_t C3; } att_dims;
static att_dims dims_of(int C, int NH) {
  int hs = C / NH;
  return (att_dims){hs, 1.0f / sqrtf((float)hs), 3 * (size_t)C};
}

void pal_attention_forward(pal_precision prec, float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
  pal_attention_forward_ex(prec, out, att, NULL, qkv, B, T, C, NH, 0.0f, 0, 0);
}

void pal_attention_forward_ex(pal_precision prec, float *out, float *att, float *att_drop, const float *qkv, int B,
                              int T, int C, int NH, float pdrop, uint64_t key, uint64_t site) {
  const att_dims d = dims_of(C, NH);
  #pragma omp parallel for collapse(2) schedule(dynamic, 1) if ((size_t)B * NH * T * T >= 4096)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      const float *q = qkv + (size_t)b * T * d.C3 + (size_t)h * d.hs;
      const float *k = q + C, *v = q + 2 * C;
      size_t base = ((size_t)b * NH + h) * T * T;
      float *p = att + base;
      float *pv = pdrop > 0 ? att_drop + base : p;  /* the probabilities multiplied by v */
      float *o = out + (size_t)b * T * C + (size_t)h * d.hs;
      for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
        /* p[r0:r1, 0:r1] = scale q[r0:r1] k[0:r1]^T */
        pal_gemm(prec, 0, 1, r1 - r0, r1, d.hs, d.scale,
                    q + (size_t)r0 * d.C3, (int)d.C3, k, (int)d.C3, 0.0f, p + (size_t)r0 * T, T);
        for (int t = r0; t < r1; t++) {
          float *row = p + (size_t)t * T;
          float mx = -INFINITY;
          for (int j = 0; j <= t; j++) mx = row[j] > mx ? row[j] : mx;
          float sum = 0.0f;
          #pragma omp simd reduction(+:sum)
          for (int j = 0; j <= t; j++) { row[j] = pal_fast_expf(row[j] - mx); sum += row[j]; }
          float inv = 1.0f / sum;
          for (int j = 0; j <= t; j++) row[j] *= inv;
          for (int j = t + 1; j < r1; j++) row[j] = 0.0f;
          if (pdrop > 0) {
            float keep_scale = 1.0f / (1.0f - pdrop), *drow = pv + (size_t)t * T;
            for (int j = 0; j < r1; j++)
              drow[j] = pal_dropout_keep(key, site, base + (size_t)t * T + j, pdrop) ? row[j] * keep_scale : 0.0f;
          }
        }
        /* o[r0:r1] = p[r0:r1, 0:r1] @ v[0:r1] */
        pal_gemm(prec, 0, 0, r1 - r0, d.hs, r1, 1.0f,
                    pv + (size_t)r0 * T, T, v, (int)d.C3, 0.0f, o + (size_t)r0 * C, C);
      }
    }
}

void pal_attention_backward(pal_precision prec, float *dqkv, float *datt, const float *dout, const float *qkv,
                            const float *att, int B, int T, int C, int NH) {
  pal_attention_backward_ex(prec, dqkv, datt, dout, qkv, att, B, T, C, NH, 0.0f, 0, 0);
}

void pal_attention_backward_ex(pal_precision prec, float *dqkv, float *datt, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH, float pdrop,
                               uint64_t key, uint64_t site) {
  const att_dims d = dims_of(C, NH);
  #pragma omp parallel for collapse(2) schedule(dynamic, 1) if ((size_t)B * NH * T * T >= 4096)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      size_t qoff = (size_t)b * T * d.C3 + (size_t)h * d.hs;
      const float *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
      float *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
      size_t base = ((size_t)b * NH + h) * T * T;
      const float *p = att + base;
      float *dp = datt + base;
      const float *dO = dout + (size_t)b * T * C + (size_t)h * d.hs;
      float keep_scale = pdrop > 0 ? 1.0f / (1.0f - pdrop) : 1.0f;
      if (pdrop > 0) {
        /* dv first, from the dropped probabilities rebuilt in datt (before it becomes dp) */
        for (int t = 0; t < T; t++) {
          int r1 = (t / ATT_BLOCK + 1) * ATT_BLOCK < T ? (t / ATT_BLOCK + 1) * ATT_BLOCK : T;
          for (int j = 0; j < r1; j++) {
            size_t i = (size_t)t * T + j;
            dp[i] = pal_dropout_keep(key, site, base + i, pdrop) ? p[i] * keep_scale : 0.0f;
          }
        }
        for (int c0 = 0; c0 < T; c0 += ATT_BLOCK) {
          int c1 = c0 + ATT_BLOCK < T ? c0 + ATT_BLOCK : T;
          pal_gemm(prec, 1, 0, c1 - c0, d.hs, T - c0, 1.0f,
                      dp + (size_t)c0 * T + c0, T, dO + (size_t)c0 * C, C, 0.0f,
                      dv + (size_t)c0 * d.C3, (int)d.C3);
        }
      }
      for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
        /* dp[r0:r1, 0:r1] = dO[r0:r1] v[0:r1]^T */
        pal_gemm(prec, 0, 1, r1 - r0, r1, d.hs, 1.0f,
                    dO + (size_t)r0 * C, C, v, (int)d.C3, 0.0f, dp + (size_t)r0 * T, T);
        /* softmax backward, the scale folded in: ds = scale p (dp - sum_j p dp) */
        for (int t = r0; t < r1; t++) {
          const float *pr = p + (size_t)t * T;
          float *dr = dp + (size_t)t * T;
          if (pdrop > 0)  /* d(dropped p)/dp: the same mask and scale */
            for (int j = 0; j <= t; j++)
              dr[j] = pal_dropout_keep(key, site, base + (size_t)t * T + j, pdrop) ? dr[j] * keep_scale : 0.0f;
          float dot = 0.0f;
          #pragma omp simd reduction(+:dot)
          for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
          for (int j = 0; j <= t; j++) dr[j] = d.scale * pr[j] * (dr[j] - dot);
          for (int j = t + 1; j < r1; j++) dr[j] = 0.0f;
        }
        /* dq[r0:r1] = ds[r0:r1, 0:r1] @ k[0:r1] */
        pal_gemm(prec, 0, 0, r1 - r0, d.hs, r1, 1.0f,
                    dp + (size_t)r0 * T, T, k, (int)d.C3, 0.0f, dq + (size_t)r0 * d.C3, (int)d.C3);
      }
      /* column blocks [c0,c1): only rows c0..T-1 reach these keys */
      for (int c0 = 0; c0 < T; c0 += ATT_BLOCK) {
        int c1 = c0 + ATT_BLOCK < T ? c0 + ATT_BLOCK : T;
        /* dk[c0:c1] = ds[c0:T, c0:c1]^T @ q[c0:T]; dv[c0:c1] = p[c0:T, c0:c1]^T @ dO[c0:T] */
        pal_gemm(prec, 1, 0, c1 - c0, d.hs, T - c0, 1.0f,
                    dp + (size_t)c0 * T + c0, T, q + (size_t)c0 * d.C3, (int)d.C3, 0.0f,
                    dk + (size_t)c0 * d.C3, (int)d.C3);
        if (pdrop == 0)
          pal_gemm(prec, 1, 0, c1 - c0, d.hs, T - c0, 1.0f,
                      p + (size_t)c0 * T + c0, T, dO + (size_t)c0 * C, C, 0.0f,
                      dv + (size_t)c0 * d.C3, (int)d.C3);
      }
    }
}
