/* kernels.c: the matrix products of generation, written for batch-1 decoding, where the
 * cost is reading the weights once per token. Each output is summed in an order fixed by
 * the shapes alone (never by the thread count or the batch size), so generation is
 * reproducible on any machine thread setting. Never allocates. */
#include <math.h>
#include <string.h>
/* Fused multiply-adds and 512-bit vectors where the machine has them: the sums stay in an
 * order fixed by the shapes (contraction happens identically on every call). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#if defined(__x86_64__)
#pragma GCC target("prefer-vector-width=512")
#endif
#endif
#include "generate/kernels.h"

/* The C rows of a weight matrix are split into a fixed number of contiguous parts; each
 * thread streams whole parts (sequential reads: the fastest way through memory) into its
 * own partial sums, then the parts are added in order. 24 divides evenly among 1, 2, 3, 4,
 * 6, 8, 12 and 24 threads. */
#define GEN_PARTS 24

int pal_gen_parts(int C) {
  int p = C / 16;
  if (p > GEN_PARTS) p = GEN_PARTS;
  return p < 1 ? 1 : p;
}

void pal_gen_matmul_scratch(float *out, const float *inp, const float *w, const float *bias,
                            int N, int C, int OC, float *partial) {
  int P = pal_gen_parts(C);
  /* one parallel region (two work-shared loops): regions are what costs at batch 1 */
  #pragma omp parallel if ((long)N * C * OC >= PAL_GEN_PAR_MIN)
  {
    #pragma omp for schedule(static)
    for (int p = 0; p < P; p++) {
      int c0 = (int)((long)C * p / P), c1 = (int)((long)C * (p + 1) / P);
      float *part = partial + (size_t)p * N * OC;
      memset(part, 0, (size_t)N * OC * sizeof *part);
      int c = c0;
      for (; c + 8 <= c1; c += 8) {
        const float *w0 = w + (size_t)c * OC, *w1 = w0 + OC, *w2 = w1 + OC, *w3 = w2 + OC;
        const float *w4 = w3 + OC, *w5 = w4 + OC, *w6 = w5 + OC, *w7 = w6 + OC;
        for (int n = 0; n < N; n++) {
          const float *x = inp + (size_t)n * C + c;
          float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
          float *y = part + (size_t)n * OC;
          for (int o = 0; o < OC; o++)
            y[o] += x0 * w0[o] + x1 * w1[o] + x2 * w2[o] + x3 * w3[o] + x4 * w4[o] + x5 * w5[o] +
                    x6 * w6[o] + x7 * w7[o];
        }
      }
      for (; c < c1; c++) {
        const float *w0 = w + (size_t)c * OC;
        for (int n = 0; n < N; n++) {
          float x0 = inp[(size_t)n * C + c];
          float *y = part + (size_t)n * OC;
          for (int o = 0; o < OC; o++) y[o] += x0 * w0[o];
        }
      }
    }
    /* out (N,OC) = bias + sum over parts, in part order; columns in blocks of 64 */
    int nblk = (OC + 63) / 64;
    #pragma omp for schedule(static) collapse(2)
    for (int n = 0; n < N; n++)
      for (int b = 0; b < nblk; b++) {
        int o0 = b * 64, o1 = o0 + 64 < OC ? o0 + 64 : OC;
        float *y = out + (size_t)n * OC;
        for (int o = o0; o < o1; o++) y[o] = bias ? bias[o] : 0.0f;
        for (int p = 0; p < P; p++) {
          const float *part = partial + ((size_t)p * N + n) * OC;
          for (int o = o0; o < o1; o++) y[o] += part[o];
        }
      }
  }
}

/* Dot product with 16 independent lanes (vectorisable without reassociation), then the
 * lanes added in a fixed order. */
static inline float dot16(const float *a, const float *b, int n) {
  float acc[16] = {0};
  int c = 0;
  for (; c + 16 <= n; c += 16)
    for (int k = 0; k < 16; k++) acc[k] += a[c + k] * b[c + k];
  float s = 0;
  for (; c < n; c++) s += a[c] * b[c];
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}

void pal_gen_lm_head(float *logits, const float *inp, const float *wte, int N, int C, int V) {
  /* logits (N,V): row v of wte (V,C) is read once for all N rows */
  #pragma omp parallel for schedule(static) if ((long)N * C * V >= 8 * PAL_GEN_PAR_MIN)
  for (int v = 0; v < V; v++) {
    const float *wv = wte + (size_t)v * C;
    for (int n = 0; n < N; n++) logits[(size_t)n * V + v] = dot16(inp + (size_t)n * C, wv, C);
  }
}

void pal_gen_attend(float *out, const float *q, const float *k, const float *v, int len,
                    int hs, size_t stride, float *scores) {
  float scale = 1.0f / sqrtf((float)hs);
  float maxv = -1e30f;
  for (int s = 0; s < len; s++) {
    float d = dot16(q, k + (size_t)s * stride, hs) * scale;
    scores[s] = d;
    if (d > maxv) maxv = d;
  }
  float sum = 0;
  for (int s = 0; s < len; s++) { scores[s] = expf(scores[s] - maxv); sum += scores[s]; }
  float inv = 1.0f / sum;
  for (int d = 0; d < hs; d++) out[d] = 0;
  for (int s = 0; s < len; s++) {
    float a = scores[s] * inv;
    const float *vs = v + (size_t)s * stride;
    for (int d = 0; d < hs; d++) out[d] += a * vs[d];
  }
}

